//! Request ids (api-decisions.md "Request ids and logs"): every response carries one as `cf-ray`
//! and `x-request-id`, the caller's `X-Request-Id` is kept when usable, and `--log-format json`
//! writes the same id in the request's log line.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn every_response_has_a_request_id_and_keeps_the_callers() {
    let app = TestApp::spawn();
    let c = http_client();
    let url = app.url(&format!("/accounts/{}/tokens/verify", app.boot.account_id));
    let ok = c
        .get(&url)
        .bearer_auth(&app.boot.api_token)
        .send()
        .await
        .unwrap();
    let refused = c.get(&url).send().await.unwrap();
    let unknown = c.get(app.url("/nope")).send().await.unwrap();
    let mut seen = Vec::new();
    for r in [&ok, &refused, &unknown] {
        let ray = r.headers()["cf-ray"].to_str().unwrap().to_owned();
        assert_eq!(r.headers()["x-request-id"].to_str().unwrap(), ray);
        let (hex, colo) = ray.split_once('-').unwrap();
        assert!(
            hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{ray}"
        );
        assert_eq!(colo, "PCS");
        seen.push(ray);
    }
    seen.dedup();
    assert_eq!(seen.len(), 3, "a new id per request");

    let mine = c
        .get(&url)
        .header("X-Request-Id", "trace-42/abc")
        .bearer_auth(&app.boot.api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["cf-ray"], "trace-42/abc");
    assert_eq!(mine.headers()["x-request-id"], "trace-42/abc");
    for bad in ["has space", &"x".repeat(129)] {
        let r = c
            .get(&url)
            .header("X-Request-Id", bad)
            .send()
            .await
            .unwrap();
        let ray = r.headers()["cf-ray"].to_str().unwrap().to_owned();
        assert!(ray.ends_with("-PCS"), "`{bad}` is replaced: {ray}");
    }
}

#[tokio::test]
async fn json_logs_name_the_request_id_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let boot = bootstrap(&db, "Logs", "admin@example.com", &[]);
    let server = Server::start_with(dir.path(), &db, &["--log-format", "json"]);
    let r = http_client()
        .get(format!(
            "{}/client/v4/accounts/{}/tokens/verify",
            server.base, boot.account_id
        ))
        .header("X-Request-Id", "find-me-1")
        .bearer_auth(&boot.api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http_client()
        .get(format!(
            "{}/client/v4/accounts/{}",
            server.base, boot.account_id
        ))
        .header("X-Auth-Email", "admin@example.com")
        .header("X-Auth-Key", &boot.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ray = r.headers()["cf-ray"].to_str().unwrap().to_owned();
    let stderr = server.stderr();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request = |id: &str| {
        lines
            .iter()
            .find(|l| l["request_id"] == id && l["message"] == "request")
            .unwrap_or_else(|| panic!("no request line for {id} in {stderr}"))
            .clone()
    };
    let line = request("find-me-1");
    assert_eq!(line["status"], 200);
    assert_eq!(
        line["path"],
        format!("/client/v4/accounts/{}/tokens/verify", boot.account_id)
    );
    assert_eq!(line["level"], "INFO");
    request(&ray);
    assert!(!stderr.contains(&boot.api_token) && !stderr.contains(&boot.api_key));
}
