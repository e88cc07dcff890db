//! PostgreSQL adapter of the Portcullis storage boundary: several stateless server replicas over
//! one database.
//!
//! - Transactions run at READ COMMITTED. Writes that must not interleave lock the row they
//!   change first (`select … for update` on the user group for membership changes), and
//!   uniqueness (group names, member emails, user emails) is enforced by unique indexes, so two
//!   replicas cannot both win. These locks are taken in one order (account, then group), so
//!   writers wait for each other instead of failing with serialization errors.
//! - Nothing is cached in the process: every read goes to the database, so once a write has
//!   returned, every replica serves the new state.
//! - Migrations take PostgreSQL's advisory lock (sqlx), so replicas starting together apply them
//!   once. A `search_path` given in the URL (`?options=-c%20search_path%3Dname`) selects the
//!   schema, created if missing.
//! - Pool: `PORTCULLIS_DB_MAX_CONNECTIONS` (default 10) connections per replica, each with
//!   `statement_timeout` = `PORTCULLIS_DB_STATEMENT_TIMEOUT_MS` (default 10000).
//! - The SQL itself is shared with the SQLite adapter (`crates/sql-adapter`).

use std::str::FromStr;
use std::time::Duration;

use portcullis_core::error::{CoreError, CoreResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Executor;

/// What the shared SQL needs to know about PostgreSQL.
mod backend {
    /// The database.
    pub type Db = sqlx::Postgres;
    /// One connection.
    pub type Conn = sqlx::PgConnection;
    /// Starts a write transaction (READ COMMITTED; rows are locked where needed).
    pub const BEGIN_WRITE: &str = "BEGIN";
    /// Locks the selected row until the transaction ends.
    pub const FOR_UPDATE: &str = " for update";
    /// Claims skip rows another replica is claiming.
    pub const SKIP_LOCKED: &str = " for update skip locked";
}

#[path = "../../sql-adapter/groups.rs"]
mod groups;
#[path = "../../sql-adapter/sso.rs"]
mod sso;
#[path = "../../sql-adapter/store.rs"]
mod store;

pub use store::SqlStore as PostgresStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Versions of the embedded migrations, in order (must equal SQLite's).
pub fn migration_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|m| m.version).collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
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
                return Err(CoreError::Unavailable(format!(
                    "search_path `{name}`: use a lower-case schema name of letters, digits and `_`"
                )));
            }
            return Ok(Some(name));
        }
    }
    Ok(None)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`), creates the `search_path` schema when one is named,
    /// and applies pending migrations.
    pub async fn open(url: &str) -> CoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| CoreError::Unavailable(format!("bad database URL: {e}")))?;
        let timeout_ms = env_number("PORTCULLIS_DB_STATEMENT_TIMEOUT_MS", 10_000);
        let max = u32::try_from(env_number("PORTCULLIS_DB_MAX_CONNECTIONS", 10)).unwrap_or(10);
        let pool = PgPoolOptions::new()
            .max_connections(max.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Some(Duration::from_secs(600)))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(format!("set statement_timeout = {timeout_ms}").as_str())
                        .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| CoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        if let Some(schema) = schema_of(url)? {
            // Replicas starting together may race here: `if not exists` can still collide on
            // PostgreSQL's catalog index, and then the schema exists, which is all we need.
            match pool
                .execute(format!("create schema if not exists {schema}").as_str())
                .await
            {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
                Err(e) => return Err(CoreError::Unavailable(format!("cannot create schema: {e}"))),
            }
        }
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (idempotent; serialized across replicas by an advisory lock).
    pub async fn migrate(&self) -> CoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| CoreError::Unavailable(format!("migration failed: {e}")))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
}
