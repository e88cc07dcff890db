//! The operator CLI (api-decisions.md "Process and CLI").

use serde_json::json;

use crate::helpers::*;

fn is_api_key(s: &str) -> bool {
    s.len() == 37
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test]
async fn bootstrap_prints_one_json_object_with_usable_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_url_for(dir.path());
    let _schema = db_guard(&db); // drops the PostgreSQL schema (if any) at the end, also on failure
    let boot = bootstrap(&db, "Test", "admin@example.com", &[]);
    assert!(
        is_id(&boot.account_id)
            && is_id(&boot.user_id)
            && is_id(&boot.member_id)
            && is_id(&boot.api_token_id)
    );
    assert_eq!(boot.email, "admin@example.com");
    assert!(
        is_api_key(&boot.api_key),
        "global API key: 37 lowercase hex, got {:?}",
        boot.api_key
    );
    assert!(
        is_token_value(&boot.api_token),
        "token: 40 chars, got {:?}",
        boot.api_token
    );

    let app = TestApp::serve_existing(dir, db, boot);
    let r = app.get(&app.acct(""), &app.admin()).await;
    assert_eq!(r.ok()["name"], json!("Test"), "{r}");
    let r = app.get("/user", &app.admin_key()).await;
    assert_eq!(r.ok()["id"], json!(app.boot.user_id), "{r}");
}

#[tokio::test]
async fn bootstrap_twice_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_url_for(dir.path());
    let _schema = db_guard(&db); // drops the PostgreSQL schema (if any) at the end, also on failure
    let boot = bootstrap(&db, "Test", "admin@example.com", &[]);
    let out = cli(&[
        "bootstrap",
        "--database",
        &db,
        "--account-name",
        "Again",
        "--email",
        "admin@example.com",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(!out.stderr.trim().is_empty(), "a message on stderr: {out}");
    assert!(
        !out.stdout.contains("api_token"),
        "no credentials printed: {out}"
    );

    // The database still holds exactly one account.
    let app = TestApp::serve_existing(dir, db, boot);
    let r = app.get("/accounts", &app.admin_key()).await;
    assert_eq!(names(r.list()), vec!["Test".to_string()], "{r}");
    assert_eq!(r.info()["total_count"], json!(1), "{r}");
}

#[tokio::test]
async fn force_new_account_adds_a_second_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_url_for(dir.path());
    let _schema = db_guard(&db); // drops the PostgreSQL schema (if any) at the end, also on failure
    let first = bootstrap(&db, "First", "admin@example.com", &[]);
    let second = bootstrap(
        &db,
        "Second",
        "second@example.com",
        &["--force-new-account"],
    );
    assert_ne!(first.account_id, second.account_id);
    assert_ne!(first.api_token, second.api_token);

    let app = TestApp::serve_existing(dir, db, first.clone());
    let t1 = Cred::token(&first.api_token);
    let t2 = Cred::token(&second.api_token);

    let r = app
        .get(&format!("/accounts/{}", second.account_id), &t2)
        .await;
    assert_eq!(r.ok()["name"], json!("Second"), "{r}");
    let r = app
        .get(
            &format!("/accounts/{}/tokens/verify", second.account_id),
            &t2,
        )
        .await;
    assert_eq!(r.ok()["id"], json!(second.api_token_id), "{r}");
    let r = app
        .get(&format!("/accounts/{}", first.account_id), &t1)
        .await;
    assert_eq!(r.ok()["name"], json!("First"), "{r}");

    // Each token stays in its own account.
    app.get(&format!("/accounts/{}", first.account_id), &t2)
        .await
        .err(403, 10000);
    app.get(&format!("/accounts/{}/members", first.account_id), &t2)
        .await
        .err(403, 10000);
    app.get(&format!("/accounts/{}", second.account_id), &t1)
        .await
        .err(403, 10000);

    // The second user is Super Administrator of the second account only.
    let k2 = Cred::key(&second.email, &second.api_key);
    let r = app.get("/accounts", &k2).await;
    assert_eq!(ids(r.list()), vec![second.account_id.clone()], "{r}");
    let r = app
        .get(
            &format!(
                "/accounts/{}/members/{}",
                second.account_id, second.member_id
            ),
            &k2,
        )
        .await;
    assert_eq!(r.ok()["status"], json!("accepted"), "{r}");
    assert!(
        ids(r.ok()["roles"].as_array().expect("roles")).contains(&ROLE_SUPER_ADMIN.to_string()),
        "{r}"
    );
}

#[tokio::test]
async fn user_key_replaces_the_old_key() {
    let app = TestApp::spawn();
    let out = cli_json(&[
        "user-key",
        "--database",
        &app.db_url,
        "--email",
        "kim@example.com",
    ]);
    let uid = str_field(&out, "user_id");
    assert!(is_id(&uid), "{out}");
    assert_eq!(out["email"], json!("kim@example.com"), "{out}");
    let k1 = str_field(&out, "api_key");
    assert!(is_api_key(&k1), "{out}");

    let r = app.get("/user", &Cred::key("kim@example.com", &k1)).await;
    assert_eq!(r.ok()["id"], json!(uid), "{r}");

    let (uid2, k2) = app.user_key("kim@example.com", false);
    assert_eq!(uid2, uid, "same user");
    assert_ne!(k2, k1);
    app.get("/user", &Cred::key("kim@example.com", &k1))
        .await
        .err(403, 9103);
    let r = app.get("/user", &Cred::key("kim@example.com", &k2)).await;
    assert_eq!(r.ok()["id"], json!(uid), "{r}");

    // For the bootstrap user as well: the old key stops working, tokens keep working.
    let (uid3, k3) = app.user_key("admin@example.com", false);
    assert_eq!(uid3, app.boot.user_id);
    app.get("/user", &app.admin_key()).await.err(403, 9103);
    let r = app.get("/user", &Cred::key("admin@example.com", &k3)).await;
    assert_eq!(r.ok()["email"], json!("admin@example.com"), "{r}");
    app.get(&app.acct(""), &app.admin()).await.ok();
}

#[tokio::test]
async fn migrate_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_url_for(dir.path());
    let _schema = db_guard(&db); // drops the PostgreSQL schema (if any) at the end, also on failure
    let out = cli(&["migrate", "--database", &db]);
    assert!(out.status.success(), "migrate on a fresh database: {out}");
    let out = cli(&["migrate", "--database", &db]);
    assert!(out.status.success(), "migrate is idempotent: {out}");
    let boot = bootstrap(&db, "Test", "admin@example.com", &[]);
    let out = cli(&["migrate", "--database", &db]);
    assert!(
        out.status.success(),
        "migrate on a bootstrapped database: {out}"
    );

    // Nothing was lost by migrating again.
    let app = TestApp::serve_existing(dir, db, boot);
    app.get(&app.acct(""), &app.admin()).await.ok();
}
