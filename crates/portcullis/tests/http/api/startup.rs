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
