//! Authorization decisions: the effective policies of a member or token, and decisions for
//! (permission, resource) checks, made by the pure engine in `portcullis-authz`.
//!
//! - A member's policies: their own (roles count as a policy granting the permission group of
//!   the same name on the whole account) plus those of every user group they are in. Only
//!   accepted members hold permissions.
//! - An account-owned token: its own policies. A user-owned token: what its policies allow AND
//!   what its user (as a member of the account) may do.
//! - Permission groups grant permission keys (`data/permission_keys.json`); resource groups cover
//!   resource keys (`*` the whole account, `prefix.*` every key with that prefix, else exact).
//! - Default deny; a matching deny beats every allow.

use std::sync::Arc;

use portcullis_authz::{Effect, PermissionPattern, Reason, ResourcePattern};
use serde_json::Value;

use crate::auth::{check_token_usable, Principal};
use crate::changes::Dep;
use crate::error::{CoreError, CoreResult, Forbidden, TokenRejection};
use crate::ids::{AccountId, MemberId, ResourceGroupId, TokenId, UserGroupId, UserId};
use crate::model::{Access, ApiToken, Grants, Member, MemberStatus, Policy, TokenOwner};
use crate::service::access::{not_a_member, Authorized};
use crate::service::index::{Layer, LayerKind, Loaded, MemberView, Part, TokenView};
use crate::service::Portcullis;
use crate::time::Timestamp;

/// Most checks in one decision request.
pub const MAX_CHECKS: usize = 1000;

/// Where an effective policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The member's own policy.
    Member,
    /// A policy of a user group the member is in.
    UserGroup {
        /// The group.
        id: UserGroupId,
        /// Its name.
        name: String,
    },
    /// A legacy role of the member.
    Role {
        /// Role id.
        id: String,
        /// Role name.
        name: String,
    },
    /// A policy of the token.
    Token {
        /// The token.
        id: TokenId,
    },
}

/// One policy as the engine sees it, with where it came from.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {
    /// Policy id (for roles: the role id).
    pub id: String,
    /// Allow or deny.
    pub access: Access,
    /// Where it comes from.
    pub source: PolicySource,
    /// Its permission groups `(id, name)`.
    pub permission_groups: Vec<(String, String)>,
    /// Its resource groups `(id, name)` (empty for roles and tokens).
    pub resource_groups: Vec<(String, String)>,
    /// Permission keys it grants (patterns).
    pub permissions: Vec<String>,
    /// Resource keys it covers (patterns).
    pub resources: Vec<String>,
}

impl EffectivePolicy {
    /// The policy as the engine runs it.
    pub fn engine(&self) -> portcullis_authz::Policy {
        portcullis_authz::Policy {
            id: self.id.clone(),
            effect: match self.access {
                Access::Allow => Effect::Allow,
                Access::Deny => Effect::Deny,
            },
            permissions: self
                .permissions
                .iter()
                .map(|p| PermissionPattern::parse(p))
                .collect(),
            resources: self
                .resources
                .iter()
                .map(|r| ResourcePattern::parse(r))
                .collect(),
        }
    }
}

/// Who a decision is for.
#[derive(Debug, Clone)]
pub enum Subject {
    /// An account member.
    Member(MemberId),
    /// An API token (account-owned, or user-owned by a member).
    Token(TokenId),
}

/// One check of a decision request.
#[derive(Debug, Clone)]
pub struct Check {
    /// A permission key, or a permission-group id (all its keys must be allowed).
    pub permission: String,
    /// A resource key; the account itself when absent.
    pub resource: Option<String>,
}

/// A policy that decided a check.
#[derive(Debug, Clone)]
pub struct DecidedBy {
    /// Policy id.
    pub policy_id: String,
    /// Allow or deny.
    pub access: Access,
    /// Where it comes from.
    pub source: PolicySource,
}

/// The answer to one check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// As asked.
    pub permission: String,
    /// As decided (the account key when none was given).
    pub resource: String,
    /// The verdict.
    pub allowed: bool,
    /// The policies that decided (matching denies when denied by policy, else matching allows).
    pub decided_by: Vec<DecidedBy>,
    /// Why, in words.
    pub reason: String,
}

/// A resource key inside one account: the account's own key, a key under it
/// (`com.cloudflare.api.account.<id>.…`), or an object of a type kept in accounts
/// (`com.cloudflare.api.account.<type>.…`, e.g. `…account.zone.<zone id>`). Only [`confine`]
/// builds one, and the engine is only ever asked about these: so a policy's whole-account
/// pattern (`*`, as roles and whole-account grants compile) means "anything in this account",
/// never anything in another.
#[derive(Debug, Clone, Copy)]
pub struct InAccount<'a>(&'a str);

impl InAccount<'_> {
    /// The key.
    pub fn as_str(&self) -> &str {
        self.0
    }
}

/// Confines `resource` to `account`, or says why it lies outside: another account's key or
/// anything under it, an account wildcard, or a key outside the account namespace.
pub fn confine<'a>(account: &AccountId, resource: &'a str) -> Result<InAccount<'a>, String> {
    let outside = |why: &str| {
        Err(format!(
            "`{resource}` is outside account {account} ({why}); decisions cover only the account in the path"
        ))
    };
    let Some(rest) = resource.strip_prefix("com.cloudflare.api.account.") else {
        return outside("not an account resource");
    };
    let (first, more) = match rest.split_once('.') {
        Some((first, more)) => (first, Some(more)),
        None => (rest, None),
    };
    if first == account.as_str() {
        return Ok(InAccount(resource));
    }
    let is_type = !first.is_empty()
        && !crate::ids::is_id(first)
        && first.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    match more {
        Some(more) if is_type && !more.is_empty() => Ok(InAccount(resource)),
        _ => outside("another account"),
    }
}

fn union(into: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// Resource patterns a token policy's `resources` map covers inside `account`.
fn token_resources(account: &AccountId, resources: &serde_json::Map<String, Value>) -> Vec<String> {
    let own = format!("com.cloudflare.api.account.{account}");
    let mut out = Vec::new();
    for (key, value) in resources {
        let whole_account = *key == own || key == "com.cloudflare.api.account.*";
        match value {
            Value::String(s) if s == "*" && whole_account => union(&mut out, ["*".to_owned()]),
            Value::Object(nested) if whole_account => {
                union(&mut out, nested.keys().cloned());
            }
            _ if key.starts_with("com.cloudflare.api.account.zone.") => {
                union(&mut out, [key.clone()]);
            }
            _ => {}
        }
    }
    out
}

/// The resource groups `policies` use, as index dependencies.
fn resource_group_deps(account: &AccountId, policies: &[Policy]) -> Vec<Dep> {
    policies
        .iter()
        .flat_map(|p| p.resource_groups.iter())
        .map(|g| Dep::resource_group(account, g))
        .collect()
}

impl Portcullis {
    fn grants_of(&self, group_name: &str) -> Vec<String> {
        self.catalog().grants(group_name).to_vec()
    }

    /// Expands stored policies (each with its source) for the engine: permission groups to the
    /// keys they grant, resource groups (read in one query for all) to their objects.
    async fn expand_for_engine(
        &self,
        account: &AccountId,
        sets: Vec<(PolicySource, Vec<Policy>)>,
    ) -> CoreResult<Vec<EffectivePolicy>> {
        let ids: Vec<ResourceGroupId> = sets
            .iter()
            .flat_map(|(_, ps)| ps.iter().flat_map(|p| p.resource_groups.iter().cloned()))
            .collect();
        let groups = if ids.is_empty() {
            Vec::new()
        } else {
            self.store().get_resource_groups(account, &ids).await?
        };
        let mut out = Vec::new();
        for (source, policies) in sets {
            for p in policies {
                let mut permissions = Vec::new();
                let mut pgs = Vec::new();
                for id in &p.permission_groups {
                    let name = self
                        .catalog()
                        .policy_group(id)
                        .map_or_else(|| id.clone(), |g| g.name);
                    union(&mut permissions, self.grants_of(&name));
                    pgs.push((id.clone(), name));
                }
                let mut resources = Vec::new();
                let mut rgs = Vec::new();
                for id in &p.resource_groups {
                    if let Some(g) = groups.iter().find(|g| &g.id == id) {
                        union(&mut resources, g.objects.iter().cloned());
                        rgs.push((g.id.to_string(), g.name.clone()));
                    }
                }
                out.push(EffectivePolicy {
                    id: p.id.to_string(),
                    access: p.access,
                    source: source.clone(),
                    permission_groups: pgs,
                    resource_groups: rgs,
                    permissions,
                    resources,
                });
            }
        }
        Ok(out)
    }

    /// A legacy role as one policy: what its namesake permission group grants, everywhere.
    fn role_policy(&self, id: &str) -> EffectivePolicy {
        let name = self
            .catalog()
            .role(id)
            .map_or_else(|| id.to_owned(), |r| r.name.clone());
        let group = self
            .catalog()
            .member_groups()
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(&name))
            .map(|g| (g.id.clone(), g.name.clone()));
        EffectivePolicy {
            id: id.to_owned(),
            access: Access::Allow,
            source: PolicySource::Role {
                id: id.to_owned(),
                name: name.clone(),
            },
            permission_groups: group.into_iter().collect(),
            resource_groups: Vec::new(),
            permissions: self.grants_of(&name),
            resources: vec!["*".into()],
        }
    }

    /// A member's own parts (its policies, or one shared part per role) and the resource groups
    /// they use (for the policy index: a change to one of them makes the entry stale).
    async fn own_parts(
        &self,
        account: &AccountId,
        member: &Member,
    ) -> CoreResult<Loaded<Vec<Arc<Part>>>> {
        Ok(match &member.grants {
            // A role's part comes from the catalog alone: one per role, shared by every holder.
            Grants::Roles(ids) => (
                ids.iter()
                    .map(|id| self.index().role_part(id, || self.role_policy(id)))
                    .collect(),
                Vec::new(),
            ),
            Grants::Policies(p) => {
                let deps = resource_group_deps(account, p);
                let own = self
                    .expand_for_engine(account, vec![(PolicySource::Member, p.clone())])
                    .await?;
                (vec![Arc::new(Part::new(own))], deps)
            }
        })
    }

    /// The compiled part of user group `id`, shared by its members (from the policy index). A
    /// group deleted since a member's entry was read has no policies.
    async fn group_part(&self, account: &AccountId, id: &UserGroupId) -> CoreResult<Arc<Part>> {
        self.index()
            .group_part(self.store().revisions(), account, id, || async {
                let Some(group) = self.store().get_user_group(account, id).await? else {
                    return Ok((
                        Arc::new(Part::of_group(id.clone(), "", Vec::new())),
                        Vec::new(),
                    ));
                };
                let deps = resource_group_deps(account, &group.policies);
                let source = PolicySource::UserGroup {
                    id: group.id.clone(),
                    name: group.name.clone(),
                };
                let policies = self
                    .expand_for_engine(account, vec![(source, group.policies)])
                    .await?;
                Ok((
                    Arc::new(Part::of_group(group.id, &group.name, policies)),
                    deps,
                ))
            })
            .await
    }

    /// A member's layer: its own parts, then its user groups' current parts, by name.
    async fn member_layer(&self, account: &AccountId, view: &MemberView) -> CoreResult<Arc<Layer>> {
        let mut groups = Vec::with_capacity(view.groups.len());
        for id in &view.groups {
            groups.push(self.group_part(account, id).await?);
        }
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        let parts = view.own.iter().cloned().chain(groups).collect();
        Ok(Arc::new(Layer::of_parts(LayerKind::Member, parts)))
    }

    fn token_policies(&self, account: &AccountId, token: &ApiToken) -> Vec<EffectivePolicy> {
        token
            .policies
            .iter()
            .map(|p| {
                let mut permissions = Vec::new();
                let mut pgs = Vec::new();
                for id in &p.permission_groups {
                    let name = self
                        .catalog()
                        .token_group(id)
                        .map_or_else(|| id.clone(), |g| g.name.clone());
                    union(&mut permissions, self.grants_of(&name));
                    pgs.push((id.clone(), name));
                }
                EffectivePolicy {
                    id: p.id.to_string(),
                    access: p.access,
                    source: PolicySource::Token {
                        id: token.id.clone(),
                    },
                    permission_groups: pgs,
                    resource_groups: Vec::new(),
                    permissions,
                    resources: token_resources(account, &p.resources),
                }
            })
            .collect()
    }

    /// `GET /accounts/{a}/members/{m}/effective_policies`.
    pub async fn effective_policies(
        &self,
        auth: &Authorized,
        member: &MemberId,
    ) -> CoreResult<(Member, Vec<EffectivePolicy>)> {
        let account = auth.account();
        let view = self
            .member_view(account, member)
            .await?
            .ok_or_else(|| CoreError::not_found("member", member.as_str()))?;
        let layer = self.member_layer(account, &view).await?;
        Ok((view.member.clone(), layer.policies().cloned().collect()))
    }

    async fn view_of(
        &self,
        account: &AccountId,
        m: Option<Member>,
    ) -> CoreResult<Option<Loaded<Arc<MemberView>>>> {
        let Some(m) = m else { return Ok(None) };
        let (own, deps) = self.own_parts(account, &m).await?;
        let groups = self
            .store()
            .user_group_ids_of_member(account, &m.id)
            .await?;
        Ok(Some((
            Arc::new(MemberView {
                member: m,
                own,
                groups,
            }),
            deps,
        )))
    }

    /// `user`'s membership of `account` with its effective policies (from the policy index).
    pub async fn member_view_of(
        &self,
        account: &AccountId,
        user: &UserId,
    ) -> CoreResult<Option<Arc<MemberView>>> {
        self.index()
            .member_of(self.store().revisions(), account, user, || async {
                let m = self.store().member_of(account, user).await?;
                self.view_of(account, m).await
            })
            .await
    }

    /// Membership `id` of `account` with its effective policies (from the policy index).
    pub async fn member_view(
        &self,
        account: &AccountId,
        id: &MemberId,
    ) -> CoreResult<Option<Arc<MemberView>>> {
        self.index()
            .member(self.store().revisions(), account, id, || async {
                let m = self.store().get_member(account, id).await?;
                self.view_of(account, m).await
            })
            .await
    }

    fn token_view(&self, account: &AccountId, token: ApiToken) -> Arc<TokenView> {
        let policies = self.token_policies(account, &token);
        Arc::new(TokenView {
            token,
            layer: Arc::new(Layer::new(LayerKind::Token, policies)),
        })
    }

    /// Token `id` with its policies in `account` (from the policy index). `seen`: the
    /// `modified_on` of a copy the caller already holds; an entry of another version is not used.
    /// On a miss the token is always read again, after the index's stamp: a copy read earlier
    /// (as authentication does) may predate a write that committed since, and must not be
    /// remembered as current.
    async fn token_view_by_id(
        &self,
        account: &AccountId,
        id: &TokenId,
        seen: Option<Timestamp>,
    ) -> CoreResult<Option<Arc<TokenView>>> {
        self.index()
            .token(self.store().revisions(), account, id, seen, || async {
                let t = self.store().token_in(account, id).await?;
                Ok(t.map(|t| self.token_view(account, t)))
            })
            .await
    }

    /// The policies of a token the caller just authenticated with.
    async fn token_layer(&self, account: &AccountId, token: &ApiToken) -> CoreResult<Arc<Layer>> {
        let view = self
            .token_view_by_id(account, &token.id, Some(token.modified_on))
            .await?
            // Deleted since it authenticated this request: it holds nothing any more.
            .ok_or(CoreError::InvalidToken(TokenRejection::Deleted))?;
        Ok(Arc::clone(&view.layer))
    }

    /// Expands a check's permission into keys (a group id becomes the keys it grants).
    fn check_keys(&self, i: usize, permission: &str) -> CoreResult<Vec<String>> {
        if let Some(group) = self.catalog().policy_group(permission) {
            let keys = self.grants_of(&group.name);
            if keys.is_empty() {
                let p = format!("/checks/{i}/permission");
                return Err(CoreError::invalid(
                    &p,
                    format!(
                        "{p}: permission group `{}` grants no permission that Portcullis decides",
                        group.name
                    ),
                ));
            }
            return Ok(keys);
        }
        if self.catalog().is_permission_key(permission) {
            return Ok(vec![permission.to_owned()]);
        }
        let p = format!("/checks/{i}/permission");
        Err(CoreError::invalid(&p, format!("{p}: `{permission}` is neither a permission key Portcullis decides nor a permission group id")))
    }

    /// The policy layers that must all allow for `subject` (a user-owned token: its user's and
    /// its own), and a reason that blocks everything (pending member, unusable token).
    async fn layers_for(
        &self,
        account: &AccountId,
        subject: &Subject,
    ) -> CoreResult<(Vec<Arc<Layer>>, Option<String>)> {
        let mut layers: Vec<Arc<Layer>> = Vec::new();
        let mut blocked: Option<String> = None;
        match subject {
            Subject::Member(id) => {
                let m = self
                    .member_view(account, id)
                    .await?
                    .ok_or_else(|| CoreError::not_found("member", id.as_str()))?;
                if m.member.status != MemberStatus::Accepted {
                    blocked = Some(format!(
                        "member {id} has not accepted membership (status pending)"
                    ));
                }
                layers.push(self.member_layer(account, &m).await?);
            }
            Subject::Token(id) => {
                let view = self
                    .token_view_by_id(account, id, None)
                    .await?
                    .ok_or_else(|| CoreError::not_found("token", id.as_str()))?;
                let t = &view.token;
                match &t.owner {
                    TokenOwner::Account(a) if a == account => {}
                    TokenOwner::Account(_) => {
                        return Err(CoreError::not_found("token", id.as_str()))
                    }
                    TokenOwner::User(user) => {
                        let m = self
                            .member_view_of(account, user)
                            .await?
                            .ok_or_else(|| CoreError::not_found("token", id.as_str()))?;
                        if m.member.status != MemberStatus::Accepted {
                            blocked = Some(format!(
                                "the token's user has not accepted membership of account {account}"
                            ));
                        }
                        layers.push(self.member_layer(account, &m).await?);
                    }
                }
                // Address conditions are checked when a token is used; a decision has no address.
                if t.condition.is_empty() {
                    if let Err(e) = check_token_usable(t, None, Timestamp::now()) {
                        blocked = Some(format!("token {id} cannot be used: {e}"));
                    }
                }
                layers.push(Arc::clone(&view.layer));
            }
        }
        Ok((layers, blocked))
    }

    /// Decides checks whose permissions are already expanded to keys.
    fn evaluate(
        account: &AccountId,
        layers: &[Arc<Layer>],
        blocked: Option<&str>,
        checks: &[(Check, Vec<String>)],
    ) -> Vec<CheckResult> {
        let account_key = format!("com.cloudflare.api.account.{account}");
        let mut out = Vec::with_capacity(checks.len());
        for (check, keys) in checks {
            let resource = check
                .resource
                .clone()
                .unwrap_or_else(|| account_key.clone());
            let confined = match confine(account, &resource) {
                Ok(r) => r,
                Err(why) => {
                    out.push(CheckResult {
                        permission: check.permission.clone(),
                        resource: resource.clone(),
                        allowed: false,
                        decided_by: Vec::new(),
                        reason: why,
                    });
                    continue;
                }
            };
            let mut allowed = blocked.is_none();
            // (layer, policy) positions of the policies that matched.
            let mut decided: Vec<(usize, usize)> = Vec::new();
            let mut reasons: Vec<String> = blocked.iter().map(|b| (*b).to_owned()).collect();
            for key in keys {
                for (l, layer) in layers.iter().enumerate() {
                    let d = layer.decide(key, confined.as_str());
                    decided.extend(d.decided_by.iter().map(|&p| (l, p)));
                    if d.effect != Effect::Allow {
                        allowed = false;
                        let by = match layer.kind {
                            LayerKind::Token => "the token's policies",
                            LayerKind::Member => "the member's policies",
                        };
                        reasons.push(match d.reason {
                            Reason::ExplicitDeny => {
                                format!("`{key}` on `{resource}` is denied by {by}")
                            }
                            _ => format!("no policy of {by} allows `{key}` on `{resource}`"),
                        });
                    }
                }
            }
            decided.sort_unstable();
            decided.dedup();
            let decided_by = decided
                .iter()
                .filter_map(|&(l, p)| layers.get(l)?.policy(p))
                .filter(|p| allowed == (p.access == Access::Allow))
                .map(|p| DecidedBy {
                    policy_id: p.id.clone(),
                    access: p.access,
                    source: p.source.clone(),
                })
                .collect();
            let reason = if allowed {
                format!(
                    "allowed: every key ({}) is allowed on `{resource}` and no deny matches",
                    keys.join(", ")
                )
            } else {
                reasons.join("; ")
            };
            out.push(CheckResult {
                permission: check.permission.clone(),
                resource,
                allowed,
                decided_by,
                reason,
            });
        }
        out
    }

    /// `POST /accounts/{a}/iam/authorize`: decides each check for a member or a token.
    pub async fn authorize(
        &self,
        auth: &Authorized,
        subject: &Subject,
        checks: &[Check],
    ) -> CoreResult<Vec<CheckResult>> {
        let account = auth.account();
        if checks.is_empty() || checks.len() > MAX_CHECKS {
            return Err(CoreError::invalid(
                "/checks",
                format!(
                    "/checks: give 1 to {MAX_CHECKS} checks, got {}",
                    checks.len()
                ),
            ));
        }
        let expanded: Vec<(Check, Vec<String>)> = checks
            .iter()
            .enumerate()
            .map(|(i, c)| self.check_keys(i, &c.permission).map(|k| (c.clone(), k)))
            .collect::<CoreResult<_>>()?;
        let (layers, blocked) = self.layers_for(account, subject).await?;
        let results = Self::evaluate(account, &layers, blocked.as_deref(), &expanded);
        let allowed = results.iter().filter(|r| r.allowed).count() as u64;
        let counts = self.decisions();
        counts
            .api_allowed
            .fetch_add(allowed, std::sync::atomic::Ordering::Relaxed);
        counts.api_denied.fetch_add(
            results.len() as u64 - allowed,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(results)
    }

    /// Decides whether the caller may use each of `keys` in `account` (the policies are loaded
    /// once). Fails with Forbidden when the caller is not in the account at all.
    pub async fn decide_keys(
        &self,
        principal: &Principal,
        account: &AccountId,
        keys: &[String],
    ) -> CoreResult<Vec<CheckResult>> {
        // The caller was authenticated already: its token is at hand; a user's membership and
        // policies come from the policy index.
        let not_member = || not_a_member(principal, account);
        let mut layers: Vec<Arc<Layer>> = Vec::new();
        match principal {
            Principal::AccountToken { token, account_id } => {
                if account_id != account {
                    return Err(not_member());
                }
                layers.push(self.token_layer(account, token).await?);
            }
            Principal::User { user, token } => {
                let m = self
                    .member_view_of(account, &user.id)
                    .await?
                    .filter(|m| m.member.status == MemberStatus::Accepted)
                    .ok_or_else(not_member)?;
                layers.push(self.member_layer(account, &m).await?);
                if let Some(t) = token {
                    layers.push(self.token_layer(account, t).await?);
                }
            }
        }
        let checks: Vec<(Check, Vec<String>)> = keys
            .iter()
            .map(|k| {
                (
                    Check {
                        permission: k.clone(),
                        resource: None,
                    },
                    vec![k.clone()],
                )
            })
            .collect();
        Ok(Self::evaluate(account, &layers, None, &checks))
    }

    /// Refuses to let the caller grant (through a token, a member's roles or policies, a user
    /// group's policies, or a group membership) any permission it does not hold itself in the
    /// account: nobody can hand out more than they have. Deny policies are never an escalation.
    pub async fn ensure_can_grant(
        &self,
        auth: &Authorized,
        group_names: &[String],
        what: &str,
    ) -> CoreResult<()> {
        let missing = self.keys_not_held(auth, group_names).await?;
        if missing.is_empty() {
            return Ok(());
        }
        self.verdict(Forbidden::Escalation {
            actor: auth.principal().actor(),
            what: what.to_owned(),
            keys: missing,
        })
    }

    /// The permission keys the groups named grant that the caller does not hold in the account
    /// (none when enforcement is off).
    pub(crate) async fn keys_not_held(
        &self,
        auth: &Authorized,
        group_names: &[String],
    ) -> CoreResult<Vec<String>> {
        let (principal, account) = (auth.principal(), auth.account());
        if self.authz_mode() == super::AuthzMode::Off {
            return Ok(Vec::new());
        }
        // Patterns (`*`, `prefix.*`) stand for the concrete keys Portcullis decides.
        let mut keys: Vec<String> = Vec::new();
        let all = self.catalog().permission_keys();
        for name in group_names {
            for pattern in self.grants_of(name) {
                let pattern = PermissionPattern::parse(&pattern);
                union(
                    &mut keys,
                    all.iter()
                        .filter(|k| pattern.grants(k))
                        .map(|k| (*k).to_owned()),
                );
            }
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .decide_keys(principal, account, &keys)
            .await?
            .into_iter()
            .filter(|d| !d.allowed)
            .map(|d| d.permission)
            .collect())
    }

    /// Names of the permission groups that allow policies grant.
    pub fn allowed_group_names(&self, policies: &[Policy]) -> Vec<String> {
        policies
            .iter()
            .filter(|p| p.access == Access::Allow)
            .flat_map(|p| p.permission_groups.iter())
            .map(|id| {
                self.catalog()
                    .policy_group(id)
                    .map_or_else(|| id.clone(), |g| g.name)
            })
            .collect()
    }

    /// Names of the groups a member's grants allow (roles map to the group of the same name).
    pub fn granted_group_names(&self, grants: &Grants) -> Vec<String> {
        match grants {
            Grants::Roles(ids) => ids
                .iter()
                .map(|id| {
                    self.catalog()
                        .role(id)
                        .map_or_else(|| id.clone(), |r| r.name.clone())
                })
                .collect(),
            Grants::Policies(p) => self.allowed_group_names(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_confined_to_the_account() {
        let a = AccountId::random();
        let b = AccountId::random();
        let inside = |r: &str| confine(&a, r).is_ok();
        assert!(inside(&format!("com.cloudflare.api.account.{a}")));
        assert!(inside(&format!("com.cloudflare.api.account.{a}.thing.x")));
        assert!(inside(
            "com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353"
        ));
        assert!(!inside(&format!("com.cloudflare.api.account.{b}")));
        assert!(!inside(&format!("com.cloudflare.api.account.{b}.zone.x")));
        assert!(!inside("com.cloudflare.api.account.*"));
        assert!(!inside("com.cloudflare.api.account.made-up"));
        assert!(!inside("com.cloudflare.api.account.deadbeef"));
        assert!(!inside("com.cloudflare.api.account.zone"));
        assert!(!inside(
            "com.cloudflare.api.user.023e105f4ecef8ad9ca31a8372d0c353"
        ));
        assert!(!inside("*"));
        assert!(!inside(""));
    }

    #[test]
    fn token_resource_patterns() {
        let a =
            AccountId::parse("023e105f4ecef8ad9ca31a8372d0c353").unwrap_or_else(AccountId::random);
        let map = |v: Value| v.as_object().cloned().unwrap_or_default();
        let own = format!("com.cloudflare.api.account.{a}");
        assert_eq!(
            token_resources(&a, &map(serde_json::json!({own.clone(): "*"}))),
            ["*"]
        );
        assert_eq!(
            token_resources(
                &a,
                &map(serde_json::json!({own.clone(): {"com.cloudflare.api.account.zone.*": "*"}}))
            ),
            ["com.cloudflare.api.account.zone.*"]
        );
        assert!(token_resources(&a, &map(serde_json::json!({"com.cloudflare.api.account.eb78d65290b24279ba6f44721b3ea3c4": "*"}))).is_empty());
    }
}
