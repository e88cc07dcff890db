//! The SQLite read path, driver against driver: how many times a second 32 concurrent tasks on
//! a 2-thread tokio runtime (the server's shape) can read one user group with its policies, the
//! query `GET …/user_groups/{id}` runs, through
//!
//! 1. `sqlx` as Portcullis uses it (`SqliteStore::get_user_group`: a pool of read connections,
//!    each with its worker thread, rows sent back over a channel);
//! 2. `rusqlite` on tokio's blocking threads, a pool of the same number of connections (one
//!    hop to a blocking thread per query, the whole query run there);
//! 3. `rusqlite` called inline on the runtime threads (no hop at all: the floor, not a design,
//!    since it blocks the runtime while SQLite works).
//!
//! Run: `cargo bench -p bench-sqlite-driver` (`PORTCULLIS_BENCH_SECONDS`, default 3, per run).
//! Prints reads/s, p50 and p99 for each, and checks that all three read the same group.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_core::ids::{AccountId, UserGroupId};
use portcullis_core::store::UserGroupStore;
use portcullis_store_sqlite::{SqliteStore, READERS, USER_GROUP_WITH_POLICIES as QUERY};

const TASKS: usize = 32;

/// Reads the group with rusqlite: its name and how many policy rows came back.
fn read(conn: &rusqlite::Connection, group: &str, account: &str) -> (String, usize) {
    let mut stmt = conn.prepare_cached(QUERY).unwrap();
    let mut rows = stmt.query([group, account]).unwrap();
    let mut name = String::new();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap() {
        name = row.get::<_, String>(2).unwrap();
        let _policy: Option<String> = row.get(5).unwrap();
        let _pg: Option<String> = row.get(8).unwrap();
        n += 1;
    }
    (name, n)
}

struct Run {
    reads: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `one` from [`TASKS`] tasks for `secs`.
async fn drive<F, Fut>(secs: f64, one: F) -> Run
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let one = one.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                one().await;
                samples.push(t.elapsed());
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    Run {
        reads: all.len(),
        seconds,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

fn print(name: &str, r: &Run) {
    println!(
        "| {name} | {:.0} | {:.3} | {:.3} |",
        r.reads as f64 / r.seconds,
        r.p50_ms,
        r.p99_ms
    );
}

fn main() {
    let secs: f64 = std::env::var("PORTCULLIS_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("read.db");
    let url = format!("sqlite://{}", path.display());
    let (account, group) = (AccountId::random(), UserGroupId::random());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The schema from the migrations, then one account and one group with two policies.
        let store = Arc::new(SqliteStore::open(&url).await.unwrap());
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "insert into account (id, name, type, created_at, updated_at) values ('{account}', 'Bench', 'standard', 0, 0);
                 insert into user_group (id, account_id, name, name_folded, created_at, updated_at) values ('{group}', '{account}', 'Readers', 'readers', 0, 0);
                 insert into policy (id, account_id, user_group_id, position, access, created_at) values ('{a}', '{account}', '{group}', 0, 'allow', 0), ('{b}', '{account}', '{group}', 1, 'deny', 0);
                 insert into policy_permission_group (policy_id, position, permission_group_id) values ('{a}', 0, 'c8fed203ed3043cba015a93ad1616f1f'), ('{b}', 0, '82e64a83756745bbbb1c9c2701bf816b');",
                a = UserGroupId::random(),
                b = UserGroupId::random(),
            ))
            .unwrap();
        }
        let pool: Arc<Vec<Mutex<rusqlite::Connection>>> = Arc::new(
            (0..READERS)
                .map(|_| Mutex::new(rusqlite::Connection::open(&path).unwrap()))
                .collect(),
        );

        // The three agree on what they read.
        let via_sqlx = store.get_user_group(&account, &group).await.unwrap().unwrap();
        let (name, rows) = read(&pool[0].lock().unwrap(), group.as_str(), account.as_str());
        assert_eq!(via_sqlx.name, name);
        assert_eq!(via_sqlx.policies.len(), rows);

        println!("{TASKS} tasks on 2 runtime threads, {READERS} connections, {secs} s per run");
        println!("| driver | reads/s | p50 (ms) | p99 (ms) |");
        println!("|---|---:|---:|---:|");
        let (a, g) = (account.clone(), group.clone());
        let s = Arc::clone(&store);
        let r = drive(secs, move || {
            let (s, a, g) = (Arc::clone(&s), a.clone(), g.clone());
            async move {
                s.get_user_group(&a, &g).await.unwrap().unwrap();
            }
        })
        .await;
        print("sqlx (as Portcullis uses it)", &r);

        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (a, g) = (account.to_string(), group.to_string());
        let p = Arc::clone(&pool);
        let r = drive(secs, move || {
            let (p, a, g, next) = (Arc::clone(&p), a.clone(), g.clone(), Arc::clone(&next));
            async move {
                tokio::task::spawn_blocking(move || {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % p.len();
                    let conn = p[i].lock().unwrap();
                    read(&conn, &g, &a)
                })
                .await
                .unwrap();
            }
        })
        .await;
        print("rusqlite on blocking threads", &r);

        let (a, g) = (account.to_string(), group.to_string());
        let p = Arc::clone(&pool);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let r = drive(secs, move || {
            let (p, a, g, next) = (Arc::clone(&p), a.clone(), g.clone(), Arc::clone(&next));
            async move {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % p.len();
                let conn = p[i].lock().unwrap();
                read(&conn, &g, &a);
            }
        })
        .await;
        print("rusqlite inline (floor; blocks the runtime)", &r);
    });
}
