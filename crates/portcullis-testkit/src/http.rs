//! `TestApp` (a fresh, bootstrapped server and a client), credentials, requests, and the envelope checks every answer passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;
use tempfile::TempDir;

use crate::{backend::*, cli::*, server::*};

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
