//! State as data (api-decisions.md "State files"): `export`, `import`, `serve --fixtures`,
//! `POST /__portcullis/reset`, on the selected backend and from SQLite to PostgreSQL.

use std::path::Path;

use serde_json::{json, Value};

use crate::helpers::*;

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const OWNER_KEY: &str = "144c9defac04969c7bfad8efaa8ea194";
const RG: &str = "6d7f2f5f5b1d4a0a9b6a3f7b1e2c3d4e";
const MEMBER_OWNER: &str = "4536bcfad5faccb111b47003c79917fa";
const MEMBER_DEV: &str = "4536bcfad5faccb111b47003c79917fb";
const GROUP: &str = "023e105f4ecef8ad9ca31a8372d0c354";
const TOKEN: &str = "ed17574386854bf78a67040be0a770b0";
const TOKEN_VALUE: &str = "Portcullis-fixture-token-000000000000001";

/// A fixtures document with a bit of everything, ids fixed, secrets in clear.
fn fixtures() -> Value {
    json!({
        "portcullis_state": 1,
        "users": [
            {"email": "user@example.com", "operator": true, "api_key": OWNER_KEY,
             "first_name": "Ada"},
            {"email": "dev@example.com", "api_key": "0123456789abcdef0123456789abcdef0"}
        ],
        "accounts": [{
            "id": ACCOUNT,
            "name": "Fixture account",
            "resource_groups": [{
                "id": RG, "name": "Whole account",
                "scope": {"key": format!("com.cloudflare.api.account.{ACCOUNT}"), "objects": ["*"]}
            }],
            "members": [
                {"id": MEMBER_OWNER, "user": "user@example.com", "status": "accepted",
                 "roles": [ROLE_SUPER_ADMIN]},
                {"id": MEMBER_DEV, "user": "dev@example.com", "status": "accepted",
                 "policies": []}
            ],
            "user_groups": [{
                "id": GROUP, "name": "Readers",
                "policies": [{"access": "allow", "permission_groups": [PG_ACCOUNT_SETTINGS_READ],
                              "resource_groups": [RG]}],
                "members": [{"member": MEMBER_DEV}]
            }],
            "tokens": [{
                "id": TOKEN, "name": "CI", "value": TOKEN_VALUE,
                "condition": {"request_ip": {"in": ["127.0.0.0/8", "::1/128"], "not_in": []}},
                "policies": [{"effect": "allow", "permission_groups": [PG_ACCOUNT_SETTINGS_READ],
                              "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"}}]
            }],
            "sso_connectors": [{"id": "023e105f4ecef8ad9ca31a8372d0c355",
                                "email_domain": "example.com"}],
            "oauth_clients": [{
                "id": "023e105f4ecef8ad9ca31a8372d0c356", "client_name": "App",
                "grant_types": ["authorization_code"], "response_types": ["code"],
                "redirect_uris": ["https://app.example.com/cb"], "scopes": ["openid"],
                "token_endpoint_auth_method": "client_secret_basic", "secret": "s3cret"
            }]
        }]
    })
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(v).unwrap()).unwrap();
    path.display().to_string()
}

fn export(db: &str, extra: &[&str]) -> String {
    let mut args = vec!["export", "--database", db];
    args.extend_from_slice(extra);
    let out = cli(&args);
    assert!(out.status.success(), "{out}");
    out.stdout
}

fn import(file: &str, db: &str, extra: &[&str]) -> CliOut {
    let mut args = vec!["import", file, "--database", db];
    args.extend_from_slice(extra);
    cli(&args)
}

/// Changes made through the API after the fixtures, so exports hold API-written rows too.
async fn api_writes(base: &str) {
    let c = http_client();
    let url = |p: &str| format!("{base}/client/v4/accounts/{ACCOUNT}{p}");
    let send = |r: reqwest::RequestBuilder| async move {
        let r = r
            .header("X-Auth-Email", "user@example.com")
            .header("X-Auth-Key", OWNER_KEY)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    };
    send(c.post(url("/members")).json(&json!({
        "email": "new@example.com", "status": "pending",
        "policies": [{"access": "deny", "permission_groups": [{"id": PG_ZONE_READ}],
                      "resource_groups": [{"id": RG}]}]
    })))
    .await;
    send(c.post(url("/iam/user_groups")).json(&json!({
        "name": "Writers",
        "policies": [{"access": "allow", "permission_groups": [{"id": PG_ACCOUNT_SETTINGS_READ}],
                      "resource_groups": [{"id": RG}]}]
    })))
    .await;
    send(
        c.post(url("/tokens"))
            .json(&token_body("made by API", ACCOUNT)),
    )
    .await;
}

#[tokio::test]
async fn export_import_export_is_exact_and_import_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let file = write(dir.path(), "fixtures.json", &fixtures());
    let first = cli_json(&["import", &file, "--database", &db]);
    assert_eq!(first, json!({"added": 10, "unchanged": 0}));
    let again = cli_json(&["import", &file, "--database", &db]);
    assert_eq!(again, json!({"added": 0, "unchanged": 10}), "idempotent");
    {
        let server = InProcess::start_with(&db, &[]);
        api_writes(&server.base).await;
    }
    let one = export(&db, &[]);
    let doc: Value = serde_json::from_str(&one).unwrap();
    assert!(!one.contains(OWNER_KEY) && !one.contains(TOKEN_VALUE) && !one.contains("s3cret"));
    assert_eq!(doc["users"].as_array().unwrap().len(), 3);
    assert_eq!(doc["accounts"][0]["members"].as_array().unwrap().len(), 3);
    assert_eq!(doc["accounts"][0]["tokens"].as_array().unwrap().len(), 2);

    // Into an empty database, as JSON and as YAML: the same document comes out.
    for (name, format) in [("a.json", "json"), ("a.yaml", "yaml")] {
        let text = export(&db, &["--format", format]);
        std::fs::write(dir.path().join(name), &text).unwrap();
        let other = tempfile::tempdir().unwrap();
        let db2 = db_url_for(other.path());
        let _g2 = db_guard(&db2);
        let file2 = dir.path().join(name).display().to_string();
        let out = import(&file2, &db2, &[]);
        assert!(out.status.success(), "{out}");
        assert_eq!(export(&db2, &[]), one, "{format}: export → import → export");
        // The imported credentials work.
        let server = InProcess::start_with(&db2, &[]);
        let r = http_client()
            .get(format!("{}/client/v4/accounts/{ACCOUNT}", server.base))
            .bearer_auth(TOKEN_VALUE)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    // One account only: its members' users, nothing else.
    let only = export(&db, &["--account", ACCOUNT]);
    assert_eq!(only, one, "the only account");
    let out = cli(&["export", "--database", &db, "--account", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(out.stderr.contains("--account `nope`"), "{out}");
}

#[tokio::test]
async fn import_is_all_or_nothing_and_names_file_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let file = write(dir.path(), "fixtures.json", &fixtures());
    assert!(import(&file, &db, &[]).status.success());
    let before = export(&db, &[]);

    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut f = fixtures();
                f["accounts"][0]["user_groups"][0]["policies"][0]["resource_groups"][0] =
                    json!("0123456789abcdef0123456789abcdef");
                f
            },
            "/accounts/0/user_groups/0/policies/0/resource_groups/0: resource group `0123456789abcdef0123456789abcdef` does not exist",
        ),
        (
            {
                let mut f = fixtures();
                f["accounts"][0]["resource_groups"][0]["scope"]["objects"][0] =
                    json!("com.cloudflare.api.account.0123456789abcdef0123456789abcdef");
                f
            },
            "/accounts/0/resource_groups/0/scope/objects/0: `com.cloudflare.api.account.0123456789abcdef0123456789abcdef` names another account",
        ),
        (
            {
                let mut f = fixtures();
                f["accounts"][0]["members"][1]["user"] = json!("ghost@example.com");
                f
            },
            "/accounts/0/members/1/user: no user has the email `ghost@example.com`",
        ),
        (
            {
                let mut f = fixtures();
                f["accounts"][0]["tokens"][0]["status"] = json!("paused");
                f
            },
            "/accounts/0/tokens/0/status: unknown variant `paused`",
        ),
        (
            {
                let mut f = fixtures();
                f["accounts"][0]["name"] = json!("Renamed");
                f
            },
            "/accounts/0: account `023e105f4ecef8ad9ca31a8372d0c353` is stored already with other content",
        ),
        (
            {
                let mut f = fixtures();
                f["users"][1]["id"] = json!(UNKNOWN_ID);
                f
            },
            "/users/1/email: `dev@example.com` is stored already as user ",
        ),
    ];
    for (doc, expected) in cases {
        let bad = write(dir.path(), "bad.json", &doc);
        let out = import(&bad, &db, &[]);
        assert_eq!(out.status.code(), Some(1), "{out}");
        assert!(
            out.stderr.contains(&format!("{bad}: {expected}")),
            "expected `{bad}: {expected}` in {out}"
        );
        assert_eq!(export(&db, &[]), before, "nothing changed");
    }
    // A clash that is a difference of content is taken with --replace.
    let mut renamed = fixtures();
    renamed["accounts"][0]["name"] = json!("Renamed");
    let file2 = write(dir.path(), "renamed.json", &renamed);
    let out = import(&file2, &db, &["--replace"]);
    assert!(out.status.success(), "{out}");
    let after: Value = serde_json::from_str(&export(&db, &[])).unwrap();
    assert_eq!(after["accounts"][0]["name"], json!("Renamed"));
}

#[tokio::test]
async fn sqlite_to_postgres_is_exact() {
    let Ok(base) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") else {
        eprintln!("SQLite → PostgreSQL NOT TESTED: PORTCULLIS_TEST_POSTGRES_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("from.db").display());
    let file = write(dir.path(), "fixtures.json", &fixtures());
    assert!(import(&file, &sqlite, &[]).status.success());
    {
        let server = InProcess::start_with(&sqlite, &[]);
        api_writes(&server.base).await;
    }
    let from = export(&sqlite, &["--format", "yaml"]);
    let dump = dir.path().join("dump.yaml");
    std::fs::write(&dump, &from).unwrap();
    let schema = new_schema_name();
    let pg = postgres_url_with_schema(&base, &schema);
    let _g = SchemaGuard::for_url(&pg);
    let out = import(&dump.display().to_string(), &pg, &[]);
    assert!(out.status.success(), "{out}");
    assert_eq!(export(&pg, &["--format", "yaml"]), from);
    // And back.
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let dump2 = dir.path().join("dump2.json");
    std::fs::write(&dump2, export(&pg, &[])).unwrap();
    assert!(import(&dump2.display().to_string(), &back, &[])
        .status
        .success());
    assert_eq!(export(&back, &["--format", "yaml"]), from);
}

#[tokio::test]
async fn serve_fixtures_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let file = write(dir.path(), "fixtures.json", &fixtures());
    let fixture_state = {
        let other = tempfile::tempdir().unwrap();
        let db2 = db_url_for(other.path());
        let _g2 = db_guard(&db2);
        assert!(import(&file, &db2, &[]).status.success());
        export(&db2, &[])
    };
    let server = InProcess::start_with(&db, &["--fixtures", &file, "--allow-reset"]);
    let served_at_start = export(&db, &[]);
    let app = |p: &str| format!("{}{p}", server.base);
    let c = http_client();
    let get = |url: String, cred: (&'static str, &'static str)| {
        c.get(url)
            .header("X-Auth-Email", cred.0)
            .header("X-Auth-Key", cred.1)
            .send()
    };
    let owner = ("user@example.com", OWNER_KEY);
    let dev = ("dev@example.com", "0123456789abcdef0123456789abcdef0");
    let r = get(app(&format!("/client/v4/accounts/{ACCOUNT}")), dev)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the group grants the developer Account Settings Read"
    );

    // Change things: the developer leaves the group, a member is added, a token is deleted.
    let del = |url: String| {
        c.delete(url)
            .header("X-Auth-Email", owner.0)
            .header("X-Auth-Key", owner.1)
            .send()
    };
    let r = del(app(&format!(
        "/client/v4/accounts/{ACCOUNT}/iam/user_groups/{GROUP}/members/{MEMBER_DEV}"
    )))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = get(app(&format!("/client/v4/accounts/{ACCOUNT}")), dev)
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the decision follows the change");
    assert_eq!(
        del(app(&format!(
            "/client/v4/accounts/{ACCOUNT}/tokens/{TOKEN}"
        )))
        .await
        .unwrap()
        .status(),
        200
    );
    api_writes(&server.base).await;

    // Reset: refused without an operator's key, done with one.
    let reset = app("/__portcullis/reset");
    let r = c.post(&reset).send().await.unwrap();
    assert_eq!(r.status(), 400, "no credentials");
    let r = c
        .post(&reset)
        .header("X-Auth-Email", dev.0)
        .header("X-Auth-Key", dev.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "not an operator");
    let r = c
        .post(&reset)
        .header("X-Auth-Email", owner.0)
        .header("X-Auth-Key", owner.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"], json!({"objects": 10}), "{body}");
    let ready: Value = c
        .get(app("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready["result"]["policy_index"]["entries"],
        json!(0),
        "{ready}"
    );
    assert_eq!(
        ready["result"]["credential_index"]["entries"],
        json!(0),
        "{ready}"
    );

    // Back to the fixtures: the same document (timestamps aside) and the same decisions.
    let strip = |text: &str| {
        let mut v: Value = serde_json::from_str(text).unwrap();
        strip_times(&mut v);
        v
    };
    assert_eq!(strip(&export(&db, &[])), strip(&fixture_state));
    assert_eq!(
        export(&db, &[]),
        served_at_start,
        "exactly the state served at start, timestamps included"
    );
    let r = get(app(&format!("/client/v4/accounts/{ACCOUNT}")), dev)
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "group membership restored");
    let r = c
        .get(app(&format!("/client/v4/accounts/{ACCOUNT}")))
        .bearer_auth(TOKEN_VALUE)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the deleted token is back");
    drop(server);

    // Without --allow-reset the route does not exist.
    let plain = InProcess::start_with(&db, &["--fixtures", &file]);
    let r = c
        .post(format!("{}/__portcullis/reset", plain.base))
        .header("X-Auth-Email", "user@example.com")
        .header("X-Auth-Key", OWNER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], json!(7000));
}

#[tokio::test]
async fn fixtures_may_extend_the_catalog_and_import_refuses_that() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let extra = "0123456789abcdef0123456789abcdef";
    const ROLE: &str = "3536bcfad5faccb999b47003c79917fb";
    let mut doc = fixtures();
    doc["catalog"] = json!({
        "permission_groups": [{"id": extra, "name": "Widgets Read", "label": "widgets_read",
                               "scopes": ["com.cloudflare.api.account"], "catalog": "account_member"}],
        "roles": [{"id": ROLE, "name": "Fixture Reader", "description": "Reads the account"}],
        "grants": {"Widgets Read": ["com.cloudflare.api.account.widget.read"],
                   "Fixture Reader": ["com.cloudflare.api.account.read"]}
    });
    doc["accounts"][0]["members"][1]["policies"] = json!([{
        "access": "allow", "permission_groups": [extra], "resource_groups": [RG]}]);
    doc["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"email": "reader@example.com",
        "api_key": "00000000000000000000000000000000a"}));
    doc["accounts"][0]["members"]
        .as_array_mut()
        .unwrap()
        .push(json!({
        "id": UNKNOWN_ID, "user": "reader@example.com", "status": "accepted", "roles": [ROLE]}));
    let file = write(dir.path(), "fixtures.json", &doc);
    let out = import(&file, &db, &[]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains(&format!(
            "{file}: /catalog: catalog entries extend a running server's catalog"
        )),
        "{out}"
    );

    let server = InProcess::start_with(&db, &["--fixtures", &file]);
    let r = http_client()
        .get(format!(
            "{}/client/v4/accounts/{ACCOUNT}/iam/permission_groups/{extra}",
            server.base
        ))
        .header("X-Auth-Email", "user@example.com")
        .header("X-Auth-Key", OWNER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"]["name"], json!("Widgets Read"), "{body}");
    let get = |path: String, email: &'static str, key: &'static str| {
        http_client()
            .get(format!(
                "{}/client/v4/accounts/{ACCOUNT}{path}",
                server.base
            ))
            .header("X-Auth-Email", email)
            .header("X-Auth-Key", key)
            .send()
    };
    let r = get(format!("/roles/{ROLE}"), "user@example.com", OWNER_KEY)
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"]["name"], json!("Fixture Reader"), "{body}");
    let reader = ("reader@example.com", "00000000000000000000000000000000a");
    let r = get(String::new(), reader.0, reader.1).await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "the fixture role grants what `grants` names"
    );
    let r = get("/members".into(), reader.0, reader.1).await.unwrap();
    assert_eq!(r.status(), 403, "and nothing else");
    let policies = export(&db, &[]);
    assert!(
        policies.contains(extra),
        "the member's policy names the extra group"
    );
    assert!(!policies.contains("\"catalog\""), "exports hold no catalog");
}

#[test]
fn serve_refuses_fixtures_that_clash_and_reset_without_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url_for(dir.path());
    let _g = db_guard(&db);
    let file = write(dir.path(), "fixtures.json", &fixtures());
    assert!(import(&file, &db, &[]).status.success());
    let mut renamed = fixtures();
    renamed["accounts"][0]["name"] = json!("Renamed");
    let clash = write(dir.path(), "clash.json", &renamed);
    let settings = portcullis::cli::serve_settings([
        "portcullis",
        "serve",
        "--database",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--fixtures",
        &clash,
    ])
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime
        .block_on(portcullis::startup::Application::build(settings))
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(
        err.contains(&format!(
            "{clash}: /accounts/0: account `{ACCOUNT}` is stored already"
        )),
        "{err}"
    );
    let out = cli(&["serve", "--database", &db, "--allow-reset"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses --allow-reset alone: {out}"
    );
}

/// Removes every timestamp (keys ending in `_on`/`_at`, `pending_since`) from a document.
fn strip_times(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !(k.ends_with("_on") || k.ends_with("_at") || k == "pending_since"));
            map.values_mut().for_each(strip_times);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_times),
        _ => {}
    }
}
