//! A large, busy account: decisions while policies change, and the memory a warm member costs.
//!
//! One account with `PORTCULLIS_BENCH_MEMBERS` members (default 5,000) and
//! `PORTCULLIS_BENCH_GROUPS` user groups (default 50) of 2 policies each, every member in 3 groups. `POST /iam/authorize` with 2 checks for a random
//! member, from 16 keep-alive connections, for `PORTCULLIS_BENCH_SECONDS` (default 5) per run,
//! while a writer changes one user group's policies 0, 1, 10 and 100 times a second (the table
//! shows the rate it reached).
//!
//! Run: `cargo bench -p portcullis --bench busy` (SQLite, temporary file). With
//! `PORTCULLIS_BENCH_BINARY=target/release/portcullis` the server is that binary, and the bench
//! also reports its RSS before and after every member was decided once (the index warm), and
//! the difference per member. With `PORTCULLIS_BENCH_POSTGRES_URL=…`, PostgreSQL (fresh schema).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_testkit::load::{
    bench_group_policies, drive, env_or, rss_anon_mib, rss_mib, runtime, BenchDatabase, Bodies,
    Served, BENCH_MEMBER_ROLE,
};
use reqwest::Method;
use serde_json::{json, Value};

fn main() {
    let secs: f64 = env_or("PORTCULLIS_BENCH_SECONDS", 5.0);
    let n_members: usize = env_or("PORTCULLIS_BENCH_MEMBERS", 5_000);
    let n_groups: usize = env_or("PORTCULLIS_BENCH_GROUPS", 50);
    let db = BenchDatabase::new("bench_busy");
    let database = db.url.clone();
    runtime().block_on(async {
        let mut served = Served::bootstrap(&database, "Busy").await;
        let (boot, addr) = (served.boot.clone(), served.addr);
        let process = served.process.as_ref();
        let base = format!("http://{addr}/client/v4/accounts/{}", boot.account_id);
        let auth = format!("Bearer {}", boot.api_token);
        let client = reqwest::Client::new();
        let call = |method: Method, url: String, body: Value| {
            let rb = client
                .request(method, url)
                .header("authorization", &auth)
                .json(&body);
            async move {
                let r = rb.send().await.unwrap();
                let status = r.status();
                let v: Value = r.json().await.unwrap();
                assert!(status.is_success(), "{status}: {v}");
                v
            }
        };

        let started = Instant::now();
        let rg = call(Method::POST, format!("{base}/iam/resource_groups"), json!({"name": "All", "scope": {"key": format!("com.cloudflare.api.account.{}", boot.account_id), "objects": [{"key": "*"}]}})).await["result"]["id"].as_str().unwrap().to_owned();
        let mut groups = Vec::new();
        for g in 0..n_groups {
            let v = call(Method::POST, format!("{base}/iam/user_groups"), json!({"name": format!("g{g}"), "policies": bench_group_policies(g, &rg, false)})).await;
            groups.push(v["result"]["id"].as_str().unwrap().to_owned());
        }
        let mut members = Vec::new();
        for i in 0..n_members {
            let v = call(Method::POST, format!("{base}/members"), json!({"email": format!("m{i}@example.com"), "status": "accepted", "roles": [BENCH_MEMBER_ROLE]})).await;
            members.push(v["result"]["id"].as_str().unwrap().to_owned());
        }
        // Member i is in 3 groups: i, i + a third and i + two thirds of the groups, modulo
        // their number (17 and 34 for 50).
        let step = n_groups / 3 + 1;
        let mut in_group: Vec<Vec<Value>> = vec![Vec::new(); n_groups];
        for (i, m) in members.iter().enumerate() {
            for o in [0, step, 2 * step] {
                in_group[(i + o) % n_groups].push(json!({"id": m}));
            }
        }
        for (gid, ids) in groups.iter().zip(&in_group) {
            for chunk in ids.chunks(100) {
                call(Method::POST, format!("{base}/iam/user_groups/{gid}/members"), json!(chunk)).await;
            }
        }
        println!(
            "one account: {n_members} members, {n_groups} user groups of 2 policies, each member in 3; filled in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        let url = format!("{base}/iam/authorize");
        let checks = json!([
            {"permission": "com.cloudflare.api.account.member.read"},
            {"permission": "#organization:read"},
        ]);
        let body_of = |i: usize| json!({"principal": {"member_id": members[i % members.len()]}, "checks": checks});
        let readyz = format!("http://{addr}/readyz");
        let index = || async {
            let v: Value = client.get(&readyz).send().await.unwrap().json().await.unwrap();
            v["result"]["policy_index"].clone()
        };
        let index_bytes = || async { index().await["bytes"].as_f64().unwrap_or(f64::NAN) };
        let bytes_cold = index_bytes().await;
        let rss_cold = process.map(|c| rss_anon_mib(c.id()));
        let warm_started = Instant::now();
        for i in 0..members.len() {
            call(Method::POST, url.clone(), body_of(i)).await;
        }
        let warm = warm_started.elapsed();
        let per_member = |delta: f64| delta / members.len() as f64;
        println!(
            "warming (every member decided once): {:.1} s; policy index {:.0} → {:.0} KiB (its own estimate): {:.2} KiB per warm member",
            warm.as_secs_f64(),
            bytes_cold / 1024.0,
            index_bytes().await / 1024.0,
            per_member(index_bytes().await - bytes_cold) / 1024.0
        );
        if let (Some(cold), Some(child)) = (rss_cold, process) {
            let hot = rss_anon_mib(child.id());
            println!(
                "anonymous RSS {cold:.1} → {hot:.1} MiB: {:.2} KiB per warm member (RSS with the mapped database: {:.1} MiB)",
                per_member(hot - cold) * 1024.0,
                rss_mib(child.id())
            );
        }

        let all: Vec<Value> = (0..members.len()).map(body_of).collect();
        let all = Arc::new(all);
        let bodies: Bodies = {
            let all = Arc::clone(&all);
            Arc::new(move |task, n| {
                let i = (task * 7919 + n as usize * 104_729) % all.len();
                Some(all[i].clone())
            })
        };
        println!("| policy writes/s (reached) | req/s | p50 (ms) | p99 (ms) | errors | throughput vs 0 | p99 vs 0 |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        let mut baseline: Option<(f64, f64)> = None;
        let lookups = || async {
            let i = index().await;
            (i["hits"].as_u64().unwrap_or(0), i["misses"].as_u64().unwrap_or(0))
        };
        let mut index_runs = Vec::new();
        for rate in [0u32, 1, 10, 100] {
            let before = lookups().await;
            let stop = Arc::new(AtomicBool::new(false));
            let writer = (rate > 0).then(|| {
                let (stop, client, auth, base, rg, groups) = (Arc::clone(&stop), client.clone(), auth.clone(), base.clone(), rg.clone(), groups.clone());
                tokio::spawn(async move {
                    let mut n = 0usize;
                    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    while !stop.load(Ordering::Relaxed) {
                        tick.tick().await;
                        let g = (n * 31) % groups.len();
                        let r = client
                            .put(format!("{base}/iam/user_groups/{}", groups[g]))
                            .header("authorization", &auth)
                            .json(&json!({"policies": bench_group_policies(g, &rg, n.is_multiple_of(2))}))
                            .send()
                            .await
                            .unwrap();
                        assert!(r.status().is_success(), "{}", r.status());
                        n += 1;
                    }
                    n
                })
            });
            let r = drive(&url, &auth, &Method::POST, &bodies, 16, secs).await;
            stop.store(true, Ordering::Relaxed);
            let written = match writer {
                Some(w) => w.await.unwrap(),
                None => 0,
            };
            let after = lookups().await;
            index_runs.push(format!(
                "{rate}/s: {} hits, {} misses",
                after.0 - before.0,
                after.1 - before.1
            ));
            let rps = r.requests as f64 / r.seconds;
            let (base_rps, base_p99) = *baseline.get_or_insert((rps, r.p99_ms));
            println!(
                "| {rate} ({:.1}) | {rps:.0} | {:.3} | {:.3} | {} | {:.0}% | {:.2}x |",
                written as f64 / r.seconds,
                r.p50_ms,
                r.p99_ms,
                r.errors,
                100.0 * rps / base_rps,
                r.p99_ms / base_p99
            );
        }
        println!("policy index lookups per run: {}", index_runs.join("; "));
        if let Some(child) = process {
            println!("RSS after the runs: {:.1} MiB", rss_mib(child.id()));
        }
        served.stop();
        db.drop_schema().await;
    });
}
