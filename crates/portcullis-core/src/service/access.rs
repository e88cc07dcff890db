//! The one authorization gate. A request that acts in an account gets an [`Authorized`] from
//! [`Portcullis::enforce`] (the HTTP route layer calls it with the route's permission key), and
//! every service method that reads or writes account data takes that value instead of a
//! principal and an account id. Its fields are private and this module is the only place that
//! builds one, so a service method cannot reach an account's data without the gate having let
//! the caller in, and the account it acts in is the one the gate checked.
//!
//! What the gate checks, by mode:
//! - always: the principal may act in the account (an accepted membership, or an account token
//!   of that account). Otherwise 403, whether or not the account exists. `--authz off` keeps
//!   this, so no mode crosses accounts;
//! - `strict` and `soft`: the route's permission key is decided by the engine; `strict` refuses
//!   (403 naming the key), `soft` serves and logs. [`Portcullis::verdict`] is the one place that
//!   tells the two apart, for this gate and for the no-escalation check alike.

use std::net::IpAddr;
use std::sync::Arc;

use crate::audit::{resource_of, AuditContext, AuditRecord, Origin};
use crate::auth::{Credentials, Principal};
use crate::error::{CoreError, CoreResult, Forbidden};
use crate::ids::AccountId;
use crate::model::MemberStatus;
use crate::service::{AuthzMode, Portcullis};
use crate::time::Timestamp;

/// What a guarded route presents at the gate: the request's credentials and address, and the
/// route's account, permission key and action (in words, for the refusal).
#[derive(Debug)]
pub struct Admission<'a> {
    /// The credentials the request carries.
    pub credentials: &'a Credentials,
    /// The client's address (token IP conditions).
    pub client_ip: Option<IpAddr>,
    /// The account the path names.
    pub account: AccountId,
    /// The route's permission key.
    pub key: &'static str,
    /// What the route does, for a refusal ("create a user group").
    pub action: &'a str,
    /// The request (for the audit log), shared with the pass.
    pub origin: Arc<Origin>,
    /// The route's path template (names the resource of a refusal's audit entry).
    pub route: &'static str,
}

/// Proof that the gate let `principal` act in `account` with `key`. Only
/// [`Portcullis::enforce`] builds one.
#[derive(Debug, Clone)]
pub struct Authorized {
    principal: Principal,
    account: AccountId,
    key: &'static str,
    origin: Arc<Origin>,
}

impl Authorized {
    /// Who is acting.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The account the gate checked: the only account the request acts in.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The permission key the gate decided.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The request the pass was given for.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Who acts, from where, now: what a write records in the audit log.
    pub fn audit(&self) -> AuditContext {
        AuditContext::new(&self.principal, &self.origin)
    }
}

impl Portcullis {
    /// Authenticates the request and passes it through the gate, in one call: the route
    /// layer's one way into core for a guarded route.
    pub async fn admit(&self, a: Admission<'_>) -> CoreResult<Authorized> {
        let principal = self
            .authenticate(a.credentials, a.client_ip, Timestamp::now())
            .await?;
        match self.check(&principal, &a.account, a.key, a.action).await {
            Ok(()) => Ok(Authorized {
                principal,
                account: a.account,
                key: a.key,
                origin: a.origin,
            }),
            // A member (or the account's own token) refused a permission: recorded in the
            // account's log. A principal outside the account is not: an outsider must not be
            // able to write into another account's log (the refusal is in the server's log).
            Err(e @ CoreError::Forbidden(Forbidden::MissingPermission { .. })) => {
                let (kind, id) = resource_of(a.route, a.origin.path());
                self.record_refusal(
                    &AuditContext::new(&principal, &a.origin),
                    &a.account,
                    kind,
                    id.as_deref(),
                )
                .await;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Records a request refused past the gate (a no-escalation rule) on the route `route`.
    pub async fn record_refused_pass(&self, pass: &Authorized, route: &'static str) {
        let (kind, id) = resource_of(route, pass.origin.path());
        self.record_refusal(&pass.audit(), &pass.account, kind, id.as_deref())
            .await;
    }

    /// Records a refused request in `account`'s audit log. A failure to record is logged,
    /// not answered: the refusal stands either way.
    pub async fn record_refusal(
        &self,
        cx: &AuditContext,
        account: &AccountId,
        resource_type: &'static str,
        resource_id: Option<&str>,
    ) {
        let record = AuditRecord::denied(cx, account, resource_type, resource_id, 403);
        if let Err(e) = self.store().record_refusal(&record).await {
            tracing::warn!(error = %e, "could not record a refused request in the audit log");
        }
    }

    /// The gate: lets `principal` act in `account` with permission `key`, or says why not.
    /// `action` words the refusal ("create a user group").
    pub async fn enforce(
        &self,
        principal: Principal,
        account: AccountId,
        key: &'static str,
        action: &str,
        origin: Origin,
    ) -> CoreResult<Authorized> {
        self.check(&principal, &account, key, action).await?;
        Ok(Authorized {
            principal,
            account,
            key,
            origin: Arc::new(origin),
        })
    }

    /// The gate's checks (see [`Self::enforce`]).
    async fn check(
        &self,
        principal: &Principal,
        account: &AccountId,
        key: &'static str,
        action: &str,
    ) -> CoreResult<()> {
        if self.authz_mode() == AuthzMode::Off {
            self.require_membership(principal, account).await?;
        } else {
            // Fails with Forbidden when the principal is not in the account at all.
            let decision = self
                .decide_keys(principal, account, &[key.to_owned()])
                .await?
                .pop()
                .ok_or_else(|| CoreError::unavailable("no decision"))?;
            let counter = match (decision.allowed, self.authz_mode()) {
                (true, _) => &self.decisions().gate_allowed,
                (false, AuthzMode::Strict) => &self.decisions().gate_denied,
                (false, _) => &self.decisions().gate_would_deny,
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if !decision.allowed {
                self.verdict(Forbidden::MissingPermission {
                    actor: principal.actor(),
                    key: key.to_owned(),
                    action: action.to_owned(),
                    reason: decision.reason,
                })?;
            }
        }
        Ok(())
    }

    /// What a refusal becomes: 403 in strict mode; a logged warning in soft mode (the request
    /// goes on). The one place the modes differ.
    pub(crate) fn verdict(&self, refusal: Forbidden) -> CoreResult<()> {
        match self.authz_mode() {
            AuthzMode::Soft | AuthzMode::Off => {
                tracing::warn!(message = %refusal, "authz soft mode: would have denied");
                Ok(())
            }
            AuthzMode::Strict => Err(refusal.into()),
        }
    }

    /// Succeeds when `principal` may act inside `account`: an account-owned token of that
    /// account, or a user with an accepted membership there. Otherwise 403, whether or not the
    /// account exists. (Reads the policy index, not the database, when it is warm.)
    async fn require_membership(
        &self,
        principal: &Principal,
        account: &AccountId,
    ) -> CoreResult<()> {
        let allowed = match principal {
            Principal::AccountToken { account_id, .. } => account_id == account,
            Principal::User { user, .. } => self
                .member_view_of(account, &user.id)
                .await?
                .is_some_and(|v| v.member.status == MemberStatus::Accepted),
        };
        if allowed {
            Ok(())
        } else {
            Err(not_a_member(principal, account))
        }
    }
}

/// The refusal for a principal outside the account (the same whether or not it exists).
pub(crate) fn not_a_member(principal: &Principal, account: &AccountId) -> CoreError {
    Forbidden::NotAMember {
        actor: principal.actor(),
        account: account.clone(),
    }
    .into()
}
