//! Many accounts on one PostgreSQL, served by several replicas: decisions while policies change,
//! memory per replica, time to warm, and the load on PostgreSQL.
//!
//! `PORTCULLIS_BENCH_ACCOUNTS` accounts (default 10,000) of `PORTCULLIS_BENCH_ACCOUNT_MEMBERS`
//! members each (default 100: 1,000,000 members), each account with
//! `PORTCULLIS_BENCH_ACCOUNT_GROUPS` user groups (default 10) of 2 policies, every member in 3
//! groups and holding the role "Minimal Account Access". The rows are written with SQL (the API
//! would take most of an hour); the replicas start afterwards. For each replica count in
//! `PORTCULLIS_BENCH_REPLICAS` (default `2,4`), that many `portcullis serve` processes share the
//! database; each account is served by one replica (account-affine routing, as a load balancer
//! hashing the account in the path would), so each replica holds its share of the members.
//! Warming decides every member once; then, after one unmeasured run, `POST /iam/authorize` (2
//! checks, a random member of a random account) from 32 connections for
//! `PORTCULLIS_BENCH_SECONDS` (default 10) per run,
//! while a writer changes a random user group's policies 0, 1, 10 and 100 times a second
//! through the replica of its account (the others hear it through PostgreSQL).
//!
//! Run:
//! `PORTCULLIS_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
//! PORTCULLIS_BENCH_BINARY=$PWD/target/release/portcullis cargo bench -p portcullis --bench scale`.
//! `PORTCULLIS_BENCH_CACHE_MB` (default 1024) is each replica's `--cache-memory-mb`. Without
//! the two variables the bench says so and measures nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_testkit::load::{
    bench_group_policies, bootstrap, drive_counted, drive_requests, env_or, portcullis_process,
    rss_anon_mib, runtime, BenchDatabase, Requests, BENCH_MEMBER_ROLE, BENCH_PERMISSION_GROUPS,
};
use serde_json::{json, Value};

/// The `md5(...)` ids the SQL below gave, in order: `kind || a` for each account, or
/// `kind || a || '-' || i` for each `i` in `from..from + per` of each account.
async fn ids(
    pool: &sqlx::PgPool,
    kind: &str,
    accounts: usize,
    per: Option<(usize, usize)>,
) -> Vec<String> {
    let sql = match per {
        None => format!("select md5('{kind}'||a) from generate_series(1, {accounts}) a order by a"),
        Some((from, per)) => format!(
            "select md5('{kind}'||a||'-'||i) from generate_series(1, {accounts}) a, generate_series({from}, {from} + {per} - 1) i order by a, i"
        ),
    };
    sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap()
}

/// The policy index's hits and misses, summed over the replicas.
async fn lookups(bases: &[String]) -> (u64, u64) {
    let mut out = (0, 0);
    for b in bases {
        let url = b.replace("/client/v4/accounts", "/readyz");
        let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        let i = &v["result"]["policy_index"];
        out.0 += i["hits"].as_u64().unwrap_or(0);
        out.1 += i["misses"].as_u64().unwrap_or(0);
    }
    out
}

/// CPU seconds used so far by every process named `name` (from `/proc`).
fn cpu_seconds_of(name: &str) -> f64 {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != name {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
        for i in [11, 12] {
            ticks += fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ticks as f64 / 100.0
}

/// PostgreSQL's counters for the bench's database: transactions, rows returned, blocks read
/// (from disk or the OS) and blocks found in its buffers.
async fn pg_counters(pool: &sqlx::PgPool) -> [f64; 4] {
    let row: (i64, i64, i64, i64) = sqlx::query_as(
        "select xact_commit, tup_returned + tup_fetched, blks_read, blks_hit \
         from pg_stat_database where datname = current_database()",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    [row.0 as f64, row.1 as f64, row.2 as f64, row.3 as f64]
}

fn main() {
    let (Ok(_), Ok(bin)) = (
        std::env::var("PORTCULLIS_BENCH_POSTGRES_URL"),
        std::env::var("PORTCULLIS_BENCH_BINARY"),
    ) else {
        println!(
            "scale bench NOT RUN: it needs PORTCULLIS_BENCH_POSTGRES_URL and PORTCULLIS_BENCH_BINARY"
        );
        return;
    };
    let n_accounts: usize = env_or("PORTCULLIS_BENCH_ACCOUNTS", 10_000);
    let n_members: usize = env_or("PORTCULLIS_BENCH_ACCOUNT_MEMBERS", 100);
    let n_groups: usize = env_or("PORTCULLIS_BENCH_ACCOUNT_GROUPS", 10).max(3);
    let secs: f64 = env_or("PORTCULLIS_BENCH_SECONDS", 10.0);
    let cache_mb: usize = env_or("PORTCULLIS_BENCH_CACHE_MB", 1024);
    let replica_counts: Vec<usize> = std::env::var("PORTCULLIS_BENCH_REPLICAS")
        .unwrap_or_else(|_| "2,4".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // The replicas read their budget from the environment they inherit.
    std::env::set_var("PORTCULLIS_CACHE_MEMORY_MB", cache_mb.to_string());
    let db = BenchDatabase::new("bench_scale");
    let database = db.url.clone();
    runtime().block_on(async {
        let boot = bootstrap(&database, "Scale bootstrap").await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&database)
            .await
            .unwrap();
        let (super_role,): (String,) =
            sqlx::query_as("select role_id from member_role where member_id = $1")
                .bind(boot.member_id.as_str())
                .fetch_one(&pool)
                .await
                .unwrap();
        let now = portcullis_core::time::Timestamp::now().micros();
        let (a, m, g) = (n_accounts as i64, n_members as i64, n_groups as i64);
        let step = (n_groups / 3 + 1) as i64;
        let started = Instant::now();
        let statements: Vec<(&str, String)> = vec![
            ("accounts", "insert into account (id, name, type, created_at, updated_at) select md5('acct'||a), 'Scale '||a, 'standard', $1, $1 from generate_series(1, $2) a".into()),
            ("users", "insert into app_user (id, email, created_at, updated_at) select md5('user'||a||'-'||m), 'u'||a||'-'||m||'@scale.example', $1, $1 from generate_series(1, $2) a, generate_series(1, $3) m".into()),
            ("members", "insert into member (id, account_id, user_id, status, created_at, updated_at) select md5('mem'||a||'-'||m), md5('acct'||a), md5('user'||a||'-'||m), 'accepted', $1, $1 from generate_series(1, $2) a, generate_series(1, $3) m".into()),
            ("roles", format!("insert into member_role (member_id, position, role_id) select md5('mem'||a||'-'||m), 0, '{BENCH_MEMBER_ROLE}' from generate_series(1, $2) a, generate_series(1, $3) m where $1 > 0")),
            ("the bench user in every account", format!("insert into member (id, account_id, user_id, status, created_at, updated_at) select md5('admin'||a), md5('acct'||a), '{}', 'accepted', $1, $1 from generate_series(1, $2) a where $3 > 0", boot.user_id)),
            ("its role", format!("insert into member_role (member_id, position, role_id) select md5('admin'||a), 0, '{super_role}' from generate_series(1, $2) a where $1 > 0 and $3 > 0")),
            ("resource groups", "insert into resource_group (id, account_id, name, scope_key, created_at, updated_at) select md5('rg'||a), md5('acct'||a), 'All', 'com.cloudflare.api.account.'||md5('acct'||a), $1, $1 from generate_series(1, $2) a where $3 > 0".into()),
            ("their objects", "insert into resource_group_object (resource_group_id, position, object_key) select md5('rg'||a), 0, '*' from generate_series(1, $2) a where $1 > 0 and $3 > 0".into()),
            ("user groups", format!("insert into user_group (id, account_id, name, name_folded, created_at, updated_at) select md5('ug'||a||'-'||g), md5('acct'||a), 'g'||g, 'g'||g, $1, $1 from generate_series(1, $2) a, generate_series(0, {g} - 1) g where $3 > 0")),
            ("policies", format!("insert into policy (id, account_id, user_group_id, position, access, created_at) select md5('pol'||a||'-'||g||'-'||p), md5('acct'||a), md5('ug'||a||'-'||g), p, 'allow', $1 from generate_series(1, $2) a, generate_series(0, {g} - 1) g, generate_series(0, 1) p where $3 > 0")),
            ("their permission groups", format!("insert into policy_permission_group (policy_id, position, permission_group_id) select md5('pol'||a||'-'||g||'-'||p), 0, (array['{}', '{}', '{}', '{}'])[((g + p) % 4) + 1] from generate_series(1, $2) a, generate_series(0, {g} - 1) g, generate_series(0, 1) p where $1 > 0 and $3 > 0", BENCH_PERMISSION_GROUPS[0], BENCH_PERMISSION_GROUPS[1], BENCH_PERMISSION_GROUPS[2], BENCH_PERMISSION_GROUPS[3])),
            ("their resource groups", format!("insert into policy_resource_group (policy_id, position, resource_group_id) select md5('pol'||a||'-'||g||'-'||p), 0, md5('rg'||a) from generate_series(1, $2) a, generate_series(0, {g} - 1) g, generate_series(0, 1) p where $1 > 0 and $3 > 0")),
            ("group memberships", format!("insert into user_group_member (user_group_id, member_id, email, created_at) select md5('ug'||a||'-'||((m + o) % {g})), md5('mem'||a||'-'||m), 'u'||a||'-'||m||'@scale.example', $1 from generate_series(1, $2) a, generate_series(1, $3) m, (values (0), ({step}), (2 * {step})) s(o)")),
            ("group counts", "update user_group u set member_count = c.n from (select user_group_id, count(*) n from user_group_member group by 1) c where c.user_group_id = u.id and $1 > 0 and $2 > 0 and $3 > 0".into()),
            ("statistics", "vacuum analyze".into()),
            // Writes the loaded pages out now, not during the measured runs.
            ("checkpoint", "checkpoint".into()),
        ];
        for (what, sql) in &statements {
            let t = Instant::now();
            if matches!(*what, "statistics" | "checkpoint") {
                sqlx::query(sql).execute(&pool).await.unwrap();
            } else {
                sqlx::query(sql).bind(now).bind(a).bind(m).execute(&pool).await.unwrap();
            }
            println!("  {what}: {:.1} s", t.elapsed().as_secs_f64());
        }
        let (size,): (i64,) = sqlx::query_as("select pg_database_size(current_database())")
            .fetch_one(&pool)
            .await
            .unwrap();
        println!(
            "{n_accounts} accounts × {n_members} members ({} members), {n_groups} user groups of 2 policies each, every member in 3; written in {:.1} s; database {:.0} MiB",
            n_accounts * n_members,
            started.elapsed().as_secs_f64(),
            size as f64 / 1_048_576.0
        );

        let accounts = Arc::new(ids(&pool, "acct", n_accounts, None).await);
        let rgs = Arc::new(ids(&pool, "rg", n_accounts, None).await);
        let members = Arc::new(ids(&pool, "mem", n_accounts, Some((1, n_members))).await);
        let groups = Arc::new(ids(&pool, "ug", n_accounts, Some((0, n_groups))).await);
        let email = "bench@example.com".to_owned();
        let key = boot.api_key.clone();
        let checks = json!([
            {"permission": "com.cloudflare.api.account.member.read"},
            {"permission": "#organization:read"},
        ]);
        for &n in &replica_counts {
            println!("\n### {n} replicas (each --cache-memory-mb {cache_mb})\n");
            let mut children = Vec::new();
            let mut bases = Vec::new();
            for _ in 0..n {
                let (child, addr, _) = portcullis_process(&bin, &database);
                children.push(child);
                bases.push(format!("http://{addr}/client/v4/accounts"));
            }
            let bases = Arc::new(bases);
            let request = {
                let (bases, accounts, members, email, key, checks) = (Arc::clone(&bases), Arc::clone(&accounts), Arc::clone(&members), email.clone(), key.clone(), checks.clone());
                move |client: &reqwest::Client, a: usize, m: usize| {
                    let acct = &accounts[a];
                    client
                        .post(format!("{}/{acct}/iam/authorize", bases[a % bases.len()]))
                        .header("x-auth-email", &email)
                        .header("x-auth-key", &key)
                        .json(&json!({"principal": {"member_id": members[a * n_members + m]}, "checks": checks}))
                }
            };
            let request = Arc::new(request);
            // Warming: every member decided once (32 connections, in account order).
            let total = (n_accounts * n_members) as u64;
            let warm: Requests = {
                let request = Arc::clone(&request);
                Arc::new(move |client, task, i| {
                    let k = ((i * 32 + task as u64) % total) as usize;
                    request(client, k / n_members, k % n_members)
                })
            };
            let t = Instant::now();
            let rss_cold: Vec<f64> = children.iter().map(|c| rss_anon_mib(c.id())).collect();
            // One pass, by count: every member decided once.
            let passes = drive_counted(&warm, 32, total).await;
            let warm_secs = t.elapsed().as_secs_f64();
            let rss_warm: Vec<f64> = children.iter().map(|c| rss_anon_mib(c.id())).collect();
            println!(
                "warming ({} decisions, {} errors): {warm_secs:.0} s; anonymous RSS per replica {} MiB (cold {} MiB)",
                passes.0,
                passes.1,
                rss_warm.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", "),
                rss_cold.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", "),
            );
            let mut readyz = Vec::new();
            for b in bases.iter() {
                let url = b.replace("/client/v4/accounts", "/readyz");
                let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
                let i = &v["result"]["policy_index"];
                readyz.push(format!("{} entries, {:.0} MiB, {} evictions", i["entries"], i["bytes"].as_f64().unwrap_or(0.0) / 1_048_576.0, i["evictions"]));
            }
            println!("policy index per replica: {}", readyz.join("; "));

            println!("\n| policy writes/s (reached) | req/s | p50 (ms) | p99 (ms) | errors | throughput vs 0 | p99 vs 0 | index hits | PostgreSQL: CPU (cores) | transactions/s | rows read/s | blocks read/s |");
            println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            let mut baseline: Option<(f64, f64)> = None;
            // An unmeasured run first: the first seconds of random access after the ordered
            // warm-up are slower (PostgreSQL's and the OS's caches settle) and would skew the
            // baseline.
            for rate in [None, Some(0u32), Some(1), Some(10), Some(100)] {
                let measured = rate.is_some();
                let rate = rate.unwrap_or(0);
                let random: Requests = {
                    let request = Arc::clone(&request);
                    Arc::new(move |client, task, i| {
                        let x = (task as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03);
                        let x = x ^ (x >> 29);
                        request(client, (x % n_accounts as u64) as usize, ((x >> 32) % n_members as u64) as usize)
                    })
                };
                let stop = Arc::new(AtomicBool::new(false));
                let writer = (rate > 0).then(|| {
                    let (stop, bases, accounts, email, key) = (Arc::clone(&stop), Arc::clone(&bases), Arc::clone(&accounts), email.clone(), key.clone());
                    let (rgs, groups) = (Arc::clone(&rgs), Arc::clone(&groups));
                    tokio::spawn(async move {
                        let client = reqwest::Client::new();
                        let mut n = 0usize;
                        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
                        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        // Each write on its own task, so that a slow one does not hold back the rate.
                        let mut writes = Vec::new();
                        while !stop.load(Ordering::Relaxed) {
                            tick.tick().await;
                            let a = (n * 7919) % accounts.len();
                            let g = (n * 31) % n_groups;
                            let put = client
                                .put(format!("{}/{}/iam/user_groups/{}", bases[a % bases.len()], accounts[a], groups[a * n_groups + g]))
                                .header("x-auth-email", &email)
                                .header("x-auth-key", &key)
                                .json(&json!({"policies": bench_group_policies(g, &rgs[a], n.is_multiple_of(2))}));
                            writes.push(tokio::spawn(async move {
                                let r = put.send().await.unwrap();
                                assert!(r.status().is_success(), "{}: {}", r.status(), r.text().await.unwrap_or_default());
                            }));
                            n += 1;
                        }
                        for w in writes {
                            w.await.unwrap();
                        }
                        n
                    })
                });
                let (pg0, cpu0, l0) = (pg_counters(&pool).await, cpu_seconds_of("postgres"), lookups(&bases).await);
                let r = drive_requests(&random, 32, secs).await;
                let (pg1, cpu1, l1) = (pg_counters(&pool).await, cpu_seconds_of("postgres"), lookups(&bases).await);
                stop.store(true, Ordering::Relaxed);
                let written = match writer {
                    Some(w) => w.await.unwrap(),
                    None => 0,
                };
                if !measured {
                    continue;
                }
                let per_s = |i: usize| (pg1[i] - pg0[i]) / r.seconds;
                let rps = r.requests as f64 / r.seconds;
                let (base_rps, base_p99) = *baseline.get_or_insert((rps, r.p99_ms));
                println!(
                    "| {rate} ({:.1}) | {rps:.0} | {:.3} | {:.3} | {} | {:.0}% | {:.2}x | {:.1}% | {} | {:.0} | {:.0} | {:.0} |",
                    written as f64 / r.seconds,
                    r.p50_ms,
                    r.p99_ms,
                    r.errors,
                    100.0 * rps / base_rps,
                    r.p99_ms / base_p99,
                    100.0 * (l1.0 - l0.0) as f64 / ((l1.0 - l0.0) + (l1.1 - l0.1)).max(1) as f64,
                    // A PostgreSQL process that ended during the run takes its CPU time with it.
                    if cpu1 >= cpu0 { format!("{:.2}", (cpu1 - cpu0) / r.seconds) } else { "n/a".into() },
                    per_s(0),
                    per_s(1),
                    per_s(2),
                );
            }
            let rss: Vec<String> = children.iter().map(|c| format!("{:.0}", rss_anon_mib(c.id()))).collect();
            println!("\nanonymous RSS per replica after the runs: {} MiB", rss.join(", "));
            for mut c in children {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        pool.close().await;
        db.drop_schema().await;
    });
}
