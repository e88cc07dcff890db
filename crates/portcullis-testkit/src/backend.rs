//! The database a test runs on (`PORTCULLIS_TEST_BACKEND` = `sqlite` (default) | `postgres`): URLs, fresh PostgreSQL schemas and their cleanup.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

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
