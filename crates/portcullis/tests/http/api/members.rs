//! Account members (api.md §5 "Account members", api-decisions.md "Members").

use serde_json::{json, Value};

use crate::helpers::*;

fn check_member_shape(m: &Value) {
    assert_id(&m["id"], "member.id");
    let email = m["email"]
        .as_str()
        .unwrap_or_else(|| panic!("member.email: {m}"));
    let status = m["status"].as_str().unwrap_or_default();
    assert!(
        status == "accepted" || status == "pending",
        "member.status: {m}"
    );
    let u = &m["user"];
    assert_id(&u["id"], "member.user.id");
    assert_eq!(
        u["email"],
        json!(email),
        "user.email equals member email: {m}"
    );
    for k in [
        "first_name",
        "last_name",
        "two_factor_authentication_enabled",
    ] {
        assert!(
            u.as_object().is_some_and(|o| o.contains_key(k)),
            "member.user.{k} missing: {m}"
        );
    }
    assert!(m["roles"].is_array(), "member.roles: {m}");
    assert!(m["policies"].is_array(), "member.policies: {m}");
    for role in m["roles"].as_array().into_iter().flatten() {
        assert_id(&role["id"], "role.id");
        assert!(role["name"].is_string(), "role.name: {m}");
    }
}

fn role_ids(m: &Value) -> Vec<String> {
    ids(m["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("roles: {m}")))
}

#[tokio::test]
async fn bootstrap_member_is_an_accepted_super_administrator() {
    let app = TestApp::spawn();
    let r = app
        .get(
            &app.acct(&format!("/members/{}", app.boot.member_id)),
            &app.admin(),
        )
        .await;
    let m = r.ok();
    check_member_shape(m);
    assert_eq!(m["id"], json!(app.boot.member_id), "{r}");
    assert_eq!(m["email"], json!("admin@example.com"), "{r}");
    assert_eq!(m["status"], json!("accepted"), "{r}");
    assert_eq!(m["user"]["id"], json!(app.boot.user_id), "{r}");
    assert_eq!(role_ids(m), vec![ROLE_SUPER_ADMIN.to_string()], "{r}");
    assert_eq!(m["roles"][0]["name"], json!(SUPER_ADMIN_NAME), "{r}");

    let r = app.get(&app.acct("/members"), &app.admin()).await;
    assert_eq!(ids(r.list()), vec![app.boot.member_id.clone()], "{r}");
    check_result_info(&r);
}

#[tokio::test]
async fn create_get_update_delete_member() {
    let app = TestApp::spawn();
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({ "email": "Bob@Example.COM", "roles": [ROLE_ADMIN] }),
        )
        .await;
    let m = r.ok().clone();
    check_member_shape(&m);
    assert_eq!(
        m["email"],
        json!("bob@example.com"),
        "email lower-cased: {r}"
    );
    assert_eq!(m["status"], json!("pending"), "default status: {r}");
    assert_eq!(role_ids(&m), vec![ROLE_ADMIN.to_string()], "{r}");
    assert_eq!(m["roles"][0]["name"], json!("Administrator"), "{r}");
    let id = str_field(&m, "id");

    // Read back: identical.
    let r = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    assert_eq!(r.ok(), &m, "GET equals the create response");

    // Update roles with the SDK's object form.
    let r = app
        .put(
            &app.acct(&format!("/members/{id}")),
            &app.admin(),
            json!({ "roles": [{ "id": ROLE_ADMIN_READ_ONLY }] }),
        )
        .await;
    let m2 = r.ok().clone();
    check_member_shape(&m2);
    assert_eq!(role_ids(&m2), vec![ROLE_ADMIN_READ_ONLY.to_string()], "{r}");
    assert_eq!(m2["status"], json!("pending"), "status unchanged: {r}");
    assert_eq!(m2["user"]["id"], m["user"]["id"], "{r}");

    // And with plain strings; plus status.
    let r = app
        .put(
            &app.acct(&format!("/members/{id}")),
            &app.admin(),
            json!({ "roles": [ROLE_ADMIN], "status": "accepted" }),
        )
        .await;
    assert_eq!(role_ids(r.ok()), vec![ROLE_ADMIN.to_string()], "{r}");
    assert_eq!(r.ok()["status"], json!("accepted"), "{r}");

    // Only status: roles unchanged.
    let r = app
        .put(
            &app.acct(&format!("/members/{id}")),
            &app.admin(),
            json!({ "status": "pending" }),
        )
        .await;
    assert_eq!(role_ids(r.ok()), vec![ROLE_ADMIN.to_string()], "{r}");
    let r = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    assert_eq!(r.ok()["status"], json!("pending"), "{r}");

    // Delete.
    let r = app
        .delete(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.ok()["id"], json!(id), "{r}");
    let r = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    r.err(404, 1003);
    app.delete(&app.acct(&format!("/members/{id}")), &app.admin())
        .await
        .err(404, 1003);
    let r = app.get(&app.acct("/members"), &app.admin()).await;
    assert_eq!(r.list().len(), 1, "{r}");
}

#[tokio::test]
async fn member_can_be_created_accepted() {
    let app = TestApp::spawn();
    let m = app
        .create_member(
            &app.boot.account_id,
            &app.admin(),
            "acc@example.com",
            &[ROLE_ADMIN],
            Some("accepted"),
        )
        .await;
    assert_eq!(m["status"], json!("accepted"), "{m}");
}

#[tokio::test]
async fn unknown_member_is_404_1003() {
    let app = TestApp::spawn();
    let r = app
        .get(&app.acct(&format!("/members/{UNKNOWN_ID}")), &app.admin())
        .await;
    let e = r.err(404, 1003);
    let msg = e["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(UNKNOWN_ID) && msg.ends_with("not found"),
        "`<kind> <id> not found`: {r}"
    );
    app.put(
        &app.acct(&format!("/members/{UNKNOWN_ID}")),
        &app.admin(),
        json!({ "status": "accepted" }),
    )
    .await
    .err(404, 1003);
}

#[tokio::test]
async fn roles_xor_policies() {
    let app = TestApp::spawn();
    let policy = json!([{
        "access": "allow",
        "permission_groups": [{ "id": PG_ZONE_READ }],
        "resource_groups": [{ "id": UNKNOWN_ID }],
    }]);
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({ "email": "both@example.com", "roles": [ROLE_ADMIN], "policies": policy }),
        )
        .await;
    r.err(400, 1001);
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({ "email": "neither@example.com" }),
        )
        .await;
    r.err(400, 1001);

    // Update with both is rejected too.
    let m = app
        .create_member(
            &app.boot.account_id,
            &app.admin(),
            "upd@example.com",
            &[ROLE_ADMIN],
            None,
        )
        .await;
    let id = str_field(&m, "id");
    app.put(
        &app.acct(&format!("/members/{id}")),
        &app.admin(),
        json!({ "roles": [{ "id": ROLE_ADMIN }], "policies": policy }),
    )
    .await
    .err(400, 1001);

    // Nothing was created by the failures.
    let r = app.get(&app.acct("/members"), &app.admin()).await;
    let emails: Vec<&str> = r
        .list()
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert_eq!(emails, vec!["admin@example.com", "upd@example.com"], "{r}");
}

#[tokio::test]
async fn member_create_validation() {
    let app = TestApp::spawn();
    let members = app.acct("/members");
    app.post(
        &members,
        &app.admin(),
        json!({ "email": "x@example.com", "roles": [ROLE_ADMIN, UNKNOWN_ID] }),
    )
    .await
    .validation("/roles/1");
    app.post(
        &members,
        &app.admin(),
        json!({ "email": "x@example.com", "roles": [UNKNOWN_ID] }),
    )
    .await
    .validation("/roles/0");
    app.post(
        &members,
        &app.admin(),
        json!({ "email": "not-an-email", "roles": [ROLE_ADMIN] }),
    )
    .await
    .validation("/email");
    app.post(&members, &app.admin(), json!({ "roles": [ROLE_ADMIN] }))
        .await
        .validation("/email");
    app.post(
        &members,
        &app.admin(),
        json!({ "email": "x@example.com", "roles": [ROLE_ADMIN], "status": "invited" }),
    )
    .await
    .validation("/status");

    let m = app
        .create_member(
            &app.boot.account_id,
            &app.admin(),
            "valid@example.com",
            &[ROLE_ADMIN],
            None,
        )
        .await;
    let id = str_field(&m, "id");
    app.put(
        &app.acct(&format!("/members/{id}")),
        &app.admin(),
        json!({ "roles": [{ "id": UNKNOWN_ID }] }),
    )
    .await
    .validation_prefix("/roles/0");
    app.put(
        &app.acct(&format!("/members/{id}")),
        &app.admin(),
        json!({ "status": "maybe" }),
    )
    .await
    .validation("/status");
}

#[tokio::test]
async fn duplicate_email_is_409_1002_not_retried() {
    let app = TestApp::spawn();
    app.create_member(
        &app.boot.account_id,
        &app.admin(),
        "dup@example.com",
        &[ROLE_ADMIN],
        None,
    )
    .await;
    for email in ["dup@example.com", "DUP@Example.com", "admin@EXAMPLE.com"] {
        let r = app
            .post(
                &app.acct("/members"),
                &app.admin(),
                json!({ "email": email, "roles": [ROLE_ADMIN] }),
            )
            .await;
        r.err(409, 1002);
        assert_eq!(r.header("x-should-retry").as_deref(), Some("false"), "{r}");
    }
    let r = app.get(&app.acct("/members"), &app.admin()).await;
    assert_eq!(r.list().len(), 2, "{r}");
}

#[tokio::test]
async fn same_email_in_two_accounts_is_one_user() {
    let app = TestApp::spawn();
    let b = app.create_account("Second").await;
    let m1 = app
        .create_member(
            &app.boot.account_id,
            &app.admin(),
            "shared@example.com",
            &[ROLE_ADMIN],
            None,
        )
        .await;
    let m2 = app
        .create_member(
            &b,
            &app.admin_key(),
            "Shared@Example.com",
            &[ROLE_ADMIN_READ_ONLY],
            None,
        )
        .await;
    assert_ne!(m1["id"], m2["id"], "two memberships");
    assert_eq!(m1["user"]["id"], m2["user"]["id"], "one user: {m1} / {m2}");
    assert_id(&m1["user"]["id"], "user.id");

    // The user created this way can get a key and sees the same id at /user.
    let (uid, key) = app.user_key("shared@example.com", false);
    assert_eq!(json!(uid), m1["user"]["id"]);
    let r = app
        .get("/user", &Cred::key("shared@example.com", &key))
        .await;
    assert_eq!(r.ok()["id"], m1["user"]["id"], "{r}");

    // The bootstrap user is the same user in both accounts.
    let r = app
        .get(&format!("/accounts/{b}/members"), &app.admin_key())
        .await;
    let admin_in_b = r
        .list()
        .iter()
        .find(|m| m["email"] == json!("admin@example.com"))
        .unwrap_or_else(|| panic!("creator is a member of b: {r}"))
        .clone();
    assert_eq!(admin_in_b["user"]["id"], json!(app.boot.user_id));
}

#[tokio::test]
async fn last_super_administrator_cannot_be_removed_or_demoted() {
    let app = TestApp::spawn();
    let path = app.acct(&format!("/members/{}", app.boot.member_id));
    app.delete(&path, &app.admin()).await.err(400, 1001);
    app.put(
        &path,
        &app.admin(),
        json!({ "roles": [{ "id": ROLE_ADMIN }] }),
    )
    .await
    .err(400, 1001);
    app.put(&path, &app.admin(), json!({ "status": "pending" }))
        .await
        .err(400, 1001);
    let r = app.get(&path, &app.admin()).await;
    assert_eq!(role_ids(r.ok()), vec![ROLE_SUPER_ADMIN.to_string()], "{r}");
    assert_eq!(r.ok()["status"], json!("accepted"), "{r}");

    // With a second accepted Super Administrator, the first may go.
    app.create_member(
        &app.boot.account_id,
        &app.admin(),
        "second@example.com",
        &[ROLE_SUPER_ADMIN],
        Some("accepted"),
    )
    .await;
    let r = app.delete(&path, &app.admin()).await;
    assert_eq!(r.ok()["id"], json!(app.boot.member_id), "{r}");
}

#[tokio::test]
async fn list_members_order_direction_status_and_pages() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let specs = [
        ("zed@example.com", "accepted"),
        ("amy@example.com", "pending"),
        ("kim@example.com", "accepted"),
        ("bea@example.com", "pending"),
        ("ole@example.com", "pending"),
        ("cat@example.com", "accepted"),
    ];
    for (email, status) in specs {
        app.create_member(&a, &app.admin(), email, &[ROLE_ADMIN], Some(status))
            .await;
    }
    let emails = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|m| m["email"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let mut sorted: Vec<String> = specs.iter().map(|(e, _)| e.to_string()).collect();
    sorted.push("admin@example.com".into());
    sorted.sort();

    // Default: user.email ascending, 20 per page.
    let r = app.get(&app.acct("/members"), &app.admin()).await;
    assert_eq!(emails(r.list()), sorted, "{r}");
    assert_eq!(r.info()["per_page"], json!(20), "{r}");
    assert_eq!(r.info()["total_count"], json!(7), "{r}");
    for m in r.list() {
        check_member_shape(m);
    }

    let r = app
        .get(
            &app.acct("/members?order=user.email&direction=desc"),
            &app.admin(),
        )
        .await;
    let mut desc = sorted.clone();
    desc.reverse();
    assert_eq!(emails(r.list()), desc, "{r}");

    // Pagination.
    let r = app
        .get(&app.acct("/members?per_page=5"), &app.admin())
        .await;
    assert_eq!(emails(r.list()), sorted[..5].to_vec(), "{r}");
    check_result_info(&r);
    assert_eq!(r.info()["total_pages"], json!(2), "{r}");
    let r = app
        .get(&app.acct("/members?per_page=5&page=2"), &app.admin())
        .await;
    assert_eq!(emails(r.list()), sorted[5..].to_vec(), "{r}");
    let r = app
        .get(&app.acct("/members?per_page=5&page=3"), &app.admin())
        .await;
    assert!(r.list().is_empty(), "{r}");
    let walked = app.walk(&app.acct("/members"), &app.admin(), 5).await;
    assert_eq!(emails(&walked), sorted);

    // Status filter.
    let r = app
        .get(&app.acct("/members?status=pending"), &app.admin())
        .await;
    assert_eq!(
        emails(r.list()),
        vec!["amy@example.com", "bea@example.com", "ole@example.com"],
        "{r}"
    );
    assert_eq!(r.info()["total_count"], json!(3), "{r}");
    let r = app
        .get(
            &app.acct("/members?status=accepted&direction=desc"),
            &app.admin(),
        )
        .await;
    assert_eq!(
        emails(r.list()),
        vec![
            "zed@example.com",
            "kim@example.com",
            "cat@example.com",
            "admin@example.com"
        ],
        "{r}"
    );

    // Order by status: accepted before pending (ascending), email order kept out of the test
    // because ties are broken by id.
    let r = app
        .get(&app.acct("/members?order=status"), &app.admin())
        .await;
    let statuses: Vec<&str> = r
        .list()
        .iter()
        .filter_map(|m| m["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        vec!["accepted", "accepted", "accepted", "accepted", "pending", "pending", "pending"],
        "{r}"
    );
    let r = app
        .get(
            &app.acct("/members?order=status&direction=desc"),
            &app.admin(),
        )
        .await;
    let statuses: Vec<&str> = r
        .list()
        .iter()
        .filter_map(|m| m["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        vec!["pending", "pending", "pending", "accepted", "accepted", "accepted", "accepted"],
        "{r}"
    );
}

#[tokio::test]
async fn ids_from_another_account_are_not_found() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let b = app.create_account("Other").await;
    let mb = app
        .create_member(&b, &app.admin_key(), "inb@example.com", &[ROLE_ADMIN], None)
        .await;
    let mb_id = str_field(&mb, "id");
    let (tb_id, tb_value) = app
        .create_account_token(&b, &app.admin_key(), token_body("in-b", &b))
        .await;

    // The operator is a member of both accounts, yet B's objects are not reachable under A.
    let key = app.admin_key();
    app.get(&format!("/accounts/{a}/members/{mb_id}"), &key)
        .await
        .err(404, 1003);
    app.put(
        &format!("/accounts/{a}/members/{mb_id}"),
        &key,
        json!({ "status": "accepted" }),
    )
    .await
    .err(404, 1003);
    app.delete(&format!("/accounts/{a}/members/{mb_id}"), &key)
        .await
        .err(404, 1003);
    app.get(&format!("/accounts/{a}/tokens/{tb_id}"), &key)
        .await
        .err(404, 1003);
    app.put(
        &format!("/accounts/{a}/tokens/{tb_id}/value"),
        &key,
        json!({}),
    )
    .await
    .err(404, 1003);
    app.delete(&format!("/accounts/{a}/tokens/{tb_id}"), &key)
        .await
        .err(404, 1003);

    // Untouched.
    let r = app
        .get(&format!("/accounts/{b}/members/{mb_id}"), &key)
        .await;
    assert_eq!(r.ok()["status"], json!("pending"), "{r}");
    app.verify_account_token(&b, &tb_value).await.ok();
}
