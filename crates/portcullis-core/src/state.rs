//! The whole stored state as one value: what `portcullis export` reads, what `import`,
//! `serve --fixtures` and the reset endpoint write. Secrets appear only as hashes.
//!
//! [`State`] is grouped as the state document is (users with their tokens; accounts with what
//! they own) and ordered deterministically (every list by id, policies and objects in written
//! order), so reading the same data twice gives equal values, whatever the backend.

use async_trait::async_trait;

use crate::error::CoreResult;
use crate::ids::{AccountId, MemberId, UserId};
use crate::model::{
    Account, ApiToken, Grants, MemberStatus, ResourceGroup, SsoConnector, User, UserGroup,
};
use crate::oauth::OAuthClient;
use crate::time::Timestamp;

/// Everything stored (or, for a partial export, the chosen accounts and their users).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// Users, by id.
    pub users: Vec<UserState>,
    /// Accounts, by id.
    pub accounts: Vec<AccountState>,
}

/// A user with their key and user-owned tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    /// The user.
    pub user: User,
    /// SHA-256 of the global API key, if the user has one.
    pub api_key_hash: Option<String>,
    /// User-owned tokens, by id.
    pub tokens: Vec<TokenState>,
}

/// A token with the hash of its value.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenState {
    /// The token.
    pub token: ApiToken,
    /// SHA-256 of its value.
    pub secret_hash: String,
}

/// An account and everything it owns.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountState {
    /// The account.
    pub account: Account,
    /// Its last change.
    pub modified_on: Timestamp,
    /// Resource groups, by id.
    pub resource_groups: Vec<ResourceGroup>,
    /// Members, by id.
    pub members: Vec<MemberState>,
    /// User groups, by id.
    pub user_groups: Vec<UserGroupState>,
    /// Account-owned tokens, by id.
    pub tokens: Vec<TokenState>,
    /// SSO connectors, by id.
    pub sso_connectors: Vec<SsoConnector>,
    /// OAuth clients, by id.
    pub oauth_clients: Vec<OAuthClientState>,
}

/// A member as stored: the user by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// Identifier.
    pub id: MemberId,
    /// The user.
    pub user_id: UserId,
    /// Status.
    pub status: MemberStatus,
    /// Roles or policies.
    pub grants: Grants,
    /// Creation time.
    pub created_on: Timestamp,
    /// Last change.
    pub modified_on: Timestamp,
}

/// A user group with its members (member id and when each was added), by member id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroupState {
    /// The group and its policies.
    pub group: UserGroup,
    /// Its members.
    pub members: Vec<(MemberId, Timestamp)>,
}

/// An OAuth client with the hashes of its secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthClientState {
    /// The client (`has_rotated_secret` agrees with `rotated_secret_hash`).
    pub client: OAuthClient,
    /// SHA-256 of the current secret.
    pub secret_hash: String,
    /// SHA-256 of the previous secret, after a rotation.
    pub rotated_secret_hash: Option<String>,
}

/// How an import treats what is stored already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Keep it: objects in the document that are stored already (same id, same content) are
    /// left alone; the others are added.
    Merge,
    /// Delete everything first, in the same transaction.
    Replace,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Objects written (users, accounts, and each object an account owns).
    pub added: usize,
    /// Objects found stored already with the same content.
    pub unchanged: usize,
}

/// Decides, inside the import's transaction, what to write given what is stored (empty after
/// a replace): the objects to insert, or an error that rolls the import back.
pub type ImportPlan<'a> = dyn Fn(&State) -> CoreResult<(State, ImportSummary)> + Send + Sync + 'a;

/// Reading and writing the whole state.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The state of `accounts` (all when `None`) and of every user who is a member of one of
    /// them or owns a token (all users when `None`), read in one transaction.
    async fn read_state(&self, accounts: Option<&[AccountId]>) -> CoreResult<State>;

    /// One transaction: with [`ImportMode::Replace`] everything is deleted first; then the
    /// stored state is read, `plan` decides what to insert, and it is inserted. Announced as
    /// [`crate::changes::Change::Everything`].
    async fn import_state(
        &self,
        mode: ImportMode,
        plan: &ImportPlan<'_>,
        audit: &crate::audit::AuditContext,
    ) -> CoreResult<ImportSummary>;
}
