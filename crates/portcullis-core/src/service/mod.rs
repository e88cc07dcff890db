//! Use cases. [`Portcullis`] holds the store and the catalog; each submodule adds the methods of
//! one resource. Handlers call these after authentication; validation of every field happens here
//! (with the field's JSON pointer), storage happens through the [`Store`] in one transaction.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::dns::TxtResolver;
use crate::error::{CoreError, CoreResult};
use crate::store::Store;

pub mod access;
pub mod accounts;
pub mod audit;
pub mod authorize;
pub mod bootstrap;
pub mod cache;
pub mod credentials;
pub mod index;
pub mod members;
pub mod memberships;
pub mod oauth_clients;
pub mod policies;
pub mod resource_groups;
pub mod sso;
pub mod state;
pub mod tokens;
pub mod user_groups;

/// How permissions are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthzMode {
    /// Denied requests get 403/10000 naming the missing permission (the default).
    Strict,
    /// Denied requests are served, and what would have been denied is logged.
    Soft,
    /// No policy decisions: any authenticated principal of the account may act (a test double).
    Off,
}

impl AuthzMode {
    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Soft => "soft",
            Self::Off => "off",
        }
    }
}

impl std::str::FromStr for AuthzMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "strict" => Ok(Self::Strict),
            "soft" => Ok(Self::Soft),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "unknown authz mode `{other}`: expected strict, soft or off"
            )),
        }
    }
}

/// The application (cheap to clone: every part is shared): store, catalog, the DNS resolver SSO verification uses, the enforcement
/// mode and the policy index (shared by clones).
#[derive(Clone)]
pub struct Portcullis {
    store: Arc<dyn Store>,
    index: Arc<index::PolicyIndex>,
    credentials: Arc<credentials::CredentialIndex>,
    catalog: Arc<Catalog>,
    resolver: Option<Arc<dyn TxtResolver>>,
    sso: Arc<sso::SsoSettings>,
    authz: AuthzMode,
    decisions: Arc<DecisionCounts>,
}

/// How many decisions and SSO checks were made, and how they came out (for metrics; shared by
/// clones).
#[derive(Debug, Default)]
pub struct DecisionCounts {
    /// Route gate: allowed.
    pub gate_allowed: std::sync::atomic::AtomicU64,
    /// Route gate: denied (strict mode: refused with 403).
    pub gate_denied: std::sync::atomic::AtomicU64,
    /// Route gate: would have been denied, let through (soft mode).
    pub gate_would_deny: std::sync::atomic::AtomicU64,
    /// Decision API (`POST /iam/authorize`): checks allowed.
    pub api_allowed: std::sync::atomic::AtomicU64,
    /// Decision API: checks denied.
    pub api_denied: std::sync::atomic::AtomicU64,
    /// SSO verification checks that found the code.
    pub sso_verified: std::sync::atomic::AtomicU64,
    /// SSO checks that did not find it (checked again later).
    pub sso_pending: std::sync::atomic::AtomicU64,
    /// SSO checks that did not find it at the end of the window.
    pub sso_failed: std::sync::atomic::AtomicU64,
    /// SSO checks DNS did not answer (retried with backoff).
    pub sso_dns_unavailable: std::sync::atomic::AtomicU64,
}

impl Portcullis {
    /// Builds the application over a store and a catalog (no DNS resolver: SSO checks stay
    /// pending until one is given with [`Portcullis::with_resolver`]).
    pub fn new(store: Arc<dyn Store>, catalog: Arc<Catalog>) -> Self {
        Self {
            store,
            index: Arc::new(index::PolicyIndex::default()),
            credentials: Arc::new(credentials::CredentialIndex::default()),
            catalog,
            resolver: None,
            sso: Arc::new(sso::SsoSettings::default()),
            authz: AuthzMode::Strict,
            decisions: Arc::new(DecisionCounts::default()),
        }
    }

    /// The decision and SSO check counters.
    pub fn decisions(&self) -> &DecisionCounts {
        &self.decisions
    }

    /// Keeps the caches within `bytes` (estimated): three quarters for the policy index, a
    /// quarter for the credential index. Call before serving (it starts both indexes empty).
    pub fn with_cache_budget(mut self, bytes: usize) -> Self {
        self.index = Arc::new(index::PolicyIndex::new(cache::Budget::new(
            bytes - bytes / 4,
        )));
        self.credentials = Arc::new(credentials::CredentialIndex::new(cache::Budget::new(
            bytes / 4,
        )));
        self
    }

    /// Uses another enforcement mode.
    pub fn with_authz(mut self, mode: AuthzMode) -> Self {
        self.authz = mode;
        self
    }

    /// The enforcement mode.
    pub fn authz_mode(&self) -> AuthzMode {
        self.authz
    }

    /// Uses `resolver` for SSO domain verification.
    pub fn with_resolver(mut self, resolver: Arc<dyn TxtResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Uses these SSO verification settings.
    pub fn with_sso_settings(mut self, settings: sso::SsoSettings) -> Self {
        self.sso = Arc::new(settings);
        self
    }

    /// The store. Only core reaches it: other crates go through the services (and account
    /// services through the gate), so no caller outside core reads or writes storage directly.
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Whether any account exists yet (`serve` says how to create the first when none does).
    pub async fn initialized(&self) -> CoreResult<bool> {
        self.store.any_account().await
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> CoreResult<()> {
        self.store.ping().await
    }

    /// The database pools' sizes (for metrics).
    pub fn pool_stats(&self) -> Vec<crate::store::PoolStats> {
        self.store.pool_stats()
    }

    /// How long write transactions waited to begin (for metrics).
    pub fn write_waits(&self) -> crate::store::WriteWaits {
        self.store.write_waits()
    }

    /// Whether this process hears every change to what decisions read (see
    /// [`crate::changes::Revisions::is_live`]).
    pub fn is_live(&self) -> bool {
        self.store.revisions().is_live()
    }

    /// Authenticates credentials (see [`crate::auth::authenticate`]).
    pub async fn authenticate(
        &self,
        credentials: &crate::auth::Credentials,
        client_ip: Option<std::net::IpAddr>,
        now: crate::time::Timestamp,
    ) -> CoreResult<crate::auth::Principal> {
        crate::auth::authenticate(
            self.store.as_ref(),
            &self.credentials,
            credentials,
            client_ip,
            now,
        )
        .await
    }

    /// Writes the token uses queued since the last call (`last_used_on`, in one transaction);
    /// the server calls it every second and once more when it stops. Uses that fail to be
    /// written are dropped (logged by the caller): a use record is not worth a retry loop.
    pub async fn flush_token_uses(&self) -> CoreResult<usize> {
        let uses = self.credentials.take_uses();
        self.store.touch_tokens(&uses).await?;
        Ok(uses.len())
    }

    /// The credential index.
    pub fn credentials(&self) -> &credentials::CredentialIndex {
        &self.credentials
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The policy index.
    pub fn index(&self) -> &index::PolicyIndex {
        &self.index
    }
}

/// The one input rule for text that both backends must store alike: PostgreSQL cannot store
/// U+0000 in `text`, so no text field, filter or object key may contain it (SQLite could, and
/// the backends would disagree). Every other Unicode scalar value is storable in both.
/// The HTTP layer applies this to every string of every JSON body and every query value;
/// services apply it again to the fields they keep.
pub fn check_storable(pointer: &str, value: &str) -> CoreResult<()> {
    if value.contains('\0') {
        return Err(CoreError::invalid(
            pointer,
            format!("{pointer}: must not contain the NUL character (U+0000)"),
        ));
    }
    Ok(())
}

/// Checks a name's length in characters (after trimming) and returns it trimmed.
pub fn check_name(pointer: &str, value: &str, max: usize) -> CoreResult<String> {
    check_storable(pointer, value)?;
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(CoreError::invalid(
            pointer,
            format!("{pointer}: must not be empty"),
        ));
    }
    if len > max {
        return Err(CoreError::invalid(
            pointer,
            format!("{pointer}: must be at most {max} characters, got {len}"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Validates and lower-cases an email address (a pragmatic check: one `@`, a non-empty local
/// part, a dotted domain, no spaces, at most 254 characters).
pub fn check_email(pointer: &str, value: &str) -> CoreResult<String> {
    let email = value.trim().to_lowercase();
    let bad = |why: &str| {
        CoreError::invalid(
            pointer,
            format!("{pointer}: `{value}` is not a valid email address: {why}"),
        )
    };
    if email.len() > 254 {
        return Err(bad("longer than 254 characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(bad("missing `@`"));
    };
    if local.is_empty() || domain.contains('@') {
        return Err(bad("expected exactly one `@` after a non-empty local part"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains white space"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Err(bad("the domain needs at least two non-empty labels"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            check_email("/email", " A@Example.COM ").ok().as_deref(),
            Some("a@example.com")
        );
        for bad in ["", "a", "@x.com", "a@b", "a@@b.com", "a b@c.com", "a@.com"] {
            assert!(check_email("/email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nul_is_refused() {
        assert!(check_storable("/name", "a\0b").is_err());
        assert!(check_storable("/name", "ünïcødé ✓").is_ok());
        assert!(check_name("/name", "nul\0byte", 10).is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("/name", "  ", 10).is_err());
        assert!(check_name("/name", "abcdefghijk", 10).is_err());
        assert_eq!(check_name("/name", " ok ", 10).ok().as_deref(), Some("ok"));
    }
}
