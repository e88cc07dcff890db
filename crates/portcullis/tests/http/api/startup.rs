//! The server as a library: `Application::build` in-process (no child process), served until
//! a shutdown future resolves.

use portcullis::config::Settings;
use portcullis::startup::Application;

use crate::helpers::*;

#[tokio::test]
async fn the_application_builds_and_serves_in_process_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = db_url_for(dir.path());
    let _guard = db_guard(&db_url);
    let application = Application::build(Settings::for_database(&db_url))
        .await
        .unwrap();
    let base = format!("http://{}", application.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let client = http_client();
    let ready: serde_json::Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["result"]["status"], "ready", "{ready}");
    let r = client
        .get(format!("{base}/client/v4/user"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "no credentials: 400/6003");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "stopped: nothing listens any more"
    );
}

/// `--cache-memory-mb` (or the config file's `cache_memory_mb`) sets the indexes' budget, which
/// `/readyz` reports: three quarters for the policy index, a quarter for credentials.
#[tokio::test]
async fn the_cache_budget_comes_from_flags_then_file_then_default() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portcullis.toml");
    std::fs::write(&config, "cache_memory_mb = 8\n").unwrap();
    let config = config.display().to_string();
    let settings = |extra: &[&str]| {
        let mut args = vec!["portcullis", "serve"];
        args.extend_from_slice(extra);
        portcullis::cli::serve_settings(args)
            .unwrap()
            .cache_memory_mb
    };
    assert_eq!(settings(&[]), portcullis::config::DEFAULT_CACHE_MEMORY_MB);
    assert_eq!(settings(&["--config", &config]), 8);
    assert_eq!(
        settings(&["--config", &config, "--cache-memory-mb", "4"]),
        4
    );
    assert!(
        portcullis::cli::serve_settings(["portcullis", "serve", "--cache-memory-mb", "0"]).is_err(),
        "a budget of 0 is refused"
    );

    let db_url = db_url_for(dir.path());
    let _guard = db_guard(&db_url);
    let mut s = Settings::for_database(&db_url);
    s.cache_memory_mb = 4;
    let application = Application::build(s).await.unwrap();
    let base = format!("http://{}", application.addr());
    let server = tokio::spawn(application.run_until_stopped(std::future::pending()));
    let ready: serde_json::Value = http_client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = &ready["result"];
    assert_eq!(
        r["policy_index"]["budget_bytes"],
        3 * 1024 * 1024,
        "{ready}"
    );
    assert_eq!(
        r["credential_index"]["budget_bytes"],
        1024 * 1024,
        "{ready}"
    );
    for index in ["policy_index", "credential_index"] {
        for field in ["bytes", "evictions"] {
            assert!(r[index][field].is_u64(), "{index}.{field}: {ready}");
        }
    }
    server.abort();
}
