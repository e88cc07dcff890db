//! Test harness: runs the real `portcullis` binary (bootstrap, then serve) in a temporary directory
//! and talks to it over HTTP. Every response that goes through [`TestApp::send`] is checked against
//! the envelope contract (`docs/api-decisions.md`, Cloudflare's v4 envelope) before the test sees it.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// Legacy account roles (`crates/portcullis-core/data/account_roles.json`).
pub const ROLE_ADMIN: &str = "05784afa30c1afe1440e79d9351c7430";
pub const ROLE_ADMIN_READ_ONLY: &str = "f2b20eaa1a5d4af42b53ac16238c99c7";
pub const ROLE_SUPER_ADMIN: &str = "33666b9c79b9a5273fc7344ff42f953d";
pub const SUPER_ADMIN_NAME: &str = "Super Administrator - All Privileges";

/// Token permission groups (`catalog: api_token`).
pub const PG_ACCOUNT_SETTINGS_READ: &str = "c1fde68c7bcc44588cbb6ddbc16d6480";
pub const PG_ACCOUNT_API_TOKENS_READ: &str = "eb56a6953c034b9d97dd838155666f06";
pub const PG_API_TOKENS_READ: &str = "0cc3a61731504c89b99ec1be78b77aa0"; // com.cloudflare.api.user
pub const PG_USER_DETAILS_READ: &str = "8acbe5bb0d54464ab867149d7f7cf8ac"; // com.cloudflare.api.user
pub const PG_ZONE_READ: &str = "c8fed203ed3043cba015a93ad1616f1f"; // com.cloudflare.api.account.zone

/// A syntactically valid id that names nothing.
pub const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

static SERVER_SEQ: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

pub struct CliOut {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for CliOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `portcullis <args>` to completion (killed after a minute).
pub fn cli(args: &[&str]) -> CliOut {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BIN} {args:?}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + CLI_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`portcullis {args:?}` did not finish within {CLI_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    CliOut {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Runs the CLI, asserts exit 0 and that stdout is exactly one JSON object.
pub fn cli_json(args: &[&str]) -> Value {
    let out = cli(args);
    assert!(out.status.success(), "`portcullis {args:?}` failed: {out}");
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!("`portcullis {args:?}` must print one JSON object on stdout ({e}): {out}")
    });
    assert!(
        v.is_object(),
        "`portcullis {args:?}` printed {v}, not an object"
    );
    v
}

pub fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string field `{key}` in {v}"))
        .to_string()
}

#[derive(Clone, Debug)]
pub struct Boot {
    pub account_id: String,
    pub user_id: String,
    pub member_id: String,
    pub email: String,
    pub api_key: String,
    pub api_token: String,
    pub api_token_id: String,
}

impl Boot {
    pub fn from_json(v: &Value) -> Boot {
        Boot {
            account_id: str_field(v, "account_id"),
            user_id: str_field(v, "user_id"),
            member_id: str_field(v, "member_id"),
            email: str_field(v, "email"),
            api_key: str_field(v, "api_key"),
            api_token: str_field(v, "api_token"),
            api_token_id: str_field(v, "api_token_id"),
        }
    }
}

pub fn bootstrap(db_url: &str, account_name: &str, email: &str, extra: &[&str]) -> Boot {
    let mut args = vec![
        "bootstrap",
        "--database",
        db_url,
        "--account-name",
        account_name,
        "--email",
        email,
    ];
    args.extend_from_slice(extra);
    Boot::from_json(&cli_json(&args))
}

// ---------------------------------------------------------------------------------------------
// Database backend (`PORTCULLIS_TEST_BACKEND` = `sqlite` (default) | `postgres`)
// ---------------------------------------------------------------------------------------------

/// Selects the database every server instance of the harness runs on.
pub const BACKEND_ENV: &str = "PORTCULLIS_TEST_BACKEND";
/// With the `postgres` backend: `postgres://USER@HOST:PORT/DB` (each instance gets its own schema).
pub const POSTGRES_URL_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// The base URL from `PORTCULLIS_TEST_POSTGRES_URL` (checked reachable).
    Postgres(String),
}

static BACKEND: OnceLock<Backend> = OnceLock::new();
static SCHEMAS: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
static SCHEMA_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The backend selected by the environment. Panics (loudly, never falling back to SQLite) when
/// `postgres` is selected but `PORTCULLIS_TEST_POSTGRES_URL` is unset or the server is unreachable.
pub fn backend() -> &'static Backend {
    BACKEND.get_or_init(|| {
        let name = std::env::var(BACKEND_ENV).unwrap_or_default();
        match name.trim() {
            "" | "sqlite" => Backend::Sqlite,
            "postgres" => {
                let url = std::env::var(POSTGRES_URL_ENV).unwrap_or_default();
                assert!(
                    !url.trim().is_empty(),
                    "{BACKEND_ENV}=postgres but {POSTGRES_URL_ENV} is not set \
                     (e.g. postgres://postgres@127.0.0.1:5432/test)"
                );
                let url = url.trim().to_string();
                check_postgres_reachable(&url);
                Backend::Postgres(url)
            }
            other => panic!("{BACKEND_ENV}={other:?}: expected `sqlite` or `postgres`"),
        }
    })
}

pub fn is_postgres() -> bool {
    matches!(backend(), Backend::Postgres(_))
}

/// Runs `psql <url> -Atc <sql>`; returns the output or a description of the failure.
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    } else {
        Err(format!(
            "psql exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Panics unless `select 1` succeeds on `url`.
pub fn check_postgres_reachable(url: &str) {
    match psql(url, "select 1") {
        Ok(out) if out.trim() == "1" => {}
        Ok(out) => panic!("PostgreSQL at {url}: `select 1` answered {out:?}"),
        Err(e) => panic!("PostgreSQL at {url} is unusable: {e}"),
    }
}

/// A fresh schema name `pt_<16 hex>`.
pub fn new_schema_name() -> String {
    let mut h = RandomState::new().build_hasher();
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .hash(&mut h);
    std::process::id().hash(&mut h);
    SCHEMA_SEQ.fetch_add(1, Ordering::SeqCst).hash(&mut h);
    format!("pt_{:016x}", h.finish())
}

/// `base` with `options=-c search_path=<schema>` appended (`?` or `&` as the URL needs).
pub fn postgres_url_with_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// The `pt_…` schema a harness URL points at, if it is one of ours.
pub fn harness_schema_of(url: &str) -> Option<String> {
    let rest = url.split("search_path%3D").nth(1)?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    name.starts_with("pt_").then_some(name)
}

fn is_harness_schema(schema: &str) -> bool {
    schema.starts_with("pt_")
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Best effort: `drop schema if exists <schema> cascade` via `psql <base_url>`.
pub fn drop_schema_at(base_url: &str, schema: &str) {
    if !is_harness_schema(schema) {
        return;
    }
    if let Err(e) = psql(base_url, &format!("drop schema if exists {schema} cascade")) {
        eprintln!("warning: could not drop schema {schema}: {e}");
    }
}

/// Splits a harness URL made by [`postgres_url_with_schema`] into (base URL, schema).
pub fn split_harness_url(url: &str) -> Option<(String, String)> {
    let schema = harness_schema_of(url)?;
    let suffix = format!("options=-c%20search_path%3D{schema}");
    let head = url.strip_suffix(&suffix)?;
    let base = head.strip_suffix('?').or_else(|| head.strip_suffix('&'))?;
    Some((base.to_string(), schema))
}

/// Drops the harness schema of a database URL when dropped (no-op on SQLite URLs).
#[derive(Debug, Default)]
pub struct SchemaGuard {
    /// (base URL, schema)
    target: Option<(String, String)>,
}

impl SchemaGuard {
    pub fn for_url(db_url: &str) -> SchemaGuard {
        SchemaGuard {
            target: split_harness_url(db_url),
        }
    }

    /// Keeps the schema (ownership passed elsewhere, e.g. to a [`TestApp`]).
    pub fn disarm(mut self) {
        self.target = None;
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.target.take() {
            drop_schema_at(&base, &schema);
        }
    }
}

/// Drops the harness schema of `db_url` at the end of the caller's scope (a no-op on SQLite).
pub fn db_guard(db_url: &str) -> SchemaGuard {
    SchemaGuard::for_url(db_url)
}

/// The database URL of the server instance whose files live in `dir`: a SQLite file in `dir`, or
/// on the `postgres` backend a fresh schema `pt_<16 hex>` (the same one for every call with the
/// same `dir`, so restarts reuse it). A [`TestApp`] drops its schema; code that calls this without
/// building a `TestApp` should hold [`db_guard`].
pub fn db_url_for(dir: &Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}", dir.join("p.db").display()),
        Backend::Postgres(base) => {
            let map = SCHEMAS.get_or_init(|| Mutex::new(HashMap::new()));
            let mut map = map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let schema = map
                .entry(dir.to_path_buf())
                .or_insert_with(new_schema_name)
                .clone();
            postgres_url_with_schema(base, &schema)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------------------------

pub struct Server {
    child: Child,
    pub base: String,
    log: PathBuf,
}

impl Server {
    pub fn start(dir: &Path, db_url: &str) -> Server {
        Server::start_with(dir, db_url, &[])
    }

    /// `serve` with more flags. Settings the environment could add are removed, so a test's
    /// flags are all the server gets.
    pub fn start_with(dir: &Path, db_url: &str, extra: &[&str]) -> Server {
        let n = SERVER_SEQ.fetch_add(1, Ordering::SeqCst);
        let log = dir.join(format!("serve-{n}.stderr"));
        let log_file = File::create(&log).expect("create server log");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", db_url])
            .args(extra)
            .env_remove("PORTCULLIS_DNS_SERVER")
            .env_remove("PORTCULLIS_SSO_CODE_PREFIX")
            .env_remove("PORTCULLIS_SSO_CHECK_INTERVAL")
            .env_remove("PORTCULLIS_SSO_VERIFICATION_WINDOW")
            .env_remove("PORTCULLIS_AUTHZ")
            .env_remove("PORTCULLIS_CONFIG")
            .env_remove("PORTCULLIS_CATALOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN} serve: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            // Keep draining stdout for the server's whole life so it never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        let _ = tx.send(l);
                    }
                    Err(_) => break,
                }
            }
        });
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut seen = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        break format!("http://{addr}");
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!(
                        "server did not print `listening on http://ADDR` ({e:?}).\nstdout:\n{}\nstderr:\n{stderr}",
                        seen.join("\n")
                    );
                }
            }
        };
        Server { child, base, log }
    }

    /// SIGTERM, then wait for the process to exit (at most 15 s).
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("server did not exit within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A server run inside the test process (`portcullis::startup::Application`), on a runtime
/// of its own, from the same command line `serve` would parse. Stopped (gracefully) on drop.
pub struct InProcess {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    pub fn start_with(db_url: &str, extra: &[&str]) -> InProcess {
        let mut args = vec![
            "portcullis",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            db_url,
        ];
        args.extend_from_slice(extra);
        let settings = portcullis::cli::serve_settings(args)
            .unwrap_or_else(|e| panic!("serve settings: {e:#}"));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<std::net::SocketAddr, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let application = match portcullis::startup::Application::build(settings).await {
                    Ok(a) => a,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(application.addr()));
                let _ = application
                    .run_until_stopped(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = match ready_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => panic!("in-process server did not start: {e}"),
            Err(e) => panic!("in-process server did not start: {e:?}"),
        };
        InProcess {
            base: format!("http://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server of a [`TestApp`]: in this process (most tests), or a child process (tests that
/// stop and restart it, or read its log).
pub enum Served {
    InProcess(InProcess),
    Process(Server),
}

impl Served {
    fn base(&self) -> &str {
        match self {
            Served::InProcess(s) => &s.base,
            Served::Process(s) => &s.base,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub enum Cred {
    Anon,
    Token(String),
    Key(String, String),
    Headers(Vec<(String, String)>),
}

impl Cred {
    pub fn token(t: &str) -> Cred {
        Cred::Token(t.to_string())
    }
    pub fn key(email: &str, key: &str) -> Cred {
        Cred::Key(email.to_string(), key.to_string())
    }
    pub fn headers(h: &[(&str, &str)]) -> Cred {
        Cred::Headers(
            h.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
    fn apply(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Cred::Anon => rb,
            Cred::Token(t) => rb.header("Authorization", format!("Bearer {t}")),
            Cred::Key(e, k) => rb.header("X-Auth-Email", e).header("X-Auth-Key", k),
            Cred::Headers(h) => h.iter().fold(rb, |rb, (k, v)| rb.header(k, v)),
        }
    }
}

pub enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>, &'static str),
}

pub struct Resp {
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl fmt::Display for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = self.text.clone();
        if t.len() > 3000 {
            t.truncate(3000);
            t.push('…');
        }
        write!(f, "{} -> {} {}", self.what, self.status, t)
    }
}

impl Resp {
    /// Asserts a 2xx success envelope and returns `result`.
    pub fn ok(&self) -> &Value {
        assert!(
            (200..300).contains(&self.status) && self.body["success"] == json!(true),
            "expected success, got {self}"
        );
        &self.body["result"]
    }

    /// Asserts a 200 success whose `result` is an array, and returns it.
    pub fn list(&self) -> &Vec<Value> {
        assert_eq!(self.status, 200, "expected 200, got {self}");
        self.ok()
            .as_array()
            .unwrap_or_else(|| panic!("result must be an array: {self}"))
    }

    pub fn info(&self) -> &Value {
        let ri = &self.body["result_info"];
        assert!(ri.is_object(), "missing result_info: {self}");
        ri
    }

    /// Asserts a failure with this HTTP status carrying an error with this code; returns that error.
    pub fn err(&self, status: u16, code: i64) -> &Value {
        assert_eq!(
            self.status, status,
            "expected HTTP {status} with code {code}, got {self}"
        );
        assert_eq!(self.body["success"], json!(false), "{self}");
        self.errors()
            .iter()
            .find(|e| e["code"].as_i64() == Some(code))
            .unwrap_or_else(|| panic!("expected an error with code {code}: {self}"))
    }

    pub fn errors(&self) -> &Vec<Value> {
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("errors must be an array: {self}"))
    }

    pub fn pointers(&self) -> Vec<String> {
        self.errors()
            .iter()
            .filter_map(|e| e["source"]["pointer"].as_str().map(str::to_string))
            .collect()
    }

    /// Asserts 400/1001 with an error whose `source.pointer` is exactly `ptr`.
    pub fn validation(&self, ptr: &str) {
        self.err(400, 1001);
        assert!(
            self.pointers().iter().any(|p| p == ptr),
            "expected an error with source.pointer {ptr:?}: {self}"
        );
    }

    /// Asserts 400/1001 with an error whose `source.pointer` starts with `prefix`.
    pub fn validation_prefix(&self, prefix: &str) {
        self.err(400, 1001);
        assert!(
            self.pointers().iter().any(|p| p.starts_with(prefix)),
            "expected an error with source.pointer starting with {prefix:?}: {self}"
        );
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// The envelope contract every answer must meet (api.md §1, sdk-clients.md §5–6).
pub fn check_envelope(r: &Resp) {
    assert_ne!(r.status, 204, "204 is never allowed: {r}");
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "Content-Type must be application/json, got {ct:?}: {r}"
    );
    assert!(!r.text.is_empty(), "empty body: {r}");
    let b = &r.body;
    assert!(b.is_object(), "body is not a JSON object: {r}");
    let success = b["success"]
        .as_bool()
        .unwrap_or_else(|| panic!("`success` must be a boolean: {r}"));
    assert!(b["errors"].is_array(), "`errors` must be an array: {r}");
    assert!(b["messages"].is_array(), "`messages` must be an array: {r}");
    assert!(
        b.as_object().is_some_and(|o| o.contains_key("result")),
        "`result` must be present: {r}"
    );
    assert_eq!(
        success,
        (200..300).contains(&r.status),
        "`success` must match the HTTP status: {r}"
    );
    for item in b["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(b["messages"].as_array().into_iter().flatten())
    {
        assert!(
            item["code"].is_i64(),
            "message item without integer code: {r}"
        );
        assert!(
            item["message"].is_string(),
            "message item without message: {r}"
        );
    }
    if success {
        assert!(
            b["errors"].as_array().is_some_and(Vec::is_empty),
            "success with errors: {r}"
        );
    } else {
        assert!(
            b["result"].is_null(),
            "failure must carry result: null: {r}"
        );
        assert!(
            b["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "failure without errors: {r}"
        );
        if r.status == 409 || r.status >= 500 {
            assert_eq!(
                r.header("x-should-retry").as_deref(),
                Some("false"),
                "409/5xx must carry x-should-retry: false: {r}"
            );
        }
    }
}

pub struct TestApp {
    pub dir: TempDir,
    pub db_url: String,
    pub boot: Boot,
    pub client: reqwest::Client,
    server: Option<Served>,
    /// Drops the PostgreSQL schema (if any) after the server above has been stopped.
    _schema_guard: SchemaGuard,
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

impl TestApp {
    /// Fresh database, `portcullis bootstrap`, then the server, in this process.
    pub fn spawn() -> TestApp {
        TestApp::spawn_with(&[])
    }

    /// Like [`TestApp::spawn`], with extra `serve` flags (e.g. `--authz off`).
    pub fn spawn_with(extra: &[&str]) -> TestApp {
        TestApp::spawn_as(extra, false)
    }

    /// Like [`TestApp::spawn`], with `portcullis serve` as a child process: for tests that stop
    /// and restart it or read its log.
    pub fn spawn_process() -> TestApp {
        TestApp::spawn_as(&[], true)
    }

    fn spawn_as(extra: &[&str], process: bool) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = db_url_for(dir.path());
        let guard = db_guard(&db_url);
        let boot = bootstrap(&db_url, "Test", "admin@example.com", &[]);
        let app = TestApp::serve_existing_with(dir, db_url, boot, extra, process);
        guard.disarm();
        app
    }

    /// Starts a server (in this process) on a database that was already bootstrapped.
    pub fn serve_existing(dir: TempDir, db_url: String, boot: Boot) -> TestApp {
        TestApp::serve_existing_with(dir, db_url, boot, &[], false)
    }

    fn serve_existing_with(
        dir: TempDir,
        db_url: String,
        boot: Boot,
        extra: &[&str],
        process: bool,
    ) -> TestApp {
        let schema_guard = SchemaGuard::for_url(&db_url);
        let server = if process {
            Served::Process(Server::start_with(dir.path(), &db_url, extra))
        } else {
            Served::InProcess(InProcess::start_with(&db_url, extra))
        };
        TestApp {
            dir,
            db_url,
            boot,
            client: http_client(),
            server: Some(server),
            _schema_guard: schema_guard,
        }
    }

    /// Starts one more server (a replica) on this app's database, with the same bootstrap
    /// credentials. The replica never drops the database; this app does, so drop the replica first.
    pub fn spawn_replica(&self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Served::Process(Server::start(dir.path(), &self.db_url));
        TestApp {
            dir,
            db_url: self.db_url.clone(),
            boot: self.boot.clone(),
            client: http_client(),
            server: Some(server),
            _schema_guard: SchemaGuard::default(),
        }
    }

    pub fn base(&self) -> &str {
        self.server.as_ref().expect("server is running").base()
    }

    /// SIGTERMs the server process (see [`TestApp::spawn_process`]) and returns its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        match self.server.take().expect("server is running") {
            Served::Process(s) => s.terminate(),
            Served::InProcess(_) => panic!("stop() needs a server process: TestApp::spawn_process"),
        }
    }

    pub fn restart(&mut self) {
        assert!(self.server.is_none(), "stop the server first");
        self.server = Some(Served::Process(Server::start(
            self.dir.path(),
            &self.db_url,
        )));
    }

    /// The server process's log (see [`TestApp::spawn_process`]).
    pub fn server_stderr(&self) -> String {
        match self.server.as_ref() {
            Some(Served::Process(s)) => s.stderr(),
            Some(Served::InProcess(_)) => {
                panic!("server_stderr() needs a server process: TestApp::spawn_process")
            }
            None => String::new(),
        }
    }

    pub fn admin(&self) -> Cred {
        Cred::token(&self.boot.api_token)
    }

    pub fn admin_key(&self) -> Cred {
        Cred::key(&self.boot.email, &self.boot.api_key)
    }

    /// `/accounts/<bootstrap account><rest>`
    pub fn acct(&self, rest: &str) -> String {
        format!("/accounts/{}{}", self.boot.account_id, rest)
    }

    pub fn url(&self, api_path: &str) -> String {
        format!("{}/client/v4{}", self.base(), api_path)
    }

    /// Sends without checking anything; for documents that are not envelopes.
    pub async fn raw(
        &self,
        method: Method,
        url: &str,
        cred: &Cred,
        body: Body,
    ) -> (u16, HeaderMap, String) {
        let mut rb = cred.apply(self.client.request(method.clone(), url));
        match body {
            Body::None => {}
            Body::Json(v) => rb = rb.json(&v),
            Body::Raw(bytes, ct) => rb = rb.header("Content-Type", ct).body(bytes),
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: request failed: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: reading the body failed: {e}"));
        (status, headers, text)
    }

    /// Sends a request to an absolute URL and checks the envelope contract on the answer.
    pub async fn send(&self, method: Method, url: &str, cred: &Cred, body: Body) -> Resp {
        let what = format!("{method} {url}");
        let (status, headers, text) = self.raw(method, url, cred, body).await;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let r = Resp {
            what,
            status,
            headers,
            body,
            text,
        };
        check_envelope(&r);
        r
    }

    pub async fn get(&self, path: &str, cred: &Cred) -> Resp {
        self.send(Method::GET, &self.url(path), cred, Body::None)
            .await
    }
    pub async fn delete(&self, path: &str, cred: &Cred) -> Resp {
        self.send(Method::DELETE, &self.url(path), cred, Body::None)
            .await
    }
    pub async fn post(&self, path: &str, cred: &Cred, body: Value) -> Resp {
        self.send(Method::POST, &self.url(path), cred, Body::Json(body))
            .await
    }
    pub async fn put(&self, path: &str, cred: &Cred, body: Value) -> Resp {
        self.send(Method::PUT, &self.url(path), cred, Body::Json(body))
            .await
    }

    // ---- fixtures --------------------------------------------------------------------------

    /// `portcullis user-key` against this app's database; returns (user_id, api_key).
    pub fn user_key(&self, email: &str, operator: bool) -> (String, String) {
        let mut args = vec!["user-key", "--database", &self.db_url, "--email", email];
        if operator {
            args.push("--operator");
        }
        let v = cli_json(&args);
        (str_field(&v, "user_id"), str_field(&v, "api_key"))
    }

    pub async fn create_member(
        &self,
        account_id: &str,
        cred: &Cred,
        email: &str,
        roles: &[&str],
        status: Option<&str>,
    ) -> Value {
        let mut body = json!({ "email": email, "roles": roles });
        if let Some(s) = status {
            body["status"] = json!(s);
        }
        let r = self
            .post(&format!("/accounts/{account_id}/members"), cred, body)
            .await;
        assert_eq!(r.status, 200, "{r}");
        r.ok().clone()
    }

    /// `POST /accounts` as the bootstrap operator; returns the new account id.
    pub async fn create_account(&self, name: &str) -> String {
        let r = self
            .post(
                "/accounts",
                &self.admin_key(),
                json!({ "name": name, "type": "standard" }),
            )
            .await;
        assert_eq!(r.status, 200, "{r}");
        str_field(r.ok(), "id")
    }

    /// Creates an account-owned token; returns (id, value).
    pub async fn create_account_token(
        &self,
        account_id: &str,
        cred: &Cred,
        body: Value,
    ) -> (String, String) {
        let r = self
            .post(&format!("/accounts/{account_id}/tokens"), cred, body)
            .await;
        assert_eq!(r.status, 200, "{r}");
        (str_field(r.ok(), "id"), str_field(r.ok(), "value"))
    }

    /// Creates a user-owned token; returns (id, value).
    pub async fn create_user_token(&self, cred: &Cred, body: Value) -> (String, String) {
        let r = self.post("/user/tokens", cred, body).await;
        assert_eq!(r.status, 200, "{r}");
        (str_field(r.ok(), "id"), str_field(r.ok(), "value"))
    }

    /// `GET /accounts/{a}/tokens/verify` with the given token value.
    pub async fn verify_account_token(&self, account_id: &str, value: &str) -> Resp {
        self.get(
            &format!("/accounts/{account_id}/tokens/verify"),
            &Cred::token(value),
        )
        .await
    }

    /// Walks a paginated list page by page (page=1,2,… until an empty page) and returns every item.
    /// `path` may already carry a query string.
    pub async fn walk(&self, path: &str, cred: &Cred, per_page: u32) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        let mut total_count = None;
        for page in 1..=100u32 {
            let r = self
                .get(&format!("{path}{sep}page={page}&per_page={per_page}"), cred)
                .await;
            let items = r.list().clone();
            let info = r.info();
            check_result_info(&r);
            assert_eq!(info["page"], json!(page), "{r}");
            assert_eq!(info["count"], json!(items.len()), "{r}");
            match total_count {
                None => total_count = info["total_count"].as_u64(),
                Some(t) => assert_eq!(info["total_count"].as_u64(), Some(t), "{r}"),
            }
            if items.is_empty() {
                assert_eq!(
                    Some(all.len() as u64),
                    total_count,
                    "total_count must equal the number of items walked: {r}"
                );
                return all;
            }
            assert!(items.len() <= per_page as usize, "{r}");
            all.extend(items);
        }
        panic!("{path}: more than 100 pages; the list never returns an empty page");
    }
}

/// `result_info` has the five integer fields, and they are consistent with each other.
pub fn check_result_info(r: &Resp) {
    let ri = r.info();
    for k in ["page", "per_page", "count", "total_count", "total_pages"] {
        assert!(
            ri[k].is_u64(),
            "result_info.{k} must be a non-negative integer: {r}"
        );
    }
    let per_page = ri["per_page"].as_u64().unwrap_or(0);
    let total = ri["total_count"].as_u64().unwrap_or(0);
    let pages = ri["total_pages"].as_u64().unwrap_or(0);
    assert!(per_page > 0, "{r}");
    if total > 0 {
        assert_eq!(pages, total.div_ceil(per_page), "total_pages: {r}");
    }
    let n = r.body["result"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(
        ri["count"].as_u64(),
        Some(n),
        "count must equal items on the page: {r}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bodies and small utilities
// ---------------------------------------------------------------------------------------------

pub fn account_resource(account_id: &str) -> String {
    format!("com.cloudflare.api.account.{account_id}")
}

/// A minimal valid account-token body: Account Settings Read + Account API Tokens Read on the account.
pub fn token_body(name: &str, account_id: &str) -> Value {
    let mut resources = serde_json::Map::new();
    resources.insert(account_resource(account_id), json!("*"));
    json!({
        "name": name,
        "policies": [{
            "effect": "allow",
            "permission_groups": [{ "id": PG_ACCOUNT_SETTINGS_READ }, { "id": PG_ACCOUNT_API_TOKENS_READ }],
            "resources": resources,
        }]
    })
}

/// A minimal valid user-token body: API Tokens Read + User Details Read on the user.
pub fn user_token_body(name: &str, user_id: &str) -> Value {
    let mut resources = serde_json::Map::new();
    resources.insert(format!("com.cloudflare.api.user.{user_id}"), json!("*"));
    json!({
        "name": name,
        "policies": [{
            "effect": "allow",
            "permission_groups": [{ "id": PG_API_TOKENS_READ }, { "id": PG_USER_DETAILS_READ }],
            "resources": resources,
        }]
    })
}

pub fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn assert_id(v: &Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what}: id must be a string, got {v}"));
    assert!(is_id(s), "{what}: id must be 32 lowercase hex, got {s:?}");
}

/// RFC 3339 UTC with `Z` and microseconds: `2026-11-25T12:21:02.123456Z`.
pub fn assert_timestamp(v: &Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what}: timestamp must be a string, got {v}"));
    let b = s.as_bytes();
    let shape_ok = b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..26]
            .into_iter()
            .all(|r| b[r].iter().all(u8::is_ascii_digit));
    assert!(
        shape_ok,
        "{what}: expected RFC 3339 UTC with microseconds and Z, got {s:?}"
    );
}

pub fn is_token_value(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Formats a time as RFC 3339 UTC with microseconds.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).expect("after 1970");
    let secs = d.as_secs() as i64;
    let micros = d.subsec_micros();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}Z")
}

pub fn in_secs(secs: i64) -> String {
    let now = SystemTime::now();
    let t = if secs >= 0 {
        now + Duration::from_secs(secs as u64)
    } else {
        now - Duration::from_secs(secs.unsigned_abs())
    };
    rfc3339(t)
}

/// A catalog data file of the project (`crates/portcullis-core/data/<name>`).
pub fn shared_data(name: &str) -> Value {
    // The project's own copy of the catalog data (shipped with its sources file).
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../portcullis-core/data")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Names of a JSON array of objects.
pub fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 (for the body-limit test, where a normal client may lose the early answer)
// ---------------------------------------------------------------------------------------------

pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Sends `head` (request line + headers, which must include `Expect: 100-continue` and a
/// Content-Length), then the body only if the server asks for it with `100 Continue`, and
/// returns the final response. Blocking; fine in a test because the server is another process.
pub fn raw_http_expect_continue(base: &str, head: &str, body: &[u8]) -> RawResponse {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("write head");
    let mut buf: Vec<u8> = Vec::new();
    let mut sent_body = false;
    let mut writer: Option<std::thread::JoinHandle<()>> = None;
    loop {
        let (head_end, status) = loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                let head_text = String::from_utf8_lossy(&buf[..pos]).to_string();
                let status = head_text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse::<u16>().ok())
                    .unwrap_or(0);
                break (pos + 4, status);
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "connection closed before a response head; got {:?}",
                    String::from_utf8_lossy(&buf)
                ),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!(
                    "read failed before a response head ({e}); got {:?}",
                    String::from_utf8_lossy(&buf)
                ),
            }
        };
        if status == 100 && !sent_body {
            buf.drain(..head_end);
            sent_body = true;
            let mut w = stream.try_clone().expect("clone stream");
            let owned = body.to_vec();
            writer = Some(std::thread::spawn(move || {
                let _ = w.write_all(&owned);
            }));
            continue;
        }
        let head_text = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let content_length = head_text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("content-length") {
                v.trim().parse::<usize>().ok()
            } else {
                None
            }
        });
        let mut rest = buf[head_end..].to_vec();
        let mut chunk = [0u8; 8192];
        while content_length.is_none_or(|n| rest.len() < n) {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
            }
        }
        drop(stream);
        if let Some(w) = writer {
            let _ = w.join();
        }
        return RawResponse {
            status,
            head: head_text,
            body: String::from_utf8_lossy(&rest).to_string(),
        };
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
