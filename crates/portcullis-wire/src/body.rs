//! Request and response bodies, as Cloudflare's v4 API spells them.
//!
//! Request types are lenient where Cloudflare is (unknown fields are ignored) and strict where it
//! matters (wrong types and unknown enum values are refused with the field's pointer). Fields of
//! PUT/PATCH bodies are `Option`: absent means unchanged. Where `null` means "clear", the field is
//! `Option<Option<_>>` (absent = `None`, `null` = `Some(None)`).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Deserializes a present field into `Some(inner)`, so that `null` becomes `Some(None)` and an
/// absent field (with `#[serde(default)]`) stays `None`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

// ---------------------------------------------------------------------------------------------
// Shared small types.

/// `{ "id": ... }`: a reference to an object, and the result of every delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdRef {
    /// Identifier.
    pub id: String,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Ascending (the default).
    Asc,
    /// Descending.
    Desc,
}

/// Allow or deny, in member and user-group policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Grants.
    Allow,
    /// Refuses.
    Deny,
}

// ---------------------------------------------------------------------------------------------
// Permission groups.

/// `meta` of a permission group: the seed's `{key, value}` and the fields real responses carry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionGroupMeta {
    /// Always `label`.
    pub key: String,
    /// The group's label, when it has one.
    pub value: Option<String>,
    /// The group's label (e.g. `dns_admin`), when it has one.
    pub label: Option<String>,
    /// The scope the group applies to, as one string (e.g. `com.cloudflare.api.account`).
    pub scopes: String,
    /// What the group allows.
    pub description: String,
    /// `"false"`: catalog groups cannot be edited.
    pub editable: String,
    /// `"true"` for groups Portcullis added with ids of its own (no public Cloudflare id exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
}

/// A permission group of the member catalog.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionGroup {
    /// Identifier of the permission group.
    pub id: String,
    /// Name of the permission group.
    pub name: String,
    /// Attributes of the permission group.
    pub meta: PermissionGroupMeta,
}

/// A permission group that API-token policies use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPermissionGroup {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes the group applies to.
    pub scopes: Vec<String>,
    /// What the group grants.
    pub description: String,
}

// ---------------------------------------------------------------------------------------------
// Resource groups and policies (shared by members and user groups).

/// One object of a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScopeObject {
    /// A resource key such as `com.cloudflare.api.account.zone.<zone id>`, or `*`.
    pub key: String,
}

/// A scope: an account key and the objects inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Scope {
    /// `com.cloudflare.api.account.<account id>`.
    pub key: String,
    /// The covered objects.
    pub objects: Vec<ScopeObject>,
}

/// How a response shows a resource group's `scope`: the SDKs disagree (see [`ScopeShape`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ScopeField {
    /// A one-element list (the seed; Python SDK 5.0-5.6, npm 7.0 and earlier).
    List(Vec<Scope>),
    /// One object (Python SDK 5.7 and later, npm 7.1 and later).
    Object(Scope),
}

/// Which of the two `scope` shapes a response uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeShape {
    /// `"scope": [{key, objects}]`, as the seed shows it.
    #[default]
    List,
    /// `"scope": {key, objects}`.
    Object,
}

impl ScopeShape {
    /// The scope in this shape.
    pub fn show(self, scope: Scope) -> ScopeField {
        match self {
            Self::List => ScopeField::List(vec![scope]),
            Self::Object => ScopeField::Object(scope),
        }
    }
}

/// `meta` of a resource group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyValueMeta {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A resource group as responses show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResourceGroup {
    /// Identifier of the resource group.
    pub id: String,
    /// Name of the resource group.
    pub name: String,
    /// The scope: a one-element list (the seed, older SDKs) or one object (newer SDKs); the
    /// server's `--scope-shape` decides, per client by default.
    pub scope: ScopeField,
    /// Attributes.
    pub meta: KeyValueMeta,
}

/// A permission group inside a policy response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyPermissionGroup {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Attributes.
    pub meta: PermissionGroupMeta,
}

/// A member or user-group policy as responses show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Policy {
    /// Policy identifier.
    pub id: String,
    /// Allow or deny.
    pub access: Access,
    /// Permission groups, expanded.
    pub permission_groups: Vec<PolicyPermissionGroup>,
    /// Resource groups, expanded.
    pub resource_groups: Vec<ResourceGroup>,
}

/// A member or user-group policy in a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PolicyInput {
    /// Existing policy id to keep (updates only).
    #[serde(default)]
    pub id: Option<String>,
    /// Allow or deny.
    pub access: Access,
    /// Permission groups (at least one).
    pub permission_groups: Vec<IdRef>,
    /// Resource groups (at least one): `{id}` of an existing one, or `{scope}` to create an
    /// unnamed one for that scope (as Cloudflare does).
    pub resource_groups: Vec<ResourceGroupRef>,
}

/// A resource group in a policy request: exactly one of `id` and `scope`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ResourceGroupRef {
    /// An existing resource group of the account.
    #[serde(default)]
    pub id: Option<String>,
    /// A scope (one object, or a one-element list): a new resource group is made for it.
    #[serde(default)]
    #[schema(value_type = Option<Scope>)]
    pub scope: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// Accounts and the user.

/// Account type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountType {
    /// A standard account (the default).
    Standard,
    /// An enterprise account.
    Enterprise,
}

/// Account settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountSettings {
    /// Whether members must use two-factor authentication.
    pub enforce_twofactor: bool,
    /// Where abuse reports go.
    pub abuse_contact_email: Option<String>,
}

/// An account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    /// Identifier.
    pub id: String,
    /// Account name.
    pub name: String,
    /// Account type.
    #[serde(rename = "type")]
    pub account_type: AccountType,
    /// Creation time.
    pub created_on: String,
    /// Settings.
    pub settings: AccountSettings,
}

/// `POST /accounts` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AccountCreate {
    /// Account name (1..100 characters).
    pub name: String,
    /// Account type (default `standard`).
    #[serde(default, rename = "type")]
    pub account_type: Option<AccountType>,
}

/// Settings in an account update.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AccountSettingsUpdate {
    /// Whether members must use two-factor authentication.
    #[serde(default)]
    pub enforce_twofactor: Option<bool>,
    /// Where abuse reports go; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub abuse_contact_email: Option<Option<String>>,
}

/// `PUT /accounts/{id}` body: absent fields are unchanged.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AccountUpdate {
    /// Account name (1..100 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Account type.
    #[serde(default, rename = "type")]
    pub account_type: Option<AccountType>,
    /// Settings.
    #[serde(default)]
    pub settings: Option<AccountSettingsUpdate>,
}

/// The authenticated user (`GET /user`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// Identifier.
    pub id: String,
    /// Email address.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Telephone number.
    pub telephone: Option<String>,
    /// Zip or postal code.
    pub zipcode: Option<String>,
    /// Whether two-factor authentication is enabled.
    pub two_factor_authentication_enabled: bool,
    /// Whether two-factor authentication is locked.
    pub two_factor_authentication_locked: bool,
    /// Whether the user is suspended.
    pub suspended: bool,
    /// Whether the user is a Portcullis operator (may create and delete accounts).
    pub operator: bool,
    /// Creation time.
    pub created_on: String,
    /// Last change.
    pub modified_on: String,
}

// ---------------------------------------------------------------------------------------------
// Account members.

/// Membership status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// The member can act in the account.
    Accepted,
    /// Invited, not yet accepted.
    Pending,
}

/// `PATCH /user` body: absent = unchanged, `null` (or `""`) = cleared.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UserEdit {
    /// First name (at most 60 characters).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    /// Last name (at most 60 characters).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    /// Country (at most 30 characters).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    /// Telephone (at most 20 characters).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub telephone: Option<Option<String>>,
    /// Zip or postal code (at most 20 characters).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub zipcode: Option<Option<String>>,
}

/// A membership's status, as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MembershipStatus {
    /// The user is in the account.
    Accepted,
    /// Invited; the user has not answered.
    Pending,
    /// Declined (only in the answer to the `PUT` that declined it: the membership is gone).
    Rejected,
}

/// The permission areas of a membership (the one Portcullis decides; see [`RolePermissions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct MembershipPermissions {
    /// Members, roles and account settings, as the user may use them now.
    pub organization: PermissionGrant,
}

/// One of the user's memberships (`/memberships`); its id is the member id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Membership {
    /// Membership identifier (the member id).
    pub id: String,
    /// The account.
    pub account: Account,
    /// Enterprise API access switch; not modelled (`null`).
    pub api_access_enabled: Option<bool>,
    /// What the user may do in the account.
    pub permissions: MembershipPermissions,
    /// Names of the legacy roles the member holds.
    pub roles: Vec<String>,
    /// Status.
    pub status: MembershipStatus,
    /// The member's own policies, expanded (single reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<Policy>>,
}

/// The answer to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MembershipAnswer {
    /// Join the account.
    Accepted,
    /// Decline the invitation (the membership is removed).
    Rejected,
}

/// `PUT /memberships/{membership_id}` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MembershipUpdate {
    /// `accepted` or `rejected`.
    pub status: MembershipAnswer,
}

/// The user inside a member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberUser {
    /// User identifier.
    pub id: String,
    /// Email address.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Whether two-factor authentication is enabled.
    pub two_factor_authentication_enabled: bool,
}

/// A legacy account role.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Role {
    /// Role identifier.
    pub id: String,
    /// Role name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Cloudflare's legacy permission map, for the areas Portcullis decides (see
    /// [`RolePermissions`]).
    pub permissions: RolePermissions,
}

/// Read and write, one area of a legacy role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct PermissionGrant {
    /// The role may read the area.
    pub read: bool,
    /// The role may change it.
    pub write: bool,
}

/// A legacy role's permission map. Cloudflare's has twelve areas (analytics, billing, dns, …);
/// Portcullis shows the one it decides, `organization` (members, roles, account settings: the
/// `#organization:read` and `#organization:edit` keys), and omits the others rather than guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct RolePermissions {
    /// Members, roles and account settings.
    pub organization: PermissionGrant,
}

/// An account member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    /// Membership identifier.
    pub id: String,
    /// The member's email.
    pub email: String,
    /// Membership status.
    pub status: MemberStatus,
    /// The user.
    pub user: MemberUser,
    /// Legacy roles.
    pub roles: Vec<Role>,
    /// Policies.
    pub policies: Vec<Policy>,
}

/// `POST /accounts/{a}/members` body: `email` and exactly one of `roles` or `policies`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MemberCreate {
    /// Email of the user to add.
    pub email: String,
    /// Legacy role ids.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Policies.
    #[serde(default)]
    pub policies: Option<Vec<PolicyInput>>,
    /// Initial status (default `pending`).
    #[serde(default)]
    pub status: Option<MemberStatus>,
}

/// A role reference in a member update: `{"id": ...}` (the SDK's shape) or a bare id.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RoleRef {
    /// `{"id": "..."}`.
    Object(IdRef),
    /// `"..."`.
    Id(String),
}

impl RoleRef {
    /// The referenced id.
    pub fn id(&self) -> &str {
        match self {
            Self::Object(r) => &r.id,
            Self::Id(id) => id,
        }
    }
}

/// `PUT /accounts/{a}/members/{m}` body: absent fields are unchanged.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MemberUpdate {
    /// Replacement roles.
    #[serde(default)]
    pub roles: Option<Vec<RoleRef>>,
    /// Replacement policies.
    #[serde(default)]
    pub policies: Option<Vec<PolicyInput>>,
    /// New status.
    #[serde(default)]
    pub status: Option<MemberStatus>,
}

// ---------------------------------------------------------------------------------------------
// API tokens.

/// Token status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    /// Usable.
    Active,
    /// Switched off.
    Disabled,
    /// Past `expires_on`.
    Expired,
}

/// A permission group reference in a token policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPolicyPermissionGroup {
    /// Identifier.
    pub id: String,
    /// Name (filled in responses, ignored in requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Token policy effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses.
    Deny,
}

/// A token policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPolicy {
    /// Policy identifier (server-assigned; ignored in requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// Permission groups from the token catalog.
    pub permission_groups: Vec<TokenPolicyPermissionGroup>,
    /// Resource keys mapped to `"*"` or to a nested map.
    #[schema(value_type = Object)]
    pub resources: Map<String, Value>,
}

/// Allowed and refused client addresses (CIDRs).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RequestIpCondition {
    /// Only these ranges may use the token.
    #[serde(rename = "in", default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// These ranges may not use the token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_in: Vec<String>,
}

/// Conditions on a token's use.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TokenCondition {
    /// Client address restrictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_ip: Option<RequestIpCondition>,
}

/// An API token (never with its value, except in [`TokenCreated`]).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Token {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: TokenStatus,
    /// Creation time.
    pub issued_on: String,
    /// Last change.
    pub modified_on: String,
    /// Last use (to the minute).
    pub last_used_on: Option<String>,
    /// Not usable before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// Not usable after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    /// Conditions.
    pub condition: TokenCondition,
    /// Policies.
    pub policies: Vec<TokenPolicy>,
}

/// A token with its secret value: only in the create response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The token.
    #[serde(flatten)]
    pub token: Token,
    /// The secret, shown once.
    pub value: String,
}

/// Token create body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TokenCreate {
    /// Name (1..120 characters).
    pub name: String,
    /// Policies (at least one).
    pub policies: Vec<TokenPolicy>,
    /// Not usable before (RFC 3339).
    #[serde(default)]
    pub not_before: Option<String>,
    /// Not usable after (RFC 3339).
    #[serde(default)]
    pub expires_on: Option<String>,
    /// Conditions.
    #[serde(default)]
    pub condition: Option<TokenCondition>,
}

/// Token update body: absent fields are unchanged, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TokenUpdate {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Replacement policies.
    #[serde(default)]
    pub policies: Option<Vec<TokenPolicy>>,
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: Option<TokenStatus>,
    /// Not usable before; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub not_before: Option<Option<String>>,
    /// Not usable after; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub expires_on: Option<Option<String>>,
    /// Conditions; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TokenCondition>)]
    pub condition: Option<Option<TokenCondition>>,
}

/// Result of a token verify.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenVerify {
    /// Token identifier.
    pub id: String,
    /// Status.
    pub status: TokenStatus,
    /// Not usable before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// Not usable after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
}

/// What `POST /__portcullis/reset` did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResetResult {
    /// Objects written (users, accounts and what each owns), after everything was deleted.
    pub objects: u64,
}

/// Health answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    pub status: String,
    /// The policy index (`/readyz` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_index: Option<PolicyIndexHealth>,
    /// The credential index (`/readyz` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_index: Option<CredentialIndexHealth>,
}

/// State of the in-memory index of verified credentials (tokens and user keys).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialIndexHealth {
    /// Entries held (only credentials that verified; unknown ones are never remembered).
    pub entries: u64,
    /// Authentications answered from memory since start.
    pub hits: u64,
    /// Authentications that read the database since start.
    pub misses: u64,
    /// Token uses (`last_used_on`) queued and not yet written.
    pub pending_uses: u64,
    /// Bytes its entries hold (estimated).
    pub bytes: u64,
    /// Its memory budget, in bytes (`--cache-memory-mb`: a quarter of it).
    pub budget_bytes: u64,
    /// Entries evicted (least recently used first) to stay within the budget, since start.
    pub evictions: u64,
}

/// State of the in-memory policy index that decisions read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyIndexHealth {
    /// Whether it is in use: false while a PostgreSQL replica cannot hear the other replicas'
    /// changes (decisions then read the database; correct, slower).
    pub live: bool,
    /// Entries held.
    pub entries: u64,
    /// Lookups answered from memory since start.
    pub hits: u64,
    /// Lookups that loaded from the database since start.
    pub misses: u64,
    /// Bytes its entries hold (estimated).
    pub bytes: u64,
    /// Its memory budget, in bytes (`--cache-memory-mb`: three quarters of it).
    pub budget_bytes: u64,
    /// Entries evicted (least recently used first) to stay within the budget, since start.
    pub evictions: u64,
}

// ---------------------------------------------------------------------------------------------
// Resource groups, user groups and their members.

/// `POST /accounts/{a}/iam/resource_groups` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ResourceGroupCreate {
    /// Name (1..120 characters).
    pub name: String,
    /// The scope: one object `{key, objects}` or a one-element list of it.
    #[schema(value_type = Scope)]
    pub scope: Value,
}

/// `PUT /accounts/{a}/iam/resource_groups/{id}` body: absent fields are unchanged.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ResourceGroupUpdate {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// The scope (object or one-element list).
    #[serde(default)]
    #[schema(value_type = Option<Scope>)]
    pub scope: Option<Value>,
}

/// A user group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserGroup {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_on: String,
    /// Last change (including membership).
    pub modified_on: String,
    /// Policies, expanded.
    pub policies: Vec<Policy>,
}

/// `POST /accounts/{a}/iam/user_groups` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UserGroupCreate {
    /// Name (1..255 characters, unique per account regardless of case).
    pub name: String,
    /// Policies (optional).
    #[serde(default)]
    pub policies: Option<Vec<PolicyInput>>,
}

/// `PUT /accounts/{a}/iam/user_groups/{id}` body: absent fields are unchanged.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UserGroupUpdate {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Replacement policies (an entry with an existing `id` keeps it).
    #[serde(default)]
    pub policies: Option<Vec<PolicyInput>>,
}

/// A member as listed in a user group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupMember {
    /// Account member identifier.
    pub id: String,
    /// Email.
    pub email: String,
    /// Membership status in the account.
    pub status: MemberStatus,
}

/// The user inside a group member's details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupMemberUser {
    /// User identifier.
    pub id: String,
    /// Email.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
}

/// One member of a user group, in detail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupMemberDetail {
    /// Account member identifier.
    pub id: String,
    /// Email.
    pub email: String,
    /// Membership status in the account.
    pub status: MemberStatus,
    /// When the member was added to the group.
    pub created_at: String,
    /// The user.
    pub user: GroupMemberUser,
}

// ---------------------------------------------------------------------------------------------
// SSO connectors.

/// Verification state of an SSO connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SsoStatus {
    /// Created without beginning verification.
    Awaiting,
    /// Waiting for the TXT record.
    Pending,
    /// Not found within the verification window.
    Failed,
    /// The TXT record was found.
    Verified,
}

/// DNS verification of an SSO connector.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SsoVerification {
    /// Publish this whole string as a TXT record on the email domain.
    pub code: String,
    /// Verification state.
    pub status: SsoStatus,
}

/// An SSO connector.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SsoConnector {
    /// Identifier.
    pub id: String,
    /// Creation time.
    pub created_on: String,
    /// Last change.
    pub updated_on: String,
    /// Email domain (lower-case; IDNA names as punycode).
    pub email_domain: String,
    /// Whether SSO is on for the domain.
    pub enabled: bool,
    /// FedRAMP wording at login.
    pub use_fedramp_language: bool,
    /// DNS verification.
    pub verification: SsoVerification,
}

/// `POST /accounts/{a}/sso_connectors` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SsoCreate {
    /// Email domain.
    pub email_domain: String,
    /// Begin verification at once (default true).
    #[serde(default)]
    pub begin_verification: Option<bool>,
    /// FedRAMP wording at login (default false).
    #[serde(default)]
    pub use_fedramp_language: Option<bool>,
}

/// `PATCH /accounts/{a}/sso_connectors/{id}` body: absent fields are unchanged.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SsoUpdate {
    /// Enable (only once verified) or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// FedRAMP wording at login.
    #[serde(default)]
    pub use_fedramp_language: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Authorization decisions (Portcullis extension; not part of Cloudflare's API).

/// Whom a decision is for: exactly one of `member_id` or `token_id`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AuthorizePrincipal {
    /// An account member.
    #[serde(default)]
    pub member_id: Option<String>,
    /// An API token (account-owned, or user-owned by a member of the account).
    #[serde(default)]
    pub token_id: Option<String>,
}

/// One check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AuthorizeCheck {
    /// A permission key (e.g. `com.cloudflare.api.account.member.read`) or a permission-group id
    /// (then every key the group grants must be allowed).
    pub permission: String,
    /// A resource key (default: the account, `com.cloudflare.api.account.<account id>`).
    #[serde(default)]
    pub resource: Option<String>,
}

/// `POST /accounts/{a}/iam/authorize` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AuthorizeRequest {
    /// Whom to decide for.
    pub principal: AuthorizePrincipal,
    /// 1 to 1,000 checks.
    pub checks: Vec<AuthorizeCheck>,
}

/// Where a policy comes from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicySourceOut {
    /// `member`, `user_group`, `role` or `token`.
    pub kind: String,
    /// The user group (kind `user_group`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_group: Option<IdName>,
    /// The legacy role (kind `role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<IdName>,
    /// The token (kind `token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

/// An id with a name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdName {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A policy that decided a check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecidedBy {
    /// Policy id (a role id for roles).
    pub policy_id: String,
    /// Allow or deny.
    pub access: Access,
    /// Where the policy comes from.
    pub source: PolicySourceOut,
}

/// The answer to one check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorizeDecision {
    /// As asked.
    pub permission: String,
    /// The resource decided on.
    pub resource: String,
    /// The verdict.
    pub allowed: bool,
    /// The policies that decided (empty on default deny).
    pub decided_by: Vec<DecidedBy>,
    /// Why.
    pub reason: String,
}

/// One effective policy of a member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectivePolicy {
    /// Policy id (a role id for roles).
    pub id: String,
    /// Allow or deny.
    pub access: Access,
    /// Where it comes from.
    pub source: PolicySourceOut,
    /// Its permission groups.
    pub permission_groups: Vec<IdName>,
    /// Its resource groups.
    pub resource_groups: Vec<IdName>,
    /// Permission keys it grants (patterns).
    pub permissions: Vec<String>,
    /// Resource keys it covers (patterns).
    pub resources: Vec<String>,
}

/// `GET /accounts/{a}/members/{m}/effective_policies` result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectivePolicies {
    /// The member.
    pub member_id: String,
    /// The member's email.
    pub email: String,
    /// Membership status (only accepted members hold permissions).
    pub status: MemberStatus,
    /// Every policy that applies, own first, then roles, then by user group.
    pub policies: Vec<EffectivePolicy>,
}

// ---------------------------------------------------------------------------------------------
// OAuth clients and the OAuth scope catalog.

/// An OAuth grant type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthGrantType {
    /// `authorization_code` (required).
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
}

/// An OAuth response type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthResponseType {
    /// `token`.
    Token,
    /// `id_token`.
    IdToken,
    /// `code`.
    Code,
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthTokenEndpointAuthMethod {
    /// No secret (a public client).
    None,
    /// HTTP Basic.
    ClientSecretBasic,
    /// In the form body.
    ClientSecretPost,
}

/// Visibility of an OAuth client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OAuthVisibility {
    /// Usable by anyone.
    Public,
    /// Only the owning account.
    Private,
}

/// The only visibility a PATCH may ask for (promotion; there is no demotion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OAuthPromotion {
    /// Promote to public.
    Public,
}

/// An OAuth client (never with its secret, except in [`OAuthClientCreated`]).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthClient {
    /// The client id.
    pub client_id: String,
    /// Visibility.
    pub visibility: OAuthVisibility,
    /// Human-readable name.
    pub client_name: String,
    /// Grant types.
    pub grant_types: Vec<OAuthGrantType>,
    /// Response types.
    pub response_types: Vec<OAuthResponseType>,
    /// Allowed redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed CORS origins.
    pub allowed_cors_origins: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Scopes the user may decline during consent (each also in `scopes`).
    pub optional_scopes: Vec<String>,
    /// Token endpoint authentication.
    pub token_endpoint_auth_method: OAuthTokenEndpointAuthMethod,
    /// Home page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Logo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Privacy policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// Terms of service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    /// Whether a previous secret is kept after a rotation, until deleted.
    pub has_rotated_secret: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// A created OAuth client, with its secret (shown once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthClientCreated {
    /// The client.
    #[serde(flatten)]
    pub client: OAuthClient,
    /// The client secret; this is the only time it is returned.
    pub client_secret: String,
}

/// `POST …/oauth_clients/{id}/rotate_secret` result: the new secret, shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthClientSecret {
    /// The new client secret.
    pub client_secret: String,
}

/// `POST /accounts/{a}/oauth_clients` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OAuthClientCreate {
    /// Name (1..255 characters).
    pub client_name: String,
    /// Grant types (`authorization_code` required).
    pub grant_types: Vec<OAuthGrantType>,
    /// Redirect URIs (at least one; `https`, or `http` on loopback; no fragment).
    pub redirect_uris: Vec<String>,
    /// Response types.
    pub response_types: Vec<OAuthResponseType>,
    /// Scopes (`GET /oauth/scopes`, or identity scopes such as `openid`).
    pub scopes: Vec<String>,
    /// Token endpoint authentication.
    pub token_endpoint_auth_method: OAuthTokenEndpointAuthMethod,
    /// CORS origins (`scheme://host[:port]`).
    #[serde(default)]
    pub allowed_cors_origins: Option<Vec<String>>,
    /// Home page.
    #[serde(default)]
    pub client_uri: Option<String>,
    /// Logo.
    #[serde(default)]
    pub logo_uri: Option<String>,
    /// Scopes the user may decline (each also in `scopes`).
    #[serde(default)]
    pub optional_scopes: Option<Vec<String>>,
    /// Privacy policy.
    #[serde(default)]
    pub policy_uri: Option<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Terms of service.
    #[serde(default)]
    pub tos_uri: Option<String>,
}

/// `PATCH /accounts/{a}/oauth_clients/{id}` body: absent fields are unchanged; `""` clears a
/// URI field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OAuthClientUpdate {
    /// Name.
    #[serde(default)]
    pub client_name: Option<String>,
    /// Grant types.
    #[serde(default)]
    pub grant_types: Option<Vec<OAuthGrantType>>,
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    /// Response types.
    #[serde(default)]
    pub response_types: Option<Vec<OAuthResponseType>>,
    /// Scopes.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Token endpoint authentication.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<OAuthTokenEndpointAuthMethod>,
    /// CORS origins.
    #[serde(default)]
    pub allowed_cors_origins: Option<Vec<String>>,
    /// Home page.
    #[serde(default)]
    pub client_uri: Option<String>,
    /// Logo.
    #[serde(default)]
    pub logo_uri: Option<String>,
    /// Optional scopes.
    #[serde(default)]
    pub optional_scopes: Option<Vec<String>>,
    /// Privacy policy.
    #[serde(default)]
    pub policy_uri: Option<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Terms of service.
    #[serde(default)]
    pub tos_uri: Option<String>,
    /// Promotion to `public` (refused: Portcullis does not verify client URI hosts).
    #[serde(default)]
    pub visibility: Option<OAuthPromotion>,
}

/// An OAuth scope a client may request (`GET /oauth/scopes`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthScope {
    /// The label to use in a client's `scopes`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// UI grouping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The resource scopes it acts on.
    pub scopes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Audit logs (v1 and v2) and the change feed.

/// v1 `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditV1Action {
    /// `create`, `update`, `delete` or `view`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it was done (false: refused).
    pub result: bool,
}

/// v1 `actor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditV1Actor {
    /// User id, or the token id of an account-owned token, or `portcullis` for the CLI.
    pub id: String,
    /// The user's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `user` (users and account tokens) or `admin` (the server's operator at its CLI).
    #[serde(rename = "type")]
    pub kind: String,
}

/// v1 `resource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditResourceRef {
    /// Resource id.
    pub id: String,
    /// Resource type (`member`, `user_group`, …).
    #[serde(rename = "type")]
    pub kind: String,
}

/// One v1 entry (`GET /accounts/{account_id}/audit_logs`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditLogV1 {
    /// Entry id.
    pub id: String,
    /// What was done.
    pub action: AuditV1Action,
    /// Who.
    pub actor: AuditV1Actor,
    /// `API`, `UI` (the admin console), `CLI` or `system`.
    pub interface: String,
    /// The request: `request_id` (the response's `cf-ray`), `method`, `uri`, `status_code`,
    /// `user_agent`, `token_id`, `token_name`, `description`.
    pub metadata: Value,
    /// The value after, as JSON text (absent after a delete).
    #[serde(rename = "newValue", skip_serializing_if = "Option::is_none")]
    pub new_value: Option<String>,
    /// The value before, as JSON text (absent before a create).
    #[serde(rename = "oldValue", skip_serializing_if = "Option::is_none")]
    pub old_value: Option<String>,
    /// The account.
    pub owner: IdRef,
    /// What it was done to.
    pub resource: AuditResourceRef,
    /// When (RFC 3339).
    pub when: String,
}

/// v2 `account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditV2Account {
    /// Account id.
    pub id: String,
    /// Its name now (absent once the account is deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// v2 `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditV2Action {
    /// In words.
    pub description: String,
    /// `success` or `failure`.
    pub result: String,
    /// When (RFC 3339).
    pub time: String,
    /// `create`, `update`, `delete` or `view`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// v2 `actor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditV2Actor {
    /// User id, or the token id of an account-owned token, or `portcullis`.
    pub id: String,
    /// `api_key` or `api_token` (absent for the CLI and the server itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The user's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// The token used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
    /// `user`, `account` (an account-owned token) or `system` (the CLI, the server itself).
    #[serde(rename = "type")]
    pub kind: String,
}

/// v2 `raw`: the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditV2Raw {
    /// The request id (the response's `cf-ray`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cf_ray_id: Option<String>,
    /// HTTP method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// HTTP status answered.
    pub status_code: u16,
    /// Path and query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The `User-Agent` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// v2 `resource`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditV2Resource {
    /// Resource id.
    pub id: String,
    /// Always `iam`.
    pub product: String,
    /// Not recorded (request bodies are not kept): always `null`.
    pub request: Option<Value>,
    /// The value after the change (`null` after a delete and for refusals).
    pub response: Option<Value>,
    /// `accounts`, `memberships` or `user`.
    pub scope: String,
    /// Resource type (`member`, `user_group`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Portcullis: the values before and after (`null` where there is none).
    pub value: AuditValues,
}

/// The values before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditValues {
    /// Before (`null` for a create).
    pub before: Option<Value>,
    /// After (`null` for a delete).
    pub after: Option<Value>,
}

/// One v2 entry (`GET /accounts/{account_id}/logs/audit`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditLogV2 {
    /// Entry id.
    pub id: String,
    /// The account.
    pub account: AuditV2Account,
    /// What was done.
    pub action: AuditV2Action,
    /// Who.
    pub actor: AuditV2Actor,
    /// The request.
    pub raw: AuditV2Raw,
    /// What it was done to.
    pub resource: AuditV2Resource,
    /// No entry is about a zone: always `null`.
    pub zone: Option<Value>,
}

/// Cursor pagination (`result_info` of v2 audit logs and the change feed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CursorInfo {
    /// Items on this page.
    pub count: u64,
    /// v2: the cursor of the next page (empty on the last page). Change feed: the cursor to
    /// pass next time (the same one when nothing is new).
    pub cursor: String,
    /// v2: `{"after": cursor}`, without `after` on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursors: Option<Cursors>,
    /// Change feed: whether more entries are already waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
}

/// The next page's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Cursors {
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// One change in the change feed (`GET /accounts/{account_id}/iam/changes`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IamChange {
    /// This change's cursor: pass it to read the changes after it.
    pub cursor: String,
    /// The audit entry's id.
    pub id: String,
    /// When (RFC 3339).
    pub time: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// What changed.
    pub resource: AuditResourceRef,
    /// Who changed it.
    pub actor: AuditV2Actor,
    /// The value before (`null` for a create).
    pub before: Option<Value>,
    /// The value after (`null` for a delete).
    pub after: Option<Value>,
}
