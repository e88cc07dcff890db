//! Tenant isolation and fail-closed decoding: the regressions of the defects the isolation sweep
//! and the schema fuzzer found, and rows written around the database's rules. Each runs on the
//! backend the harness is configured for (SQLite, or PostgreSQL in `./scripts/test`).

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

/// A second account administered by the bootstrap operator (its Super Administrator).
async fn other_account(app: &TestApp) -> String {
    app.create_account("Other").await
}

/// Runs raw SQL against the app's database, as an operator with shell access (or a bad
/// migration) would: around the API, and around the policy index.
async fn raw_sql(app: &TestApp, sql: &str) -> Result<(), String> {
    if is_postgres() {
        psql(&app.db_url, sql).map(|_| ())
    } else {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::SqliteConnection::connect(&app.db_url)
            .await
            .map_err(|e| e.to_string())?;
        conn.execute(sqlx::raw_sql(sql))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Drops the rule that keeps `table.column` to known values (a CHECK constraint on PostgreSQL,
/// a trigger pair on SQLite), as a database restored from elsewhere might lack it.
async fn drop_rule(app: &TestApp, table: &str, rule: &str) {
    let sql = if is_postgres() {
        format!("alter table {table} drop constraint {rule}")
    } else {
        format!("drop trigger {rule}_insert; drop trigger {rule}_update;")
    };
    raw_sql(app, &sql).await.unwrap();
}

#[tokio::test]
async fn a_foreign_member_delete_changes_nothing_in_the_owner_account() {
    let app = TestApp::spawn();
    let other = other_account(&app).await;
    let victims = members(&app, "victim", 1).await;
    let group = ug(&app, "Victims").await;
    let r = app
        .post(&gm_path(&app, &group, ""), &app.admin(), id_list(&victims))
        .await;
    assert_eq!(r.status, 200, "{r}");
    let before = app
        .get(&ug_path(&app, &format!("/{group}")), &app.admin())
        .await;
    let listed_before = app.get(&gm_path(&app, &group, ""), &app.admin()).await;

    for _ in 0..3 {
        let r = app
            .delete(
                &format!("/accounts/{other}/members/{}", victims[0]),
                &app.admin_key(),
            )
            .await;
        r.err(404, 1003);
    }

    let after = app
        .get(&ug_path(&app, &format!("/{group}")), &app.admin())
        .await;
    assert_eq!(after.ok(), before.ok(), "the owner's group must not change");
    let listed_after = app.get(&gm_path(&app, &group, ""), &app.admin()).await;
    assert_eq!(listed_after.body, listed_before.body);
    assert_eq!(member_total(&app, &group).await, 1);
    assert_eq!(group_member_ids(&app, &group).await, victims);
}

#[tokio::test]
async fn decisions_never_allow_resources_of_other_accounts() {
    let app = TestApp::spawn();
    let other = other_account(&app).await;
    // In `other`: the operator is Super Administrator; a token whose only policy names `other`.
    let me = app
        .get(
            &format!("/accounts/{other}/members?per_page=50"),
            &app.admin_key(),
        )
        .await;
    let admin_member = str_field(&me.list()[0], "id");
    let (token_id, _) = app
        .create_account_token(&other, &app.admin_key(), token_body("only other", &other))
        .await;
    let foreign = [
        account_resource(&app.boot.account_id),
        format!("{}.anything", account_resource(&app.boot.account_id)),
        account_resource("0123456789abcdef0123456789abcdef"),
        "com.cloudflare.api.account.made-up".to_owned(),
        "com.cloudflare.api.account.*".to_owned(),
        "com.cloudflare.api.user.0123456789abcdef0123456789abcdef".to_owned(),
    ];
    let checks: Vec<Value> = foreign
        .iter()
        .map(|r| json!({"permission": "com.cloudflare.api.account.read", "resource": r}))
        .collect();
    for principal in [
        json!({"member_id": admin_member}),
        json!({"token_id": token_id}),
    ] {
        let r = app
            .post(
                &format!("/accounts/{other}/iam/authorize"),
                &app.admin_key(),
                json!({"principal": principal, "checks": checks}),
            )
            .await;
        let decisions = r.ok().as_array().unwrap();
        assert_eq!(decisions.len(), foreign.len(), "{r}");
        for (d, resource) in decisions.iter().zip(&foreign) {
            assert_eq!(d["resource"], json!(resource), "{r}");
            assert_eq!(d["allowed"], json!(false), "{resource}: {r}");
            assert_eq!(d["decided_by"], json!([]), "{resource}: {r}");
            let reason = d["reason"].as_str().unwrap();
            assert!(reason.contains("outside account"), "{reason}");
        }
        // The account's own key and its objects are still decided by the policies.
        let r = app
            .post(
                &format!("/accounts/{other}/iam/authorize"),
                &app.admin_key(),
                json!({"principal": principal, "checks": [
                    {"permission": "com.cloudflare.api.account.read"},
                    {"permission": "com.cloudflare.api.account.read",
                     "resource": format!("com.cloudflare.api.account.zone.{}", "ab".repeat(16))},
                ]}),
            )
            .await;
        for d in r.ok().as_array().unwrap() {
            assert_eq!(d["allowed"], json!(true), "{r}");
        }
    }
}

#[tokio::test]
async fn user_tokens_name_only_accounts_their_user_acts_in() {
    let app = TestApp::spawn();
    let (_, key) = app.user_key("outsider@example.com", false);
    let outsider = Cred::key("outsider@example.com", &key);
    let r = app
        .post(
            "/user/tokens",
            &outsider,
            token_body("reach in", &app.boot.account_id),
        )
        .await;
    r.err(400, 1001);
    let ptr = format!(
        "/policies/0/resources/{}",
        account_resource(&app.boot.account_id)
    );
    assert_eq!(r.pointers(), vec![ptr], "{r}");
    // Every account key of a user token is checked, existing or not, with the same answer.
    let made_up = "0123456789abcdef0123456789abcdef";
    let r = app
        .post("/user/tokens", &outsider, token_body("made up", made_up))
        .await;
    r.err(400, 1001);
    // Its own accounts are fine.
    let r = app
        .post(
            "/user/tokens",
            &app.admin_key(),
            token_body("mine", &app.boot.account_id),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
}

#[tokio::test]
async fn nul_in_text_is_refused_the_same_on_every_backend() {
    let app = TestApp::spawn();
    let group = ug(&app, "Holders").await;
    let r = app
        .post(
            &ug_path(&app, ""),
            &app.admin(),
            json!({"name": "nul\u{0}byte"}),
        )
        .await;
    r.err(400, 1001);
    assert_eq!(r.pointers(), vec!["/name".to_owned()], "{r}");
    let r = app
        .post(
            &rg_path(&app, ""),
            &app.admin(),
            json!({"name": "ok", "scope": {"key": account_resource(&app.boot.account_id),
                   "objects": [{"key": "*"}], "note\u{0}": 1}}),
        )
        .await;
    r.err(400, 1001);
    assert_eq!(r.pointers(), vec!["/scope/note\\u0000".to_owned()], "{r}");
    for (path, param) in [
        (ug_path(&app, "?name=a%00b"), "name"),
        (ug_path(&app, "?fuzzyName=a%00"), "fuzzyName"),
        (gm_path(&app, &group, "?fuzzyEmail=%00"), "fuzzyEmail"),
        ("/accounts?name=Acme%00".to_owned(), "name"),
        (rg_path(&app, "?name=%00"), "name"),
    ] {
        let r = app.get(&path, &app.admin()).await;
        r.err(400, 1001);
        assert_eq!(r.pointers(), vec![format!("/query/{param}")], "{path}: {r}");
    }
    let r = app
        .put(
            &app.acct(""),
            &app.admin(),
            json!({"name": "Acme\u{0}", "settings": {}}),
        )
        .await;
    r.err(400, 1001);
}

#[tokio::test]
async fn page_numbers_out_of_range_are_refused_not_clamped() {
    let app = TestApp::spawn();
    let r = app
        .get(&ug_path(&app, "?page=9223372036854775808"), &app.admin())
        .await;
    r.err(400, 1001);
    assert_eq!(r.pointers(), vec!["/query/page".to_owned()], "{r}");
    let r = app
        .get(&ug_path(&app, "?page=1000000000"), &app.admin())
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.info()["page"], json!(1_000_000_000u64), "{r}");
}

#[tokio::test]
async fn stored_enumerations_accept_only_known_values() {
    let app = TestApp::spawn();
    let rg = rg_all(&app, "everything").await;
    create_ug(
        &app,
        "Holders",
        Some(json!([policy("allow", &[PG_ADMINISTRATOR], &[&rg])])),
    )
    .await;
    for sql in [
        "update policy set access = 'maybe'".to_owned(),
        format!(
            "update member set status = 'sleeping' where id = '{}'",
            app.boot.member_id
        ),
        "update api_token set status = 'dormant'".to_owned(),
        "update account set type = 'galactic'".to_owned(),
    ] {
        let err = raw_sql(&app, &sql).await.unwrap_err();
        assert!(err.contains("_known"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn a_policy_with_an_unreadable_access_denies() {
    let app = TestApp::spawn_process();
    let rg = rg_all(&app, "everything").await;
    let (_, key) = app.user_key("reader@example.com", false);
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "reader@example.com", "status": "accepted",
                   "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&rg])]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    let member = str_field(r.ok(), "id");
    drop_rule(&app, "policy", "policy_access_known").await;
    raw_sql(
        &app,
        &format!("update policy set access = 'maybe' where member_id = '{member}'"),
    )
    .await
    .unwrap();

    // The member's own requests fail (500, logged) instead of being allowed by an "allow"
    // read from an unknown value.
    let reader = Cred::key("reader@example.com", &key);
    let r = app.get(&ug_path(&app, ""), &reader).await;
    r.err(500, 1000);
    // So do decisions and explanations about the member.
    let r = app
        .post(
            &app.acct("/iam/authorize"),
            &app.admin(),
            json!({"principal": {"member_id": member},
                   "checks": [{"permission": "com.cloudflare.api.account.read"}]}),
        )
        .await;
    r.err(500, 1000);
    let r = app
        .get(
            &app.acct(&format!("/members/{member}/effective_policies")),
            &app.admin(),
        )
        .await;
    r.err(500, 1000);
    assert!(
        app.server_stderr().contains("policy access value"),
        "the cause is logged"
    );
}

#[tokio::test]
async fn a_token_whose_stored_restrictions_cannot_be_read_is_unusable() {
    let mut app = TestApp::spawn_process();
    let mut body = token_body("restricted", &app.boot.account_id);
    body["condition"] = json!({"request_ip": {"not_in": ["10.0.0.0/8"]}});
    let (restricted, restricted_value) = app
        .create_account_token(&app.boot.account_id, &app.admin(), body)
        .await;
    let (weird, weird_value) = app
        .create_account_token(
            &app.boot.account_id,
            &app.admin(),
            token_body("weird effect", &app.boot.account_id),
        )
        .await;
    let (odd, odd_value) = app
        .create_account_token(
            &app.boot.account_id,
            &app.admin(),
            token_body("odd status", &app.boot.account_id),
        )
        .await;
    for value in [&restricted_value, &weird_value, &odd_value] {
        let r = app.get(&app.acct(""), &Cred::token(value)).await;
        assert_eq!(r.status, 200, "usable before: {r}");
    }

    // An address that does not parse must not read as "no restriction".
    raw_sql(
        &app,
        &format!(
            r#"update api_token set condition_json = '{{"in": ["not-an-address"], "not_in": ["10.0.0.0/8"]}}' where id = '{restricted}'"#
        ),
    )
    .await
    .unwrap();
    // An unknown effect must not read as "allow".
    raw_sql(
        &app,
        &format!(
            "update api_token set policies_json = replace(policies_json, '\"allow\"', '\"maybe\"') where id = '{weird}'"
        ),
    )
    .await
    .unwrap();
    drop_rule(&app, "api_token", "api_token_status_known").await;
    raw_sql(
        &app,
        &format!("update api_token set status = 'dormant' where id = '{odd}'"),
    )
    .await
    .unwrap();
    // Raw SQL goes around the API, so around the credential index too: the running server keeps
    // the tokens it verified until a token write or a restart. A restarted server reads the
    // rows again, and must deny.
    app.stop();
    app.restart();

    for value in [&restricted_value, &weird_value, &odd_value] {
        let r = app.get(&app.acct(""), &Cred::token(value)).await;
        r.err(500, 1000);
        let r = app.verify_account_token(&app.boot.account_id, value).await;
        r.err(500, 1000);
    }
    // Other credentials are unaffected.
    let r = app.get(&ug_path(&app, ""), &app.admin()).await;
    assert_eq!(r.status, 200, "{r}");
    let log = app.server_stderr();
    assert!(log.contains("condition_json"), "the cause is logged");
    assert!(log.contains("policy access value"), "{log}");
    assert!(log.contains("token status value"), "{log}");
}

#[tokio::test]
async fn operator_power_needs_the_operators_key_not_a_token() {
    let app = TestApp::spawn();
    let other = other_account(&app).await;
    // The bootstrap user is an operator; its token names only `other`.
    let (_, value) = app
        .create_user_token(&app.admin_key(), token_body("narrow", &other))
        .await;
    let narrow = Cred::token(&value);
    let r = app
        .post("/accounts", &narrow, json!({"name": "Made by a token"}))
        .await;
    r.err(403, 10000);
    let r = app.delete(&app.acct(""), &narrow).await;
    r.err(403, 10000);
    let r = app.get(&app.acct(""), &app.admin()).await;
    assert_eq!(r.status, 200, "the account is still there: {r}");
    // The key itself still may.
    let r = app
        .delete(&format!("/accounts/{other}"), &app.admin_key())
        .await;
    assert_eq!(r.status, 200, "{r}");
}

#[tokio::test]
async fn authz_off_still_never_crosses_accounts() {
    let app = TestApp::spawn_with(&["--authz", "off"]);
    let other = other_account(&app).await;
    // The bootstrap account token belongs to the bootstrap account only.
    for path in [
        format!("/accounts/{other}"),
        format!("/accounts/{other}/members"),
        format!("/accounts/{other}/iam/user_groups"),
        format!("/accounts/{other}/tokens"),
    ] {
        let r = app.get(&path, &app.admin()).await;
        r.err(403, 10000);
    }
    // A user who is not a member of the bootstrap account cannot act in it.
    let (_, key) = app.user_key("stranger@example.com", false);
    let stranger = Cred::key("stranger@example.com", &key);
    let r = app.get(&app.acct("/members"), &stranger).await;
    r.err(403, 10000);
    let r = app
        .post(&ug_path(&app, ""), &stranger, json!({"name": "Intruders"}))
        .await;
    r.err(403, 10000);
}

#[tokio::test]
async fn replacing_members_without_a_body_is_refused_not_an_empty_list() {
    let app = TestApp::spawn();
    let people = members(&app, "kept", 2).await;
    let group = ug(&app, "Kept").await;
    let r = app
        .post(&gm_path(&app, &group, ""), &app.admin(), id_list(&people))
        .await;
    assert_eq!(r.status, 200, "{r}");
    let r = app
        .send(
            reqwest::Method::PUT,
            &app.url(&gm_path(&app, &group, "")),
            &app.admin(),
            Body::None,
        )
        .await;
    r.err(400, 1001);
    assert_eq!(r.pointers(), vec!["/".to_owned()], "{r}");
    assert_eq!(member_total(&app, &group).await, 2);
    // An explicit empty list still empties it.
    let r = app
        .put(&gm_path(&app, &group, ""), &app.admin(), json!([]))
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(member_total(&app, &group).await, 0);
}

#[tokio::test]
async fn credentials_that_are_not_visible_ascii_are_refused_before_the_store() {
    let app = TestApp::spawn();
    let url = app.url("/user");
    let email = reqwest::header::HeaderValue::from_bytes(b"a\xffb@example.com").unwrap();
    let r = app
        .client
        .get(&url)
        .header("X-Auth-Email", email)
        .header("X-Auth-Key", "0123456789abcdef0123456789abcdef01234")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], json!(6003), "{body}");
    assert_eq!(
        body["errors"][0]["error_chain"][0]["code"],
        json!(6102),
        "{body}"
    );
    let bearer = reqwest::header::HeaderValue::from_bytes(b"Bearer \xfftoken").unwrap();
    let r = app
        .client
        .get(&url)
        .header("Authorization", bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["error_chain"][0]["code"],
        json!(6111),
        "{body}"
    );
}
