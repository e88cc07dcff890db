-- Version 3: stored enumerations accept only the values Portcullis reads back. SQLite cannot add
-- a CHECK constraint to an existing table, so each rule is a pair of triggers (insert and
-- update) that abort the write; PostgreSQL's 0003 adds the same rules as CHECK constraints.
-- Decoding fails closed as well (an unknown value is an error, never a default), so a row
-- written around these rules denies instead of granting.

create trigger account_type_known_insert before insert on account
when new.type not in ('standard', 'enterprise')
begin select raise(abort, 'account_type_known: account.type must be standard or enterprise'); end;
create trigger account_type_known_update before update of type on account
when new.type not in ('standard', 'enterprise')
begin select raise(abort, 'account_type_known: account.type must be standard or enterprise'); end;

create trigger member_status_known_insert before insert on member
when new.status not in ('accepted', 'pending')
begin select raise(abort, 'member_status_known: member.status must be accepted or pending'); end;
create trigger member_status_known_update before update of status on member
when new.status not in ('accepted', 'pending')
begin select raise(abort, 'member_status_known: member.status must be accepted or pending'); end;

create trigger policy_access_known_insert before insert on policy
when new.access not in ('allow', 'deny')
begin select raise(abort, 'policy_access_known: policy.access must be allow or deny'); end;
create trigger policy_access_known_update before update of access on policy
when new.access not in ('allow', 'deny')
begin select raise(abort, 'policy_access_known: policy.access must be allow or deny'); end;

create trigger api_token_status_known_insert before insert on api_token
when new.status not in ('active', 'disabled')
begin select raise(abort, 'api_token_status_known: api_token.status must be active or disabled'); end;
create trigger api_token_status_known_update before update of status on api_token
when new.status not in ('active', 'disabled')
begin select raise(abort, 'api_token_status_known: api_token.status must be active or disabled'); end;

create trigger sso_connector_status_known_insert before insert on sso_connector
when new.status not in ('awaiting', 'pending', 'verified', 'failed')
begin select raise(abort, 'sso_connector_status_known: sso_connector.status is not a known status'); end;
create trigger sso_connector_status_known_update before update of status on sso_connector
when new.status not in ('awaiting', 'pending', 'verified', 'failed')
begin select raise(abort, 'sso_connector_status_known: sso_connector.status is not a known status'); end;
