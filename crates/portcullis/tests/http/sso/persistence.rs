//! Connector state survives a server restart, and the restarted server's background verifier
//! picks up connectors that were left pending.
//!
//! Two `serve` processes on one SQLite file are not supported, so replicas are not tested here
//! (see `replicas` for PostgreSQL).

use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn state_survives_restart() {
    let window = 3;
    let mut app = SsoApp::spawn(SsoOpts::new(1, window));

    // awaiting
    let awaiting = app.create_ok("awaiting.example", Some(false)).await;
    // failed (NXDOMAIN past the window)
    let f = app.create_ok("failed.example", None).await;
    // verified and enabled, with FedRAMP wording
    let v = app.create_ok("verified.example", Some(false)).await;
    app.dns.txt("verified.example", &[&code(&v)]);
    let (v, _) = app.begin_ok(&id(&v)).await;
    assert_eq!(status(&v), "verified", "{v}");
    let r = app
        .patch(
            &app.sso(&format!("/{}", id(&v))),
            json!({ "enabled": true, "use_fedramp_language": true }),
        )
        .await;
    assert_eq!(r.ok()["enabled"], json!(true), "{r}");
    app.wait_status(&id(&f), "failed", secs(10)).await;

    // pending (NXDOMAIN) when the server stops; its record appears while the server is down.
    let p = app.create_ok("pending.example", None).await;
    assert_eq!(status(&p), "pending", "{p}");
    let before: Vec<Value> = app.list_sso().await;
    assert_eq!(before.len(), 4);
    let st = app.stop();
    assert!(st.success(), "the server exits cleanly on SIGTERM: {st:?}");
    app.dns.txt("pending.example", &[&code(&p)]);

    app.restart(SsoOpts::new(1, window));
    // The restarted server's verifier verifies the pending connector (not begin_verification).
    let (p2, waited) = app.wait_status(&id(&p), "verified", secs(10)).await;
    eprintln!("verified by the restarted server's verifier after {waited:?}");
    for k in [
        "id",
        "created_on",
        "email_domain",
        "enabled",
        "use_fedramp_language",
    ] {
        assert_eq!(p2[k], p[k], "{k} survives: {p2}");
    }
    assert_eq!(code(&p2), code(&p), "the code survives: {p2}");

    // Everything else is exactly as before.
    let after = app.list_sso().await;
    assert_eq!(after.len(), 4, "{after:?}");
    for c in &before {
        if c["id"] == p["id"] {
            continue;
        }
        let now = after
            .iter()
            .find(|a| a["id"] == c["id"])
            .unwrap_or_else(|| panic!("{c} is gone after the restart"));
        assert_eq!(now, c, "survives the restart unchanged");
    }
    let by_domain = |d: &str| {
        after
            .iter()
            .find(|c| c["email_domain"] == json!(d))
            .cloned()
            .unwrap_or_else(|| panic!("no connector for {d}"))
    };
    assert_eq!(by_domain("awaiting.example"), awaiting);
    assert_eq!(status(&by_domain("failed.example")), "failed");
    let v2 = by_domain("verified.example");
    assert_eq!(status(&v2), "verified");
    assert_eq!(v2["enabled"], json!(true));
    assert_eq!(v2["use_fedramp_language"], json!(true));

    // Rules still hold on the restarted server: the awaiting connector is not checked in the
    // background, the uniqueness of domains persists.
    app.dns.txt("awaiting.example", &[&code(&awaiting)]);
    app.assert_status_for(&id(&awaiting), "awaiting", secs(2))
        .await;
    assert_conflict(&app.create_sso("verified.example", Some(false)).await);
}
