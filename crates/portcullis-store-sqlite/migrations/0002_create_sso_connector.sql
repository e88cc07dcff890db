-- SSO connectors (version 2). Timestamps are microseconds since the Unix epoch (UTC).
create table sso_connector (
    id text primary key,
    account_id text not null references account (id) on delete cascade,
    email_domain text not null,
    enabled integer not null default 0,
    use_fedramp_language integer not null default 0,
    code text not null,
    status text not null,
    pending_since integer,
    next_check_at integer,
    dns_failures integer not null default 0,
    -- Set while one replica's verifier checks the connector.
    lease_until integer,
    created_at integer not null,
    updated_at integer not null,
    constraint sso_connector_domain_unique unique (account_id, email_domain)
);
-- One enabled connector per domain across all accounts.
create unique index sso_connector_enabled_domain on sso_connector (email_domain) where enabled;
create index sso_connector_due on sso_connector (status, next_check_at);
