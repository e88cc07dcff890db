//! The audit log: who changed what, when, from where, and what it was before and after.
//!
//! Every store method that writes takes an [`AuditContext`] (who acts, from where, when) and
//! writes the [`AuditRecord`]s of its change **in the same transaction** as the change, with the
//! values it read and wrote inside that transaction: a write that fails or rolls back leaves no
//! entry, and an entry never describes a change that did not happen. Requests refused by the
//! gate or a no-escalation rule are recorded on their own ([`AuditRecord::denied`]).
//!
//! Values are snapshots in the shapes of [`Audited::snapshot`]: ids, names, statuses, policies;
//! never a secret, nor a secret's hash.

use std::fmt;
use std::net::IpAddr;

use serde_json::{json, Value};

use crate::auth::Principal;
use crate::ids::{AccountId, MemberId, UserGroupId};
use crate::model::{
    Account, ApiToken, Grants, Member, Policy, ResourceGroup, SsoConnector, TokenOwner,
    TokenPolicy, User, UserGroup,
};
use crate::oauth::OAuthClient;
use crate::page::PageRequest;
use crate::time::Timestamp;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// The HTTP API.
    Api,
    /// The HTTP API, called by the admin console (Cloudflare's value for its dashboard).
    Ui,
    /// A `portcullis` command on the server's machine.
    Cli,
    /// The server itself (the SSO verifier).
    System,
}

crate::model::stored_enum!(Interface, "audit interface");

impl Interface {
    /// Stored text, and Cloudflare's v1 `interface` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "API",
            Self::Ui => "UI",
            Self::Cli => "CLI",
            Self::System => "system",
        }
    }

    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Api, Self::Ui, Self::Cli, Self::System];
}

/// The request a change came with: its id (the response's `cf-ray`), the client's address and
/// what was asked. Built by the HTTP layer; the CLI's is [`Origin::cli`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// API or CLI.
    pub interface: Interface,
    /// The request id.
    pub request_id: Option<String>,
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// HTTP method.
    pub method: Option<String>,
    /// Path and query.
    pub uri: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl Origin {
    /// The request's path, without its query.
    pub fn path(&self) -> &str {
        let uri = self.uri.as_deref().unwrap_or_default();
        uri.split_once('?').map_or(uri, |(path, _)| path)
    }

    /// A change made by a command on the server's machine.
    pub fn cli(command: &str) -> Self {
        Self {
            interface: Interface::Cli,
            request_id: None,
            ip: None,
            method: None,
            uri: Some(format!("portcullis {command}")),
            user_agent: None,
        }
    }
}

/// Who acted, in Cloudflare's v2 terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorType {
    /// A user (global key or user-owned token).
    User,
    /// An account-owned token.
    Account,
    /// The server's operator, through the CLI.
    System,
}

crate::model::stored_enum!(ActorType, "audit actor type");

impl ActorType {
    /// Stored text (v2 `actor.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Account => "account",
            Self::System => "system",
        }
    }

    /// Every value.
    pub const ALL: &'static [Self] = &[Self::User, Self::Account, Self::System];
}

/// The actor of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Kind.
    pub kind: ActorType,
    /// User id, or the token id of an account token, or `portcullis` for the CLI.
    pub id: String,
    /// The user's email.
    pub email: Option<String>,
    /// `api_key` or `api_token` (none for the CLI).
    pub context: Option<String>,
    /// The token used.
    pub token_id: Option<String>,
    /// Its name.
    pub token_name: Option<String>,
}

impl Actor {
    /// The actor a principal is.
    pub fn of(principal: &Principal) -> Self {
        match principal {
            Principal::User { user, token } => Self {
                kind: ActorType::User,
                id: user.id.to_string(),
                email: Some(user.email.clone()),
                context: Some(
                    if token.is_some() {
                        "api_token"
                    } else {
                        "api_key"
                    }
                    .to_owned(),
                ),
                token_id: token.as_ref().map(|t| t.id.to_string()),
                token_name: token.as_ref().map(|t| t.name.clone()),
            },
            Principal::AccountToken { token, .. } => Self {
                kind: ActorType::Account,
                id: token.id.to_string(),
                email: None,
                context: Some("api_token".to_owned()),
                token_id: Some(token.id.to_string()),
                token_name: Some(token.name.clone()),
            },
        }
    }

    /// The operator at the server's machine.
    pub fn system() -> Self {
        Self {
            kind: ActorType::System,
            id: "portcullis".to_owned(),
            email: None,
            context: None,
            token_id: None,
            token_name: None,
        }
    }
}

/// Who changes something, from where, and when: what every write is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    /// Who.
    pub actor: Actor,
    /// From where.
    pub origin: Origin,
    /// When (the change's own timestamps use the same instant where they can).
    pub time: Timestamp,
    /// A user acting on their own membership (accept, reject, leave): recorded as a
    /// `membership` entry (user-level), not as a change to a `member`.
    pub own_membership: bool,
}

impl AuditContext {
    /// A principal's request.
    pub fn new(principal: &Principal, origin: &Origin) -> Self {
        Self {
            actor: Actor::of(principal),
            origin: origin.clone(),
            time: Timestamp::now(),
            own_membership: false,
        }
    }

    /// The server itself (`what`: the task, such as `sso-verifier`).
    pub fn system(what: &str) -> Self {
        let mut origin = Origin::cli(what);
        origin.interface = Interface::System;
        origin.uri = Some(what.to_owned());
        Self {
            actor: Actor::system(),
            origin,
            time: Timestamp::now(),
            own_membership: false,
        }
    }

    /// The same actor acting on their own membership.
    pub fn own_membership(mut self) -> Self {
        self.own_membership = true;
        self
    }

    /// The record of a change to a member: a `membership` entry when the user answers or
    /// leaves their own membership, a `member` entry otherwise.
    pub fn member(
        &self,
        action: AuditAction,
        before: Option<&Member>,
        after: Option<&Member>,
    ) -> AuditRecord {
        if self.own_membership {
            self.record(
                action,
                before.map(MembershipOf).as_ref(),
                after.map(MembershipOf).as_ref(),
            )
        } else {
            self.record(action, before, after)
        }
    }

    /// A CLI command.
    pub fn cli(command: &str) -> Self {
        Self {
            actor: Actor::system(),
            origin: Origin::cli(command),
            time: Timestamp::now(),
            own_membership: false,
        }
    }

    /// The record of `action` on a resource, from its values before and after (`None` for
    /// before a create and after a delete). Stores call this with what they read and wrote
    /// inside the write's transaction.
    pub fn record<T: Audited + ?Sized>(
        &self,
        action: AuditAction,
        before: Option<&T>,
        after: Option<&T>,
    ) -> AuditRecord {
        let subject = after.or(before);
        AuditRecord {
            id: new_entry_id(),
            account: subject.and_then(Audited::audit_account),
            time: self.time,
            actor: self.actor.clone(),
            origin: self.origin.clone(),
            action,
            result: true,
            status: None,
            scope: T::SCOPE,
            resource_type: T::KIND.to_owned(),
            resource_id: subject.map(Audited::audit_id).unwrap_or_default(),
            before: before.map(Audited::snapshot),
            after: after.map(Audited::snapshot),
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// Created.
    Create,
    /// Changed.
    Update,
    /// Deleted.
    Delete,
    /// Read (only for refused reads).
    View,
}

crate::model::stored_enum!(AuditAction, "audit action");

impl AuditAction {
    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Create, Self::Update, Self::Delete, Self::View];

    /// Stored text (v1 and v2 `action.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::View => "view",
        }
    }

    /// The action an HTTP method attempts.
    pub fn of_method(method: &str) -> Self {
        match method {
            "POST" => Self::Create,
            "PUT" | "PATCH" => Self::Update,
            "DELETE" => Self::Delete,
            _ => Self::View,
        }
    }
}

/// Which part of the model an entry is about (v2 `resource.scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceScope {
    /// Something an account owns.
    Accounts,
    /// A user's own membership (accepting, rejecting or leaving): a user-level entry.
    Memberships,
    /// The user's own profile and tokens (no account).
    User,
}

crate::model::stored_enum!(ResourceScope, "audit resource scope");

impl ResourceScope {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::Memberships => "memberships",
            Self::User => "user",
        }
    }

    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Accounts, Self::Memberships, Self::User];
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// 32 hex.
    pub id: String,
    /// The account acted in (`None`: a user-level change).
    pub account: Option<AccountId>,
    /// When.
    pub time: Timestamp,
    /// Who.
    pub actor: Actor,
    /// From where.
    pub origin: Origin,
    /// What.
    pub action: AuditAction,
    /// Done (true) or refused (false).
    pub result: bool,
    /// The HTTP status of a refusal.
    pub status: Option<u16>,
    /// Resource scope.
    pub scope: ResourceScope,
    /// Resource type (`member`, `user_group`, …).
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// The value before.
    pub before: Option<Value>,
    /// The value after.
    pub after: Option<Value>,
}

impl AuditRecord {
    /// A refused request in `account`: what it tried (from the method) on what (the route's
    /// resource type and, when the path names one, its id).
    pub fn denied(
        cx: &AuditContext,
        account: &AccountId,
        resource_type: &'static str,
        resource_id: Option<&str>,
        status: u16,
    ) -> Self {
        Self {
            id: new_entry_id(),
            account: Some(account.clone()),
            time: cx.time,
            actor: cx.actor.clone(),
            origin: cx.origin.clone(),
            action: AuditAction::of_method(cx.origin.method.as_deref().unwrap_or("GET")),
            result: false,
            status: Some(status),
            scope: ResourceScope::Accounts,
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.unwrap_or_default().to_owned(),
            before: None,
            after: None,
        }
    }

    /// "create user_group", for logs and v2 `action.description`.
    pub fn description(&self) -> String {
        let verb = match (self.action, self.result) {
            (AuditAction::Create, true) => "created",
            (AuditAction::Update, true) => "updated",
            (AuditAction::Delete, true) => "deleted",
            (AuditAction::View, true) => "read",
            (AuditAction::Create, false) => "refused to create",
            (AuditAction::Update, false) => "refused to update",
            (AuditAction::Delete, false) => "refused to delete",
            (AuditAction::View, false) => "refused to read",
        };
        let what = self.resource_type.replace('_', " ");
        if self.resource_id.is_empty() {
            format!("{verb} {what}")
        } else {
            format!("{verb} {what} {}", self.resource_id)
        }
    }
}

/// A stored entry with its position in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Position: increases in commit order (the change feed's cursor).
    pub seq: i64,
    /// The account's name when the entry was read (None when the account is gone).
    pub account_name: Option<String>,
    /// The record.
    pub record: AuditRecord,
}

/// A text filter: keep entries whose value is one of `any` (when non-empty) and none of `not`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFilter {
    /// Keep these.
    pub any: Vec<String>,
    /// Drop these.
    pub not: Vec<String>,
}

impl TextFilter {
    /// No condition.
    pub fn is_empty(&self) -> bool {
        self.any.is_empty() && self.not.is_empty()
    }
}

/// Which column a [`TextFilter`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditField {
    /// Entry id.
    Id,
    /// `success`/`failure`.
    ActionResult,
    /// `create`/…
    ActionType,
    /// `api_key`/`api_token`.
    ActorContext,
    /// Email (compared lower-cased).
    ActorEmail,
    /// Actor id.
    ActorId,
    /// Client address (exact text).
    ActorIp,
    /// Token id.
    ActorTokenId,
    /// Token name.
    ActorTokenName,
    /// `user`/`account`/`system`.
    ActorType,
    /// Request id.
    RequestId,
    /// HTTP method.
    Method,
    /// HTTP status (of refusals; successful writes have none stored: see the docs).
    Status,
    /// Path and query.
    Uri,
    /// Resource id.
    ResourceId,
    /// Resource scope.
    ResourceScope,
    /// Resource type.
    ResourceType,
    /// Account name (as it is now).
    AccountName,
}

/// Which entries to read, in which order, which page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// Entries at or after.
    pub since: Option<Timestamp>,
    /// Entries before.
    pub before: Option<Timestamp>,
    /// Text filters.
    pub filters: Vec<(AuditField, TextFilter)>,
    /// Client address ranges (any of).
    pub ip_ranges: Vec<ipnet::IpNet>,
    /// Only successful changes (the change feed).
    pub only_changes: bool,
    /// Hide user-level entries (membership answers).
    pub hide_user_level: bool,
    /// Matches nothing (a filter no entry can match, such as a zone).
    pub nothing: bool,
    /// Oldest first.
    pub ascending: bool,
    /// The page.
    pub page: AuditPage,
}

/// How a listing pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditPage {
    /// Numbered pages, with a total.
    Numbered(PageRequest),
    /// Up to `limit` entries after the entry at `after` (a seq), in the query's order.
    After {
        /// The last seq already seen (`None`: from the start).
        after: Option<i64>,
        /// How many.
        limit: u32,
    },
}

impl Default for AuditPage {
    fn default() -> Self {
        Self::After {
            after: None,
            limit: 100,
        }
    }
}

/// A page of entries.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntries {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Total matching (numbered pages only).
    pub total: Option<u64>,
    /// Whether more entries follow this page.
    pub more: bool,
}

/// Something the audit log can name and show.
pub trait Audited {
    /// Resource type.
    const KIND: &'static str;
    /// Resource scope.
    const SCOPE: ResourceScope = ResourceScope::Accounts;
    /// Its id.
    fn audit_id(&self) -> String;
    /// The account it belongs to.
    fn audit_account(&self) -> Option<AccountId>;
    /// Its value, without secrets.
    fn snapshot(&self) -> Value;
}

fn ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn policies(p: &[Policy]) -> Value {
    p.iter()
        .map(|p| {
            json!({
                "id": p.id.to_string(),
                "access": p.access.as_str(),
                "permission_groups": p.permission_groups,
                "resource_groups": p.resource_groups.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn token_policies(p: &[TokenPolicy]) -> Value {
    p.iter()
        .map(|p| {
            json!({
                "id": p.id.to_string(),
                "effect": p.access.as_str(),
                "permission_groups": p.permission_groups,
                "resources": p.resources,
            })
        })
        .collect()
}

impl Audited for Member {
    const KIND: &'static str = "member";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        Some(self.account_id.clone())
    }
    fn snapshot(&self) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "user_id": self.user.id.to_string(),
            "email": self.user.email,
            "status": self.status.as_str(),
        });
        match &self.grants {
            Grants::Roles(r) => v["roles"] = json!(r),
            Grants::Policies(p) => v["policies"] = policies(p),
        }
        v
    }
}

/// A user's own membership, as the user changes it (accept, reject, leave).
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipOf<'a>(pub &'a Member);

impl Audited for MembershipOf<'_> {
    const KIND: &'static str = "membership";
    const SCOPE: ResourceScope = ResourceScope::Memberships;
    fn audit_id(&self) -> String {
        self.0.audit_id()
    }
    fn audit_account(&self) -> Option<AccountId> {
        self.0.audit_account()
    }
    fn snapshot(&self) -> Value {
        self.0.snapshot()
    }
}

impl Audited for UserGroup {
    const KIND: &'static str = "user_group";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        Some(self.account_id.clone())
    }
    fn snapshot(&self) -> Value {
        json!({"id": self.id.to_string(), "name": self.name, "policies": policies(&self.policies)})
    }
}

/// The member list of a user group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMembers {
    /// The account.
    pub account: AccountId,
    /// The group.
    pub group: UserGroupId,
    /// Member ids, sorted.
    pub members: Vec<MemberId>,
}

impl Audited for GroupMembers {
    const KIND: &'static str = "user_group_members";
    fn audit_id(&self) -> String {
        self.group.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        Some(self.account.clone())
    }
    fn snapshot(&self) -> Value {
        let mut ids: Vec<String> = self.members.iter().map(ToString::to_string).collect();
        ids.sort();
        json!({"id": self.group.to_string(), "members": ids})
    }
}

impl Audited for ResourceGroup {
    const KIND: &'static str = "resource_group";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        Some(self.account_id.clone())
    }
    fn snapshot(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "scope": {"key": self.scope_key, "objects": self.objects},
        })
    }
}

impl Audited for ApiToken {
    const KIND: &'static str = "token";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        match &self.owner {
            TokenOwner::Account(a) => Some(a.clone()),
            TokenOwner::User(_) => None,
        }
    }
    fn snapshot(&self) -> Value {
        let nets = |n: &[ipnet::IpNet]| n.iter().map(ToString::to_string).collect::<Vec<_>>();
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "status": self.state.as_str(),
            "not_before": ts(self.not_before),
            "expires_on": ts(self.expires_on),
            "condition": {"request_ip": {
                "in": nets(&self.condition.request_ip_in),
                "not_in": nets(&self.condition.request_ip_not_in),
            }},
            "policies": token_policies(&self.policies),
        })
    }
}

/// A token's value was replaced (roll): the token is the resource; the value never shows.
#[derive(Debug, Clone, PartialEq)]
pub struct RolledToken<'a>(pub &'a ApiToken);

impl Audited for RolledToken<'_> {
    const KIND: &'static str = "token_value";
    fn audit_id(&self) -> String {
        self.0.audit_id()
    }
    fn audit_account(&self) -> Option<AccountId> {
        self.0.audit_account()
    }
    fn snapshot(&self) -> Value {
        json!({"id": self.0.id.to_string(), "value": "[redacted]"})
    }
}

impl Audited for SsoConnector {
    const KIND: &'static str = "sso_connector";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        Some(self.account_id.clone())
    }
    fn snapshot(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "email_domain": self.email_domain,
            "enabled": self.enabled,
            "status": self.status.as_str(),
            "use_fedramp_language": self.use_fedramp_language,
        })
    }
}

impl Audited for OAuthClient {
    const KIND: &'static str = "oauth_client";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        Some(self.account_id.clone())
    }
    fn snapshot(&self) -> Value {
        let strs = |v: &[String]| json!(v);
        json!({
            "id": self.id.to_string(),
            "client_name": self.client_name,
            "grant_types": self.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "response_types": self.response_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "redirect_uris": strs(&self.redirect_uris),
            "post_logout_redirect_uris": strs(&self.post_logout_redirect_uris),
            "allowed_cors_origins": strs(&self.allowed_cors_origins),
            "scopes": strs(&self.scopes),
            "optional_scopes": strs(&self.optional_scopes),
            "token_endpoint_auth_method": self.token_endpoint_auth_method.as_str(),
            "client_uri": self.client_uri,
            "logo_uri": self.logo_uri,
            "policy_uri": self.policy_uri,
            "tos_uri": self.tos_uri,
            "visibility": self.visibility.as_str(),
            "has_rotated_secret": self.has_rotated_secret,
        })
    }
}

/// An OAuth client's secret was rotated or its previous secret deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthSecret<'a>(pub &'a OAuthClient);

impl Audited for OAuthSecret<'_> {
    const KIND: &'static str = "oauth_client_secret";
    fn audit_id(&self) -> String {
        self.0.audit_id()
    }
    fn audit_account(&self) -> Option<AccountId> {
        self.0.audit_account()
    }
    fn snapshot(&self) -> Value {
        json!({"id": self.0.id.to_string(), "secret": "[redacted]", "has_rotated_secret": self.0.has_rotated_secret})
    }
}

impl Audited for Account {
    const KIND: &'static str = "account";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        Some(self.id.clone())
    }
    fn snapshot(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "type": self.account_type.as_str(),
            "settings": {
                "enforce_twofactor": self.enforce_twofactor,
                "abuse_contact_email": self.abuse_contact_email,
            },
        })
    }
}

impl Audited for User {
    const KIND: &'static str = "user";
    const SCOPE: ResourceScope = ResourceScope::User;
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn audit_account(&self) -> Option<AccountId> {
        None
    }
    fn snapshot(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "country": self.country,
            "telephone": self.telephone,
            "zipcode": self.zipcode,
        })
    }
}

/// A user's global API key was set (the CLI's `user-key`); the key never shows.
#[derive(Debug, Clone, PartialEq)]
pub struct UserKey<'a>(pub &'a User);

impl Audited for UserKey<'_> {
    const KIND: &'static str = "user_api_key";
    const SCOPE: ResourceScope = ResourceScope::User;
    fn audit_id(&self) -> String {
        self.0.audit_id()
    }
    fn audit_account(&self) -> Option<AccountId> {
        None
    }
    fn snapshot(&self) -> Value {
        json!({"user_id": self.0.id.to_string(), "email": self.0.email, "operator": self.0.operator, "api_key": "[redacted]"})
    }
}

/// The whole state, replaced or merged by an import or a reset: one entry, no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateImport {
    /// `import`, `import --replace`, `reset`.
    pub how: &'static str,
    /// Objects added.
    pub added: u64,
}

impl Audited for StateImport {
    const KIND: &'static str = "state";
    const SCOPE: ResourceScope = ResourceScope::User;
    fn audit_id(&self) -> String {
        String::new()
    }
    fn audit_account(&self) -> Option<AccountId> {
        None
    }
    fn snapshot(&self) -> Value {
        json!({"how": self.how, "added": self.added})
    }
}

/// A new entry id: random, in the UUID shape Cloudflare's audit log ids have.
pub fn new_entry_id() -> String {
    // A version 4 UUID: 122 random bits, the version nibble 4, the variant bits 10.
    let h = crate::ids::random_hex_id();
    let variant = u8::from_str_radix(&h[16..17], 16).unwrap_or(0) & 0x3 | 0x8;
    format!(
        "{}-{}-4{}-{variant:x}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Where committed entries are also sent (`--audit-stdout`): called by the store after each
/// commit, with the entries that commit wrote.
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// One committed entry.
    fn emit(&self, record: &AuditRecord);
}

/// What a route acts on, for the audit entry of a refusal: the resource type its template
/// names (its last literal segment, singular: `user_groups` → `user_group`) and the id the
/// request's path gives for the template's last parameter (other than the account).
pub fn resource_of(template: &'static str, path: &str) -> (&'static str, Option<String>) {
    let literal = template
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.starts_with('{'))
        .unwrap_or("account");
    let kind = literal.strip_suffix('s').unwrap_or(literal);
    let id = template
        .split('/')
        .zip(path.split('/'))
        .filter(|(t, _)| t.starts_with('{') && *t != "{account_id}")
        .map(|(_, v)| v.to_owned())
        .last();
    (kind, id)
}
