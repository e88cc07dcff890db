//! Authentication: turning credentials into a [`Principal`]. Credentials are read from the
//! store on every request (never cached), so a rolled, deleted or disabled token and a replaced
//! key stop working at once on every replica. What a principal may do in an account is decided
//! by the services (`Portcullis::require_access`, `Portcullis::decide_request`).

use std::net::IpAddr;

use crate::error::{CoreError, CoreResult, TokenRejection};
use crate::ids::AccountId;
use crate::model::{ApiToken, TokenOwner, TokenStatus, User};
use crate::secret::{hash_secret, is_token_format, verify_secret};
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
        user: User,
        /// The user-owned token used, if any.
        token: Option<ApiToken>,
    },
    /// An account-owned token.
    AccountToken {
        /// The token.
        token: ApiToken,
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
            Self::User { token, .. } => token.as_ref(),
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

/// Records a token use at most once a minute, so reads do not turn into writes.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// Checks credentials and returns the principal. `client_ip` is checked against token conditions.
pub async fn authenticate(
    store: &dyn Store,
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
            let Some((token, stored_hash)) = store.find_token(&hash).await? else {
                return Err(CoreError::InvalidToken(TokenRejection::Unknown));
            };
            if !verify_secret(value, &stored_hash) {
                return Err(CoreError::InvalidToken(TokenRejection::Unknown));
            }
            check_token_usable(&token, client_ip, now)?;
            if token
                .last_used_on
                .is_none_or(|t| t.plus_seconds(TOUCH_INTERVAL_SECONDS) <= now)
            {
                store.touch_token(&token.id, now).await?;
            }
            match token.owner.clone() {
                TokenOwner::Account(account_id) => {
                    Ok(Principal::AccountToken { token, account_id })
                }
                TokenOwner::User(user_id) => {
                    let user = store
                        .get_user(&user_id)
                        .await?
                        .ok_or_else(|| CoreError::InvalidToken(TokenRejection::Unknown))?;
                    Ok(Principal::User {
                        user,
                        token: Some(token),
                    })
                }
            }
        }
        Credentials::Key { email, key } => {
            let email = email.trim().to_lowercase();
            if email.contains('\0') {
                // No stored email holds it (and PostgreSQL could not compare it).
                return Err(CoreError::InvalidKey);
            }
            let creds = store
                .user_credentials(&email)
                .await?
                .ok_or(CoreError::InvalidKey)?;
            let hash = creds.api_key_hash.ok_or(CoreError::InvalidKey)?;
            if !verify_secret(key, &hash) {
                return Err(CoreError::InvalidKey);
            }
            Ok(Principal::User {
                user: creds.user,
                token: None,
            })
        }
    }
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
