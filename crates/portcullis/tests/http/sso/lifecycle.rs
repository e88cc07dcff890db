//! The verification state machine against real DNS (the fixture): awaiting → pending → verified |
//! failed, the background verifier, windows, DNS trouble, begin_verification and enabling.

use std::time::{Duration, Instant};

use serde_json::json;

use super::support::*;

/// A verification code that belongs to no connector.
const FOREIGN_CODE: &str = "cloudflare_dashboard_sso=00000000000000000000000000000000";

/// awaiting (no background checks, even with the record published) → pending via
/// begin_verification (immediate lookup, non-matching records) → verified by the background
/// verifier once the record appears → enabled; begin_verification on a verified connector keeps it
/// verified even when the record is gone.
#[tokio::test]
async fn awaiting_pending_verified_enabled() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let d = "lifecycle.example";

    let c = app.create_ok(d, Some(false)).await;
    assert_eq!(
        status(&c),
        "awaiting",
        "begin_verification: false leaves it awaiting: {c}"
    );
    assert_eq!(c["email_domain"], json!(d), "{c}");
    assert_eq!(c["enabled"], json!(false), "enabled defaults to false: {c}");
    assert_eq!(c["use_fedramp_language"], json!(false), "{c}");
    let cid = id(&c);
    let the_code = code(&c);
    assert_eq!(
        app.get_sso(&cid).await,
        c,
        "GET answers what create answered"
    );

    // An awaiting connector is not checked in the background, even when the record is there.
    app.dns.txt(d, &[&the_code]);
    app.assert_status_for(&cid, "awaiting", secs(3)).await;

    // Enabling needs `verified`; disabling is always allowed.
    assert_enable_refused(&app.set_enabled(&cid, true).await, "awaiting");
    let r = app.set_enabled(&cid, false).await;
    assert_eq!(r.ok()["enabled"], json!(false), "{r}");
    assert_eq!(status(r.ok()), "awaiting", "{r}");

    // begin_verification looks up at once: other TXT records on the domain do not match.
    app.dns.txt(d, &["v=spf1 -all", FOREIGN_CODE]);
    let (c, pending_msg) = app.begin_ok(&cid).await;
    assert_eq!(status(&c), "pending", "{c}");
    assert_eq!(code(&c), the_code, "the code never changes");
    assert_enable_refused(&app.set_enabled(&cid, true).await, "pending");
    let r = app.set_enabled(&cid, false).await;
    assert_eq!(status(r.ok()), "pending", "{r}");

    // Background checks that find no matching record keep it pending (the window is long).
    app.assert_status_for(&cid, "pending", secs(3)).await;

    // The record appears (surrounded by white space, among other records): the background
    // verifier finds it.
    let padded = format!("  {the_code}  ");
    app.dns.txt(d, &["v=spf1 -all", FOREIGN_CODE, &padded]);
    let (c, waited) = app.wait_status(&cid, "verified", secs(10)).await;
    assert_eq!(
        c["enabled"],
        json!(false),
        "verification does not enable: {c}"
    );
    eprintln!("verified by the background verifier after {waited:?}");

    // A verified connector stays verified on begin_verification, even with the record gone.
    app.dns.remove(d);
    let (c, verified_msg) = app.begin_ok(&cid).await;
    assert_eq!(status(&c), "verified", "{c}");
    assert_ne!(
        verified_msg, pending_msg,
        "the message says what the lookup found"
    );
    app.assert_status_for(&cid, "verified", secs(2)).await;

    // Now it can be enabled.
    let r = app.set_enabled(&cid, true).await;
    let c = r.ok().clone();
    check_connector(&c);
    assert_eq!(c["enabled"], json!(true), "{r}");
    assert_eq!(status(&c), "verified", "{r}");
    assert_eq!(app.get_sso(&cid).await, c, "GET after PATCH");
    assert_eq!(
        app.list_sso().await,
        vec![c.clone()],
        "the list holds the connector"
    );

    // begin_verification on an enabled, verified connector changes nothing.
    let (again, _) = app.begin_ok(&cid).await;
    assert_eq!(status(&again), "verified", "{again}");
    assert_eq!(again["enabled"], json!(true), "{again}");

    let r = app.set_enabled(&cid, false).await;
    assert_eq!(r.ok()["enabled"], json!(false), "{r}");
    assert_eq!(status(r.ok()), "verified", "{r}");
}

/// begin_verification and create look the record up at once, not through the background
/// verifier: with a 60 s check interval the background verifier cannot be what answers.
///
/// The code is random and only known once the connector exists, so "create finds an already
/// published record" cannot be arranged from outside; that create performs a lookup is shown by
/// its latency against a name that never answers.
#[tokio::test]
async fn lookups_happen_at_once() {
    let app = SsoApp::spawn(SsoOpts::new(60, 600));
    let d = "at-once.example";

    // Create (default begin_verification = true): pending at once (NXDOMAIN).
    let c = app.create_ok(d, None).await;
    assert_eq!(
        status(&c),
        "pending",
        "create begins verification by default: {c}"
    );
    let cid = id(&c);

    // Publish, then begin_verification: verified in the answer itself.
    app.dns.txt(d, &[&code(&c)]);
    let (c, _) = app.begin_ok(&cid).await;
    assert_eq!(
        status(&c),
        "verified",
        "found at once by begin_verification: {c}"
    );
    assert_eq!(
        app.get_sso(&cid).await["verification"]["status"],
        json!("verified")
    );

    // A name that never answers: create waits for the lookup (the resolver times out), and the
    // connector is pending (DNS trouble is no verdict).
    let slow = "silent.example";
    app.dns.fail(slow, "TIMEOUT");
    let t = Instant::now();
    let c = app.create_ok(slow, None).await;
    let took = t.elapsed();
    assert_eq!(status(&c), "pending", "{c}");
    assert!(
        took >= Duration::from_millis(1500),
        "create with begin_verification must look the record up at once (the fixture never \
         answers, so the lookup takes the resolver's timeout), but it answered after {took:?}"
    );
    // begin_verification too.
    let t = Instant::now();
    let (c2, _) = app.begin_ok(&id(&c)).await;
    let took = t.elapsed();
    assert_eq!(status(&c2), "pending", "{c2}");
    assert!(
        took >= Duration::from_millis(1500),
        "begin_verification must look the record up at once; answered after {took:?}"
    );

    // begin_verification: false does not look anything up (fast even for the silent name).
    app.dns.fail("silent2.example", "TIMEOUT");
    let t = Instant::now();
    let c = app.create_ok("silent2.example", Some(false)).await;
    assert_eq!(status(&c), "awaiting", "{c}");
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "create with begin_verification: false must not wait for DNS ({:?})",
        t.elapsed()
    );
}

/// pending → failed once the (short) window is over with NXDOMAIN; failed is final for the
/// background verifier; begin_verification restarts the window (pending again, failing again
/// only after a full new window) and verifies at once when the record is there.
#[tokio::test]
async fn window_fails_and_begin_restarts_it() {
    let window = 2;
    let app = SsoApp::spawn(SsoOpts::new(1, window));
    let d = "window.example";

    let t0 = Instant::now();
    let c = app.create_ok(d, None).await;
    assert_eq!(status(&c), "pending", "{c}");
    let cid = id(&c);
    let the_code = code(&c);

    let (c, _) = app.wait_status(&cid, "failed", secs(10)).await;
    let took = t0.elapsed();
    assert!(
        took >= secs(window),
        "failed after {took:?}, before the {window} s window was over: {c}"
    );
    assert_eq!(c["enabled"], json!(false), "{c}");
    assert_enable_refused(&app.set_enabled(&cid, true).await, "failed");

    // begin_verification restarts the window.
    let t1 = Instant::now();
    let (c, _) = app.begin_ok(&cid).await;
    assert_eq!(
        status(&c),
        "pending",
        "begin_verification on a failed connector: {c}"
    );
    let (c, _) = app.wait_status(&cid, "failed", secs(10)).await;
    let took = t1.elapsed();
    assert!(
        took >= secs(window),
        "failed again {took:?} after begin_verification, before the new {window} s window was over: {c}"
    );

    // A failed connector is not checked in the background any more, even once the record exists…
    app.dns.txt(d, &[&the_code]);
    app.assert_status_for(&cid, "failed", secs(3)).await;
    // …but begin_verification finds it at once.
    let (c, _) = app.begin_ok(&cid).await;
    assert_eq!(status(&c), "verified", "{c}");
    let r = app.set_enabled(&cid, true).await;
    assert_eq!(r.ok()["enabled"], json!(true), "{r}");
}

/// Created with the default begin_verification while the name does not exist; the immediate
/// lookup and later background checks find nothing (NXDOMAIN, then only unrelated records); the
/// record published afterwards is found by the background verifier.
#[tokio::test]
async fn record_added_after_failed_checks_is_found_later() {
    let app = SsoApp::spawn(SsoOpts::new(1, 60));
    let d = "later.example";

    let c = app.create_ok(d, None).await;
    assert_eq!(status(&c), "pending", "{c}");
    let cid = id(&c);
    app.assert_status_for(&cid, "pending", secs(2)).await;
    app.dns.txt(d, &["google-site-verification=abc"]);
    app.assert_status_for(&cid, "pending", Duration::from_millis(1500))
        .await;

    let t = Instant::now();
    app.dns.txt(d, &["google-site-verification=abc", &code(&c)]);
    let (c, waited) = app.wait_status(&cid, "verified", secs(10)).await;
    assert!(t.elapsed() <= secs(10), "{c}");
    eprintln!("found by the background verifier after {waited:?}");
    assert_eq!(c["enabled"], json!(false), "{c}");
}

/// SERVFAIL and REFUSED are no verdict: the connector stays pending past the window (longer than
/// window + 2 check intervals). When DNS recovers, the backed-off verifier still decides: the
/// record found → verified (even past the window); NXDOMAIN past the window → failed.
#[tokio::test]
async fn servfail_and_refused_keep_pending_past_window() {
    let (interval, window) = (1, 2);
    let app = SsoApp::spawn(SsoOpts::new(interval, window));
    let a = "servfail.example";
    let b = "refused.example";
    app.dns.fail(a, "SERVFAIL");
    app.dns.fail(b, "REFUSED");

    let ca = app.create_ok(a, None).await;
    let cb = app.create_ok(b, None).await;
    assert_eq!(status(&ca), "pending", "SERVFAIL at create: {ca}");
    assert_eq!(status(&cb), "pending", "REFUSED at create: {cb}");
    let (ia, ib) = (id(&ca), id(&cb));

    let hold = secs(window + 2 * interval + 1);
    let start = Instant::now();
    while start.elapsed() < hold {
        for cid in [&ia, &ib] {
            let c = app.get_sso(cid).await;
            assert_eq!(
                status(&c),
                "pending",
                "DNS trouble must never fail a connector (after {:?}, window {window} s): {c}\n{}",
                start.elapsed(),
                app.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_enable_refused(&app.set_enabled(&ia, true).await, "pending");

    // DNS recovers. Checks are backed off exponentially after failures (interval × 2^failures),
    // so allow for the next check to be up to ~8 intervals away.
    app.dns.txt(a, &[&code(&ca)]);
    app.dns.remove(b);
    let (c, waited) = app.wait_status(&ia, "verified", secs(20)).await;
    eprintln!("SERVFAIL connector verified {waited:?} after DNS recovered: {c}");
    let (c, waited) = app.wait_status(&ib, "failed", secs(20)).await;
    eprintln!("REFUSED connector failed {waited:?} after the name became NXDOMAIN: {c}");
}

/// A name that never answers (timeout) keeps the connector pending past the window; once it
/// answers NXDOMAIN (window long over) the connector fails.
#[tokio::test]
async fn timeout_keeps_pending_past_window() {
    let (interval, window) = (1, 2);
    let app = SsoApp::spawn(SsoOpts::new(interval, window));
    let d = "timeout.example";
    app.dns.fail(d, "TIMEOUT");

    let c = app.create_ok(d, None).await;
    assert_eq!(status(&c), "pending", "a timeout at create: {c}");
    let cid = id(&c);
    app.assert_status_for(&cid, "pending", secs(window + 2 * interval + 1))
        .await;

    app.dns.remove(d);
    let (c, waited) = app.wait_status(&cid, "failed", secs(25)).await;
    eprintln!("failed {waited:?} after the name became NXDOMAIN: {c}");
}
