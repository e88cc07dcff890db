//! Domain entities. They carry no serialization: the wire crate has its own types and the HTTP
//! layer converts explicitly.

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::ids::{AccountId, MemberId, PolicyId, ResourceGroupId, TokenId, UserId};
use crate::time::Timestamp;

/// A stored enumeration value that is not one of the known ones (a corrupt or foreign row).
/// Decoding fails closed: such a row is an error, never a default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value {value:?}")]
pub struct UnknownValue {
    /// Which enumeration.
    pub kind: &'static str,
    /// The text found.
    pub value: String,
}

/// `TryFrom<&str>` for a stored enumeration, from the same table `as_str` uses.
macro_rules! stored_enum {
    ($ty:ident, $kind:literal) => {
        impl TryFrom<&str> for $ty {
            type Error = $crate::model::UnknownValue;
            fn try_from(s: &str) -> Result<Self, $crate::model::UnknownValue> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::model::UnknownValue {
                        kind: $kind,
                        value: s.to_owned(),
                    })
            }
        }
    };
}
pub(crate) use stored_enum;

/// Account type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountType {
    /// Standard.
    Standard,
    /// Enterprise.
    Enterprise,
}

stored_enum!(AccountType, "account type");

impl AccountType {
    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Standard, Self::Enterprise];

    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Enterprise => "enterprise",
        }
    }
}

/// An account: the unit of ownership and isolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Identifier.
    pub id: AccountId,
    /// Name (1..100 characters).
    pub name: String,
    /// Type.
    pub account_type: AccountType,
    /// Whether members must use two-factor authentication.
    pub enforce_twofactor: bool,
    /// Where abuse reports go.
    pub abuse_contact_email: Option<String>,
    /// Creation time.
    pub created_on: Timestamp,
}

/// A person, global across accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// Email, lower-cased; unique.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Country (`PATCH /user`).
    pub country: Option<String>,
    /// Telephone number.
    pub telephone: Option<String>,
    /// Zip or postal code.
    pub zipcode: Option<String>,
    /// Whether two-factor authentication is on.
    pub two_factor_enabled: bool,
    /// Operators may create and delete accounts.
    pub operator: bool,
    /// Creation time.
    pub created_on: Timestamp,
    /// Last change.
    pub modified_on: Timestamp,
}

/// Membership status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    /// Can act in the account.
    Accepted,
    /// Invited.
    Pending,
}

stored_enum!(MemberStatus, "member status");

impl MemberStatus {
    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Accepted, Self::Pending];

    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Pending => "pending",
        }
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Grants.
    Allow,
    /// Refuses.
    Deny,
}

stored_enum!(Access, "policy access");

impl Access {
    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Allow, Self::Deny];

    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

/// A member or user-group policy. Permission-group ids are catalog ids; resource-group ids
/// belong to the same account. Order is the order given at write time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Identifier.
    pub id: PolicyId,
    /// Allow or deny.
    pub access: Access,
    /// Catalog permission-group ids.
    pub permission_groups: Vec<String>,
    /// Resource groups of the account.
    pub resource_groups: Vec<ResourceGroupId>,
}

/// A resource group: a named scope inside one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    /// Identifier.
    pub id: ResourceGroupId,
    /// Owning account.
    pub account_id: AccountId,
    /// Name.
    pub name: String,
    /// `com.cloudflare.api.account.<account id>`.
    pub scope_key: String,
    /// Covered resource keys (`*` or typed keys).
    pub objects: Vec<String>,
    /// Creation time.
    pub created_on: Timestamp,
    /// Last change.
    pub modified_on: Timestamp,
}

/// What a member is granted by: legacy roles or policies (exactly one kind at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grants {
    /// Legacy role ids.
    Roles(Vec<String>),
    /// Policies.
    Policies(Vec<Policy>),
}

/// An account membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Identifier.
    pub id: MemberId,
    /// Account.
    pub account_id: AccountId,
    /// The user.
    pub user: User,
    /// Status.
    pub status: MemberStatus,
    /// Roles or policies.
    pub grants: Grants,
    /// Creation time.
    pub created_on: Timestamp,
}

/// Member list order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberOrder {
    /// By email (default).
    Email,
    /// By first name.
    FirstName,
    /// By last name.
    LastName,
    /// By status.
    Status,
}

/// Member list filters.
#[derive(Debug, Clone)]
pub struct MemberFilter {
    /// Only this status.
    pub status: Option<MemberStatus>,
    /// Sort key.
    pub order: MemberOrder,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// A user's membership of an account, as `/memberships` shows it (its id is the member id).
#[derive(Debug, Clone)]
pub struct Membership {
    /// The account.
    pub account: Account,
    /// The member row, with the user's grants.
    pub member: Member,
}

/// `/memberships` sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipOrder {
    /// Membership (member) id.
    Id,
    /// Account name, case-insensitive (the default).
    AccountName,
    /// Status.
    Status,
}

/// `/memberships` filters.
#[derive(Debug, Clone)]
pub struct MembershipFilter {
    /// Only accounts with this name (case-insensitive, exact).
    pub account_name: Option<String>,
    /// Only this status.
    pub status: Option<MemberStatus>,
    /// Sort key.
    pub order: MembershipOrder,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// Who owns a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    /// An account-owned token.
    Account(AccountId),
    /// A user-owned token.
    User(UserId),
}

/// Stored token status (`expired` is derived from `expires_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Usable.
    Active,
    /// Switched off.
    Disabled,
}

stored_enum!(TokenState, "token status");

impl TokenState {
    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Active, Self::Disabled];

    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// Visible token status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Usable (subject to `not_before` and conditions).
    Active,
    /// Switched off.
    Disabled,
    /// Past `expires_on`.
    Expired,
}

/// A token policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPolicy {
    /// Identifier.
    pub id: PolicyId,
    /// Allow or deny.
    pub access: Access,
    /// Token-catalog permission-group ids.
    pub permission_groups: Vec<String>,
    /// Resource keys mapped to `"*"` or nested maps, as given.
    pub resources: Map<String, Value>,
}

/// Client address conditions of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenCondition {
    /// When non-empty, only these ranges may use the token.
    pub request_ip_in: Vec<IpNet>,
    /// These ranges may not use the token.
    pub request_ip_not_in: Vec<IpNet>,
}

impl TokenCondition {
    /// Whether a client at `ip` may use the token.
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        let ip = canonical_ip(ip);
        (self.request_ip_in.is_empty() || self.request_ip_in.iter().any(|n| n.contains(&ip)))
            && !self.request_ip_not_in.iter().any(|n| n.contains(&ip))
    }

    /// Whether there is no condition at all.
    pub fn is_empty(&self) -> bool {
        self.request_ip_in.is_empty() && self.request_ip_not_in.is_empty()
    }
}

/// IPv4-mapped IPv6 addresses are compared as IPv4.
fn canonical_ip(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// An API token (its secret is never part of the entity).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    /// Identifier.
    pub id: TokenId,
    /// Owner.
    pub owner: TokenOwner,
    /// Name.
    pub name: String,
    /// Stored state.
    pub state: TokenState,
    /// Creation time.
    pub issued_on: Timestamp,
    /// Last change.
    pub modified_on: Timestamp,
    /// Last use.
    pub last_used_on: Option<Timestamp>,
    /// Not usable before.
    pub not_before: Option<Timestamp>,
    /// Not usable after.
    pub expires_on: Option<Timestamp>,
    /// Conditions.
    pub condition: TokenCondition,
    /// Policies.
    pub policies: Vec<TokenPolicy>,
}

impl ApiToken {
    /// The status as shown at `now`.
    pub fn status(&self, now: Timestamp) -> TokenStatus {
        match self.state {
            TokenState::Disabled => TokenStatus::Disabled,
            TokenState::Active if self.expires_on.is_some_and(|e| e <= now) => TokenStatus::Expired,
            TokenState::Active => TokenStatus::Active,
        }
    }
}

/// A user group: named policies that apply to every member in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    /// Identifier.
    pub id: crate::ids::UserGroupId,
    /// Owning account.
    pub account_id: AccountId,
    /// Name (unique per account, case-insensitively).
    pub name: String,
    /// Policies, in the order written.
    pub policies: Vec<Policy>,
    /// Creation time.
    pub created_on: Timestamp,
    /// Last change, including membership changes.
    pub modified_on: Timestamp,
}

/// User group list filters.
#[derive(Debug, Clone, Default)]
pub struct UserGroupFilter {
    /// Only this id.
    pub id: Option<String>,
    /// Only this name (case-insensitive).
    pub name: Option<String>,
    /// Only names containing this (case-insensitive).
    pub fuzzy_name: Option<String>,
    /// Descending by name.
    pub descending: bool,
}

/// A member as seen from a user group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Account member id.
    pub member_id: MemberId,
    /// The user.
    pub user: User,
    /// Membership status in the account.
    pub status: MemberStatus,
    /// When the member was added to the group.
    pub added_on: Timestamp,
}

/// User-group member list filters.
#[derive(Debug, Clone, Default)]
pub struct GroupMemberFilter {
    /// Only emails containing this (case-insensitive).
    pub fuzzy_email: Option<String>,
    /// Descending by email.
    pub descending: bool,
}

/// Who holds a policy (for messages naming the users of a resource group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyHolder {
    /// An account member, by id and email.
    Member(MemberId, String),
    /// A user group, by id and name.
    UserGroup(crate::ids::UserGroupId, String),
}

/// Outcome of changing a resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceGroupUpdate {
    /// Changed.
    Updated,
    /// No such resource group in the account.
    NotFound,
    /// Refused, nothing changed: these policy holders use the group with these permission
    /// groups (ids), which its new objects would not fit.
    Incompatible(Vec<(PolicyHolder, String)>),
}

/// Outcome of deleting a resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceGroupDeletion {
    /// Deleted.
    Deleted,
    /// No such resource group in the account.
    NotFound,
    /// Still used by these policy holders; nothing was deleted.
    InUse(Vec<PolicyHolder>),
}

/// Verification state of an SSO connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoStatus {
    /// Created without beginning verification.
    Awaiting,
    /// Waiting for the TXT record; checked in the background.
    Pending,
    /// The TXT record was found.
    Verified,
    /// Not found within the verification window.
    Failed,
}

stored_enum!(SsoStatus, "SSO connector status");

impl SsoStatus {
    /// Every value.
    pub const ALL: &'static [Self] = &[Self::Awaiting, Self::Pending, Self::Verified, Self::Failed];

    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Awaiting => "awaiting",
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Failed => "failed",
        }
    }
}

/// An SSO connector: an email domain whose ownership an account proves with a DNS TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConnector {
    /// Identifier.
    pub id: crate::ids::SsoConnectorId,
    /// Owning account.
    pub account_id: AccountId,
    /// The email domain, lower-case ASCII (IDNA names as punycode).
    pub email_domain: String,
    /// Whether SSO is on for the domain (only when verified).
    pub enabled: bool,
    /// FedRAMP wording at login.
    pub use_fedramp_language: bool,
    /// The TXT record value that proves ownership.
    pub code: String,
    /// Verification state.
    pub status: SsoStatus,
    /// When the current verification window began (pending only).
    pub pending_since: Option<Timestamp>,
    /// When the background verifier should look next (pending only).
    pub next_check_at: Option<Timestamp>,
    /// Consecutive DNS failures (SERVFAIL, timeouts) since the last answer, for backoff.
    pub dns_failures: u32,
    /// Creation time.
    pub created_on: Timestamp,
    /// Last change.
    pub updated_on: Timestamp,
}
