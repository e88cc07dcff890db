//! Groups benchmark: fills one account with N user groups and N members (N = 1,000 and 100,000
//! by default; `PORTCULLIS_BENCH_SIZES=1000,100000`), then measures over HTTP on loopback:
//! - `GET user group` (random groups),
//! - a `list` page near the start and one near the end (per_page 100),
//! - `members.create` of 100 ids into a fresh group.
//!
//! Run: `cargo bench -p portcullis --bench groups`. Reports p50/p99 in milliseconds.
//! On PostgreSQL: `PORTCULLIS_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo
//! bench -p portcullis --bench groups` (each size runs in a fresh schema, dropped afterwards).
//! Rows are inserted through the store (fast); every measured call goes through the HTTP stack.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_core::catalog::Catalog;
use portcullis_core::ids::{MemberId, UserGroupId, UserId};
use portcullis_core::model::{Grants, MemberStatus, UserGroup};
use portcullis_core::service::Portcullis;
use portcullis_core::store::{NewMember, Store};
use portcullis_core::time::Timestamp;
use portcullis_store_postgres::PostgresStore;
use portcullis_store_sqlite::SqliteStore;
use serde_json::{json, Value};

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx].as_secs_f64() * 1000.0
}

fn report(name: &str, n: usize, mut samples: Vec<Duration>) {
    let p50 = percentile(&mut samples, 0.50);
    let p99 = percentile(&mut samples, 0.99);
    println!(
        "| {n:>7} | {name:<34} | {:>5} | {p50:>8.3} | {p99:>8.3} |",
        samples.len()
    );
}

async fn run(size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let pg = std::env::var("PORTCULLIS_BENCH_POSTGRES_URL").ok();
    let schema = format!("bench_{size}_{}", std::process::id());
    let store: Arc<dyn Store> = match &pg {
        Some(url) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
            Arc::new(PostgresStore::open(&scoped).await.unwrap())
        }
        None => {
            let url = format!("sqlite://{}/bench.db", dir.path().display());
            Arc::new(SqliteStore::open(&url).await.unwrap())
        }
    };
    let app = Portcullis::new(store.clone(), Arc::new(Catalog::builtin().unwrap()));
    let boot = app
        .bootstrap("Bench", "bench@example.com", false)
        .await
        .unwrap();
    let account = portcullis_core::ids::AccountId::parse(boot.account_id.as_str()).unwrap();

    let fill = Instant::now();
    let mut member_ids = Vec::with_capacity(size);
    for i in 0..size {
        let m = NewMember {
            id: MemberId::random(),
            new_user_id: UserId::random(),
            email: format!("user{i:07}@example.com"),
            status: MemberStatus::Accepted,
            grants: Grants::Roles(vec!["05784afa30c1afe1440e79d9351c7430".into()]),
            new_resource_groups: Vec::new(),
            now: Timestamp::now(),
        };
        store
            .create_member(
                &account,
                &m,
                &portcullis_core::audit::AuditContext::cli("test"),
            )
            .await
            .unwrap();
        member_ids.push(m.id);
    }
    let mut group_ids = Vec::with_capacity(size);
    for i in 0..size {
        let now = Timestamp::now();
        let g = UserGroup {
            id: UserGroupId::random(),
            account_id: account.clone(),
            name: format!("group {i:07}"),
            policies: Vec::new(),
            created_on: now,
            modified_on: now,
        };
        store
            .create_user_group(&g, &[], &portcullis_core::audit::AuditContext::cli("test"))
            .await
            .unwrap();
        group_ids.push(g.id);
    }
    eprintln!(
        "filled {size} members and {size} groups in {:.1?}",
        fill.elapsed()
    );

    let router = portcullis_api::router(portcullis_api::AppState::new(app));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let client = reqwest::Client::new();
    let base = format!("http://{addr}/client/v4/accounts/{}", boot.account_id);
    let auth = format!("Bearer {}", boot.api_token);
    let get = |url: String| {
        let c = client.clone();
        let a = auth.clone();
        async move {
            let t = Instant::now();
            let r = c.get(url).header("authorization", a).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            let _: Value = r.json().await.unwrap();
            t.elapsed()
        }
    };
    // Warm up.
    for _ in 0..20 {
        get(format!("{base}/iam/user_groups/{}", group_ids[0])).await;
    }

    let mut s = Vec::new();
    for i in 0..300 {
        let id = &group_ids[(i * 7919) % size];
        s.push(get(format!("{base}/iam/user_groups/{id}")).await);
    }
    report("GET user group", size, s);

    let pages = size.div_ceil(100);
    let mut s = Vec::new();
    for _ in 0..100 {
        s.push(get(format!("{base}/iam/user_groups?page=2&per_page=100")).await);
    }
    report("list page 2 (per_page 100)", size, s);
    let mut s = Vec::new();
    for _ in 0..100 {
        s.push(
            get(format!(
                "{base}/iam/user_groups?page={}&per_page=100",
                pages.max(2) - 1
            ))
            .await,
        );
    }
    report(
        &format!("list page {} (near the end)", pages.max(2) - 1),
        size,
        s,
    );
    let mut s = Vec::new();
    for _ in 0..100 {
        s.push(
            get(format!(
                "{base}/iam/user_groups/{}/members?page=1&per_page=100",
                group_ids[1]
            ))
            .await,
        );
    }
    report("list group members page 1", size, s);

    let mut s = Vec::new();
    for round in 0..50 {
        let group = &group_ids[(round * 31) % size];
        let body: Vec<Value> = (0..100)
            .map(|k| json!({"id": member_ids[(round * 100 + k) % size].as_str()}))
            .collect();
        let t = Instant::now();
        let r = client
            .post(format!("{base}/iam/user_groups/{group}/members"))
            .header("authorization", &auth)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let v: Value = r.json().await.unwrap();
        s.push(t.elapsed());
        assert_eq!(v["result"].as_array().map(Vec::len), Some(100.min(size)));
    }
    report("members.create (100 ids)", size, s);
    if let Some(url) = &pg {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(&format!("drop schema {schema} cascade"))
            .execute(&pool)
            .await
            .unwrap();
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PORTCULLIS_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = if std::env::var("PORTCULLIS_BENCH_POSTGRES_URL").is_ok() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("backend: {backend}");
    println!("|    rows | operation                          | calls | p50 (ms) | p99 (ms) |");
    println!("|--------:|------------------------------------|------:|---------:|---------:|");
    for size in sizes {
        rt.block_on(run(size));
    }
}
