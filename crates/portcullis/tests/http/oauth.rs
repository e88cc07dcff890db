//! Black-box HTTP tests for OAuth clients and the OAuth scope catalog (api-decisions.md "OAuth
//! clients"): the secret is shown once (create, rotate) and never read back; rotation keeps the
//! previous secret until `DELETE …/rotate_secret`; every field rule answers 400/1001 with the
//! field's pointer; accounts are isolated; permission keys are enforced.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

fn body() -> Value {
    json!({
        "client_name": "My OAuth App",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["https://example.com/callback", "http://localhost:3000/cb"],
        "response_types": ["code"],
        "scopes": ["account.read", "openid"],
        "token_endpoint_auth_method": "client_secret_post",
        "allowed_cors_origins": ["https://example.com"],
        "client_uri": "https://example.com",
        "logo_uri": "https://example.com/logo.png",
        "optional_scopes": ["account.read"],
        "policy_uri": "https://example.com/privacy",
        "post_logout_redirect_uris": ["https://example.com/logout"],
        "tos_uri": "https://example.com/tos",
    })
}

async fn patch(app: &TestApp, path: &str, cred: &Cred, body: Value) -> Resp {
    app.send(Method::PATCH, &app.url(path), cred, Body::Json(body))
        .await
}

async fn create(app: &TestApp) -> Value {
    let r = app
        .post(&app.acct("/oauth_clients"), &app.admin_key(), body())
        .await;
    assert_eq!(r.status, 200, "{r}");
    r.ok().clone()
}

#[tokio::test]
async fn create_shows_the_secret_once_and_round_trips() {
    let app = TestApp::spawn();
    let c = create(&app).await;
    let id = str_field(&c, "client_id");
    assert_id(&c["client_id"], "client_id");
    let secret = str_field(&c, "client_secret");
    assert!(secret.len() >= 32, "{c}");
    for (k, v) in body().as_object().unwrap() {
        assert_eq!(&c[k], v, "{k} round-trips: {c}");
    }
    assert_eq!(c["visibility"], json!("private"));
    assert_eq!(c["has_rotated_secret"], json!(false));
    assert!(
        c["created_at"].is_string() && c["updated_at"].is_string(),
        "{c}"
    );

    let r = app
        .get(&app.acct(&format!("/oauth_clients/{id}")), &app.admin_key())
        .await;
    let got = r.ok().clone();
    assert!(
        got.get("client_secret").is_none(),
        "get never shows the secret: {got}"
    );
    assert!(!r.text.contains(&secret), "{r}");
    let mut expected = c.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(got, expected);

    let r = app.get(&app.acct("/oauth_clients"), &app.admin_key()).await;
    assert_eq!(r.list(), &vec![expected.clone()], "{r}");
    assert!(
        !r.text.contains(&secret),
        "list never shows the secret: {r}"
    );

    // Delete, then it is gone.
    let r = app
        .delete(&app.acct(&format!("/oauth_clients/{id}")), &app.admin_key())
        .await;
    assert_eq!(r.ok(), &json!({ "id": id }));
    app.get(&app.acct(&format!("/oauth_clients/{id}")), &app.admin_key())
        .await
        .err(404, 1003);
    app.delete(&app.acct(&format!("/oauth_clients/{id}")), &app.admin_key())
        .await
        .err(404, 1003);
    assert!(app
        .get(&app.acct("/oauth_clients"), &app.admin_key())
        .await
        .list()
        .is_empty());
}

#[tokio::test]
async fn rotation_keeps_the_previous_secret_until_deleted() {
    let app = TestApp::spawn();
    let c = create(&app).await;
    let id = str_field(&c, "client_id");
    let first = str_field(&c, "client_secret");
    let path = app.acct(&format!("/oauth_clients/{id}/rotate_secret"));

    // Nothing to delete yet.
    app.delete(&path, &app.admin_key()).await.err(400, 1001);

    let r = app
        .send(Method::POST, &app.url(&path), &app.admin_key(), Body::None)
        .await;
    let second = str_field(r.ok(), "client_secret");
    assert_ne!(first, second);
    let got = app
        .get(&app.acct(&format!("/oauth_clients/{id}")), &app.admin_key())
        .await;
    assert_eq!(got.ok()["has_rotated_secret"], json!(true), "{got}");
    assert!(!got.text.contains(&second) && !got.text.contains(&first));

    // A second rotation waits for the rotated secret to be deleted.
    let r = app
        .send(Method::POST, &app.url(&path), &app.admin_key(), Body::None)
        .await;
    r.err(400, 1001);

    let r = app.delete(&path, &app.admin_key()).await;
    assert_eq!(r.ok(), &json!({ "id": id }));
    let got = app
        .get(&app.acct(&format!("/oauth_clients/{id}")), &app.admin_key())
        .await;
    assert_eq!(got.ok()["has_rotated_secret"], json!(false), "{got}");
    app.delete(&path, &app.admin_key()).await.err(400, 1001);

    // Unknown clients are 404.
    let unknown = app.acct(&format!("/oauth_clients/{UNKNOWN_ID}/rotate_secret"));
    app.send(
        Method::POST,
        &app.url(&unknown),
        &app.admin_key(),
        Body::None,
    )
    .await
    .err(404, 1003);
    app.delete(&unknown, &app.admin_key()).await.err(404, 1003);
}

#[tokio::test]
async fn every_field_rule_names_its_pointer() {
    let app = TestApp::spawn();
    let path = app.acct("/oauth_clients");
    let with = |k: &str, v: Value| {
        let mut b = body();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("client_name", json!("  ")), "/client_name"),
        (with("client_name", json!("x".repeat(256))), "/client_name"),
        (
            with("grant_types", json!(["refresh_token"])),
            "/grant_types",
        ),
        (
            with("grant_types", json!(["authorization_code", "implicit"])),
            "/grant_types/1",
        ),
        (with("grant_types", json!([])), "/grant_types"),
        (
            with("response_types", json!(["code", "code"])),
            "/response_types/1",
        ),
        (
            with("response_types", json!(["device"])),
            "/response_types/0",
        ),
        (
            with("token_endpoint_auth_method", json!("private_key_jwt")),
            "/token_endpoint_auth_method",
        ),
        (with("redirect_uris", json!([])), "/redirect_uris"),
        (
            with("redirect_uris", json!(["http://example.com/cb"])),
            "/redirect_uris/0",
        ),
        (
            with(
                "redirect_uris",
                json!(["https://example.com/cb", "https://example.com/cb#x"]),
            ),
            "/redirect_uris/1",
        ),
        (
            with("redirect_uris", json!(["/relative"])),
            "/redirect_uris/0",
        ),
        (
            with("redirect_uris", json!("https://example.com/cb")),
            "/redirect_uris",
        ),
        (
            with("post_logout_redirect_uris", json!(["ftp://example.com/"])),
            "/post_logout_redirect_uris/0",
        ),
        (
            with("allowed_cors_origins", json!(["https://example.com/path"])),
            "/allowed_cors_origins/0",
        ),
        (with("client_uri", json!("not a uri")), "/client_uri"),
        (
            with("logo_uri", json!("http://example.com/logo.png")),
            "/logo_uri",
        ),
        (with("scopes", json!([])), "/scopes"),
        (
            with("scopes", json!(["account.read", "no.such.scope"])),
            "/scopes/1",
        ),
        (with("scopes", json!(["account:read"])), "/scopes/0"),
        (
            with("optional_scopes", json!(["user-details.read"])),
            "/optional_scopes/0",
        ),
        (
            with("optional_scopes", json!(["openid"])),
            "/optional_scopes/0",
        ),
    ];
    for (b, ptr) in cases {
        let r = app.post(&path, &app.admin_key(), b.clone()).await;
        r.validation(ptr);
    }
    for missing in [
        "client_name",
        "grant_types",
        "redirect_uris",
        "response_types",
        "scopes",
        "token_endpoint_auth_method",
    ] {
        let mut b = body();
        b.as_object_mut().unwrap().remove(missing);
        app.post(&path, &app.admin_key(), b)
            .await
            .validation(&format!("/{missing}"));
    }
    // The unknown scope is named in the message.
    let r = app
        .post(
            &path,
            &app.admin_key(),
            with("scopes", json!(["no.such.scope"])),
        )
        .await;
    assert!(r.text.contains("no.such.scope"), "{r}");
    assert!(
        app.get(&path, &app.admin_key()).await.list().is_empty(),
        "nothing was created"
    );

    // PATCH: the merged client is checked; promotion is refused; `""` clears a URI.
    let c = create(&app).await;
    let one = app.acct(&format!("/oauth_clients/{}", str_field(&c, "client_id")));
    patch(
        &app,
        &one,
        &app.admin_key(),
        json!({ "scopes": ["user-details.read"] }),
    )
    .await
    .validation("/optional_scopes/0");
    patch(
        &app,
        &one,
        &app.admin_key(),
        json!({ "visibility": "public" }),
    )
    .await
    .validation("/visibility");
    patch(
        &app,
        &one,
        &app.admin_key(),
        json!({ "visibility": "private" }),
    )
    .await
    .validation("/visibility");
    patch(
        &app,
        &one,
        &app.admin_key(),
        json!({ "grant_types": ["refresh_token"] }),
    )
    .await
    .validation("/grant_types");
    let r = app.get(&one, &app.admin_key()).await;
    assert_eq!(
        r.ok()["updated_at"],
        c["updated_at"],
        "refused writes change nothing"
    );

    let r = patch(
        &app,
        &one,
        &app.admin_key(),
        json!({ "client_name": "Renamed", "scopes": ["user-details.read", "account.write"], "optional_scopes": ["account.write"], "client_uri": "" }),
    )
    .await;
    let u = r.ok();
    assert_eq!(u["client_name"], json!("Renamed"));
    assert_eq!(u["scopes"], json!(["user-details.read", "account.write"]));
    assert_eq!(u["optional_scopes"], json!(["account.write"]));
    assert!(u.get("client_uri").is_none(), "{u}");
    assert_eq!(
        u["redirect_uris"], c["redirect_uris"],
        "absent fields unchanged"
    );
    assert_eq!(app.get(&one, &app.admin_key()).await.ok(), u);
}

#[tokio::test]
async fn scopes_catalog_is_served_to_any_authenticated_caller() {
    let app = TestApp::spawn();
    let r = app.get("/oauth/scopes", &app.admin()).await;
    let list = r.list();
    assert!(list.iter().any(|s| s["id"] == json!("account.read")), "{r}");
    for s in list {
        assert!(s["id"].is_string() && s["name"].is_string(), "{s}");
    }
    // The operator's key works too (any authenticated caller); no credentials do not.
    app.get("/oauth/scopes", &app.admin_key()).await.ok();
    let r = app.get("/oauth/scopes", &Cred::headers(&[])).await;
    assert!(r.status == 400 || r.status == 401 || r.status == 403, "{r}");
}

#[tokio::test]
async fn accounts_are_isolated_and_keys_enforced() {
    let app = TestApp::spawn();
    let c = create(&app).await;
    let id = str_field(&c, "client_id");
    let a_one = app.acct(&format!("/oauth_clients/{id}"));

    // A second account, its admin is the operator (email + key); its own token.
    let b = app.create_account("Second").await;
    let key = app.admin_key();
    let in_b = |rest: &str| format!("/accounts/{b}/oauth_clients{rest}");
    let r = app.post(&in_b(""), &key, body()).await;
    assert_eq!(r.status, 200, "{r}");
    let b_id = str_field(r.ok(), "client_id");

    // A's client under B's account: 404, and nothing changes.
    app.get(&in_b(&format!("/{id}")), &key).await.err(404, 1003);
    patch(
        &app,
        &in_b(&format!("/{id}")),
        &key,
        json!({ "client_name": "stolen" }),
    )
    .await
    .err(404, 1003);
    app.send(
        Method::POST,
        &app.url(&in_b(&format!("/{id}/rotate_secret"))),
        &key,
        Body::None,
    )
    .await
    .err(404, 1003);
    app.delete(&in_b(&format!("/{id}")), &key)
        .await
        .err(404, 1003);
    let list_b = app.get(&in_b(""), &key).await;
    assert_eq!(list_b.list().len(), 1);
    assert_eq!(list_b.list()[0]["client_id"], json!(b_id));

    // A's bootstrap token cannot act in B at all (403), whether or not the client exists.
    app.get(&in_b(&format!("/{b_id}")), &app.admin())
        .await
        .err(403, 10000);
    app.get(&in_b(""), &app.admin()).await.err(403, 10000);
    let r = app.get(&a_one, &app.admin_key()).await;
    assert_eq!(r.ok(), &{
        let mut e = c.clone();
        e.as_object_mut().unwrap().remove("client_secret");
        e
    });

    // A read-only member reads but cannot write.
    let (_uid, ro_key) = app.user_key("ro@example.com", false);
    app.create_member(
        &app.boot.account_id,
        &app.admin_key(),
        "ro@example.com",
        &[ROLE_ADMIN_READ_ONLY],
        Some("accepted"),
    )
    .await;
    let ro = Cred::key("ro@example.com", &ro_key);
    app.get(&app.acct("/oauth_clients"), &ro).await.ok();
    app.get(&a_one, &ro).await.ok();
    app.post(&app.acct("/oauth_clients"), &ro, body())
        .await
        .err(403, 10000);
    patch(&app, &a_one, &ro, json!({ "client_name": "x" }))
        .await
        .err(403, 10000);
    app.delete(&a_one, &ro).await.err(403, 10000);
    app.send(
        Method::POST,
        &app.url(&format!("{a_one}/rotate_secret")),
        &ro,
        Body::None,
    )
    .await
    .err(403, 10000);
    // The catalog is any authenticated caller's.
    app.get("/oauth/scopes", &ro).await.ok();
    assert_eq!(
        app.get(&app.acct("/oauth_clients"), &app.admin_key())
            .await
            .list()
            .len(),
        1
    );
}

/// Account tokens reach OAuth clients through the "Account Settings" token groups
/// (api-decisions.md "OAuth clients and OAuth scopes"): Write manages them (the bootstrap token
/// holds it), Read only reads them.
#[tokio::test]
async fn account_settings_token_groups_grant_the_oauth_keys() {
    let app = TestApp::spawn();
    let c = app
        .post(&app.acct("/oauth_clients"), &app.admin(), body())
        .await;
    let id = str_field(c.ok(), "client_id");
    let (_, value) = app
        .create_account_token(
            &app.boot.account_id,
            &app.admin(),
            json!({
                "name": "settings reader",
                "policies": [{
                    "effect": "allow",
                    "permission_groups": [{ "id": PG_ACCOUNT_SETTINGS_READ }],
                    "resources": { format!("com.cloudflare.api.account.{}", app.boot.account_id): "*" },
                }],
            }),
        )
        .await;
    let reader = Cred::token(&value);
    assert_eq!(
        app.get(&app.acct("/oauth_clients"), &reader)
            .await
            .list()
            .len(),
        1
    );
    app.get(&app.acct(&format!("/oauth_clients/{id}")), &reader)
        .await
        .ok();
    app.post(&app.acct("/oauth_clients"), &reader, body())
        .await
        .err(403, 10000);
    app.delete(&app.acct(&format!("/oauth_clients/{id}")), &reader)
        .await
        .err(403, 10000);
}
