//! SQLite adapter of the Portcullis storage boundary (the default backend).
//!
//! - One file (or `:memory:`), WAL journal, foreign keys on, a 10 s busy timeout. Not
//!   memory-mapped: it measured no faster here, and each connection's mapping counts in the
//!   process's RSS (and a container's memory) once per connection.
//! - One writer: every write is one `BEGIN IMMEDIATE` transaction on the one write connection,
//!   so concurrent writes queue for it (in order, asynchronously) instead of racing for the
//!   database's write lock and sleeping in busy waits; the busy timeout only matters for a
//!   command run next to the server. Reads use [`READERS`] other connections, which WAL lets
//!   read while the writer writes. Connections are not pinged before use.
//! - Caches: every change is made by this process, so `Store::revisions` is live from the start
//!   and changes are recorded as they commit.
//! - The SQL itself is shared with the PostgreSQL adapter (`crates/sql-shared`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::Ordering;

use portcullis_core::changes::{Change, Revisions};
use portcullis_core::error::{CoreError, CoreResult, StorageError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// What the shared SQL needs to know about SQLite.
mod backend {
    /// The database.
    pub type Db = sqlx::Sqlite;
    /// One connection.
    pub type Conn = sqlx::SqliteConnection;
    /// Starts a write transaction holding the write lock from the start.
    /// Starts a read transaction that sees one snapshot (WAL: from its first read on).
    /// The one write connection is a pool of its own.
    pub const SEPARATE_WRITER: bool = true;
    pub const BEGIN_SNAPSHOT: &str = "BEGIN";
    pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    /// Taken before a write inserts audit entries: nothing here (one writer already commits
    /// in `seq` order).
    pub const AUDIT_ORDER: &str = "";
    /// Written before an account predicate that must not choose the plan (SQLite's unary `+`):
    /// without statistics SQLite prefers an index on `account_id` over a list of primary keys,
    /// and would then read every row of the account to find a few.
    pub const UNINDEXED: &str = "+";
    /// Row locks: none needed, `BEGIN IMMEDIATE` already serializes writers.
    pub const FOR_UPDATE: &str = "";
    /// Claims skip rows other writers hold: not needed, writers are serialized.
    pub const SKIP_LOCKED: &str = "";

    /// The schema's name of the constraint `e` broke. SQLite names no constraint in its errors
    /// ("UNIQUE constraint failed: user_group.account_id, user_group.name_folded"), so the
    /// columns are mapped to the names the migrations give (the same as PostgreSQL's).
    pub fn constraint(e: &dyn sqlx::error::DatabaseError) -> Option<&'static str> {
        let columns = e.message().strip_prefix("UNIQUE constraint failed: ")?;
        Some(match columns {
            "app_user.email" => "app_user_email_unique",
            "member.account_id, member.user_id" => "member_account_user_unique",
            "user_group.account_id, user_group.name_folded" => "user_group_name_unique",
            "api_token.secret_hash" => "api_token_secret_unique",
            "sso_connector.account_id, sso_connector.email_domain" => "sso_connector_domain_unique",
            "sso_connector.email_domain" => "sso_connector_enabled_domain",
            _ => return None,
        })
    }

    /// One server process serves a SQLite file; the only other writers are the commands run
    /// next to it (`bootstrap`, `user-key`), whose writes that matter to a server's caches are
    /// `Everything` changes (a user's key or operator flag). Those bump `store_meta.generation`;
    /// `own` is the highest generation this process wrote, so its poller
    /// ([`super::SqliteStore::hear_external_changes`]) can tell another process's bump from its own.
    #[derive(Clone, Default)]
    pub struct Feed {
        pub own: std::sync::Arc<std::sync::atomic::AtomicI64>,
    }

    /// Bumps the generation for an `Everything` change, in the write's transaction.
    pub async fn announce(
        conn: &mut Conn,
        feed: &Feed,
        changes: &[portcullis_core::changes::Change],
    ) -> Result<(), sqlx::Error> {
        if changes.contains(&portcullis_core::changes::Change::Everything) {
            let (generation,): (i64,) = sqlx::query_as(
                "update store_meta set generation = generation + 1 where id = 1 returning generation",
            )
            .fetch_one(&mut *conn)
            .await?;
            feed.own
                .fetch_max(generation, std::sync::atomic::Ordering::AcqRel);
        }
        Ok(())
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

pub use groups::USER_GROUP_WITH_POLICIES;
pub use store::SqlStore as SqliteStore;

/// Read connections (each has its own worker thread in sqlx; WAL lets them read while the one
/// writer writes). Measured with `cargo bench -p portcullis --bench http`: see docs/benchmarks.md.
pub const READERS: u32 = 4;

/// How often a server looks for changes made by other processes.
pub const EXTERNAL_POLL: Duration = Duration::from_millis(100);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Versions of the embedded migrations, in order (for the cross-backend alignment test).
pub fn migration_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|m| m.version).collect()
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`, `sqlite::memory:`)
    /// and applies pending migrations.
    pub async fn open(url: &str) -> CoreResult<Self> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                CoreError::from(StorageError::caused_by(
                    format!("bad database URL `{url}`"),
                    e,
                ))
            })?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .synchronous(SqliteSynchronous::Normal)
            .journal_mode(if memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            });
        let opened = |connections: u32| {
            SqlitePoolOptions::new()
                .max_connections(connections)
                // A connection to a local file does not go stale: checking it before each use
                // would cost a round trip to its worker thread per query.
                .test_before_acquire(false)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options.clone())
        };
        let cannot_open =
            |e| CoreError::from(StorageError::caused_by(format!("cannot open `{url}`"), e));
        // One in-memory database lives in one connection, which reads and writes.
        let (pool, writer) = if memory {
            let pool = opened(1).await.map_err(cannot_open)?;
            (pool.clone(), pool)
        } else {
            let writer = opened(1).await.map_err(cannot_open)?;
            (opened(READERS).await.map_err(cannot_open)?, writer)
        };
        let store = Self {
            writer,
            pool,
            revisions: Arc::new(Revisions::new(true)),
            feed: backend::Feed::default(),
            audit_sink: None,
            write_waits: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> CoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| CoreError::from(StorageError::caused_by("migration failed", e)))
    }

    /// Polls `store_meta.generation` every [`EXTERNAL_POLL`] and records
    /// [`Change::Everything`] when another process (a command run next to this server) bumped
    /// it, so credentials and memberships it changed are not served from caches. Runs until the
    /// pool is closed. A server calls this once; one-shot commands do not.
    pub fn hear_external_changes(&self) -> tokio::task::JoinHandle<()> {
        let (pool, revisions, own) = (
            self.pool.clone(),
            Arc::clone(&self.revisions),
            Arc::clone(&self.feed.own),
        );
        tokio::spawn(async move {
            let mut seen: Option<i64> = None;
            while !pool.is_closed() {
                let read: Result<(i64,), _> =
                    sqlx::query_as("select generation from store_meta where id = 1")
                        .fetch_one(&pool)
                        .await;
                match read {
                    Ok((g,)) => {
                        let theirs = g > own.load(Ordering::Acquire);
                        if seen.is_some_and(|s| g > s) && theirs {
                            tracing::info!(
                                generation = g,
                                "another process changed credentials; caches dropped"
                            );
                            revisions.record(&[Change::Everything]);
                        }
                        seen = Some(g);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read store_meta; retrying"),
                }
                tokio::time::sleep(EXTERNAL_POLL).await;
            }
        })
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
