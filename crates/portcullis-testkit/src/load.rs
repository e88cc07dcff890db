//! Load for the HTTP benchmarks (`crates/portcullis/benches`): driving a URL from keep-alive
//! connections and measuring req/s, p50 and p99; serving Portcullis in this process or as the
//! release binary, with its start time and resident memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::config::Settings;
use portcullis::startup::Application;
use reqwest::Method;
use serde_json::{json, Value};

/// What one driven run measured.
pub struct Run {
    pub requests: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

/// A request body for connection `task`'s `n`-th request (`None`: no body).
pub type Bodies = Arc<dyn Fn(usize, u64) -> Option<Value> + Send + Sync>;

/// The same body every time; a `name` in it is made unique per request (creates need unique
/// names).
pub fn fixed(body: Option<Value>) -> Bodies {
    Arc::new(move |task, n| {
        let mut b = body.clone()?;
        if let Some(name) = b.get("name").and_then(Value::as_str) {
            b["name"] = json!(format!("{name}-{task}-{n}-{}", rand_suffix()));
        }
        Some(b)
    })
}

/// Connection `task`'s `n`-th request, built on that connection's client.
pub type Requests =
    Arc<dyn Fn(&reqwest::Client, usize, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// Drives `url` from `connections` clients (one keep-alive connection each) for `secs`.
pub async fn drive(
    url: &str,
    auth: &str,
    method: &Method,
    bodies: &Bodies,
    connections: usize,
    secs: f64,
) -> Run {
    let (url, auth, method, bodies) = (
        url.to_owned(),
        auth.to_owned(),
        method.clone(),
        Arc::clone(bodies),
    );
    let requests: Requests = Arc::new(move |client, task, n| {
        let mut rb = client.request(method.clone(), &url);
        if !auth.is_empty() {
            rb = rb.header("authorization", &auth);
        }
        if let Some(b) = bodies(task, n) {
            rb = rb.json(&b);
        }
        rb
    });
    drive_requests(&requests, connections, secs).await
}

/// Sends `requests` from `connections` clients (one keep-alive connection per client and
/// host) for `secs`.
pub async fn drive_requests(requests: &Requests, connections: usize, secs: f64) -> Run {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for task in 0..connections {
        let client = one_connection_client();
        let requests = Arc::clone(requests);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = 0;
            let mut n = 0u64;
            while Instant::now() < deadline {
                let rb = requests(&client, task, n);
                n += 1;
                let t = Instant::now();
                match rb.send().await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let _ = r.bytes().await;
                        if ok {
                            samples.push(t.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (samples, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (s, e) = t.await.unwrap();
        all.extend(s);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64().max(secs);
    all.sort();
    let pct = |p: f64| {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[i].as_secs_f64() * 1000.0
    };
    Run {
        requests: all.len(),
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
    }
}

/// A suffix that differs between runs (names stay unique across the measured and later runs).
fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The release binary (`portcullis serve`) as a child process on an existing database: how long
/// it took from spawn to its `listening on` line, and its address.
pub fn portcullis_process(
    bin: &str,
    database: &str,
) -> (std::process::Child, SocketAddr, Duration) {
    use std::io::BufRead;
    let started = Instant::now();
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let took = started.elapsed();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .parse()
        .unwrap();
    (child, addr, took)
}

/// Resident memory of a process, in MiB (`VmRSS`: anonymous and file-backed, e.g. the
/// memory-mapped database).
pub fn rss_mib(pid: u32) -> f64 {
    proc_status_mib(pid, "VmRSS:")
}

/// Resident anonymous memory of a process, in MiB (`RssAnon`: the heap, without mapped files).
pub fn rss_anon_mib(pid: u32) -> f64 {
    proc_status_mib(pid, "RssAnon:")
}

fn proc_status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The Portcullis server on its own runtime thread; returns its address.
pub fn portcullis_server(settings: Settings) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let app = Application::build(settings).await.unwrap();
            tx.send(app.addr()).unwrap();
            app.run_until_stopped(std::future::pending()).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A setting from the environment, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Where a benchmark keeps its data: a fresh SQLite file in a temporary directory, or with
/// `PORTCULLIS_BENCH_POSTGRES_URL` a fresh schema `<prefix>_<pid>` (dropped by
/// [`BenchDatabase::drop_schema`]).
pub struct BenchDatabase {
    /// The database URL.
    pub url: String,
    /// Whether it is PostgreSQL.
    pub postgres: bool,
    base: Option<String>,
    schema: String,
    _dir: tempfile::TempDir,
}

impl BenchDatabase {
    /// A new one.
    pub fn new(prefix: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = std::env::var("PORTCULLIS_BENCH_POSTGRES_URL").ok();
        let schema = format!("{prefix}_{}", std::process::id());
        let url = match &base {
            Some(url) => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}options=-c%20search_path%3D{schema}")
            }
            None => format!("sqlite://{}/{prefix}.db", dir.path().display()),
        };
        Self {
            url,
            postgres: base.is_some(),
            base,
            schema,
            _dir: dir,
        }
    }

    /// Drops the PostgreSQL schema (nothing for SQLite: the directory goes with `self`).
    pub async fn drop_schema(&self) {
        if let Some(base) = &self.base {
            let pool = sqlx::PgPool::connect(base).await.unwrap();
            sqlx::query(&format!("drop schema {} cascade", self.schema))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

/// A runtime of two worker threads (the machine's cores), as the benchmarks run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A bootstrapped database served for a benchmark: by the release binary when
/// `PORTCULLIS_BENCH_BINARY` names it (a child process), otherwise by the library in this
/// process.
pub struct Served {
    /// What `bootstrap` made.
    pub boot: portcullis_core::service::bootstrap::BootstrapOutput,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The server process, when it is one.
    pub process: Option<std::process::Child>,
    /// Its time from spawn to `listening on`, when it is a process.
    pub started_in: Option<Duration>,
}

/// Bootstraps `database` through the library: account `name`, its Super Administrator
/// `bench@example.com` with a key, and an account token.
pub async fn bootstrap(
    database: &str,
    name: &str,
) -> portcullis_core::service::bootstrap::BootstrapOutput {
    let store = portcullis::startup::open_store(
        database,
        portcullis_store_postgres::PgSettings::default(),
        false,
        None,
    )
    .await
    .unwrap();
    let app = portcullis_core::service::Portcullis::new(
        store,
        portcullis::startup::load_catalog(None).unwrap(),
    );
    app.bootstrap(name, "bench@example.com", false)
        .await
        .unwrap()
}

impl Served {
    /// Bootstraps `database` through the library (account `name`), then serves it.
    pub async fn bootstrap(database: &str, name: &str) -> Self {
        let boot = bootstrap(database, name).await;
        match std::env::var("PORTCULLIS_BENCH_BINARY") {
            Ok(bin) => {
                let (child, addr, took) = portcullis_process(&bin, database);
                Self {
                    boot,
                    addr,
                    process: Some(child),
                    started_in: Some(took),
                }
            }
            Err(_) => Self {
                boot,
                addr: portcullis_server(Settings::for_database(database)),
                process: None,
                started_in: None,
            },
        }
    }

    /// Stops the server process, if it is one.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Permission groups the busy and scale benches' user-group policies use (member catalog).
pub const BENCH_PERMISSION_GROUPS: [&str; 4] = [
    "c8fed203ed3043cba015a93ad1616f1f",
    "1d80f6f165ea47f2b55d4a393fd697de",
    "c1fde68c7bcc44588cbb6ddbc16d6480",
    "5bc3f8b21c554832afc660159ab75fa4",
];
/// The role of the benches' members: "Minimal Account Access".
pub const BENCH_MEMBER_ROLE: &str = "f2b20eaa1a5d4af42b53ac16238c99c7";

/// User group `g`'s 2 policies on resource group `rg`; `flip` swaps the second one's access
/// (what the benches' writers change).
pub fn bench_group_policies(g: usize, rg: &str, flip: bool) -> Value {
    let second = if flip { "deny" } else { "allow" };
    json!([
        {"access": "allow", "permission_groups": [{"id": BENCH_PERMISSION_GROUPS[g % 4]}], "resource_groups": [{"id": rg}]},
        {"access": second, "permission_groups": [{"id": BENCH_PERMISSION_GROUPS[(g + 1) % 4]}], "resource_groups": [{"id": rg}]},
    ])
}

/// A client that keeps one connection per host (each drives one connection).
fn one_connection_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap()
}

/// Sends `total` requests from `connections` connections (request `i` of connection `task` is
/// the `i * connections + task`-th); the count of successes and errors.
pub async fn drive_counted(requests: &Requests, connections: usize, total: u64) -> (u64, u64) {
    let mut tasks = Vec::new();
    for task in 0..connections {
        let client = one_connection_client();
        let requests = Arc::clone(requests);
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut i = 0u64;
            while i * connections as u64 + (task as u64) < total {
                match requests(&client, task, i).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok += 1;
                    }
                    _ => failed += 1,
                }
                i += 1;
            }
            (ok, failed)
        }));
    }
    let mut out = (0, 0);
    for t in tasks {
        let (ok, failed) = t.await.unwrap();
        out.0 += ok;
        out.1 += failed;
    }
    out
}
