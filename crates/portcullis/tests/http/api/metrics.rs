//! `GET /metrics` (api-decisions.md "Metrics"): scraped, parsed as the exposition format, and
//! seen to move as requests are made.

use std::collections::HashMap;

use crate::helpers::*;

/// One sample per `name{labels}` (labels sorted), from the OpenMetrics text.
fn parse(text: &str) -> HashMap<String, f64> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "ends with # EOF");
    let mut out = HashMap::new();
    for line in lines {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line == "# EOF",
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        let key = match series.split_once('{') {
            None => series.to_owned(),
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let mut pairs: Vec<String> = labels
                    .split("\",")
                    .map(|p| format!("{}\"", p.trim_end_matches('"')))
                    .collect();
                for p in &pairs {
                    assert!(p.contains("=\""), "label syntax: {line}");
                }
                pairs.sort_unstable();
                format!("{name}{{{}}}", pairs.join(","))
            }
        };
        assert!(
            out.insert(key, value).is_none(),
            "one sample per series: {line}"
        );
    }
    out
}

async fn scrape(app: &TestApp) -> (HashMap<String, f64>, String) {
    let r = app
        .client
        .get(format!("{}/metrics", app.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    (parse(&text), text)
}

fn get(m: &HashMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_parse_and_move_with_requests() {
    let app = TestApp::spawn();
    let account = app.boot.account_id.clone();
    let (before, _) = scrape(&app).await;
    for _ in 0..3 {
        let r = app.get(&app.acct(""), &app.admin()).await;
        r.ok();
    }
    let outsider = app.user_key("nobody@example.com", false);
    let r = app
        .get(
            &app.acct("/members"),
            &Cred::key("nobody@example.com", &outsider.1),
        )
        .await;
    r.err(403, 10000);
    app.get("/nope", &app.admin()).await.err(404, 7000);
    let (after, text) = scrape(&app).await;

    let ok = r#"portcullis_http_requests_total{method="GET",route="/client/v4/accounts/{account_id}",status="200"}"#;
    assert_eq!(get(&after, ok) - get(&before, ok), 3.0, "{text}");
    let count = r#"portcullis_http_request_duration_seconds_count{method="GET",route="/client/v4/accounts/{account_id}"}"#;
    assert_eq!(get(&after, count) - get(&before, count), 3.0, "{text}");
    let inf = r#"portcullis_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/client/v4/accounts/{account_id}"}"#;
    assert_eq!(get(&after, inf), get(&after, count));
    let unmatched =
        r#"portcullis_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(get(&after, unmatched), 1.0, "{text}");
    assert!(!text.contains(&account), "route templates only, never ids");

    let allowed = r#"portcullis_decisions_total{mode="strict",outcome="allowed",source="gate"}"#;
    assert!(
        get(&after, allowed) - get(&before, allowed) >= 3.0,
        "{text}"
    );
    let hits = "portcullis_policy_index_hits_total";
    assert!(
        get(&after, hits) > get(&before, hits),
        "the index answered: {text}"
    );
    assert!(
        get(&after, "portcullis_credential_index_entries") >= 1.0,
        "{text}"
    );
    assert_eq!(get(&after, "portcullis_caches_live"), 1.0);
    for outcome in ["verified", "pending", "failed", "dns_unavailable"] {
        let key = format!(r#"portcullis_sso_checks_total{{outcome="{outcome}"}}"#);
        assert!(after.contains_key(&key), "{key} in {text}");
    }
    let pools: f64 = ["read", "write", "main"]
        .iter()
        .map(|p| {
            get(
                &after,
                &format!(r#"portcullis_db_connections{{pool="{p}"}}"#),
            )
        })
        .sum();
    assert!(pools >= 1.0, "open connections are reported: {text}");
    let build = format!(
        r#"portcullis_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(get(&after, &build), 1.0, "{text}");

    // A write waits for the writer: counted, with its time.
    let r = app
        .post(
            &app.acct("/iam/user_groups"),
            &app.admin(),
            serde_json::json!({"name": "counted"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    let (written, text) = scrape(&app).await;
    assert!(
        get(&written, "portcullis_db_write_waits_total")
            > get(&after, "portcullis_db_write_waits_total"),
        "{text}"
    );
    assert!(
        written.contains_key("portcullis_db_write_wait_seconds_total"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_listen_serves_metrics_alone_on_its_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let settings = portcullis::cli::serve_settings([
        "portcullis",
        "serve",
        "--database",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ])
    .unwrap();
    let app = portcullis::startup::Application::build(settings)
        .await
        .unwrap();
    let (api, metrics) = (app.addr(), app.metrics_addr().unwrap());
    assert_ne!(api, metrics);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let c = http_client();
    let healthz = c.get(format!("http://{api}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    let r = c.get(format!("http://{api}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404, "not on the API's address");
    let r = c
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m = parse(&r.text().await.unwrap());
    assert_eq!(
        get(
            &m,
            r#"portcullis_http_requests_total{method="GET",route="/healthz",status="200"}"#
        ),
        1.0
    );
    let r = c
        .get(format!("http://{metrics}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "only /metrics there");
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}
