//! Nobody can hand out more than they hold: tokens, member grants, user-group policies and group
//! memberships are refused (403/10000) when they would grant a permission the caller lacks.

use serde_json::json;

use super::support::{policy, rg_all, ug_path, PG_ADMINISTRATOR};
use crate::helpers::{cli_json, str_field, Cred, TestApp};

/// Legacy role "Administrator".
const ROLE_ADMINISTRATOR: &str = "05784afa30c1afe1440e79d9351c7430";
/// Legacy role "Super Administrator - All Privileges".
const ROLE_SUPER: &str = "33666b9c79b9a5273fc7344ff42f953d";

fn token_group(name: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../portcullis-core/data/permission_groups.json"
    );
    let groups: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name && g["catalog"] == "api_token")
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no token group {name}"))
}

/// A user with a key who is an accepted member holding `grants` (a member create body part).
async fn person(app: &TestApp, email: &str, grants: serde_json::Value) -> (Cred, String) {
    let key = cli_json(&["user-key", "--database", &app.db_url, "--email", email]);
    let mut body = json!({"email": email, "status": "accepted"});
    for (k, v) in grants.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.post(&app.acct("/members"), &app.admin(), body).await;
    assert_eq!(r.status, 200, "{r}");
    (
        Cred::key(email, &str_field(&key, "api_key")),
        str_field(r.ok(), "id"),
    )
}

fn denied_grant(r: &crate::helpers::Resp) {
    assert_eq!(r.status, 403, "{r}");
    assert_eq!(r.body["errors"][0]["code"], 10000, "{r}");
    assert!(
        r.text.contains("cannot grant permissions it does not hold"),
        "{r}"
    );
}

#[tokio::test]
async fn an_administrator_cannot_mint_a_token_stronger_than_itself() {
    let app = TestApp::spawn();
    let (admin, _) = person(
        &app,
        "administrator@example.com",
        json!({"roles": [ROLE_ADMINISTRATOR]}),
    )
    .await;
    let account_key = format!("com.cloudflare.api.account.{}", app.boot.account_id);
    let token = |group: &str| json!({"name": "t", "policies": [{"effect": "allow", "permission_groups": [{"id": group}], "resources": {account_key.clone(): "*"}}]});
    let settings_write = token_group("Account Settings Write");
    // Cloudflare's answer for a token granting more than its creator holds (400/1001, naming
    // the permission group), with the pointer of the group.
    let r = app
        .post(&app.acct("/tokens"), &admin, token(&settings_write))
        .await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(r.body["errors"][0]["code"], 1001, "{r}");
    assert_eq!(
        r.body["errors"][0]["message"],
        "Failed common permission check against resources. (Permission group: \"Account Settings Write\")",
        "{r}"
    );
    assert_eq!(
        r.body["errors"][0]["source"]["pointer"], "/policies/0/permission_groups/0",
        "{r}"
    );
    // What it holds, it may hand out.
    let ok = app
        .post(
            &app.acct("/tokens"),
            &admin,
            token(&token_group("Account API Tokens Read")),
        )
        .await;
    assert_eq!(ok.status, 200, "{ok}");
    // A deny never escalates.
    let deny = json!({"name": "d", "policies": [{"effect": "deny", "permission_groups": [{"id": settings_write}], "resources": {account_key.clone(): "*"}}]});
    assert_eq!(
        app.post(&app.acct("/tokens"), &admin, deny).await.status,
        200
    );
}

#[tokio::test]
async fn membership_managers_cannot_grant_super_administrator() {
    let app = TestApp::spawn();
    let all = rg_all(&app, "all").await;
    let writer_policy = json!([policy(
        "allow",
        &[&token_group("Account Settings Write")],
        &[&all]
    )]);
    let (manager, manager_id) = person(
        &app,
        "manager@example.com",
        json!({"policies": writer_policy}),
    )
    .await;
    // A Super Administrator member, or one accepted on someone's behalf with that role: refused.
    let r = app
        .post(
            &app.acct("/members"),
            &manager,
            json!({"email": "x@example.com", "roles": [ROLE_SUPER]}),
        )
        .await;
    denied_grant(&r);
    // The refusal (past the gate, by a member) is in the account's audit log, with its request.
    let ray = r.header("cf-ray").unwrap();
    let log = app
        .get(
            &app.acct(&format!(
                "/logs/audit?since=2000-01-01&before=2100-01-01&raw_cf_ray_id={ray}"
            )),
            &app.admin(),
        )
        .await;
    assert_eq!(log.list().len(), 1, "{log}");
    let e = &log.list()[0];
    assert_eq!(e["action"]["result"], "failure");
    assert_eq!(e["action"]["type"], "create");
    assert_eq!(e["resource"]["type"], "member");
    assert_eq!(e["actor"]["email"], "manager@example.com");
    assert_eq!(e["raw"]["status_code"], 403);
    // A member with what the manager holds is fine.
    let r = app.post(&app.acct("/members"), &manager, json!({"email": "y@example.com", "policies": [policy("allow", &[&token_group("Account Settings Read")], &[&all])]})).await;
    assert_eq!(r.status, 200, "{r}");
    // A user group granting Administrator (which includes token and SSO rights the manager lacks): refused.
    let r = app
        .post(
            &ug_path(&app, ""),
            &manager,
            json!({"name": "admins", "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&all])]}),
        )
        .await;
    denied_grant(&r);
    // Joining a group the operator made that grants more: refused, for oneself or anyone.
    let strong = app
        .post(
            &ug_path(&app, ""),
            &app.admin(),
            json!({"name": "supers", "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&all])]}),
        )
        .await;
    assert_eq!(strong.status, 200, "{strong}");
    let group = str_field(strong.ok(), "id");
    let r = app
        .post(
            &ug_path(&app, &format!("/{group}/members")),
            &manager,
            json!([{"id": manager_id}]),
        )
        .await;
    denied_grant(&r);
    let r = app
        .put(
            &ug_path(&app, &format!("/{group}/members")),
            &manager,
            json!([{"id": manager_id}]),
        )
        .await;
    denied_grant(&r);
    // Emptying it is no escalation.
    let r = app
        .put(
            &ug_path(&app, &format!("/{group}/members")),
            &manager,
            json!([]),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
}
