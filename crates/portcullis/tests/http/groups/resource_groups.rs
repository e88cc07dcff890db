//! Resource groups (api.md §5 "Resource groups", api-decisions.md "Resource groups").

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

fn check_rg_shape(g: &Value, account: &str) {
    assert_id(&g["id"], "resource_group.id");
    assert!(g["name"].is_string(), "name: {g}");
    let scope = g["scope"]
        .as_array()
        .unwrap_or_else(|| panic!("scope must be a list: {g}"));
    assert_eq!(scope.len(), 1, "scope is a one-element list: {g}");
    assert_eq!(scope[0]["key"], json!(account_resource(account)), "{g}");
    assert!(scope[0]["objects"].is_array(), "{g}");
    assert_eq!(
        g["meta"],
        json!({ "key": "editable", "value": "true" }),
        "meta: {g}"
    );
}

fn object_keys(g: &Value) -> Vec<String> {
    g["scope"][0]["objects"]
        .as_array()
        .unwrap_or_else(|| panic!("objects: {g}"))
        .iter()
        .map(|o| o["key"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn create_accepts_scope_as_object_or_one_element_list() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let objects = [zone(9), "*".to_string(), zone(3)];
    let refs: Vec<&str> = objects.iter().map(String::as_str).collect();

    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "As object", "scope": scope_for(&acct, &refs) }),
        )
        .await;
    let a = r.ok().clone();
    check_rg_shape(&a, &acct);
    assert_eq!(a["name"], json!("As object"), "{r}");
    assert_eq!(
        object_keys(&a),
        objects.to_vec(),
        "objects in the order written: {r}"
    );

    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "  As list  ", "scope": [scope_for(&acct, &refs)] }),
        )
        .await;
    let b = r.ok().clone();
    check_rg_shape(&b, &acct);
    assert_eq!(b["name"], json!("As list"), "name is trimmed: {r}");
    assert_eq!(object_keys(&b), objects.to_vec(), "{r}");
    assert_ne!(a["id"], b["id"]);

    // Reads show the same thing as the write.
    for g in [&a, &b] {
        let r = app
            .get(
                &rg_path(&app, &format!("/{}", str_field(g, "id"))),
                &app.admin(),
            )
            .await;
        assert_eq!(r.ok(), g, "GET equals the create response: {r}");
    }

    // The account key itself is an acceptable object.
    let g = create_rg(&app, "Account key", &[&account_resource(&acct)]).await;
    assert_eq!(object_keys(&g), vec![account_resource(&acct)]);
}

#[tokio::test]
async fn scope_list_must_have_exactly_one_element() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let s = scope_for(&acct, &["*"]);
    for scope in [json!([s.clone(), s.clone()]), json!([])] {
        let r = app
            .post(
                &rg_path(&app, ""),
                &app.admin(),
                json!({ "name": "x", "scope": scope }),
            )
            .await;
        assert_only_pointer(&r, "/scope");
    }
    // Missing or mistyped scope.
    let r = app
        .post(&rg_path(&app, ""), &app.admin(), json!({ "name": "x" }))
        .await;
    r.validation("/scope");
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": "everything" }),
        )
        .await;
    r.validation("/scope");
    // Missing objects, under either form.
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": { "key": account_resource(&acct) } }),
        )
        .await;
    r.validation("/scope/objects");
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": [{ "key": account_resource(&acct) }] }),
        )
        .await;
    r.validation("/scope/0/objects");
    // Nothing was created by any of these.
    let r = app.get(&rg_path(&app, ""), &app.admin()).await;
    assert!(r.list().is_empty(), "{r}");
}

#[tokio::test]
async fn name_must_be_1_to_120_characters() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let s = scope_for(&acct, &["*"]);
    for bad in [String::new(), "   ".to_string(), "n".repeat(121)] {
        let r = app
            .post(
                &rg_path(&app, ""),
                &app.admin(),
                json!({ "name": bad, "scope": s }),
            )
            .await;
        assert_only_pointer(&r, "/name");
    }
    let r = app
        .post(&rg_path(&app, ""), &app.admin(), json!({ "scope": s }))
        .await;
    r.validation("/name");
    // 120 characters (multi-byte ones count once) is fine.
    let long = "é".repeat(120);
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": long, "scope": s }),
        )
        .await;
    assert_eq!(r.ok()["name"], json!(long), "{r}");
    // Names are not unique.
    create_rg(&app, "Same", &["*"]).await;
    create_rg(&app, "Same", &["*"]).await;
}

#[tokio::test]
async fn scope_key_must_be_this_account() {
    let app = TestApp::spawn();
    let other = app.create_account("Other").await;
    let s = scope_for(&other, &["*"]);
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": s }),
        )
        .await;
    assert_only_pointer(&r, "/scope/key");
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": [s] }),
        )
        .await;
    assert_only_pointer(&r, "/scope/0/key");
    for key in [
        "com.cloudflare.api.account".to_string(),
        format!("com.cloudflare.api.user.{}", app.boot.user_id),
        "*".to_string(),
    ] {
        let r = app
            .post(
                &rg_path(&app, ""),
                &app.admin(),
                json!({ "name": "x", "scope": { "key": key, "objects": [{ "key": "*" }] } }),
            )
            .await;
        assert_only_pointer(&r, "/scope/key");
    }
}

#[tokio::test]
async fn objects_count_must_be_1_to_1000() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": scope_for(&acct, &[] as &[&str]) }),
        )
        .await;
    assert_only_pointer(&r, "/scope/objects");
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": [scope_for(&acct, &[] as &[&str])] }),
        )
        .await;
    assert_only_pointer(&r, "/scope/0/objects");

    let many: Vec<String> = (0..1001u64).map(|i| zone(1000 - i)).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": scope_for(&acct, &refs) }),
        )
        .await;
    assert_only_pointer(&r, "/scope/objects");

    // Exactly 1000 is accepted and kept in the order written.
    let g = create_rg(&app, "Thousand", &refs[..1000]).await;
    assert_eq!(object_keys(&g), many[..1000].to_vec());
    let r = app
        .get(
            &rg_path(&app, &format!("/{}", str_field(&g, "id"))),
            &app.admin(),
        )
        .await;
    assert_eq!(object_keys(r.ok()), many[..1000].to_vec(), "{r}");
}

#[tokio::test]
async fn object_keys_are_validated_with_their_index() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let other = app.create_account("Other").await;
    let other_key = account_resource(&other);
    let z = zone(1);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["zone"], "/scope/objects/0/key"),
        (
            vec![&z, "com.cloudflare.api.account.zone.ABCDEF"],
            "/scope/objects/1/key",
        ),
        (
            vec![&z, "*", "com.cloudflare.api.account.zone."],
            "/scope/objects/2/key",
        ),
        (vec!["org.example.thing.*"], "/scope/objects/0/key"),
        (vec![""], "/scope/objects/0/key"),
        (vec![&z, &z], "/scope/objects/1/key"),
        (vec!["*", "*"], "/scope/objects/1/key"),
        (vec!["*", &other_key], "/scope/objects/1/key"),
    ];
    for (objects, ptr) in cases {
        let r = app
            .post(
                &rg_path(&app, ""),
                &app.admin(),
                json!({ "name": "x", "scope": scope_for(&acct, &objects) }),
            )
            .await;
        assert_only_pointer(&r, ptr);
        let list_ptr = ptr.replacen("/scope", "/scope/0", 1);
        let r = app
            .post(
                &rg_path(&app, ""),
                &app.admin(),
                json!({ "name": "x", "scope": [scope_for(&acct, &objects)] }),
            )
            .await;
        assert_only_pointer(&r, &list_ptr);
    }
    // The other-account message names the key.
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({ "name": "x", "scope": scope_for(&acct, &[&other_key]) }),
        )
        .await;
    assert_error_mentions(&r, 400, 1001, &[&other_key]);
    // Wildcards and typed keys are fine.
    create_rg(
        &app,
        "ok",
        &["com.cloudflare.api.account.zone.*", &zone(5), "*"],
    )
    .await;
    let r = app.get(&rg_path(&app, ""), &app.admin()).await;
    assert_eq!(r.list().len(), 1, "only the valid group exists: {r}");
}

#[tokio::test]
async fn list_filters_and_order() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let b = create_rg(&app, "bravo", &["*"]).await;
    let a = create_rg(&app, "Alpha", &[&zone(1)]).await;
    let c1 = create_rg(&app, "charlie", &["*"]).await;
    let c2 = create_rg(&app, "charlie", &[&zone(2)]).await;

    let r = app.get(&rg_path(&app, ""), &app.admin()).await;
    let items = r.list().clone();
    for g in &items {
        check_rg_shape(g, &acct);
    }
    let mut charlies = [str_field(&c1, "id"), str_field(&c2, "id")];
    charlies.sort();
    assert_eq!(
        ids(&items),
        vec![
            str_field(&a, "id"),
            str_field(&b, "id"),
            charlies[0].clone(),
            charlies[1].clone()
        ],
        "by name case-insensitively, then id: {r}"
    );
    // Single page: the whole array (no pagination needed).
    assert_eq!(items.len(), 4);

    let r = app
        .get(
            &rg_path(&app, &format!("?id={}", str_field(&b, "id"))),
            &app.admin(),
        )
        .await;
    assert_eq!(r.list(), &vec![b.clone()], "{r}");
    let r = app.get(&rg_path(&app, "?name=charlie"), &app.admin()).await;
    assert_eq!(ids(r.list()), charlies.to_vec(), "{r}");
    let r = app.get(&rg_path(&app, "?name=Alpha"), &app.admin()).await;
    assert_eq!(r.list(), &vec![a.clone()], "{r}");
    let r = app.get(&rg_path(&app, "?name=nobody"), &app.admin()).await;
    assert!(r.list().is_empty(), "{r}");
    let r = app
        .get(&rg_path(&app, &format!("?id={UNKNOWN_ID}")), &app.admin())
        .await;
    assert!(r.list().is_empty(), "{r}");
    let r = app
        .get(
            &rg_path(&app, &format!("?id={}&name=bravo", str_field(&a, "id"))),
            &app.admin(),
        )
        .await;
    assert!(r.list().is_empty(), "filters combine: {r}");
}

#[tokio::test]
async fn update_is_partial() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let g = create_rg(&app, "Original", &[&zone(1), &zone(2)]).await;
    let id = str_field(&g, "id");
    let path = rg_path(&app, &format!("/{id}"));

    let r = app.put(&path, &app.admin(), json!({})).await;
    assert_eq!(r.ok(), &g, "`{{}}` changes nothing: {r}");

    let r = app
        .put(&path, &app.admin(), json!({ "name": "Renamed" }))
        .await;
    let renamed = r.ok().clone();
    assert_eq!(renamed["name"], json!("Renamed"), "{r}");
    assert_eq!(renamed["scope"], g["scope"], "scope unchanged: {r}");

    let r = app
        .put(
            &path,
            &app.admin(),
            json!({ "scope": scope_for(&acct, &[&zone(7), "*"]) }),
        )
        .await;
    let rescoped = r.ok().clone();
    assert_eq!(rescoped["name"], json!("Renamed"), "name unchanged: {r}");
    assert_eq!(
        object_keys(&rescoped),
        vec![zone(7), "*".to_string()],
        "{r}"
    );

    let r = app
        .put(
            &path,
            &app.admin(),
            json!({ "scope": [scope_for(&acct, &[&zone(8)])] }),
        )
        .await;
    assert_eq!(
        object_keys(r.ok()),
        vec![zone(8)],
        "list form on update: {r}"
    );

    let r = app.get(&path, &app.admin()).await;
    assert_eq!(r.ok()["name"], json!("Renamed"), "{r}");
    assert_eq!(object_keys(r.ok()), vec![zone(8)], "{r}");

    // Validation on update, and nothing changes when it fails.
    let r = app.put(&path, &app.admin(), json!({ "name": "" })).await;
    assert_only_pointer(&r, "/name");
    let r = app
        .put(&path, &app.admin(), json!({ "name": "n".repeat(121) }))
        .await;
    assert_only_pointer(&r, "/name");
    let r = app
        .put(
            &path,
            &app.admin(),
            json!({ "name": "Changed", "scope": scope_for(&acct, &[] as &[&str]) }),
        )
        .await;
    assert_only_pointer(&r, "/scope/objects");
    let s = scope_for(&acct, &["*"]);
    let r = app
        .put(&path, &app.admin(), json!({ "scope": [s.clone(), s] }))
        .await;
    assert_only_pointer(&r, "/scope");
    let r = app
        .put(
            &path,
            &app.admin(),
            json!({ "scope": [scope_for(&acct, &["*", "bad"])] }),
        )
        .await;
    assert_only_pointer(&r, "/scope/0/objects/1/key");
    let r = app.get(&path, &app.admin()).await;
    assert_eq!(
        r.ok()["name"],
        json!("Renamed"),
        "failed updates change nothing: {r}"
    );
    assert_eq!(object_keys(r.ok()), vec![zone(8)], "{r}");
}

#[tokio::test]
async fn delete_and_unknown_or_malformed_ids() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let id = rg_all(&app, "Doomed").await;
    let path = rg_path(&app, &format!("/{id}"));
    let r = app.delete(&path, &app.admin()).await;
    assert_eq!(r.ok(), &json!({ "id": id }), "{r}");
    let r = app.get(&path, &app.admin()).await;
    assert_error_mentions(&r, 404, 1003, &[&id]);
    let r = app.delete(&path, &app.admin()).await;
    assert_error_mentions(&r, 404, 1003, &[&id]);
    let r = app.put(&path, &app.admin(), json!({ "name": "x" })).await;
    assert_error_mentions(&r, 404, 1003, &[&id]);

    let unknown = rg_path(&app, &format!("/{UNKNOWN_ID}"));
    let r = app.get(&unknown, &app.admin()).await;
    assert_error_mentions(&r, 404, 1003, &[UNKNOWN_ID]);
    let r = app
        .put(
            &unknown,
            &app.admin(),
            json!({ "scope": scope_for(&acct, &["*"]) }),
        )
        .await;
    r.err(404, 1003);
    let r = app.delete(&unknown, &app.admin()).await;
    r.err(404, 1003);

    for bad in [
        "xyz",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcde",
    ] {
        let p = rg_path(&app, &format!("/{bad}"));
        app.get(&p, &app.admin()).await.err(400, 7003);
        app.put(&p, &app.admin(), json!({})).await.err(400, 7003);
        app.delete(&p, &app.admin()).await.err(400, 7003);
    }
}

#[tokio::test]
async fn groups_of_another_account_are_invisible() {
    let app = TestApp::spawn();
    let other = app.create_account("Other").await;
    let cred = app.admin_key();
    let r = app
        .post(
            &format!("/accounts/{other}/iam/resource_groups"),
            &cred,
            json!({ "name": "Theirs", "scope": scope_for(&other, &["*"]) }),
        )
        .await;
    let theirs = str_field(r.ok(), "id");
    let r = app
        .get(&rg_path(&app, &format!("/{theirs}")), &app.admin())
        .await;
    r.err(404, 1003);
    let r = app.get(&rg_path(&app, ""), &app.admin()).await;
    assert!(r.list().is_empty(), "{r}");
    let r = app
        .delete(&rg_path(&app, &format!("/{theirs}")), &app.admin())
        .await;
    r.err(404, 1003);
    let r = app
        .get(
            &format!("/accounts/{other}/iam/resource_groups/{theirs}"),
            &cred,
        )
        .await;
    assert_eq!(r.ok()["name"], json!("Theirs"), "still there: {r}");
}

#[tokio::test]
async fn delete_is_refused_while_a_policy_uses_the_group() {
    let app = TestApp::spawn();
    let rg = rg_all(&app, "Shared").await;
    let spare = rg_all(&app, "Spare").await;
    let g = create_ug(
        &app,
        "Eng",
        Some(json!([policy(
            "allow",
            &[PG_ADMINISTRATOR],
            &[&spare, &rg]
        )])),
    )
    .await;
    let gid = str_field(&g, "id");
    let path = rg_path(&app, &format!("/{rg}"));

    let r = app.delete(&path, &app.admin()).await;
    assert_error_mentions(&r, 400, 1001, &[&format!("user group `Eng` ({gid})")]);

    // A member policy also holds it.
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({
                "email": "bob@example.com",
                "policies": [policy("deny", &[PG_ZONE_READ], &[&rg])],
            }),
        )
        .await;
    let mid = str_field(r.ok(), "id");
    let r = app.delete(&path, &app.admin()).await;
    assert_error_mentions(
        &r,
        400,
        1001,
        &[
            &format!("user group `Eng` ({gid})"),
            &format!("member bob@example.com ({mid})"),
        ],
    );
    // Still there, unchanged.
    let r = app.get(&path, &app.admin()).await;
    assert_eq!(r.ok()["name"], json!("Shared"), "{r}");

    // The group stops using it: only the member is named now.
    let r = app
        .put(
            &ug_path(&app, &format!("/{gid}")),
            &app.admin(),
            json!({ "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&spare])] }),
        )
        .await;
    r.ok();
    let r = app.delete(&path, &app.admin()).await;
    let e = r.err(400, 1001);
    let msg = e["message"].as_str().unwrap_or_default();
    assert!(msg.contains(&mid) && !msg.contains(&gid), "{r}");

    // The member goes: the group can be deleted.
    let r = app
        .delete(&app.acct(&format!("/members/{mid}")), &app.admin())
        .await;
    r.ok();
    let r = app.delete(&path, &app.admin()).await;
    assert_eq!(r.ok(), &json!({ "id": rg }), "{r}");

    // Deleting the user group frees `spare` too.
    let r = app
        .delete(&rg_path(&app, &format!("/{spare}")), &app.admin())
        .await;
    r.err(400, 1001);
    app.delete(&ug_path(&app, &format!("/{gid}")), &app.admin())
        .await
        .ok();
    let r = app
        .delete(&rg_path(&app, &format!("/{spare}")), &app.admin())
        .await;
    assert_eq!(r.ok(), &json!({ "id": spare }), "{r}");
}

#[tokio::test]
async fn member_policy_update_releases_the_group() {
    let app = TestApp::spawn();
    let rg = rg_all(&app, "Old").await;
    let other = rg_all(&app, "New").await;
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({
                "email": "carol@example.com",
                "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&rg])],
            }),
        )
        .await;
    let mid = str_field(r.ok(), "id");
    let path = rg_path(&app, &format!("/{rg}"));
    let r = app.delete(&path, &app.admin()).await;
    assert_error_mentions(&r, 400, 1001, &["carol@example.com", &mid]);
    let r = app
        .put(
            &app.acct(&format!("/members/{mid}")),
            &app.admin(),
            json!({ "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&other])] }),
        )
        .await;
    r.ok();
    let r = app.delete(&path, &app.admin()).await;
    assert_eq!(r.ok(), &json!({ "id": rg }), "{r}");
}

/// New objects must still fit every policy that uses the group (api-decisions.md "Resource
/// groups"): refused with 400/1006 naming each policy holder and permission group, and nothing
/// changes; a change they still fit goes through.
#[tokio::test]
async fn update_is_refused_when_policies_using_the_group_would_not_fit() {
    let app = TestApp::spawn();
    let whole = rg_all(&app, "Whole").await;
    let zones = rg_zones(&app, "Zones").await;
    let g = create_ug(
        &app,
        "Admins",
        Some(json!([policy("allow", &[PG_ADMINISTRATOR], &[&whole])])),
    )
    .await;
    let gid = str_field(&g, "id");
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({
                "email": "zoe@example.com",
                "policies": [policy("allow", &[PG_ZONE_READ], &[&zones])],
            }),
        )
        .await;
    let mid = str_field(r.ok(), "id");
    let account = app.boot.account_id.clone();

    // The account-scoped group needs the whole account: zones only would not fit it.
    let path = rg_path(&app, &format!("/{whole}"));
    let r = app
        .put(
            &path,
            &app.admin(),
            json!({ "name": "Shrunk", "scope": scope_for(&account, &[zone(7)]) }),
        )
        .await;
    assert_error_mentions(
        &r,
        400,
        1006,
        &[
            &format!("user group `Admins` ({gid})"),
            PG_ADMINISTRATOR,
            "change those policies first",
        ],
    );
    let r = app.get(&path, &app.admin()).await;
    assert_eq!(r.ok()["name"], json!("Whole"), "nothing changed: {r}");
    assert_eq!(object_keys(r.ok()), ["*"], "{r}");

    // The zone-scoped group fits any zones, but not the account key.
    let zpath = rg_path(&app, &format!("/{zones}"));
    let r = app
        .put(
            &zpath,
            &app.admin(),
            json!({ "scope": scope_for(&account, &[zone(8), zone(9)]) }),
        )
        .await;
    assert_eq!(object_keys(r.ok()), [zone(8), zone(9)], "{r}");
    let r = app
        .put(
            &zpath,
            &app.admin(),
            json!({ "scope": scope_for(&account, &[account_resource(&account)]) }),
        )
        .await;
    assert_error_mentions(
        &r,
        400,
        1006,
        &[&format!("member zoe@example.com ({mid})"), PG_ZONE_READ],
    );

    // A rename alone is always fine; once the group stops using it, anything goes.
    let r = app
        .put(&path, &app.admin(), json!({ "name": "Renamed" }))
        .await;
    assert_eq!(r.ok()["name"], json!("Renamed"), "{r}");
    app.put(
        &ug_path(&app, &format!("/{gid}")),
        &app.admin(),
        json!({ "policies": [] }),
    )
    .await
    .ok();
    let r = app
        .put(
            &path,
            &app.admin(),
            json!({ "scope": scope_for(&account, &[zone(7)]) }),
        )
        .await;
    assert_eq!(object_keys(r.ok()), [zone(7)], "{r}");
}
