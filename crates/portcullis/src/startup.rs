//! Building and running the server: [`Application::build`] opens the store, builds the
//! application and binds the listener (so the port is known before it serves);
//! [`Application::run_until_stopped`] serves until the shutdown future resolves.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum_server::tls_rustls::RustlsConfig;
use portcullis_core::catalog::Catalog;
use portcullis_core::service::sso::SsoSettings;
use portcullis_core::service::Portcullis;
use portcullis_core::store::Store;
use portcullis_dns::SystemTxtResolver;
use portcullis_store_postgres::{PgSettings, PostgresStore};
use portcullis_store_sqlite::SqliteStore;
use tokio::net::TcpListener;

use crate::config::Settings;

/// Loads `--fixtures` (merged, or after deleting everything with `--replace`); with
/// `--allow-reset`, the validated fixtures the reset endpoint restores.
async fn load_fixtures(
    app: &Portcullis,
    settings: &Settings,
    doc: Option<&portcullis_core::service::state::StateDocument>,
) -> anyhow::Result<Option<Arc<portcullis_core::state::State>>> {
    let (Some(path), Some(doc)) = (&settings.fixtures, doc) else {
        if settings.allow_reset {
            bail!("--allow-reset needs --fixtures FILE");
        }
        return Ok(None);
    };
    let mode = if settings.replace {
        portcullis_core::state::ImportMode::Replace
    } else {
        portcullis_core::state::ImportMode::Merge
    };
    let now = portcullis_core::time::Timestamp::now();
    let summary = app
        .load_document(doc, mode, now, "serve --fixtures")
        .await
        .map_err(|e| crate::state_file::invalid(path, &e))?;
    tracing::info!(
        file = %path.display(),
        added = summary.added,
        unchanged = summary.unchanged,
        "fixtures loaded"
    );
    if !settings.allow_reset {
        return Ok(None);
    }
    let fixtures = app
        .fixtures_of(doc, now)
        .map_err(|e| crate::state_file::invalid(path, &e))?;
    Ok(Some(Arc::new(fixtures)))
}

/// A built server: store open and migrated, listener bound, background verifier running.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    app: Portcullis,
    tls: Option<(crate::config::TlsFiles, RustlsConfig)>,
    metrics: Option<(TcpListener, axum::Router)>,
}

impl Application {
    /// Opens the store, builds the application, starts the SSO verifier and binds the
    /// listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let fixtures = settings
            .fixtures
            .as_ref()
            .map(|path| crate::state_file::read(path))
            .transpose()?;
        let catalog = load_catalog_layers(
            settings.catalog.as_ref(),
            fixtures.as_ref().and_then(|d| d.catalog_layer()),
        )?;
        let sink: Option<Arc<dyn portcullis_core::audit::AuditSink>> = if settings.audit_stdout {
            Some(Arc::new(crate::audit_stdout::StdoutSink))
        } else {
            None
        };
        let store = open_store(&settings.database, settings.pg, true, sink).await?;
        let resolver =
            SystemTxtResolver::new(&settings.sso.dns_servers).map_err(|e| anyhow::anyhow!(e))?;
        let interval = settings.sso.check_interval_secs.max(1);
        let app = Portcullis::new(store, catalog)
            .with_cache_budget(settings.cache_memory_mb.saturating_mul(1024 * 1024))
            .with_authz(settings.authz)
            .with_resolver(Arc::new(resolver))
            .with_sso_settings(SsoSettings {
                code_prefix: settings.sso.code_prefix.clone(),
                check_interval_secs: interval,
                window_secs: settings.sso.verification_window_secs,
            });
        let reset = load_fixtures(&app, &settings, fixtures.as_ref()).await?;
        spawn_sso_verifier(app.clone(), interval);
        spawn_use_writer(app.clone());
        spawn_audit_pruner(app.clone(), settings.audit_retention_days);
        let state = portcullis_api::AppState::new(app.clone())
            .with_scope_shape(settings.scope_shape)
            .with_rate_limit(settings.rate_limit)
            .with_reset(reset)
            .with_console(settings.console)
            .with_metrics_elsewhere(settings.metrics_listen.is_some());
        let metrics = match &settings.metrics_listen {
            None => None,
            Some(addr) => Some((
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding --metrics-listen {addr}"))?,
                portcullis_api::metrics_router(state.clone()),
            )),
        };
        let router = portcullis_api::router(state);
        tracing::info!(authz = ?settings.authz, "authorization mode");
        let listener = TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let tls = match &settings.tls {
            None => None,
            Some(files) => Some((files.clone(), tls_config(files).await?)),
        };
        tracing::info!(%addr, tls = tls.is_some(), database = %redact_url(&settings.database), "listening");
        Ok(Self {
            listener,
            router,
            addr,
            app,
            tls,
            metrics,
        })
    }

    /// Whether the database holds an account yet.
    pub async fn initialized(&self) -> bool {
        // A database that does not answer here fails the first request anyway: no hint then.
        self.app.initialized().await.unwrap_or(true)
    }

    /// The address of `GET /metrics` when it has its own (`--metrics-listen`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https` with `--tls-cert`, `http` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // One shutdown signal for the API and, with --metrics-listen, the metrics listener.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let when_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        };
        let metrics = self.metrics.map(|(listener, router)| {
            let until = when_stopped(stopped.clone());
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(until)
                    .await
            })
        });
        let shutdown = when_stopped(stopped);
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        match self.tls {
            None => {
                axum::serve(self.listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
            Some((files, config)) => {
                let handle = axum_server::Handle::new();
                let stopping = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    stopping.graceful_shutdown(Some(Duration::from_secs(30)));
                });
                let reloader = tokio::spawn(reload_tls(files, config.clone()));
                let listener = self.listener.into_std()?;
                axum_server::from_tcp_rustls(listener, config)?
                    .handle(handle)
                    .serve(service)
                    .await?;
                reloader.abort();
            }
        }
        if let Some(metrics) = metrics {
            if let Ok(Err(e)) = metrics.await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        }
        write_token_uses(&self.app).await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The TLS configuration of `files` (rustls with the `ring` provider; PEM files).
async fn tls_config(files: &crate::config::TlsFiles) -> anyhow::Result<RustlsConfig> {
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .with_context(|| {
            format!(
                "TLS: reading {} and {}",
                files.cert.display(),
                files.key.display()
            )
        })
}

/// When the certificate or key file changes (checked every 2 s) or on SIGHUP, loads them again:
/// new connections get the new certificate, open ones keep theirs. A pair that does not load is
/// logged and the previous one kept.
async fn reload_tls(files: crate::config::TlsFiles, config: RustlsConfig) {
    let stamp = |f: &crate::config::TlsFiles| {
        let m = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        (m(&f.cert), m(&f.key))
    };
    let mut seen = stamp(&files);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let signalled = async {
            #[cfg(unix)]
            if let Some(h) = hup.as_mut() {
                h.recv().await;
                return;
            }
            std::future::pending::<()>().await;
        };
        let by_signal = tokio::select! {
            () = signalled => true,
            () = tokio::time::sleep(Duration::from_secs(2)) => false,
        };
        let now = stamp(&files);
        if !by_signal && now == seen {
            continue;
        }
        seen = now;
        match config.reload_from_pem_file(&files.cert, &files.key).await {
            Ok(()) => tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded"),
            Err(e) => {
                tracing::error!(error = %e, "TLS certificate not reloaded; keeping the previous one")
            }
        }
    }
}

/// Opens the store at `url`. A server (`serving`) also starts hearing the changes other
/// replicas make (PostgreSQL), which its policy index needs; one-shot commands do not.
pub async fn open_store(
    url: &str,
    pg: PgSettings,
    serving: bool,
    audit_sink: Option<Arc<dyn portcullis_core::audit::AuditSink>>,
) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let mut store = SqliteStore::open(url)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
        if let Some(sink) = audit_sink {
            store = store.with_audit_sink(sink);
        }
        if serving {
            // Runs until the pool closes; stopped with the runtime.
            drop(store.hear_external_changes());
        }
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut store = PostgresStore::open_with(url, pg)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
        if let Some(sink) = audit_sink {
            store = store.with_audit_sink(sink);
        }
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

/// The built-in catalog, extended or replaced by the operator's file when given.
pub fn load_catalog(path: Option<&PathBuf>) -> anyhow::Result<Arc<Catalog>> {
    load_catalog_layers(path, None)
}

/// The catalog: built in, then the `--catalog` file, then a fixtures file's `catalog` entries.
fn load_catalog_layers(
    path: Option<&PathBuf>,
    fixtures: Option<String>,
) -> anyhow::Result<Arc<Catalog>> {
    let text = path
        .map(|p| {
            std::fs::read_to_string(p).with_context(|| format!("reading catalog {}", p.display()))
        })
        .transpose()?;
    let layers: Vec<&str> = text
        .as_deref()
        .into_iter()
        .chain(fixtures.as_deref())
        .collect();
    let from_fixtures = fixtures.is_some();
    Catalog::load_layers(&layers).map(Arc::new).map_err(|e| {
        if from_fixtures {
            anyhow::anyhow!("the catalog (--catalog file, then the fixtures' `catalog`): {e}")
        } else {
            e.into()
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
                Err(e) => tracing::warn!(error = %e.chain(), "SSO verifier round failed; retrying"),
            }
        }
    });
}

/// How often audit entries past their retention are deleted.
pub const AUDIT_PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Deletes audit entries older than `days` at start and every [`AUDIT_PRUNE_INTERVAL`] (every
/// replica does; deleting what another already deleted deletes nothing). 0: never.
fn spawn_audit_pruner(app: Portcullis, days: u32) {
    if days == 0 {
        return;
    }
    let retention = i64::from(days) * 86_400;
    tokio::spawn(async move {
        loop {
            match app.prune_audit_log(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "audit entries past retention deleted"),
                Err(e) => {
                    tracing::warn!(error = %e.chain(), "audit pruning failed; retrying later")
                }
            }
            tokio::time::sleep(AUDIT_PRUNE_INTERVAL).await;
        }
    });
}

/// Writes queued token uses (`last_used_on`) every [`USE_WRITE_INTERVAL`].
fn spawn_use_writer(app: Portcullis) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(USE_WRITE_INTERVAL).await;
            write_token_uses(&app).await;
        }
    });
}

/// How often queued token uses are written.
pub const USE_WRITE_INTERVAL: Duration = Duration::from_secs(1);

async fn write_token_uses(app: &Portcullis) {
    match app.flush_token_uses().await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(tokens = n, "token uses written"),
        Err(e) => tracing::warn!(error = %e.chain(), "token uses not written; dropped"),
    }
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

/// Hides a password in a database URL before it is logged.
pub fn redact_url(url: &str) -> String {
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
