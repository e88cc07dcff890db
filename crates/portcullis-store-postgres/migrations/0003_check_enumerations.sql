-- Version 3 (same version as SQLite's 0003): stored enumerations accept only the values
-- Portcullis reads back. Decoding fails closed as well (an unknown value is an error, never a
-- default), so a row written around these rules denies instead of granting.
alter table account add constraint account_type_known
    check (type in ('standard', 'enterprise'));
alter table member add constraint member_status_known
    check (status in ('accepted', 'pending'));
alter table policy add constraint policy_access_known
    check (access in ('allow', 'deny'));
alter table api_token add constraint api_token_status_known
    check (status in ('active', 'disabled'));
alter table sso_connector add constraint sso_connector_status_known
    check (status in ('awaiting', 'pending', 'verified', 'failed'));
