//! Uniqueness (per account; one enabled connector per domain across accounts), PATCH, DELETE,
//! list order and malformed ids.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;
use crate::helpers::{Cred, Resp, UNKNOWN_ID};

/// The same domain twice in one account (also spelled differently) is 409/1002 with
/// `x-should-retry: false`, decided before any DNS lookup.
#[tokio::test]
async fn duplicate_domain_in_account_is_409_before_dns() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let d = "dup.example";
    let c = app.create_ok(d, Some(false)).await;

    // A lookup of this name would take the resolver's whole timeout.
    app.dns.fail(d, "TIMEOUT");
    let t = Instant::now();
    let r = app.create_sso(d, None).await;
    let took = t.elapsed();
    assert_conflict(&r);
    assert!(
        took < Duration::from_millis(1500),
        "the duplicate check comes before any DNS lookup, but the refusal took {took:?}: {r}"
    );
    for spelling in ["DUP.Example", "dup.example.", "  dup.example  "] {
        let r = app.create_sso(spelling, Some(false)).await;
        assert_conflict(&r);
    }
    assert_eq!(app.list_sso().await, vec![c], "nothing else was created");
}

/// The same domain may have a connector in two accounts, but only one of them may be enabled.
/// The second account is created by the bootstrap operator (email + key), who becomes a member.
#[tokio::test]
async fn one_enabled_connector_per_domain_across_accounts() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let d = "shared.example";
    let b = app.create_account("Second account").await;
    let key = app.admin_key();
    let in_b = |rest: &str| sso_path(&b, rest);

    let ca = app.create_ok(d, Some(false)).await;
    let r = app
        .send(
            Method::POST,
            &in_b(""),
            &key,
            Some(json!({ "email_domain": d, "begin_verification": false })),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "the same domain in another account is allowed: {r}"
    );
    let cb = r.ok().clone();
    check_connector(&cb);
    assert_ne!(code(&ca), code(&cb), "every connector has its own code");
    let (ia, ib) = (id(&ca), id(&cb));

    // The bootstrap token is owned by the first account: it cannot act in the second.
    let r = app.send(Method::GET, &in_b(""), &app.admin(), None).await;
    r.err(403, 10000);

    // Connectors are per account.
    let r = app
        .send(Method::GET, &in_b(&format!("/{ia}")), &key, None)
        .await;
    r.err(404, 1003);

    // Both verified at once (both codes published).
    app.dns.txt(d, &[&code(&ca), &code(&cb)]);
    let (va, _) = app.begin_ok(&ia).await;
    assert_eq!(status(&va), "verified", "{va}");
    let r = app
        .send(
            Method::POST,
            &in_b(&format!("/{ib}/begin_verification")),
            &key,
            None,
        )
        .await;
    let (vb, _) = check_begin_envelope(&r);
    assert_eq!(status(&vb), "verified", "{vb}");

    let enable_b = |on: bool| {
        let path = in_b(&format!("/{ib}"));
        let key = key.clone();
        let app = &app;
        async move {
            app.send(Method::PATCH, &path, &key, Some(json!({ "enabled": on })))
                .await
        }
    };

    // A first; then B conflicts.
    let r = app.set_enabled(&ia, true).await;
    assert_eq!(r.ok()["enabled"], json!(true), "{r}");
    let r = enable_b(true).await;
    assert_conflict(&r);
    let r = app
        .send(Method::GET, &in_b(&format!("/{ib}")), &key, None)
        .await;
    assert_eq!(
        r.ok()["enabled"],
        json!(false),
        "the refused PATCH changed nothing: {r}"
    );
    // Enabling A again is no conflict with itself; disabling B (already off) is allowed.
    let r = app.set_enabled(&ia, true).await;
    assert_eq!(r.ok()["enabled"], json!(true), "{r}");
    let r = enable_b(false).await;
    assert_eq!(r.ok()["enabled"], json!(false), "{r}");

    // Disable A; B may be enabled; now A conflicts.
    let r = app.set_enabled(&ia, false).await;
    assert_eq!(r.ok()["enabled"], json!(false), "{r}");
    let r = enable_b(true).await;
    assert_eq!(r.ok()["enabled"], json!(true), "{r}");
    assert_conflict(&app.set_enabled(&ia, true).await);

    // Deleting B's connector frees the domain.
    let r = app
        .send(Method::DELETE, &in_b(&format!("/{ib}")), &key, None)
        .await;
    assert_eq!(r.ok()["id"], json!(ib), "{r}");
    let r = app.set_enabled(&ia, true).await;
    assert_eq!(r.ok()["enabled"], json!(true), "{r}");
}

/// PATCH `{}` (and an empty body) changes nothing, `updated_on` included; a real change does.
#[tokio::test]
async fn patch_empty_changes_nothing() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let r = app
        .post(
            &app.sso(""),
            json!({ "email_domain": "patch.example", "begin_verification": false, "use_fedramp_language": true }),
        )
        .await;
    let c = r.ok().clone();
    check_connector(&c);
    assert_eq!(c["use_fedramp_language"], json!(true), "{r}");
    let cid = id(&c);
    let path = app.sso(&format!("/{cid}"));

    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = app.patch(&path, json!({})).await;
    assert_eq!(r.ok(), &c, "PATCH {{}} changes nothing");
    let r = app.send(Method::PATCH, &path, &app.admin(), None).await;
    assert_eq!(r.ok(), &c, "PATCH without a body reads as {{}}");
    assert_eq!(app.get_sso(&cid).await, c);

    let r = app
        .patch(&path, json!({ "use_fedramp_language": false }))
        .await;
    let changed = r.ok().clone();
    check_connector(&changed);
    assert_eq!(changed["use_fedramp_language"], json!(false), "{r}");
    assert!(
        changed["updated_on"].as_str() > c["updated_on"].as_str(),
        "updated_on moves on a change: {changed} (was {c})"
    );
    for k in [
        "id",
        "created_on",
        "email_domain",
        "enabled",
        "verification",
    ] {
        assert_eq!(changed[k], c[k], "{k} unchanged: {changed}");
    }
    let r = app.patch(&path, json!({})).await;
    assert_eq!(r.ok(), &changed, "PATCH {{}} changes nothing");
}

/// DELETE answers `{id}`; afterwards every operation on the id is 404/1003 and the domain is free.
#[tokio::test]
async fn delete_then_404() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let d = "gone.example";
    let c = app.create_ok(d, None).await;
    let cid = id(&c);
    let path = app.sso(&format!("/{cid}"));

    let r = app.delete(&path).await;
    assert_eq!(r.ok(), &json!({ "id": cid }), "{r}");

    let not_found = |r: &Resp| {
        r.err(404, 1003);
    };
    not_found(&app.get(&path).await);
    not_found(&app.delete(&path).await);
    not_found(&app.patch(&path, json!({})).await);
    not_found(&app.patch(&path, json!({ "enabled": false })).await);
    not_found(&app.begin(&cid).await);
    assert!(
        app.list_sso().await.is_empty(),
        "deleted connectors are not listed"
    );

    let unknown = app.sso(&format!("/{UNKNOWN_ID}"));
    not_found(&app.get(&unknown).await);
    not_found(&app.delete(&unknown).await);
    not_found(&app.begin(UNKNOWN_ID).await);

    // The domain can be used again; the new connector is a new one.
    let again = app.create_ok(d, Some(false)).await;
    assert_ne!(id(&again), cid, "{again}");
    assert_ne!(code(&again), code(&c), "{again}");
}

/// Ids that are not 32 lowercase hex digits are 400/7003 on every connector route.
#[tokio::test]
async fn malformed_id_is_400_7003() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    for bad in [
        "not-an-id",
        "0123456789abcdef0123456789abcde",   // 31 hex
        "0123456789abcdef0123456789abcdef0", // 33 hex
        "0123456789abcdef0123456789abcdeg",
    ] {
        let path = app.sso(&format!("/{bad}"));
        app.get(&path).await.err(400, 7003);
        app.patch(&path, json!({})).await.err(400, 7003);
        app.delete(&path).await.err(400, 7003);
        app.begin(bad).await.err(400, 7003);
    }
    // A malformed account id, too.
    let r = app
        .send(
            Method::GET,
            &sso_path("not-an-account", ""),
            &app.admin(),
            None,
        )
        .await;
    r.err(400, 7003);
}

/// The list is the whole array, ordered by domain.
#[tokio::test]
async fn list_is_whole_array_by_domain() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    for d in ["b.example", "c.example", "a.example"] {
        app.create_ok(d, Some(false)).await;
    }
    let r = app.get(&app.sso("")).await;
    let domains: Vec<Value> = r.list().iter().map(|c| c["email_domain"].clone()).collect();
    assert_eq!(
        domains,
        [json!("a.example"), json!("b.example"), json!("c.example")],
        "{r}"
    );
    // Requests without credentials are refused (api.md §1).
    let r = app.send(Method::GET, &app.sso(""), &Cred::Anon, None).await;
    r.err(400, 6003);
}
