//! Everything survives a graceful restart on the same database.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn state_survives_sigterm_and_restart() {
    let mut app = TestApp::spawn_process();
    let a = app.boot.account_id.clone();

    // Create a bit of everything.
    app.put(
        &app.acct(""),
        &app.admin(),
        json!({ "name": "Persisted", "settings": { "enforce_twofactor": true } }),
    )
    .await
    .ok();
    let member = app
        .create_member(
            &a,
            &app.admin(),
            "keep@example.com",
            &[ROLE_ADMIN],
            Some("accepted"),
        )
        .await;
    let member_id = str_field(&member, "id");
    let (tok_id, tok_value) = app
        .create_account_token(&a, &app.admin(), token_body("survivor", &a))
        .await;
    let (utok_id, utok_value) = app
        .create_user_token(
            &app.admin_key(),
            user_token_body("user survivor", &app.boot.user_id),
        )
        .await;
    let b = app.create_account("Second Persisted").await;
    let (_, keep_key) = app.user_key("keep@example.com", false);

    // Roll one token and delete another, so the restart sees those changes too.
    let (gone_id, gone_value) = app
        .create_account_token(&a, &app.admin(), token_body("gone", &a))
        .await;
    app.delete(&app.acct(&format!("/tokens/{gone_id}")), &app.admin())
        .await
        .ok();
    let r = app
        .put(
            &app.acct(&format!("/tokens/{tok_id}/value")),
            &app.admin(),
            json!({}),
        )
        .await;
    let rolled = r.ok().as_str().expect("rolled value").to_string();

    let before_member = app
        .get(&app.acct(&format!("/members/{member_id}")), &app.admin())
        .await
        .ok()
        .clone();
    let before_token = app
        .get(&app.acct(&format!("/tokens/{tok_id}")), &app.admin())
        .await
        .ok()
        .clone();
    let before_account = app.get(&app.acct(""), &app.admin()).await.ok().clone();

    let status = app.stop();
    assert!(
        status.success(),
        "SIGTERM must shut down gracefully (exit 0), got {status:?}"
    );
    app.restart();

    let r = app.get(&app.acct(""), &app.admin()).await;
    assert_eq!(r.ok(), &before_account, "{r}");
    assert_eq!(r.ok()["name"], json!("Persisted"));

    let r = app
        .get(&app.acct(&format!("/members/{member_id}")), &app.admin())
        .await;
    assert_eq!(r.ok(), &before_member, "{r}");

    let r = app
        .get(&app.acct(&format!("/tokens/{tok_id}")), &app.admin())
        .await;
    assert_eq!(r.ok()["name"], before_token["name"], "{r}");
    assert_eq!(r.ok()["policies"], before_token["policies"], "{r}");
    assert_eq!(r.ok()["issued_on"], before_token["issued_on"], "{r}");

    // Credentials: the rolled value works, the pre-roll and deleted values do not.
    let r = app.verify_account_token(&a, &rolled).await;
    assert_eq!(r.ok()["id"], json!(tok_id), "{r}");
    app.verify_account_token(&a, &tok_value)
        .await
        .err(403, 9109);
    app.verify_account_token(&a, &gone_value)
        .await
        .err(403, 9109);
    app.get(&app.acct(&format!("/tokens/{gone_id}")), &app.admin())
        .await
        .err(404, 1003);

    let r = app
        .get("/user/tokens/verify", &Cred::token(&utok_value))
        .await;
    assert_eq!(r.ok()["id"], json!(utok_id), "{r}");

    let keep = Cred::key("keep@example.com", &keep_key);
    let r = app.get(&app.acct(""), &keep).await;
    assert_eq!(r.ok()["id"], json!(a), "{r}");

    let r = app.get("/accounts", &app.admin_key()).await;
    let mut got = ids(r.list());
    got.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(got, want, "{r}");

    let r = app.get(&app.acct("/members"), &app.admin()).await;
    assert_eq!(r.list().len(), 2, "{r}");
    let r = app.get(&app.acct("/tokens"), &app.admin()).await;
    let mut tok_ids = ids(r.list());
    tok_ids.sort();
    let mut want = vec![app.boot.api_token_id.clone(), tok_id.clone()];
    want.sort();
    assert_eq!(tok_ids, want, "{r}");
    let stderr = app.server_stderr();
    assert!(!stderr.contains(&rolled), "secrets must not be logged");
}
