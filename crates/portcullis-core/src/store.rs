//! The storage boundary. Services see only these traits; each adapter (SQLite now, PostgreSQL
//! next) implements them. Every method that writes runs as one transaction inside the adapter, so
//! a failed write leaves nothing behind. Adapters map constraint violations to
//! [`CoreError::Conflict`]/[`CoreError::NotFound`] and everything else to
//! [`CoreError::Unavailable`]; no database type crosses this boundary.
//!
//! [`CoreError::Conflict`]: crate::CoreError::Conflict
//! [`CoreError::NotFound`]: crate::CoreError::NotFound
//! [`CoreError::Unavailable`]: crate::CoreError::Unavailable

use async_trait::async_trait;

use crate::audit::AuditContext;
use crate::error::{CoreError, CoreResult};
use crate::ids::{
    AccountId, MemberId, ResourceGroupId, SsoConnectorId, TokenId, UserGroupId, UserId,
};
use crate::model::{
    Account, ApiToken, Grants, GroupMember, GroupMemberFilter, Member, MemberFilter, MemberStatus,
    Membership, MembershipFilter, Policy, ResourceGroup, ResourceGroupDeletion,
    ResourceGroupUpdate, SsoConnector, TokenOwner, User, UserGroup, UserGroupFilter,
};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

/// A new member to insert; the user is created when no user has this email.
#[derive(Debug, Clone)]
pub struct NewMember {
    /// Membership id.
    pub id: MemberId,
    /// Id to give the user if it has to be created.
    pub new_user_id: UserId,
    /// Lower-cased email.
    pub email: String,
    /// Status.
    pub status: MemberStatus,
    /// Roles or policies (already validated against the catalog).
    pub grants: Grants,
    /// Resource groups the policies' inline scopes create, inserted in the same transaction.
    pub new_resource_groups: Vec<ResourceGroup>,
    /// Now.
    pub now: Timestamp,
}

/// Changes to a member; `None` = unchanged.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges {
    /// New status.
    pub status: Option<MemberStatus>,
    /// New roles or policies.
    pub grants: Option<Grants>,
    /// A role the account must keep at least one accepted holder of (if it has one now).
    pub keep_role: Option<KeepRole>,
    /// Resource groups the new policies' inline scopes create, inserted in the same
    /// transaction.
    pub new_resource_groups: Vec<ResourceGroup>,
}

/// A role an account must not lose its last accepted holder of; checked inside the write's
/// transaction (with the account row locked), so concurrent changes cannot both pass.
#[derive(Debug, Clone)]
pub struct KeepRole {
    /// Role id.
    pub id: String,
    /// Role name, for the message.
    pub name: String,
}

impl KeepRole {
    /// The rule, decided from the facts the store counted under the lock: accepted holders of
    /// the role before and after the change. An account that had a holder must keep one.
    pub fn check(
        &self,
        before: i64,
        after: i64,
        member: &crate::ids::MemberId,
        account: &AccountId,
    ) -> CoreResult<()> {
        if before > 0 && after == 0 {
            return Err(CoreError::Invalid {
                pointer: None,
                message: format!(
                    "member {member} is the last accepted {} of account {account}; add another before removing or demoting this one",
                    self.name
                ),
            });
        }
        Ok(())
    }
}

/// Changes to an account; `None` = unchanged.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// New name.
    pub name: Option<String>,
    /// New type.
    pub account_type: Option<crate::model::AccountType>,
    /// New two-factor setting.
    pub enforce_twofactor: Option<bool>,
    /// New abuse contact (`Some(None)` clears).
    pub abuse_contact_email: Option<Option<String>>,
}

/// A token to insert, with the hash of its secret.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The token.
    pub token: ApiToken,
    /// SHA-256 of the secret value.
    pub secret_hash: String,
}

/// A user's global API key, or `None` when the user has none.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The user.
    pub user: User,
    /// SHA-256 of the key.
    pub api_key_hash: Option<String>,
}

/// Everything `portcullis bootstrap` creates, written in one transaction.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The account.
    pub account: Account,
    /// The user (operator) with their key hash.
    pub user: User,
    /// SHA-256 of the user's API key.
    pub api_key_hash: String,
    /// Their Super Administrator membership.
    pub member: NewMember,
    /// The account-owned full-access token.
    pub token: NewToken,
    /// Refuse if any account already exists.
    pub require_empty: bool,
}

/// Accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Inserts an account and, when given, its first member (one transaction).
    async fn create_account(
        &self,
        account: &Account,
        owner: Option<&NewMember>,
        audit: &AuditContext,
    ) -> CoreResult<()>;
    /// One account.
    async fn get_account(&self, id: &AccountId) -> CoreResult<Option<Account>>;
    /// Accounts where `user` is an accepted member (all accounts when `None`), optionally by name.
    async fn list_accounts(
        &self,
        member_user: Option<&UserId>,
        name: Option<&str>,
        descending: bool,
        page: PageRequest,
    ) -> CoreResult<Page<Account>>;
    /// Applies changes; `None` when the account does not exist.
    async fn update_account(
        &self,
        id: &AccountId,
        changes: &AccountChanges,
        audit: &AuditContext,
    ) -> CoreResult<Option<Account>>;
    /// Deletes an account and everything in it; false when it did not exist.
    async fn delete_account(&self, id: &AccountId, audit: &AuditContext) -> CoreResult<bool>;
    /// Whether any account exists.
    async fn any_account(&self) -> CoreResult<bool>;
    /// Writes everything `portcullis bootstrap` creates.
    async fn bootstrap(&self, plan: &Bootstrap, audit: &AuditContext) -> CoreResult<()>;
}

/// Users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// One user.
    async fn get_user(&self, id: &UserId) -> CoreResult<Option<User>>;
    /// A user and their key hash, by (lower-cased) email.
    async fn user_credentials(&self, email: &str) -> CoreResult<Option<UserCredentials>>;
    /// Creates the user if missing and sets their API key hash (and operator flag when
    /// `Some(true)`); returns the user.
    async fn set_user_key(
        &self,
        new_user_id: &UserId,
        email: &str,
        api_key_hash: &str,
        make_operator: bool,
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<User>;
    /// Applies profile changes (`PATCH /user`); `None` when the user does not exist.
    async fn update_user_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<Option<User>>;
}

/// `PATCH /user` changes, validated: per field, `None` = unchanged, `Some(None)` = cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// First name.
    pub first_name: Option<Option<String>>,
    /// Last name.
    pub last_name: Option<Option<String>>,
    /// Country.
    pub country: Option<Option<String>>,
    /// Telephone.
    pub telephone: Option<Option<String>>,
    /// Zip code.
    pub zipcode: Option<Option<String>>,
}

/// Account members.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Inserts a member (creating the user when needed). Conflict if the user is already a
    /// member of the account; NotFound if a policy names a resource group not in the account.
    async fn create_member(
        &self,
        account: &AccountId,
        member: &NewMember,
        audit: &AuditContext,
    ) -> CoreResult<Member>;
    /// One member.
    async fn get_member(&self, account: &AccountId, id: &MemberId) -> CoreResult<Option<Member>>;
    /// The membership of `user` in `account`.
    async fn member_of(&self, account: &AccountId, user: &UserId) -> CoreResult<Option<Member>>;
    /// A page of members.
    async fn list_members(
        &self,
        account: &AccountId,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> CoreResult<Page<Member>>;
    /// Applies changes; `None` when the member does not exist.
    async fn update_member(
        &self,
        account: &AccountId,
        id: &MemberId,
        changes: &MemberChanges,
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<Option<Member>>;
    /// Removes a member (and their group memberships); false when absent. Refused (Invalid) when
    /// it would remove the last accepted holder of `keep_role`.
    async fn delete_member(
        &self,
        account: &AccountId,
        id: &MemberId,
        keep_role: Option<&KeepRole>,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// Accepted members of the account holding the given legacy role.
    async fn count_accepted_with_role(&self, account: &AccountId, role: &str) -> CoreResult<u64>;
    /// A page of `user`'s memberships, in every account (each statement filters by the user;
    /// the members are then read account by account).
    async fn list_memberships(
        &self,
        user: &UserId,
        filter: &MembershipFilter,
        page: PageRequest,
    ) -> CoreResult<Page<Membership>>;
    /// One of `user`'s memberships; `None` when it is not theirs or does not exist.
    async fn get_membership(&self, user: &UserId, id: &MemberId) -> CoreResult<Option<Membership>>;
}

/// Resource groups.
#[async_trait]
pub trait ResourceGroupStore: Send + Sync {
    /// The given resource groups of an account that exist, in no particular order.
    async fn get_resource_groups(
        &self,
        account: &AccountId,
        ids: &[ResourceGroupId],
    ) -> CoreResult<Vec<ResourceGroup>>;
    /// All resource groups of an account (optionally one id or one exact name), by name then id.
    async fn list_resource_groups(
        &self,
        account: &AccountId,
        id: Option<&str>,
        name: Option<&str>,
    ) -> CoreResult<Vec<ResourceGroup>>;
    /// Inserts a resource group.
    async fn create_resource_group(
        &self,
        group: &ResourceGroup,
        audit: &AuditContext,
    ) -> CoreResult<()>;
    /// Replaces name, scope and objects. Refused, with nothing written, when a policy using the
    /// group holds one of the `incompatible` permission groups (ids): checked inside the write's
    /// transaction, so a policy committed just before is seen.
    async fn update_resource_group(
        &self,
        group: &ResourceGroup,
        incompatible: &[String],
        audit: &AuditContext,
    ) -> CoreResult<ResourceGroupUpdate>;
    /// Deletes a resource group unless a policy still uses it.
    async fn delete_resource_group(
        &self,
        account: &AccountId,
        id: &ResourceGroupId,
        audit: &AuditContext,
    ) -> CoreResult<ResourceGroupDeletion>;
}

/// User groups and their members.
#[async_trait]
pub trait UserGroupStore: Send + Sync {
    /// A page of user groups.
    async fn list_user_groups(
        &self,
        account: &AccountId,
        filter: &UserGroupFilter,
        page: PageRequest,
    ) -> CoreResult<Page<UserGroup>>;
    /// One user group.
    async fn get_user_group(
        &self,
        account: &AccountId,
        id: &UserGroupId,
    ) -> CoreResult<Option<UserGroup>>;
    /// Inserts a user group with its policies. Conflict when the name is taken.
    async fn create_user_group(
        &self,
        group: &UserGroup,
        new_resource_groups: &[ResourceGroup],
        audit: &AuditContext,
    ) -> CoreResult<()>;
    /// Changes name and/or replaces policies; `None` when absent. Conflict when the name is taken.
    // Each argument is one part of the change; a struct for them would be used once.
    #[allow(clippy::too_many_arguments)]
    async fn update_user_group(
        &self,
        account: &AccountId,
        id: &UserGroupId,
        name: Option<&str>,
        policies: Option<&[Policy]>,
        new_resource_groups: &[ResourceGroup],
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<Option<UserGroup>>;
    /// The ids of the user groups `member` belongs to (the policy index resolves their parts).
    async fn user_group_ids_of_member(
        &self,
        account: &AccountId,
        member: &MemberId,
    ) -> CoreResult<Vec<UserGroupId>>;
    /// Deletes a user group and its memberships; false when absent.
    async fn delete_user_group(
        &self,
        account: &AccountId,
        id: &UserGroupId,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// A page of a group's members; `None` when the group does not exist.
    async fn list_group_members(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        filter: &GroupMemberFilter,
        page: PageRequest,
    ) -> CoreResult<Option<Page<GroupMember>>>;
    /// One member of a group (`None` when not in it). NotFound when the group does not exist.
    async fn get_group_member(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        member: &MemberId,
    ) -> CoreResult<Option<GroupMember>>;
    /// Adds members (already present ones are kept); returns the named members. All or nothing:
    /// NotFound for the group or for the first id that is not a member of the account.
    async fn add_group_members(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        members: &[MemberId],
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<Vec<GroupMember>>;
    /// Replaces the set of members; returns the new set (by email then id). All or nothing.
    async fn replace_group_members(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        members: &[MemberId],
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<Vec<GroupMember>>;
    /// Removes one member; `None` when the member was not in the group. NotFound for the group.
    async fn remove_group_member(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        member: &MemberId,
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<Option<GroupMember>>;
}

/// SSO connectors and the claims of the background verifier.
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// An account's connectors, by domain.
    async fn list_sso(&self, account: &AccountId) -> CoreResult<Vec<SsoConnector>>;
    /// One connector.
    async fn get_sso(
        &self,
        account: &AccountId,
        id: &SsoConnectorId,
    ) -> CoreResult<Option<SsoConnector>>;
    /// Inserts a connector. Conflict when the account already has the domain.
    async fn create_sso(&self, connector: &SsoConnector, audit: &AuditContext) -> CoreResult<()>;
    /// Replaces a connector's mutable fields; false when absent. Conflict when enabling a domain
    /// another connector has enabled.
    async fn update_sso(&self, connector: &SsoConnector, audit: &AuditContext) -> CoreResult<bool>;
    /// Deletes a connector; false when absent.
    async fn delete_sso(
        &self,
        account: &AccountId,
        id: &SsoConnectorId,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// Claims up to `limit` pending connectors due for a check at `now`, leasing them until
    /// `lease_until` so that no other replica checks them meanwhile.
    async fn claim_sso_checks(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<SsoConnector>>;
    /// Records a check's outcome and releases the lease, only if the connector is still pending
    /// with the same code (a concurrent begin, update or delete wins). True when applied.
    async fn record_sso_check(
        &self,
        connector: &SsoConnector,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
}

/// API tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Inserts a token.
    async fn create_token(&self, token: &NewToken, audit: &AuditContext) -> CoreResult<()>;
    /// One token of an owner.
    async fn get_token(&self, owner: &TokenOwner, id: &TokenId) -> CoreResult<Option<ApiToken>>;
    /// A page of an owner's tokens, by name then id.
    async fn list_tokens(
        &self,
        owner: &TokenOwner,
        page: PageRequest,
    ) -> CoreResult<Page<ApiToken>>;
    /// Replaces a token's editable fields (name, state, validity, condition, policies).
    async fn update_token(&self, token: &ApiToken, audit: &AuditContext) -> CoreResult<bool>;
    /// Deletes a token; false when absent.
    async fn delete_token(
        &self,
        owner: &TokenOwner,
        id: &TokenId,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// Replaces the secret hash; false when absent.
    async fn roll_token(
        &self,
        owner: &TokenOwner,
        id: &TokenId,
        secret_hash: &str,
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// Token `id` if it may act in `account`: an account-owned token of that account, or a
    /// user-owned token whose user is a member there (any status; callers check it).
    async fn token_in(&self, account: &AccountId, id: &TokenId) -> CoreResult<Option<ApiToken>>;
    /// The token whose secret hashes to `secret_hash`, with that stored hash.
    async fn find_token(&self, secret_hash: &str) -> CoreResult<Option<(ApiToken, String)>>;
    /// Records uses (`last_used_on`), in one transaction; a token that no longer exists is
    /// skipped. Records no change: a use changes nothing a cache derives.
    async fn touch_tokens(&self, uses: &[(TokenId, Timestamp)]) -> CoreResult<()>;
}

/// One connection pool's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Which pool (`read`, `write`, `main`).
    pub name: &'static str,
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: usize,
}

/// How long write transactions waited to begin, in total since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteWaits {
    /// Write transactions begun.
    pub count: u64,
    /// Microseconds they waited, summed.
    pub micros: u64,
}

/// The whole store.
#[async_trait]
pub trait Store:
    AccountStore
    + UserStore
    + MemberStore
    + ResourceGroupStore
    + UserGroupStore
    + SsoStore
    + TokenStore
    + OAuthClientStore
    + crate::state::StateStore
    + AuditStore
    + Send
    + Sync
{
    /// Whether the database answers.
    async fn ping(&self) -> CoreResult<()>;

    /// The connection pools' sizes, for metrics.
    fn pool_stats(&self) -> Vec<PoolStats>;

    /// Time write transactions waited to begin (the writer connection on SQLite, a pool
    /// connection on PostgreSQL, and the database's `BEGIN`), for metrics.
    fn write_waits(&self) -> WriteWaits;

    /// The change revisions of this store's data (see [`crate::changes`]): every write that
    /// changes an account's policies records [`crate::changes::Change::Account`] once
    /// committed, every token write (update, delete, roll) [`crate::changes::Change::Tokens`],
    /// here and in every other process serving the same database.
    fn revisions(&self) -> &crate::changes::Revisions;
}

/// OAuth clients. Secrets are stored only as SHA-256 hashes: the current one and, after a
/// rotation, the previous one until it is deleted. No write here records a [`Change`]: no
/// authorization decision and no cached credential is derived from OAuth clients (see
/// `service/oauth_clients.rs`).
///
/// [`Change`]: crate::changes::Change
#[async_trait]
pub trait OAuthClientStore: Send + Sync {
    /// An account's OAuth clients, by name then id.
    async fn list_oauth_clients(
        &self,
        account: &AccountId,
    ) -> CoreResult<Vec<crate::oauth::OAuthClient>>;
    /// One OAuth client.
    async fn get_oauth_client(
        &self,
        account: &AccountId,
        id: &crate::ids::OAuthClientId,
    ) -> CoreResult<Option<crate::oauth::OAuthClient>>;
    /// Inserts a client with the hash of its secret.
    async fn create_oauth_client(
        &self,
        client: &crate::oauth::OAuthClient,
        secret_hash: &str,
        audit: &AuditContext,
    ) -> CoreResult<()>;
    /// Replaces a client's editable fields and `updated_on`; false when absent.
    async fn update_oauth_client(
        &self,
        client: &crate::oauth::OAuthClient,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// Deletes a client (and its secret hashes); false when absent.
    async fn delete_oauth_client(
        &self,
        account: &AccountId,
        id: &crate::ids::OAuthClientId,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// Keeps the current secret hash as the rotated one and stores `new_hash` as current, only
    /// when the client has no rotated secret; false (nothing written) when absent or when it
    /// already has one.
    async fn rotate_oauth_client_secret(
        &self,
        account: &AccountId,
        id: &crate::ids::OAuthClientId,
        new_hash: &str,
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// Forgets the rotated secret hash; false (nothing written) when absent or when there is none.
    async fn delete_oauth_rotated_secret(
        &self,
        account: &AccountId,
        id: &crate::ids::OAuthClientId,
        now: Timestamp,
        audit: &AuditContext,
    ) -> CoreResult<bool>;
    /// The stored secret hashes of a client: (current, rotated).
    async fn oauth_client_secret_hashes(
        &self,
        account: &AccountId,
        id: &crate::ids::OAuthClientId,
    ) -> CoreResult<Option<(String, Option<String>)>>;
}

/// The audit log (see [`crate::audit`]). Entries of changes are written by the write methods
/// themselves, in their transactions; this trait writes refusals and reads.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Records a refused request (its own statement: nothing else was written).
    async fn record_refusal(&self, record: &crate::audit::AuditRecord) -> CoreResult<()>;
    /// Entries of `account` matching `query`.
    async fn list_audit(
        &self,
        account: &AccountId,
        query: &crate::audit::AuditQuery,
    ) -> CoreResult<crate::audit::AuditEntries>;
    /// A user's own entries matching `query`: their changes to themselves (profile, own
    /// tokens) and to their own memberships (accept, reject, leave).
    async fn list_user_audit(
        &self,
        user: &UserId,
        query: &crate::audit::AuditQuery,
    ) -> CoreResult<crate::audit::AuditEntries>;
    /// Deletes entries older than `before`, at most `limit` of them; returns how many.
    async fn prune_audit(&self, before: Timestamp, limit: u32) -> CoreResult<u64>;
}
