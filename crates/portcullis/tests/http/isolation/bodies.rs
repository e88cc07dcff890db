//! Request bodies, chosen by the route table's body schema name (`portcullis_wire::body`). A
//! schema the sweep does not know fails loudly, so a new body type must be taught here.

use serde_json::{json, Value};

use super::world::{policy, scope, token_policies, Side, FULL_ACCOUNT_GROUPS, PG_ADMINISTRATOR};
use crate::helpers::*;

/// A valid body that would succeed if the caller were allowed in `side`'s account (ids from
/// `side`; `n` keeps names unique).
pub fn benign(schema: &str, array: bool, side: &Side, n: usize, route: &str) -> Value {
    match (schema, array) {
        ("ResourceGroupCreate", false) => {
            json!({ "name": format!("iso-rg-{n}"), "scope": scope(&side.account, &["*"]) })
        }
        ("ResourceGroupUpdate", false) => json!({ "name": format!("iso-rg-renamed-{n}") }),
        ("UserGroupCreate", false) => json!({ "name": format!("iso-ug-{n}") }),
        ("UserGroupUpdate", false) => json!({ "name": format!("iso-ug-renamed-{n}") }),
        // Adding / replacing with the admin: changes any group it is not in yet.
        ("IdRef", true) => json!([{ "id": side.admin_member }]),
        ("MemberCreate", false) => json!({
            "email": format!("iso-new-{n}@iso-sweep.example"),
            "roles": [ROLE_ADMIN_READ_ONLY],
        }),
        ("MemberUpdate", false) => json!({ "roles": [ROLE_ADMIN_READ_ONLY] }),
        ("TokenCreate", false) => token_body(&format!("iso-token-{n}"), &side.account),
        ("TokenUpdate", false) => json!({ "name": format!("iso-token-renamed-{n}") }),
        ("SsoCreate", false) => json!({
            "email_domain": format!("iso-{n}.example"),
            "begin_verification": false,
        }),
        ("SsoUpdate", false) => json!({ "use_fedramp_language": true }),
        ("OAuthClientCreate", false) => json!({
            "client_name": format!("iso-oauth-{n}"),
            "grant_types": ["authorization_code"],
            "redirect_uris": ["https://iso.example/cb"],
            "response_types": ["code"],
            "scopes": ["account.read"],
            "token_endpoint_auth_method": "client_secret_basic",
        }),
        ("OAuthClientUpdate", false) => json!({ "client_name": format!("iso-oauth-renamed-{n}") }),
        ("AuthorizeRequest", false) => json!({
            "principal": { "member_id": side.member2 },
            "checks": [{ "permission": "com.cloudflare.api.account.read" }],
        }),
        ("AccountCreate", false) => json!({ "name": format!("iso-account-{n}") }),
        ("AccountUpdate", false) => json!({ "name": format!("iso-account-renamed-{n}") }),
        ("MembershipUpdate", false) => json!({ "status": "accepted" }),
        ("UserEdit", false) => json!({ "first_name": format!("Iso {n}") }),
        _ => panic!(
            "{route}: the isolation sweep has no body for schema `{schema}`{} — teach \
             tests/http/isolation/bodies.rs::benign about it",
            if array { " (array)" } else { "" }
        ),
    }
}

/// What the answer to a body variant may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyExpect {
    /// It names A's objects: no 2xx.
    Refused,
    /// A decision about B's own principal on A's account resource: a 2xx is fine, but no
    /// `allowed: true`.
    DecisionMustDeny,
}

pub struct Variant {
    pub label: &'static str,
    pub body: Value,
    pub expect: BodyExpect,
    /// For `POST /user/tokens`: a created token is swept as a further attacker.
    pub derive: bool,
}

fn refused(label: &'static str, body: Value) -> Variant {
    Variant {
        label,
        body,
        expect: BodyExpect::Refused,
        derive: false,
    }
}

/// Bodies that reference A's objects while the path names only B's (variant (c)). Schemas whose
/// bodies carry no object of an account return none; the reason is in [`no_foreign_body`].
pub fn foreign(
    schema: &str,
    array: bool,
    a: &Side,
    b: &Side,
    n: usize,
    route: &str,
) -> Vec<Variant> {
    let a_key = account_resource(&a.account);
    let b_key = account_resource(&b.account);
    match (schema, array) {
        ("ResourceGroupCreate", false) => vec![
            refused(
                "scope key is A's account",
                json!({ "name": format!("iso-rg-{n}a"), "scope": scope(&a.account, &["*"]) }),
            ),
            refused(
                "scope object is A's account key",
                json!({ "name": format!("iso-rg-{n}b"), "scope": scope(&b.account, &[&a_key]) }),
            ),
        ],
        ("ResourceGroupUpdate", false) => vec![
            refused(
                "scope key is A's account",
                json!({ "scope": scope(&a.account, &["*"]) }),
            ),
            refused(
                "scope object is A's account key",
                json!({ "scope": scope(&b.account, &[&a_key]) }),
            ),
        ],
        ("UserGroupCreate", false) => vec![refused(
            "policy uses A's resource group",
            json!({ "name": format!("iso-ug-{n}"), "policies": [policy(&[&a.rg])] }),
        )],
        ("UserGroupUpdate", false) => vec![
            refused(
                "policy uses A's resource group",
                json!({ "policies": [policy(&[&a.rg])] }),
            ),
            refused(
                "policy keeps A's user-group policy id",
                json!({ "policies": [{
                    "id": a.group_policy,
                    "access": "allow",
                    "permission_groups": [{ "id": PG_ADMINISTRATOR }],
                    "resource_groups": [{ "id": b.rg }],
                }] }),
            ),
        ],
        ("IdRef", true) => vec![
            refused("A's member (in A's group)", json!([{ "id": a.member2 }])),
            refused("A's admin member", json!([{ "id": a.admin_member }])),
            refused(
                "B's member then A's member",
                json!([{ "id": b.member2 }, { "id": a.member2 }]),
            ),
        ],
        ("MemberCreate", false) => vec![refused(
            "policy uses A's resource group",
            json!({
                "email": format!("iso-new-{n}@iso-sweep.example"),
                "policies": [policy(&[&a.rg])],
            }),
        )],
        ("MemberUpdate", false) => vec![
            refused(
                "policy uses A's resource group",
                json!({ "policies": [policy(&[&a.rg])] }),
            ),
            refused(
                "policy keeps A's member policy id",
                json!({ "policies": [{
                    "id": a.member2_policy,
                    "access": "allow",
                    "permission_groups": [{ "id": PG_ADMINISTRATOR }],
                    "resource_groups": [{ "id": b.rg }],
                }] }),
            ),
        ],
        ("TokenCreate", false) => vec![
            Variant {
                label: "every account permission on A's account resource",
                body: json!({
                    "name": format!("iso-token-{n}a"),
                    "policies": token_policies(&FULL_ACCOUNT_GROUPS, std::slice::from_ref(&a_key)),
                }),
                expect: BodyExpect::Refused,
                derive: true,
            },
            refused(
                "B's and A's account resources",
                json!({
                    "name": format!("iso-token-{n}b"),
                    "policies": token_policies(&[PG_ACCOUNT_SETTINGS_READ], &[b_key.clone(), a_key.clone()]),
                }),
            ),
        ],
        ("TokenUpdate", false) => vec![refused(
            "policies name A's account resource",
            json!({ "policies": token_policies(&FULL_ACCOUNT_GROUPS, std::slice::from_ref(&a_key)) }),
        )],
        ("AuthorizeRequest", false) => {
            let checks = json!([
                { "permission": "com.cloudflare.api.account.read", "resource": a_key },
                { "permission": "#organization:edit", "resource": a_key },
                { "permission": "com.cloudflare.api.account.member.update", "resource": a_key },
                { "permission": "com.cloudflare.api.account.token.create", "resource": a_key },
                { "permission": PG_ADMINISTRATOR, "resource": a_key },
            ]);
            let about = |principal: Value| json!({ "principal": principal, "checks": checks });
            let must_deny = |label, principal: Value| Variant {
                label,
                body: about(principal),
                expect: BodyExpect::DecisionMustDeny,
                derive: false,
            };
            vec![
                refused(
                    "principal is A's member",
                    about(json!({ "member_id": a.member2 })),
                ),
                refused(
                    "principal is A's admin member",
                    about(json!({ "member_id": a.admin_member })),
                ),
                refused(
                    "principal is A's account token",
                    about(json!({ "token_id": a.main_token })),
                ),
                refused(
                    "principal is A admin's user token",
                    about(json!({ "token_id": a.user_token })),
                ),
                must_deny(
                    "B's admin member, checks on A's account",
                    json!({ "member_id": b.admin_member }),
                ),
                must_deny(
                    "B's member, checks on A's account",
                    json!({ "member_id": b.member2 }),
                ),
                must_deny(
                    "B's account token, checks on A's account",
                    json!({ "token_id": b.main_token }),
                ),
            ]
        }
        ("SsoCreate", false)
        | ("SsoUpdate", false)
        | ("OAuthClientCreate", false)
        | ("OAuthClientUpdate", false)
        | ("AccountCreate", false)
        | ("AccountUpdate", false)
        | ("MembershipUpdate", false)
        | ("UserEdit", false) => Vec::new(),
        _ => panic!(
            "{route}: the isolation sweep has no foreign-reference bodies for schema `{schema}` \
             — teach tests/http/isolation/bodies.rs::foreign about it"
        ),
    }
}

/// Why a schema has no body that references A (printed with the sweep's coverage).
pub fn no_foreign_body(schema: &str) -> Option<&'static str> {
    match schema {
        "SsoCreate" => Some(
            "only an email domain: several accounts may claim a domain, DNS verification decides \
             (api-decisions.md \"SSO connectors\")",
        ),
        "SsoUpdate" => Some("only flags"),
        "OAuthClientCreate" | "OAuthClientUpdate" => {
            Some("names, URIs and scopes: no object of an account")
        }
        "AccountCreate" | "AccountUpdate" => Some("only a name, a type and settings"),
        "MembershipUpdate" => Some("only a status; the membership is in the path"),
        "UserEdit" => Some("only the caller's own names and contact fields"),
        _ => None,
    }
}
