//! Differential test: random policy sets decided by Portcullis's engine and by Cedar (the
//! reference implementation of permit/forbid semantics) must agree on every request, both on the
//! verdict and on which policies decided it.
//!
//! Translation: a policy's permission patterns become `action in [...]` over a finite universe
//! of keys (`prefix.*` expands to every key with that prefix, `*` to all); its resource patterns
//! become a `when` condition on `context.resource` (`*` → `true`, `prefix.*` → `like`, exact →
//! `==`); allow → `permit`, deny → `forbid`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use portcullis_authz::{decide, Effect, PermissionPattern, Policy, ResourcePattern};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const CASES: usize = 10_000;

fn universe() -> (Vec<String>, Vec<String>) {
    let mut keys = Vec::new();
    for service in [
        "com.cloudflare.api.account.member",
        "com.cloudflare.api.account.token",
        "com.cloudflare.api.iam.resource-group",
        "#organization",
    ] {
        for verb in ["list", "read", "create", "update", "delete"] {
            keys.push(format!("{service}.{verb}"));
        }
    }
    let mut resources =
        vec!["com.cloudflare.api.account.eb78d65290b24279ba6f44721b3ea3c4".to_owned()];
    for z in 0..6 {
        resources.push(format!("com.cloudflare.api.account.zone.{z:032x}"));
    }
    resources
        .push("com.cloudflare.edge.r2.bucket.0123456789abcdef0123456789abcdef_default_b".into());
    (keys, resources)
}

fn permission_pattern(rng: &mut StdRng, keys: &[String]) -> String {
    match rng.gen_range(0..10) {
        0 => "*".into(),
        1..=3 => {
            let k = keys.choose(rng).unwrap();
            let (prefix, _) = k.rsplit_once('.').unwrap();
            format!("{prefix}.*")
        }
        _ => keys.choose(rng).unwrap().clone(),
    }
}

fn resource_pattern(rng: &mut StdRng, resources: &[String]) -> String {
    match rng.gen_range(0..10) {
        0 => "*".into(),
        1..=2 => "com.cloudflare.api.account.zone.*".into(),
        3 => "com.cloudflare.*".into(),
        _ => resources.choose(rng).unwrap().clone(),
    }
}

/// Cedar names policies parsed from text `policy0`, `policy1`, … in order; ours use the same ids.
fn cedar_policy(p: &Policy, keys: &[String]) -> String {
    let actions: Vec<String> = keys
        .iter()
        .filter(|k| p.permissions.iter().any(|pat| pat.grants(k)))
        .map(|k| format!("Action::\"{k}\""))
        .collect();
    let conditions: Vec<String> = p
        .resources
        .iter()
        .map(|r| match r {
            ResourcePattern::Any => "true".to_owned(),
            ResourcePattern::Prefix(prefix) => format!("context.resource like \"{prefix}*\""),
            ResourcePattern::Exact(key) => format!("context.resource == \"{key}\""),
        })
        .collect();
    let head = if p.effect == Effect::Allow {
        "permit"
    } else {
        "forbid"
    };
    let when = if conditions.is_empty() {
        "false".to_owned()
    } else {
        conditions.join(" || ")
    };
    format!(
        "{head}(principal, action in [{}], resource) when {{ {when} }};\n",
        actions.join(", ")
    )
}

#[test]
fn engine_agrees_with_cedar() {
    let (keys, resources) = universe();
    let mut rng = StdRng::seed_from_u64(0x5eed_cafe);
    let authorizer = Authorizer::new();
    let principal: EntityUid = r#"User::"subject""#.parse().unwrap();
    let resource_uid: EntityUid = r#"Resource::"r""#.parse().unwrap();
    let mut allowed = 0;
    for case in 0..CASES {
        let n = rng.gen_range(0..8);
        let policies: Vec<Policy> = (0..n)
            .map(|i| Policy {
                id: format!("policy{i}"),
                effect: if rng.gen_bool(0.3) {
                    Effect::Deny
                } else {
                    Effect::Allow
                },
                permissions: (0..rng.gen_range(1..4))
                    .map(|_| PermissionPattern::parse(&permission_pattern(&mut rng, &keys)))
                    .collect(),
                resources: (0..rng.gen_range(1..3))
                    .map(|_| ResourcePattern::parse(&resource_pattern(&mut rng, &resources)))
                    .collect(),
            })
            .collect();
        let key = keys.choose(&mut rng).unwrap();
        let resource = resources.choose(&mut rng).unwrap();

        let ours = decide(&policies, key, resource);

        let text: String = policies.iter().map(|p| cedar_policy(p, &keys)).collect();
        let set: PolicySet = text
            .parse()
            .unwrap_or_else(|e| panic!("case {case}: cedar rejected\n{text}\n{e}"));
        let action: EntityUid = format!("Action::\"{key}\"").parse().unwrap();
        let context = Context::from_pairs([(
            "resource".to_owned(),
            RestrictedExpression::new_string(resource.clone()),
        )])
        .unwrap();
        let request = Request::new(
            principal.clone(),
            action,
            resource_uid.clone(),
            context,
            None,
        )
        .unwrap();
        let answer = authorizer.is_authorized(&request, &set, &Entities::empty());
        let cedar_allows = answer.decision() == CedarDecision::Allow;
        assert!(
            answer.diagnostics().errors().next().is_none(),
            "case {case}: cedar errors"
        );
        assert_eq!(
            ours.is_allowed(),
            cedar_allows,
            "case {case}: verdicts differ for {key} on {resource}\n{text}"
        );
        let cedar_ids: BTreeSet<String> = answer
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        let our_ids: BTreeSet<String> = ours.decided_by.iter().cloned().collect();
        assert_eq!(
            our_ids, cedar_ids,
            "case {case}: deciding policies differ for {key} on {resource}\n{text}"
        );
        allowed += usize::from(cedar_allows);
    }
    // The generator must exercise both outcomes substantially.
    assert!(
        allowed > CASES / 10 && allowed < CASES * 9 / 10,
        "allowed {allowed} of {CASES}"
    );
}
