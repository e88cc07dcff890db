//! API tokens, account-owned and user-owned.

use std::sync::Arc;

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::catalog::SCOPE_USER;
use crate::error::{CoreError, CoreResult, Forbidden, TokenRejection};
use crate::ids::{is_id, AccountId, PolicyId, TokenId};
use crate::model::{
    Access, ApiToken, MemberStatus, TokenCondition, TokenOwner, TokenPolicy, TokenState,
};
use crate::page::{Page, PageRequest};
use crate::secret::{hash_secret, new_token_value};
use crate::service::access::Authorized;
use crate::service::{check_name, Portcullis};
use crate::store::NewToken;
use crate::time::Timestamp;

/// Longest token name.
pub const TOKEN_NAME_MAX: usize = 120;
/// Most resources one token policy may name (ours: keeps tokens reviewable).
pub const TOKEN_RESOURCES_MAX: usize = 1000;

/// Which tokens a request is about, and who asks.
#[derive(Debug, Clone, Copy)]
pub enum TokenScope<'a> {
    /// `/accounts/{a}/tokens`: the gate let the caller in.
    Account(&'a Authorized),
    /// `/user/tokens`: the caller's own, and the request (for the audit log).
    User(&'a Principal, &'a crate::audit::Origin),
}

impl TokenScope<'_> {
    /// Who asks.
    pub fn principal(&self) -> &Principal {
        match self {
            Self::Account(auth) => auth.principal(),
            Self::User(p, _) => p,
        }
    }

    /// Who acts, from where, now (for the audit log).
    pub fn audit(&self) -> crate::audit::AuditContext {
        match self {
            Self::Account(auth) => auth.audit(),
            Self::User(p, origin) => crate::audit::AuditContext::new(p, origin),
        }
    }
}

/// A token policy as given.
#[derive(Debug, Clone)]
pub struct TokenPolicyDraft {
    /// Allow or deny.
    pub effect: Access,
    /// Token permission-group ids.
    pub permission_groups: Vec<String>,
    /// Resource map.
    pub resources: Map<String, Value>,
}

/// Address conditions as given (CIDRs or addresses).
#[derive(Debug, Clone, Default)]
pub struct ConditionDraft {
    /// Allowed ranges.
    pub request_ip_in: Vec<String>,
    /// Refused ranges.
    pub request_ip_not_in: Vec<String>,
}

/// Token create input.
#[derive(Debug, Clone)]
pub struct TokenCreate {
    /// Name.
    pub name: String,
    /// Policies.
    pub policies: Vec<TokenPolicyDraft>,
    /// Not before (RFC 3339).
    pub not_before: Option<String>,
    /// Expires (RFC 3339).
    pub expires_on: Option<String>,
    /// Conditions.
    pub condition: Option<ConditionDraft>,
}

/// Token update input; absent = unchanged, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct TokenUpdate {
    /// Name.
    pub name: Option<String>,
    /// Replacement policies.
    pub policies: Option<Vec<TokenPolicyDraft>>,
    /// Active or disabled.
    pub state: Option<TokenState>,
    /// Not before.
    pub not_before: Option<Option<String>>,
    /// Expires.
    pub expires_on: Option<Option<String>>,
    /// Conditions.
    pub condition: Option<Option<ConditionDraft>>,
}

fn parse_time(pointer: &str, value: &str) -> CoreResult<Timestamp> {
    Timestamp::parse(value).ok_or_else(|| {
        CoreError::invalid(
            pointer,
            format!(
                "{pointer}: `{value}` is not an RFC 3339 timestamp (e.g. 2026-11-25T12:00:00Z)"
            ),
        )
    })
}

pub(crate) fn parse_cidrs(pointer: &str, values: &[String]) -> CoreResult<Vec<IpNet>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = v.trim();
            v.parse::<IpNet>()
                .or_else(|_| v.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| {
                    let p = format!("{pointer}/{i}");
                    CoreError::invalid(&p, format!("{p}: `{v}` is not an IP address or CIDR range"))
                })
        })
        .collect()
}

fn check_condition(draft: &ConditionDraft) -> CoreResult<TokenCondition> {
    Ok(TokenCondition {
        request_ip_in: parse_cidrs("/condition/request_ip/in", &draft.request_ip_in)?,
        request_ip_not_in: parse_cidrs("/condition/request_ip/not_in", &draft.request_ip_not_in)?,
    })
}

/// Whether `key` is a well-formed resource key: `com.cloudflare.<...>.<32 hex or *>`.
fn resource_key_ok(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("com.cloudflare.") else {
        return false;
    };
    let Some((kind, last)) = rest.rsplit_once('.') else {
        return false;
    };
    !kind.is_empty()
        && kind.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
        })
        && (last == "*" || is_id(last) || kind.starts_with("edge.r2.bucket") && !last.is_empty())
}

pub(crate) fn check_resources(
    pointer: &str,
    resources: &Map<String, Value>,
    depth: usize,
    count: &mut usize,
) -> CoreResult<()> {
    if resources.is_empty() {
        return Err(CoreError::invalid(
            pointer,
            format!("{pointer}: at least one resource is required"),
        ));
    }
    for (key, value) in resources {
        let p = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
        *count += 1;
        if *count > TOKEN_RESOURCES_MAX {
            return Err(CoreError::invalid(
                &p,
                format!("{p}: a policy may name at most {TOKEN_RESOURCES_MAX} resources"),
            ));
        }
        if !resource_key_ok(key) {
            return Err(CoreError::invalid(
                &p,
                format!("{p}: `{key}` is not a resource key (expected e.g. com.cloudflare.api.account.<account id> or com.cloudflare.api.account.zone.*)"),
            ));
        }
        match value {
            Value::String(s) if s == "*" => {}
            Value::Object(nested) if depth < 2 => check_resources(&p, nested, depth + 1, count)?,
            _ => {
                return Err(CoreError::invalid(
                    &p,
                    format!("{p}: must be \"*\" or an object of nested resources"),
                ))
            }
        }
    }
    Ok(())
}

pub(crate) fn account_keys(resources: &Map<String, Value>) -> Vec<&str> {
    resources
        .keys()
        .filter_map(|k| k.strip_prefix("com.cloudflare.api.account."))
        .filter(|rest| !rest.starts_with("zone."))
        .collect()
}

impl Portcullis {
    fn token_owner(scope: &TokenScope<'_>) -> CoreResult<TokenOwner> {
        match scope {
            TokenScope::Account(auth) => Ok(TokenOwner::Account(auth.account().clone())),
            TokenScope::User(principal, _) => principal
                .user()
                .map(|u| TokenOwner::User(u.id.clone()))
                .ok_or_else(|| {
                    Forbidden::UserTokensNeedAUser {
                        actor: principal.actor(),
                    }
                    .into()
                }),
        }
    }

    /// An account-owned token may hold only what its creator holds (a user-owned token is
    /// always limited by its user's permissions, so it cannot escalate). Cloudflare refuses such
    /// a token with 400/1001 "Failed common permission check against resources. (Permission
    /// group: "…")", naming a group the creator does not hold; so does Portcullis, naming the
    /// first such group in the order written, with its pointer.
    async fn ensure_token_grant(
        &self,
        scope: &TokenScope<'_>,
        policies: &[TokenPolicy],
        name: &str,
    ) -> CoreResult<()> {
        let TokenScope::Account(auth) = scope else {
            return Ok(());
        };
        for (i, policy) in policies.iter().enumerate() {
            if policy.access != Access::Allow {
                continue;
            }
            for (j, id) in policy.permission_groups.iter().enumerate() {
                let group = self
                    .catalog()
                    .token_group(id)
                    .map_or_else(|| id.clone(), |g| g.name.clone());
                let missing = self
                    .keys_not_held(auth, std::slice::from_ref(&group))
                    .await?;
                if missing.is_empty() {
                    continue;
                }
                let message = format!(
                    "Failed common permission check against resources. (Permission group: \"{group}\")"
                );
                if self.authz_mode() == super::AuthzMode::Strict {
                    return Err(CoreError::invalid(
                        format!("/policies/{i}/permission_groups/{j}"),
                        message,
                    ));
                }
                tracing::warn!(
                    token = name,
                    missing = ?missing,
                    "authz soft mode: would have denied: {message}"
                );
            }
        }
        Ok(())
    }

    fn check_token_policies(
        &self,
        owner: &TokenOwner,
        drafts: &[TokenPolicyDraft],
    ) -> CoreResult<Vec<TokenPolicy>> {
        if drafts.is_empty() {
            return Err(CoreError::invalid(
                "/policies",
                "/policies: at least one policy is required",
            ));
        }
        let mut out = Vec::with_capacity(drafts.len());
        for (i, d) in drafts.iter().enumerate() {
            let base = format!("/policies/{i}");
            if d.permission_groups.is_empty() {
                let p = format!("{base}/permission_groups");
                return Err(CoreError::invalid(
                    &p,
                    format!("{p}: at least one permission group is required"),
                ));
            }
            let mut groups: Vec<String> = Vec::new();
            for (j, id) in d.permission_groups.iter().enumerate() {
                let p = format!("{base}/permission_groups/{j}/id");
                let g = self.catalog().token_group(id).ok_or_else(|| {
                    CoreError::invalid(
                        &p,
                        format!("{p}: token permission group `{id}` does not exist"),
                    )
                })?;
                if matches!(owner, TokenOwner::Account(_))
                    && g.scopes.iter().any(|s| s == SCOPE_USER)
                {
                    return Err(CoreError::invalid(&p, format!("{p}: `{}` is a user-scoped permission group; account-owned tokens cannot hold it", g.name)));
                }
                if groups.contains(id) {
                    return Err(CoreError::invalid(
                        &p,
                        format!("{p}: permission group `{id}` is listed twice"),
                    ));
                }
                groups.push(id.clone());
            }
            let rp = format!("{base}/resources");
            check_resources(&rp, &d.resources, 0, &mut 0)?;
            if let TokenOwner::Account(account) = owner {
                for key in account_keys(&d.resources) {
                    if key != account.as_str() {
                        let p = format!("{rp}/com.cloudflare.api.account.{key}");
                        return Err(CoreError::invalid(&p, format!("{p}: an account-owned token can only name its own account ({account})")));
                    }
                }
            }
            out.push(TokenPolicy {
                id: PolicyId::random(),
                access: d.effect,
                permission_groups: groups,
                resources: d.resources.clone(),
            });
        }
        Ok(out)
    }

    /// A user-owned token may name only accounts its user can act in (an accepted membership);
    /// `com.cloudflare.api.account.*` stands for exactly those. The answer is the same whether
    /// or not a named account exists.
    async fn check_token_accounts(
        &self,
        owner: &TokenOwner,
        policies: &[TokenPolicy],
    ) -> CoreResult<()> {
        let TokenOwner::User(user) = owner else {
            return Ok(());
        };
        for (i, p) in policies.iter().enumerate() {
            for key in account_keys(&p.resources) {
                if key == "*" {
                    continue;
                }
                let ptr = format!("/policies/{i}/resources/com.cloudflare.api.account.{key}");
                let member = match AccountId::parse(key) {
                    Some(account) => self
                        .member_view_of(&account, user)
                        .await?
                        .is_some_and(|v| v.member.status == MemberStatus::Accepted),
                    None => false,
                };
                if !member {
                    return Err(CoreError::invalid(
                        &ptr,
                        format!("{ptr}: a user-owned token may name only accounts its user is an accepted member of; `{key}` is not one of them"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_validity(
        not_before: Option<Timestamp>,
        expires_on: Option<Timestamp>,
    ) -> CoreResult<()> {
        if let (Some(nb), Some(exp)) = (not_before, expires_on) {
            if exp <= nb {
                return Err(CoreError::invalid(
                    "/expires_on",
                    "/expires_on: must be later than not_before",
                ));
            }
        }
        Ok(())
    }

    /// Lists the tokens in `scope`.
    pub async fn list_tokens(
        &self,
        scope: &TokenScope<'_>,
        page: PageRequest,
    ) -> CoreResult<Page<ApiToken>> {
        let owner = Self::token_owner(scope)?;
        self.store().list_tokens(&owner, page).await
    }

    /// Creates a token; returns it with its secret value (shown only now).
    pub async fn create_token(
        &self,
        scope: &TokenScope<'_>,
        input: TokenCreate,
    ) -> CoreResult<(ApiToken, String)> {
        let owner = Self::token_owner(scope)?;
        let name = check_name("/name", &input.name, TOKEN_NAME_MAX)?;
        let policies = self.check_token_policies(&owner, &input.policies)?;
        self.check_token_accounts(&owner, &policies).await?;
        let not_before = input
            .not_before
            .as_deref()
            .map(|v| parse_time("/not_before", v))
            .transpose()?;
        let expires_on = input
            .expires_on
            .as_deref()
            .map(|v| parse_time("/expires_on", v))
            .transpose()?;
        Self::check_validity(not_before, expires_on)?;
        let condition = input
            .condition
            .as_ref()
            .map(check_condition)
            .transpose()?
            .unwrap_or_default();
        self.ensure_token_grant(scope, &policies, &name).await?;
        let now = Timestamp::now();
        let token = ApiToken {
            id: TokenId::random(),
            owner,
            name,
            state: TokenState::Active,
            issued_on: now,
            modified_on: now,
            last_used_on: None,
            not_before,
            expires_on,
            condition,
            policies,
        };
        let value = new_token_value();
        self.store()
            .create_token(
                &NewToken {
                    token: token.clone(),
                    secret_hash: hash_secret(&value),
                },
                &scope.audit(),
            )
            .await?;
        Ok((token, value))
    }

    /// One token.
    pub async fn get_token(&self, scope: &TokenScope<'_>, id: &TokenId) -> CoreResult<ApiToken> {
        let owner = Self::token_owner(scope)?;
        self.store()
            .get_token(&owner, id)
            .await?
            .ok_or_else(|| CoreError::not_found("token", id.as_str()))
    }

    /// Updates a token.
    pub async fn update_token(
        &self,
        scope: &TokenScope<'_>,
        id: &TokenId,
        input: TokenUpdate,
    ) -> CoreResult<ApiToken> {
        let owner = Self::token_owner(scope)?;
        let mut token = self
            .store()
            .get_token(&owner, id)
            .await?
            .ok_or_else(|| CoreError::not_found("token", id.as_str()))?;
        if let Some(name) = &input.name {
            token.name = check_name("/name", name, TOKEN_NAME_MAX)?;
        }
        if let Some(policies) = &input.policies {
            token.policies = self.check_token_policies(&owner, policies)?;
            self.check_token_accounts(&owner, &token.policies).await?;
            self.ensure_token_grant(scope, &token.policies, &token.name)
                .await?;
        }
        if let Some(state) = input.state {
            token.state = state;
        }
        if let Some(nb) = &input.not_before {
            token.not_before = nb
                .as_deref()
                .map(|v| parse_time("/not_before", v))
                .transpose()?;
        }
        if let Some(exp) = &input.expires_on {
            token.expires_on = exp
                .as_deref()
                .map(|v| parse_time("/expires_on", v))
                .transpose()?;
        }
        Self::check_validity(token.not_before, token.expires_on)?;
        if let Some(cond) = &input.condition {
            token.condition = cond
                .as_ref()
                .map(check_condition)
                .transpose()?
                .unwrap_or_default();
        }
        token.modified_on = Timestamp::now();
        if self.store().update_token(&token, &scope.audit()).await? {
            Ok(token)
        } else {
            Err(CoreError::not_found("token", id.as_str()))
        }
    }

    /// Deletes a token.
    pub async fn delete_token(&self, scope: &TokenScope<'_>, id: &TokenId) -> CoreResult<()> {
        let owner = Self::token_owner(scope)?;
        if self
            .store()
            .delete_token(&owner, id, &scope.audit())
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::not_found("token", id.as_str()))
        }
    }

    /// Rolls a token's secret; returns the new value. The old value stops working at once.
    pub async fn roll_token(&self, scope: &TokenScope<'_>, id: &TokenId) -> CoreResult<String> {
        let owner = Self::token_owner(scope)?;
        let value = new_token_value();
        if self
            .store()
            .roll_token(
                &owner,
                id,
                &hash_secret(&value),
                Timestamp::now(),
                &scope.audit(),
            )
            .await?
        {
            Ok(value)
        } else {
            Err(CoreError::not_found("token", id.as_str()))
        }
    }

    /// Verifies the token the request was made with: at `/accounts/{account}/tokens/verify`
    /// (`account`) or `/user/tokens/verify` (`None`). Reads no stored data.
    pub fn verify_token(
        &self,
        principal: &Principal,
        account: Option<&AccountId>,
    ) -> CoreResult<Arc<ApiToken>> {
        match (principal, account) {
            (Principal::User { token: Some(t), .. }, None) => Ok(t.clone()),
            (Principal::AccountToken { token, account_id }, Some(a)) if account_id == a => {
                Ok(token.clone())
            }
            (Principal::AccountToken { account_id, .. }, None) => {
                Err(TokenRejection::VerifyAtAccount(account_id.clone()).into())
            }
            (Principal::AccountToken { .. }, Some(_)) => Err(TokenRejection::OtherAccount.into()),
            (Principal::User { token: Some(_), .. }, Some(_)) => {
                Err(TokenRejection::VerifyAtUser.into())
            }
            (Principal::User { token: None, .. }, _) => Err(CoreError::Invalid {
                pointer: None,
                message: "verify checks an API token: send it as `Authorization: Bearer <token>` (this request used X-Auth-Key)".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys() {
        for ok in [
            "com.cloudflare.api.account.023e105f4ecef8ad9ca31a8372d0c353",
            "com.cloudflare.api.account.*",
            "com.cloudflare.api.account.zone.*",
            "com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353",
            "com.cloudflare.api.user.023e105f4ecef8ad9ca31a8372d0c353",
            "com.cloudflare.edge.r2.bucket.023e105f4ecef8ad9ca31a8372d0c353_default_my-bucket",
        ] {
            assert!(resource_key_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "*",
            "com.cloudflare.api.account.",
            "com.cloudflare.api.account.xyz",
            "org.example.a.*",
        ] {
            assert!(!resource_key_ok(bad), "{bad}");
        }
    }
}
