//! The credential index (`portcullis-core/src/service/credentials.rs`): verified tokens and
//! user keys are served from memory, every token or key write takes effect with the next
//! request, unknown credentials are never remembered, and `last_used_on` is written behind
//! (within a second, and when the server stops).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// `/readyz`'s `credential_index`, once the server hears every change (PostgreSQL: once it
/// listens; before that nothing is cached and these tests would prove nothing).
async fn credential_index(app: &TestApp) -> Value {
    let url = format!("{}/readyz", app.base());
    let started = Instant::now();
    loop {
        let r = app.send(Method::GET, &url, &Cred::Anon, Body::None).await;
        if r.ok()["policy_index"]["live"] == json!(true) {
            let c = r.ok()["credential_index"].clone();
            for field in ["entries", "hits", "misses", "pending_uses"] {
                assert!(c[field].is_u64(), "{field}: {r}");
            }
            return c;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never live: {r}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn count(c: &Value, field: &str) -> u64 {
    c[field].as_u64().unwrap_or_else(|| panic!("{field}: {c}"))
}

/// A token used twice is served from memory the second time; every kind of token write is
/// seen by the very next request: disable, re-enable, a `not_before` in the future, roll,
/// delete.
#[tokio::test]
async fn token_writes_take_effect_with_the_next_request() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    credential_index(&app).await;
    let (id, value) = app
        .create_account_token(&a, &app.admin(), token_body("cached", &a))
        .await;
    app.verify_account_token(&a, &value).await.ok();
    let before = credential_index(&app).await;
    app.verify_account_token(&a, &value).await.ok();
    let after = credential_index(&app).await;
    assert!(
        count(&after, "hits") > count(&before, "hits"),
        "the second use is served from memory: {before} → {after}"
    );

    let path = app.acct(&format!("/tokens/{id}"));
    let body = |extra: Value| {
        let mut b = token_body("cached", &a);
        for (k, v) in extra.as_object().into_iter().flatten() {
            b[k] = v.clone();
        }
        b
    };
    app.put(&path, &app.admin(), body(json!({"status": "disabled"})))
        .await
        .ok();
    app.verify_account_token(&a, &value).await.err(403, 9109);
    app.put(&path, &app.admin(), body(json!({"status": "active"})))
        .await
        .ok();
    app.verify_account_token(&a, &value).await.ok();
    app.verify_account_token(&a, &value).await.ok();
    app.put(
        &path,
        &app.admin(),
        body(json!({"not_before": "2099-01-01T00:00:00Z"})),
    )
    .await
    .ok();
    app.verify_account_token(&a, &value).await.err(403, 9109);
    app.put(&path, &app.admin(), body(json!({"not_before": null})))
        .await
        .ok();
    app.verify_account_token(&a, &value).await.ok();

    let r = app
        .put(&format!("{path}/value"), &app.admin(), json!({}))
        .await;
    let rolled = r.ok().as_str().expect("the new value").to_owned();
    app.verify_account_token(&a, &value).await.err(403, 9109);
    app.verify_account_token(&a, &rolled).await.ok();
    app.verify_account_token(&a, &rolled).await.ok();
    app.delete(&path, &app.admin()).await.ok();
    app.verify_account_token(&a, &rolled).await.err(403, 9109);
}

/// A user key changed through the API's own writes (here: a new key for the same user by
/// `user-key`, which also waits for running servers to hear it) stops working at once, and a
/// wrong key for a known user is refused from memory without remembering anything new.
#[tokio::test]
async fn keys_are_cached_and_a_replaced_key_is_refused() {
    let app = TestApp::spawn();
    credential_index(&app).await;
    let (_, k1) = app.user_key("cached@example.com", false);
    let good = Cred::key("cached@example.com", &k1);
    app.get("/user", &good).await.ok();
    let before = credential_index(&app).await;
    app.get("/user", &good).await.ok();
    app.get("/user", &Cred::key("cached@example.com", &"0".repeat(37)))
        .await
        .err(403, 9103);
    let after = credential_index(&app).await;
    assert!(
        count(&after, "hits") >= count(&before, "hits") + 2,
        "{before} → {after}"
    );
    assert_eq!(
        count(&after, "entries"),
        count(&before, "entries"),
        "{after}"
    );

    let (_, k2) = app.user_key("cached@example.com", false);
    app.get("/user", &good).await.err(403, 9103);
    app.get("/user", &Cred::key("cached@example.com", &k2))
        .await
        .ok();
}

/// Garbage: well-formed token values and emails that match nothing are looked up every time
/// and never remembered, so they cannot grow memory.
#[tokio::test]
async fn unknown_credentials_are_never_remembered() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let before = credential_index(&app).await;
    for i in 0..200 {
        let value = format!("{i:0>40}");
        app.verify_account_token(&a, &value).await.err(403, 9109);
        app.get(
            "/user",
            &Cred::key(&format!("nobody{i}@example.com"), &k_of(i)),
        )
        .await
        .err(403, 9103);
    }
    let after = credential_index(&app).await;
    assert_eq!(
        count(&after, "entries"),
        count(&before, "entries"),
        "{after}"
    );
    assert!(
        count(&after, "misses") >= count(&before, "misses") + 400,
        "each was looked up: {before} → {after}"
    );
}

fn k_of(i: usize) -> String {
    format!("{i:0>37}")
}

/// `last_used_on` is written behind: within a couple of seconds of a first use, and not again
/// for every request.
#[tokio::test]
async fn last_used_on_is_written_behind() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let (id, value) = app
        .create_account_token(&a, &app.admin(), token_body("used", &a))
        .await;
    let path = app.acct(&format!("/tokens/{id}"));
    let r = app.get(&path, &app.admin()).await;
    assert_eq!(r.ok()["last_used_on"], Value::Null, "not used yet: {r}");
    let issued = str_field(r.ok(), "issued_on");
    for _ in 0..5 {
        app.verify_account_token(&a, &value).await.ok();
    }
    let started = Instant::now();
    let seen = loop {
        let r = app.get(&path, &app.admin()).await;
        if let Some(t) = r.ok()["last_used_on"].as_str() {
            break t.to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "last_used_on never written: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_timestamp(&json!(seen), "last_used_on");
    // One format (RFC 3339, UTC, fixed digits), so the text orders as the time.
    assert!(
        seen >= issued,
        "used ({seen}) after it was issued ({issued})"
    );
}

/// Uses still queued when the server stops are written before it exits.
#[tokio::test]
async fn token_uses_are_written_when_the_server_stops() {
    let mut app = TestApp::spawn_process();
    let a = app.boot.account_id.clone();
    let (id, value) = app
        .create_account_token(&a, &app.admin(), token_body("last words", &a))
        .await;
    app.verify_account_token(&a, &value).await.ok();
    let status = app.stop();
    assert!(status.success(), "{status:?}");
    app.restart();
    let r = app
        .get(&app.acct(&format!("/tokens/{id}")), &app.admin())
        .await;
    assert!(r.ok()["last_used_on"].is_string(), "{r}");
}
