//! What Terraform's provider (v5) and the newer SDKs send and expect, replayed as HTTP: member
//! create then read, roles as objects with an extra `account_id` on update, `PUT …/members []` to
//! empty a group, a group's members read one page at a time, members with no direct grants, and
//! the resource-group `scope` shape each SDK version expects (docs/api-decisions.md).

use serde_json::{json, Value};

use super::support::{gm_path, members, policy, rg_all, ug, ug_path, PG_ADMINISTRATOR};
use crate::helpers::{str_field, Cred, TestApp, ROLE_ADMIN, ROLE_ADMIN_READ_ONLY};

/// The bootstrap operator's key, plus extra headers (the SDK identification).
fn admin_with(app: &TestApp, extra: &[(&str, &str)]) -> Cred {
    let mut h = vec![
        ("X-Auth-Email", app.boot.email.as_str()),
        ("X-Auth-Key", app.boot.api_key.as_str()),
    ];
    h.extend_from_slice(extra);
    Cred::headers(&h)
}

fn is_list(scope: &Value) -> bool {
    scope
        .as_array()
        .is_some_and(|a| a.len() == 1 && a[0]["key"].is_string())
}

fn is_object(scope: &Value) -> bool {
    scope.is_object() && scope["key"].is_string() && scope["objects"].is_array()
}

#[tokio::test]
async fn each_sdk_version_gets_the_scope_shape_it_declares() {
    let app = TestApp::spawn();
    let rg = rg_all(&app, "all").await;
    let path = app.acct(&format!("/iam/resource_groups/{rg}"));
    let py54 = [
        ("X-Stainless-Lang", "python"),
        ("X-Stainless-Package-Version", "5.4.0"),
    ];
    let py59 = [
        ("X-Stainless-Lang", "python"),
        ("X-Stainless-Package-Version", "5.9.0"),
    ];
    let js73 = [
        ("X-Stainless-Lang", "js"),
        ("X-Stainless-Package-Version", "7.3.0"),
    ];
    let js70 = [
        ("X-Stainless-Lang", "js"),
        ("X-Stainless-Package-Version", "7.0.0"),
    ];
    let ua59 = [("User-Agent", "Cloudflare/Python 5.9.0")];
    // Terraform's provider v5 reads `scope` as one object in cloudflare_resource_group.
    let tf5 = [
        (
            "User-Agent",
            "terraform-provider-cloudflare/5.22.0 terraform-plugin-framework/1.15.0",
        ),
        ("X-Stainless-Lang", "go"),
        ("X-Stainless-Package-Version", "6.0.0"),
    ];
    for (headers, object) in [
        (&py54[..], false),
        (&py59[..], true),
        (&js73[..], true),
        (&js70[..], false),
        (&ua59[..], true),
        (&tf5[..], true),
        (&[][..], false),
    ] {
        let r = app.get(&path, &admin_with(&app, headers)).await;
        let scope = &r.ok()["scope"];
        assert!(
            if object {
                is_object(scope)
            } else {
                is_list(scope)
            },
            "{headers:?}: {scope}"
        );
    }
    // The same inside policies: a member's and a user group's resource groups.
    let m = app
        .post(
            &app.acct("/members"),
            &admin_with(&app, &py59),
            json!({"email": "p@example.com", "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&rg])]}),
        )
        .await;
    assert!(
        is_object(&m.ok()["policies"][0]["resource_groups"][0]["scope"]),
        "{m}"
    );
    let id = str_field(m.ok(), "id");
    let old = app
        .get(
            &app.acct(&format!("/members/{id}")),
            &admin_with(&app, &py54),
        )
        .await;
    assert!(
        is_list(&old.ok()["policies"][0]["resource_groups"][0]["scope"]),
        "{old}"
    );
}

#[tokio::test]
async fn the_scope_shape_setting_overrides_the_client() {
    let app = TestApp::spawn_with(&["--scope-shape", "object"]);
    let rg = rg_all(&app, "all").await;
    let r = app
        .get(
            &app.acct(&format!("/iam/resource_groups/{rg}")),
            &app.admin(),
        )
        .await;
    assert!(is_object(&r.ok()["scope"]), "{r}");
    let app = TestApp::spawn_with(&["--scope-shape", "list"]);
    let rg = rg_all(&app, "all").await;
    let py59 = [
        ("X-Stainless-Lang", "python"),
        ("X-Stainless-Package-Version", "5.9.0"),
    ];
    let r = app
        .get(
            &app.acct(&format!("/iam/resource_groups/{rg}")),
            &admin_with(&app, &py59),
        )
        .await;
    assert!(is_list(&r.ok()["scope"]), "{r}");
}

#[tokio::test]
async fn terraform_member_create_then_read_returns_what_was_written() {
    let app = TestApp::spawn();
    // Roles as id strings on create; the provider reads the member back at once (Cloudflare's
    // POST answer lacks roles) and compares in order.
    let created = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "tf@example.com", "roles": [ROLE_ADMIN_READ_ONLY, ROLE_ADMIN]}),
        )
        .await;
    let id = str_field(created.ok(), "id");
    let read = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    let ids: Vec<&str> = read.ok()["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [ROLE_ADMIN_READ_ONLY, ROLE_ADMIN],
        "written order: {read}"
    );
    assert_eq!(read.ok(), created.ok(), "create and read agree");
    // Policies: the same, twice in a row (no re-plan).
    let rg = rg_all(&app, "all").await;
    let pols = json!([
        policy("allow", &[PG_ADMINISTRATOR], &[&rg]),
        policy("deny", &[PG_ADMINISTRATOR], &[&rg]),
    ]);
    let created = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "tf2@example.com", "policies": pols}),
        )
        .await;
    let id = str_field(created.ok(), "id");
    let first = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    let second = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    assert_eq!(first.ok(), created.ok());
    assert_eq!(second.ok(), first.ok());
    assert_eq!(first.ok()["policies"][0]["access"], "allow");
    assert_eq!(first.ok()["policies"][1]["access"], "deny");
}

#[tokio::test]
async fn terraform_member_update_sends_roles_as_objects_and_the_account_id() {
    let app = TestApp::spawn();
    let m = app
        .create_member(
            &app.boot.account_id,
            &app.admin(),
            "u@example.com",
            &[ROLE_ADMIN],
            None,
        )
        .await;
    let id = str_field(&m, "id");
    let body = json!({
        "account_id": app.boot.account_id,
        "email": "u@example.com",
        "roles": [{"id": ROLE_ADMIN_READ_ONLY}],
        "status": "pending",
    });
    let r = app
        .put(&app.acct(&format!("/members/{id}")), &app.admin(), body)
        .await;
    assert_eq!(r.ok()["roles"][0]["id"], ROLE_ADMIN_READ_ONLY, "{r}");
    assert_eq!(r.ok()["roles"].as_array().unwrap().len(), 1, "{r}");
    let read = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    assert_eq!(read.ok(), r.ok());
}

#[tokio::test]
async fn terraform_empties_a_group_with_put_of_an_empty_list_and_reads_members_by_page() {
    let app = TestApp::spawn();
    let g = ug(&app, "tf-group").await;
    let ids = members(&app, "tfm", 7).await;
    let body: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
    let r = app
        .put(&gm_path(&app, &g, ""), &app.admin(), json!(body))
        .await;
    assert_eq!(r.list().len(), 7, "{r}");
    // One page at a time.
    let mut seen: Vec<String> = Vec::new();
    for page in 1..=3 {
        let r = app
            .get(
                &gm_path(&app, &g, &format!("?per_page=5&page={page}")),
                &app.admin(),
            )
            .await;
        seen.extend(r.list().iter().map(|m| str_field(m, "id")));
    }
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want);
    // Destroy: PUT [].
    let r = app
        .put(&gm_path(&app, &g, ""), &app.admin(), json!([]))
        .await;
    assert!(r.list().is_empty(), "{r}");
    let r = app.get(&gm_path(&app, &g, ""), &app.admin()).await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(r.info()["total_count"], 0);
    assert_eq!(
        app.get(&ug_path(&app, &format!("/{g}")), &app.admin())
            .await
            .status,
        200,
        "the group itself remains"
    );
}

#[tokio::test]
async fn a_member_with_no_direct_grants_gets_access_from_groups() {
    let app = TestApp::spawn();
    let created = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "g@example.com", "policies": [], "status": "accepted"}),
        )
        .await;
    assert_eq!(created.ok()["policies"], json!([]), "{created}");
    assert_eq!(created.ok()["roles"], json!([]), "{created}");
    let id = str_field(created.ok(), "id");
    let (_, key) = app.user_key("g@example.com", false);
    let me = Cred::key("g@example.com", &key);
    assert_eq!(app.get(&app.acct("/members"), &me).await.status, 403);
    let rg = rg_all(&app, "all").await;
    let g = app
        .post(
            &app.acct("/iam/user_groups"),
            &app.admin(),
            json!({"name": "readers", "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&rg])]}),
        )
        .await;
    let gid = str_field(g.ok(), "id");
    let r = app
        .post(&gm_path(&app, &gid, ""), &app.admin(), json!([{"id": id}]))
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(app.get(&app.acct("/members"), &me).await.status, 200);
    // Direct grants can be emptied again the same way.
    let r = app
        .put(
            &app.acct(&format!("/members/{id}")),
            &app.admin(),
            json!({"policies": []}),
        )
        .await;
    assert_eq!(r.ok()["policies"], json!([]), "{r}");
}

#[tokio::test]
async fn an_inline_scope_in_a_policy_makes_an_unnamed_resource_group() {
    let app = TestApp::spawn();
    let acct = app.boot.account_id.clone();
    let scope =
        json!({"key": format!("com.cloudflare.api.account.{acct}"), "objects": [{"key": "*"}]});
    let inline = |scope: Value| json!([{"access": "allow", "permission_groups": [{"id": PG_ADMINISTRATOR}], "resource_groups": [{"scope": scope}]}]);
    // A user group (terraform-provider-cloudflare#7096) and a member.
    let g = app
        .post(
            &app.acct("/iam/user_groups"),
            &app.admin(),
            json!({"name": "inline", "policies": inline(scope.clone())}),
        )
        .await;
    let made = g.ok()["policies"][0]["resource_groups"][0].clone();
    assert_eq!(made["name"], "Inline scope: *", "{g}");
    assert!(is_list(&made["scope"]), "{g}");
    let rg_id = str_field(&made, "id");
    let listed = app
        .get(
            &app.acct(&format!("/iam/resource_groups/{rg_id}")),
            &app.admin(),
        )
        .await;
    assert_eq!(
        listed.ok(),
        &made,
        "the made group is a resource group of the account"
    );
    let m = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "inline@example.com", "policies": inline(json!([scope.clone()]))}),
        )
        .await;
    let made2 = &m.ok()["policies"][0]["resource_groups"][0];
    assert_ne!(
        made2["id"], made["id"],
        "each inline scope makes its own group"
    );
    // A user group update with an inline scope, too.
    let gid = str_field(g.ok(), "id");
    let u = app
        .put(
            &app.acct(&format!("/iam/user_groups/{gid}")),
            &app.admin(),
            json!({"policies": inline(scope.clone())}),
        )
        .await;
    assert_eq!(
        u.ok()["policies"][0]["resource_groups"][0]["name"],
        "Inline scope: *"
    );

    // A bad inline scope: its pointer, and nothing is written (no group, no member).
    let before = app
        .get(&app.acct("/iam/resource_groups"), &app.admin())
        .await;
    let foreign = json!({"key": "com.cloudflare.api.account.00000000000000000000000000000000", "objects": [{"key": "*"}]});
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "bad@example.com", "policies": inline(foreign)}),
        )
        .await;
    r.validation("/policies/0/resource_groups/0/scope/key");
    // A good inline scope with a bad permission group: refused after the scope was checked;
    // the group it would have made is not written either.
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "bad2@example.com", "policies": [{"access": "allow", "permission_groups": [{"id": "0".repeat(32)}], "resource_groups": [{"scope": scope.clone()}]}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{r}");
    // Both `id` and `scope`, or neither.
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "bad3@example.com", "policies": [{"access": "allow", "permission_groups": [{"id": PG_ADMINISTRATOR}], "resource_groups": [{"id": rg_id, "scope": scope.clone()}]}]}),
        )
        .await;
    r.validation("/policies/0/resource_groups/0");
    let r = app
        .post(
            &app.acct("/members"),
            &app.admin(),
            json!({"email": "bad4@example.com", "policies": [{"access": "allow", "permission_groups": [{"id": PG_ADMINISTRATOR}], "resource_groups": [{}]}]}),
        )
        .await;
    r.validation("/policies/0/resource_groups/0/id");
    let after = app
        .get(&app.acct("/iam/resource_groups"), &app.admin())
        .await;
    assert_eq!(after.list().len(), before.list().len(), "no group written");
    let members = app
        .get(&app.acct("/members?per_page=50"), &app.admin())
        .await;
    let emails: Vec<&str> = members
        .list()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["admin@example.com", "inline@example.com"],
        "no refused member written"
    );
}
