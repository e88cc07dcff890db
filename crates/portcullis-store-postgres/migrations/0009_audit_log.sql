-- The audit log for PostgreSQL (version 9, twin of SQLite's 0009). One row per change, written in the
-- change's own transaction, and one per refused request. `seq` increases in commit order (writers
-- take a transaction lock before they insert an entry), which the change feed's cursor relies on. No foreign keys: an entry outlives
-- the account, user or token it names (it is pruned by age). Before/after values are JSON text
-- without secrets. Timestamps are microseconds since the Unix epoch (UTC).
create table audit_log (
    seq bigint generated always as identity primary key,
    id text not null unique,
    account_id text,
    at bigint not null,
    action_type text not null,
    action_result boolean not null,
    status_code integer,
    actor_type text not null,
    actor_id text not null,
    actor_email text,
    actor_context text,
    actor_ip text,
    token_id text,
    token_name text,
    interface text not null,
    request_id text,
    method text,
    uri text,
    user_agent text,
    resource_scope text not null,
    resource_type text not null,
    resource_id text not null,
    before_json text,
    after_json text,
    constraint audit_action_known check (action_type in ('create', 'update', 'delete', 'view')),
    constraint audit_actor_known check (actor_type in ('user', 'account', 'system'))
);
create index audit_log_by_account on audit_log (account_id, seq);
create index audit_log_by_time on audit_log (at);
create index audit_log_by_actor on audit_log (actor_id, seq);
