//! PostgreSQL adapter of the Portcullis storage boundary: several stateless server replicas over
//! one database.
//!
//! - Transactions run at READ COMMITTED. Writes that must not interleave lock the row they
//!   change first (`select … for update` on the user group for membership changes), and
//!   uniqueness (group names, member emails, user emails) is enforced by unique indexes, so two
//!   replicas cannot both win. These locks are taken in one order (account, then group), so
//!   writers wait for each other instead of failing with serialization errors.
//! - Reads go to the database, so once a write has returned every replica serves the new
//!   state. What the policy index caches is kept true across replicas by announcements: every
//!   write that changes policies or tokens runs `pg_notify` inside its transaction, and each
//!   serving replica `LISTEN`s ([`PostgresStore::hear_changes`]) and records what the others
//!   changed; while it cannot hear them its caches are off.
//! - Migrations take PostgreSQL's advisory lock (sqlx), so replicas starting together apply them
//!   once. A `search_path` given in the URL (`?options=-c%20search_path%3Dname`) selects the
//!   schema, created if missing.
//! - Pool: [`PgSettings`] (default 10 connections per replica, each with `statement_timeout`
//!   10000 ms), given by the binary from its flags, environment or config file.
//! - The SQL itself is shared with the SQLite adapter (`crates/sql-shared`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::changes::{Change, Revisions};
use portcullis_core::error::{CoreError, CoreResult, StorageError};
use portcullis_core::ids::random_hex_id;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Executor;

/// What the shared SQL needs to know about PostgreSQL.
mod backend {
    use portcullis_core::changes::Change;

    /// The database.
    pub type Db = sqlx::Postgres;
    /// One connection.
    pub type Conn = sqlx::PgConnection;
    /// Starts a write transaction (READ COMMITTED; rows are locked where needed).
    /// Starts a read transaction that sees one snapshot (an export reads many tables).
    /// Writes use the read pool.
    pub const SEPARATE_WRITER: bool = false;
    pub const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    pub const BEGIN_WRITE: &str = "BEGIN";
    /// Taken before a write inserts audit entries, held until it commits: entries then commit
    /// in the order of their `seq` (see `sql-shared/audit.rs`). A transaction-scoped advisory
    /// lock; the key is an arbitrary fixed number.
    pub const AUDIT_ORDER: &str = "select pg_advisory_xact_lock(7061524530105116532)";
    /// The name of the constraint (or unique index) `e` broke, as the migrations name it.
    pub fn constraint(e: &dyn sqlx::error::DatabaseError) -> Option<&str> {
        e.constraint()
    }

    /// No hint needed: PostgreSQL plans from statistics.
    pub const UNINDEXED: &str = "";
    /// Locks the selected row until the transaction ends.
    pub const FOR_UPDATE: &str = " for update";
    /// Claims skip rows another replica is claiming.
    pub const SKIP_LOCKED: &str = " for update skip locked";

    /// Where this replica announces its changes and hears the others'.
    #[derive(Clone)]
    pub struct Feed {
        /// The `NOTIFY` channel of this database and schema.
        pub channel: String,
        /// This process's id in announcements (its own are not recorded twice).
        pub origin: String,
        /// How to open the listening connection.
        pub options: sqlx::postgres::PgConnectOptions,
    }

    /// The longest announcement sent (PostgreSQL's limit is 8,000 bytes).
    const MAX_PAYLOAD: usize = 7_000;

    /// Announces changes with `pg_notify` inside the transaction: PostgreSQL delivers the
    /// notification when (and only if) the transaction commits.
    pub async fn announce(
        tx: &mut Conn,
        feed: &Feed,
        changes: &[Change],
    ) -> Result<(), sqlx::Error> {
        let encode = |changes: &mut dyn Iterator<Item = String>| {
            let mut payload = feed.origin.clone();
            for change in changes {
                payload.push(' ');
                payload.push_str(&change);
            }
            payload
        };
        let mut payload = encode(&mut changes.iter().map(Change::encode));
        if payload.len() > MAX_PAYLOAD {
            // Too many to name (PostgreSQL refuses payloads of 8,000 bytes): the other
            // replicas drop whole accounts instead, or everything.
            let mut coarse: Vec<String> = changes.iter().map(|c| c.coarse().encode()).collect();
            coarse.sort_unstable();
            coarse.dedup();
            payload = encode(&mut coarse.into_iter());
            if payload.len() > MAX_PAYLOAD {
                payload = encode(&mut std::iter::once(Change::Everything.encode()));
            }
        }
        sqlx::query("select pg_notify($1, $2)")
            .bind(&feed.channel)
            .bind(payload)
            .execute(&mut *tx)
            .await
            .map(|_| ())
    }
}

#[path = "../../sql-shared/audit.rs"]
mod audit;
#[path = "../../sql-shared/groups.rs"]
mod groups;
#[path = "../../sql-shared/oauth_clients.rs"]
mod oauth_clients;
#[path = "../../sql-shared/sso.rs"]
mod sso;
#[path = "../../sql-shared/state.rs"]
mod state;
#[path = "../../sql-shared/store.rs"]
mod store;

pub use store::SqlStore as PostgresStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Versions of the embedded migrations, in order (must equal SQLite's).
pub fn migration_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|m| m.version).collect()
}

/// Pool settings of one replica; the binary reads them from its layered configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgSettings {
    /// Connections in the pool (at least 1).
    pub max_connections: u32,
    /// `statement_timeout` of every connection, in milliseconds.
    pub statement_timeout_ms: u64,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            statement_timeout_ms: 10_000,
        }
    }
}

/// The schema named by `search_path` in the URL's `options`, if any.
fn schema_of(url: &str) -> CoreResult<Option<String>> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(None);
    };
    for pair in query.split('&') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        if key != "options" {
            continue;
        }
        let decoded = value
            .replace("%20", " ")
            .replace("%3D", "=")
            .replace("%3d", "=")
            .replace('+', " ");
        if let Some(rest) = decoded.split("search_path=").nth(1) {
            let name: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != ',')
                .collect();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(CoreError::unavailable(format!(
                    "search_path `{name}`: use a lower-case schema name of letters, digits and `_`"
                )));
            }
            return Ok(Some(name));
        }
    }
    Ok(None)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) with the default pool settings, creates the
    /// `search_path` schema when one is named, and applies pending migrations.
    pub async fn open(url: &str) -> CoreResult<Self> {
        Self::open_with(url, PgSettings::default()).await
    }

    /// [`PostgresStore::open`] with these pool settings.
    pub async fn open_with(url: &str, settings: PgSettings) -> CoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| CoreError::from(StorageError::caused_by("bad database URL", e)))?;
        let pool_options = options.clone();
        let timeout_ms = settings.statement_timeout_ms;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Some(Duration::from_secs(600)))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(format!("set statement_timeout = {timeout_ms}").as_str())
                        .await?;
                    Ok(())
                })
            })
            .connect_with(pool_options)
            .await
            .map_err(|e| {
                CoreError::from(StorageError::caused_by("cannot connect to PostgreSQL", e))
            })?;
        if let Some(schema) = schema_of(url)? {
            // Replicas starting together may race here: `if not exists` can still collide on
            // PostgreSQL's catalog index, and then the schema exists, which is all we need.
            match pool
                .execute(format!("create schema if not exists {schema}").as_str())
                .await
            {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
                Err(e) => {
                    return Err(CoreError::from(StorageError::caused_by(
                        "cannot create schema",
                        e,
                    )))
                }
            }
        }
        let schema = schema_of(url)?;
        let store = Self {
            writer: pool.clone(),
            pool,
            revisions: Arc::new(Revisions::new(false)),
            feed: backend::Feed {
                channel: channel_name(schema.as_deref()),
                origin: random_hex_id(),
                options,
            },
            audit_sink: None,
            write_waits: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (idempotent; serialized across replicas by an advisory lock).
    pub async fn migrate(&self) -> CoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| CoreError::from(StorageError::caused_by("migration failed", e)))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts hearing the changes other replicas commit (`LISTEN` on one dedicated connection,
    /// outside the pool) and recording them in [`Store::revisions`]. Until it listens, and
    /// whenever the connection is lost, the revisions are not live and caches are bypassed;
    /// each (re)connection invalidates everything cached before, since changes may have been
    /// missed. A connection idle for 15 s is probed (`select 1`, 5 s), so one that died without
    /// a reset is noticed within about 20 s. Reconnects with a backoff of 100 ms doubling to 5 s.
    /// Runs until aborted.
    ///
    /// [`Store::revisions`]: portcullis_core::store::Store::revisions
    pub fn hear_changes(&self) -> tokio::task::JoinHandle<()> {
        let revisions = Arc::clone(&self.revisions);
        let channel = self.feed.channel.clone();
        let origin = self.feed.origin.clone();
        let options = self.feed.options.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match listen(&options, &channel).await {
                    Ok(mut listener) => {
                        revisions.set_live(true);
                        delay = Duration::from_millis(100);
                        tracing::info!(%channel, "hearing other replicas' changes");
                        let why = loop {
                            // `try_recv` is cancel-safe: an idle wait ends in a probe of the
                            // connection, so a silently dead one (no reset seen) is noticed.
                            match tokio::time::timeout(PROBE_AFTER_IDLE, listener.try_recv()).await
                            {
                                Ok(Ok(Some(n))) => apply(&revisions, &origin, n.payload()),
                                Ok(Ok(None)) => break "connection lost".to_owned(),
                                Ok(Err(e)) => break e.to_string(),
                                Err(_idle) => {
                                    let probe = sqlx::query("select 1").execute(&mut listener);
                                    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
                                        Ok(Ok(_)) => {}
                                        Ok(Err(e)) => break e.to_string(),
                                        Err(_) => break "the connection stopped answering".into(),
                                    }
                                }
                            }
                        };
                        revisions.set_live(false);
                        tracing::warn!(%channel, %why, "no longer hearing other replicas' changes; caches are off until reconnected");
                    }
                    Err(e) => {
                        tracing::warn!(%channel, error = %e, "cannot listen for other replicas' changes; caches stay off");
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        })
    }
}

/// How long the listening connection may be idle before it is probed.
const PROBE_AFTER_IDLE: Duration = Duration::from_secs(15);
/// How long a probe may take before the connection counts as lost.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The `NOTIFY` channel of a database's schema. Channels are per database, not per schema, so
/// the schema is part of the name (hashed when the name would pass PostgreSQL's 63 bytes).
fn channel_name(schema: Option<&str>) -> String {
    let Some(schema) = schema else {
        return "portcullis_changes".into();
    };
    let name = format!("portcullis_changes_{schema}");
    if name.len() <= 63 {
        return name;
    }
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = schema.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("portcullis_changes_{hash:016x}")
}

async fn listen(
    options: &PgConnectOptions,
    channel: &str,
) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.clone());
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
    // A lost connection is reported at once; this task reconnects and invalidates.
    listener.eager_reconnect(false);
    listener.listen(channel).await?;
    Ok(listener)
}

/// Records the changes of one announcement (`<origin> <change> …`) made by another process.
fn apply(revisions: &Revisions, own_origin: &str, payload: &str) {
    let mut parts = payload.split(' ');
    if parts.next() == Some(own_origin) {
        return;
    }
    let changes: Vec<Change> = parts.map(Change::decode).collect();
    revisions.record(&changes);
}

#[cfg(test)]
mod tests {
    use super::schema_of;

    #[test]
    fn schema_from_url() {
        let s = |u: &str| schema_of(u).ok().flatten();
        assert_eq!(s("postgres://h/db"), None);
        assert_eq!(
            s("postgres://h/db?options=-c%20search_path%3Dabc_1"),
            Some("abc_1".into())
        );
        assert_eq!(
            s("postgres://h/db?sslmode=disable&options=-c search_path=x"),
            Some("x".into())
        );
        assert!(schema_of("postgres://h/db?options=-c%20search_path%3DBad;drop").is_err());
    }

    #[test]
    fn channel_names_fit_and_differ_per_schema() {
        use super::channel_name;
        assert_eq!(channel_name(None), "portcullis_changes");
        assert_eq!(channel_name(Some("t1")), "portcullis_changes_t1");
        let long_a = "a".repeat(60);
        let long_b = format!("{}b", "a".repeat(59));
        assert!(channel_name(Some(&long_a)).len() <= 63);
        assert_ne!(channel_name(Some(&long_a)), channel_name(Some(&long_b)));
    }
}
