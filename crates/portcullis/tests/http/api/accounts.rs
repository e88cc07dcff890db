//! Accounts (api.md §5 "Accounts", api-decisions.md "Authentication and access").

use serde_json::json;

use crate::helpers::*;

fn check_account_shape(v: &serde_json::Value) {
    assert_id(&v["id"], "account.id");
    assert!(v["name"].is_string(), "account.name: {v}");
    let t = v["type"].as_str().unwrap_or_default();
    assert!(t == "standard" || t == "enterprise", "account.type: {v}");
    assert_timestamp(&v["created_on"], "account.created_on");
    assert!(v["settings"].is_object(), "account.settings: {v}");
    assert!(
        v["settings"]["enforce_twofactor"].is_boolean(),
        "settings.enforce_twofactor: {v}"
    );
    assert!(
        v["settings"]
            .as_object()
            .is_some_and(|o| o.contains_key("abuse_contact_email")),
        "settings.abuse_contact_email: {v}"
    );
}

#[tokio::test]
async fn get_account() {
    let app = TestApp::spawn();
    for cred in [app.admin(), app.admin_key()] {
        let r = app.get(&app.acct(""), &cred).await;
        let acc = r.ok();
        check_account_shape(acc);
        assert_eq!(acc["id"], json!(app.boot.account_id), "{r}");
        assert_eq!(acc["name"], json!("Test"), "{r}");
    }
}

#[tokio::test]
async fn list_accounts_as_user() {
    let app = TestApp::spawn();
    let r = app.get("/accounts", &app.admin_key()).await;
    let items = r.list();
    check_result_info(&r);
    assert_eq!(ids(items), vec![app.boot.account_id.clone()], "{r}");
    check_account_shape(&items[0]);
    assert_eq!(r.info()["total_count"], json!(1), "{r}");
    assert_eq!(r.info()["total_pages"], json!(1), "{r}");
}

#[tokio::test]
async fn account_owned_token_cannot_list_accounts() {
    let app = TestApp::spawn();
    let r = app.get("/accounts", &app.admin()).await;
    let e = r.err(400, 1001);
    assert_eq!(
        e["message"],
        json!("List accounts endpoint does not support account owned tokens."),
        "{r}"
    );
}

#[tokio::test]
async fn list_accounts_paginates_in_name_order_and_filters_by_name() {
    let app = TestApp::spawn();
    let mut created = Vec::new();
    for name in ["delta", "alpha", "foxtrot", "charlie", "echo", "bravo"] {
        created.push((name.to_string(), app.create_account(name).await));
    }
    let r = app.get("/accounts?per_page=5", &app.admin_key()).await;
    assert_eq!(r.list().len(), 5, "{r}");
    check_result_info(&r);
    assert_eq!(r.info()["total_count"], json!(7), "{r}");
    assert_eq!(r.info()["total_pages"], json!(2), "{r}");

    let r = app
        .get("/accounts?per_page=5&page=2", &app.admin_key())
        .await;
    assert_eq!(r.list().len(), 2, "{r}");
    assert_eq!(r.info()["count"], json!(2), "{r}");

    let all = app.walk("/accounts", &app.admin_key(), 5).await;
    assert_eq!(all.len(), 7);
    let mine: Vec<String> = names(&all).into_iter().filter(|n| n != "Test").collect();
    assert_eq!(
        mine,
        vec!["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    );

    let r = app.get("/accounts?name=echo", &app.admin_key()).await;
    assert_eq!(names(r.list()), vec!["echo".to_string()], "{r}");
    assert_eq!(r.info()["total_count"], json!(1), "{r}");
    let echo_id = &created.iter().find(|(n, _)| n == "echo").expect("echo").1;
    assert_eq!(r.list()[0]["id"], json!(echo_id), "{r}");

    let r = app
        .get("/accounts?name=no-such-account", &app.admin_key())
        .await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(r.info()["total_count"], json!(0), "{r}");
}

#[tokio::test]
async fn update_account_is_partial() {
    let app = TestApp::spawn();
    let before = app.get(&app.acct(""), &app.admin()).await.ok().clone();

    let r = app
        .put(&app.acct(""), &app.admin(), json!({ "name": "Renamed" }))
        .await;
    let acc = r.ok();
    check_account_shape(acc);
    assert_eq!(acc["name"], json!("Renamed"), "{r}");
    assert_eq!(
        acc["settings"], before["settings"],
        "settings unchanged: {r}"
    );
    assert_eq!(acc["created_on"], before["created_on"], "{r}");

    let r = app
        .put(
            &app.acct(""),
            &app.admin(),
            json!({ "settings": { "enforce_twofactor": true } }),
        )
        .await;
    let acc = r.ok();
    assert_eq!(acc["name"], json!("Renamed"), "name unchanged: {r}");
    assert_eq!(acc["settings"]["enforce_twofactor"], json!(true), "{r}");

    let r = app.put(&app.acct(""), &app.admin(), json!({})).await;
    assert_eq!(r.ok()["name"], json!("Renamed"), "{r}");
    assert_eq!(r.ok()["settings"]["enforce_twofactor"], json!(true), "{r}");

    let r = app.get(&app.acct(""), &app.admin_key()).await;
    assert_eq!(
        r.ok()["name"],
        json!("Renamed"),
        "the update is stored: {r}"
    );
    assert_eq!(r.ok()["settings"]["enforce_twofactor"], json!(true), "{r}");
}

#[tokio::test]
async fn account_name_is_1_to_100_chars() {
    let app = TestApp::spawn();
    app.put(&app.acct(""), &app.admin(), json!({ "name": "" }))
        .await
        .validation("/name");
    app.put(
        &app.acct(""),
        &app.admin(),
        json!({ "name": "n".repeat(101) }),
    )
    .await
    .validation("/name");
    let r = app
        .put(
            &app.acct(""),
            &app.admin(),
            json!({ "name": "n".repeat(100) }),
        )
        .await;
    assert_eq!(r.ok()["name"], json!("n".repeat(100)), "{r}");

    app.post("/accounts", &app.admin_key(), json!({ "name": "" }))
        .await
        .validation("/name");
    app.post(
        "/accounts",
        &app.admin_key(),
        json!({ "name": "m".repeat(101) }),
    )
    .await
    .validation("/name");
    app.post("/accounts", &app.admin_key(), json!({ "type": "standard" }))
        .await
        .validation("/name");
    app.post(
        "/accounts",
        &app.admin_key(),
        json!({ "name": "ok", "type": "galactic" }),
    )
    .await
    .validation("/type");
    // The failed creates left nothing behind.
    let r = app.get("/accounts", &app.admin_key()).await;
    assert_eq!(r.info()["total_count"], json!(1), "{r}");
}

#[tokio::test]
async fn operator_creates_account_and_becomes_super_administrator() {
    let app = TestApp::spawn();
    let r = app
        .post(
            "/accounts",
            &app.admin_key(),
            json!({ "name": "New Co", "type": "standard" }),
        )
        .await;
    let acc = r.ok().clone();
    check_account_shape(&acc);
    assert_eq!(acc["name"], json!("New Co"), "{r}");
    assert_ne!(acc["id"], json!(app.boot.account_id));
    let id = str_field(&acc, "id");

    let r = app.get(&format!("/accounts/{id}"), &app.admin_key()).await;
    assert_eq!(r.ok()["name"], json!("New Co"), "{r}");

    let r = app
        .get(&format!("/accounts/{id}/members"), &app.admin_key())
        .await;
    let members = r.list();
    assert_eq!(members.len(), 1, "{r}");
    assert_eq!(members[0]["email"], json!("admin@example.com"), "{r}");
    assert_eq!(members[0]["status"], json!("accepted"), "{r}");
    assert_eq!(members[0]["user"]["id"], json!(app.boot.user_id), "{r}");
    assert!(
        ids(members[0]["roles"].as_array().expect("roles")).contains(&ROLE_SUPER_ADMIN.to_string()),
        "creator is Super Administrator: {r}"
    );
}

#[tokio::test]
async fn only_operators_create_and_delete_accounts() {
    let app = TestApp::spawn();
    let (_, key) = app.user_key("plain@example.com", false);
    let plain = Cred::key("plain@example.com", &key);
    let body = json!({ "name": "Nope", "type": "standard" });

    app.post("/accounts", &plain, body.clone())
        .await
        .err(403, 10000);
    app.post("/accounts", &app.admin(), body.clone())
        .await
        .err(403, 10000);

    // A plain user who is even a Super Administrator member may not delete the account.
    app.create_member(
        &app.boot.account_id,
        &app.admin(),
        "plain@example.com",
        &[ROLE_SUPER_ADMIN],
        Some("accepted"),
    )
    .await;
    app.delete(&app.acct(""), &plain).await.err(403, 10000);
    app.delete(&app.acct(""), &app.admin())
        .await
        .err(403, 10000);
    app.get(&app.acct(""), &app.admin()).await.ok();

    // nothing was created
    let r = app.get("/accounts", &app.admin_key()).await;
    assert_eq!(r.info()["total_count"], json!(1), "{r}");

    // `user-key --operator` makes an operator.
    let (_, okey) = app.user_key("op@example.com", true);
    let op = Cred::key("op@example.com", &okey);
    let r = app
        .post(
            "/accounts",
            &op,
            json!({ "name": "By Op", "type": "standard" }),
        )
        .await;
    let id = str_field(r.ok(), "id");
    let r = app.get("/accounts", &op).await;
    assert_eq!(ids(r.list()), vec![id.clone()], "{r}");
    // Being an operator grants nothing inside other accounts.
    app.get(&app.acct(""), &op).await.err(403, 10000);
    let r = app.delete(&format!("/accounts/{id}"), &op).await;
    assert_eq!(r.ok()["id"], json!(id), "{r}");
}

#[tokio::test]
async fn deleting_an_account_removes_its_members_and_tokens() {
    let app = TestApp::spawn();
    let c = app.create_account("Doomed").await;

    app.create_member(
        &c,
        &app.admin_key(),
        "carol@example.com",
        &[ROLE_ADMIN],
        Some("accepted"),
    )
    .await;
    let (_, carol_key) = app.user_key("carol@example.com", false);
    let carol = Cred::key("carol@example.com", &carol_key);
    app.get(&format!("/accounts/{c}"), &carol).await.ok();

    let (_, value) = app
        .create_account_token(&c, &app.admin_key(), token_body("doomed-token", &c))
        .await;
    app.verify_account_token(&c, &value).await.ok();

    let r = app
        .delete(&format!("/accounts/{c}"), &app.admin_key())
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.ok()["id"], json!(c), "{r}");

    // The token is gone.
    app.verify_account_token(&c, &value).await.err(403, 9109);
    app.get(&format!("/accounts/{c}"), &Cred::token(&value))
        .await
        .err(403, 9109);
    // Carol's membership is gone, Carol herself still exists.
    app.get(&format!("/accounts/{c}"), &carol)
        .await
        .err(403, 10000);
    let r = app.get("/accounts", &carol).await;
    assert!(r.list().is_empty(), "{r}");
    app.get("/user", &carol).await.ok();
    // The operator no longer sees it either.
    app.get(&format!("/accounts/{c}"), &app.admin_key())
        .await
        .err(403, 10000);
    let r = app.get("/accounts", &app.admin_key()).await;
    assert_eq!(ids(r.list()), vec![app.boot.account_id.clone()], "{r}");
    // Deleting again: not there any more.
    let r = app
        .delete(&format!("/accounts/{c}"), &app.admin_key())
        .await;
    assert!(r.status == 403 || r.status == 404, "{r}");

    // The first account is untouched.
    app.get(&app.acct(""), &app.admin()).await.ok();
    app.get(&app.acct("/members"), &app.admin()).await.ok();
}
