//! In-process decision latency: a member in 10 user groups holding 100 policies in all, decided
//! by Portcullis's engine and by Cedar on the same policies, in one run.
//!
//! Run: `cargo bench -p portcullis-authz --bench decide`. Prints the median and p99 of single
//! decisions (each timed over a batch of 1,000 to stay above the clock's resolution).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Instant;

use cedar_policy::{
    Authorizer, Context, Entities, EntityUid, PolicySet, Request, RestrictedExpression,
};
use portcullis_authz::{decide, Effect, PermissionPattern, Policy, ResourcePattern};

const KEYS: [&str; 22] = [
    "com.cloudflare.api.iam.permission-group.list",
    "com.cloudflare.api.iam.permission-group.read",
    "com.cloudflare.api.iam.resource-group.list",
    "com.cloudflare.api.iam.resource-group.read",
    "com.cloudflare.api.iam.resource-group.create",
    "com.cloudflare.api.iam.resource-group.update",
    "com.cloudflare.api.iam.resource-group.delete",
    "com.cloudflare.api.account.member.list",
    "com.cloudflare.api.account.member.read",
    "com.cloudflare.api.account.member.create",
    "com.cloudflare.api.account.member.update",
    "com.cloudflare.api.account.member.delete",
    "#organization:read",
    "#organization:edit",
    "com.cloudflare.api.account.token.list",
    "com.cloudflare.api.account.token.read",
    "com.cloudflare.api.account.token.create",
    "com.cloudflare.api.account.token.update",
    "com.cloudflare.api.account.token.delete",
    "#sso_connector:read",
    "#sso_connector:edit",
    "com.cloudflare.api.iam.authorize",
];

/// 100 policies (10 groups × 10): mostly allows of a few keys on zones or the account, some
/// denies, so a decision scans everything and several policies match.
fn policies() -> Vec<Policy> {
    let account = "com.cloudflare.api.account.eb78d65290b24279ba6f44721b3ea3c4";
    (0..100)
        .map(|i| {
            let keys: Vec<PermissionPattern> = (0..3)
                .map(|k| PermissionPattern::parse(KEYS[(i * 7 + k * 5) % KEYS.len()]))
                .collect();
            let resources = match i % 4 {
                0 => vec![ResourcePattern::parse("*")],
                1 => vec![ResourcePattern::parse("com.cloudflare.api.account.zone.*")],
                2 => vec![ResourcePattern::parse(account)],
                _ => vec![ResourcePattern::parse(&format!(
                    "com.cloudflare.api.account.zone.{i:032x}"
                ))],
            };
            Policy {
                id: format!("policy{i}"),
                effect: if i % 9 == 4 {
                    Effect::Deny
                } else {
                    Effect::Allow
                },
                permissions: keys,
                resources,
            }
        })
        .collect()
}

fn cedar_text(policies: &[Policy]) -> String {
    policies
        .iter()
        .map(|p| {
            let actions: Vec<String> = KEYS
                .iter()
                .filter(|k| p.permissions.iter().any(|pat| pat.grants(k)))
                .map(|k| format!("Action::\"{k}\""))
                .collect();
            let when: Vec<String> = p
                .resources
                .iter()
                .map(|r| match r {
                    ResourcePattern::Any => "true".to_owned(),
                    ResourcePattern::Prefix(x) => format!("context.resource like \"{x}*\""),
                    ResourcePattern::Exact(x) => format!("context.resource == \"{x}\""),
                })
                .collect();
            let head = if p.effect == Effect::Allow {
                "permit"
            } else {
                "forbid"
            };
            format!(
                "{head}(principal, action in [{}], resource) when {{ {} }};\n",
                actions.join(", "),
                when.join(" || ")
            )
        })
        .collect()
}

fn stats(name: &str, mut per_call_ns: Vec<f64>) {
    per_call_ns.sort_by(f64::total_cmp);
    let p = |q: f64| per_call_ns[((per_call_ns.len() - 1) as f64 * q).round() as usize];
    println!(
        "| {name:<28} | {:>9.3} | {:>9.3} |",
        p(0.5) / 1000.0,
        p(0.99) / 1000.0
    );
}

fn main() {
    let policies = policies();
    let resource = "com.cloudflare.api.account.eb78d65290b24279ba6f44721b3ea3c4";
    let key = "com.cloudflare.api.account.member.read";
    let batch = 1000;
    let rounds = 300;

    let mut ours = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(decide(
                black_box(&policies),
                black_box(key),
                black_box(resource),
            ));
        }
        ours.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }

    let set: PolicySet = cedar_text(&policies).parse().unwrap();
    let authorizer = Authorizer::new();
    let principal: EntityUid = r#"User::"member""#.parse().unwrap();
    let action: EntityUid = format!("Action::\"{key}\"").parse().unwrap();
    let res: EntityUid = r#"Resource::"account""#.parse().unwrap();
    let entities = Entities::empty();
    let cedar_batch = 100;
    let mut cedar = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..cedar_batch {
            let context = Context::from_pairs([(
                "resource".to_owned(),
                RestrictedExpression::new_string(resource.to_owned()),
            )])
            .unwrap();
            let request = Request::new(
                principal.clone(),
                action.clone(),
                res.clone(),
                context,
                None,
            )
            .unwrap();
            black_box(authorizer.is_authorized(&request, &set, &entities));
        }
        cedar.push(t.elapsed().as_nanos() as f64 / cedar_batch as f64);
    }
    let same = decide(&policies, key, resource).is_allowed();
    println!(
        "decision for the measured request: {}",
        if same { "allow" } else { "deny" }
    );
    println!("| engine (100 policies)        | p50 (µs)  | p99 (µs)  |");
    println!("|------------------------------|----------:|----------:|");
    stats("Portcullis (portcullis-authz)", ours);
    stats("Cedar (cedar-policy 4)", cedar);
}
