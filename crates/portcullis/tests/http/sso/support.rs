//! SSO test support: the DNS fixture process, a `portcullis serve` spawner that passes the SSO
//! flags (the foundation harness starts servers without extra flags), and SSO-specific helpers.
//! Process handling mirrors `helpers.rs` (`Server`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::helpers::{
    assert_id, assert_timestamp, bin, bootstrap, check_envelope, db_guard, db_url_for, http_client,
    is_id, str_field, Boot, Cred, Resp, SchemaGuard, Server,
};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The prefix of verification codes (`--sso-code-prefix` default).
pub const CODE_PREFIX: &str = "cloudflare_dashboard_sso=";

static PROC_SEQ: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------------
// Child processes that announce their address on stdout
// ---------------------------------------------------------------------------------------------

/// Spawns `cmd` (stderr to `log`), waits for a stdout line containing `marker` and returns the
/// child and the first word after the marker. Keeps draining stdout afterwards.
fn spawn_announcing(mut cmd: Command, what: &str, marker: &str, log: &Path) -> (Child, String) {
    let log_file = File::create(log).expect("create process log");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
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
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split(marker).nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    return (child, addr);
                }
                seen.push(line);
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = std::fs::read_to_string(log).unwrap_or_default();
                panic!(
                    "{what} did not print `{marker}ADDR` ({e:?}).\nstdout:\n{}\nstderr:\n{stderr}",
                    seen.join("\n")
                );
            }
        }
    }
}

fn kill_quietly(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// DNS fixture
// ---------------------------------------------------------------------------------------------

/// Where `portcullis-dns-fixture` lives: next to the `portcullis` binary (another crate builds it,
/// so Cargo gives no `CARGO_BIN_EXE_` for it).
pub fn fixture_bin() -> PathBuf {
    let p = Path::new(bin()).with_file_name(format!(
        "portcullis-dns-fixture{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        p.is_file(),
        "the DNS test fixture {} is missing: run `cargo build -p portcullis-dns` first \
         (scripts/test builds it)",
        p.display()
    );
    p
}

/// A running `portcullis-dns-fixture` answering TXT queries from a JSON file that the test
/// rewrites (the fixture re-reads it on every query).
pub struct DnsFixture {
    child: Child,
    /// `IP:PORT` (UDP).
    pub addr: String,
    records_path: PathBuf,
    records: Mutex<BTreeMap<String, Value>>,
    log: PathBuf,
}

impl DnsFixture {
    /// Starts the fixture with no records (every name is NXDOMAIN).
    pub fn start(dir: &Path) -> DnsFixture {
        let n = PROC_SEQ.fetch_add(1, Ordering::SeqCst);
        let records_path = dir.join(format!("dns-records-{n}.json"));
        std::fs::write(&records_path, "{}").expect("write DNS records");
        let log = dir.join(format!("dns-{n}.stderr"));
        let mut cmd = Command::new(fixture_bin());
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--records")
            .arg(&records_path);
        let (child, addr) =
            spawn_announcing(cmd, "portcullis-dns-fixture", "listening on udp://", &log);
        assert!(
            addr.parse::<std::net::SocketAddr>().is_ok(),
            "DNS fixture announced {addr:?}, not IP:PORT"
        );
        DnsFixture {
            child,
            addr,
            records_path,
            records: Mutex::new(BTreeMap::new()),
            log,
        }
    }

    fn write(&self, map: &BTreeMap<String, Value>) {
        // Write then rename, so a query never sees a half-written file.
        let tmp = self.records_path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(map).expect("json")).expect("write DNS records");
        std::fs::rename(&tmp, &self.records_path).expect("replace DNS records");
    }

    fn update(&self, name: &str, value: Option<Value>) {
        let mut map = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match value {
            Some(v) => map.insert(name.to_string(), v),
            None => map.remove(name),
        };
        self.write(&map);
    }

    /// `name` answers these TXT records.
    pub fn txt(&self, name: &str, values: &[&str]) {
        self.update(name, Some(json!(values)));
    }

    /// `name` answers with a failure: `SERVFAIL`, `REFUSED` or `TIMEOUT` (no answer).
    pub fn fail(&self, name: &str, how: &str) {
        self.update(name, Some(json!(how)));
    }

    /// `name` answers NXDOMAIN.
    pub fn remove(&self, name: &str) {
        self.update(name, None);
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for DnsFixture {
    fn drop(&mut self) {
        kill_quietly(&mut self.child);
    }
}

// ---------------------------------------------------------------------------------------------
// Server with SSO flags
// ---------------------------------------------------------------------------------------------

/// `--sso-check-interval` and `--sso-verification-window` (seconds).
#[derive(Clone, Copy, Debug)]
pub struct SsoOpts {
    pub interval: u64,
    pub window: u64,
}

impl SsoOpts {
    pub fn new(interval: u64, window: u64) -> SsoOpts {
        SsoOpts { interval, window }
    }
}

/// A `portcullis serve` with the SSO flags (the shared harness's server).
pub type SsoServer = Server;

/// Starts `serve` pointed at the DNS fixture, with the given SSO timings.
pub fn start_sso(dir: &Path, db_url: &str, dns: &str, opts: SsoOpts) -> SsoServer {
    let (interval, window) = (opts.interval.to_string(), opts.window.to_string());
    Server::start_with(
        dir,
        db_url,
        &[
            "--dns-server",
            dns,
            "--sso-check-interval",
            &interval,
            "--sso-verification-window",
            &window,
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// The app under test
// ---------------------------------------------------------------------------------------------

/// One DNS fixture and one `portcullis serve --dns-server <fixture> …` on a fresh, bootstrapped
/// database. Fields drop in order: the server first, the schema guard (PostgreSQL) last.
pub struct SsoApp {
    server: Option<SsoServer>,
    pub dns: DnsFixture,
    pub boot: Boot,
    pub db_url: String,
    pub client: reqwest::Client,
    pub opts: SsoOpts,
    pub dir: TempDir,
    _schema_guard: SchemaGuard,
}

impl SsoApp {
    pub fn spawn(opts: SsoOpts) -> SsoApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = db_url_for(dir.path());
        let guard = db_guard(&db_url);
        let boot = bootstrap(&db_url, "SSO", "admin@example.com", &[]);
        let dns = DnsFixture::start(dir.path());
        let server = start_sso(dir.path(), &db_url, &dns.addr, opts);
        SsoApp {
            server: Some(server),
            dns,
            boot,
            db_url,
            client: http_client(),
            opts,
            dir,
            _schema_guard: guard,
        }
    }

    pub fn base(&self) -> &str {
        &self.server.as_ref().expect("server is running").base
    }

    /// SIGTERMs the server and returns its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.server.take().expect("server is running").terminate()
    }

    /// Starts the server again on the same database and DNS fixture (possibly other SSO flags).
    pub fn restart(&mut self, opts: SsoOpts) {
        assert!(self.server.is_none(), "stop the server first");
        self.opts = opts;
        self.server = Some(start_sso(
            self.dir.path(),
            &self.db_url,
            &self.dns.addr,
            opts,
        ));
    }

    /// Server and DNS fixture logs, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- server stderr ---\n{}\n--- dns fixture stderr ---\n{}",
            self.server.as_ref().map(Server::stderr).unwrap_or_default(),
            self.dns.stderr()
        )
    }

    pub fn admin(&self) -> Cred {
        Cred::token(&self.boot.api_token)
    }

    pub fn admin_key(&self) -> Cred {
        Cred::key(&self.boot.email, &self.boot.api_key)
    }

    pub fn url(&self, api_path: &str) -> String {
        format!("{}/client/v4{}", self.base(), api_path)
    }

    /// `/accounts/<bootstrap account>/sso_connectors<rest>`
    pub fn sso(&self, rest: &str) -> String {
        sso_path(&self.boot.account_id, rest)
    }

    /// Sends a request (JSON body or none) and checks the envelope contract on the answer.
    pub async fn send(&self, method: Method, path: &str, cred: &Cred, body: Option<Value>) -> Resp {
        let url = self.url(path);
        let mut rb = apply(cred, self.client.request(method.clone(), &url));
        if let Some(b) = body {
            rb = rb.json(&b);
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
        let r = Resp {
            what: format!("{method} {url}"),
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        };
        check_envelope(&r);
        r
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, &self.admin(), None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, &self.admin(), Some(body))
            .await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, &self.admin(), Some(body))
            .await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, &self.admin(), None).await
    }

    /// `POST /accounts` as the bootstrap operator (email + global key); returns the account id.
    pub async fn create_account(&self, name: &str) -> String {
        let r = self
            .send(
                Method::POST,
                "/accounts",
                &self.admin_key(),
                Some(json!({ "name": name, "type": "standard" })),
            )
            .await;
        assert_eq!(r.status, 200, "{r}");
        str_field(r.ok(), "id")
    }

    // ---- SSO ---------------------------------------------------------------------------------

    /// `POST …/sso_connectors` with `{email_domain}` plus `begin_verification` when given.
    pub async fn create_sso(&self, domain: &str, begin: Option<bool>) -> Resp {
        let mut body = json!({ "email_domain": domain });
        if let Some(b) = begin {
            body["begin_verification"] = json!(b);
        }
        self.post(&self.sso(""), body).await
    }

    /// Creates a connector, asserts success and the connector shape; returns it.
    pub async fn create_ok(&self, domain: &str, begin: Option<bool>) -> Value {
        let r = self.create_sso(domain, begin).await;
        assert_eq!(r.status, 200, "{r}");
        check_connector(r.ok());
        r.ok().clone()
    }

    pub async fn get_sso(&self, id: &str) -> Value {
        let r = self.get(&self.sso(&format!("/{id}"))).await;
        assert_eq!(r.status, 200, "{r}");
        check_connector(r.ok());
        r.ok().clone()
    }

    pub async fn list_sso(&self) -> Vec<Value> {
        let r = self.get(&self.sso("")).await;
        let items = r.list().clone();
        for c in &items {
            check_connector(c);
        }
        items
    }

    /// `POST …/{id}/begin_verification` without a body.
    pub async fn begin(&self, id: &str) -> Resp {
        self.send(
            Method::POST,
            &self.sso(&format!("/{id}/begin_verification")),
            &self.admin(),
            None,
        )
        .await
    }

    /// `begin_verification`, asserting its envelope (api-decisions: the connector as `result`,
    /// one message with code 1000); returns (connector, message text).
    pub async fn begin_ok(&self, id: &str) -> (Value, String) {
        let r = self.begin(id).await;
        check_begin_envelope(&r)
    }

    /// `PATCH …/{id}` with `{enabled}`.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Resp {
        self.patch(&self.sso(&format!("/{id}")), json!({ "enabled": enabled }))
            .await
    }

    /// Polls `GET …/{id}` (every 100 ms) until the status is `want`; returns the connector and
    /// the time waited. Panics after `within`.
    pub async fn wait_status(&self, id: &str, want: &str, within: Duration) -> (Value, Duration) {
        let start = Instant::now();
        loop {
            let c = self.get_sso(id).await;
            if status(&c) == want {
                return (c, start.elapsed());
            }
            if start.elapsed() > within {
                panic!(
                    "connector {id} did not become `{want}` within {within:?}; last seen: {c}\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls `GET …/{id}` (every 200 ms) for `dur`, asserting that the status is `want` every time.
    pub async fn assert_status_for(&self, id: &str, want: &str, dur: Duration) -> Value {
        let start = Instant::now();
        loop {
            let c = self.get_sso(id).await;
            assert_eq!(
                status(&c),
                want,
                "connector {id} must stay `{want}` for {dur:?}, changed after {:?}: {c}\n{}",
                start.elapsed(),
                self.logs()
            );
            if start.elapsed() >= dur {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn apply(cred: &Cred, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match cred {
        Cred::Anon => rb,
        Cred::Token(t) => rb.header("Authorization", format!("Bearer {t}")),
        Cred::Key(e, k) => rb.header("X-Auth-Email", e).header("X-Auth-Key", k),
        Cred::Headers(h) => h.iter().fold(rb, |rb, (k, v)| rb.header(k, v)),
    }
}

/// `/accounts/{account}/sso_connectors<rest>`
pub fn sso_path(account: &str, rest: &str) -> String {
    format!("/accounts/{account}/sso_connectors{rest}")
}

pub fn status(c: &Value) -> String {
    c["verification"]["status"]
        .as_str()
        .unwrap_or_else(|| panic!("verification.status must be a string: {c}"))
        .to_string()
}

pub fn code(c: &Value) -> String {
    c["verification"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("verification.code must be a string: {c}"))
        .to_string()
}

pub fn id(c: &Value) -> String {
    str_field(c, "id")
}

/// The connector object: exactly the documented fields, with their types and formats.
pub fn check_connector(c: &Value) {
    let obj = c
        .as_object()
        .unwrap_or_else(|| panic!("a connector must be an object: {c}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_on",
            "email_domain",
            "enabled",
            "id",
            "updated_on",
            "use_fedramp_language",
            "verification"
        ],
        "connector fields: {c}"
    );
    assert_id(&c["id"], "connector id");
    assert_timestamp(&c["created_on"], "created_on");
    assert_timestamp(&c["updated_on"], "updated_on");
    assert!(
        c["updated_on"].as_str() >= c["created_on"].as_str(),
        "updated_on before created_on: {c}"
    );
    assert!(c["email_domain"].is_string(), "email_domain: {c}");
    assert!(c["enabled"].is_boolean(), "enabled: {c}");
    assert!(
        c["use_fedramp_language"].is_boolean(),
        "use_fedramp_language: {c}"
    );
    let v = c["verification"]
        .as_object()
        .unwrap_or_else(|| panic!("verification must be an object: {c}"));
    let mut vkeys: Vec<&str> = v.keys().map(String::as_str).collect();
    vkeys.sort_unstable();
    assert_eq!(vkeys, ["code", "status"], "verification fields: {c}");
    let code = code(c);
    assert!(
        code.strip_prefix(CODE_PREFIX).is_some_and(is_id),
        "verification.code must be `{CODE_PREFIX}<32 hex>`: {c}"
    );
    let st = status(c);
    assert!(
        ["awaiting", "pending", "verified", "failed"].contains(&st.as_str()),
        "verification.status: {c}"
    );
    if c["enabled"] == json!(true) {
        assert_eq!(st, "verified", "an enabled connector must be verified: {c}");
    }
}

/// The begin_verification answer: 200, `success: true`, no errors, one message with code 1000
/// and a text, the connector as `result`. Returns (connector, message text).
pub fn check_begin_envelope(r: &Resp) -> (Value, String) {
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.body["success"], json!(true), "{r}");
    assert_eq!(r.body["errors"], json!([]), "{r}");
    let msgs = r.body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("messages must be an array: {r}"));
    assert_eq!(
        msgs.len(),
        1,
        "begin_verification answers exactly one message: {r}"
    );
    assert_eq!(msgs[0]["code"], json!(1000), "message code: {r}");
    let text = msgs[0]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        !text.trim().is_empty(),
        "the message says what the lookup found: {r}"
    );
    check_connector(&r.body["result"]);
    (r.body["result"].clone(), text)
}

/// Asserts 400/1001 pointer `/enabled` whose message names the current state.
pub fn assert_enable_refused(r: &Resp, state: &str) {
    r.validation("/enabled");
    let named = r
        .errors()
        .iter()
        .filter(|e| e["source"]["pointer"] == json!("/enabled"))
        .any(|e| e["message"].as_str().is_some_and(|m| m.contains(state)));
    assert!(
        named,
        "the /enabled error must name the current state `{state}`: {r}"
    );
}

/// Asserts 409/1002 with `x-should-retry: false`.
pub fn assert_conflict(r: &Resp) {
    r.err(409, 1002);
    assert_eq!(
        r.header("x-should-retry").as_deref(),
        Some("false"),
        "409 carries x-should-retry: false: {r}"
    );
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
