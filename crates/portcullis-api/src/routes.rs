//! The one route table: every served path, its method, handler, documentation and the
//! permission key it requires. The router and the OpenAPI document are both built from it, so
//! neither can forget a route.

use axum::routing::{on, MethodFilter, MethodRouter};
use portcullis_wire::body as w;
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use crate::handlers::{
    accounts, audit, authorize, members, memberships, meta, oauth_clients, permission_groups,
    resource_groups, roles, sso, tokens, user_groups,
};
use crate::query::{self, Param, QueryParams};
use crate::server::AppState;

/// Collects a type's schema (and those it refers to); returns its name.
pub type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> String;

/// Registers `T`'s schema.
pub fn schema<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) -> String {
    let name = T::name().into_owned();
    out.push((name.clone(), T::schema()));
    T::schemas(out);
    name
}

/// What a route requires of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Nothing (health, readiness, the OpenAPI document).
    Public,
    /// Any valid credential; the handler acts on the caller's own data.
    Authenticated,
    /// An operator (a user the CLI marked so).
    Operator,
    /// A permission key, in Cloudflare's naming, inside the path's account: the route layer
    /// passes the caller through the gate (`Portcullis::enforce`) with it.
    Permission(&'static str),
}

/// How the result is shaped.
#[derive(Clone, Copy)]
pub enum Shape {
    /// `result` is one object.
    Object(SchemaFn),
    /// `result` is the whole array (single page).
    Array(SchemaFn),
    /// `result` is one page of an array, with `result_info`.
    Page(SchemaFn),
    /// `result` is one page of an array, with cursor `result_info` (`CursorInfo`).
    Cursor(SchemaFn),
    /// `result` is a string.
    Str,
    /// Not an envelope: the body is this OpenAPI document itself.
    Document,
    /// Not an envelope: Prometheus's text exposition ([`crate::metrics::CONTENT_TYPE`]).
    Metrics,
}

/// One route.
pub struct Route {
    /// HTTP method (upper case); the handler is routed for it.
    pub method: &'static str,
    /// Full path, with `{param}` segments.
    pub path: &'static str,
    /// OpenAPI operation id.
    pub operation_id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// OpenAPI tag.
    pub tag: &'static str,
    /// What the caller needs.
    pub guard: Guard,
    /// Query parameters: the same struct the handler reads (`crate::query`).
    pub query: fn() -> Vec<Param>,
    /// Request body schema; `true` when the body is a JSON array of it.
    pub body: Option<(SchemaFn, bool)>,
    /// Result shape.
    pub result: Shape,
    /// The axum handler, routed for `method` (so the method is written once, above).
    pub handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

macro_rules! p {
    ($path:literal) => {
        concat!("/client/v4", $path)
    };
}

/// The permission key of the audit log and the change feed (Portcullis's name; Cloudflare's is
/// not published).
pub const AUDIT_READ: &str = "com.cloudflare.api.account.audit-log.read";

/// Prometheus metrics (on the API's address, or alone on `--metrics-listen`).
pub const METRICS_PATH: &str = "/metrics";

/// The test-support route that returns a server to its fixtures (served only when enabled).
pub const RESET_PATH: &str = "/__portcullis/reset";

/// Every route Portcullis serves.
pub static ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/healthz",
        operation_id: "healthz",
        summary: "Liveness: the process answers",
        tag: "Service",
        guard: Guard::Public,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Health>),
        handler: |m| on(m, meta::healthz),
    },
    Route {
        method: "GET",
        path: "/readyz",
        operation_id: "readyz",
        summary: "Readiness: the database answers",
        tag: "Service",
        guard: Guard::Public,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Health>),
        handler: |m| on(m, meta::readyz),
    },
    Route {
        method: "GET",
        path: METRICS_PATH,
        operation_id: "metrics",
        summary: "Prometheus metrics (OpenMetrics text)",
        tag: "Service",
        guard: Guard::Public,
        query: query::none,
        body: None,
        result: Shape::Metrics,
        handler: |m| on(m, meta::metrics),
    },
    Route {
        method: "POST",
        path: RESET_PATH,
        operation_id: "portcullis-reset",
        summary: "Return the whole state to the fixtures the server started with (only with `serve --fixtures FILE --allow-reset`; an operator's global key)",
        tag: "Service",
        guard: Guard::Operator,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::ResetResult>),
        handler: |m| on(m, meta::reset),
    },
    Route {
        method: "GET",
        path: p!("/openapi.json"),
        operation_id: "openapi",
        summary: "This OpenAPI document",
        tag: "Service",
        guard: Guard::Public,
        query: query::none,
        body: None,
        result: Shape::Document,
        handler: |m| on(m, meta::openapi),
    },
    // Permission groups.
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/permission_groups"),
        operation_id: "iam-permission-groups-list",
        summary: "List account permission groups",
        tag: "Permission Groups",
        guard: Guard::Permission("com.cloudflare.api.iam.permission-group.list"),
        query: permission_groups::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::PermissionGroup>),
        handler: |m| on(m, permission_groups::list),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/permission_groups/{permission_group_id}"),
        operation_id: "iam-permission-groups-get",
        summary: "Permission group details",
        tag: "Permission Groups",
        guard: Guard::Permission("com.cloudflare.api.iam.permission-group.read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::PermissionGroup>),
        handler: |m| on(m, permission_groups::get),
    },
    // Resource groups.
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/resource_groups"),
        operation_id: "iam-resource-groups-list",
        summary: "List resource groups (the whole list, one page)",
        tag: "Resource Groups",
        guard: Guard::Permission("com.cloudflare.api.iam.resource-group.list"),
        query: resource_groups::ListQuery::params,
        body: None,
        result: Shape::Array(schema::<w::ResourceGroup>),
        handler: |m| on(m, resource_groups::list),
    },
    Route {
        method: "POST",
        path: p!("/accounts/{account_id}/iam/resource_groups"),
        operation_id: "iam-resource-groups-create",
        summary: "Create a resource group",
        tag: "Resource Groups",
        guard: Guard::Permission("com.cloudflare.api.iam.resource-group.create"),
        query: query::none,
        body: Some((schema::<w::ResourceGroupCreate>, false)),
        result: Shape::Object(schema::<w::ResourceGroup>),
        handler: |m| on(m, resource_groups::create),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/resource_groups/{resource_group_id}"),
        operation_id: "iam-resource-groups-get",
        summary: "Resource group details",
        tag: "Resource Groups",
        guard: Guard::Permission("com.cloudflare.api.iam.resource-group.read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::ResourceGroup>),
        handler: |m| on(m, resource_groups::get),
    },
    Route {
        method: "PUT",
        path: p!("/accounts/{account_id}/iam/resource_groups/{resource_group_id}"),
        operation_id: "iam-resource-groups-update",
        summary: "Update a resource group (absent fields unchanged)",
        tag: "Resource Groups",
        guard: Guard::Permission("com.cloudflare.api.iam.resource-group.update"),
        query: query::none,
        body: Some((schema::<w::ResourceGroupUpdate>, false)),
        result: Shape::Object(schema::<w::ResourceGroup>),
        handler: |m| on(m, resource_groups::update),
    },
    Route {
        method: "DELETE",
        path: p!("/accounts/{account_id}/iam/resource_groups/{resource_group_id}"),
        operation_id: "iam-resource-groups-delete",
        summary: "Delete a resource group (refused while a policy uses it)",
        tag: "Resource Groups",
        guard: Guard::Permission("com.cloudflare.api.iam.resource-group.delete"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::IdRef>),
        handler: |m| on(m, resource_groups::delete),
    },
    // User groups.
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/user_groups"),
        operation_id: "iam-user-groups-list",
        summary: "List user groups",
        tag: "User Groups",
        guard: Guard::Permission("com.cloudflare.api.account.member.list"),
        query: user_groups::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::UserGroup>),
        handler: |m| on(m, user_groups::list),
    },
    Route {
        method: "POST",
        path: p!("/accounts/{account_id}/iam/user_groups"),
        operation_id: "iam-user-groups-create",
        summary: "Create a user group",
        tag: "User Groups",
        guard: Guard::Permission("com.cloudflare.api.account.member.create"),
        query: query::none,
        body: Some((schema::<w::UserGroupCreate>, false)),
        result: Shape::Object(schema::<w::UserGroup>),
        handler: |m| on(m, user_groups::create),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}"),
        operation_id: "iam-user-groups-get",
        summary: "User group details",
        tag: "User Groups",
        guard: Guard::Permission("com.cloudflare.api.account.member.read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::UserGroup>),
        handler: |m| on(m, user_groups::get),
    },
    Route {
        method: "PUT",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}"),
        operation_id: "iam-user-groups-update",
        summary: "Update a user group (absent fields unchanged)",
        tag: "User Groups",
        guard: Guard::Permission("com.cloudflare.api.account.member.update"),
        query: query::none,
        body: Some((schema::<w::UserGroupUpdate>, false)),
        result: Shape::Object(schema::<w::UserGroup>),
        handler: |m| on(m, user_groups::update),
    },
    Route {
        method: "DELETE",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}"),
        operation_id: "iam-user-groups-delete",
        summary: "Delete a user group (its memberships go with it)",
        tag: "User Groups",
        guard: Guard::Permission("com.cloudflare.api.account.member.delete"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::IdRef>),
        handler: |m| on(m, user_groups::delete),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}/members"),
        operation_id: "iam-user-group-members-list",
        summary: "List a user group's members",
        tag: "User Group Members",
        guard: Guard::Permission("com.cloudflare.api.account.member.list"),
        query: user_groups::MembersQuery::params,
        body: None,
        result: Shape::Page(schema::<w::GroupMember>),
        handler: |m| on(m, user_groups::list_members),
    },
    Route {
        method: "POST",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}/members"),
        operation_id: "iam-user-group-members-create",
        summary: "Add members (idempotent; all or nothing)",
        tag: "User Group Members",
        guard: Guard::Permission("com.cloudflare.api.account.member.update"),
        query: query::none,
        body: Some((schema::<w::IdRef>, true)),
        result: Shape::Array(schema::<w::GroupMember>),
        handler: |m| on(m, user_groups::add_members),
    },
    Route {
        method: "PUT",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}/members"),
        operation_id: "iam-user-group-members-update",
        summary: "Replace the set of members (`[]` empties)",
        tag: "User Group Members",
        guard: Guard::Permission("com.cloudflare.api.account.member.update"),
        query: query::none,
        body: Some((schema::<w::IdRef>, true)),
        result: Shape::Array(schema::<w::GroupMember>),
        handler: |m| on(m, user_groups::replace_members),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}/members/{member_id}"),
        operation_id: "iam-user-group-members-get",
        summary: "One member of a user group",
        tag: "User Group Members",
        guard: Guard::Permission("com.cloudflare.api.account.member.read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::GroupMemberDetail>),
        handler: |m| on(m, user_groups::get_member),
    },
    Route {
        method: "DELETE",
        path: p!("/accounts/{account_id}/iam/user_groups/{user_group_id}/members/{member_id}"),
        operation_id: "iam-user-group-members-delete",
        summary: "Remove a member from a user group",
        tag: "User Group Members",
        guard: Guard::Permission("com.cloudflare.api.account.member.update"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::GroupMember>),
        handler: |m| on(m, user_groups::remove_member),
    },
    // SSO connectors.
    Route { method: "GET", path: p!("/accounts/{account_id}/sso_connectors"), operation_id: "sso-connectors-list", summary: "List SSO connectors (the whole list, one page)", tag: "SSO Connectors", guard: Guard::Permission("#sso_connector:read"), query: query::none, body: None, result: Shape::Array(schema::<w::SsoConnector>), handler: |m| on(m, sso::list) },
    Route { method: "POST", path: p!("/accounts/{account_id}/sso_connectors"), operation_id: "sso-connectors-create", summary: "Create an SSO connector (verification begins at once unless begin_verification is false)", tag: "SSO Connectors", guard: Guard::Permission("#sso_connector:edit"), query: query::none, body: Some((schema::<w::SsoCreate>, false)), result: Shape::Object(schema::<w::SsoConnector>), handler: |m| on(m, sso::create) },
    Route { method: "GET", path: p!("/accounts/{account_id}/sso_connectors/{sso_connector_id}"), operation_id: "sso-connectors-get", summary: "SSO connector details", tag: "SSO Connectors", guard: Guard::Permission("#sso_connector:read"), query: query::none, body: None, result: Shape::Object(schema::<w::SsoConnector>), handler: |m| on(m, sso::get) },
    Route { method: "PATCH", path: p!("/accounts/{account_id}/sso_connectors/{sso_connector_id}"), operation_id: "sso-connectors-update", summary: "Enable/disable (enable only once verified) or change FedRAMP wording", tag: "SSO Connectors", guard: Guard::Permission("#sso_connector:edit"), query: query::none, body: Some((schema::<w::SsoUpdate>, false)), result: Shape::Object(schema::<w::SsoConnector>), handler: |m| on(m, sso::update) },
    Route { method: "DELETE", path: p!("/accounts/{account_id}/sso_connectors/{sso_connector_id}"), operation_id: "sso-connectors-delete", summary: "Delete an SSO connector", tag: "SSO Connectors", guard: Guard::Permission("#sso_connector:edit"), query: query::none, body: None, result: Shape::Object(schema::<w::IdRef>), handler: |m| on(m, sso::delete) },
    Route { method: "POST", path: p!("/accounts/{account_id}/sso_connectors/{sso_connector_id}/begin_verification"), operation_id: "sso-connectors-begin-verification", summary: "Look the TXT record up now; verified if found, else pending with a new window", tag: "SSO Connectors", guard: Guard::Permission("#sso_connector:edit"), query: query::none, body: None, result: Shape::Object(schema::<w::SsoConnector>), handler: |m| on(m, sso::begin_verification) },
    // OAuth clients and the OAuth scope catalog (permission keys unconfirmed: docs/api-decisions.md "OAuth clients").
    Route { method: "GET", path: p!("/accounts/{account_id}/oauth_clients"), operation_id: "oauth-clients-list", summary: "List OAuth clients (the whole list, one page; no secrets)", tag: "OAuth Clients", guard: Guard::Permission("com.cloudflare.api.account.oauth-client.read"), query: query::none, body: None, result: Shape::Array(schema::<w::OAuthClient>), handler: |m| on(m, oauth_clients::list) },
    Route { method: "POST", path: p!("/accounts/{account_id}/oauth_clients"), operation_id: "oauth-clients-create", summary: "Create an OAuth client (its secret is shown once)", tag: "OAuth Clients", guard: Guard::Permission("com.cloudflare.api.account.oauth-client.write"), query: query::none, body: Some((schema::<w::OAuthClientCreate>, false)), result: Shape::Object(schema::<w::OAuthClientCreated>), handler: |m| on(m, oauth_clients::create) },
    Route { method: "GET", path: p!("/accounts/{account_id}/oauth_clients/{oauth_client_id}"), operation_id: "oauth-clients-get", summary: "OAuth client details (no secret)", tag: "OAuth Clients", guard: Guard::Permission("com.cloudflare.api.account.oauth-client.read"), query: query::none, body: None, result: Shape::Object(schema::<w::OAuthClient>), handler: |m| on(m, oauth_clients::get) },
    Route { method: "PATCH", path: p!("/accounts/{account_id}/oauth_clients/{oauth_client_id}"), operation_id: "oauth-clients-update", summary: "Update an OAuth client (absent fields unchanged)", tag: "OAuth Clients", guard: Guard::Permission("com.cloudflare.api.account.oauth-client.write"), query: query::none, body: Some((schema::<w::OAuthClientUpdate>, false)), result: Shape::Object(schema::<w::OAuthClient>), handler: |m| on(m, oauth_clients::update) },
    Route { method: "DELETE", path: p!("/accounts/{account_id}/oauth_clients/{oauth_client_id}"), operation_id: "oauth-clients-delete", summary: "Delete an OAuth client and its secrets", tag: "OAuth Clients", guard: Guard::Permission("com.cloudflare.api.account.oauth-client.write"), query: query::none, body: None, result: Shape::Object(schema::<w::IdRef>), handler: |m| on(m, oauth_clients::delete) },
    Route { method: "POST", path: p!("/accounts/{account_id}/oauth_clients/{oauth_client_id}/rotate_secret"), operation_id: "oauth-clients-rotate-secret", summary: "New client secret (shown once); the previous one is kept as the rotated secret until deleted", tag: "OAuth Clients", guard: Guard::Permission("com.cloudflare.api.account.oauth-client.write"), query: query::none, body: None, result: Shape::Object(schema::<w::OAuthClientSecret>), handler: |m| on(m, oauth_clients::rotate_secret) },
    Route { method: "DELETE", path: p!("/accounts/{account_id}/oauth_clients/{oauth_client_id}/rotate_secret"), operation_id: "oauth-clients-delete-rotated-secret", summary: "Delete the rotated (previous) client secret", tag: "OAuth Clients", guard: Guard::Permission("com.cloudflare.api.account.oauth-client.write"), query: query::none, body: None, result: Shape::Object(schema::<w::IdRef>), handler: |m| on(m, oauth_clients::delete_rotated_secret) },
    // Audit logs and the change feed.
    Route { method: "GET", path: p!("/accounts/{account_id}/audit_logs"), operation_id: "audit-logs-get-account-audit-logs", summary: "List the account's audit log (v1: numbered pages)", tag: "Audit Logs", guard: Guard::Permission(AUDIT_READ), query: audit::V1Query::params, body: None, result: Shape::Page(schema::<w::AuditLogV1>), handler: |m| on(m, audit::list_v1) },
    Route { method: "GET", path: p!("/user/audit_logs"), operation_id: "audit-logs-get-user-audit-logs", summary: "List the caller's own audit log (v1 shape: their profile, their own tokens, their membership answers)", tag: "Audit Logs", guard: Guard::Authenticated, query: audit::V1Query::params, body: None, result: Shape::Page(schema::<w::AuditLogV1>), handler: |m| on(m, audit::list_user_v1) },
    Route { method: "GET", path: p!("/accounts/{account_id}/logs/audit"), operation_id: "audit-logs-v2-get-account-audit-logs", summary: "List the account's audit log (v2: since and before required, cursors)", tag: "Audit Logs", guard: Guard::Permission(AUDIT_READ), query: audit::V2Query::params, body: None, result: Shape::Cursor(schema::<w::AuditLogV2>), handler: |m| on(m, audit::list_v2) },
    Route { method: "GET", path: p!("/accounts/{account_id}/iam/changes"), operation_id: "iam-changes", summary: "List the account's changes after a cursor, oldest first (Portcullis extension)", tag: "Audit Logs", guard: Guard::Permission(AUDIT_READ), query: audit::ChangesQuery::params, body: None, result: Shape::Cursor(schema::<w::IamChange>), handler: |m| on(m, audit::changes) },
    Route { method: "GET", path: p!("/oauth/scopes"), operation_id: "oauth-scopes-list", summary: "The OAuth scopes clients may request (any authenticated caller)", tag: "OAuth Scopes", guard: Guard::Authenticated, query: query::none, body: None, result: Shape::Array(schema::<w::OAuthScope>), handler: |m| on(m, oauth_clients::scopes) },
    // Decisions (Portcullis extension).
    Route { method: "POST", path: p!("/accounts/{account_id}/iam/authorize"), operation_id: "iam-authorize", summary: "Decide up to 1,000 (permission, resource) checks for a member or token, with explanations (Portcullis extension)", tag: "Decisions", guard: Guard::Permission("com.cloudflare.api.iam.authorize"), query: query::none, body: Some((schema::<w::AuthorizeRequest>, false)), result: Shape::Array(schema::<w::AuthorizeDecision>), handler: |m| on(m, authorize::authorize) },
    Route { method: "GET", path: p!("/accounts/{account_id}/members/{member_id}/effective_policies"), operation_id: "account-members-effective-policies", summary: "A member's effective policies: own, roles and user groups (Portcullis extension)", tag: "Decisions", guard: Guard::Permission("com.cloudflare.api.account.member.read"), query: query::none, body: None, result: Shape::Object(schema::<w::EffectivePolicies>), handler: |m| on(m, authorize::effective_policies) },
    // Accounts.
    Route {
        method: "GET",
        path: p!("/accounts"),
        operation_id: "accounts-list",
        summary: "List the accounts you are an accepted member of",
        tag: "Accounts",
        guard: Guard::Authenticated,
        query: accounts::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::Account>),
        handler: |m| on(m, accounts::list),
    },
    Route {
        method: "POST",
        path: p!("/accounts"),
        operation_id: "accounts-create",
        summary: "Create an account (operators); the caller becomes its Super Administrator",
        tag: "Accounts",
        guard: Guard::Operator,
        query: query::none,
        body: Some((schema::<w::AccountCreate>, false)),
        result: Shape::Object(schema::<w::Account>),
        handler: |m| on(m, accounts::create),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}"),
        operation_id: "accounts-get",
        summary: "Account details",
        tag: "Accounts",
        guard: Guard::Permission("com.cloudflare.api.account.read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Account>),
        handler: |m| on(m, accounts::get),
    },
    Route {
        method: "PUT",
        path: p!("/accounts/{account_id}"),
        operation_id: "accounts-update",
        summary: "Update an account (absent fields unchanged)",
        tag: "Accounts",
        guard: Guard::Permission("#organization:edit"),
        query: query::none,
        body: Some((schema::<w::AccountUpdate>, false)),
        result: Shape::Object(schema::<w::Account>),
        handler: |m| on(m, accounts::update),
    },
    Route {
        method: "DELETE",
        path: p!("/accounts/{account_id}"),
        operation_id: "accounts-delete",
        summary: "Delete an account and everything in it (operators)",
        tag: "Accounts",
        guard: Guard::Operator,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::IdRef>),
        handler: |m| on(m, accounts::delete),
    },
    // Members.
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/members"),
        operation_id: "account-members-list",
        summary: "List account members",
        tag: "Account Members",
        guard: Guard::Permission("#organization:read"),
        query: members::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::Member>),
        handler: |m| on(m, members::list),
    },
    Route {
        method: "POST",
        path: p!("/accounts/{account_id}/members"),
        operation_id: "account-members-create",
        summary: "Add a member (roles or policies)",
        tag: "Account Members",
        guard: Guard::Permission("#organization:edit"),
        query: query::none,
        body: Some((schema::<w::MemberCreate>, false)),
        result: Shape::Object(schema::<w::Member>),
        handler: |m| on(m, members::create),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/members/{member_id}"),
        operation_id: "account-members-get",
        summary: "Member details",
        tag: "Account Members",
        guard: Guard::Permission("#organization:read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Member>),
        handler: |m| on(m, members::get),
    },
    Route {
        method: "PUT",
        path: p!("/accounts/{account_id}/members/{member_id}"),
        operation_id: "account-members-update",
        summary: "Update a member's roles, policies or status",
        tag: "Account Members",
        guard: Guard::Permission("#organization:edit"),
        query: query::none,
        body: Some((schema::<w::MemberUpdate>, false)),
        result: Shape::Object(schema::<w::Member>),
        handler: |m| on(m, members::update),
    },
    Route {
        method: "DELETE",
        path: p!("/accounts/{account_id}/members/{member_id}"),
        operation_id: "account-members-delete",
        summary: "Remove a member",
        tag: "Account Members",
        guard: Guard::Permission("#organization:edit"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::IdRef>),
        handler: |m| on(m, members::delete),
    },
    // Legacy account roles.
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/roles"),
        operation_id: "account-roles-list",
        summary: "List the legacy account roles (the default page holds them all)",
        tag: "Account Roles",
        guard: Guard::Permission("#organization:read"),
        query: roles::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::Role>),
        handler: |m| on(m, roles::list),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/roles/{role_id}"),
        operation_id: "account-roles-get",
        summary: "Role details",
        tag: "Account Roles",
        guard: Guard::Permission("#organization:read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Role>),
        handler: |m| on(m, roles::get),
    },
    // Account-owned tokens.
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/tokens"),
        operation_id: "account-tokens-list",
        summary: "List account-owned tokens",
        tag: "Account API Tokens",
        guard: Guard::Permission("com.cloudflare.api.account.token.list"),
        query: tokens::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::Token>),
        handler: |m| on(m, tokens::list),
    },
    Route {
        method: "POST",
        path: p!("/accounts/{account_id}/tokens"),
        operation_id: "account-tokens-create",
        summary: "Create an account-owned token (value shown once)",
        tag: "Account API Tokens",
        guard: Guard::Permission("com.cloudflare.api.account.token.create"),
        query: query::none,
        body: Some((schema::<w::TokenCreate>, false)),
        result: Shape::Object(schema::<w::TokenCreated>),
        handler: |m| on(m, tokens::create),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/tokens/verify"),
        operation_id: "account-tokens-verify",
        summary: "Verify the account-owned token used",
        tag: "Account API Tokens",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::TokenVerify>),
        handler: |m| on(m, tokens::verify),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/tokens/permission_groups"),
        operation_id: "account-tokens-permission-groups",
        summary: "Permission groups usable in account-owned token policies",
        tag: "Account API Tokens",
        guard: Guard::Permission("com.cloudflare.api.account.token.read"),
        query: permission_groups::TokenGroupsQuery::params,
        body: None,
        result: Shape::Array(schema::<w::TokenPermissionGroup>),
        handler: |m| on(m, permission_groups::account_token_groups),
    },
    Route {
        method: "GET",
        path: p!("/accounts/{account_id}/tokens/{token_id}"),
        operation_id: "account-tokens-get",
        summary: "Account-owned token details",
        tag: "Account API Tokens",
        guard: Guard::Permission("com.cloudflare.api.account.token.read"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Token>),
        handler: |m| on(m, tokens::get),
    },
    Route {
        method: "PUT",
        path: p!("/accounts/{account_id}/tokens/{token_id}"),
        operation_id: "account-tokens-update",
        summary: "Update an account-owned token (absent fields unchanged)",
        tag: "Account API Tokens",
        guard: Guard::Permission("com.cloudflare.api.account.token.update"),
        query: query::none,
        body: Some((schema::<w::TokenUpdate>, false)),
        result: Shape::Object(schema::<w::Token>),
        handler: |m| on(m, tokens::update),
    },
    Route {
        method: "DELETE",
        path: p!("/accounts/{account_id}/tokens/{token_id}"),
        operation_id: "account-tokens-delete",
        summary: "Delete an account-owned token",
        tag: "Account API Tokens",
        guard: Guard::Permission("com.cloudflare.api.account.token.delete"),
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::IdRef>),
        handler: |m| on(m, tokens::delete),
    },
    Route {
        method: "PUT",
        path: p!("/accounts/{account_id}/tokens/{token_id}/value"),
        operation_id: "account-tokens-roll",
        summary: "Roll an account-owned token's value (result: the new value)",
        tag: "Account API Tokens",
        guard: Guard::Permission("com.cloudflare.api.account.token.update"),
        query: query::none,
        body: None,
        result: Shape::Str,
        handler: |m| on(m, tokens::roll),
    },
    // The user and user-owned tokens.
    Route {
        method: "GET",
        path: p!("/user"),
        operation_id: "user-get",
        summary: "The authenticated user",
        tag: "User",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::User>),
        handler: |m| on(m, accounts::me),
    },
    Route {
        method: "PATCH",
        path: p!("/user"),
        operation_id: "user-edit",
        summary: "Edit the user's names, country, telephone and zip code (null clears)",
        tag: "User",
        guard: Guard::Authenticated,
        query: query::none,
        body: Some((schema::<w::UserEdit>, false)),
        result: Shape::Object(schema::<w::User>),
        handler: |m| on(m, accounts::edit_me),
    },
    // The user's memberships.
    Route {
        method: "GET",
        path: p!("/memberships"),
        operation_id: "user-memberships-list",
        summary: "The caller's memberships in every account (account-owned tokens: 400/9106)",
        tag: "Memberships",
        guard: Guard::Authenticated,
        query: memberships::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::Membership>),
        handler: |m| on(m, memberships::list),
    },
    Route {
        method: "GET",
        path: p!("/memberships/{membership_id}"),
        operation_id: "user-memberships-get",
        summary: "One of the caller's memberships, with the member's policies",
        tag: "Memberships",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Membership>),
        handler: |m| on(m, memberships::get),
    },
    Route {
        method: "PUT",
        path: p!("/memberships/{membership_id}"),
        operation_id: "user-memberships-update",
        summary: "Accept an invitation, or reject it (the membership is removed)",
        tag: "Memberships",
        guard: Guard::Authenticated,
        query: query::none,
        body: Some((schema::<w::MembershipUpdate>, false)),
        result: Shape::Object(schema::<w::Membership>),
        handler: |m| on(m, memberships::update),
    },
    Route {
        method: "DELETE",
        path: p!("/memberships/{membership_id}"),
        operation_id: "user-memberships-delete",
        summary: "Leave an account (the last accepted Super Administrator cannot)",
        tag: "Memberships",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::IdRef>),
        handler: |m| on(m, memberships::delete),
    },
    Route {
        method: "GET",
        path: p!("/user/tokens"),
        operation_id: "user-tokens-list",
        summary: "List your tokens",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: tokens::ListQuery::params,
        body: None,
        result: Shape::Page(schema::<w::Token>),
        handler: |m| on(m, tokens::list),
    },
    Route {
        method: "POST",
        path: p!("/user/tokens"),
        operation_id: "user-tokens-create",
        summary: "Create a user-owned token (value shown once)",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: query::none,
        body: Some((schema::<w::TokenCreate>, false)),
        result: Shape::Object(schema::<w::TokenCreated>),
        handler: |m| on(m, tokens::create),
    },
    Route {
        method: "GET",
        path: p!("/user/tokens/verify"),
        operation_id: "user-tokens-verify",
        summary: "Verify the user-owned token used",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::TokenVerify>),
        handler: |m| on(m, tokens::verify),
    },
    Route {
        method: "GET",
        path: p!("/user/tokens/permission_groups"),
        operation_id: "user-tokens-permission-groups",
        summary: "Permission groups usable in user-owned token policies",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: permission_groups::TokenGroupsQuery::params,
        body: None,
        result: Shape::Array(schema::<w::TokenPermissionGroup>),
        handler: |m| on(m, permission_groups::user_token_groups),
    },
    Route {
        method: "GET",
        path: p!("/user/tokens/{token_id}"),
        operation_id: "user-tokens-get",
        summary: "Token details",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::Token>),
        handler: |m| on(m, tokens::get),
    },
    Route {
        method: "PUT",
        path: p!("/user/tokens/{token_id}"),
        operation_id: "user-tokens-update",
        summary: "Update a token (absent fields unchanged)",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: query::none,
        body: Some((schema::<w::TokenUpdate>, false)),
        result: Shape::Object(schema::<w::Token>),
        handler: |m| on(m, tokens::update),
    },
    Route {
        method: "DELETE",
        path: p!("/user/tokens/{token_id}"),
        operation_id: "user-tokens-delete",
        summary: "Delete a token",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Object(schema::<w::IdRef>),
        handler: |m| on(m, tokens::delete),
    },
    Route {
        method: "PUT",
        path: p!("/user/tokens/{token_id}/value"),
        operation_id: "user-tokens-roll",
        summary: "Roll a token's value (result: the new value)",
        tag: "User API Tokens",
        guard: Guard::Authenticated,
        query: query::none,
        body: None,
        result: Shape::Str,
        handler: |m| on(m, tokens::roll),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_permission_key_is_in_the_catalog() {
        let catalog =
            portcullis_core::catalog::Catalog::builtin().unwrap_or_else(|e| unreachable!("{e}"));
        for r in ROUTES {
            if let Guard::Permission(key) = r.guard {
                assert!(
                    catalog.is_permission_key(key),
                    "{} {} requires `{key}`, which the catalog does not define",
                    r.method,
                    r.path
                );
            }
        }
    }

    /// Each route's method is one the router can route (the handler is built for it).
    #[test]
    fn every_method_is_routable() {
        for r in ROUTES {
            let method: axum::http::Method = r.method.parse().unwrap_or_else(|_| unreachable!());
            assert!(
                MethodFilter::try_from(method).is_ok()
                    && r.method.chars().all(|c| c.is_ascii_uppercase()),
                "{} {}: unknown method",
                r.method,
                r.path
            );
        }
    }

    /// The gate reads the account from `{account_id}`: every permission-guarded route has it,
    /// right after `/accounts/`.
    #[test]
    fn every_permission_route_is_under_an_account() {
        for r in ROUTES {
            if matches!(r.guard, Guard::Permission(_)) {
                assert!(
                    r.path.starts_with("/client/v4/accounts/{account_id}"),
                    "{} {} is permission-guarded but not under /accounts/{{account_id}}",
                    r.method,
                    r.path
                );
            }
        }
    }

    /// Every path parameter is one the typed path structs know (`crate::path`).
    #[test]
    fn every_path_parameter_is_typed() {
        use crate::path::*;
        let known: Vec<&str> = [
            AccountPath::NAMES,
            MemberPath::NAMES,
            ResourceGroupPath::NAMES,
            UserGroupPath::NAMES,
            GroupMemberPath::NAMES,
            SsoPath::NAMES,
            TokenPath::NAMES,
            PermissionGroupPath::NAMES,
            RolePath::NAMES,
            MembershipPath::NAMES,
            OAuthClientPath::NAMES,
        ]
        .concat();
        for r in ROUTES {
            for part in r.path.split('/') {
                if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    assert!(
                        known.contains(&name),
                        "{} {}: `{name}` has no typed path struct",
                        r.method,
                        r.path
                    );
                }
            }
        }
    }

    #[test]
    fn every_route_is_unique_and_guarded() {
        let mut seen = HashSet::new();
        let mut ops = HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "duplicate route {} {}",
                r.method,
                r.path
            );
            assert!(
                ops.insert(r.operation_id),
                "duplicate operation id {}",
                r.operation_id
            );
            assert!(
                r.path.starts_with("/client/v4")
                    || r.guard == Guard::Public
                    || r.path.starts_with("/__portcullis/"),
                "{} is outside /client/v4",
                r.path
            );
            if matches!(r.guard, Guard::Permission(_)) {
                assert!(
                    r.path.contains("{account_id}"),
                    "{} {}: a permission is decided inside an account",
                    r.method,
                    r.path
                );
            }
            if r.path.contains("{account_id}") && !r.path.ends_with("/verify") {
                assert!(
                    matches!(r.guard, Guard::Permission(k) if !k.is_empty())
                        || r.guard == Guard::Operator,
                    "{} {} acts in an account but names no permission key",
                    r.method,
                    r.path
                );
            }
        }
    }
}
