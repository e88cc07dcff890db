-- Portcullis schema for PostgreSQL, version 1 (same version and shape as SQLite's 0001).
-- Timestamps are microseconds since the Unix epoch (UTC).
-- Append-only: never edit an applied migration; add a new file instead.

create table account (
    id text primary key,
    name text not null,
    type text not null,
    enforce_twofactor boolean not null default false,
    abuse_contact_email text,
    -- Maintained in the transactions that add and remove user groups, so an unfiltered list
    -- page does not count the whole table.
    user_group_count bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null
);
create index account_by_name on account (lower(name), id);

create table app_user (
    id text primary key,
    email text not null,
    first_name text,
    last_name text,
    two_factor_enabled boolean not null default false,
    is_operator boolean not null default false,
    api_key_hash text,
    created_at bigint not null,
    updated_at bigint not null,
    constraint app_user_email_unique unique (email)
);

create table member (
    id text primary key,
    account_id text not null references account (id) on delete cascade,
    user_id text not null references app_user (id) on delete cascade,
    status text not null,
    created_at bigint not null,
    updated_at bigint not null,
    constraint member_account_user_unique unique (account_id, user_id)
);
create index member_by_user on member (user_id);

create table member_role (
    member_id text not null references member (id) on delete cascade,
    position bigint not null,
    role_id text not null,
    primary key (member_id, position)
);
create index member_role_by_role on member_role (role_id);

create table resource_group (
    id text primary key,
    account_id text not null references account (id) on delete cascade,
    name text not null,
    scope_key text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index resource_group_by_account on resource_group (account_id, name, id);

create table resource_group_object (
    resource_group_id text not null references resource_group (id) on delete cascade,
    position bigint not null,
    object_key text not null,
    primary key (resource_group_id, position)
);

create table user_group (
    id text primary key,
    account_id text not null references account (id) on delete cascade,
    name text not null,
    name_folded text not null,
    -- Maintained with every membership change (see user_group_count).
    member_count bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    constraint user_group_name_unique unique (account_id, name_folded)
);

-- `email` is the member's (immutable) email, copied so that a page of a group's members is read
-- in order straight from an index, whatever the group's size.
create table user_group_member (
    user_group_id text not null references user_group (id) on delete cascade,
    member_id text not null references member (id) on delete cascade,
    email text not null,
    created_at bigint not null,
    primary key (user_group_id, member_id)
);
create index user_group_member_by_member on user_group_member (member_id);
create index user_group_member_by_email on user_group_member (user_group_id, email, member_id);

-- A policy belongs to exactly one member or one user group.
create table policy (
    id text primary key,
    account_id text not null references account (id) on delete cascade,
    member_id text references member (id) on delete cascade,
    user_group_id text references user_group (id) on delete cascade,
    position bigint not null,
    access text not null,
    created_at bigint not null,
    check ((member_id is null) <> (user_group_id is null))
);
create index policy_by_member on policy (member_id);
create index policy_by_user_group on policy (user_group_id);

create table policy_permission_group (
    policy_id text not null references policy (id) on delete cascade,
    position bigint not null,
    permission_group_id text not null,
    primary key (policy_id, position)
);

-- A resource group in use by a policy cannot be deleted (restrict), so nothing is lost silently.
create table policy_resource_group (
    policy_id text not null references policy (id) on delete cascade,
    position bigint not null,
    resource_group_id text not null references resource_group (id) on delete restrict,
    primary key (policy_id, position)
);
create index policy_resource_group_by_group on policy_resource_group (resource_group_id);

create table api_token (
    id text primary key,
    account_id text references account (id) on delete cascade,
    user_id text references app_user (id) on delete cascade,
    name text not null,
    status text not null,
    secret_hash text not null,
    issued_at bigint not null,
    modified_at bigint not null,
    last_used_at bigint,
    not_before bigint,
    expires_at bigint,
    condition_json text not null,
    policies_json text not null,
    constraint api_token_secret_unique unique (secret_hash),
    check ((account_id is null) <> (user_id is null))
);
create index api_token_by_account on api_token (account_id, name, id);
create index api_token_by_user on api_token (user_id, name, id);
