//! Authentication (api.md §4, api-decisions.md "Authentication and access").

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// A syntactically valid token (40 chars of [A-Za-z0-9_-]) that was never issued.
const FORGED_TOKEN: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-Ab";
/// A syntactically valid global API key (37 lowercase hex) that was never issued.
const FORGED_KEY: &str = "0123456789abcdef0123456789abcdef01234";

fn chain_codes(e: &Value) -> Vec<i64> {
    e["error_chain"]
        .as_array()
        .unwrap_or_else(|| panic!("6003 must carry an error_chain array: {e}"))
        .iter()
        .map(|c| {
            assert!(
                c["message"].is_string(),
                "error_chain item needs a message: {c}"
            );
            c["code"]
                .as_i64()
                .unwrap_or_else(|| panic!("error_chain item needs a code: {c}"))
        })
        .collect()
}

#[tokio::test]
async fn no_credentials_is_400_6003_with_error_chain() {
    let app = TestApp::spawn();
    for path in [
        app.acct("/members"),
        app.acct(""),
        "/user".to_string(),
        "/accounts".to_string(),
    ] {
        let r = app.get(&path, &Cred::Anon).await;
        let e = r.err(400, 6003);
        assert_eq!(e["message"], json!("Invalid request headers"), "{r}");
        let codes = chain_codes(e);
        assert!(!codes.is_empty(), "{r}");
        assert!(
            codes.iter().all(|c| [6100, 6101, 6103, 6111].contains(c)),
            "error_chain codes must name the cause: {r}"
        );
    }
}

#[tokio::test]
async fn half_of_email_and_key_names_the_missing_header() {
    let app = TestApp::spawn();
    let r = app
        .get(
            &app.acct(""),
            &Cred::headers(&[("X-Auth-Email", "admin@example.com")]),
        )
        .await;
    let e = r.err(400, 6003);
    assert!(chain_codes(e).contains(&6101), "missing key → 6101: {r}");

    let r = app
        .get(
            &app.acct(""),
            &Cred::headers(&[("X-Auth-Key", &app.boot.api_key)]),
        )
        .await;
    let e = r.err(400, 6003);
    assert!(chain_codes(e).contains(&6100), "missing email → 6100: {r}");
}

#[tokio::test]
async fn malformed_authorization_header_is_400_6003_6111() {
    let app = TestApp::spawn();
    for value in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Token abcdef",
        "bearer-without-space",
    ] {
        let r = app
            .get(&app.acct(""), &Cred::headers(&[("Authorization", value)]))
            .await;
        let e = r.err(400, 6003);
        let codes = chain_codes(e);
        assert!(
            codes.contains(&6111),
            "Authorization: {value:?} → 6111: {r}"
        );
        let item = e["error_chain"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["code"] == json!(6111))
            .expect("6111 item");
        assert_eq!(
            item["message"],
            json!("Invalid format for Authorization header"),
            "{r}"
        );
    }
}

#[tokio::test]
async fn malformed_auth_key_is_400_6003_6103() {
    let app = TestApp::spawn();
    let r = app
        .get(&app.acct(""), &Cred::key(&app.boot.email, "not a key!"))
        .await;
    let e = r.err(400, 6003);
    assert!(chain_codes(e).contains(&6103), "{r}");
}

#[tokio::test]
async fn unknown_token_is_403_9109() {
    let app = TestApp::spawn();
    for path in [
        app.acct(""),
        app.acct("/tokens/verify"),
        "/user/tokens/verify".to_string(),
    ] {
        let r = app.get(&path, &Cred::token(FORGED_TOKEN)).await;
        let e = r.err(403, 9109);
        assert_eq!(e["message"], json!("Invalid access token"), "{r}");
        assert!(r.body["result"].is_null());
    }
}

#[tokio::test]
async fn bad_email_or_key_is_403_9103() {
    let app = TestApp::spawn();
    for cred in [
        Cred::key(&app.boot.email, FORGED_KEY),
        Cred::key("nobody@example.com", &app.boot.api_key),
        Cred::key("nobody@example.com", FORGED_KEY),
    ] {
        let r = app.get("/user", &cred).await;
        let e = r.err(403, 9103);
        assert_eq!(
            e["message"],
            json!("Unknown X-Auth-Key or X-Auth-Email"),
            "{r}"
        );
    }
}

#[tokio::test]
async fn bearer_wins_over_email_and_key() {
    let app = TestApp::spawn();
    // Valid bearer + wrong key: the bearer decides → allowed.
    let cred = Cred::headers(&[
        ("Authorization", &format!("Bearer {}", app.boot.api_token)),
        ("X-Auth-Email", &app.boot.email),
        ("X-Auth-Key", FORGED_KEY),
    ]);
    let r = app.get(&app.acct("/tokens/verify"), &cred).await;
    assert_eq!(r.ok()["id"], json!(app.boot.api_token_id), "{r}");

    // Forged bearer + valid key: the bearer decides → 9109.
    let cred = Cred::headers(&[
        ("Authorization", &format!("Bearer {FORGED_TOKEN}")),
        ("X-Auth-Email", &app.boot.email),
        ("X-Auth-Key", &app.boot.api_key),
    ]);
    let r = app.get("/user", &cred).await;
    r.err(403, 9109);
}

#[tokio::test]
async fn disabled_token_is_403_9109() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let (id, value) = app
        .create_account_token(&a, &app.admin(), token_body("to-disable", &a))
        .await;
    app.verify_account_token(&a, &value).await.ok();

    let r = app
        .put(
            &app.acct(&format!("/tokens/{id}")),
            &app.admin(),
            json!({ "status": "disabled" }),
        )
        .await;
    assert_eq!(r.ok()["status"], json!("disabled"), "{r}");

    app.verify_account_token(&a, &value).await.err(403, 9109);
    app.get(&app.acct(""), &Cred::token(&value))
        .await
        .err(403, 9109);

    // Re-enabled, it works again.
    app.put(
        &app.acct(&format!("/tokens/{id}")),
        &app.admin(),
        json!({ "status": "active" }),
    )
    .await
    .ok();
    app.verify_account_token(&a, &value).await.ok();
}

#[tokio::test]
async fn expired_token_is_403_9109_and_reads_expired() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let mut body = token_body("short-lived", &a);
    body["expires_on"] = json!(in_secs(3));
    let (id, value) = app.create_account_token(&a, &app.admin(), body).await;
    let r = app.verify_account_token(&a, &value).await;
    assert_eq!(r.ok()["status"], json!("active"), "{r}");

    tokio::time::sleep(Duration::from_millis(4500)).await;

    app.verify_account_token(&a, &value).await.err(403, 9109);
    app.get(&app.acct(""), &Cred::token(&value))
        .await
        .err(403, 9109);
    let r = app
        .get(&app.acct(&format!("/tokens/{id}")), &app.admin())
        .await;
    assert_eq!(r.ok()["status"], json!("expired"), "{r}");
}

#[tokio::test]
async fn token_with_expires_on_in_the_past_is_rejected_or_expired() {
    // Setting expires_on in the past through an update: the token must stop working at once.
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let (id, value) = app
        .create_account_token(&a, &app.admin(), token_body("backdated", &a))
        .await;
    let r = app
        .put(
            &app.acct(&format!("/tokens/{id}")),
            &app.admin(),
            json!({ "expires_on": in_secs(-3600) }),
        )
        .await;
    if r.status == 200 {
        assert_eq!(r.ok()["status"], json!("expired"), "{r}");
    } else {
        r.err(400, 1001);
    }
    // Either way the stored token must not be usable with an expiry in the past.
    let v = app.verify_account_token(&a, &value).await;
    if r.status == 200 {
        v.err(403, 9109);
    } else {
        v.ok();
    }
}

#[tokio::test]
async fn not_yet_valid_token_is_403_9109() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let mut body = token_body("future", &a);
    body["not_before"] = json!(in_secs(86_400));
    let (id, value) = app.create_account_token(&a, &app.admin(), body).await;
    app.verify_account_token(&a, &value).await.err(403, 9109);
    app.get(&app.acct(""), &Cred::token(&value))
        .await
        .err(403, 9109);

    // Clearing not_before with an explicit null makes it valid.
    let r = app
        .put(
            &app.acct(&format!("/tokens/{id}")),
            &app.admin(),
            json!({ "not_before": null }),
        )
        .await;
    assert!(r.ok()["not_before"].is_null(), "{r}");
    app.verify_account_token(&a, &value).await.ok();
}

#[tokio::test]
async fn ip_conditions_are_enforced() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let with_condition = |name: &str, cond: Value| {
        let mut b = token_body(name, &a);
        b["condition"] = json!({ "request_ip": cond });
        b
    };

    // `in` that contains 127.0.0.1 → allowed.
    let (_, ok_value) = app
        .create_account_token(
            &a,
            &app.admin(),
            with_condition("in-local", json!({ "in": ["127.0.0.0/8"] })),
        )
        .await;
    app.verify_account_token(&a, &ok_value).await.ok();

    // `in` without 127.0.0.1 → 403/9109 naming the location.
    let (_, v) = app
        .create_account_token(
            &a,
            &app.admin(),
            with_condition(
                "in-elsewhere",
                json!({ "in": ["10.0.0.0/8", "192.0.2.1/32"] }),
            ),
        )
        .await;
    let r = app.verify_account_token(&a, &v).await;
    let e = r.err(403, 9109);
    assert_eq!(
        e["message"],
        json!("Cannot use the access token from location: 127.0.0.1"),
        "{r}"
    );
    app.get(&app.acct(""), &Cred::token(&v))
        .await
        .err(403, 9109);

    // `not_in` containing 127.0.0.0/8 → 403.
    let (_, v) = app
        .create_account_token(
            &a,
            &app.admin(),
            with_condition("not-in-local", json!({ "not_in": ["127.0.0.0/8"] })),
        )
        .await;
    app.verify_account_token(&a, &v).await.err(403, 9109);

    // `not_in` elsewhere → allowed.
    let (_, v) = app
        .create_account_token(
            &a,
            &app.admin(),
            with_condition("not-in-elsewhere", json!({ "not_in": ["10.0.0.0/8"] })),
        )
        .await;
    app.verify_account_token(&a, &v).await.ok();

    // A spoofed X-Forwarded-For must not unlock an IP-restricted token.
    let (_, v) = app
        .create_account_token(
            &a,
            &app.admin(),
            with_condition("xff", json!({ "in": ["203.0.113.0/24"] })),
        )
        .await;
    let cred = Cred::headers(&[
        ("Authorization", &format!("Bearer {v}")),
        ("X-Forwarded-For", "203.0.113.7"),
    ]);
    app.get(&app.acct("/tokens/verify"), &cred)
        .await
        .err(403, 9109);
}

#[tokio::test]
async fn invalid_ip_condition_is_400_1001() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let mut b = token_body("bad-cidr", &a);
    b["condition"] = json!({ "request_ip": { "in": ["not-a-cidr"] } });
    app.post(&app.acct("/tokens"), &app.admin(), b)
        .await
        .validation_prefix("/condition/request_ip/in");
}

#[tokio::test]
async fn user_without_membership_gets_403_10000_and_no_data() {
    let app = TestApp::spawn();
    let (_, key) = app.user_key("stranger@example.com", false);
    let cred = Cred::key("stranger@example.com", &key);

    // Authenticated: /user works.
    let r = app.get("/user", &cred).await;
    assert_eq!(r.ok()["email"], json!("stranger@example.com"), "{r}");

    for path in [
        app.acct(""),
        app.acct("/members"),
        app.acct("/tokens"),
        app.acct("/iam/permission_groups"),
    ] {
        let r = app.get(&path, &cred).await;
        let e = r.err(403, 10000);
        assert_eq!(e["message"], json!("Authentication error"), "{r}");
        assert!(r.body["result"].is_null(), "{r}");
        assert!(!r.text.contains(&app.boot.api_token_id), "leaks data: {r}");
        assert!(!r.text.contains("admin@example.com"), "leaks data: {r}");
    }
    // An account that does not exist looks the same (existence is not revealed).
    app.get(&format!("/accounts/{UNKNOWN_ID}"), &cred)
        .await
        .err(403, 10000);

    // Listing accounts shows none.
    let r = app.get("/accounts", &cred).await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(r.info()["total_count"], json!(0), "{r}");
}

#[tokio::test]
async fn pending_member_is_403_until_accepted() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let m = app
        .create_member(&a, &app.admin(), "pending@example.com", &[ROLE_ADMIN], None)
        .await;
    assert_eq!(
        m["status"],
        json!("pending"),
        "default status is pending: {m}"
    );
    let (_, key) = app.user_key("pending@example.com", false);
    let cred = Cred::key("pending@example.com", &key);

    app.get(&app.acct(""), &cred).await.err(403, 10000);

    let mid = str_field(&m, "id");
    app.put(
        &app.acct(&format!("/members/{mid}")),
        &app.admin(),
        json!({ "status": "accepted" }),
    )
    .await
    .ok();
    let r = app.get(&app.acct(""), &cred).await;
    assert_eq!(r.ok()["id"], json!(a), "{r}");
}

#[tokio::test]
async fn token_of_another_account_cannot_read_this_one() {
    let app = TestApp::spawn();
    let a = app.boot.account_id.clone();
    let b = app.create_account("Other").await;
    let (_, value) = app
        .create_account_token(&b, &app.admin_key(), token_body("b-token", &b))
        .await;
    app.verify_account_token(&b, &value).await.ok();

    let cred = Cred::token(&value);
    for path in [
        format!("/accounts/{a}"),
        format!("/accounts/{a}/members"),
        format!("/accounts/{a}/tokens"),
        format!("/accounts/{a}/iam/permission_groups"),
    ] {
        let r = app.get(&path, &cred).await;
        r.err(403, 10000);
        assert!(r.body["result"].is_null(), "{r}");
    }
    // Nor write to it.
    app.post(
        &format!("/accounts/{a}/tokens"),
        &cred,
        token_body("evil", &a),
    )
    .await
    .err(403, 10000);
    // Nor verify itself against it.
    let r = app.verify_account_token(&a, &value).await;
    assert_eq!(r.status, 403, "{r}");

    // And the first account's token cannot read the second.
    app.get(&format!("/accounts/{b}"), &app.admin())
        .await
        .err(403, 10000);
}

#[tokio::test]
async fn account_token_cannot_use_user_endpoints() {
    let app = TestApp::spawn();
    app.get("/user", &app.admin()).await.err(403, 9109);
    app.get("/user/tokens", &app.admin()).await.err(403, 10000);
    app.get("/memberships", &app.admin()).await.err(400, 9106);
}

#[tokio::test]
async fn get_user_returns_the_authenticated_user() {
    let app = TestApp::spawn();
    let r = app.get("/user", &app.admin_key()).await;
    let u = r.ok();
    assert_eq!(u["id"], json!(app.boot.user_id), "{r}");
    assert_eq!(u["email"], json!("admin@example.com"), "{r}");

    // Through a user-owned token, too.
    let (_, value) = app
        .create_user_token(&app.admin_key(), user_token_body("me", &app.boot.user_id))
        .await;
    let r = app.get("/user", &Cred::token(&value)).await;
    assert_eq!(r.ok()["id"], json!(app.boot.user_id), "{r}");
}
