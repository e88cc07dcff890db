//! Settings: one struct with everything `serve` needs, layered from flags, environment, the
//! TOML file (`docs/portcullis.example.toml` documents every key) and defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use portcullis_api::{AuthzMode, ScopeShapeSetting};
use portcullis_store_postgres::PgSettings;
use serde::Deserialize;

/// Where `serve` listens when nothing says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// The embedded default database (created on first run).
pub const DEFAULT_DATABASE: &str = "sqlite://portcullis.db";

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free one).
    pub listen: String,
    /// Database URL.
    pub database: String,
    /// PostgreSQL pool settings.
    pub pg: PgSettings,
    /// Operator catalog file, if any.
    pub catalog: Option<PathBuf>,
    /// Route enforcement.
    pub authz: AuthzMode,
    /// SSO verification.
    pub sso: SsoConfig,
    /// Memory the policy and credential indexes may hold, in MiB.
    pub cache_memory_mb: usize,
    /// How responses show resource-group scopes.
    pub scope_shape: ScopeShapeSetting,
    /// A state file to load at start (`--fixtures`).
    pub fixtures: Option<PathBuf>,
    /// Delete everything stored before loading the fixtures (`--replace`).
    pub replace: bool,
    /// Serve `POST /__portcullis/reset` (`--allow-reset`; needs `fixtures`).
    pub allow_reset: bool,
    /// Requests per principal (`--rate-limit`).
    pub rate_limit: portcullis_api::RateLimitSetting,
    /// Serve HTTPS with this certificate chain and key (PEM files, `--tls-cert`/`--tls-key`).
    pub tls: Option<TlsFiles>,
    /// Serve `GET /metrics` on this address only (plain HTTP), not on `listen`.
    pub metrics_listen: Option<String>,
    /// Days audit entries are kept; 0 keeps them forever (`--audit-retention-days`).
    pub audit_retention_days: u32,
    /// Write committed audit entries to standard output as JSON lines (`--audit-stdout`).
    pub audit_stdout: bool,
    /// Serve the admin console (`--console`).
    pub console: portcullis_api::ConsoleSetting,
}

/// The default of `audit_retention_days`: a year, so that "who changed this, and when?" can
/// be answered for the last year. Cloudflare's v2 log serves 30 days.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;

/// The PEM files of `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// The default of `cache_memory_mb`.
pub const DEFAULT_CACHE_MEMORY_MB: usize = 256;

/// SSO verification settings.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// DNS servers (empty: the system's resolvers).
    pub dns_servers: Vec<SocketAddr>,
    /// Seconds between background checks of a pending connector.
    pub check_interval_secs: u64,
    /// Seconds a connector may stay pending.
    pub verification_window_secs: u64,
    /// Prefix of verification codes.
    pub code_prefix: String,
}

impl Default for SsoConfig {
    fn default() -> Self {
        Self {
            dns_servers: Vec::new(),
            check_interval_secs: 60,
            verification_window_secs: 172_800,
            code_prefix: "cloudflare_dashboard_sso".to_owned(),
        }
    }
}

impl Settings {
    /// Defaults with this database, listening on a free loopback port (tests, embedding).
    pub fn for_database(database: impl Into<String>) -> Self {
        Self {
            listen: "127.0.0.1:0".to_owned(),
            database: database.into(),
            pg: PgSettings::default(),
            catalog: None,
            authz: AuthzMode::Strict,
            sso: SsoConfig::default(),
            cache_memory_mb: DEFAULT_CACHE_MEMORY_MB,
            scope_shape: ScopeShapeSetting::Auto,
            fixtures: None,
            replace: false,
            allow_reset: false,
            rate_limit: portcullis_api::RateLimitSetting::Off,
            tls: None,
            metrics_listen: None,
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            audit_stdout: false,
            console: portcullis_api::ConsoleSetting::On,
        }
    }
}

/// The TOML configuration file; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Address to listen on (`--listen`).
    pub listen: Option<String>,
    /// Database URL (`--database`).
    pub database: Option<String>,
    /// Operator catalog file (`--catalog`).
    pub catalog: Option<PathBuf>,
    /// PostgreSQL pool size (`--db-max-connections`).
    pub db_max_connections: Option<u32>,
    /// PostgreSQL statement timeout in ms (`--db-statement-timeout-ms`).
    pub db_statement_timeout_ms: Option<u64>,
    /// Memory of the policy and credential indexes, in MiB (`--cache-memory-mb`).
    pub cache_memory_mb: Option<usize>,
    /// `list`, `object` or `auto` (`--scope-shape`).
    pub scope_shape: Option<String>,
    /// `off`, `cloudflare` or `N/SECONDS` (`--rate-limit`).
    pub rate_limit: Option<String>,
    /// Days audit entries are kept, 0 = forever (`--audit-retention-days`).
    pub audit_retention_days: Option<u32>,
    /// Audit entries also to standard output (`--audit-stdout`).
    pub audit_stdout: Option<bool>,
    /// `on` or `off` (`--console`).
    pub console: Option<String>,
}

impl ConfigFile {
    /// Reads `path` (none: every key absent).
    pub fn read(path: Option<&PathBuf>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
    }
}

/// PostgreSQL pool settings: the given values (flags or environment), then the file's, then
/// the defaults.
pub fn pg_settings(
    max_connections: Option<u32>,
    statement_timeout_ms: Option<u64>,
    file: &ConfigFile,
) -> PgSettings {
    let default = PgSettings::default();
    PgSettings {
        max_connections: max_connections
            .or(file.db_max_connections)
            .unwrap_or(default.max_connections),
        statement_timeout_ms: statement_timeout_ms
            .or(file.db_statement_timeout_ms)
            .unwrap_or(default.statement_timeout_ms),
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    /// The documented example names every key the file may hold.
    #[test]
    fn the_example_config_documents_every_key() {
        let text = include_str!("../../../docs/portcullis.example.toml");
        let file: ConfigFile = toml::from_str(&text.replace("# catalog =", "catalog ="))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(file.listen.is_some() && file.database.is_some() && file.catalog.is_some());
        assert!(file.db_max_connections.is_some() && file.db_statement_timeout_ms.is_some());
        assert_eq!(file.cache_memory_mb, Some(DEFAULT_CACHE_MEMORY_MB));
        assert_eq!(file.scope_shape.as_deref(), Some("auto"));
        assert_eq!(file.rate_limit.as_deref(), Some("off"));
        assert_eq!(file.console.as_deref(), Some("on"));
        assert_eq!(
            pg_settings(Some(3), None, &file),
            PgSettings {
                max_connections: 3,
                statement_timeout_ms: 10_000
            }
        );
    }
}
