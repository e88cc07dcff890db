//! `portcullis`: the server and its operator commands.
//!
//! The commands, flags and outputs below are a contract that tools outside the project drive:
//! `serve`, `bootstrap`, `user-key`, `migrate`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use portcullis_core::catalog::Catalog;
use portcullis_core::error::Conflict;
use portcullis_core::service::sso::SsoSettings;
use portcullis_core::service::Portcullis;
use portcullis_core::store::Store;
use portcullis_core::CoreError;
use portcullis_dns::SystemTxtResolver;
use portcullis_store_postgres::{PgSettings, PostgresStore};
use portcullis_store_sqlite::SqliteStore;
use serde::Deserialize;
use serde_json::json;

const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
const DEFAULT_DATABASE: &str = "sqlite://portcullis.db";

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "A self-hosted IAM server speaking Cloudflare's v4 IAM API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Pool settings: flags and environment, then the config file, then the defaults.
    fn pg_settings(&self, file: &ConfigFile) -> PgSettings {
        let default = PgSettings::default();
        PgSettings {
            max_connections: self
                .db_max_connections
                .or(file.db_max_connections)
                .unwrap_or(default.max_connections),
            statement_timeout_ms: self
                .db_statement_timeout_ms
                .or(file.db_statement_timeout_ms)
                .unwrap_or(default.statement_timeout_ms),
        }
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
        /// `db_statement_timeout_ms`); flags and environment win.
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
    },
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Address to listen on (`--listen`).
    listen: Option<String>,
    /// Database URL (`--database`).
    database: Option<String>,
    /// Operator catalog file (`--catalog`).
    catalog: Option<PathBuf>,
    /// PostgreSQL pool size (`--db-max-connections`).
    db_max_connections: Option<u32>,
    /// PostgreSQL statement timeout in ms (`--db-statement-timeout-ms`).
    db_statement_timeout_ms: Option<u64>,
}

/// Opens the store at `url`. A server (`serving`) also starts hearing the changes other
/// replicas make (PostgreSQL), which its policy index needs; one-shot commands do not.
async fn open_store(url: &str, pg: PgSettings, serving: bool) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::open_with(url, pg)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
        if serving {
            // Runs for the life of the process; stopped with the runtime.
            drop(store.hear_changes());
        }
        Ok(Arc::new(store))
    } else {
        bail!(
            "unsupported database URL `{}`: expected sqlite://FILE or postgres://…",
            redact_url(url)
        )
    }
}

fn load_catalog(path: Option<&PathBuf>) -> anyhow::Result<Arc<Catalog>> {
    let text = path
        .map(|p| {
            std::fs::read_to_string(p).with_context(|| format!("reading catalog {}", p.display()))
        })
        .transpose()?;
    Ok(Arc::new(Catalog::load(text.as_deref())?))
}

async fn app(db: &DatabaseArg) -> anyhow::Result<Portcullis> {
    let url = db
        .database
        .clone()
        .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
    Ok(Portcullis::new(
        open_store(&url, db.pg_settings(&ConfigFile::default()), false).await?,
        load_catalog(None)?,
    ))
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")?;
    out.flush()?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// The background SSO verifier: polls for due connectors (each is checked every
/// `--sso-check-interval` seconds; several replicas share the work through leases).
fn spawn_sso_verifier(app: Portcullis, interval: u64) {
    let poll = Duration::from_millis((interval.saturating_mul(1000) / 2).clamp(200, 5000));
    tokio::spawn(async move {
        loop {
            let jitter = rand_jitter(poll);
            tokio::time::sleep(jitter).await;
            match app.run_sso_checks(50).await {
                Ok(n) if n > 0 => tracing::debug!(checked = n, "SSO verifier round"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "SSO verifier round failed; retrying"),
            }
        }
    });
}

/// `base` ±20 %, from the clock's low bits (no need for a CSPRNG here).
fn rand_jitter(base: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.8 + f64::from(nanos % 1000) / 2500.0;
    base.mul_f64(factor)
}

async fn serve(
    listen: Option<String>,
    db: DatabaseArg,
    config: Option<PathBuf>,
    catalog: Option<PathBuf>,
    sso: SsoArgs,
    authz: portcullis_api::AuthzMode,
) -> anyhow::Result<()> {
    let file: ConfigFile = match &config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?
        }
        None => ConfigFile::default(),
    };
    let pg = db.pg_settings(&file);
    let listen = listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let url = db
        .database
        .or(file.database)
        .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
    let catalog = load_catalog(catalog.or(file.catalog).as_ref())?;
    let store = open_store(&url, pg, true).await?;
    let resolver = SystemTxtResolver::new(&sso.dns_server).map_err(|e| anyhow::anyhow!(e))?;
    let app = Portcullis::new(store, catalog)
        .with_authz(authz)
        .with_resolver(Arc::new(resolver))
        .with_sso_settings(SsoSettings {
            code_prefix: sso.sso_code_prefix.clone(),
            check_interval_secs: sso.sso_check_interval.max(1),
            window_secs: sso.sso_verification_window,
        });
    spawn_sso_verifier(app.clone(), sso.sso_check_interval.max(1));
    let router = portcullis_api::router(portcullis_api::AppState::new(app));
    tracing::info!(?authz, "authorization mode");
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %redact_url(&url), "listening");
    print_json_line(&format!("listening on http://{addr}"))?;
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("stopped");
    Ok(())
}

fn print_json_line(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Hides a password in a database URL before it is logged.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            config,
            catalog,
            sso,
            authz,
        } => {
            serve(listen, db, config, catalog, sso, authz).await?;
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
                Ok(out) => print_json(&json!({
                    "account_id": out.account_id.as_str(),
                    "user_id": out.user_id.as_str(),
                    "member_id": out.member_id.as_str(),
                    "email": out.email,
                    "api_key": out.api_key,
                    "api_token": out.api_token,
                    "api_token_id": out.api_token_id.as_str(),
                }))?,
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
            let (user, key) = app
                .user_key(&email, operator)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
            print_json(&json!({
                "user_id": user.id.as_str(),
                "email": user.email,
                "api_key": key,
            }))?;
        }
        Command::Migrate { db } => {
            app(&db).await?;
            eprintln!("portcullis migrate: database is up to date");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portcullis: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portcullis: {e:#}");
            ExitCode::from(1)
        }
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
        let db = DatabaseArg {
            database: None,
            db_max_connections: Some(3),
            db_statement_timeout_ms: None,
        };
        assert_eq!(
            db.pg_settings(&file),
            PgSettings {
                max_connections: 3,
                statement_timeout_ms: 10_000
            }
        );
    }
}
