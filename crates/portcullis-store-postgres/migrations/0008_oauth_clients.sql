-- OAuth clients for PostgreSQL (version 8, twin of SQLite's 0008). Lists are JSON arrays of
-- strings in `*_json` text columns (as token policies are); secrets are stored only as hex
-- SHA-256 hashes: the current one and, after a rotation, the previous one until it is deleted.
-- Timestamps are microseconds since the Unix epoch (UTC).
create table oauth_client (
    id text primary key,
    account_id text not null references account (id) on delete cascade,
    client_name text not null,
    grant_types_json text not null,
    response_types_json text not null,
    redirect_uris_json text not null,
    post_logout_redirect_uris_json text not null,
    allowed_cors_origins_json text not null,
    scopes_json text not null,
    optional_scopes_json text not null,
    token_endpoint_auth_method text not null,
    client_uri text,
    logo_uri text,
    policy_uri text,
    tos_uri text,
    visibility text not null,
    secret_hash text not null,
    rotated_secret_hash text,
    created_at bigint not null,
    updated_at bigint not null,
    constraint oauth_client_auth_method_known
        check (token_endpoint_auth_method in ('none', 'client_secret_basic', 'client_secret_post')),
    constraint oauth_client_visibility_known check (visibility in ('private', 'public'))
);
create index oauth_client_by_account on oauth_client (account_id, client_name, id);
