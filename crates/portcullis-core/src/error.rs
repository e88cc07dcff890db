//! The domain's error type. Each variant carries what happened as data; the sentences a client
//! reads are composed here (`Display`), and the HTTP layer maps each variant to one row of the
//! error catalog without looking at text.

use crate::ids::{AccountId, ResourceGroupId, UserGroupId};
use crate::time::Timestamp;

/// What went wrong, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A field is invalid; `pointer` is the JSON pointer (or query/path name) of the field.
    #[error("{message}")]
    Invalid {
        /// Pointer to the offending field, when there is one.
        pointer: Option<String>,
        /// Which field and why.
        message: String,
    },
    /// A permission group and a resource group that cannot be combined.
    #[error(transparent)]
    InvalidCombination(Box<Incompatible>),
    /// The object does not exist (in this account).
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of object.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A uniqueness rule was broken.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// Authenticated but not allowed.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The token is not usable (unknown, disabled, expired, not yet valid, refused address).
    #[error(transparent)]
    InvalidToken(#[from] TokenRejection),
    /// Unknown email and key pair.
    #[error("unknown X-Auth-Key or X-Auth-Email")]
    InvalidKey,
    /// The store failed; for logs only (the source chain is kept).
    #[error("storage failure")]
    Unavailable(#[from] StorageError),
    /// Stored data that cannot be read (an unknown enumeration value, unparsable JSON, a
    /// malformed address). Fails closed: the request that needed it fails (500, logged) and
    /// nothing is granted from it. What it says is for logs only.
    #[error("stored data cannot be read: {0}")]
    Corrupt(#[from] Corrupt),
}

/// Stored data that cannot be read, said precisely enough to find the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corrupt {
    /// An enumeration column holds a value no variant has.
    #[error(transparent)]
    Value(#[from] crate::model::UnknownValue),
    /// A column's content does not decode.
    #[error("{table} {id}: {column} {problem}")]
    Column {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: String,
        /// The column.
        column: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A row must name exactly one owner and names none or both.
    #[error("{table}{}: exactly one of {first} and {second} must be set", id.as_deref().map(|i| format!(" {i}")).unwrap_or_default())]
    OneOf {
        /// The table.
        table: &'static str,
        /// The row's id, when the query read it.
        id: Option<String>,
        /// One owner column.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
}

impl Corrupt {
    /// A column that does not decode.
    pub fn column(
        table: &'static str,
        id: impl Into<String>,
        column: &'static str,
        problem: impl Into<String>,
    ) -> Self {
        Self::Column {
            table,
            id: id.into(),
            column,
            problem: problem.into(),
        }
    }
}

/// A permission group paired with a resource group it cannot scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incompatible {
    /// A policy names the pair.
    #[error(
        "{pointer}: permission group `{}` ({}, scope {scope}) cannot be used with resource group `{}` ({}): {}",
        permission_group.name, permission_group.id, resource_group.name, resource_group.id,
        scope_rule(scope)
    )]
    InPolicy {
        /// The policy's pointer in the request.
        pointer: String,
        /// The permission group.
        permission_group: Named,
        /// Its scope (`account`, `zone`, `user`).
        scope: String,
        /// The resource group.
        resource_group: Named,
    },
    /// A resource group's new scope would not fit policies that use it.
    #[error(
        "/scope: resource group {group} is used by policies its new objects would not fit: {}; change those policies first",
        uses.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    ScopeInUse {
        /// The resource group being changed.
        group: ResourceGroupId,
        /// The policies that would no longer fit.
        uses: Vec<ScopeUse>,
    },
}

impl Incompatible {
    /// The JSON pointer of the offending field.
    pub fn pointer(&self) -> &str {
        match self {
            Self::InPolicy { pointer, .. } => pointer,
            Self::ScopeInUse { .. } => "/scope",
        }
    }
}

fn scope_rule(scope: &str) -> &'static str {
    match scope {
        crate::catalog::SCOPE_USER => {
            "user-scoped permission groups cannot be granted in an account"
        }
        crate::catalog::SCOPE_ZONE => {
            "zone-scoped permission groups need a resource group whose objects are zones or `*`"
        }
        _ => "account-scoped permission groups need a resource group covering the whole account (`*`)",
    }
}

/// An object named in a message: its name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: String,
}

/// A policy that uses a resource group, with the permission group it pairs it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("permission group `{}` ({}) in a policy of {holder}", permission_group.name, permission_group.id)]
pub struct ScopeUse {
    /// The member or user group holding the policy, in words.
    pub holder: String,
    /// The permission group.
    pub permission_group: Named,
}

/// A uniqueness rule, broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// User-group names are unique in an account, regardless of case.
    #[error("{}", user_group_name(name, id.as_ref(), account))]
    UserGroupName {
        /// The name asked for.
        name: String,
        /// The group that holds it, when known.
        id: Option<UserGroupId>,
        /// The account.
        account: AccountId,
    },
    /// A user is a member of an account at most once.
    #[error("`{email}` is already a member of account {account}")]
    MemberEmail {
        /// The member's email.
        email: String,
        /// The account.
        account: AccountId,
    },
    /// One connector per domain per account.
    #[error("account {account} already has an SSO connector for `{domain}`")]
    SsoDomain {
        /// The domain.
        domain: String,
        /// The account.
        account: AccountId,
    },
    /// A domain is enabled in one account at a time.
    #[error("SSO for `{domain}` is already enabled in another account; disable it there first")]
    SsoEnabledElsewhere {
        /// The domain.
        domain: String,
    },
    /// `bootstrap` on a database that already has accounts.
    #[error("the database is already initialized (an account exists); pass --force-new-account to add another account")]
    AlreadyInitialized,
    /// Two secrets hashed alike (never seen in practice); the client may retry.
    #[error("token secret collision; retry")]
    SecretCollision,
}

fn user_group_name(name: &str, id: Option<&UserGroupId>, account: &AccountId) -> String {
    match id {
        Some(id) => format!(
            "a user group named `{name}` ({id}) already exists in account {account}; names are unique regardless of case"
        ),
        None => format!(
            "a user group named `{name}` already exists in account {account}; names are unique regardless of case"
        ),
    }
}

/// Why an authenticated caller may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    /// The caller cannot act in the account (not an accepted member, or another account's
    /// token); the same whether or not the account exists.
    #[error("Actor '{actor}' is not a member of account '{account}'")]
    NotAMember {
        /// Cloudflare's actor name.
        actor: String,
        /// The account.
        account: AccountId,
    },
    /// The route's permission key is not held.
    #[error("Actor '{actor}' requires permission '{key}' to {action}: {reason}")]
    MissingPermission {
        /// Cloudflare's actor name.
        actor: String,
        /// The key.
        key: String,
        /// What the caller tried, in words ("create a user group").
        action: String,
        /// The decision's reason.
        reason: String,
    },
    /// The change would grant keys the caller does not hold.
    #[error(
        "Actor '{actor}' cannot grant permissions it does not hold: {what} would grant {}",
        quoted(keys)
    )]
    Escalation {
        /// Cloudflare's actor name.
        actor: String,
        /// What would grant them ("token `x`", "user group `y`").
        what: String,
        /// The keys not held.
        keys: Vec<String>,
    },
    /// Only operators create or delete accounts (or reset a server to its fixtures).
    #[error("Actor '{actor}' is not an operator: only operators may {action}")]
    NotOperator {
        /// Cloudflare's actor name.
        actor: String,
        /// What was refused (`create or delete accounts`, `reset the server to its fixtures`).
        action: &'static str,
    },
    /// Operator power comes with the operator's key, not a token.
    #[error("Actor '{actor}' is a user-owned token: to {action}, use the operator's own API key (X-Auth-Email and X-Auth-Key)")]
    OperatorNeedsKey {
        /// Cloudflare's actor name.
        actor: String,
        /// What was refused.
        action: &'static str,
    },
    /// `/user…` routes are for users.
    #[error("Actor '{actor}' is an account-owned token; user endpoints need a user's API key or a user-owned token")]
    NotAUser {
        /// Cloudflare's actor name.
        actor: String,
    },
    /// User-owned tokens belong to users.
    #[error("Actor '{actor}' is an account-owned token; user tokens belong to users")]
    UserTokensNeedAUser {
        /// Cloudflare's actor name.
        actor: String,
    },
    /// `/memberships` are a user's; an account-owned token has no user (Cloudflare: 400/9106).
    #[error("Actor '{actor}' is an account-owned token: it has no user, so no memberships; use a user's API key or a user-owned token")]
    MembershipsNeedAUser {
        /// Cloudflare's actor name.
        actor: String,
    },
}

fn quoted(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Malformed, unknown, or its user is gone: the catalog's plain `Invalid API Token`.
    #[error("Invalid API Token")]
    Unknown,
    /// Switched off.
    #[error("the token is disabled")]
    Disabled,
    /// Past `expires_on`.
    #[error("the token has expired")]
    Expired,
    /// Before `not_before`.
    #[error("the token is not valid before {0}")]
    NotYetValid(Timestamp),
    /// The request's address is outside the token's conditions (`None`: no address known).
    #[error("Cannot use the access token from location: {}", location.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()))]
    Location {
        /// The client's address.
        location: Option<std::net::IpAddr>,
    },
    /// Deleted while the request that used it was in flight.
    #[error("the token was deleted")]
    Deleted,
    /// An account-owned token at `/user/tokens/verify`.
    #[error("this is an account-owned token; verify it at /accounts/{0}/tokens/verify")]
    VerifyAtAccount(AccountId),
    /// An account token verified under another account.
    #[error("this token belongs to another account")]
    OtherAccount,
    /// A user-owned token at `/accounts/{a}/tokens/verify`.
    #[error("this is a user-owned token; verify it at /user/tokens/verify")]
    VerifyAtUser,
}

/// A storage failure, with its cause kept for the log.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct StorageError {
    /// What was being done.
    pub context: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StorageError {
    /// A failure with no underlying error (an invariant the store broke).
    pub fn new(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            source: None,
        }
    }

    /// A failure caused by `source`.
    pub fn caused_by(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl CoreError {
    /// A validation error on one field.
    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            pointer: Some(pointer.into()),
            message: message.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// A storage failure with no underlying error (an invariant the store broke).
    pub fn unavailable(context: impl Into<String>) -> Self {
        Self::Unavailable(StorageError::new(context))
    }

    /// The whole cause chain, for the log: `outer: inner: …`.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(e) = source {
            out.push_str(": ");
            out.push_str(&e.to_string());
            source = e.source();
        }
        out
    }
}

impl From<Incompatible> for CoreError {
    fn from(e: Incompatible) -> Self {
        Self::InvalidCombination(Box::new(e))
    }
}

impl From<crate::model::UnknownValue> for CoreError {
    fn from(e: crate::model::UnknownValue) -> Self {
        Self::Corrupt(e.into())
    }
}

/// Shorthand.
pub type CoreResult<T> = Result<T, CoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_chain_reaches_the_log() {
        let io = std::io::Error::other("connection reset");
        let e = CoreError::from(StorageError::caused_by("reading members", io));
        assert_eq!(
            e.chain(),
            "storage failure: reading members: connection reset"
        );
    }
}
