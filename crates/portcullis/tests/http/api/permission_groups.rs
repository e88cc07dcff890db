//! Account member permission groups, `/accounts/{a}/iam/permission_groups` (api.md §5,
//! api-decisions.md "Permission groups").

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::*;

/// The names the catalog must contain: every `account_member` entry, plus every legacy role whose
/// name is not already one of those.
fn expected_names() -> (Vec<(String, String)>, Vec<String>) {
    let pgs = shared_data("permission_groups.json");
    let member: Vec<(String, String)> = pgs
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["catalog"] == json!("account_member"))
        .map(|e| (str_field(e, "id"), str_field(e, "name")))
        .collect();
    let member_names: HashSet<String> = member.iter().map(|(_, n)| n.to_lowercase()).collect();
    let roles = shared_data("account_roles.json");
    let extra: Vec<String> = roles
        .as_array()
        .expect("array")
        .iter()
        .map(|e| str_field(e, "name"))
        .filter(|n| !member_names.contains(&n.to_lowercase()))
        .collect();
    (member, extra)
}

fn check_pg_shape(g: &Value) {
    assert_id(&g["id"], "permission_group.id");
    assert!(g["name"].is_string(), "{g}");
    let meta = &g["meta"];
    assert!(meta.is_object(), "meta: {g}");
    assert!(
        meta.as_object()
            .is_some_and(|o| o.contains_key("key") && o.contains_key("value")),
        "meta.key/value: {g}"
    );
}

#[tokio::test]
async fn list_is_the_whole_catalog_sorted_by_name() {
    let app = TestApp::spawn();
    let all = app
        .walk(&app.acct("/iam/permission_groups"), &app.admin(), 50)
        .await;
    let (member, extra) = expected_names();
    assert_eq!(
        all.len(),
        member.len() + extra.len(),
        "catalog size: {:?}",
        names(&all)
    );

    for g in &all {
        check_pg_shape(g);
    }
    // Sorted by name (case-insensitive), then id.
    let keys: Vec<(String, String)> = all
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap_or_default().to_lowercase(),
                str_field(g, "id"),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "order: name, then id");
    // No duplicates.
    let unique: HashSet<&String> = keys.iter().map(|(_, id)| id).collect();
    assert_eq!(unique.len(), all.len(), "duplicate ids");

    // Every account_member entry keeps its real id.
    for (id, name) in &member {
        let g = all
            .iter()
            .find(|g| g["id"] == json!(id))
            .unwrap_or_else(|| panic!("{name} ({id}) missing"));
        assert_eq!(g["name"], json!(name));
    }
    // Every legacy role without a catalog entry is there by name.
    let got_names: HashSet<String> = names(&all).into_iter().collect();
    for n in &extra {
        assert!(got_names.contains(n), "role {n} missing");
    }
    for n in [
        SUPER_ADMIN_NAME,
        "Administrator",
        "Administrator Read Only",
        "Minimal Account Access",
        "Billing",
        "Audit Logs Viewer",
    ] {
        assert!(got_names.contains(n), "core role {n} missing");
    }
}

#[tokio::test]
async fn default_page_size_and_clamping() {
    let app = TestApp::spawn();
    let path = app.acct("/iam/permission_groups");
    let (member, extra) = expected_names();
    let total = (member.len() + extra.len()) as u64;

    let r = app.get(&path, &app.admin()).await;
    assert_eq!(r.list().len(), 20, "{r}");
    check_result_info(&r);
    assert_eq!(r.info()["page"], json!(1));
    assert_eq!(r.info()["per_page"], json!(20));
    assert_eq!(r.info()["count"], json!(20));
    assert_eq!(r.info()["total_count"], json!(total));
    assert_eq!(r.info()["total_pages"], json!(total.div_ceil(20)));

    let r = app.get(&format!("{path}?per_page=1"), &app.admin()).await;
    assert_eq!(r.list().len(), 5, "clamped to 5: {r}");
    assert_eq!(r.info()["per_page"], json!(5));
    assert_eq!(r.info()["total_pages"], json!(total.div_ceil(5)));

    let r = app.get(&format!("{path}?per_page=500"), &app.admin()).await;
    assert_eq!(r.list().len() as u64, total.min(50), "clamped to 50: {r}");
    assert_eq!(r.info()["per_page"], json!(50));

    // Pages are consecutive slices of one order.
    let p1 = app
        .get(&format!("{path}?per_page=7&page=1"), &app.admin())
        .await;
    let p2 = app
        .get(&format!("{path}?per_page=7&page=2.0"), &app.admin())
        .await;
    let both = app.get(&format!("{path}?per_page=14"), &app.admin()).await;
    let mut joined = ids(p1.list());
    joined.extend(ids(p2.list()));
    assert_eq!(joined, ids(both.list()));

    let last = total.div_ceil(50);
    let r = app
        .get(&format!("{path}?per_page=50&page={last}"), &app.admin())
        .await;
    assert_eq!(r.list().len() as u64, total - (last - 1) * 50, "{r}");
    let r = app
        .get(
            &format!("{path}?per_page=50&page={}", last + 1),
            &app.admin(),
        )
        .await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(r.info()["total_count"], json!(total), "{r}");
}

#[tokio::test]
async fn filters_id_name_label() {
    let app = TestApp::spawn();
    let path = app.acct("/iam/permission_groups");
    // Firewall (account_member, label waf_admin).
    let fw = "10515a9267294c2e8dd974332556a33b";

    let r = app.get(&format!("{path}?id={fw}"), &app.admin()).await;
    assert_eq!(ids(r.list()), vec![fw.to_string()], "{r}");
    assert_eq!(r.info()["total_count"], json!(1), "{r}");

    let r = app
        .get(&format!("{path}?name=firewall"), &app.admin())
        .await;
    assert_eq!(
        ids(r.list()),
        vec![fw.to_string()],
        "name is case-insensitive: {r}"
    );

    let r = app.get(&format!("{path}?name=Fire"), &app.admin()).await;
    assert!(r.list().is_empty(), "name is exact: {r}");

    let r = app
        .get(&format!("{path}?label=waf_admin"), &app.admin())
        .await;
    assert_eq!(ids(r.list()), vec![fw.to_string()], "{r}");

    let r = app
        .get(&format!("{path}?label=dns_admin"), &app.admin())
        .await;
    assert_eq!(names(r.list()), vec!["DNS".to_string()], "{r}");

    let r = app
        .get(
            &format!("{path}?name=Domain+DNS&label=dns_admin"),
            &app.admin(),
        )
        .await;
    assert!(r.list().is_empty(), "filters combine: {r}");

    let r = app
        .get(&format!("{path}?id={UNKNOWN_ID}"), &app.admin())
        .await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(r.info()["total_count"], json!(0), "{r}");

    let r = app
        .get(
            &format!("{path}?name=Super%20Administrator%20-%20All%20Privileges"),
            &app.admin(),
        )
        .await;
    let sa = r.list();
    assert_eq!(sa.len(), 1, "{r}");
    assert_eq!(
        sa[0]["meta"]["local"],
        json!("true"),
        "locally derived groups are marked: {r}"
    );
}

#[tokio::test]
async fn get_by_id() {
    let app = TestApp::spawn();
    let path = app.acct("/iam/permission_groups");
    let fw = "10515a9267294c2e8dd974332556a33b";
    let r = app.get(&format!("{path}/{fw}"), &app.admin()).await;
    let g = r.ok();
    check_pg_shape(g);
    assert_eq!(g["id"], json!(fw));
    assert_eq!(g["name"], json!("Firewall"));
    assert_eq!(g["meta"]["label"], json!("waf_admin"), "{r}");

    // The same object as in the list.
    let r2 = app.get(&format!("{path}?id={fw}"), &app.admin()).await;
    assert_eq!(&r2.list()[0], g);

    // A derived role is reachable by its id too.
    let r = app
        .get(&format!("{path}?name=Administrator"), &app.admin())
        .await;
    let admin = r
        .list()
        .first()
        .unwrap_or_else(|| panic!("Administrator: {r}"))
        .clone();
    let id = str_field(&admin, "id");
    let r = app.get(&format!("{path}/{id}"), &app.admin()).await;
    assert_eq!(r.ok()["name"], json!("Administrator"), "{r}");

    let r = app.get(&format!("{path}/{UNKNOWN_ID}"), &app.admin()).await;
    let e = r.err(404, 1003);
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains(UNKNOWN_ID),
        "names the id: {r}"
    );
    app.get(&format!("{path}/NOTANID"), &app.admin())
        .await
        .err(400, 7003);
}

#[tokio::test]
async fn readable_by_members_with_key_too() {
    let app = TestApp::spawn();
    let r = app
        .get(&app.acct("/iam/permission_groups"), &app.admin_key())
        .await;
    assert_eq!(r.list().len(), 20, "{r}");
}
