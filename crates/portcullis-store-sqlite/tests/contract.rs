//! The storage contract suite on SQLite (a fresh file database per test).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_core::store::Store;
use portcullis_store_sqlite::SqliteStore;

async fn fresh() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/contract.db", dir.path().display());
    let store = SqliteStore::open(&url).await.unwrap();
    (Arc::new(store), dir)
}

portcullis_testkit::contract_tests!(fresh());

#[test]
fn migration_versions_are_sequential() {
    let v = portcullis_store_sqlite::migration_versions();
    assert!(!v.is_empty());
    assert!(v.windows(2).all(|w| w[1] == w[0] + 1), "{v:?}");
}
