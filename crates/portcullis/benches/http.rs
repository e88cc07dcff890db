//! The hot path over HTTP: each request kind at 32 keep-alive connections, next to a static axum
//! handler that returns the same bytes (the ceiling: routing and HTTP with nothing computed).
//!
//! Run: `cargo bench -p portcullis --bench http` (SQLite, a temporary file), or with
//! `PORTCULLIS_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test` (a fresh schema,
//! dropped afterwards). Settings, all optional:
//! - `PORTCULLIS_BENCH_SECONDS` (default 3): each run's length;
//! - `PORTCULLIS_BENCH_CONNECTIONS` (default 32) and `PORTCULLIS_BENCH_WRITE_CONNECTIONS`
//!   (default 16): connections of reads and of writes;
//! - `PORTCULLIS_BENCH_ONLY=verify,user group`: only the request kinds whose names contain one
//!   of those words;
//! - `PORTCULLIS_BENCH_BINARY=target/release/portcullis`: the server is that binary (`portcullis
//!   serve`) as a child process on the bootstrapped database, and the bench also prints its time
//!   from spawn to `listening on`, its idle RSS and its RSS after the runs. Without it the server
//!   is the release build of the library (`Application::build`, as `portcullis serve` runs it)
//!   on its own 2-thread runtime in this process.
//!
//! The load generator (reqwest) and the static handler run in this process, so everything shares
//! the machine's cores. Prints req/s, p50, p99 and the ratio to the static handler for each
//! request kind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use portcullis_testkit::load::{
    drive, env_or, fixed as fixed_body, rss_mib, runtime, BenchDatabase, Served,
};
use reqwest::Method;
use serde_json::{json, Value};

/// One request kind: method, path (under the base URL) and body.
struct Kind {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    /// Writes get fewer connections (the figure for creates is at 16).
    connections: usize,
}

/// A static handler returning `bytes` as JSON, on its own runtime thread; returns its address.
fn static_server(bytes: Bytes) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let router = axum::Router::new().fallback(move || {
                let bytes = bytes.clone();
                async move { ([("content-type", "application/json")], bytes) }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn main() {
    let secs: f64 = env_or("PORTCULLIS_BENCH_SECONDS", 3.0);
    let conns: usize = env_or("PORTCULLIS_BENCH_CONNECTIONS", 32);
    let writers: usize = env_or("PORTCULLIS_BENCH_WRITE_CONNECTIONS", 16);
    let db = BenchDatabase::new("bench_http");
    let database = db.url.clone();
    runtime().block_on(async {
        // Bootstrap through the library, then serve the same database (with
        // PORTCULLIS_BENCH_BINARY: that binary, as a process).
        let mut served = Served::bootstrap(&database, "Bench").await;
        let (boot, addr) = (served.boot.clone(), served.addr);
        if let (Some(child), Some(took)) = (&served.process, served.started_in) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            println!(
                "process: start to listening {:.1} ms; idle RSS {:.1} MiB",
                took.as_secs_f64() * 1000.0,
                rss_mib(child.id())
            );
        }
        let base = format!("http://{addr}/client/v4");
        let acct = format!("{base}/accounts/{}", boot.account_id);
        let auth = format!("Bearer {}", boot.api_token);
        let client = reqwest::Client::new();
        let call = |method: Method, url: String, body: Option<Value>| {
            let mut rb = client.request(method, url).header("authorization", &auth);
            if let Some(b) = body {
                rb = rb.json(&b);
            }
            async move {
                let r = rb.send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                r.json::<Value>().await.unwrap()
            }
        };
        // 200 user groups (list page 2 has a full page), 50 members, one group to read.
        let mut group = String::new();
        for i in 0..200 {
            let v = call(Method::POST, format!("{acct}/iam/user_groups"), Some(json!({"name": format!("group {i:03}")}))).await;
            if i == 0 {
                group = v["result"]["id"].as_str().unwrap().to_owned();
            }
        }
        let mut members = Vec::new();
        for i in 0..50 {
            let v = call(
                Method::POST,
                format!("{acct}/members"),
                Some(json!({"email": format!("m{i}@example.com"), "roles": ["05784afa30c1afe1440e79d9351c7430"], "status": "accepted"})),
            )
            .await;
            members.push(v["result"]["id"].as_str().unwrap().to_owned());
        }
        let checks: Vec<Value> = (0..100)
            .map(|i| json!({"permission": if i % 2 == 0 { "com.cloudflare.api.account.member.read" } else { "#organization:read" }}))
            .collect();
        let member_ids: Vec<Value> = members.iter().take(10).map(|m| json!({"id": m})).collect();
        let kinds = [
            Kind { name: "GET /healthz", method: Method::GET, path: format!("http://{addr}/healthz"), body: None, connections: conns },
            Kind { name: "tokens/verify", method: Method::GET, path: format!("{acct}/tokens/verify"), body: None, connections: conns },
            Kind { name: "GET user group", method: Method::GET, path: format!("{acct}/iam/user_groups/{group}"), body: None, connections: conns },
            Kind { name: "user-group list page 2", method: Method::GET, path: format!("{acct}/iam/user_groups?page=2&per_page=50"), body: None, connections: conns },
            Kind { name: "permission-group list", method: Method::GET, path: format!("{acct}/iam/permission_groups?per_page=20"), body: None, connections: conns },
            Kind { name: "POST authorize (100 checks)", method: Method::POST, path: format!("{acct}/iam/authorize"), body: Some(json!({"principal": {"member_id": boot.member_id.as_str()}, "checks": checks})), connections: conns },
            Kind { name: "user-group create", method: Method::POST, path: format!("{acct}/iam/user_groups"), body: Some(json!({"name": "bench"})), connections: writers },
            Kind { name: "member add (10 ids, already in)", method: Method::POST, path: format!("{acct}/iam/user_groups/{group}/members"), body: Some(json!(member_ids)), connections: writers },
        ];
        println!(
            "backend: {}; {secs} s per run; static handler = the same response bytes",
            if db.postgres { "PostgreSQL" } else { "SQLite" }
        );
        println!("| request | conns | req/s | p50 (ms) | p99 (ms) | errors | static req/s | ratio |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        let only: Vec<String> = std::env::var("PORTCULLIS_BENCH_ONLY")
            .map(|s| s.split(',').map(|w| w.trim().to_owned()).collect())
            .unwrap_or_default();
        for k in kinds
            .iter()
            .filter(|k| only.is_empty() || only.iter().any(|w| k.name.contains(w.as_str())))
        {
            // The static handler answers with the bytes this request gets.
            let mut rb = client.request(k.method.clone(), &k.path).header("authorization", &auth);
            if let Some(b) = &k.body {
                let mut b = b.clone();
                if b.get("name").is_some() {
                    b["name"] = json!("static sample");
                }
                rb = rb.json(&b);
            }
            let sample = rb.send().await.unwrap().bytes().await.unwrap();
            let fixed = static_server(sample);
            let ceiling = drive(&format!("http://{fixed}/"), "", &Method::GET, &fixed_body(None), k.connections, secs).await;
            let r = drive(&k.path, &auth, &k.method, &fixed_body(k.body.clone()), k.connections, secs).await;
            let rps = r.requests as f64 / r.seconds;
            let static_rps = ceiling.requests as f64 / ceiling.seconds;
            println!(
                "| {} | {} | {:.0} | {:.3} | {:.3} | {} | {:.0} | {:.0}% |",
                k.name,
                k.connections,
                rps,
                r.p50_ms,
                r.p99_ms,
                r.errors,
                static_rps,
                100.0 * rps / static_rps
            );
        }
        if let Some(child) = &served.process {
            println!("process: RSS after the runs {:.1} MiB", rss_mib(child.id()));
        }
        served.stop();
        db.drop_schema().await;
    });
}
