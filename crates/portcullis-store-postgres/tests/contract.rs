//! The storage contract suite on PostgreSQL: each test gets a fresh schema, created and dropped
//! by the test. Needs `PORTCULLIS_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it every test prints that PostgreSQL was not tested and returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_core::store::Store;
use portcullis_store_postgres::PostgresStore;
use rand::Rng;
use sqlx::Executor;

/// Drops the test's schema when the test ends (pass or fail).
struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                    let _ = pool
                        .execute(format!("drop schema if exists {name} cascade").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

/// A store on a fresh schema, or `None` (after saying so) when PostgreSQL is not configured.
async fn fresh() -> Option<(Arc<dyn Store>, Schema)> {
    let Ok(url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") else {
        eprintln!("PostgreSQL NOT TESTED: PORTCULLIS_TEST_POSTGRES_URL is not set");
        return None;
    };
    let name = format!("pt_{:016x}", rand::thread_rng().gen::<u64>());
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{name}");
    let guard = Schema {
        url: url.clone(),
        name,
    };
    let store = PostgresStore::open(&scoped).await.unwrap_or_else(|e| {
        panic!("PORTCULLIS_TEST_POSTGRES_URL is set but PostgreSQL is unusable: {e}")
    });
    Some((Arc::new(store), guard))
}

macro_rules! pg_contract_tests {
    ($($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some((store, _schema)) = fresh().await {
                    portcullis_testkit::$name(store).await;
                }
            }
        )*
    };
}

pg_contract_tests!(
    accounts_round_trip,
    members_and_users,
    member_grants_and_policies,
    tokens_round_trip,
    resource_groups_in_use,
    user_groups_names_and_policies,
    group_members_semantics,
    concurrent_member_replaces_leave_one_set,
    member_add_racing_group_delete,
    account_delete_cascades,
    sso_connectors_and_claims,
    last_role_holder_survives_races
);

#[test]
fn migrations_align_with_sqlite() {
    assert_eq!(
        portcullis_store_postgres::migration_versions(),
        portcullis_store_sqlite::migration_versions(),
        "every migration needs a twin with the same version in both backends"
    );
    let names = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")),
        names(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../portcullis-store-sqlite/migrations"
        ))
    );
}
