//! `POST /__portcullis/reset`: how long returning a server to its fixtures takes, the cost a
//! test suite pays before every test.
//!
//! A fixtures file of about `PORTCULLIS_BENCH_OBJECTS` objects (default 300: users with keys,
//! members half on roles and half on policies, resource groups, user groups of 2 policies and 10
//! members each, account and user tokens), the server in this process with `--fixtures
//! --allow-reset`, then `PORTCULLIS_BENCH_RESETS` resets (default 200) one after another over one
//! keep-alive connection, each after a write (so there is something to undo). Reports the
//! import at start and the resets' mean, median, 95th percentile and maximum.
//!
//! Run: `cargo bench -p portcullis --bench reset` (SQLite, temporary file); with
//! `PORTCULLIS_BENCH_POSTGRES_URL=…`, PostgreSQL (fresh schema).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use portcullis::config::Settings;
use portcullis_testkit::load::{env_or, portcullis_server, runtime, BenchDatabase};
use serde_json::{json, Value};

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const KEY: &str = "144c9defac04969c7bfad8efaa8ea194";
const ZONE_READ: &str = "c8fed203ed3043cba015a93ad1616f1f";
const SETTINGS_READ: &str = "c1fde68c7bcc44588cbb6ddbc16d6480";

fn id(kind: u32, n: usize) -> String {
    format!("{kind:08x}{n:024x}")
}

/// About `objects` objects: a fifth each users+members, a tenth resource groups, a tenth user
/// groups, the rest tokens.
fn fixtures(objects: usize) -> (Value, usize) {
    let people = (objects / 5).max(2);
    let rgs = (objects / 10).max(1);
    let groups = (objects / 10).max(1);
    let tokens = objects.saturating_sub(2 * people + rgs + groups + 1).max(1);
    let scope = format!("com.cloudflare.api.account.{ACCOUNT}");
    let mut users = vec![json!({"email": "user@example.com", "operator": true, "api_key": KEY})];
    let mut members = vec![json!({"id": id(1, 0), "user": "user@example.com",
                                  "status": "accepted", "roles": ["33666b9c79b9a5273fc7344ff42f953d"]})];
    for n in 1..people {
        let email = format!("u{n}@example.com");
        users.push(json!({"email": email, "api_key": format!("{:032x}", n + 1)}));
        members.push(if n % 2 == 0 {
            json!({"id": id(1, n), "user": email, "status": "accepted",
                   "roles": ["05784afa30c1afe1440e79d9351c7430"]})
        } else {
            json!({"id": id(1, n), "user": email, "status": "accepted",
                   "policies": [{"access": "allow", "permission_groups": [ZONE_READ],
                                 "resource_groups": [id(2, n % rgs)]}]})
        });
    }
    let resource_groups: Vec<Value> = (0..rgs)
        .map(|n| {
            json!({"id": id(2, n), "name": format!("rg{n}"),
                        "scope": {"key": scope, "objects": ["*"]}})
        })
        .collect();
    let user_groups: Vec<Value> = (0..groups)
        .map(|n| json!({"id": id(3, n), "name": format!("group {n}"),
            "policies": [
                {"access": "allow", "permission_groups": [SETTINGS_READ], "resource_groups": [id(2, n % rgs)]},
                {"access": "deny", "permission_groups": [ZONE_READ], "resource_groups": [id(2, (n + 1) % rgs)]}
            ],
            "members": (0..10.min(people)).map(|k| json!({"member": id(1, (n + k) % people)})).collect::<Vec<_>>()}))
        .collect();
    let account_tokens: Vec<Value> = (0..tokens)
        .map(|n| {
            json!({"id": id(4, n), "name": format!("token {n}"),
            "value": format!("{:0>40}", format!("t{n}")),
            "policies": [{"effect": "allow", "permission_groups": [SETTINGS_READ],
                          "resources": {scope.clone(): "*"}}]})
        })
        .collect();
    let total = people * 2 + rgs + groups + tokens + 1;
    (
        json!({"portcullis_state": 1, "users": users, "accounts": [{
            "id": ACCOUNT, "name": "Bench", "resource_groups": resource_groups,
            "members": members, "user_groups": user_groups, "tokens": account_tokens}]}),
        total,
    )
}

fn main() {
    let objects: usize = env_or("PORTCULLIS_BENCH_OBJECTS", 300);
    let resets: usize = env_or("PORTCULLIS_BENCH_RESETS", 200);
    let db = BenchDatabase::new("bench_reset");
    let dir = tempfile::tempdir().unwrap();
    let (doc, total) = fixtures(objects);
    let file = dir.path().join("fixtures.json");
    std::fs::write(&file, doc.to_string()).unwrap();

    let mut settings = Settings::for_database(db.url.clone());
    settings.fixtures = Some(file);
    settings.allow_reset = true;
    settings.replace = true;
    let started = Instant::now();
    let addr = portcullis_server(settings);
    let boot = started.elapsed();

    runtime().block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        let reset = format!("http://{addr}/__portcullis/reset");
        let member = format!("http://{addr}/client/v4/accounts/{ACCOUNT}/members/{}", id(1, 1));
        let mut times: Vec<Duration> = Vec::with_capacity(resets);
        for _ in 0..resets {
            let r = client
                .delete(&member)
                .header("X-Auth-Email", "user@example.com")
                .header("X-Auth-Key", KEY)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            let t = Instant::now();
            let r = client
                .post(&reset)
                .header("X-Auth-Email", "user@example.com")
                .header("X-Auth-Key", KEY)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            times.push(t.elapsed());
            assert!(status.is_success(), "{status}: {body}");
            assert_eq!(body["result"]["objects"], json!(total));
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
        println!(
            "reset | {} | {total} objects | start (import) {:.1} ms | {resets} resets: mean {:.2} ms, median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            if db.postgres { "PostgreSQL" } else { "SQLite" },
            ms(boot),
            mean,
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100]),
            ms(times[times.len() - 1]),
        );
        db.drop_schema().await;
    });
}
