//! The admin console: served at `/console/` with strict security headers, every file it loads
//! embedded and typed, nothing else reachable under it, and nothing at all with `--console off`.

use reqwest::header;

use crate::helpers::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn assert_secured(r: &reqwest::Response, what: &str) {
    let h = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = h("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP lacks {directive}: {csp}"
        );
    }
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
}

/// The relative files a page or module names (`src="x"`, `href="x"`, `from './x.js'`).
fn referenced(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["src=\"", "href=\"", "from './"] {
        for (i, _) in text.match_indices(marker) {
            let rest = &text[i + marker.len()..];
            let end = rest.find(['"', '\'']).unwrap_or(rest.len());
            let name = &rest[..end];
            if !name.is_empty() && !name.starts_with('#') && !name.contains(':') {
                out.push(name.to_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_console_is_served_with_strict_headers_and_every_file_it_loads() {
    let app = TestApp::spawn();
    let c = no_redirects();
    for path in ["/", "/console"] {
        let r = c.get(format!("{}{path}", app.base())).send().await.unwrap();
        assert_eq!(r.status(), 302, "{path}");
        assert_eq!(r.headers()[header::LOCATION], "/console/", "{path}");
        assert_secured(&r, path);
    }
    let r = c
        .get(format!("{}/console/", app.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_secured(&r, "/console/");
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let index = r.text().await.unwrap();
    assert!(
        index.contains("<script type=\"module\" src=\"app.js\">"),
        "{index}"
    );

    // Every file the page and its modules load, transitively, is served and typed.
    let mut todo = referenced(&index);
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let r = c
            .get(format!("{}/console/{name}", app.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert_secured(&r, &name);
        let kind = r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let expected = match name.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected file type {other:?} ({name})"),
        };
        assert!(kind.starts_with(expected), "{name}: {kind}");
        if name.ends_with(".js") {
            todo.extend(referenced(&r.text().await.unwrap()));
        }
    }
    for expected in [
        "app.js",
        "api.js",
        "ui.js",
        "pages.js",
        "policy.js",
        "why.js",
        "style.css",
    ] {
        assert!(
            seen.contains(expected),
            "{expected} is not loaded: {seen:?}"
        );
    }

    // Nothing else is reachable under /console/: unknown names and traversal are the API's 404.
    for path in [
        "/console/nope.js",
        "/console/%2e%2e%2fCargo.toml",
        "/console/..%2f..%2fCargo.toml",
        "/console/index.html/x",
    ] {
        let r = c.get(format!("{}{path}", app.base())).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], 7000, "{path}: {body}");
    }

    // The console is not part of the API document: it is static files, not operations.
    let doc: serde_json::Value = c
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/", "/console", "/console/", "/console/{file}"] {
        assert!(
            doc["paths"].get(path).is_none(),
            "{path} in the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn console_off_serves_nothing_at_all() {
    let app = TestApp::spawn_with(&["--console", "off"]);
    let c = no_redirects();
    for path in ["/", "/console", "/console/", "/console/app.js"] {
        let r = c.get(format!("{}{path}", app.base())).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], 7000, "{path}: {body}");
    }
    // The API is unaffected.
    let r = app.get(&app.acct(""), &app.admin()).await;
    assert_eq!(r.status, 200, "{r}");
}

/// The console marks its API calls (`X-Portcullis-Client: console`): the audit log records its
/// changes with interface `UI`, everything else stays `API`.
#[tokio::test]
async fn the_console_s_changes_are_audited_with_interface_ui() {
    let app = TestApp::spawn();
    let console = Cred::Headers(vec![
        (
            "Authorization".into(),
            format!("Bearer {}", app.boot.api_token),
        ),
        ("X-Portcullis-Client".into(), "console".into()),
    ]);
    let body = |name: &str| serde_json::json!({"name": name, "policies": []});
    let r = app
        .post(
            &app.acct("/iam/user_groups"),
            &console,
            body("from-console"),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    let r = app
        .post(
            &app.acct("/iam/user_groups"),
            &app.admin(),
            body("from-api"),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    let log = app
        .get(
            &app.acct("/audit_logs?action.type=create&per_page=50"),
            &app.admin(),
        )
        .await;
    let interface_of = |name: &str| {
        log.list()
            .iter()
            .find(|e| {
                e["resource"]["type"] == "user_group"
                    && e["newValue"]
                        .as_str()
                        .is_some_and(|v| v.contains(&format!("\"{name}\"")))
            })
            .unwrap_or_else(|| panic!("no entry for {name}: {log}"))["interface"]
            .clone()
    };
    assert_eq!(interface_of("from-console"), "UI");
    assert_eq!(interface_of("from-api"), "API");
}

/// `serve` logs where the console is; on a database with no account yet it also says how to
/// create the first (whose token the console's sign-in needs), and only then.
#[test]
fn serve_names_the_console_and_how_to_begin_on_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    // Waits for `wanted` in the server's log (10 s at most); answers the log.
    let wait_for = |server: &Server, wanted: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let log = server.stderr();
            if log.contains(wanted) {
                return log;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {wanted:?} in: {log}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let empty = Server::start(dir.path(), &db);
    wait_for(&empty, "admin console: http://");
    let log = wait_for(&empty, "no account yet");
    assert!(log.contains("portcullis bootstrap"), "{log}");
    drop(empty);

    bootstrap(&db, "Acme", "admin@example.com", &[]);
    let ready = Server::start(dir.path(), &db);
    wait_for(&ready, "admin console: http://");
    // The hint would follow the console's line at once (one query later).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = ready.stderr();
    assert!(!log.contains("no account yet"), "{log}");
}
