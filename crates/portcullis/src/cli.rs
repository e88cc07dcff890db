//! The command line: `serve`, `bootstrap`, `user-key`, `migrate`. Their flags and outputs are a
//! contract that tools outside the project drive.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Parser, Subcommand};
use portcullis_core::error::Conflict;
use portcullis_core::ids::AccountId;
use portcullis_core::service::Portcullis;
use portcullis_core::state::ImportMode;
use portcullis_core::CoreError;
use portcullis_store_postgres::PgSettings;
use serde_json::json;

use crate::config::{
    pg_settings, ConfigFile, Settings, SsoConfig, DEFAULT_CACHE_MEMORY_MB, DEFAULT_DATABASE,
    DEFAULT_LISTEN,
};
use crate::startup::{load_catalog, open_store, shutdown_signal, Application};

/// The command line.
#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "A self-hosted IAM server speaking Cloudflare's v4 IAM API"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines on stderr: `text` (default) or `json` (one object per line, with the
    /// request id of every request line).
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message`, and the fields).
    Json,
}

impl Cli {
    /// The `--log-format` given (for the logger, set up before the command runs).
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }
}

#[derive(Args, Clone)]
struct DatabaseArg {
    /// Database URL: `sqlite://FILE` (created on first run), `sqlite::memory:`, or
    /// `postgres://USER@HOST:PORT/DB` (several replicas may share one PostgreSQL database).
    #[arg(long, env = "PORTCULLIS_DATABASE_URL")]
    database: Option<String>,
    /// PostgreSQL: connections in this process's pool (default 10).
    #[arg(long, env = "PORTCULLIS_DB_MAX_CONNECTIONS")]
    db_max_connections: Option<u32>,
    /// PostgreSQL: `statement_timeout` of every connection, in milliseconds (default 10000).
    #[arg(long, env = "PORTCULLIS_DB_STATEMENT_TIMEOUT_MS")]
    db_statement_timeout_ms: Option<u64>,
}

impl DatabaseArg {
    /// The database URL: flag or environment, then the file's, then the default.
    fn url(&self, file: &ConfigFile) -> String {
        self.database
            .clone()
            .or_else(|| file.database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned())
    }

    /// Pool settings: flags and environment, then the file's, then the defaults.
    fn pg(&self, file: &ConfigFile) -> PgSettings {
        pg_settings(self.db_max_connections, self.db_statement_timeout_ms, file)
    }
}

#[derive(Args, Clone)]
struct SsoArgs {
    /// DNS server for SSO domain verification, IP:PORT (repeatable; default: the system's
    /// resolvers). Environment: comma-separated.
    #[arg(
        long = "dns-server",
        env = "PORTCULLIS_DNS_SERVER",
        value_delimiter = ','
    )]
    dns_server: Vec<SocketAddr>,
    /// Seconds between background checks of a pending SSO connector (jittered).
    #[arg(long, env = "PORTCULLIS_SSO_CHECK_INTERVAL", default_value_t = 60)]
    sso_check_interval: u64,
    /// Seconds a connector may stay pending before it is marked failed (default 48 h).
    #[arg(
        long,
        env = "PORTCULLIS_SSO_VERIFICATION_WINDOW",
        default_value_t = 172_800
    )]
    sso_verification_window: u64,
    /// Prefix of SSO verification codes (`PREFIX=<32 hex>`).
    #[arg(
        long,
        env = "PORTCULLIS_SSO_CODE_PREFIX",
        default_value = "cloudflare_dashboard_sso"
    )]
    sso_code_prefix: String,
}

// Parsed once per process; `serve`'s many flags make its variant large, which costs nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on (`127.0.0.1:0` picks a free port; the chosen one is printed).
        #[arg(long, env = "PORTCULLIS_LISTEN")]
        listen: Option<String>,
        #[command(flatten)]
        db: DatabaseArg,
        /// TOML configuration file (`listen`, `database`, `catalog`, `db_max_connections`,
        /// `db_statement_timeout_ms`, `cache_memory_mb`); flags and environment win.
        #[arg(long, env = "PORTCULLIS_CONFIG")]
        config: Option<PathBuf>,
        /// Operator catalog file (JSON) extending or replacing the permission groups.
        #[arg(long, env = "PORTCULLIS_CATALOG")]
        catalog: Option<PathBuf>,
        #[command(flatten)]
        sso: SsoArgs,
        /// Enforcement of route permissions: `strict` (deny with 403), `soft` (allow, log what
        /// would be denied) or `off` (any authenticated principal of the account may act).
        #[arg(long, env = "PORTCULLIS_AUTHZ", default_value = "strict")]
        authz: portcullis_api::AuthzMode,
        /// Memory the in-memory indexes (policies, credentials) may hold, in MiB (default 256):
        /// past it the least recently used entries are evicted and read again when needed.
        #[arg(long, env = "PORTCULLIS_CACHE_MEMORY_MB", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
        cache_memory_mb: Option<u32>,
        /// How responses show a resource group's `scope`: `list` (the seed's one-element list),
        /// `object` (one object, as Python SDK 5.7+, npm 7.1+ and Terraform's provider v5 expect)
        /// or `auto` (the default: each official client gets the shape its version expects, read
        /// from its `X-Stainless-*` and `User-Agent` headers; any other client gets the list).
        #[arg(long, env = "PORTCULLIS_SCOPE_SHAPE")]
        scope_shape: Option<portcullis_api::ScopeShapeSetting>,
        /// A state file (JSON or YAML, docs/state-format.md) to load at start: its objects are
        /// added to what is stored (objects stored already with the same content are left
        /// alone; any other clash refuses to start), or replace it with `--replace`.
        #[arg(long, env = "PORTCULLIS_FIXTURES")]
        fixtures: Option<PathBuf>,
        /// With `--fixtures`: delete everything stored first.
        #[arg(long, requires = "fixtures")]
        replace: bool,
        /// Serve `GET /metrics` on this address (plain HTTP; `127.0.0.1:0` picks a port, printed
        /// as `metrics on http://ADDR`) instead of on `--listen`.
        #[arg(long, env = "PORTCULLIS_METRICS_LISTEN")]
        metrics_listen: Option<String>,
        /// Serve HTTPS: the certificate chain (PEM). Reloaded when the file changes or on
        /// SIGHUP, without dropping connections. Needs `--tls-key`.
        #[arg(long, env = "PORTCULLIS_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Serve HTTPS: the private key (PEM). Needs `--tls-cert`.
        #[arg(long, env = "PORTCULLIS_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Requests per principal: `off` (default), `cloudflare` (1,200 per 300 s) or
        /// `N/SECONDS`; past it, 429 with code 971 and `Retry-After`.
        #[arg(long, env = "PORTCULLIS_RATE_LIMIT")]
        rate_limit: Option<portcullis_api::RateLimitSetting>,
        /// With `--fixtures`: serve `POST /__portcullis/reset`, which returns the whole state to
        /// the fixtures (for test suites; an operator's global key from the fixtures).
        #[arg(long, env = "PORTCULLIS_ALLOW_RESET", requires = "fixtures")]
        allow_reset: bool,
        /// Days audit entries are kept (default 365; 0 keeps them forever). Older entries are
        /// deleted at start and every hour.
        #[arg(long, env = "PORTCULLIS_AUDIT_RETENTION_DAYS")]
        audit_retention_days: Option<u32>,
        /// Also write every audit entry, once committed, to standard output as one JSON object
        /// per line (for a SIEM).
        #[arg(long, env = "PORTCULLIS_AUDIT_STDOUT")]
        audit_stdout: bool,
        /// The admin console at `/console/` (`/` redirects there): `on` (default) or `off`.
        #[arg(long, env = "PORTCULLIS_CONSOLE")]
        console: Option<portcullis_api::ConsoleSetting>,
    },
    /// Load a state file (JSON or YAML) in one transaction: all or nothing. Objects stored
    /// already with the same content are left alone, so importing a file twice changes nothing;
    /// with `--replace` everything stored is deleted first.
    Import {
        /// The state file.
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
        /// Delete everything stored first (in the same transaction).
        #[arg(long)]
        replace: bool,
    },
    /// Write the stored state as a document (secrets only as hashes) to standard output, from
    /// one consistent read.
    Export {
        #[command(flatten)]
        db: DatabaseArg,
        /// Only this account (repeatable), with its members' users.
        #[arg(long = "account")]
        accounts: Vec<String>,
        /// `json` (default) or `yaml`.
        #[arg(long, value_enum, default_value_t)]
        format: crate::state_file::Format,
    },
    /// Print the JSON Schema of state files.
    StateSchema,
    /// Create the first account, its operator user (with an API key), their Super
    /// Administrator membership and a full-access account token; print them once as JSON.
    Bootstrap {
        #[command(flatten)]
        db: DatabaseArg,
        /// Name of the account to create.
        #[arg(long)]
        account_name: String,
        /// Email of the operator user.
        #[arg(long)]
        email: String,
        /// Add another account even though the database is already initialized.
        #[arg(long)]
        force_new_account: bool,
    },
    /// Create the user if missing and issue a new global API key (the old one stops working).
    UserKey {
        #[command(flatten)]
        db: DatabaseArg,
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Also make the user an operator (may create and delete accounts).
        #[arg(long)]
        operator: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseArg,
    },
}

/// `serve`'s settings from a command line (`["portcullis", "serve", …]`), parsed exactly as the
/// binary parses it (environment included): for embedding the server and for tests.
pub fn serve_settings<I, T>(args: I) -> anyhow::Result<Settings>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    settings_of(Cli::try_parse_from(args)?.command)
}

/// The layered settings of a `serve` command: flags and environment, then the config file,
/// then the defaults.
fn settings_of(command: Command) -> anyhow::Result<Settings> {
    let Command::Serve {
        listen,
        db,
        config,
        catalog,
        sso,
        authz,
        cache_memory_mb,
        scope_shape,
        fixtures,
        replace,
        allow_reset,
        rate_limit,
        tls_cert,
        tls_key,
        metrics_listen,
        audit_retention_days,
        audit_stdout,
        console,
    } = command
    else {
        bail!("not a `serve` command");
    };
    let file = ConfigFile::read(config.as_ref())?;
    Ok(Settings {
        listen: listen
            .or_else(|| file.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
        database: db.url(&file),
        pg: db.pg(&file),
        catalog: catalog.or_else(|| file.catalog.clone()),
        authz,
        sso: SsoConfig {
            dns_servers: sso.dns_server,
            check_interval_secs: sso.sso_check_interval,
            verification_window_secs: sso.sso_verification_window,
            code_prefix: sso.sso_code_prefix,
        },
        cache_memory_mb: cache_memory_mb
            .map(|m| m as usize)
            .or(file.cache_memory_mb)
            .unwrap_or(DEFAULT_CACHE_MEMORY_MB),
        scope_shape: match scope_shape {
            Some(s) => s,
            None => file
                .scope_shape
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: String| anyhow::anyhow!("config `scope_shape`: {e}"))?
                .unwrap_or_default(),
        },
        fixtures,
        replace,
        allow_reset,
        rate_limit: match rate_limit {
            Some(r) => r,
            None => file
                .rate_limit
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: String| anyhow::anyhow!("config `rate_limit`: {e}"))?
                .unwrap_or_default(),
        },
        metrics_listen,
        audit_retention_days: audit_retention_days
            .or(file.audit_retention_days)
            .unwrap_or(crate::config::DEFAULT_AUDIT_RETENTION_DAYS),
        audit_stdout: audit_stdout || file.audit_stdout.unwrap_or(false),
        console: match console {
            Some(c) => c,
            None => file
                .console
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: String| anyhow::anyhow!("config `console`: {e}"))?
                .unwrap_or_default(),
        },
        tls: match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(crate::config::TlsFiles { cert, key }),
            _ => None,
        },
    })
}

/// The application over the database of a one-shot command (no server, no listener).
async fn app(db: &DatabaseArg) -> anyhow::Result<Portcullis> {
    let file = ConfigFile::default();
    Ok(Portcullis::new(
        open_store(&db.url(&file), db.pg(&file), false, None).await?,
        load_catalog(None)?,
    ))
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    print_line(&value.to_string())
}

fn print_line(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Runs one command; the exit code it should end with.
/// How long `bootstrap` and `user-key` wait, when they replaced an existing user's key (or
/// operator flag), after their write before they answer: servers
/// running on the same database hear a changed key within it (SQLite: two of their polls of
/// the change counter; PostgreSQL: the NOTIFY, usually within milliseconds), so when the
/// command returns, an old key is refused everywhere.
const PROPAGATION: std::time::Duration = std::time::Duration::from_millis(250);

async fn propagated() {
    tokio::time::sleep(PROPAGATION).await;
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        serve @ Command::Serve { .. } => {
            let settings = settings_of(serve)?;
            let console = settings.console;
            let application = Application::build(settings).await?;
            print_line(&format!(
                "listening on {}://{}",
                application.scheme(),
                application.addr()
            ))?;
            if console == portcullis_api::ConsoleSetting::On {
                tracing::info!(
                    "admin console: {}://{}{}",
                    application.scheme(),
                    application.addr(),
                    portcullis_api::console::CONSOLE_PATH
                );
            }
            if !application.initialized().await {
                tracing::warn!(
                    "no account yet: create the first with `portcullis bootstrap --account-name NAME \
                     --email EMAIL` (same --database); it prints the api_token and account_id to \
                     sign in with"
                );
            }
            if let Some(addr) = application.metrics_addr() {
                print_line(&format!("metrics on http://{addr}"))?;
            }
            application.run_until_stopped(shutdown_signal()).await?;
        }
        Command::Bootstrap {
            db,
            account_name,
            email,
            force_new_account,
        } => {
            let app = app(&db).await?;
            match app
                .bootstrap(&account_name, &email, force_new_account)
                .await
            {
                Ok(out) => {
                    if out.replaced_key {
                        propagated().await;
                    }
                    print_json(&json!({
                    "account_id": out.account_id.as_str(),
                    "user_id": out.user_id.as_str(),
                    "member_id": out.member_id.as_str(),
                    "email": out.email,
                    "api_key": out.api_key,
                    "api_token": out.api_token,
                    "api_token_id": out.api_token_id.as_str(),
                    }))?;
                }
                Err(CoreError::Conflict(c @ Conflict::AlreadyInitialized)) => {
                    eprintln!("portcullis bootstrap: {c}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => bail!("{}", e.chain()),
            }
        }
        Command::UserKey {
            db,
            email,
            operator,
        } => {
            let app = app(&db).await?;
            let issued = app
                .user_key(&email, operator)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
            if issued.replaced {
                propagated().await;
            }
            print_json(&json!({
                "user_id": issued.user.id.as_str(),
                "email": issued.user.email,
                "api_key": issued.key,
            }))?;
        }
        Command::Import { file, db, replace } => {
            let doc = crate::state_file::read(&file)?;
            let app = app(&db).await?;
            let mode = if replace {
                ImportMode::Replace
            } else {
                ImportMode::Merge
            };
            let summary = app
                .import_document(&doc, mode)
                .await
                .map_err(|e| crate::state_file::invalid(&file, &e))?;
            // A server on the same database hears the change (its caches are emptied).
            propagated().await;
            print_json(&json!({
                "added": summary.added,
                "unchanged": summary.unchanged,
            }))?;
        }
        Command::Export {
            db,
            accounts,
            format,
        } => {
            let ids = accounts
                .iter()
                .map(|a| {
                    AccountId::parse(a).ok_or_else(|| {
                        anyhow::anyhow!("--account `{a}` is not an account id (32 lowercase hex)")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let app = app(&db).await?;
            let doc = app
                .export_document((!ids.is_empty()).then_some(ids.as_slice()))
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
            let mut out = std::io::stdout().lock();
            out.write_all(crate::state_file::render(&doc, format)?.as_bytes())?;
            out.flush()?;
        }
        Command::StateSchema => {
            let schema = portcullis_core::service::state::json_schema();
            print_line(&serde_json::to_string_pretty(&schema)?)?;
        }
        Command::Migrate { db } => {
            app(&db).await?;
            eprintln!("portcullis migrate: database is up to date");
        }
    }
    Ok(ExitCode::SUCCESS)
}
