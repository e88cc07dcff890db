//! Helpers for the group tests (bodies, fixtures, small assertions). The foundation harness in
//! `helpers.rs` stays general.

use serde_json::{json, Value};

use crate::helpers::*;

/// "Administrator": a local, account-scoped member group; id = first 32 hex of
/// `sha256("portcullis:permission_group:Administrator")` (api-decisions.md "Permission groups").
pub const PG_ADMINISTRATOR: &str = "2e5a4b3d2af5a7bd64c4a79ad4078ff1";
/// "Bot Management": member catalog, zone-scoped.
pub const PG_BOT_MANAGEMENT: &str = "44befc657c1d4ec3a257d67567b432df";
/// "Workers R2 Storage Bucket Item Read": token catalog, `com.cloudflare.edge.r2.bucket`.
pub const PG_R2_ITEM_READ: &str = "6a018a9f2fc74eb6b293b0c548f38b39";

/// `com.cloudflare.api.account.zone.<32 hex>` built from `n`.
pub fn zone(n: u64) -> String {
    format!("com.cloudflare.api.account.zone.{n:032x}")
}

/// `/accounts/<bootstrap account>/iam/resource_groups<rest>`
pub fn rg_path(app: &TestApp, rest: &str) -> String {
    app.acct(&format!("/iam/resource_groups{rest}"))
}

/// `/accounts/<bootstrap account>/iam/user_groups<rest>`
pub fn ug_path(app: &TestApp, rest: &str) -> String {
    app.acct(&format!("/iam/user_groups{rest}"))
}

/// `/accounts/<bootstrap account>/iam/user_groups/<group>/members<rest>`
pub fn gm_path(app: &TestApp, group: &str, rest: &str) -> String {
    app.acct(&format!("/iam/user_groups/{group}/members{rest}"))
}

/// A scope object `{key, objects: [{key}...]}` for `account`.
pub fn scope_for<S: AsRef<str>>(account: &str, objects: &[S]) -> Value {
    let objects: Vec<Value> = objects
        .iter()
        .map(|k| json!({ "key": k.as_ref() }))
        .collect();
    json!({ "key": account_resource(account), "objects": objects })
}

/// Creates a resource group in the bootstrap account; returns the result.
pub async fn create_rg<S: AsRef<str>>(app: &TestApp, name: &str, objects: &[S]) -> Value {
    let r = app
        .post(
            &rg_path(app, ""),
            &app.admin(),
            json!({ "name": name, "scope": scope_for(&app.boot.account_id, objects) }),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    r.ok().clone()
}

/// Creates a resource group covering the whole bootstrap account (`*`); returns its id.
pub async fn rg_all(app: &TestApp, name: &str) -> String {
    str_field(&create_rg(app, name, &["*"]).await, "id")
}

/// Creates a resource group of two zones; returns its id.
pub async fn rg_zones(app: &TestApp, name: &str) -> String {
    str_field(&create_rg(app, name, &[zone(1), zone(2)]).await, "id")
}

/// A policy request body.
pub fn policy(access: &str, pgs: &[&str], rgs: &[&str]) -> Value {
    let pgs: Vec<Value> = pgs.iter().map(|id| json!({ "id": id })).collect();
    let rgs: Vec<Value> = rgs.iter().map(|id| json!({ "id": id })).collect();
    json!({ "access": access, "permission_groups": pgs, "resource_groups": rgs })
}

/// Creates a user group (with `policies` when given); returns the result.
pub async fn create_ug(app: &TestApp, name: &str, policies: Option<Value>) -> Value {
    let mut body = json!({ "name": name });
    if let Some(p) = policies {
        body["policies"] = p;
    }
    let r = app.post(&ug_path(app, ""), &app.admin(), body).await;
    assert_eq!(r.status, 200, "{r}");
    r.ok().clone()
}

/// Creates a user group without policies; returns its id.
pub async fn ug(app: &TestApp, name: &str) -> String {
    str_field(&create_ug(app, name, None).await, "id")
}

/// Creates `n` pending account members `<prefix>NN@example.com` in the bootstrap account;
/// returns their ids in email order.
pub async fn members(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let m = app
            .create_member(
                &app.boot.account_id,
                &app.admin(),
                &format!("{prefix}{i:02}@example.com"),
                &[ROLE_ADMIN_READ_ONLY],
                None,
            )
            .await;
        out.push(str_field(&m, "id"));
    }
    out
}

/// `[{"id": ...}, ...]`
pub fn id_list(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "id": id })).collect())
}

/// Every member id of a group (one page of 500), in list order.
pub async fn group_member_ids(app: &TestApp, group: &str) -> Vec<String> {
    let r = app
        .get(&gm_path(app, group, "?per_page=500"), &app.admin())
        .await;
    ids(r.list())
}

/// `result_info.total_count` of the group-member list.
pub async fn member_total(app: &TestApp, group: &str) -> u64 {
    let r = app.get(&gm_path(app, group, ""), &app.admin()).await;
    r.list();
    check_result_info(&r);
    r.info()["total_count"]
        .as_u64()
        .unwrap_or_else(|| panic!("total_count: {r}"))
}

/// The group's `modified_on`.
pub async fn modified_on(app: &TestApp, group: &str) -> String {
    let r = app
        .get(&ug_path(app, &format!("/{group}")), &app.admin())
        .await;
    str_field(r.ok(), "modified_on")
}

/// Asserts that `later` is strictly after `earlier` (both fixed-width RFC 3339 with micros).
pub fn assert_moved(earlier: &str, later: &str, what: &str) {
    assert_timestamp(&json!(later), what);
    assert!(
        later > earlier,
        "{what}: modified_on must move forward: {earlier} -> {later}"
    );
}

/// Asserts that the failure's error with `code` mentions every needle.
pub fn assert_error_mentions(r: &Resp, status: u16, code: i64, needles: &[&str]) {
    let e = r.err(status, code);
    let msg = e["message"].as_str().unwrap_or_default();
    for n in needles {
        assert!(msg.contains(n), "error message should mention {n:?}: {r}");
    }
}

/// Asserts 400/1001 whose error at `ptr` exists and that every error carrying a pointer has
/// exactly that one (no stray second error).
pub fn assert_only_pointer(r: &Resp, ptr: &str) {
    r.validation(ptr);
    let ps = r.pointers();
    assert!(ps.iter().all(|p| p == ptr), "only {ptr:?} expected: {r}");
}

/// The policy ids of a user group or member.
pub fn policy_ids(v: &Value) -> Vec<String> {
    ids(v["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("policies must be an array: {v}")))
}
