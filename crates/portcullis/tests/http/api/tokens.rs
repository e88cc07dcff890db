//! API tokens, account-owned and user-owned (api.md §4–5, api-decisions.md "API tokens").

use serde_json::{json, Value};

use crate::helpers::*;

/// Where a family of tokens lives and how to make a valid body for it.
struct Family {
    base: String,
    cred: Cred,
    body: Box<dyn Fn(&str) -> Value>,
}

fn account_family(app: &TestApp) -> Family {
    let a = app.boot.account_id.clone();
    Family {
        base: app.acct("/tokens"),
        cred: app.admin(),
        body: Box::new(move |name| token_body(name, &a)),
    }
}

fn user_family(app: &TestApp) -> Family {
    let u = app.boot.user_id.clone();
    Family {
        base: "/user/tokens".to_string(),
        cred: app.admin_key(),
        body: Box::new(move |name| user_token_body(name, &u)),
    }
}

fn check_token_shape(t: &Value) {
    assert_id(&t["id"], "token.id");
    assert!(t["name"].is_string(), "token.name: {t}");
    let st = t["status"].as_str().unwrap_or_default();
    assert!(
        ["active", "disabled", "expired"].contains(&st),
        "token.status: {t}"
    );
    assert_timestamp(&t["issued_on"], "token.issued_on");
    assert_timestamp(&t["modified_on"], "token.modified_on");
    let policies = t["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("token.policies: {t}"));
    assert!(!policies.is_empty(), "{t}");
    for p in policies {
        assert_id(&p["id"], "policy.id");
        let eff = p["effect"].as_str().unwrap_or_default();
        assert!(eff == "allow" || eff == "deny", "policy.effect: {t}");
        assert!(
            p["permission_groups"]
                .as_array()
                .is_some_and(|g| !g.is_empty()),
            "policy.permission_groups: {t}"
        );
        for g in p["permission_groups"].as_array().into_iter().flatten() {
            assert_id(&g["id"], "permission_group.id");
        }
        assert!(
            p["resources"].as_object().is_some_and(|r| !r.is_empty()),
            "policy.resources: {t}"
        );
    }
}

fn pg_ids(t: &Value) -> Vec<String> {
    t["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| {
            ids(p["permission_groups"]
                .as_array()
                .map_or(&[][..], Vec::as_slice))
        })
        .collect()
}

async fn crud(app: &TestApp, f: &Family) {
    // Create: the value is shown once. Policy ids are server-assigned (a client id is ignored).
    let mut body = (f.body)("ci deploy");
    body["policies"][0]["id"] = json!(UNKNOWN_ID);
    let r = app.post(&f.base, &f.cred, body).await;
    assert_ne!(r.ok()["policies"][0]["id"], json!(UNKNOWN_ID), "{r}");
    let created = r.ok().clone();
    check_token_shape(&created);
    assert_eq!(created["name"], json!("ci deploy"), "{r}");
    assert_eq!(created["status"], json!("active"), "{r}");
    let value = str_field(&created, "value");
    assert!(
        is_token_value(&value),
        "token value must be 40 chars of [A-Za-z0-9_-]: {value:?}"
    );
    let id = str_field(&created, "id");
    let mut got = pg_ids(&created);
    got.sort();
    let mut want = pg_ids(&(f.body)("x"));
    want.sort();
    assert_eq!(got, want, "policies as given: {r}");

    // Get: same token, no secret.
    let r = app.get(&format!("{}/{id}", f.base), &f.cred).await;
    let fetched = r.ok().clone();
    check_token_shape(&fetched);
    assert!(
        fetched.get("value").is_none(),
        "GET must not return the value: {r}"
    );
    assert!(!r.text.contains(&value), "GET leaks the secret: {r}");
    assert_eq!(fetched["name"], created["name"]);
    assert_eq!(
        fetched["policies"], created["policies"],
        "policies identical on read"
    );
    assert_eq!(fetched["issued_on"], created["issued_on"]);

    // List: contains it, no secrets.
    let r = app.get(&f.base, &f.cred).await;
    assert!(ids(r.list()).contains(&id), "{r}");
    assert!(!r.text.contains(&value), "list leaks the secret: {r}");
    assert!(r.list().iter().all(|t| t.get("value").is_none()), "{r}");
    check_result_info(&r);

    // Update: partial.
    let r = app
        .put(
            &format!("{}/{id}", f.base),
            &f.cred,
            json!({ "name": "renamed" }),
        )
        .await;
    let upd = r.ok().clone();
    check_token_shape(&upd);
    assert_eq!(upd["name"], json!("renamed"), "{r}");
    assert_eq!(
        upd["policies"], created["policies"],
        "policies unchanged: {r}"
    );
    assert_eq!(upd["status"], json!("active"), "{r}");
    assert!(
        upd.get("value").is_none() || upd["value"].is_null(),
        "update must not return the value: {r}"
    );
    assert!(!r.text.contains(&value), "{r}");

    // expires_on: set, then cleared with an explicit null.
    let exp = in_secs(30 * 86_400);
    let r = app
        .put(
            &format!("{}/{id}", f.base),
            &f.cred,
            json!({ "expires_on": exp }),
        )
        .await;
    assert_timestamp(&r.ok()["expires_on"], "expires_on");
    assert_eq!(r.ok()["name"], json!("renamed"), "{r}");
    let r = app
        .put(
            &format!("{}/{id}", f.base),
            &f.cred,
            json!({ "expires_on": null }),
        )
        .await;
    assert!(
        r.ok()["expires_on"].is_null(),
        "explicit null clears expires_on: {r}"
    );

    // Replace the policies.
    let mut new_policies = (f.body)("x")["policies"].clone();
    new_policies[0]["effect"] = json!("deny");
    let r = app
        .put(
            &format!("{}/{id}", f.base),
            &f.cred,
            json!({ "policies": new_policies }),
        )
        .await;
    assert_eq!(r.ok()["policies"][0]["effect"], json!("deny"), "{r}");
    let r = app.get(&format!("{}/{id}", f.base), &f.cred).await;
    assert_eq!(r.ok()["policies"][0]["effect"], json!("deny"), "{r}");
    assert_eq!(r.ok()["name"], json!("renamed"), "{r}");

    // Delete.
    let r = app.delete(&format!("{}/{id}", f.base), &f.cred).await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.ok()["id"], json!(id), "{r}");
    app.get(&format!("{}/{id}", f.base), &f.cred)
        .await
        .err(404, 1003);
    app.delete(&format!("{}/{id}", f.base), &f.cred)
        .await
        .err(404, 1003);
    let r = app.get(&f.base, &f.cred).await;
    assert!(!ids(r.list()).contains(&id), "{r}");
    // Its value no longer authenticates.
    let verify = format!("{}/verify", f.base);
    app.get(&verify, &Cred::token(&value)).await.err(403, 9109);
}

#[tokio::test]
async fn account_token_crud() {
    let app = TestApp::spawn();
    crud(&app, &account_family(&app)).await;
}

#[tokio::test]
async fn user_token_crud() {
    let app = TestApp::spawn();
    crud(&app, &user_family(&app)).await;
}

async fn roll(app: &TestApp, f: &Family) {
    let r = app.post(&f.base, &f.cred, (f.body)("rollme")).await;
    let id = str_field(r.ok(), "id");
    let old = str_field(r.ok(), "value");
    let verify = format!("{}/verify", f.base);
    app.get(&verify, &Cred::token(&old)).await.ok();

    let r = app
        .put(&format!("{}/{id}/value", f.base), &f.cred, json!({}))
        .await;
    let new = r
        .ok()
        .as_str()
        .unwrap_or_else(|| panic!("roll answers result: \"<new value>\": {r}"))
        .to_string();
    assert!(is_token_value(&new), "{new:?}");
    assert_ne!(new, old);

    app.get(&verify, &Cred::token(&old)).await.err(403, 9109);
    let r = app.get(&verify, &Cred::token(&new)).await;
    assert_eq!(r.ok()["id"], json!(id), "{r}");

    // Same token otherwise; the new value is not readable afterwards.
    let r = app.get(&format!("{}/{id}", f.base), &f.cred).await;
    assert_eq!(r.ok()["name"], json!("rollme"), "{r}");
    assert!(!r.text.contains(&new), "{r}");

    app.put(
        &format!("{}/{UNKNOWN_ID}/value", f.base),
        &f.cred,
        json!({}),
    )
    .await
    .err(404, 1003);
}

#[tokio::test]
async fn account_token_roll() {
    let app = TestApp::spawn();
    roll(&app, &account_family(&app)).await;
}

#[tokio::test]
async fn user_token_roll() {
    let app = TestApp::spawn();
    roll(&app, &user_family(&app)).await;
}

#[tokio::test]
async fn bootstrap_token_is_listed_without_secret() {
    let app = TestApp::spawn();
    let r = app.get(&app.acct("/tokens"), &app.admin()).await;
    assert_eq!(ids(r.list()), vec![app.boot.api_token_id.clone()], "{r}");
    assert!(!r.text.contains(&app.boot.api_token), "{r}");
    check_token_shape(&r.list()[0]);
}

#[tokio::test]
async fn verify_account_token() {
    let app = TestApp::spawn();
    let r = app.get(&app.acct("/tokens/verify"), &app.admin()).await;
    let v = r.ok();
    assert_eq!(v["id"], json!(app.boot.api_token_id), "{r}");
    assert_eq!(v["status"], json!("active"), "{r}");
    let msgs = r.body["messages"].as_array().expect("messages");
    assert!(
        msgs.iter().any(|m| m["code"] == json!(10000)
            && m["message"] == json!("This API Token is valid and active")),
        "verify message 10000: {r}"
    );
}

#[tokio::test]
async fn verify_user_token() {
    let app = TestApp::spawn();
    let mut body = user_token_body("verify-me", &app.boot.user_id);
    let exp = in_secs(86_400);
    body["expires_on"] = json!(exp);
    let (id, value) = app.create_user_token(&app.admin_key(), body).await;
    let r = app.get("/user/tokens/verify", &Cred::token(&value)).await;
    let v = r.ok();
    assert_eq!(v["id"], json!(id), "{r}");
    assert_eq!(v["status"], json!("active"), "{r}");
    assert_timestamp(&v["expires_on"], "verify.expires_on");
    assert!(
        r.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["code"] == json!(10000)
                && m["message"] == json!("This API Token is valid and active")),
        "{r}"
    );
}

#[tokio::test]
async fn verify_rejects_the_other_kind_of_token() {
    let app = TestApp::spawn();
    let (_, user_value) = app
        .create_user_token(&app.admin_key(), user_token_body("u", &app.boot.user_id))
        .await;
    // An account token at /user/tokens/verify: Cloudflare's 1000 `Invalid API Token` (wrangler
    // reads that code as "an account token"); a user token at /accounts/{a}/tokens/verify: 9109.
    let r = app.get("/user/tokens/verify", &app.admin()).await;
    let e = r.err(403, 1000);
    assert_eq!(e["message"], json!("Invalid API Token"), "{r}");
    let endpoint = format!("/accounts/{}/tokens/verify", app.boot.account_id);
    assert!(
        second_messages(&r).iter().any(|t| t.contains(&endpoint)),
        "a second message names the endpoint to use: {r}"
    );
    let r = app
        .get(&app.acct("/tokens/verify"), &Cred::token(&user_value))
        .await;
    r.err(403, 9109);
    assert!(
        second_messages(&r)
            .iter()
            .any(|t| t.contains("/user/tokens/verify")),
        "a second message names the endpoint to use: {r}"
    );
}

/// The texts after the first error's own message: error_chain items, further errors, messages.
fn second_messages(r: &Resp) -> Vec<String> {
    let mut texts = Vec::new();
    for e in r.errors() {
        for c in e["error_chain"].as_array().into_iter().flatten() {
            texts.push(c["message"].as_str().unwrap_or_default().to_string());
        }
    }
    let messages = r.body["messages"].as_array().into_iter().flatten();
    for m in r.errors().iter().skip(1).chain(messages) {
        texts.push(m["message"].as_str().unwrap_or_default().to_string());
    }
    texts
}

#[tokio::test]
async fn token_validation_errors_have_pointers() {
    let app = TestApp::spawn();
    for f in [account_family(&app), user_family(&app)] {
        let mut b = (f.body)("x");
        b["name"] = json!("");
        app.post(&f.base, &f.cred, b).await.validation("/name");

        let b = (f.body)(&"n".repeat(121));
        app.post(&f.base, &f.cred, b).await.validation("/name");

        let mut b = (f.body)("x");
        b.as_object_mut().expect("obj").remove("name");
        app.post(&f.base, &f.cred, b).await.validation("/name");

        let mut b = (f.body)("x");
        b["policies"][0]["permission_groups"] = json!([{ "id": UNKNOWN_ID }]);
        app.post(&f.base, &f.cred, b)
            .await
            .validation_prefix("/policies/0/permission_groups/0");

        let mut b = (f.body)("x");
        b["policies"][0]["effect"] = json!("maybe");
        app.post(&f.base, &f.cred, b)
            .await
            .validation("/policies/0/effect");

        let mut b = (f.body)("x");
        b["policies"] = json!([]);
        app.post(&f.base, &f.cred, b).await.validation("/policies");

        let mut b = (f.body)("x");
        b["policies"][0]["permission_groups"] = json!([]);
        app.post(&f.base, &f.cred, b)
            .await
            .validation("/policies/0/permission_groups");

        let mut b = (f.body)("x");
        b["policies"][0]["resources"] = json!({});
        app.post(&f.base, &f.cred, b)
            .await
            .validation("/policies/0/resources");

        let mut b = (f.body)("x");
        b["expires_on"] = json!("next tuesday");
        app.post(&f.base, &f.cred, b)
            .await
            .validation("/expires_on");

        // 120 is fine.
        let r = app.post(&f.base, &f.cred, (f.body)(&"n".repeat(120))).await;
        assert_eq!(r.ok()["name"], json!("n".repeat(120)), "{r}");

        // Update validation.
        let id = str_field(r.ok(), "id");
        app.put(&format!("{}/{id}", f.base), &f.cred, json!({ "name": "" }))
            .await
            .validation("/name");
        app.put(
            &format!("{}/{id}", f.base),
            &f.cred,
            json!({ "status": "expired" }),
        )
        .await
        .validation("/status");
        app.put(
            &format!("{}/{id}", f.base),
            &f.cred,
            json!({ "status": "frozen" }),
        )
        .await
        .validation("/status");

        // The failed creates left nothing behind.
        let r = app.get(&f.base, &f.cred).await;
        assert!(
            r.list()
                .iter()
                .all(|t| t["name"] != json!("x") && t["name"].as_str().map_or(0, str::len) != 121),
            "failed creates left nothing: {r}"
        );
    }
}

#[tokio::test]
async fn token_lists_paginate_by_name() {
    let app = TestApp::spawn();
    for f in [account_family(&app), user_family(&app)] {
        let names_in = ["tok-e", "tok-a", "tok-f", "tok-c", "tok-b", "tok-d"];
        for n in names_in {
            let r = app.post(&f.base, &f.cred, (f.body)(n)).await;
            r.ok();
        }
        let total = app.get(&f.base, &f.cred).await.info()["total_count"]
            .as_u64()
            .expect("total_count");
        assert!(total >= 6);
        let r = app.get(&format!("{}?per_page=5", f.base), &f.cred).await;
        assert_eq!(r.list().len(), 5, "{r}");
        check_result_info(&r);
        let all = app.walk(&f.base, &f.cred, 5).await;
        assert_eq!(all.len() as u64, total);
        let mine: Vec<String> = names(&all)
            .into_iter()
            .filter(|n| n.starts_with("tok-"))
            .collect();
        assert_eq!(
            mine,
            vec!["tok-a", "tok-b", "tok-c", "tok-d", "tok-e", "tok-f"]
        );
    }
}

#[tokio::test]
async fn user_tokens_are_per_user() {
    let app = TestApp::spawn();
    let (_, key) = app.user_key("other@example.com", false);
    let other = Cred::key("other@example.com", &key);
    let (id, _) = app
        .create_user_token(
            &app.admin_key(),
            user_token_body("admins", &app.boot.user_id),
        )
        .await;
    let r = app.get("/user/tokens", &other).await;
    assert!(r.list().is_empty(), "{r}");
    app.get(&format!("/user/tokens/{id}"), &other)
        .await
        .err(404, 1003);
    app.delete(&format!("/user/tokens/{id}"), &other)
        .await
        .err(404, 1003);
    app.get(&format!("/user/tokens/{id}"), &app.admin_key())
        .await
        .ok();
}

// ---- token permission groups ----------------------------------------------------------------

fn check_token_pg(g: &Value) {
    assert_id(&g["id"], "token permission group id");
    assert!(g["name"].is_string(), "{g}");
    assert!(
        g["scopes"]
            .as_array()
            .is_some_and(|s| s.iter().all(Value::is_string)),
        "scopes: {g}"
    );
}

fn has_scope(g: &Value, scope: &str) -> bool {
    g["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s == scope)
}

#[tokio::test]
async fn account_token_permission_groups() {
    let app = TestApp::spawn();
    let r = app
        .get(&app.acct("/tokens/permission_groups"), &app.admin())
        .await;
    let all = r.list().clone();
    assert!(!all.is_empty(), "{r}");
    for g in &all {
        check_token_pg(g);
        assert!(
            !has_scope(g, "com.cloudflare.api.user"),
            "user-scoped group on the account endpoint: {g}"
        );
    }
    let all_ids = ids(&all);
    for id in [
        PG_ACCOUNT_SETTINGS_READ,
        PG_ZONE_READ,
        PG_ACCOUNT_API_TOKENS_READ,
    ] {
        assert!(all_ids.contains(&id.to_string()), "{id} missing");
    }
    // Every account/zone/bucket-scoped api_token entry of the catalog is served.
    let catalog = shared_data("permission_groups.json");
    for e in catalog.as_array().expect("array") {
        if e["catalog"] != json!("api_token") || has_scope(e, "com.cloudflare.api.user") {
            continue;
        }
        let id = e["id"].as_str().expect("id").to_string();
        assert!(
            all_ids.contains(&id),
            "catalog entry {} ({id}) missing",
            e["name"]
        );
    }

    // name: exact, case-insensitive.
    let r = app
        .get(
            &app.acct("/tokens/permission_groups?name=account%20settings%20READ"),
            &app.admin(),
        )
        .await;
    assert_eq!(
        ids(r.list()),
        vec![PG_ACCOUNT_SETTINGS_READ.to_string()],
        "{r}"
    );
    let r = app
        .get(
            &app.acct("/tokens/permission_groups?name=Access:+Apps+and+Policies+Read"),
            &app.admin(),
        )
        .await;
    let mut got = ids(r.list());
    got.sort();
    assert_eq!(
        got,
        vec![
            "7ea222f6d5064cfa89ea366d7c1fee89".to_string(),
            "eb258a38ea634c86a0c89da6b27cb6b6".to_string()
        ],
        "{r}"
    );
    let r = app
        .get(
            &app.acct("/tokens/permission_groups?name=Account+Settings"),
            &app.admin(),
        )
        .await;
    assert!(r.list().is_empty(), "name is exact, not a substring: {r}");

    // scope.
    let r = app
        .get(
            &app.acct("/tokens/permission_groups?scope=com.cloudflare.api.account.zone"),
            &app.admin(),
        )
        .await;
    let zone = r.list();
    assert!(ids(zone).contains(&PG_ZONE_READ.to_string()), "{r}");
    assert!(
        !ids(zone).contains(&PG_ACCOUNT_SETTINGS_READ.to_string()),
        "{r}"
    );
    assert!(
        zone.iter()
            .all(|g| has_scope(g, "com.cloudflare.api.account.zone")),
        "{r}"
    );

    let r = app
        .get(
            &app.acct(
                "/tokens/permission_groups?name=zone+read&scope=com.cloudflare.api.account.zone",
            ),
            &app.admin(),
        )
        .await;
    assert_eq!(ids(r.list()), vec![PG_ZONE_READ.to_string()], "{r}");
}

#[tokio::test]
async fn user_token_permission_groups() {
    let app = TestApp::spawn();
    let r = app
        .get("/user/tokens/permission_groups", &app.admin_key())
        .await;
    let all = r.list();
    for g in all {
        check_token_pg(g);
    }
    let all_ids = ids(all);
    assert!(all_ids.contains(&PG_API_TOKENS_READ.to_string()), "{r}");
    assert!(all_ids.contains(&PG_USER_DETAILS_READ.to_string()), "{r}");
    assert!(
        all_ids.contains(&PG_ACCOUNT_SETTINGS_READ.to_string()),
        "{r}"
    );

    let r = app
        .get(
            "/user/tokens/permission_groups?scope=com.cloudflare.api.user",
            &app.admin_key(),
        )
        .await;
    let user_scoped = r.list();
    assert!(
        ids(user_scoped).contains(&PG_API_TOKENS_READ.to_string()),
        "{r}"
    );
    assert!(
        user_scoped
            .iter()
            .all(|g| has_scope(g, "com.cloudflare.api.user")),
        "{r}"
    );

    let r = app
        .get(
            "/user/tokens/permission_groups?name=API+Tokens+Read",
            &app.admin_key(),
        )
        .await;
    assert_eq!(ids(r.list()), vec![PG_API_TOKENS_READ.to_string()], "{r}");
}
