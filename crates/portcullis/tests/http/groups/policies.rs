//! Policy validation and expansion, shared by user groups and account members
//! (api.md §5 "User groups", "Account members"; api-decisions.md "Policies").

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn next() -> usize {
    SEQ.fetch_add(1, Ordering::SeqCst)
}

/// Where a policy list is submitted.
#[derive(Clone, Copy, Debug)]
enum Owner<'a> {
    GroupCreate,
    GroupUpdate(&'a str),
    MemberCreate,
    MemberUpdate(&'a str),
}

async fn submit(app: &TestApp, owner: Owner<'_>, policies: Value) -> Resp {
    match owner {
        Owner::GroupCreate => {
            app.post(
                &ug_path(app, ""),
                &app.admin(),
                json!({ "name": format!("group {}", next()), "policies": policies }),
            )
            .await
        }
        Owner::GroupUpdate(id) => {
            app.put(
                &ug_path(app, &format!("/{id}")),
                &app.admin(),
                json!({ "policies": policies }),
            )
            .await
        }
        Owner::MemberCreate => {
            app.post(
                &app.acct("/members"),
                &app.admin(),
                json!({ "email": format!("p{}@example.com", next()), "policies": policies }),
            )
            .await
        }
        Owner::MemberUpdate(id) => {
            app.put(
                &app.acct(&format!("/members/{id}")),
                &app.admin(),
                json!({ "policies": policies }),
            )
            .await
        }
    }
}

struct Fixture {
    all: String,
    zones: String,
    account_key: String,
    mixed: String,
    foreign: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let other = app.create_account("Other").await;
    let r = app
        .post(
            &format!("/accounts/{other}/iam/resource_groups"),
            &app.admin_key(),
            json!({ "name": "Foreign", "scope": scope_for(&other, &["*"]) }),
        )
        .await;
    let foreign = str_field(r.ok(), "id");
    Fixture {
        all: rg_all(app, "All").await,
        zones: rg_zones(app, "Zones").await,
        account_key: str_field(
            &create_rg(
                app,
                "Account key",
                &[account_resource(&app.boot.account_id)],
            )
            .await,
            "id",
        ),
        mixed: str_field(
            &create_rg(app, "Mixed", &[zone(3), "*".to_string()]).await,
            "id",
        ),
        foreign,
    }
}

/// (policies, pointer) pairs refused with 400/1001.
fn invalid_cases(f: &Fixture) -> Vec<(Value, &'static str)> {
    let ok = policy("allow", &[PG_ADMINISTRATOR], &[&f.all]);
    vec![
        (
            json!([policy("allow", &[UNKNOWN_ID], &[&f.all])]),
            "/policies/0/permission_groups/0/id",
        ),
        (
            json!([policy("allow", &["Administrator"], &[&f.all])]),
            "/policies/0/permission_groups/0/id",
        ),
        (
            json!([policy("allow", &[PG_ADMINISTRATOR], &[UNKNOWN_ID])]),
            "/policies/0/resource_groups/0/id",
        ),
        (
            json!([policy("allow", &[PG_ADMINISTRATOR], &["xyz"])]),
            "/policies/0/resource_groups/0/id",
        ),
        (
            json!([policy("allow", &[PG_ADMINISTRATOR], &[&f.all, &f.foreign])]),
            "/policies/0/resource_groups/1/id",
        ),
        (
            json!([policy("allow", &[], &[&f.all])]),
            "/policies/0/permission_groups",
        ),
        (
            json!([policy("allow", &[PG_ADMINISTRATOR], &[])]),
            "/policies/0/resource_groups",
        ),
        (
            json!([policy(
                "allow",
                &[PG_ZONE_READ, PG_BOT_MANAGEMENT, PG_ZONE_READ],
                &[&f.all]
            )]),
            "/policies/0/permission_groups/2/id",
        ),
        (
            json!([policy("allow", &[PG_ADMINISTRATOR], &[&f.all, &f.all])]),
            "/policies/0/resource_groups/1/id",
        ),
        (
            json!([policy("maybe", &[PG_ADMINISTRATOR], &[&f.all])]),
            "/policies/0/access",
        ),
        (
            json!([policy("ALLOW", &[PG_ADMINISTRATOR], &[&f.all])]),
            "/policies/0/access",
        ),
        (
            json!([{ "permission_groups": [{ "id": PG_ADMINISTRATOR }], "resource_groups": [{ "id": f.all }] }]),
            "/policies/0/access",
        ),
        (
            json!([ok.clone(), policy("allow", &[UNKNOWN_ID], &[&f.all])]),
            "/policies/1/permission_groups/0/id",
        ),
        (
            json!([ok.clone(), { "access": "deny", "permission_groups": "all", "resource_groups": [{ "id": f.all }] }]),
            "/policies/1/permission_groups",
        ),
        (
            json!([{ "access": "deny", "permission_groups": [{}], "resource_groups": [{ "id": f.all }] }]),
            "/policies/0/permission_groups/0/id",
        ),
        (
            json!([{ "access": "deny", "permission_groups": [{ "id": PG_ADMINISTRATOR }] }]),
            "/policies/0/resource_groups",
        ),
    ]
}

/// (policies, pointer, needles) refused with 400/1006.
fn incompatible_cases(f: &Fixture) -> Vec<(Value, &'static str, Vec<&'static str>)> {
    let ok = policy("allow", &[PG_ZONE_READ], &[&f.zones]);
    vec![
        // Account-scoped member group on zones only.
        (
            json!([policy("allow", &[PG_ADMINISTRATOR], &[&f.zones])]),
            "/policies/0",
            vec!["Administrator", "Zones"],
        ),
        // Every (permission group, resource group) pair is checked.
        (
            json!([
                ok.clone(),
                policy("allow", &[PG_ADMINISTRATOR], &[&f.all, &f.zones])
            ]),
            "/policies/1",
            vec!["Administrator", "Zones"],
        ),
        // Zone-scoped token group on a group holding only the account key.
        (
            json!([policy("deny", &[PG_ZONE_READ], &[&f.account_key])]),
            "/policies/0",
            vec!["Zone Read", "Account key"],
        ),
        // Zone-scoped member group likewise.
        (
            json!([policy("allow", &[PG_BOT_MANAGEMENT], &[&f.account_key])]),
            "/policies/0",
            vec!["Bot Management", "Account key"],
        ),
        // User-scoped token groups are refused in accounts, whatever the resource group.
        (
            json!([policy("allow", &[PG_API_TOKENS_READ], &[&f.all])]),
            "/policies/0",
            vec!["API Tokens Read", "All"],
        ),
        (
            json!([
                ok.clone(),
                ok.clone(),
                policy("allow", &[PG_USER_DETAILS_READ], &[&f.mixed])
            ]),
            "/policies/2",
            vec!["Mixed"],
        ),
        // Account-scoped token group on zones.
        (
            json!([policy("allow", &[PG_ACCOUNT_SETTINGS_READ], &[&f.zones])]),
            "/policies/0",
            vec!["Zones"],
        ),
        // R2 bucket groups need bucket keys or `*`.
        (
            json!([policy("allow", &[PG_R2_ITEM_READ], &[&f.zones])]),
            "/policies/0",
            vec!["Zones"],
        ),
    ]
}

/// Accepted combinations.
fn valid_cases(f: &Fixture) -> Vec<Value> {
    vec![
        json!([policy("allow", &[PG_ADMINISTRATOR], &[&f.all])]),
        json!([policy("allow", &[PG_ADMINISTRATOR], &[&f.account_key])]),
        json!([policy("allow", &[PG_ADMINISTRATOR], &[&f.mixed, &f.all])]),
        json!([policy("deny", &[PG_ZONE_READ], &[&f.zones])]),
        json!([policy(
            "deny",
            &[PG_ZONE_READ, PG_BOT_MANAGEMENT],
            &[&f.all, &f.zones, &f.mixed]
        )]),
        json!([policy(
            "allow",
            &[PG_ACCOUNT_SETTINGS_READ],
            &[&f.account_key]
        )]),
        json!([policy("allow", &[PG_R2_ITEM_READ], &[&f.all])]),
        json!([
            policy("allow", &[PG_ADMINISTRATOR], &[&f.all]),
            policy("deny", &[PG_ZONE_READ], &[&f.zones]),
        ]),
    ]
}

async fn check_owner(app: &TestApp, f: &Fixture, owner: Owner<'_>, before: &Value) {
    for (policies, ptr) in invalid_cases(f) {
        let r = submit(app, owner, policies.clone()).await;
        assert!(
            r.status == 400 && r.pointers().iter().any(|p| p == ptr),
            "{owner:?} {policies}: expected 400/1001 at {ptr}: {r}"
        );
        assert_only_pointer(&r, ptr);
    }
    for (policies, ptr, needles) in incompatible_cases(f) {
        let r = submit(app, owner, policies.clone()).await;
        let e = r.err(400, 1006);
        assert_eq!(
            e["source"]["pointer"],
            json!(ptr),
            "{owner:?} {policies}: pointer: {r}"
        );
        let msg = e["message"].as_str().unwrap_or_default();
        for n in needles {
            assert!(msg.contains(n), "{owner:?}: message should name {n:?}: {r}");
        }
    }
    // Nothing was written by the refused requests.
    match owner {
        Owner::GroupCreate => {
            let r = app.get(&ug_path(app, ""), &app.admin()).await;
            assert_eq!(r.list(), before.as_array().expect("list"), "{r}");
        }
        Owner::MemberCreate => {
            let r = app
                .get(&app.acct("/members?per_page=50"), &app.admin())
                .await;
            assert_eq!(ids(r.list()), ids(before.as_array().expect("list")), "{r}");
        }
        Owner::GroupUpdate(id) => {
            let r = app
                .get(&ug_path(app, &format!("/{id}")), &app.admin())
                .await;
            assert_eq!(r.ok(), before, "{r}");
        }
        Owner::MemberUpdate(id) => {
            let r = app
                .get(&app.acct(&format!("/members/{id}")), &app.admin())
                .await;
            assert_eq!(r.ok()["policies"], before["policies"], "{r}");
        }
    }
    for policies in valid_cases(f) {
        let r = submit(app, owner, policies.clone()).await;
        let v = r.ok();
        let got = v["policies"].as_array().expect("policies");
        let want = policies.as_array().expect("policies");
        assert_eq!(got.len(), want.len(), "{r}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g["access"], w["access"], "{r}");
            assert_eq!(
                ids(g["permission_groups"].as_array().expect("pgs")),
                ids(w["permission_groups"].as_array().expect("pgs")),
                "{r}"
            );
            assert_eq!(
                ids(g["resource_groups"].as_array().expect("rgs")),
                ids(w["resource_groups"].as_array().expect("rgs")),
                "{r}"
            );
        }
    }
}

#[tokio::test]
async fn user_group_create_validates_policies() {
    let app = TestApp::spawn();
    let f = fixture(&app).await;
    check_owner(&app, &f, Owner::GroupCreate, &json!([])).await;
}

#[tokio::test]
async fn user_group_update_validates_policies() {
    let app = TestApp::spawn();
    let f = fixture(&app).await;
    let g = create_ug(
        &app,
        "Target",
        Some(json!([policy("allow", &[PG_ADMINISTRATOR], &[&f.all])])),
    )
    .await;
    let id = str_field(&g, "id");
    check_owner(&app, &f, Owner::GroupUpdate(&id), &g).await;
}

#[tokio::test]
async fn member_create_validates_policies() {
    let app = TestApp::spawn();
    let f = fixture(&app).await;
    let r = app
        .get(&app.acct("/members?per_page=50"), &app.admin())
        .await;
    let before = json!(r.list());
    check_owner(&app, &f, Owner::MemberCreate, &before).await;
}

#[tokio::test]
async fn member_update_validates_policies() {
    let app = TestApp::spawn();
    let f = fixture(&app).await;
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({
                "email": "target@example.com",
                "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&f.all])],
            }),
        )
        .await;
    let m = r.ok().clone();
    let id = str_field(&m, "id");
    check_owner(&app, &f, Owner::MemberUpdate(&id), &m).await;
}

#[tokio::test]
async fn administrator_permission_group_id_is_derived_from_its_name() {
    let app = TestApp::spawn();
    let r = app
        .get(
            &app.acct(&format!("/iam/permission_groups/{PG_ADMINISTRATOR}")),
            &app.admin(),
        )
        .await;
    assert_eq!(r.ok()["name"], json!("Administrator"), "{r}");
}

#[tokio::test]
async fn member_policies_are_expanded_and_keep_their_order_and_ids() {
    let app = TestApp::spawn();
    let all = create_rg(&app, "All", &["*"]).await;
    let zones = create_rg(&app, "Zones", &[zone(1), zone(2)]).await;
    let all_id = str_field(&all, "id");
    let zones_id = str_field(&zones, "id");
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({
                "email": "Dana@Example.com",
                "policies": [
                    policy("deny", &[PG_ZONE_READ, PG_BOT_MANAGEMENT], &[&zones_id, &all_id]),
                    policy("allow", &[PG_ADMINISTRATOR], &[&all_id]),
                ],
            }),
        )
        .await;
    let m = r.ok().clone();
    let mid = str_field(&m, "id");
    let ps = m["policies"].as_array().expect("policies").clone();
    assert_eq!(ps.len(), 2, "{r}");
    assert_eq!(ps[0]["access"], json!("deny"), "{r}");
    assert_eq!(
        names(ps[0]["permission_groups"].as_array().expect("pgs")),
        vec!["Zone Read", "Bot Management"],
        "{r}"
    );
    assert!(ps[0]["permission_groups"][0]["meta"].is_object(), "{r}");
    assert_eq!(
        ps[0]["resource_groups"],
        json!([zones, all]),
        "expanded: {r}"
    );
    assert_eq!(
        ps[1]["permission_groups"][0]["name"],
        json!("Administrator"),
        "{r}"
    );
    let r = app
        .get(&app.acct(&format!("/members/{mid}")), &app.admin())
        .await;
    assert_eq!(
        r.ok()["policies"],
        m["policies"],
        "GET equals the write: {r}"
    );

    // Update: keep the second by id (changed), add a new one; the first goes.
    let [p1, p2]: [String; 2] = policy_ids(&m).try_into().expect("two");
    let mut kept = policy("allow", &[PG_ADMINISTRATOR, PG_ZONE_READ], &[&all_id]);
    kept["id"] = json!(p2);
    let r = app
        .put(
            &app.acct(&format!("/members/{mid}")),
            &app.admin(),
            json!({ "policies": [kept, policy("deny", &[PG_BOT_MANAGEMENT], &[&zones_id])] }),
        )
        .await;
    let u = r.ok().clone();
    let now = policy_ids(&u);
    assert_eq!(now.len(), 2, "{r}");
    assert_eq!(now[0], p2, "kept id: {r}");
    assert!(now[1] != p1 && now[1] != p2, "new id: {r}");
    assert_eq!(
        ids(u["policies"][0]["permission_groups"]
            .as_array()
            .expect("pgs")),
        vec![PG_ADMINISTRATOR, PG_ZONE_READ],
        "{r}"
    );
    let r = app
        .get(&app.acct(&format!("/members/{mid}")), &app.admin())
        .await;
    assert_eq!(r.ok()["policies"], u["policies"], "{r}");

    // A dropped id is no longer the member's.
    let mut stale = policy("allow", &[PG_ADMINISTRATOR], &[&all_id]);
    stale["id"] = json!(p1);
    let r = app
        .put(
            &app.acct(&format!("/members/{mid}")),
            &app.admin(),
            json!({ "policies": [stale] }),
        )
        .await;
    assert_only_pointer(&r, "/policies/0/id");

    // A user group's policy id is not the member's either.
    let g = create_ug(
        &app,
        "G",
        Some(json!([policy("allow", &[PG_ADMINISTRATOR], &[&all_id])])),
    )
    .await;
    let mut theirs = policy("allow", &[PG_ADMINISTRATOR], &[&all_id]);
    theirs["id"] = json!(policy_ids(&g)[0]);
    let r = app
        .put(
            &app.acct(&format!("/members/{mid}")),
            &app.admin(),
            json!({ "policies": [theirs] }),
        )
        .await;
    assert_only_pointer(&r, "/policies/0/id");

    // `policies: []` is a member with no direct grants (access from groups only); giving both
    // roles and policies is refused.
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({ "email": "empty@example.com", "policies": [] }),
        )
        .await;
    assert_eq!(r.ok()["policies"], json!([]), "{r}");
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({
                "email": "both@example.com",
                "roles": [ROLE_ADMIN],
                "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&all_id])],
            }),
        )
        .await;
    r.err(400, 1001);
}
