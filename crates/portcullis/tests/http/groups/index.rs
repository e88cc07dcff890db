//! The policy index never serves a stale decision: members' and tokens' effective policies are
//! cached in memory and invalidated by per-account (and token) change stamps that every store
//! write bumps when it commits (`portcullis-core/src/service/index.rs`, `changes.rs`).
//!
//! Every test warms the index first (the same decision or request twice, asserting the answer
//! before the write), performs one kind of write through HTTP, and then asserts the new answer
//! with the very next request: no sleeps, no retries. Both ways into the index are covered:
//! the decision API (`POST .../iam/authorize`, `GET .../effective_policies`: members by member
//! id, tokens by token id) and real enforcement (a member's own global API key or a token
//! calling a guarded route: members by user id, tokens as authenticated). Which of them asks
//! first after a write alternates, so each is seen invalidated on its own.
//!
//! On PostgreSQL the index is only used once the server hears other replicas' changes, so
//! [`spawn`] waits for that first. A token used while it is being changed or deleted must not
//! be indexed stale (a race, tried 300 times).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Catalog facts, read from the data files and checked (`../portcullis-core/data`)
// ---------------------------------------------------------------------------------------------

const K_ACCOUNT_READ: &str = "com.cloudflare.api.account.read";
const K_RG_LIST: &str = "com.cloudflare.api.iam.resource-group.list";
const K_RG_READ: &str = "com.cloudflare.api.iam.resource-group.read";
const K_MEMBER_READ: &str = "com.cloudflare.api.account.member.read";
const K_ORG_EDIT: &str = "#organization:edit";
const K_TOKEN_LIST: &str = "com.cloudflare.api.account.token.list";

/// The permission groups and roles these tests grant, with ids looked up by name.
struct Catalog {
    /// Token group "Account Settings Read": reads of the account, its members and groups.
    settings_read: String,
    /// Token group "Account Settings Write": adds `#organization:edit`.
    settings_write: String,
    /// Token group "Account API Tokens Read": token list/read only.
    tokens_read: String,
    /// Legacy role "Minimal Account Access": the account itself and the permission groups.
    minimal_role: String,
    /// Legacy role "Administrator Read Only": every read and list.
    read_only_role: String,
}

/// Whether the catalog's grant patterns for group `name` include `key` (`*`, `prefix.*`, exact).
fn grants(name: &str, key: &str) -> bool {
    let data = shared_data("permission_keys.json");
    let patterns = data["grants"][name]
        .as_array()
        .unwrap_or_else(|| panic!("permission_keys.json grants nothing to {name:?}"));
    patterns.iter().filter_map(Value::as_str).any(|p| {
        p == "*" || p == key || p.strip_suffix('*').is_some_and(|pre| key.starts_with(pre))
    })
}

fn token_group_id(name: &str) -> String {
    let groups = shared_data("permission_groups.json");
    let found: Vec<&Value> = groups
        .as_array()
        .expect("permission_groups.json is an array")
        .iter()
        .filter(|g| g["name"] == name && g["catalog"] == "api_token")
        .collect();
    assert_eq!(found.len(), 1, "one token group named {name:?}");
    str_field(found[0], "id")
}

fn role_id(name: &str) -> String {
    let roles = shared_data("account_roles.json");
    let found: Vec<&Value> = roles
        .as_array()
        .expect("account_roles.json is an array")
        .iter()
        .filter(|r| r["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "one role named {name:?}");
    str_field(found[0], "id")
}

/// Looks the groups up and checks that they grant what the tests below assume.
fn catalog() -> Catalog {
    let keys = shared_data("permission_keys.json");
    for k in [
        K_ACCOUNT_READ,
        K_RG_LIST,
        K_RG_READ,
        K_MEMBER_READ,
        K_ORG_EDIT,
        K_TOKEN_LIST,
    ] {
        assert!(
            keys["keys"][k].is_string(),
            "{k} is a key Portcullis decides"
        );
    }
    let expect = |name: &str, yes: &[&str], no: &[&str]| {
        for k in yes {
            assert!(grants(name, k), "{name} grants {k}");
        }
        for k in no {
            assert!(!grants(name, k), "{name} does not grant {k}");
        }
    };
    expect(
        "Account Settings Read",
        &[K_ACCOUNT_READ, K_RG_LIST, K_RG_READ, K_MEMBER_READ],
        &[K_ORG_EDIT, K_TOKEN_LIST],
    );
    expect(
        "Account Settings Write",
        &[
            K_ACCOUNT_READ,
            K_RG_LIST,
            K_RG_READ,
            K_MEMBER_READ,
            K_ORG_EDIT,
        ],
        &[K_TOKEN_LIST],
    );
    expect(
        "Account API Tokens Read",
        &[K_TOKEN_LIST],
        &[
            K_ACCOUNT_READ,
            K_RG_LIST,
            K_RG_READ,
            K_MEMBER_READ,
            K_ORG_EDIT,
        ],
    );
    expect(
        "Minimal Account Access",
        &[K_ACCOUNT_READ],
        &[
            K_RG_LIST,
            K_RG_READ,
            K_MEMBER_READ,
            K_ORG_EDIT,
            K_TOKEN_LIST,
        ],
    );
    expect(
        "Administrator Read Only",
        &[
            K_ACCOUNT_READ,
            K_RG_LIST,
            K_RG_READ,
            K_MEMBER_READ,
            K_TOKEN_LIST,
        ],
        &[K_ORG_EDIT],
    );
    let c = Catalog {
        settings_read: token_group_id("Account Settings Read"),
        settings_write: token_group_id("Account Settings Write"),
        tokens_read: token_group_id("Account API Tokens Read"),
        minimal_role: role_id("Minimal Account Access"),
        read_only_role: role_id("Administrator Read Only"),
    };
    assert_eq!(c.settings_read, PG_ACCOUNT_SETTINGS_READ);
    assert_eq!(c.read_only_role, ROLE_ADMIN_READ_ONLY);
    c
}

/// A server whose policy index is in use. On PostgreSQL the index is bypassed until the server
/// hears other replicas' changes (`LISTEN`), so this waits for that (before any request; never
/// after a write) and the tests below exercise the cache on both backends.
async fn spawn() -> TestApp {
    let app = TestApp::spawn();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, _, text) = app
            .raw(
                reqwest::Method::GET,
                &format!("{}/readyz", app.base()),
                &Cred::Anon,
                Body::None,
            )
            .await;
        let ready: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if ready["result"]["policy_index"]["live"] == json!(true) {
            return app;
        }
        assert!(
            Instant::now() < deadline,
            "the server never started hearing changes, so its policy index stays off and \
             these tests would prove nothing: {text}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

fn member(id: &str) -> Value {
    json!({ "member_id": id })
}

fn token(id: &str) -> Value {
    json!({ "token_id": id })
}

/// A check of `permission` (a key or a permission-group id) on the account.
fn on_account(permission: &str) -> Value {
    json!({ "permission": permission })
}

/// A check of `permission` on `resource`.
fn on(permission: &str, resource: &str) -> Value {
    json!({ "permission": permission, "resource": resource })
}

/// `POST /accounts/{account}/iam/authorize` as `cred`.
async fn authorize_in(
    app: &TestApp,
    account: &str,
    cred: &Cred,
    principal: &Value,
    checks: &[Value],
) -> Resp {
    app.post(
        &format!("/accounts/{account}/iam/authorize"),
        cred,
        json!({ "principal": principal, "checks": checks }),
    )
    .await
}

/// Decides `checks` for `principal` in `account`; checks the answer's shape and returns it.
async fn decide_in(
    app: &TestApp,
    account: &str,
    cred: &Cred,
    principal: &Value,
    checks: &[Value],
) -> Vec<Value> {
    let r = authorize_in(app, account, cred, principal, checks).await;
    let results = r.list().clone();
    assert_eq!(results.len(), checks.len(), "one result per check: {r}");
    let account_key = account_resource(account);
    for (c, d) in checks.iter().zip(&results) {
        assert_eq!(d["permission"], c["permission"], "{r}");
        let resource = c["resource"].as_str().unwrap_or(&account_key);
        assert_eq!(d["resource"], json!(resource), "{r}");
        assert!(d["allowed"].is_boolean(), "{r}");
        assert!(d["decided_by"].is_array(), "{r}");
        assert!(d["reason"].is_string(), "{r}");
    }
    results
}

/// Decides in the bootstrap account, as the operator's token.
async fn decide(app: &TestApp, principal: &Value, checks: &[Value]) -> Vec<Value> {
    decide_in(app, &app.boot.account_id, &app.admin(), principal, checks).await
}

fn verdicts(results: &[Value]) -> Vec<bool> {
    results
        .iter()
        .map(|d| d["allowed"].as_bool().unwrap_or_else(|| panic!("{d}")))
        .collect()
}

/// Decides and asserts the verdicts; returns the results.
async fn expect(
    app: &TestApp,
    principal: &Value,
    checks: &[Value],
    want: &[bool],
    when: &str,
) -> Vec<Value> {
    let results = decide(app, principal, checks).await;
    assert_eq!(
        verdicts(&results),
        want,
        "{when}: decisions for {principal} on {checks:?}: {results:#?}"
    );
    results
}

/// [`expect`] twice (the second answer comes from a warm index); both answers are identical.
async fn warm(
    app: &TestApp,
    principal: &Value,
    checks: &[Value],
    want: &[bool],
    when: &str,
) -> Vec<Value> {
    let first = expect(app, principal, checks, want, when).await;
    let second = expect(app, principal, checks, want, when).await;
    assert_eq!(
        first, second,
        "{when}: a warm index answers as the store did"
    );
    first
}

/// (policy id, access, source kind, user-group id or "") of each policy that decided `d`.
fn decided_by(d: &Value) -> Vec<(String, String, String, String)> {
    d["decided_by"]
        .as_array()
        .unwrap_or_else(|| panic!("decided_by: {d}"))
        .iter()
        .map(|p| {
            (
                str_field(p, "policy_id"),
                str_field(p, "access"),
                str_field(&p["source"], "kind"),
                p["source"]["user_group"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn by(policy: &str, access: &str, kind: &str, group: &str) -> (String, String, String, String) {
    (policy.into(), access.into(), kind.into(), group.into())
}

/// Asserts that the decision API answers 404/1003 naming `id` for `principal`.
async fn expect_unknown(app: &TestApp, principal: &Value, id: &str) {
    let r = authorize_in(
        app,
        &app.boot.account_id,
        &app.admin(),
        principal,
        &[on_account(K_ACCOUNT_READ)],
    )
    .await;
    assert_error_mentions(&r, 404, 1003, &[id]);
}

// ---------------------------------------------------------------------------------------------
// Effective policies
// ---------------------------------------------------------------------------------------------

/// `GET .../members/{m}/effective_policies` in the bootstrap account.
async fn effective(app: &TestApp, member_id: &str) -> Value {
    let r = app
        .get(
            &app.acct(&format!("/members/{member_id}/effective_policies")),
            &app.admin(),
        )
        .await;
    let v = r.ok().clone();
    assert_eq!(v["member_id"], json!(member_id), "{r}");
    assert!(v["policies"].is_array(), "{r}");
    v
}

/// (policy id, source kind, user-group id or role id or "") of each effective policy.
fn provenance(ep: &Value) -> Vec<(String, String, String)> {
    ep["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("policies: {ep}"))
        .iter()
        .map(|p| {
            let s = &p["source"];
            let owner = s["user_group"]["id"]
                .as_str()
                .or_else(|| s["role"]["id"].as_str())
                .unwrap_or_default();
            (str_field(p, "id"), str_field(s, "kind"), owner.to_owned())
        })
        .collect()
}

fn from(policy: &str, kind: &str, owner: &str) -> (String, String, String) {
    (policy.into(), kind.into(), owner.into())
}

/// Effective policies, twice (warm), asserting the provenance both times; returns the result.
async fn warm_effective(
    app: &TestApp,
    member_id: &str,
    want: &[(String, String, String)],
) -> Value {
    let first = effective(app, member_id).await;
    assert_eq!(provenance(&first), want, "{first}");
    let second = effective(app, member_id).await;
    assert_eq!(first, second, "a warm index answers as the store did");
    first
}

// ---------------------------------------------------------------------------------------------
// People and real enforcement
// ---------------------------------------------------------------------------------------------

/// An accepted member of the bootstrap account with their own global API key.
struct Person {
    /// Membership id.
    id: String,
    /// Email + global API key.
    cred: Cred,
}

/// Creates an accepted member in `account` (as `admin`) holding `grants` (`{"roles": …}` or
/// `{"policies": …}`); returns the member id.
async fn join_account(
    app: &TestApp,
    account: &str,
    admin: &Cred,
    email: &str,
    grants: Value,
) -> String {
    let mut body = json!({ "email": email, "status": "accepted" });
    for (k, v) in grants.as_object().expect("grants is an object") {
        body[k] = v.clone();
    }
    let r = app
        .post(&format!("/accounts/{account}/members"), admin, body)
        .await;
    str_field(r.ok(), "id")
}

/// An accepted member of the bootstrap account holding `grants`, then their user key.
async fn person(app: &TestApp, email: &str, grants: Value) -> Person {
    let id = join_account(app, &app.boot.account_id, &app.admin(), email, grants).await;
    let (_, key) = app.user_key(email, false);
    Person {
        id,
        cred: Cred::key(email, &key),
    }
}

/// `{"roles": [role]}`
fn roles(role: &str) -> Value {
    json!({ "roles": [role] })
}

/// `GET /accounts/{a}/iam/resource_groups` (needs [`K_RG_LIST`]) as `cred`.
async fn list_rgs_in(app: &TestApp, account: &str, cred: &Cred) -> Resp {
    app.get(&format!("/accounts/{account}/iam/resource_groups"), cred)
        .await
}

async fn list_rgs(app: &TestApp, cred: &Cred) -> Resp {
    list_rgs_in(app, &app.boot.account_id, cred).await
}

/// `GET /accounts/{a}/tokens` (needs [`K_TOKEN_LIST`]) as `cred`.
async fn list_tokens(app: &TestApp, cred: &Cred) -> Resp {
    app.get(&app.acct("/tokens"), cred).await
}

/// A 403/10000 that names the permission key the caller lacks.
fn assert_denied(r: &Resp, key: &str) {
    r.err(403, 10000);
    assert!(
        r.text.contains(&format!("requires permission '{key}'")),
        "the denial names {key}: {r}"
    );
}

/// A 403/10000 for a caller that is not an accepted member of the account.
fn assert_outsider(r: &Resp) {
    r.err(403, 10000);
    assert!(r.text.contains("is not a member of account"), "{r}");
}

/// A 200 list.
fn assert_served(r: &Resp) {
    r.list();
}

/// A user group in the bootstrap account granting `policies`; returns (id, policy ids).
async fn group(app: &TestApp, name: &str, policies: Value) -> (String, Vec<String>) {
    let g = create_ug(app, name, Some(policies)).await;
    (str_field(&g, "id"), policy_ids(&g))
}

async fn add_to_group(app: &TestApp, group: &str, members: &[&str]) {
    let ids: Vec<String> = members.iter().map(|m| (*m).to_owned()).collect();
    app.post(&gm_path(app, group, ""), &app.admin(), id_list(&ids))
        .await
        .ok();
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn the_catalog_grants_what_these_tests_assume() {
    catalog();
}

/// Adding a member to a user group grants the group's permissions with the next request:
/// real enforcement (the member's own key; the index by user) and the decision API.
#[tokio::test]
async fn joining_a_user_group_grants_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "joiner@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Readers",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    let checks = [
        on_account(K_RG_LIST),
        on_account(K_MEMBER_READ),
        on_account(K_ACCOUNT_READ),
        on_account(&cat.settings_read),
        on_account(K_TOKEN_LIST),
    ];

    // Before: the role only.
    warm(
        &app,
        &member(&p.id),
        &checks,
        &[false, false, true, false, false],
        "before joining",
    )
    .await;
    for _ in 0..2 {
        assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    }
    warm_effective(
        &app,
        &p.id,
        &[from(&cat.minimal_role, "role", &cat.minimal_role)],
    )
    .await;

    add_to_group(&app, &g, &[&p.id]).await;

    // After: enforcement asks first, then the decision API, then effective policies.
    assert_served(&list_rgs(&app, &p.cred).await);
    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[true, true, true, true, false],
        "right after joining",
    )
    .await;
    assert_eq!(
        decided_by(&d[0]),
        vec![by(&gp[0], "allow", "user_group", &g)],
        "{d:#?}"
    );
    assert_eq!(
        d[0]["decided_by"][0]["source"]["user_group"]["name"],
        json!("Readers")
    );
    let ep = effective(&app, &p.id).await;
    assert_eq!(
        provenance(&ep),
        vec![
            from(&cat.minimal_role, "role", &cat.minimal_role),
            from(&gp[0], "user_group", &g),
        ],
        "{ep}"
    );
    assert_denied(&list_tokens(&app, &p.cred).await, K_TOKEN_LIST);
}

/// `DELETE .../user_groups/{g}/members/{m}` revokes what the group granted with the next
/// request (the decision API asks first here).
#[tokio::test]
async fn leaving_a_user_group_revokes_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "leaver@example.com", roles(&cat.minimal_role)).await;
    let stays = person(&app, "stays@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Readers",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    add_to_group(&app, &g, &[&p.id, &stays.id]).await;
    let checks = [on_account(K_RG_LIST), on_account(&cat.settings_read)];

    for who in [&p, &stays] {
        warm(
            &app,
            &member(&who.id),
            &checks,
            &[true, true],
            "in the group",
        )
        .await;
        for _ in 0..2 {
            assert_served(&list_rgs(&app, &who.cred).await);
        }
    }
    warm_effective(
        &app,
        &p.id,
        &[
            from(&cat.minimal_role, "role", &cat.minimal_role),
            from(&gp[0], "user_group", &g),
        ],
    )
    .await;

    let r = app
        .delete(&gm_path(&app, &g, &format!("/{}", p.id)), &app.admin())
        .await;
    assert_eq!(str_field(r.ok(), "id"), p.id, "{r}");

    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[false, false],
        "right after leaving",
    )
    .await;
    assert!(
        decided_by(&d[0]).is_empty(),
        "nothing allows any more: {d:#?}"
    );
    assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    assert_eq!(
        provenance(&effective(&app, &p.id).await),
        vec![from(&cat.minimal_role, "role", &cat.minimal_role)]
    );
    // The other member of the group keeps it.
    assert_served(&list_rgs(&app, &stays.cred).await);
    expect(&app, &member(&stays.id), &checks, &[true, true], "stays").await;
}

/// `PUT .../user_groups/{g}/members` replaces the membership: whoever it drops loses the
/// group's permissions, whoever it adds gains them, `[]` drops everyone, each with the next
/// request.
#[tokio::test]
async fn replacing_a_groups_members_applies_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "first@example.com", roles(&cat.minimal_role)).await;
    let q = person(&app, "second@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Readers",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    add_to_group(&app, &g, &[&p.id]).await;
    let checks = [on_account(K_RG_LIST), on_account(K_MEMBER_READ)];
    let role_only = vec![from(&cat.minimal_role, "role", &cat.minimal_role)];
    let with_group = vec![
        from(&cat.minimal_role, "role", &cat.minimal_role),
        from(&gp[0], "user_group", &g),
    ];

    warm(
        &app,
        &member(&p.id),
        &checks,
        &[true, true],
        "p in the group",
    )
    .await;
    warm(&app, &member(&q.id), &checks, &[false, false], "q outside").await;
    for _ in 0..2 {
        assert_served(&list_rgs(&app, &p.cred).await);
        assert_denied(&list_rgs(&app, &q.cred).await, K_RG_LIST);
    }
    warm_effective(&app, &p.id, &with_group).await;
    warm_effective(&app, &q.id, &role_only).await;

    // [p] -> [q]: enforcement asks first.
    let r = app
        .put(
            &gm_path(&app, &g, ""),
            &app.admin(),
            json!([{ "id": q.id }]),
        )
        .await;
    assert_eq!(ids(r.list()), vec![q.id.clone()], "{r}");
    assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    assert_served(&list_rgs(&app, &q.cred).await);
    expect(&app, &member(&p.id), &checks, &[false, false], "p dropped").await;
    expect(&app, &member(&q.id), &checks, &[true, true], "q added").await;
    assert_eq!(provenance(&effective(&app, &p.id).await), role_only);
    assert_eq!(provenance(&effective(&app, &q.id).await), with_group);

    // Warm again, then [q] -> []: the decision API asks first.
    warm(
        &app,
        &member(&q.id),
        &checks,
        &[true, true],
        "q in the group",
    )
    .await;
    assert_served(&list_rgs(&app, &q.cred).await);
    let r = app
        .put(&gm_path(&app, &g, ""), &app.admin(), json!([]))
        .await;
    assert!(r.list().is_empty(), "{r}");
    expect(
        &app,
        &member(&q.id),
        &checks,
        &[false, false],
        "group emptied",
    )
    .await;
    assert_denied(&list_rgs(&app, &q.cred).await, K_RG_LIST);
    assert_eq!(provenance(&effective(&app, &q.id).await), role_only);
}

/// `PUT .../user_groups/{g}` with other policies changes every member's decisions at once:
/// an added deny overrides the allow, a new permission group grants more, no policies grant
/// nothing.
#[tokio::test]
async fn changing_a_groups_policies_changes_decisions_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "member@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Readers",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    add_to_group(&app, &g, &[&p.id]).await;
    let checks = [
        on_account(K_RG_LIST),
        on_account(K_ORG_EDIT),
        on_account(K_ACCOUNT_READ),
    ];
    let role = from(&cat.minimal_role, "role", &cat.minimal_role);
    let update = |policies: Value| {
        let app = &app;
        let g = g.clone();
        async move {
            let r = app
                .put(
                    &ug_path(app, &format!("/{g}")),
                    &app.admin(),
                    json!({ "policies": policies }),
                )
                .await;
            policy_ids(r.ok())
        }
    };

    warm(
        &app,
        &member(&p.id),
        &checks,
        &[true, false, true],
        "allowed",
    )
    .await;
    for _ in 0..2 {
        assert_served(&list_rgs(&app, &p.cred).await);
    }
    warm_effective(&app, &p.id, &[role.clone(), from(&gp[0], "user_group", &g)]).await;

    // 1. Keep the allow, add a deny of the same group: enforcement asks first.
    let mut kept = policy("allow", &[&cat.settings_read], &[&all]);
    kept["id"] = json!(gp[0]);
    let now = update(json!([
        kept,
        policy("deny", &[&cat.settings_read], &[&all])
    ]))
    .await;
    assert_eq!(now.len(), 2);
    assert_eq!(now[0], gp[0], "the allow keeps its id");
    let deny = now[1].clone();
    assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[false, false, false],
        "deny added",
    )
    .await;
    assert_eq!(
        decided_by(&d[0]),
        vec![by(&deny, "deny", "user_group", &g)],
        "the deny decides: {d:#?}"
    );
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("denied by"),
        "{d:#?}"
    );
    assert_eq!(
        provenance(&effective(&app, &p.id).await),
        vec![
            role.clone(),
            from(&gp[0], "user_group", &g),
            from(&deny, "user_group", &g),
        ]
    );

    // 2. Replace both by an allow of Account Settings Write: the decision API asks first.
    warm(
        &app,
        &member(&p.id),
        &checks,
        &[false, false, false],
        "denied",
    )
    .await;
    assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    let now = update(json!([policy("allow", &[&cat.settings_write], &[&all])])).await;
    assert_eq!(now.len(), 1);
    assert!(!gp.contains(&now[0]) && now[0] != deny, "a new policy id");
    let write = now[0].clone();
    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[true, true, true],
        "write granted",
    )
    .await;
    assert_eq!(
        decided_by(&d[1]),
        vec![by(&write, "allow", "user_group", &g)],
        "{d:#?}"
    );
    assert_served(&list_rgs(&app, &p.cred).await);
    assert_eq!(
        provenance(&effective(&app, &p.id).await),
        vec![role.clone(), from(&write, "user_group", &g)]
    );

    // 3. No policies at all: only the role is left.
    warm(&app, &member(&p.id), &checks, &[true, true, true], "write").await;
    let now = update(json!([])).await;
    assert!(now.is_empty());
    assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    expect(
        &app,
        &member(&p.id),
        &checks,
        &[false, false, true],
        "no policies",
    )
    .await;
    assert_eq!(provenance(&effective(&app, &p.id).await), vec![role]);
}

/// `PUT .../resource_groups/{rg}` with other scope objects moves the grant of every policy that
/// uses it (a member's own policy and a user group's) from one zone to another, at once.
#[tokio::test]
async fn changing_a_resource_groups_objects_moves_the_grant_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let account_key = account_resource(&app.boot.account_id);
    let scoped = str_field(
        &create_rg(&app, "Scoped", &[account_key.clone(), zone(1)]).await,
        "id",
    );
    let own = person(
        &app,
        "own@example.com",
        json!({ "policies": [policy("allow", &[&cat.settings_read], &[&scoped])] }),
    )
    .await;
    let grouped = person(&app, "grouped@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Zone readers",
        json!([policy("allow", &[&cat.settings_read], &[&scoped])]),
    )
    .await;
    add_to_group(&app, &g, &[&grouped.id]).await;
    let checks = [
        on(K_RG_READ, &zone(1)),
        on(K_RG_READ, &zone(2)),
        on_account(K_RG_READ),
        on(&cat.settings_read, &zone(1)),
        on(&cat.settings_read, &zone(2)),
    ];
    let resources_of = |ep: &Value, policy: &str| -> Value {
        ep["policies"]
            .as_array()
            .expect("policies")
            .iter()
            .find(|p| p["id"] == policy)
            .unwrap_or_else(|| panic!("policy {policy} in {ep}"))["resources"]
            .clone()
    };
    let own_policy = {
        let ep = effective(&app, &own.id).await;
        let ps = provenance(&ep);
        assert_eq!(ps.len(), 1, "{ep}");
        assert_eq!(ps[0].1, "member", "{ep}");
        ps[0].0.clone()
    };

    for who in [&own, &grouped] {
        warm(
            &app,
            &member(&who.id),
            &checks,
            &[true, false, true, true, false],
            "zone 1",
        )
        .await;
    }
    let ep = effective(&app, &own.id).await;
    assert_eq!(
        resources_of(&ep, &own_policy),
        json!([account_key, zone(1)])
    );
    let ep = warm_effective(
        &app,
        &grouped.id,
        &[
            from(&cat.minimal_role, "role", &cat.minimal_role),
            from(&gp[0], "user_group", &g),
        ],
    )
    .await;
    assert_eq!(resources_of(&ep, &gp[0]), json!([account_key, zone(1)]));

    // Zone 1 -> zone 2.
    let r = app
        .put(
            &rg_path(&app, &format!("/{scoped}")),
            &app.admin(),
            json!({ "scope": scope_for(&app.boot.account_id, &[account_key.clone(), zone(2)]) }),
        )
        .await;
    r.ok();
    for who in [&grouped, &own] {
        expect(
            &app,
            &member(&who.id),
            &checks,
            &[false, true, true, false, true],
            "zone 2",
        )
        .await;
    }
    let ep = effective(&app, &own.id).await;
    assert_eq!(
        resources_of(&ep, &own_policy),
        json!([account_key, zone(2)])
    );
    let ep = effective(&app, &grouped.id).await;
    assert_eq!(resources_of(&ep, &gp[0]), json!([account_key, zone(2)]));

    // Warm again; then the whole account: effective policies ask first.
    for who in [&own, &grouped] {
        warm(
            &app,
            &member(&who.id),
            &checks,
            &[false, true, true, false, true],
            "zone 2",
        )
        .await;
    }
    let r = app
        .put(
            &rg_path(&app, &format!("/{scoped}")),
            &app.admin(),
            json!({ "scope": scope_for(&app.boot.account_id, &["*"]) }),
        )
        .await;
    r.ok();
    let ep = effective(&app, &grouped.id).await;
    assert_eq!(resources_of(&ep, &gp[0]), json!(["*"]));
    for who in [&own, &grouped] {
        expect(
            &app,
            &member(&who.id),
            &checks,
            &[true, true, true, true, true],
            "whole account",
        )
        .await;
    }
}

/// `PUT /accounts/{a}/members/{m}` with other roles or policies changes the member's decisions
/// and their real access with the next request.
#[tokio::test]
async fn changing_a_members_own_grants_changes_decisions_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "changing@example.com", roles(&cat.minimal_role)).await;
    let checks = [
        on_account(K_RG_LIST),
        on_account(K_TOKEN_LIST),
        on_account(K_ACCOUNT_READ),
    ];
    let update = |body: Value| {
        let app = &app;
        let id = p.id.clone();
        async move {
            let r = app
                .put(&app.acct(&format!("/members/{id}")), &app.admin(), body)
                .await;
            r.ok().clone()
        }
    };

    warm(
        &app,
        &member(&p.id),
        &checks,
        &[false, false, true],
        "minimal",
    )
    .await;
    for _ in 0..2 {
        assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
        assert_denied(&list_tokens(&app, &p.cred).await, K_TOKEN_LIST);
    }
    warm_effective(
        &app,
        &p.id,
        &[from(&cat.minimal_role, "role", &cat.minimal_role)],
    )
    .await;

    // 1. Roles: Minimal -> Administrator Read Only. Enforcement asks first.
    update(json!({ "roles": [cat.read_only_role] })).await;
    assert_served(&list_rgs(&app, &p.cred).await);
    assert_served(&list_tokens(&app, &p.cred).await);
    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[true, true, true],
        "read only",
    )
    .await;
    assert_eq!(
        decided_by(&d[0]),
        vec![by(&cat.read_only_role, "allow", "role", "")],
        "{d:#?}"
    );
    assert_eq!(
        provenance(&effective(&app, &p.id).await),
        vec![from(&cat.read_only_role, "role", &cat.read_only_role)]
    );

    // 2. Roles -> a policy of Account API Tokens Read. The decision API asks first.
    warm(
        &app,
        &member(&p.id),
        &checks,
        &[true, true, true],
        "read only",
    )
    .await;
    let m = update(json!({ "policies": [policy("allow", &[&cat.tokens_read], &[&all])] })).await;
    let own = policy_ids(&m);
    assert_eq!(own.len(), 1, "{m}");
    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[false, true, false],
        "tokens read",
    )
    .await;
    assert_eq!(
        decided_by(&d[1]),
        vec![by(&own[0], "allow", "member", "")],
        "{d:#?}"
    );
    assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    assert_served(&list_tokens(&app, &p.cred).await);
    assert_eq!(
        provenance(&effective(&app, &p.id).await),
        vec![from(&own[0], "member", "")]
    );

    // 3. Add a deny of the same group to the member's own policies. Effective policies first.
    warm_effective(&app, &p.id, &[from(&own[0], "member", "")]).await;
    assert_served(&list_tokens(&app, &p.cred).await);
    let mut kept = policy("allow", &[&cat.tokens_read], &[&all]);
    kept["id"] = json!(own[0]);
    let m =
        update(json!({ "policies": [kept, policy("deny", &[&cat.tokens_read], &[&all])] })).await;
    let now = policy_ids(&m);
    assert_eq!(now.len(), 2, "{m}");
    assert_eq!(
        provenance(&effective(&app, &p.id).await),
        vec![from(&now[0], "member", ""), from(&now[1], "member", "")]
    );
    assert_denied(&list_tokens(&app, &p.cred).await, K_TOKEN_LIST);
    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[false, false, false],
        "denied",
    )
    .await;
    assert_eq!(
        decided_by(&d[1]),
        vec![by(&now[1], "deny", "member", "")],
        "{d:#?}"
    );
}

/// `PUT /accounts/{a}/members/{m}` with `status: pending` blocks every check and the member's
/// access with the next request; accepting again restores both at once.
#[tokio::test]
async fn a_member_set_to_pending_is_blocked_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let p = person(&app, "pending@example.com", roles(&cat.read_only_role)).await;
    let checks = [
        on_account(K_RG_LIST),
        on_account(K_ACCOUNT_READ),
        on_account(K_TOKEN_LIST),
        on(K_RG_READ, &zone(7)),
    ];
    let set_status = |status: &'static str| {
        let app = &app;
        let id = p.id.clone();
        async move {
            let r = app
                .put(
                    &app.acct(&format!("/members/{id}")),
                    &app.admin(),
                    json!({ "status": status }),
                )
                .await;
            assert_eq!(r.ok()["status"], json!(status), "{r}");
        }
    };

    warm(&app, &member(&p.id), &checks, &[true; 4], "accepted").await;
    for _ in 0..2 {
        assert_served(&list_rgs(&app, &p.cred).await);
    }
    let ep = effective(&app, &p.id).await;
    assert_eq!(ep["status"], json!("accepted"), "{ep}");

    // Pending: enforcement asks first.
    set_status("pending").await;
    assert_outsider(&list_rgs(&app, &p.cred).await);
    let d = expect(&app, &member(&p.id), &checks, &[false; 4], "pending").await;
    for r in &d {
        assert!(
            r["reason"].as_str().unwrap_or_default().contains("pending"),
            "the reason names the status: {r}"
        );
    }
    let ep = effective(&app, &p.id).await;
    assert_eq!(ep["status"], json!("pending"), "{ep}");

    // Accepted again: the decision API asks first.
    warm(&app, &member(&p.id), &checks, &[false; 4], "pending").await;
    assert_outsider(&list_rgs(&app, &p.cred).await);
    set_status("accepted").await;
    warm(&app, &member(&p.id), &checks, &[true; 4], "accepted again").await;
    assert_served(&list_rgs(&app, &p.cred).await);
    assert_eq!(effective(&app, &p.id).await["status"], json!("accepted"));
}

/// `DELETE .../user_groups/{g}` takes the group's policies from every member at once.
#[tokio::test]
async fn deleting_a_user_group_revokes_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "grouped@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Doomed",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    let (other, op) = group(
        &app,
        "Kept",
        json!([policy("allow", &[&cat.tokens_read], &[&all])]),
    )
    .await;
    add_to_group(&app, &g, &[&p.id]).await;
    add_to_group(&app, &other, &[&p.id]).await;
    let checks = [on_account(K_RG_LIST), on_account(K_TOKEN_LIST)];
    let role = from(&cat.minimal_role, "role", &cat.minimal_role);

    warm(&app, &member(&p.id), &checks, &[true, true], "both groups").await;
    for _ in 0..2 {
        assert_served(&list_rgs(&app, &p.cred).await);
    }
    warm_effective(
        &app,
        &p.id,
        &[
            role.clone(),
            from(&gp[0], "user_group", &g),
            from(&op[0], "user_group", &other),
        ],
    )
    .await;

    app.delete(&ug_path(&app, &format!("/{g}")), &app.admin())
        .await
        .ok();

    let d = expect(
        &app,
        &member(&p.id),
        &checks,
        &[false, true],
        "group deleted",
    )
    .await;
    assert_eq!(
        decided_by(&d[1]),
        vec![by(&op[0], "allow", "user_group", &other)]
    );
    assert_denied(&list_rgs(&app, &p.cred).await, K_RG_LIST);
    assert_served(&list_tokens(&app, &p.cred).await);
    assert_eq!(
        provenance(&effective(&app, &p.id).await),
        vec![role, from(&op[0], "user_group", &other)]
    );
}

/// `DELETE /accounts/{a}/members/{m}`: the decision API and effective policies answer 404 for
/// that member id, and the user's key is no longer let into the account, with the next request.
#[tokio::test]
async fn deleting_a_member_makes_it_unknown_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "leaving@example.com", roles(&cat.minimal_role)).await;
    let stays = person(&app, "staying@example.com", roles(&cat.minimal_role)).await;
    let (g, _) = group(
        &app,
        "Readers",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    add_to_group(&app, &g, &[&p.id, &stays.id]).await;
    let checks = [on_account(K_RG_LIST), on_account(K_ACCOUNT_READ)];

    for who in [&p, &stays] {
        warm(&app, &member(&who.id), &checks, &[true, true], "member").await;
        for _ in 0..2 {
            assert_served(&list_rgs(&app, &who.cred).await);
        }
        effective(&app, &who.id).await;
        effective(&app, &who.id).await;
    }

    app.delete(&app.acct(&format!("/members/{}", p.id)), &app.admin())
        .await
        .ok();

    expect_unknown(&app, &member(&p.id), &p.id).await;
    let r = app
        .get(
            &app.acct(&format!("/members/{}/effective_policies", p.id)),
            &app.admin(),
        )
        .await;
    assert_error_mentions(&r, 404, 1003, &[&p.id]);
    assert_outsider(&list_rgs(&app, &p.cred).await);
    // The group's other member is untouched.
    expect(&app, &member(&stays.id), &checks, &[true, true], "stays").await;
    assert_served(&list_rgs(&app, &stays.cred).await);
    assert_eq!(group_member_ids(&app, &g).await, vec![stays.id.clone()]);
}

/// A user who is not in the account is refused (and that absence is remembered); creating an
/// accepted membership for them lets them in with the next request.
#[tokio::test]
async fn a_new_membership_is_seen_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let email = "newcomer@example.com";
    let (_, key) = app.user_key(email, false);
    let cred = Cred::key(email, &key);
    for _ in 0..3 {
        assert_outsider(&list_rgs(&app, &cred).await);
    }

    let id = join_account(
        &app,
        &app.boot.account_id,
        &app.admin(),
        email,
        roles(&cat.read_only_role),
    )
    .await;

    assert_served(&list_rgs(&app, &cred).await);
    expect(
        &app,
        &member(&id),
        &[on_account(K_RG_LIST)],
        &[true],
        "new member",
    )
    .await;
}

/// An account-owned token: `PUT .../tokens/{t}` with other policies changes the decisions for
/// `{"token_id"}` and what the token itself may do, with the next request; disabling it blocks
/// every check at once.
#[tokio::test]
async fn changing_a_token_changes_its_decisions_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let account_key = account_resource(&app.boot.account_id);
    let token_body = |group: &str, effect: &str| json!({ "effect": effect, "permission_groups": [{ "id": group }], "resources": { account_key.clone(): "*" } });
    let (t, value) = app
        .create_account_token(
            &app.boot.account_id,
            &app.admin(),
            json!({ "name": "changing", "policies": [token_body(&cat.settings_read, "allow")] }),
        )
        .await;
    let tc = Cred::token(&value);
    let checks = [
        on_account(K_RG_LIST),
        on_account(K_TOKEN_LIST),
        on_account(&cat.tokens_read),
    ];
    let update = |body: Value| {
        let app = &app;
        let t = t.clone();
        async move {
            let r = app
                .put(&app.acct(&format!("/tokens/{t}")), &app.admin(), body)
                .await;
            r.ok().clone()
        }
    };

    warm(
        &app,
        &token(&t),
        &checks,
        &[true, false, false],
        "settings read",
    )
    .await;
    for _ in 0..2 {
        assert_served(&list_rgs(&app, &tc).await);
        assert_denied(&list_tokens(&app, &tc).await, K_TOKEN_LIST);
    }

    // 1. Other policies: the decision API asks first.
    let v = update(json!({ "policies": [token_body(&cat.tokens_read, "allow")] })).await;
    let tp = str_field(&v["policies"][0], "id");
    let d = expect(
        &app,
        &token(&t),
        &checks,
        &[false, true, true],
        "tokens read",
    )
    .await;
    assert_eq!(decided_by(&d[1]), vec![by(&tp, "allow", "token", "")]);
    assert_eq!(d[1]["decided_by"][0]["source"]["token_id"], json!(t));
    assert_denied(&list_rgs(&app, &tc).await, K_RG_LIST);
    assert_served(&list_tokens(&app, &tc).await);

    // 2. Add a deny: the token itself asks first.
    warm(
        &app,
        &token(&t),
        &checks,
        &[false, true, true],
        "tokens read",
    )
    .await;
    assert_served(&list_tokens(&app, &tc).await);
    let v = update(json!({ "policies": [
        token_body(&cat.tokens_read, "allow"),
        token_body(&cat.tokens_read, "deny"),
    ] }))
    .await;
    let deny = str_field(&v["policies"][1], "id");
    assert_denied(&list_tokens(&app, &tc).await, K_TOKEN_LIST);
    let d = expect(&app, &token(&t), &checks, &[false, false, false], "denied").await;
    assert_eq!(decided_by(&d[1]), vec![by(&deny, "deny", "token", "")]);

    // 3. Back to Account Settings Read, then disabled: every check is blocked at once.
    update(json!({ "policies": [token_body(&cat.settings_read, "allow")] })).await;
    warm(
        &app,
        &token(&t),
        &checks,
        &[true, false, false],
        "settings read",
    )
    .await;
    assert_served(&list_rgs(&app, &tc).await);
    assert_served(&list_rgs(&app, &tc).await);
    let v = update(json!({ "status": "disabled" })).await;
    assert_eq!(v["status"], json!("disabled"), "{v}");
    let d = expect(
        &app,
        &token(&t),
        &checks,
        &[false, false, false],
        "disabled",
    )
    .await;
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot be used"),
        "{d:#?}"
    );
    list_rgs(&app, &tc).await.err(403, 9109);
}

/// `DELETE .../tokens/{t}`: the decision API answers 404 for that token id, and the token no
/// longer authenticates, with the next request.
#[tokio::test]
async fn deleting_a_token_makes_it_unknown_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let account_key = account_resource(&app.boot.account_id);
    let body = |name: &str| json!({ "name": name, "policies": [{ "effect": "allow", "permission_groups": [{ "id": cat.settings_read }], "resources": { account_key.clone(): "*" } }] });
    let (t, value) = app
        .create_account_token(&app.boot.account_id, &app.admin(), body("doomed"))
        .await;
    let (kept, kept_value) = app
        .create_account_token(&app.boot.account_id, &app.admin(), body("kept"))
        .await;
    let checks = [on_account(K_RG_LIST)];
    for (id, v) in [(&t, &value), (&kept, &kept_value)] {
        warm(&app, &token(id), &checks, &[true], "token").await;
        for _ in 0..2 {
            assert_served(&list_rgs(&app, &Cred::token(v)).await);
        }
    }

    app.delete(&app.acct(&format!("/tokens/{t}")), &app.admin())
        .await
        .ok();

    expect_unknown(&app, &token(&t), &t).await;
    list_rgs(&app, &Cred::token(&value)).await.err(403, 9109);
    expect(&app, &token(&kept), &checks, &[true], "the other token").await;
    assert_served(&list_rgs(&app, &Cred::token(&kept_value)).await);
}

/// A user-owned token allows only what its user may do: when the user leaves a group (a write
/// to the account, not to the token), the token's decisions and its real access follow at once.
#[tokio::test]
async fn a_user_tokens_decisions_follow_its_users_grants_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let account_key = account_resource(&app.boot.account_id);
    let p = person(&app, "tokenholder@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Readers",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    add_to_group(&app, &g, &[&p.id]).await;
    let (t, value) = app
        .create_user_token(
            &p.cred,
            json!({ "name": "mine", "policies": [{ "effect": "allow", "permission_groups": [{ "id": cat.settings_read }], "resources": { account_key.clone(): "*" } }] }),
        )
        .await;
    let tc = Cred::token(&value);
    let checks = [on_account(K_RG_LIST), on_account(K_ACCOUNT_READ)];

    let d = warm(
        &app,
        &token(&t),
        &checks,
        &[true, true],
        "user in the group",
    )
    .await;
    let sources: Vec<String> = decided_by(&d[0]).into_iter().map(|b| b.2).collect();
    assert_eq!(
        sources,
        vec!["user_group", "token"],
        "both layers allow: {d:#?}"
    );
    for _ in 0..2 {
        assert_served(&list_rgs(&app, &tc).await);
    }

    // The user leaves the group: the token asks first.
    app.delete(&gm_path(&app, &g, &format!("/{}", p.id)), &app.admin())
        .await
        .ok();
    assert_denied(&list_rgs(&app, &tc).await, K_RG_LIST);
    let d = expect(&app, &token(&t), &checks, &[false, true], "user left").await;
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("member's policies"),
        "the user's layer denies: {d:#?}"
    );

    // And back: the decision API asks first.
    warm(&app, &token(&t), &checks, &[false, true], "user left").await;
    add_to_group(&app, &g, &[&p.id]).await;
    let d = expect(&app, &token(&t), &checks, &[true, true], "user back").await;
    assert!(decided_by(&d[0]).contains(&by(&gp[0], "allow", "user_group", &g)));
    assert_served(&list_rgs(&app, &tc).await);
}

/// Names shown by effective policies and decisions (a user group's, a resource group's) follow
/// renames at once.
#[tokio::test]
async fn effective_policies_follow_renames_at_once() {
    let app = spawn().await;
    let cat = catalog();
    let all = rg_all(&app, "All").await;
    let p = person(&app, "named@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(
        &app,
        "Before",
        json!([policy("allow", &[&cat.settings_read], &[&all])]),
    )
    .await;
    add_to_group(&app, &g, &[&p.id]).await;
    let group_name = |ep: &Value| ep["policies"][1]["source"]["user_group"]["name"].clone();
    let rg_name = |ep: &Value| ep["policies"][1]["resource_groups"][0]["name"].clone();
    let checks = [on_account(K_RG_LIST)];

    let ep = warm_effective(
        &app,
        &p.id,
        &[
            from(&cat.minimal_role, "role", &cat.minimal_role),
            from(&gp[0], "user_group", &g),
        ],
    )
    .await;
    assert_eq!(group_name(&ep), json!("Before"), "{ep}");
    assert_eq!(rg_name(&ep), json!("All"), "{ep}");
    warm(&app, &member(&p.id), &checks, &[true], "named").await;

    app.put(
        &ug_path(&app, &format!("/{g}")),
        &app.admin(),
        json!({ "name": "After" }),
    )
    .await
    .ok();
    let ep = effective(&app, &p.id).await;
    assert_eq!(group_name(&ep), json!("After"), "{ep}");
    let d = expect(&app, &member(&p.id), &checks, &[true], "renamed").await;
    assert_eq!(
        d[0]["decided_by"][0]["source"]["user_group"]["name"],
        json!("After")
    );

    for _ in 0..2 {
        let ep = effective(&app, &p.id).await;
        assert_eq!(rg_name(&ep), json!("All"), "{ep}");
    }
    app.put(
        &rg_path(&app, &format!("/{all}")),
        &app.admin(),
        json!({ "name": "Everything" }),
    )
    .await
    .ok();
    let ep = effective(&app, &p.id).await;
    assert_eq!(rg_name(&ep), json!("Everything"), "{ep}");
}

// ---------------------------------------------------------------------------------------------
// Two accounts
// ---------------------------------------------------------------------------------------------

/// One account's side of [`writes_in_one_account_leave_the_other_accounts_decisions_alone`].
struct Side {
    account: String,
    /// The shared user's membership here.
    member: String,
    /// A user group here holding the member.
    group: String,
}

/// Every key Portcullis decides, on the account and on two zones, plus two permission groups.
fn many_checks(cat: &Catalog) -> Vec<Value> {
    let keys = shared_data("permission_keys.json");
    let mut out = Vec::new();
    for k in keys["keys"].as_object().expect("keys").keys() {
        out.push(on_account(k));
        out.push(on(k, &zone(1)));
        out.push(on(k, &zone(2)));
    }
    out.push(on_account(&cat.settings_read));
    out.push(on_account(&cat.tokens_read));
    out
}

/// Every result of `decide_in` for the side's member, `rounds` times, all equal; returns them.
async fn steady(
    app: &TestApp,
    side: &Side,
    checks: &[Value],
    rounds: usize,
    want: Option<&[Value]>,
    when: &str,
) -> Vec<Value> {
    let op = app.admin_key();
    let first = decide_in(app, &side.account, &op, &member(&side.member), checks).await;
    if let Some(want) = want {
        assert_eq!(first, want, "{when}: account {}", side.account);
    }
    for _ in 1..rounds {
        let again = decide_in(app, &side.account, &op, &member(&side.member), checks).await;
        assert_eq!(again, first, "{when}: account {}", side.account);
    }
    first
}

/// One user is a member of two accounts, in a group in each. Many decisions in both; a write in
/// one account changes that account's answers at once and never the other's (the index is keyed
/// and stamped by account).
#[tokio::test]
async fn writes_in_one_account_leave_the_other_accounts_decisions_alone() {
    let app = spawn().await;
    let cat = catalog();
    let op = app.admin_key();
    let email = "both@example.com";
    let other = app.create_account("Second").await;
    let mut sides = Vec::new();
    for account in [app.boot.account_id.clone(), other.clone()] {
        let rg = app
            .post(
                &format!("/accounts/{account}/iam/resource_groups"),
                &op,
                json!({ "name": "All", "scope": scope_for(&account, &["*"]) }),
            )
            .await;
        let rg = str_field(rg.ok(), "id");
        let g = app
            .post(
                &format!("/accounts/{account}/iam/user_groups"),
                &op,
                json!({ "name": "Readers", "policies": [policy("allow", &[&cat.settings_read], &[&rg])] }),
            )
            .await;
        let g = str_field(g.ok(), "id");
        let m = join_account(&app, &account, &op, email, roles(&cat.minimal_role)).await;
        app.post(
            &format!("/accounts/{account}/iam/user_groups/{g}/members"),
            &op,
            json!([{ "id": m }]),
        )
        .await
        .ok();
        sides.push(Side {
            account,
            member: m,
            group: g,
        });
    }
    let (_, key) = app.user_key(email, false);
    let user = Cred::key(email, &key);
    let (a, b) = (&sides[0], &sides[1]);
    let checks = many_checks(&cat);

    // A member id is only known in its own account.
    for (here, there) in [(a, b), (b, a)] {
        let r = authorize_in(
            &app,
            &here.account,
            &op,
            &member(&there.member),
            &[on_account(K_RG_LIST)],
        )
        .await;
        assert_error_mentions(&r, 404, 1003, &[&there.member]);
    }

    // Warm both, interleaved.
    let base_a = steady(&app, a, &checks, 1, None, "baseline").await;
    let base_b = steady(&app, b, &checks, 1, None, "baseline").await;
    assert_eq!(
        verdicts(&base_a),
        verdicts(&base_b),
        "same grants, same answers"
    );
    for _ in 0..5 {
        steady(&app, a, &checks, 2, Some(&base_a), "warm").await;
        steady(&app, b, &checks, 2, Some(&base_b), "warm").await;
        assert_served(&list_rgs_in(&app, &a.account, &user).await);
        assert_served(&list_rgs_in(&app, &b.account, &user).await);
    }

    // A write in A (the user leaves A's group): A changes at once, B never.
    app.delete(
        &format!(
            "/accounts/{}/iam/user_groups/{}/members/{}",
            a.account, a.group, a.member
        ),
        &op,
    )
    .await
    .ok();
    let after_a = steady(&app, a, &checks, 1, None, "A after its write").await;
    let rg_list = checks
        .iter()
        .position(|c| c == &on_account(K_RG_LIST))
        .expect("rg list is checked");
    assert!(base_a[rg_list]["allowed"].as_bool().unwrap_or(false));
    assert_eq!(
        after_a[rg_list]["allowed"],
        json!(false),
        "{:#}",
        after_a[rg_list]
    );
    assert_denied(&list_rgs_in(&app, &a.account, &user).await, K_RG_LIST);
    for _ in 0..5 {
        steady(&app, b, &checks, 2, Some(&base_b), "B after A's write").await;
        steady(&app, a, &checks, 2, Some(&after_a), "A after its write").await;
        assert_served(&list_rgs_in(&app, &b.account, &user).await);
    }

    // A write in B (its group's policy becomes a deny): B changes at once, A never.
    let r = app
        .get(
            &format!("/accounts/{}/iam/user_groups/{}", b.account, b.group),
            &op,
        )
        .await;
    let rg_b = str_field(&r.ok()["policies"][0]["resource_groups"][0], "id");
    app.put(
        &format!("/accounts/{}/iam/user_groups/{}", b.account, b.group),
        &op,
        json!({ "policies": [policy("deny", &[&cat.settings_read], &[&rg_b])] }),
    )
    .await
    .ok();
    let after_b = steady(&app, b, &checks, 1, None, "B after its write").await;
    assert_eq!(after_b[rg_list]["allowed"], json!(false));
    assert_eq!(
        decided_by(&after_b[rg_list])[0].1,
        "deny",
        "{:#}",
        after_b[rg_list]
    );
    assert_denied(&list_rgs_in(&app, &b.account, &user).await, K_RG_LIST);
    for _ in 0..5 {
        steady(&app, a, &checks, 2, Some(&after_a), "A after B's write").await;
        steady(&app, b, &checks, 2, Some(&after_b), "B after its write").await;
    }

    // Deleting account B: B's decisions are refused at once (nobody is a member of it any
    // more), A's stay as they were.
    app.delete(&format!("/accounts/{}", b.account), &op)
        .await
        .ok();
    let r = authorize_in(&app, &b.account, &op, &member(&b.member), &checks).await;
    assert_outsider(&r);
    assert_outsider(&list_rgs_in(&app, &b.account, &user).await);
    steady(&app, a, &checks, 3, Some(&after_a), "A after B was deleted").await;
}

// ---------------------------------------------------------------------------------------------
// A token used while it is written
// ---------------------------------------------------------------------------------------------

/// A request authenticated with a token while an administrator changes or deletes that token
/// must not leave the old token in the index: once the write has answered, the decision API
/// answers for `{"token_id"}` from the new token (or 404 when it is gone).
///
/// Each trial uses a fresh token, whose first use also records `last_used_on`, and sends the
/// token's own request and the write together; then, after both have answered, one decision.
///
/// This failed before `token_layer` (`portcullis-core/src/service/authorize.rs`) read the token
/// again on a miss: it indexed the token *as authenticated*, read before the write committed,
/// under the stamp read *after* the write recorded its change, so the old token was served as
/// current to later decisions.
#[tokio::test]
async fn a_token_used_while_it_is_written_is_not_indexed_stale() {
    const TRIALS: usize = 300;
    let app = spawn().await;
    let cat = catalog();
    let admin = app.admin();
    let account_key = account_resource(&app.boot.account_id);
    let policies = |group: &str| json!([{ "effect": "allow", "permission_groups": [{ "id": group }], "resources": { account_key.clone(): "*" } }]);
    let checks = [on_account(K_RG_LIST), on_account(K_TOKEN_LIST)];
    let mut stale = Vec::new();
    for i in 0..TRIALS {
        let (t, value) = app
            .create_account_token(
                &app.boot.account_id,
                &admin,
                json!({ "name": format!("raced {i}"), "policies": policies(&cat.settings_read) }),
            )
            .await;
        let path = app.acct(&format!("/tokens/{t}"));
        let cred = Cred::token(&value);
        let used = list_rgs(&app, &cred);
        if i % 2 == 0 {
            let write = app.put(
                &path,
                &admin,
                json!({ "policies": policies(&cat.tokens_read) }),
            );
            let (_, written) = tokio::join!(used, write);
            written.ok();
            let d = decide(&app, &token(&t), &checks).await;
            if verdicts(&d) != [false, true] {
                stale.push(format!(
                    "trial {i}: PUT answered, then the decision API still used the old policies: {d:?}"
                ));
            }
        } else {
            let (_, written) = tokio::join!(used, app.delete(&path, &admin));
            written.ok();
            let r = authorize_in(&app, &app.boot.account_id, &admin, &token(&t), &checks).await;
            if r.status != 404 {
                stale.push(format!(
                    "trial {i}: DELETE answered, then the decision API still decided for the token: {r}"
                ));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{} of {TRIALS} trials served a stale token:\n{}",
        stale.len(),
        stale.join("\n")
    );
}
