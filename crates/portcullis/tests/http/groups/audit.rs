//! The audit log (docs/operating.md "Audit log"): every write through the API is one entry in
//! the write's own transaction, with its actor, request and values before and after; a write
//! that fails leaves none; a member's refused request is an entry of its own, an outsider's is
//! not; v1 pages, v2 cursors and the change feed read the same entries; `--audit-stdout`
//! streams them.

use std::time::Duration;

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

const WIDE: &str = "since=2000-01-01&before=2100-01-01";

fn role(name: &str) -> String {
    let roles = shared_data("account_roles.json");
    let found = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("role {name}"));
    str_field(found, "id")
}

/// Every v2 entry of the app's account, newest first.
async fn v2_all(app: &TestApp, cred: &Cred) -> Vec<Value> {
    let r = app
        .get(&app.acct(&format!("/logs/audit?{WIDE}&limit=1000")), cred)
        .await;
    assert_eq!(r.status, 200, "{r}");
    r.list().clone()
}

fn parsed(v: &Value) -> Value {
    v.as_str()
        .map(|s| serde_json::from_str(s).expect("JSON text"))
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn writes_are_recorded_with_actor_request_and_values() {
    let app = TestApp::spawn();
    let admin = app.admin_key();
    let rg = rg_all(&app, "everything").await;
    let created = app
        .post(
            &ug_path(&app, ""),
            &admin,
            json!({"name": "auditors", "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&rg])]}),
        )
        .await;
    assert_eq!(created.status, 200, "{created}");
    let group = str_field(created.ok(), "id");
    let ray = created.header("cf-ray").unwrap();
    let renamed = app
        .put(
            &ug_path(&app, &format!("/{group}")),
            &admin,
            json!({"name": "auditors-2"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{renamed}");
    let member = app
        .create_member(
            &app.boot.account_id,
            &admin,
            "someone@example.com",
            &[ROLE_ADMIN_READ_ONLY],
            Some("accepted"),
        )
        .await;
    let member_id = str_field(&member, "id");
    let added = app
        .post(
            &gm_path(&app, &group, ""),
            &admin,
            json!([{ "id": member_id }]),
        )
        .await;
    assert_eq!(added.status, 200, "{added}");
    // The bootstrap token (an account-owned token) deletes the group.
    let token = Cred::token(&app.boot.api_token);
    let deleted = app
        .delete(&ug_path(&app, &format!("/{group}")), &token)
        .await;
    assert_eq!(deleted.status, 200, "{deleted}");

    let all = v2_all(&app, &admin).await;
    let of_group: Vec<&Value> = all
        .iter()
        .filter(|e| e["resource"]["id"] == group.as_str())
        .collect();
    let kinds: Vec<(String, String)> = of_group
        .iter()
        .map(|e| {
            (
                str_field(&e["action"], "type"),
                str_field(&e["resource"], "type"),
            )
        })
        .collect();
    let pair = |a: &str, t: &str| (a.to_owned(), t.to_owned());
    assert_eq!(
        kinds,
        vec![
            pair("delete", "user_group"),
            pair("update", "user_group_members"),
            pair("update", "user_group"),
            pair("create", "user_group"),
        ],
        "newest first: {of_group:#?}"
    );
    let (delete, add, rename, create) = (of_group[0], of_group[1], of_group[2], of_group[3]);

    // The creation: by the admin's global key, with the request's id and the group after.
    assert_eq!(create["actor"]["type"], "user");
    assert_eq!(create["actor"]["context"], "api_key");
    assert_eq!(create["actor"]["email"], "admin@example.com");
    assert_eq!(create["actor"]["id"], app.boot.user_id.as_str());
    assert_eq!(create["raw"]["cf_ray_id"], ray.as_str());
    assert_eq!(create["raw"]["method"], "POST");
    assert_eq!(create["raw"]["status_code"], 200);
    assert_eq!(create["action"]["result"], "success");
    assert_eq!(create["account"]["id"], app.boot.account_id.as_str());
    assert_eq!(create["account"]["name"], "Test");
    assert!(create["resource"]["value"]["before"].is_null());
    let after = &create["resource"]["value"]["after"];
    assert_eq!(after["name"], "auditors");
    assert_eq!(
        after["policies"][0]["permission_groups"][0],
        PG_ADMINISTRATOR
    );
    assert_eq!(after["policies"][0]["resource_groups"][0], rg.as_str());
    assert_eq!(&create["resource"]["response"], after);

    // The rename: before and after.
    assert_eq!(rename["resource"]["value"]["before"]["name"], "auditors");
    assert_eq!(rename["resource"]["value"]["after"]["name"], "auditors-2");
    // The member added: the list before and after.
    assert_eq!(add["resource"]["value"]["before"]["members"], json!([]));
    assert_eq!(
        add["resource"]["value"]["after"]["members"],
        json!([member_id])
    );
    // The deletion, by the account token.
    assert_eq!(delete["actor"]["type"], "account");
    assert_eq!(delete["actor"]["context"], "api_token");
    assert_eq!(delete["actor"]["token_id"], app.boot.api_token_id.as_str());
    assert!(delete["actor"].get("email").is_none());
    assert_eq!(delete["resource"]["value"]["before"]["name"], "auditors-2");
    assert!(delete["resource"]["value"]["after"].is_null());

    // v1 shows the same entries: values as JSON text.
    let v1 = app
        .get(
            &app.acct("/audit_logs?per_page=1000&action.type=update"),
            &admin,
        )
        .await;
    assert_eq!(v1.status, 200, "{v1}");
    check_result_info(&v1);
    let renamed_v1 = v1
        .list()
        .iter()
        .find(|e| e["resource"]["id"] == group.as_str() && e["resource"]["type"] == "user_group")
        .expect("the rename in v1");
    assert_eq!(parsed(&renamed_v1["oldValue"])["name"], "auditors");
    assert_eq!(parsed(&renamed_v1["newValue"])["name"], "auditors-2");
    assert_eq!(renamed_v1["actor"]["email"], "admin@example.com");
    assert_eq!(renamed_v1["actor"]["type"], "user");
    assert_eq!(renamed_v1["interface"], "API");
    assert_eq!(renamed_v1["owner"]["id"], app.boot.account_id.as_str());
    assert!(v1.list().iter().all(|e| e["action"]["type"] == "update"));

    // No secret anywhere: the token values and the key never appear.
    let everything = serde_json::to_string(&all).unwrap();
    assert!(!everything.contains(&app.boot.api_token));
    assert!(!everything.contains(&app.boot.api_key));
}

#[tokio::test]
async fn a_write_that_fails_leaves_no_entry() {
    let app = TestApp::spawn();
    let admin = app.admin_key();
    let rg = rg_all(&app, "everything").await;
    create_ug(&app, "taken", None).await;
    let before = v2_all(&app, &admin).await.len();
    let refused = [
        // Unknown permission group: 400.
        app.post(
            &ug_path(&app, ""),
            &admin,
            json!({"name": "x", "policies": [policy("allow", &[UNKNOWN_ID], &[&rg])]}),
        )
        .await,
        // The name is taken: 409.
        app.post(&ug_path(&app, ""), &admin, json!({"name": "taken"}))
            .await,
        // Nothing to delete: 404.
        app.delete(&ug_path(&app, &format!("/{UNKNOWN_ID}")), &admin)
            .await,
        // A resource group still used by a policy cannot be deleted: 400.
        {
            create_ug(
                &app,
                "user",
                Some(json!([policy("allow", &[PG_ADMINISTRATOR], &[&rg])])),
            )
            .await;
            app.delete(&rg_path(&app, &format!("/{rg}")), &admin).await
        },
    ];
    for r in &refused {
        assert!(r.status >= 400, "{r}");
    }
    let after = v2_all(&app, &admin).await;
    assert_eq!(
        after.len(),
        before + 1,
        "only the group `user` was created: {:#?}",
        &after[..after.len() - before]
    );
    assert_eq!(after[0]["resource"]["value"]["after"]["name"], "user");
}

#[tokio::test]
async fn a_members_refusal_is_recorded_and_an_outsiders_is_not() {
    let app = TestApp::spawn();
    let admin = app.admin_key();
    let minimal = role("Minimal Account Access");
    app.create_member(
        &app.boot.account_id,
        &admin,
        "limited@example.com",
        &[&minimal],
        Some("accepted"),
    )
    .await;
    let (_, key) = app.user_key("limited@example.com", false);
    let limited = Cred::key("limited@example.com", &key);
    let r = app
        .post(&ug_path(&app, ""), &limited, json!({"name": "nope"}))
        .await;
    assert_eq!(r.status, 403, "{r}");
    let ray = r.header("cf-ray").unwrap();

    // An outsider: a user of another account.
    let other = app.create_account("Other").await;
    let _ = other;
    let (_, okey) = app.user_key("outsider@example.com", false);
    let outsider = Cred::key("outsider@example.com", &okey);
    let r = app.get(&ug_path(&app, ""), &outsider).await;
    assert_eq!(r.status, 403, "{r}");

    let all = v2_all(&app, &admin).await;
    let refusals: Vec<&Value> = all
        .iter()
        .filter(|e| e["action"]["result"] == "failure")
        .collect();
    assert_eq!(refusals.len(), 1, "{refusals:#?}");
    let e = refusals[0];
    assert_eq!(e["actor"]["email"], "limited@example.com");
    assert_eq!(e["action"]["type"], "create");
    assert_eq!(e["resource"]["type"], "user_group");
    assert_eq!(e["raw"]["status_code"], 403);
    assert_eq!(e["raw"]["cf_ray_id"], ray.as_str());
    // v1: result false; filters by result in v2.
    let v1 = app
        .get(
            &app.acct("/audit_logs?actor.email=LIMITED@example.com"),
            &admin,
        )
        .await;
    assert_eq!(v1.list().len(), 1, "{v1}");
    assert_eq!(v1.list()[0]["action"]["result"], false);
    let failures = app
        .get(
            &app.acct(&format!("/logs/audit?{WIDE}&action_result=failure")),
            &admin,
        )
        .await;
    assert_eq!(failures.list().len(), 1, "{failures}");
    let not_failures = app
        .get(
            &app.acct(&format!("/logs/audit?{WIDE}&action_result.not=failure")),
            &admin,
        )
        .await;
    assert_eq!(not_failures.list().len(), all.len() - 1);
    // The change feed holds changes only.
    let feed = app.get(&app.acct("/iam/changes?limit=1000"), &admin).await;
    assert_eq!(feed.status, 200, "{feed}");
    assert_eq!(feed.list().len(), all.len() - 1);
}

#[tokio::test]
async fn the_log_needs_its_permission_and_checks_its_queries() {
    let app = TestApp::spawn();
    let admin = app.admin_key();
    // A token with "Account API Tokens Read" only: no audit-log key.
    let (_, tokens_read) = app
        .create_account_token(
            &app.boot.account_id,
            &admin,
            json!({"name": "narrow", "policies": [{"effect": "allow",
                "permission_groups": [{"id": PG_ACCOUNT_API_TOKENS_READ}],
                "resources": {account_resource(&app.boot.account_id): "*"}}]}),
        )
        .await;
    let narrow = Cred::token(&tokens_read);
    for path in [
        "/audit_logs".to_owned(),
        format!("/logs/audit?{WIDE}"),
        "/iam/changes".to_owned(),
    ] {
        let r = app.get(&app.acct(&path), &narrow).await;
        r.err(403, 10000);
    }
    // "Account Settings Read" reads it.
    let (_, settings) = app
        .create_account_token(
            &app.boot.account_id,
            &admin,
            json!({"name": "settings", "policies": [{"effect": "allow",
                "permission_groups": [{"id": PG_ACCOUNT_SETTINGS_READ}],
                "resources": {account_resource(&app.boot.account_id): "*"}}]}),
        )
        .await;
    let r = app
        .get(&app.acct("/audit_logs"), &Cred::token(&settings))
        .await;
    assert_eq!(r.status, 200, "{r}");

    for (query, pointer) in [
        ("/logs/audit?before=2100-01-01", "/query/since"),
        ("/logs/audit?since=2000-01-01", "/query/before"),
        (
            "/logs/audit?since=yesterday&before=2100-01-01",
            "/query/since",
        ),
        (
            "/logs/audit?since=2030-01-01&before=2020-01-01",
            "/query/before",
        ),
        (
            &format!("/logs/audit?{WIDE}&limit=0") as &str,
            "/query/limit",
        ),
        (&format!("/logs/audit?{WIDE}&cursor=abc"), "/query/cursor"),
        (
            &format!("/logs/audit?{WIDE}&actor_type=robot"),
            "/query/actor_type",
        ),
        (
            &format!("/logs/audit?{WIDE}&action_type.not=nap"),
            "/query/action_type.not",
        ),
        (
            &format!("/logs/audit?{WIDE}&actor_ip_address=10.0.0.300"),
            "/query/actor_ip_address",
        ),
        (
            &format!("/logs/audit?{WIDE}&product_category=dns"),
            "/query/product_category",
        ),
        ("/audit_logs?direction=sideways", "/query/direction"),
        ("/audit_logs?since=2026-13-01", "/query/since"),
        ("/audit_logs?actor.ip=not-an-ip", "/query/actor.ip"),
        ("/iam/changes?limit=1001", "/query/limit"),
        ("/iam/changes?cursor=-1", "/query/cursor"),
    ] {
        let r = app.get(&app.acct(query), &admin).await;
        r.err(400, 1001);
        r.validation(pointer);
    }
}

#[tokio::test]
async fn pages_cursors_and_filters_read_the_same_entries() {
    let app = TestApp::spawn();
    let admin = app.admin_key();
    for i in 0..7 {
        create_ug(&app, &format!("g{i}"), None).await;
    }
    let all = v2_all(&app, &admin).await;
    assert!(all.len() >= 7);
    let ids: Vec<String> = all.iter().map(|e| str_field(e, "id")).collect();

    // v2: cursors, three at a time, newest first.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/logs/audit?{WIDE}&limit=3");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get(&app.acct(&path), &admin).await;
        assert_eq!(r.status, 200, "{r}");
        walked.extend(r.list().iter().map(|e| str_field(e, "id")));
        match r.info()["cursors"]["after"].as_str() {
            Some(c) => {
                assert_eq!(r.info()["cursor"], c);
                cursor = Some(c.to_owned());
            }
            None => {
                assert_eq!(r.info()["cursor"], "");
                break;
            }
        }
    }
    assert_eq!(walked, ids);
    // Oldest first.
    let asc = app
        .get(
            &app.acct(&format!("/logs/audit?{WIDE}&limit=1000&direction=asc")),
            &admin,
        )
        .await;
    let mut reversed: Vec<String> = asc.list().iter().map(|e| str_field(e, "id")).collect();
    reversed.reverse();
    assert_eq!(reversed, ids);

    // v1: numbered pages.
    let pages = app.walk(&app.acct("/audit_logs"), &admin, 2).await;
    let v1_ids: Vec<String> = pages.iter().map(|e| str_field(e, "id")).collect();
    assert_eq!(v1_ids, ids);

    // Filters: time window, ids, resource type, zone (nothing here is about a zone).
    let newest = &all[0];
    let t = str_field(&newest["action"], "time");
    let since = app
        .get(
            &app.acct(&format!("/logs/audit?since={t}&before=2100-01-01")),
            &admin,
        )
        .await;
    assert!(since.list().iter().any(|e| e["id"] == newest["id"]));
    let before = app
        .get(
            &app.acct(&format!("/logs/audit?since=2000-01-01&before={t}")),
            &admin,
        )
        .await;
    assert!(!before.list().iter().any(|e| e["id"] == newest["id"]));
    let one = app
        .get(
            &app.acct(&format!("/logs/audit?{WIDE}&id={}&id={}", ids[0], ids[1])),
            &admin,
        )
        .await;
    assert_eq!(one.list().len(), 2);
    let v1_one = app
        .get(&app.acct(&format!("/audit_logs?id={}", ids[2])), &admin)
        .await;
    assert_eq!(v1_one.list().len(), 1);
    assert_eq!(v1_one.list()[0]["id"], ids[2].as_str());
    let not_groups = app
        .get(
            &app.acct(&format!("/logs/audit?{WIDE}&resource_type.not=user_group")),
            &admin,
        )
        .await;
    assert!(not_groups
        .list()
        .iter()
        .all(|e| e["resource"]["type"] != "user_group"));
    let zoned = app
        .get(&app.acct("/audit_logs?zone.name=example.com"), &admin)
        .await;
    assert_eq!(zoned.list().len(), 0);
    let local = app
        .get(
            &app.acct("/audit_logs?actor.ip=127.0.0.0/8&per_page=1000"),
            &admin,
        )
        .await;
    let from_api = all
        .iter()
        .filter(|e| e["raw"]["method"].is_string())
        .count();
    assert_eq!(local.list().len(), from_api, "{local}");
    assert_eq!(local.info()["total_count"], from_api);
}

#[tokio::test]
async fn the_change_feed_is_ascending_with_a_stable_cursor() {
    let app = TestApp::spawn();
    let admin = app.admin_key();
    let first = app.get(&app.acct("/iam/changes?limit=2"), &admin).await;
    assert_eq!(first.status, 200, "{first}");
    assert_eq!(first.list().len(), 2);
    assert_eq!(
        first.info()["has_more"],
        true,
        "bootstrap wrote three entries"
    );
    let mut cursor = str_field(first.info(), "cursor");
    assert_eq!(first.list()[1]["cursor"], cursor.as_str());
    // Read to the end.
    loop {
        let r = app
            .get(&app.acct(&format!("/iam/changes?cursor={cursor}")), &admin)
            .await;
        assert_eq!(r.status, 200, "{r}");
        let next = str_field(r.info(), "cursor");
        if r.list().is_empty() {
            assert_eq!(next, cursor, "nothing new: the same cursor");
            assert_eq!(r.info()["has_more"], false);
            break;
        }
        cursor = next;
    }
    // Again: still nothing, still the same cursor.
    let again = app
        .get(&app.acct(&format!("/iam/changes?cursor={cursor}")), &admin)
        .await;
    assert_eq!(again.list().len(), 0);
    assert_eq!(again.info()["cursor"], cursor.as_str());
    // A write appears after it, with its values.
    let g = create_ug(&app, "mirror-me", None).await;
    let r = app
        .get(&app.acct(&format!("/iam/changes?cursor={cursor}")), &admin)
        .await;
    assert_eq!(r.list().len(), 1, "{r}");
    let change = &r.list()[0];
    assert_eq!(change["action"], "create");
    assert_eq!(change["resource"]["type"], "user_group");
    assert_eq!(change["resource"]["id"], g["id"]);
    assert_eq!(change["after"]["name"], "mirror-me");
    assert!(change["before"].is_null());
    assert_eq!(change["actor"]["token_id"], app.boot.api_token_id.as_str());
    assert_ne!(r.info()["cursor"], cursor.as_str());
}

#[tokio::test]
async fn audit_stdout_streams_each_committed_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let boot = bootstrap(&db, "Stream", "admin@example.com", &[]);
    let server = Server::start_with(dir.path(), &db, &["--audit-stdout"]);
    let r = http_client()
        .post(format!(
            "{}/client/v4/accounts/{}/iam/user_groups",
            server.base, boot.account_id
        ))
        .bearer_auth(&boot.api_token)
        .json(&json!({"name": "streamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ray = r.headers()["cf-ray"].to_str().unwrap().to_owned();
    let line = server
        .next_stdout_line(Duration::from_secs(10))
        .expect("one line per committed entry");
    let v: Value = serde_json::from_str(&line).expect("a JSON object per line");
    assert_eq!(v["log"], "audit");
    assert_eq!(v["AccountID"], boot.account_id.as_str());
    assert_eq!(v["ActionType"], "create");
    assert_eq!(v["ResourceType"], "user_group");
    assert_eq!(v["ActorType"], "account");
    assert_eq!(v["Raw"]["cf_ray_id"], ray.as_str());
    assert_eq!(v["ResourceValue"]["after"]["name"], "streamed");
    assert!(!line.contains(&boot.api_token));
    // A refused write (409) streams nothing.
    let r = http_client()
        .post(format!(
            "{}/client/v4/accounts/{}/iam/user_groups",
            server.base, boot.account_id
        ))
        .bearer_auth(&boot.api_token)
        .json(&json!({"name": "streamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(server.next_stdout_line(Duration::from_millis(500)), None);
    server.terminate();
}

#[tokio::test]
async fn the_user_log_holds_the_callers_own_changes() {
    let app = TestApp::spawn();
    let admin = app.admin_key();
    let r = app
        .send(
            reqwest::Method::PATCH,
            &app.url("/user"),
            &admin,
            Body::Json(json!({"first_name": "Ada"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    let (token_id, _) = app
        .create_user_token(&admin, user_token_body("mine", &app.boot.user_id))
        .await;
    // An invitation the other user accepts: in their log, not the admin's.
    let invited = app
        .create_member(
            &app.boot.account_id,
            &admin,
            "guest@example.com",
            &[ROLE_ADMIN_READ_ONLY],
            None,
        )
        .await;
    let (_, key) = app.user_key("guest@example.com", false);
    let guest = Cred::key("guest@example.com", &key);
    let r = app
        .put(
            &format!("/memberships/{}", str_field(&invited, "id")),
            &guest,
            json!({"status": "accepted"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");

    let mine = app.get("/user/audit_logs?direction=asc", &admin).await;
    assert_eq!(mine.status, 200, "{mine}");
    check_result_info(&mine);
    let kinds: Vec<(String, String)> = mine
        .list()
        .iter()
        .map(|e| {
            (
                str_field(&e["resource"], "type"),
                str_field(&e["resource"], "id"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("user".to_owned(), app.boot.user_id.clone()),
            ("token".to_owned(), token_id.clone()),
        ],
        "{mine}"
    );
    assert_eq!(parsed(&mine.list()[0]["newValue"])["first_name"], "Ada");
    assert!(mine
        .list()
        .iter()
        .all(|e| e["actor"]["email"] == "admin@example.com"));

    let theirs = app.get("/user/audit_logs", &guest).await;
    assert_eq!(theirs.list().len(), 1, "{theirs}");
    let answer = &theirs.list()[0];
    assert_eq!(answer["resource"]["type"], "membership");
    assert_eq!(answer["owner"]["id"], app.boot.account_id.as_str());
    assert_eq!(parsed(&answer["oldValue"])["status"], "pending");
    assert_eq!(parsed(&answer["newValue"])["status"], "accepted");
    let hidden = app
        .get("/user/audit_logs?hide_user_logs=true", &guest)
        .await;
    assert_eq!(hidden.list().len(), 0);
    // The account's log shows the answer too (hidden with hide_user_logs), not the user's own
    // token or profile.
    let account_log = app
        .get(&app.acct("/audit_logs?per_page=1000"), &admin)
        .await;
    assert!(account_log
        .list()
        .iter()
        .any(|e| e["resource"]["type"] == "membership"));
    assert!(!account_log
        .list()
        .iter()
        .any(|e| e["resource"]["id"] == token_id.as_str()));
    let without = app
        .get(
            &app.acct("/audit_logs?per_page=1000&hide_user_logs=true"),
            &admin,
        )
        .await;
    assert!(!without
        .list()
        .iter()
        .any(|e| e["resource"]["type"] == "membership"));

    // An account-owned token has no user log.
    let r = app.get("/user/audit_logs", &app.admin()).await;
    r.err(400, 1001);
}
