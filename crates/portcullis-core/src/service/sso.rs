//! SSO connectors: email domains proven by a DNS TXT record, checked at once on request and by a
//! background verifier until found or until the verification window closes.
//!
//! States: `awaiting` (created without verification) → `pending` (a check happens at once, then
//! every `check_interval` with jitter) → `verified` (a TXT record on the domain equals the code) or
//! `failed` (a definite "not there" after the window closed). A DNS failure (SERVFAIL, timeout)
//! is not a verdict: the connector stays pending and is retried with a per-domain backoff.

use rand::Rng;

use crate::dns::DnsError;
use crate::error::{Conflict, CoreError, CoreResult};
use crate::ids::{random_hex_id, AccountId, SsoConnectorId};
use crate::model::{SsoConnector, SsoStatus};
use crate::service::access::Authorized;
use crate::service::Portcullis;
use crate::time::Timestamp;

/// SSO verification settings.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// Prefix of verification codes (`<prefix>=<32 hex>`).
    pub code_prefix: String,
    /// Seconds between background checks of one pending connector.
    pub check_interval_secs: u64,
    /// Seconds a connector may stay pending before it fails.
    pub window_secs: u64,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            code_prefix: "cloudflare_dashboard_sso".into(),
            check_interval_secs: 60,
            window_secs: 48 * 3600,
        }
    }
}

/// Longest backoff after repeated DNS failures.
const MAX_BACKOFF_SECS: u64 = 3600;

/// Validates an email domain and returns it lower-case ASCII (IDNA names become punycode).
pub fn normalize_domain(raw: &str) -> CoreResult<String> {
    let bad = |why: &str| {
        CoreError::invalid(
            "/email_domain",
            format!("/email_domain: `{raw}` is not a valid domain name: {why}"),
        )
    };
    let trimmed = raw.trim();
    // One trailing dot (the DNS root) is allowed; more would leave an empty label.
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    let ascii = idna::domain_to_ascii(trimmed).map_err(|_| bad("it is not a valid IDNA name"))?;
    if ascii.len() > 253 {
        return Err(bad("longer than 253 characters"));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("it needs at least two labels (e.g. example.com)"));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each label must have 1 to 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad("labels may hold only letters, digits and `-`"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label cannot start or end with `-`"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("the last label cannot be numeric"));
    }
    Ok(ascii)
}

/// `base` seconds with ±10 % jitter, so checks of many connectors spread out.
fn jittered(base: u64) -> i64 {
    let base = base.max(1) as f64;
    let factor = rand::thread_rng().gen_range(0.9..1.1);
    (base * factor).round() as i64
}

/// What one DNS check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The code was found.
    Verified,
    /// Not found (yet); checked again later.
    StillPending,
    /// Not found and the window is over.
    Failed,
    /// DNS did not answer; retried with backoff.
    DnsUnavailable,
}

/// `POST /accounts/{a}/sso_connectors`, as a command.
#[derive(Debug, Clone)]
pub struct SsoCreate {
    /// The domain, as given (normalized on create).
    pub email_domain: String,
    /// Check DNS at once (default true).
    pub begin_verification: Option<bool>,
    /// FedRAMP wording on the login page (default false).
    pub use_fedramp_language: Option<bool>,
}

impl Portcullis {
    pub(crate) fn sso_settings(&self) -> &SsoSettings {
        &self.sso
    }

    async fn find_sso(&self, account: &AccountId, id: &SsoConnectorId) -> CoreResult<SsoConnector> {
        self.store()
            .get_sso(account, id)
            .await?
            .ok_or_else(|| CoreError::not_found("SSO connector", id.as_str()))
    }

    /// Looks the code up now and moves `c` accordingly (does not store it); counts the outcome.
    async fn check_now(&self, c: &mut SsoConnector, now: Timestamp) -> CheckOutcome {
        let outcome = self.look_up(c, now).await;
        let counts = self.decisions();
        let counter = match outcome {
            CheckOutcome::Verified => &counts.sso_verified,
            CheckOutcome::StillPending => &counts.sso_pending,
            CheckOutcome::Failed => &counts.sso_failed,
            CheckOutcome::DnsUnavailable => &counts.sso_dns_unavailable,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        outcome
    }

    async fn look_up(&self, c: &mut SsoConnector, now: Timestamp) -> CheckOutcome {
        let settings = self.sso_settings().clone();
        let answer = match &self.resolver {
            Some(r) => r.txt(&c.email_domain).await,
            None => Err(DnsError::Unavailable("no DNS resolver configured".into())),
        };
        let window_over = c
            .pending_since
            .is_some_and(|since| now >= since.plus_seconds(settings.window_secs as i64));
        let found = match &answer {
            Ok(records) => records.iter().any(|t| t.trim() == c.code),
            Err(_) => false,
        };
        c.updated_on = now;
        if found {
            c.status = SsoStatus::Verified;
            c.next_check_at = None;
            c.dns_failures = 0;
            return CheckOutcome::Verified;
        }
        match answer {
            Err(DnsError::Unavailable(why)) => {
                tracing::warn!(domain = %c.email_domain, %why, "SSO verification: DNS unavailable; will retry");
                c.dns_failures = c.dns_failures.saturating_add(1);
                let backoff = settings
                    .check_interval_secs
                    .saturating_mul(1u64 << c.dns_failures.min(16))
                    .min(MAX_BACKOFF_SECS.max(settings.check_interval_secs));
                c.next_check_at = Some(now.plus_seconds(jittered(backoff)));
                CheckOutcome::DnsUnavailable
            }
            _ if window_over => {
                c.status = SsoStatus::Failed;
                c.next_check_at = None;
                c.dns_failures = 0;
                CheckOutcome::Failed
            }
            _ => {
                c.dns_failures = 0;
                c.next_check_at = Some(now.plus_seconds(jittered(settings.check_interval_secs)));
                CheckOutcome::StillPending
            }
        }
    }

    /// Starts (or restarts) the verification window and checks at once.
    async fn begin(&self, c: &mut SsoConnector, now: Timestamp) -> CheckOutcome {
        c.status = SsoStatus::Pending;
        c.pending_since = Some(now);
        c.dns_failures = 0;
        self.check_now(c, now).await
    }

    /// An account's SSO connectors.
    pub async fn list_sso(&self, auth: &Authorized) -> CoreResult<Vec<SsoConnector>> {
        let account = auth.account();
        self.store().list_sso(account).await
    }

    /// One SSO connector.
    pub async fn get_sso(
        &self,
        auth: &Authorized,
        id: &SsoConnectorId,
    ) -> CoreResult<SsoConnector> {
        let account = auth.account();
        self.find_sso(account, id).await
    }

    /// Creates a connector; with `begin_verification` (the default) it is checked at once.
    pub async fn create_sso(
        &self,
        auth: &Authorized,
        input: SsoCreate,
    ) -> CoreResult<SsoConnector> {
        let SsoCreate {
            email_domain,
            begin_verification,
            use_fedramp_language,
        } = input;
        let account = auth.account();
        let domain = normalize_domain(&email_domain)?;
        let now = Timestamp::now();
        let mut c = SsoConnector {
            id: SsoConnectorId::random(),
            account_id: account.clone(),
            email_domain: domain,
            enabled: false,
            use_fedramp_language: use_fedramp_language.unwrap_or(false),
            code: format!("{}={}", self.sso_settings().code_prefix, random_hex_id()),
            status: SsoStatus::Awaiting,
            pending_since: None,
            next_check_at: None,
            dns_failures: 0,
            created_on: now,
            updated_on: now,
        };
        // The duplicate check comes first: a refused create must not wait for DNS.
        if self
            .store()
            .list_sso(account)
            .await?
            .iter()
            .any(|o| o.email_domain == c.email_domain)
        {
            return Err(Conflict::SsoDomain {
                domain: c.email_domain.clone(),
                account: account.clone(),
            }
            .into());
        }
        if begin_verification.unwrap_or(true) {
            self.begin(&mut c, now).await;
        }
        self.store().create_sso(&c, &auth.audit()).await?;
        Ok(c)
    }

    /// Updates `enabled` and/or `use_fedramp_language`.
    pub async fn update_sso(
        &self,
        auth: &Authorized,
        id: &SsoConnectorId,
        enabled: Option<bool>,
        use_fedramp_language: Option<bool>,
    ) -> CoreResult<SsoConnector> {
        let account = auth.account();
        let mut c = self.find_sso(account, id).await?;
        if enabled == Some(true) && c.status != SsoStatus::Verified {
            return Err(CoreError::invalid(
                "/enabled",
                format!(
                    "/enabled: the connector for `{}` is {}; it can be enabled once its domain is verified",
                    c.email_domain,
                    c.status.as_str()
                ),
            ));
        }
        if enabled.is_none() && use_fedramp_language.is_none() {
            return Ok(c);
        }
        if let Some(e) = enabled {
            c.enabled = e;
        }
        if let Some(f) = use_fedramp_language {
            c.use_fedramp_language = f;
        }
        c.updated_on = Timestamp::now();
        if self.store().update_sso(&c, &auth.audit()).await? {
            Ok(c)
        } else {
            Err(CoreError::not_found("SSO connector", id.as_str()))
        }
    }

    /// Deletes a connector.
    pub async fn delete_sso(&self, auth: &Authorized, id: &SsoConnectorId) -> CoreResult<()> {
        let account = auth.account();
        if self.store().delete_sso(account, id, &auth.audit()).await? {
            Ok(())
        } else {
            Err(CoreError::not_found("SSO connector", id.as_str()))
        }
    }

    /// Begins (or restarts) verification: looks the TXT record up at once; `verified` when found,
    /// otherwise `pending` with a new window. A verified connector stays verified.
    pub async fn begin_sso_verification(
        &self,
        auth: &Authorized,
        id: &SsoConnectorId,
    ) -> CoreResult<(SsoConnector, CheckOutcome)> {
        let account = auth.account();
        let mut c = self.find_sso(account, id).await?;
        if c.status == SsoStatus::Verified {
            return Ok((c, CheckOutcome::Verified));
        }
        let outcome = self.begin(&mut c, Timestamp::now()).await;
        if !self.store().update_sso(&c, &auth.audit()).await? {
            return Err(CoreError::not_found("SSO connector", id.as_str()));
        }
        Ok((c, outcome))
    }

    /// One round of the background verifier: claims due connectors (leased so that other
    /// replicas skip them), checks each, records the outcome. Returns how many were checked.
    pub async fn run_sso_checks(&self, limit: u32) -> CoreResult<usize> {
        let now = Timestamp::now();
        // The lease outlives the slowest lookups (resolver timeouts are a few seconds).
        let lease = now.plus_seconds(60);
        let due = self.store().claim_sso_checks(now, lease, limit).await?;
        let count = due.len();
        for mut c in due {
            let outcome = self.check_now(&mut c, Timestamp::now()).await;
            let applied = self
                .store()
                .record_sso_check(&c, &crate::audit::AuditContext::system("sso-verifier"))
                .await?;
            tracing::info!(domain = %c.email_domain, connector = %c.id, ?outcome, applied, "SSO verification check");
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_domain;

    #[test]
    fn domains() {
        let ok = |s: &str| normalize_domain(s).ok();
        assert_eq!(ok("Example.COM").as_deref(), Some("example.com"));
        assert_eq!(ok("example.com.").as_deref(), Some("example.com"));
        assert_eq!(
            ok("bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(ok("a-b.example.org").as_deref(), Some("a-b.example.org"));
        for bad in [
            "",
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            "a_b.com",
            "exa mple.com",
            "1.2.3.4",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
