//! Authentication: turning credentials into a [`Principal`]. Credentials are read from the
//! store on every request (never cached), so a rolled, deleted or disabled token and a replaced
//! key stop working at once on every replica. What a principal may do in an account is decided
//! by the services (`Portcullis::require_access`, `Portcullis::decide_request`).

use std::net::IpAddr;
use std::sync::Arc;

use crate::error::{CoreError, CoreResult, TokenRejection};
use crate::ids::AccountId;
use crate::model::{ApiToken, TokenOwner, TokenStatus, User};
use crate::secret::{hash_secret, is_token_format, verify_secret};
use crate::service::credentials::{CredentialIndex, KnownKey, KnownToken};
use crate::store::Store;
use crate::time::Timestamp;

/// Credentials as sent.
#[derive(Clone)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `X-Auth-Email` and `X-Auth-Key`.
    Key {
        /// Email.
        email: String,
        /// Global API key.
        key: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        match self {
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Self::Key { email, .. } => write!(f, "Key({email}, <redacted>)"),
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A user, through their global key (`token: None`) or a user-owned token.
    User {
        /// The user.
        user: Arc<User>,
        /// The user-owned token used, if any.
        token: Option<Arc<ApiToken>>,
    },
    /// An account-owned token.
    AccountToken {
        /// The token.
        token: Arc<ApiToken>,
        /// The account that owns it.
        account_id: AccountId,
    },
}

impl Principal {
    /// Cloudflare's actor name: `com.cloudflare.api.token.<id>` or `com.cloudflare.api.user.<id>`.
    pub fn actor(&self) -> String {
        match self {
            Self::User {
                token: Some(token), ..
            }
            | Self::AccountToken { token, .. } => format!("com.cloudflare.api.token.{}", token.id),
            Self::User { user, token: None } => format!("com.cloudflare.api.user.{}", user.id),
        }
    }

    /// The token used, if any.
    pub fn token(&self) -> Option<&ApiToken> {
        match self {
            Self::User { token, .. } => token.as_deref(),
            Self::AccountToken { token, .. } => Some(token),
        }
    }

    /// The user, unless this is an account-owned token.
    pub fn user(&self) -> Option<&User> {
        match self {
            Self::User { user, .. } => Some(user),
            Self::AccountToken { .. } => None,
        }
    }
}

/// Checks credentials and returns the principal. `client_ip` is checked against token
/// conditions. Verified credentials come from `index` while the store's token stamp is
/// unchanged (see [`crate::service::credentials`]); a token use is queued there, not written.
pub async fn authenticate(
    store: &dyn Store,
    index: &CredentialIndex,
    credentials: &Credentials,
    client_ip: Option<IpAddr>,
    now: Timestamp,
) -> CoreResult<Principal> {
    match credentials {
        Credentials::Bearer(value) => {
            if !is_token_format(value) {
                return Err(CoreError::InvalidToken(TokenRejection::Unknown));
            }
            let hash = hash_secret(value);
            let known = index
                .token(store.revisions(), &hash, || load_token(store, value, &hash))
                .await?
                .ok_or(CoreError::InvalidToken(TokenRejection::Unknown))?;
            check_token_usable(&known.token, client_ip, now)?;
            index.used(&known.token, now);
            let token = Arc::clone(&known.token);
            match (&token.owner, &known.user) {
                (TokenOwner::Account(account_id), _) => Ok(Principal::AccountToken {
                    account_id: account_id.clone(),
                    token,
                }),
                (TokenOwner::User(_), Some(user)) => Ok(Principal::User {
                    user: Arc::clone(user),
                    token: Some(token),
                }),
                (TokenOwner::User(_), None) => {
                    Err(CoreError::InvalidToken(TokenRejection::Unknown))
                }
            }
        }
        Credentials::Key { email, key } => {
            let email = email.trim().to_lowercase();
            if email.contains('\0') {
                // No stored email holds it (and PostgreSQL could not compare it).
                return Err(CoreError::InvalidKey);
            }
            let known = index
                .key(store.revisions(), &email, || load_key(store, &email))
                .await?
                .ok_or(CoreError::InvalidKey)?;
            if !verify_secret(key, &known.key_hash) {
                return Err(CoreError::InvalidKey);
            }
            Ok(Principal::User {
                user: Arc::clone(&known.user),
                token: None,
            })
        }
    }
}

/// Reads the token whose value is `value` (its hash `hash`), with its owning user.
async fn load_token(store: &dyn Store, value: &str, hash: &str) -> CoreResult<Option<KnownToken>> {
    let Some((token, stored_hash)) = store.find_token(hash).await? else {
        return Ok(None);
    };
    if !verify_secret(value, &stored_hash) {
        return Ok(None);
    }
    let user = match &token.owner {
        TokenOwner::Account(_) => None,
        // A user token whose user is gone is unknown.
        TokenOwner::User(id) => match store.get_user(id).await? {
            Some(u) => Some(Arc::new(u)),
            None => return Ok(None),
        },
    };
    Ok(Some(KnownToken {
        token: Arc::new(token),
        user,
    }))
}

/// Reads the user with this email, when it has a key.
async fn load_key(store: &dyn Store, email: &str) -> CoreResult<Option<KnownKey>> {
    Ok(store.user_credentials(email).await?.and_then(|c| {
        c.api_key_hash.map(|key_hash| KnownKey {
            user: Arc::new(c.user),
            key_hash,
        })
    }))
}

/// Refuses disabled, expired, not-yet-valid tokens and addresses outside the token's conditions.
pub fn check_token_usable(
    token: &ApiToken,
    client_ip: Option<IpAddr>,
    now: Timestamp,
) -> CoreResult<()> {
    match token.status(now) {
        TokenStatus::Disabled => return Err(TokenRejection::Disabled.into()),
        TokenStatus::Expired => return Err(TokenRejection::Expired.into()),
        TokenStatus::Active => {}
    }
    if let Some(nb) = token.not_before {
        if now < nb {
            return Err(TokenRejection::NotYetValid(nb).into());
        }
    }
    if !token.condition.is_empty() {
        let allowed = client_ip.is_some_and(|ip| token.condition.allows(ip));
        if !allowed {
            return Err(TokenRejection::Location {
                location: client_ip,
            }
            .into());
        }
    }
    Ok(())
}
