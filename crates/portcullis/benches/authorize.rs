//! HTTP decision throughput: `POST /iam/authorize` for a member in 10 user groups holding 100
//! policies, 100 checks per request, from 4 concurrent clients for 10 s on loopback.
//!
//! Run: `cargo bench -p portcullis --bench authorize`. Reports checks/s, request latency and the
//! policy index's hits and misses during the measured run (a miss is a load from the database).
//! On PostgreSQL: `PORTCULLIS_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo
//! bench -p portcullis --bench authorize` (a fresh schema, dropped afterwards; the store listens
//! for other replicas' changes as a server does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_core::catalog::Catalog;
use portcullis_core::service::Portcullis;
use portcullis_core::store::Store;
use portcullis_store_postgres::PostgresStore;
use portcullis_store_sqlite::SqliteStore;
use serde_json::{json, Value};

const KEYS: [&str; 8] = [
    "com.cloudflare.api.account.member.read",
    "com.cloudflare.api.account.member.create",
    "com.cloudflare.api.iam.resource-group.list",
    "com.cloudflare.api.iam.resource-group.delete",
    "#organization:read",
    "com.cloudflare.api.account.token.create",
    "#sso_connector:read",
    "com.cloudflare.api.iam.permission-group.list",
];

async fn post(client: &reqwest::Client, url: &str, auth: &str, body: &Value) -> Value {
    let r = client
        .post(url)
        .header("authorization", auth)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pg = std::env::var("PORTCULLIS_BENCH_POSTGRES_URL").ok();
        let schema = format!("bench_authorize_{}", std::process::id());
        let store: Arc<dyn Store> = match &pg {
            Some(url) => {
                let sep = if url.contains('?') { '&' } else { '?' };
                let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
                let store = PostgresStore::open(&scoped).await.unwrap();
                drop(store.hear_changes());
                while !store.revisions().is_live() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Arc::new(store)
            }
            None => {
                let url = format!("sqlite://{}/bench.db", dir.path().display());
                Arc::new(SqliteStore::open(&url).await.unwrap())
            }
        };
        let app = Portcullis::new(store, Arc::new(Catalog::builtin().unwrap()));
        let index_of = app.clone();
        let boot = app.bootstrap("Bench", "bench@example.com", false).await.unwrap();
        let router = portcullis_api::router(portcullis_api::AppState::new(app));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        let client = reqwest::Client::new();
        let base = format!("http://{addr}/client/v4/accounts/{}", boot.account_id);
        let auth = format!("Bearer {}", boot.api_token);
        // Resource groups: the whole account and 4 zone sets.
        let mut rgs = Vec::new();
        for i in 0..5 {
            let objects = if i == 0 { json!([{"key": "*"}]) } else { json!([{"key": format!("com.cloudflare.api.account.zone.{i:032x}")}]) };
            let v = post(&client, &format!("{base}/iam/resource_groups"), &auth, &json!({"name": format!("rg{i}"), "scope": {"key": format!("com.cloudflare.api.account.{}", boot.account_id), "objects": objects}})).await;
            rgs.push(v["result"]["id"].as_str().unwrap().to_owned());
        }
        let member = post(&client, &format!("{base}/members"), &auth, &json!({"email": "m@example.com", "status": "accepted", "roles": ["f2b20eaa1a5d4af42b53ac16238c99c7"]})).await;
        let member_id = member["result"]["id"].as_str().unwrap().to_owned();
        // 10 groups × 10 policies; token groups and local groups, allow and deny.
        let groups = ["c8fed203ed3043cba015a93ad1616f1f", "1d80f6f165ea47f2b55d4a393fd697de", "c1fde68c7bcc44588cbb6ddbc16d6480", "5bc3f8b21c554832afc660159ab75fa4"];
        for g in 0..10 {
            let policies: Vec<Value> = (0..10)
                .map(|p| {
                    let n = g * 10 + p;
                    let pg = groups[n % groups.len()];
                    let zone_group = pg == "c8fed203ed3043cba015a93ad1616f1f";
                    let rg = if zone_group { &rgs[1 + n % 4] } else { &rgs[0] };
                    json!({"access": if n % 9 == 4 { "deny" } else { "allow" }, "permission_groups": [{"id": pg}], "resource_groups": [{"id": rg}]})
                })
                .collect();
            let v = post(&client, &format!("{base}/iam/user_groups"), &auth, &json!({"name": format!("g{g}"), "policies": policies})).await;
            let gid = v["result"]["id"].as_str().unwrap().to_owned();
            post(&client, &format!("{base}/iam/user_groups/{gid}/members"), &auth, &json!([{"id": member_id}])).await;
        }
        let checks: Vec<Value> = (0..100)
            .map(|i| {
                let resource = if i % 3 == 0 { format!("com.cloudflare.api.account.zone.{:032x}", 1 + i % 4) } else { format!("com.cloudflare.api.account.{}", boot.account_id) };
                json!({"permission": KEYS[i % KEYS.len()], "resource": resource})
            })
            .collect();
        let body = json!({"principal": {"member_id": member_id}, "checks": checks});
        let url = format!("{base}/iam/authorize");
        for _ in 0..50 {
            post(&client, &url, &auth, &body).await;
        }
        let duration = Duration::from_secs(10);
        let before = index_of.index().stats();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (client, url, auth, body) = (client.clone(), url.clone(), auth.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while started.elapsed() < duration {
                    let t = Instant::now();
                    let v = post(&client, &url, &auth, &body).await;
                    lat.push(t.elapsed());
                    assert_eq!(v["result"].as_array().map(Vec::len), Some(100));
                }
                lat
            }));
        }
        let mut lat: Vec<Duration> = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let secs = started.elapsed().as_secs_f64();
        let after = index_of.index().stats();
        lat.sort();
        let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
        let backend = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
        println!("{backend}: {} requests in {secs:.1} s, 100 checks each, 4 clients", lat.len());
        println!(
            "policy index during the run: {} hits, {} misses (loads from the database)",
            after.hits - before.hits,
            after.misses - before.misses
        );
        println!("| checks/s | requests/s | p50 (ms) | p99 (ms) |");
        println!("|---------:|-----------:|---------:|---------:|");
        println!("| {:>8.0} | {:>10.0} | {:>8.3} | {:>8.3} |", lat.len() as f64 * 100.0 / secs, lat.len() as f64 / secs, q(0.5), q(0.99));
        if let Some(url) = &pg {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(&format!("drop schema {schema} cascade")).execute(&pool).await.unwrap();
        }
    });
}
