//! Wire basics (api.md §1–3): the envelope, the error catalog's routing/body errors, query parsing
//! and pagination, /healthz and the OpenAPI document.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_200_with_the_envelope() {
    let app = TestApp::spawn();
    let url = format!("{}/healthz", app.base());
    let r = app.send(Method::GET, &url, &Cred::Anon, Body::None).await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.ok()["status"], json!("ok"), "{r}");
}

/// `/readyz` reports the policy index: live (SQLite hears every change from the start; a
/// PostgreSQL replica once it listens), and decisions served from memory once warm.
#[tokio::test]
async fn readyz_reports_the_policy_index() {
    let app = TestApp::spawn();
    let url = format!("{}/readyz", app.base());
    let ready = || async { app.send(Method::GET, &url, &Cred::Anon, Body::None).await };
    let r = ready().await;
    assert_eq!(r.ok()["status"], json!("ready"), "{r}");
    let index = &r.ok()["policy_index"];
    for field in ["entries", "hits", "misses"] {
        assert!(index[field].is_u64(), "{field}: {r}");
    }
    let live = if is_postgres() {
        // The listener connects in the background right after start.
        let started = std::time::Instant::now();
        loop {
            let r = ready().await;
            if r.ok()["policy_index"]["live"] == json!(true) {
                break r;
            }
            assert!(started.elapsed().as_secs() < 10, "never live: {r}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    } else {
        r
    };
    assert_eq!(live.ok()["policy_index"]["live"], json!(true), "{live}");
    let hits = live.ok()["policy_index"]["hits"].as_u64().unwrap_or(0);
    // The admin's requests are decided from the index: the second one is a hit.
    for _ in 0..2 {
        app.get(&app.acct(""), &app.admin()).await.ok();
    }
    let r = ready().await;
    let index = &r.ok()["policy_index"];
    assert!(index["hits"].as_u64().unwrap_or(0) > hits, "{r}");
    assert!(index["entries"].as_u64().unwrap_or(0) >= 1, "{r}");
}

#[tokio::test]
async fn success_envelope_shape() {
    let app = TestApp::spawn();
    let r = app.get(&app.acct(""), &app.admin()).await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.body["success"], json!(true));
    assert_eq!(r.body["errors"], json!([]));
    assert!(r.body["messages"].is_array());
    assert_eq!(r.ok()["id"], json!(app.boot.account_id));
}

#[tokio::test]
async fn unknown_route_is_404_7000() {
    let app = TestApp::spawn();
    for path in [
        "/nope".to_string(),
        app.acct("/nope"),
        app.acct("/iam/permission_groups/0123456789abcdef0123456789abcdef/nope"),
    ] {
        let r = app.get(&path, &app.admin()).await;
        let e = r.err(404, 7000);
        assert_eq!(e["message"], json!("No route for that URI"), "{r}");
    }
    // Outside /client/v4 as well.
    let url = format!("{}/nope", app.base());
    let r = app.send(Method::GET, &url, &app.admin(), Body::None).await;
    r.err(404, 7000);
}

#[tokio::test]
async fn wrong_method_on_known_path_is_405_7001() {
    let app = TestApp::spawn();
    let cases = [
        (Method::DELETE, app.acct("/iam/permission_groups")),
        (Method::PATCH, app.acct("/members")),
        (Method::POST, app.acct("/tokens/verify")),
        (Method::PATCH, "/accounts".to_string()),
        (Method::POST, "/user".to_string()),
    ];
    for (method, path) in cases {
        let r = app
            .send(method, &app.url(&path), &app.admin(), Body::None)
            .await;
        r.err(405, 7001);
    }
}

#[tokio::test]
async fn malformed_path_id_is_400_7003() {
    let app = TestApp::spawn();
    let a = &app.boot.account_id;
    let paths = [
        "/accounts/not-an-id".to_string(),
        "/accounts/0123456789abcdef0123456789abcde".to_string(), // 31 hex
        "/accounts/0123456789abcdef0123456789abcdef0".to_string(), // 33 hex
        "/accounts/0123456789abcdef0123456789abcdeg/members".to_string(),
        format!("/accounts/{a}/members/123"),
        format!("/accounts/{a}/tokens/xyz"),
        format!("/accounts/{a}/iam/permission_groups/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
        "/user/tokens/not-hex".to_string(),
    ];
    for path in paths {
        let r = app.get(&path, &app.admin_key()).await;
        let e = r.err(400, 7003);
        let msg = e["message"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with("Could not route to")
                && msg.contains("perhaps your object identifier is invalid?"),
            "7003 message shape: {r}"
        );
        assert!(
            msg.contains(path.as_str()),
            "7003 message names the path: {r}"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_400_6007() {
    let app = TestApp::spawn();
    let bodies: [&[u8]; 3] = [b"{\"name\": ", b"not json at all", b"{\"name\": \"x\",}"];
    for raw in bodies {
        let r = app
            .send(
                Method::POST,
                &app.url(&app.acct("/tokens")),
                &app.admin(),
                Body::Raw(raw.to_vec(), "application/json"),
            )
            .await;
        let e = r.err(400, 6007);
        assert_eq!(e["message"], json!("Malformed JSON in request body"), "{r}");
    }
}

#[tokio::test]
async fn wrong_field_type_is_400_1001_with_pointer() {
    let app = TestApp::spawn();
    let a = &app.boot.account_id;

    let mut body = token_body("typed", a);
    body["name"] = json!(42);
    app.post(&app.acct("/tokens"), &app.admin(), body)
        .await
        .validation("/name");

    app.put(&app.acct(""), &app.admin(), json!({ "name": ["x"] }))
        .await
        .validation("/name");

    app.post(
        &app.acct("/members"),
        &app.admin(),
        json!({ "email": "typed@example.com", "roles": "not-an-array" }),
    )
    .await
    .validation("/roles");

    app.post(
        &app.acct("/members"),
        &app.admin(),
        json!({ "email": 7, "roles": [ROLE_ADMIN] }),
    )
    .await
    .validation("/email");

    // Unknown enum value.
    app.post(
        &app.acct("/members"),
        &app.admin(),
        json!({ "email": "enum@example.com", "roles": [ROLE_ADMIN], "status": "sleeping" }),
    )
    .await
    .validation("/status");
}

#[tokio::test]
async fn unknown_fields_and_query_params_are_ignored() {
    let app = TestApp::spawn();
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({ "email": "extra@example.com", "roles": [ROLE_ADMIN], "surprise": {"x": 1} }),
        )
        .await;
    assert_eq!(r.ok()["email"], json!("extra@example.com"), "{r}");

    let r = app
        .get(
            &app.acct("/members?foo=bar&api-version=2026-01-01"),
            &app.admin(),
        )
        .await;
    assert_eq!(r.list().len(), 2, "{r}");
}

#[tokio::test]
async fn body_over_one_mib_is_413() {
    let app = TestApp::spawn();
    let big_name = "x".repeat(1024 * 1024 + 4096);
    let body = serde_json::to_vec(&token_body(&big_name, &app.boot.account_id)).expect("json");
    let host = app.base().trim_start_matches("http://").to_string();
    let head = format!(
        "POST /client/v4{} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        app.acct("/tokens"),
        app.boot.api_token,
        body.len()
    );
    let base = app.base().to_string();
    let resp = tokio::task::spawn_blocking(move || raw_http_expect_continue(&base, &head, &body))
        .await
        .expect("join");
    assert_eq!(resp.status, 413, "{}\n{}", resp.head, resp.body);
    assert!(
        resp.head
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "413 must be JSON: {}",
        resp.head
    );
    let v: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
    assert_eq!(
        v["success"],
        json!(false),
        "413 must be an envelope: {}",
        resp.body
    );
    assert!(v["result"].is_null(), "{}", resp.body);
    assert!(
        v["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{}",
        resp.body
    );
}

#[tokio::test]
async fn body_just_under_one_mib_is_not_413() {
    let app = TestApp::spawn();
    // ~900 KiB: inside the limit, so it reaches validation (name longer than 120).
    let name = "y".repeat(900 * 1024);
    app.post(
        &app.acct("/tokens"),
        &app.admin(),
        token_body(&name, &app.boot.account_id),
    )
    .await
    .validation("/name");
}

#[tokio::test]
async fn delete_with_json_content_type_and_no_body_is_accepted() {
    // Python SDK: DELETE carries Content-Type: application/json but no body.
    let app = TestApp::spawn();
    let m = app
        .create_member(
            &app.boot.account_id,
            &app.admin(),
            "gone@example.com",
            &[ROLE_ADMIN],
            None,
        )
        .await;
    let id = str_field(&m, "id");
    let r = app
        .send(
            Method::DELETE,
            &app.url(&app.acct(&format!("/members/{id}"))),
            &app.admin(),
            Body::Raw(Vec::new(), "application/json"),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.ok()["id"], json!(id), "{r}");
}

// ---- pagination & query parsing (api.md §3) -------------------------------------------------

/// The paginated lists of this issue, all 20 / 5..50.
fn paginated_lists(app: &TestApp) -> Vec<(String, Cred)> {
    vec![
        (app.acct("/iam/permission_groups"), app.admin()),
        (app.acct("/members"), app.admin()),
        (app.acct("/tokens"), app.admin()),
        ("/accounts".to_string(), app.admin_key()),
        ("/user/tokens".to_string(), app.admin_key()),
    ]
}

#[tokio::test]
async fn page_zero_or_non_numeric_is_400_1001() {
    let app = TestApp::spawn();
    for (path, cred) in paginated_lists(&app) {
        for bad in ["page=0", "page=abc", "page=-1"] {
            let r = app.get(&format!("{path}?{bad}"), &cred).await;
            r.err(400, 1001);
        }
    }
}

#[tokio::test]
async fn page_as_float_and_default_page_info() {
    let app = TestApp::spawn();
    for (path, cred) in paginated_lists(&app) {
        let r = app.get(&path, &cred).await;
        r.list();
        check_result_info(&r);
        assert_eq!(r.info()["page"], json!(1), "{r}");
        assert_eq!(r.info()["per_page"], json!(20), "{r}");

        let r = app
            .get(&format!("{path}?page=1.0&per_page=5.0"), &cred)
            .await;
        r.list();
        assert_eq!(r.info()["page"], json!(1), "{r}");
        assert_eq!(r.info()["per_page"], json!(5), "{r}");

        let r = app.get(&format!("{path}?page=2.0"), &cred).await;
        r.list();
        assert_eq!(r.info()["page"], json!(2), "{r}");
    }
}

#[tokio::test]
async fn per_page_is_clamped_to_5_50() {
    let app = TestApp::spawn();
    for (path, cred) in paginated_lists(&app) {
        for (asked, got) in [
            ("1", 5),
            ("0", 5),
            ("4", 5),
            ("5", 5),
            ("50", 50),
            ("51", 50),
            ("1000", 50),
        ] {
            let r = app.get(&format!("{path}?per_page={asked}"), &cred).await;
            r.list();
            check_result_info(&r);
            assert_eq!(r.info()["per_page"], json!(got), "per_page={asked}: {r}");
        }
    }
}

#[tokio::test]
async fn page_past_the_end_is_200_with_empty_result() {
    let app = TestApp::spawn();
    for (path, cred) in paginated_lists(&app) {
        let first = app.get(&path, &cred).await;
        let total = first.info()["total_count"].as_u64().expect("total_count");
        for page in [3, 999] {
            let r = app
                .get(&format!("{path}?page={page}&per_page=50"), &cred)
                .await;
            assert_eq!(r.list().len(), 0, "{r}");
            assert_eq!(r.info()["page"], json!(page), "{r}");
            assert_eq!(r.info()["count"], json!(0), "{r}");
            assert_eq!(r.info()["total_count"], json!(total), "{r}");
        }
    }
}

#[tokio::test]
async fn plus_and_percent20_decode_as_spaces_in_name_filters() {
    let app = TestApp::spawn();
    for q in [
        "Super+Administrator+-+All+Privileges",
        "Super%20Administrator%20-%20All%20Privileges",
    ] {
        let r = app
            .get(
                &app.acct(&format!("/iam/permission_groups?name={q}")),
                &app.admin(),
            )
            .await;
        let items = r.list();
        assert_eq!(names(items), vec![SUPER_ADMIN_NAME.to_string()], "{r}");
    }
    app.create_account("Acme Widgets Intl").await;
    for q in ["Acme+Widgets+Intl", "Acme%20Widgets%20Intl"] {
        let r = app
            .get(&format!("/accounts?name={q}"), &app.admin_key())
            .await;
        assert_eq!(
            names(r.list()),
            vec!["Acme Widgets Intl".to_string()],
            "{r}"
        );
        assert_eq!(r.info()["total_count"], json!(1), "{r}");
    }
    for q in ["Account+Settings+Read", "Account%20Settings%20Read"] {
        let r = app
            .get(
                &app.acct(&format!("/tokens/permission_groups?name={q}")),
                &app.admin(),
            )
            .await;
        assert_eq!(
            ids(r.list()),
            vec![PG_ACCOUNT_SETTINGS_READ.to_string()],
            "{r}"
        );
    }
}

// ---- OpenAPI --------------------------------------------------------------------------------

fn normalize_template(p: &str) -> String {
    let p = p.strip_prefix("/client/v4").unwrap_or(p);
    let mut out = String::new();
    let mut in_param = false;
    for c in p.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn openapi_document_lists_every_tested_route() {
    let app = TestApp::spawn();
    let url = format!("{}/client/v4/openapi.json", app.base());
    let (status, headers, text) = app.raw(Method::GET, &url, &Cred::Anon, Body::None).await;
    assert_eq!(status, 200, "{text}");
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{ct}");
    let doc: Value = serde_json::from_str(&text).expect("openapi.json must be JSON");
    let version = doc["openapi"].as_str().expect("`openapi` field");
    assert!(version.starts_with('3'), "openapi version {version}");
    let paths = doc["paths"].as_object().expect("`paths` object");
    let normalized: std::collections::HashMap<String, &Value> = paths
        .iter()
        .map(|(k, v)| (normalize_template(k), v))
        .collect();
    let expected: &[(&str, &[&str])] = &[
        ("/accounts", &["get", "post"]),
        ("/accounts/{}", &["get", "put", "delete"]),
        ("/accounts/{}/members", &["get", "post"]),
        ("/accounts/{}/members/{}", &["get", "put", "delete"]),
        ("/accounts/{}/tokens", &["get", "post"]),
        ("/accounts/{}/tokens/{}", &["get", "put", "delete"]),
        ("/accounts/{}/tokens/{}/value", &["put"]),
        ("/accounts/{}/tokens/verify", &["get"]),
        ("/accounts/{}/tokens/permission_groups", &["get"]),
        ("/accounts/{}/iam/permission_groups", &["get"]),
        ("/accounts/{}/iam/permission_groups/{}", &["get"]),
        ("/user", &["get"]),
        ("/user/tokens", &["get", "post"]),
        ("/user/tokens/{}", &["get", "put", "delete"]),
        ("/user/tokens/{}/value", &["put"]),
        ("/user/tokens/verify", &["get"]),
        ("/user/tokens/permission_groups", &["get"]),
    ];
    let mut missing = Vec::new();
    for (path, methods) in expected {
        match normalized.get(*path) {
            None => missing.push(format!("{path} (path)")),
            Some(item) => {
                for m in *methods {
                    if item.get(*m).is_none() {
                        missing.push(format!("{} {path}", m.to_uppercase()));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "openapi.json lacks: {missing:?}\npaths present: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn sdk_headers_are_accepted() {
    // What the Python and TS SDKs send on every request (sdk-clients.md §2).
    let app = TestApp::spawn();
    let bearer = format!("Bearer {}", app.boot.api_token);
    let cred = Cred::headers(&[
        ("Authorization", bearer.as_str()),
        ("User-Agent", "Cloudflare/Python 5.9.0"),
        ("Accept", "application/json"),
        ("api-version", "2026-11-25"),
        ("X-Stainless-Lang", "python"),
        ("X-Stainless-Package-Version", "5.9.0"),
        ("X-Stainless-Async", "false"),
        ("x-stainless-retry-count", "0"),
        ("x-stainless-read-timeout", "60"),
    ]);
    let r = app.get(&app.acct("/members"), &cred).await;
    assert_eq!(r.list().len(), 1, "{r}");
}
