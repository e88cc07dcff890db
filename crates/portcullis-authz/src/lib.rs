//! The pure authorization engine of Portcullis.
//!
//! Inputs are plain values (policies already flattened to permission keys and resource
//! patterns); the output is a [`Decision`] that explains itself. No I/O, no async, no clock:
//! the same inputs always give the same answer.
//!
//! Rules (see `docs/api-decisions.md`, "Authorization"):
//! - default deny: no matching policy means deny;
//! - an explicit deny that matches overrides every allow;
//! - a policy matches a request when one of its permissions grants the permission key and one of
//!   its resource patterns covers the resource key.

/// Whether a policy allows or denies what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the matched permissions.
    Allow,
    /// Refuses the matched permissions, whatever else allows them.
    Deny,
}

/// A resource pattern: what part of an account a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcePattern {
    /// `*`: every resource.
    Any,
    /// A key ending in `.*`, stored without the `*`: every resource whose key starts with it.
    Prefix(String),
    /// One exact resource key.
    Exact(String),
}

impl ResourcePattern {
    /// Parses `*`, `prefix.*` or an exact key.
    pub fn parse(pattern: &str) -> Self {
        if pattern == "*" {
            Self::Any
        } else if let Some(prefix) = pattern.strip_suffix('*') {
            Self::Prefix(prefix.to_owned())
        } else {
            Self::Exact(pattern.to_owned())
        }
    }

    /// Whether this pattern covers `resource`.
    pub fn covers(&self, resource: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Prefix(prefix) => resource.starts_with(prefix.as_str()),
            Self::Exact(key) => key == resource,
        }
    }
}

/// A permission pattern: a permission key, or `*` for every key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionPattern {
    /// Every permission key.
    Any,
    /// A key ending in `.*`, stored without the `*`: every key that starts with it.
    Prefix(String),
    /// One exact permission key.
    Exact(String),
}

impl PermissionPattern {
    /// Parses `*`, `prefix.*` or an exact key.
    pub fn parse(pattern: &str) -> Self {
        if pattern == "*" {
            Self::Any
        } else if let Some(prefix) = pattern.strip_suffix('*') {
            Self::Prefix(prefix.to_owned())
        } else {
            Self::Exact(pattern.to_owned())
        }
    }

    /// Whether this pattern grants `permission`.
    pub fn grants(&self, permission: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Prefix(prefix) => permission.starts_with(prefix.as_str()),
            Self::Exact(key) => key == permission,
        }
    }
}

/// One policy, flattened: permission groups already expanded to permission patterns and
/// resource groups to resource patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's id, reported back in decisions.
    pub id: String,
    /// Allow or deny.
    pub effect: Effect,
    /// Permission keys (or patterns) the policy's permission groups grant.
    pub permissions: Vec<PermissionPattern>,
    /// Resources the policy's resource groups cover.
    pub resources: Vec<ResourcePattern>,
}

impl Policy {
    /// Whether this policy applies to (`permission`, `resource`).
    pub fn matches(&self, permission: &str, resource: &str) -> bool {
        self.permissions.iter().any(|p| p.grants(permission))
            && self.resources.iter().any(|r| r.covers(resource))
    }
}

/// Why a decision came out the way it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No policy matched.
    NoMatchingPolicy,
    /// At least one allow matched and no deny did.
    Allowed,
    /// At least one deny matched.
    ExplicitDeny,
}

/// The engine's answer, with the policies that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The outcome.
    pub effect: Effect,
    /// Why.
    pub reason: Reason,
    /// Ids of the policies that decided: the matching denies when denied by policy, else the
    /// matching allows; empty on default deny.
    pub decided_by: Vec<String>,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.effect == Effect::Allow
    }
}

/// The engine's answer by position: like [`Decision`], with the deciding policies given as
/// indices into the slice decided over (no allocation per matching policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub effect: Effect,
    /// Why.
    pub reason: Reason,
    /// Indices of the policies that decided (as [`Decision::decided_by`]).
    pub decided_by: Vec<usize>,
}

/// Decides whether `policies` allow `permission` on `resource`, naming the deciding policies by
/// position.
pub fn decide_at(policies: &[Policy], permission: &str, resource: &str) -> Verdict {
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for (i, policy) in policies.iter().enumerate() {
        if policy.matches(permission, resource) {
            match policy.effect {
                Effect::Allow => allows.push(i),
                Effect::Deny => denies.push(i),
            }
        }
    }
    verdict(allows, denies)
}

/// The verdict of the policies (by position) that matched: default deny, deny overrides.
pub fn verdict(allows: Vec<usize>, denies: Vec<usize>) -> Verdict {
    if !denies.is_empty() {
        Verdict {
            effect: Effect::Deny,
            reason: Reason::ExplicitDeny,
            decided_by: denies,
        }
    } else if !allows.is_empty() {
        Verdict {
            effect: Effect::Allow,
            reason: Reason::Allowed,
            decided_by: allows,
        }
    } else {
        Verdict {
            effect: Effect::Deny,
            reason: Reason::NoMatchingPolicy,
            decided_by: Vec::new(),
        }
    }
}

/// Decides whether `policies` allow `permission` on `resource`.
pub fn decide(policies: &[Policy], permission: &str, resource: &str) -> Decision {
    let v = decide_at(policies, permission, resource);
    Decision {
        effect: v.effect,
        reason: v.reason,
        decided_by: v
            .decided_by
            .iter()
            .filter_map(|&i| policies.get(i))
            .map(|p| p.id.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, effect: Effect, perms: &[&str], resources: &[&str]) -> Policy {
        Policy {
            id: id.to_owned(),
            effect,
            permissions: perms.iter().map(|p| PermissionPattern::parse(p)).collect(),
            resources: resources
                .iter()
                .map(|r| ResourcePattern::parse(r))
                .collect(),
        }
    }

    const ZONE: &str = "com.cloudflare.api.account.zone.23f8d65290b24279ba6f44721b3eaad5";
    const READ: &str = "com.cloudflare.api.account.member.read";

    #[test]
    fn table() {
        let allow_all = policy("a", Effect::Allow, &["*"], &["*"]);
        let allow_read_zone = policy("b", Effect::Allow, &[READ], &[ZONE]);
        let deny_zones = policy(
            "c",
            Effect::Deny,
            &["*"],
            &["com.cloudflare.api.account.zone.*"],
        );
        let allow_member_prefix = policy(
            "d",
            Effect::Allow,
            &["com.cloudflare.api.account.member.*"],
            &["*"],
        );
        type Case<'a> = (Vec<Policy>, &'a str, &'a str, Effect, Reason, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                vec![],
                READ,
                ZONE,
                Effect::Deny,
                Reason::NoMatchingPolicy,
                vec![],
            ),
            (
                vec![allow_all.clone()],
                READ,
                ZONE,
                Effect::Allow,
                Reason::Allowed,
                vec!["a"],
            ),
            (
                vec![allow_all.clone(), deny_zones.clone()],
                READ,
                ZONE,
                Effect::Deny,
                Reason::ExplicitDeny,
                vec!["c"],
            ),
            (
                vec![allow_all.clone(), deny_zones.clone()],
                READ,
                "com.cloudflare.api.account.abc",
                Effect::Allow,
                Reason::Allowed,
                vec!["a"],
            ),
            (
                vec![allow_read_zone.clone()],
                "com.cloudflare.api.account.member.delete",
                ZONE,
                Effect::Deny,
                Reason::NoMatchingPolicy,
                vec![],
            ),
            (
                vec![allow_read_zone.clone(), allow_all.clone()],
                READ,
                ZONE,
                Effect::Allow,
                Reason::Allowed,
                vec!["b", "a"],
            ),
            (
                vec![allow_member_prefix.clone()],
                "com.cloudflare.api.account.member.delete",
                ZONE,
                Effect::Allow,
                Reason::Allowed,
                vec!["d"],
            ),
            (
                vec![allow_member_prefix],
                "com.cloudflare.api.account.token.delete",
                ZONE,
                Effect::Deny,
                Reason::NoMatchingPolicy,
                vec![],
            ),
        ];
        for (i, (policies, perm, res, effect, reason, by)) in cases.into_iter().enumerate() {
            let d = decide(&policies, perm, res);
            assert_eq!(d.effect, effect, "case {i}");
            assert_eq!(d.reason, reason, "case {i}");
            assert_eq!(d.decided_by, by, "case {i}");
        }
    }
}
