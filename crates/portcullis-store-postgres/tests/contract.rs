//! The storage contract suite on PostgreSQL: each test gets a fresh schema, created and dropped
//! by the test. Needs `PORTCULLIS_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it every test prints that PostgreSQL was not tested and returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_core::changes::Dep;
use portcullis_core::ids::{AccountId, MemberId, UserGroupId, UserId};
use portcullis_core::model::{Grants, MemberStatus, UserGroup};
use portcullis_core::store::{NewMember, Store};
use portcullis_core::time::Timestamp;
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
    live(&store).await;
    Some((Arc::new(store), guard))
}

/// Starts hearing other processes' changes and waits until the store is live.
async fn live(store: &PostgresStore) {
    drop(store.hear_changes());
    wait_for(|| store.revisions().is_live(), "the store to go live").await;
}

async fn wait_for(mut done: impl FnMut() -> bool, what: &str) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
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
    last_role_holder_survives_races,
    changes_are_recorded,
    foreign_and_missing_writes_change_nothing,
    oauth_clients_round_trip,
    state_round_trip,
    audit_log
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

/// Two replicas (two stores on one schema): a change committed by one moves the other's stamp
/// once the announcement arrives; its own announcements are not recorded twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_replica() {
    let Some((a, schema)) = fresh().await else {
        return;
    };
    let scoped = format!(
        "{}{}options=-c%20search_path%3D{}",
        schema.url,
        if schema.url.contains('?') { '&' } else { '?' },
        schema.name
    );
    let b = PostgresStore::open(&scoped).await.unwrap();
    live(&b).await;
    let account = portcullis_core::model::Account {
        id: AccountId::random(),
        name: "Shared".into(),
        account_type: portcullis_core::model::AccountType::Standard,
        enforce_twofactor: false,
        abuse_contact_email: None,
        created_on: portcullis_core::time::Timestamp::now(),
    };
    let stamp = |s: &dyn Store| s.revisions().stamp().unwrap();
    let (before_a, before_b) = (stamp(&*a), stamp(&b));
    let whole = Dep::account(&account.id);
    a.create_account(
        &account,
        None,
        &portcullis_core::audit::AuditContext::cli("test"),
    )
    .await
    .unwrap();
    assert!(
        a.revisions().changed_since(before_a, whole),
        "recorded at once by the writer"
    );
    let took = wait_for(
        || b.revisions().changed_since(before_b, whole),
        "the other replica to hear the change",
    )
    .await;
    eprintln!("announcement heard by the other replica after {took:?}");
    // The writer hears its own announcement too, and ignores it: it recorded the change once.
    let after_a = stamp(&*a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stamp(&*a), after_a);

    // What changed is heard precisely: a new member, not the whole account.
    let before_b = stamp(&b);
    let now = Timestamp::now();
    let new_member = |i: usize| NewMember {
        id: MemberId::random(),
        new_user_id: UserId::random(),
        email: format!("replica{i}@example.com"),
        status: MemberStatus::Accepted,
        grants: Grants::Roles(Vec::new()),
        new_resource_groups: Vec::new(),
        now,
    };
    let m = a
        .create_member(
            &account.id,
            &new_member(0),
            &portcullis_core::audit::AuditContext::cli("test"),
        )
        .await
        .unwrap()
        .id;
    wait_for(
        || {
            b.revisions()
                .changed_since(before_b, Dep::member(&account.id, &m))
        },
        "the other replica to hear the new member",
    )
    .await;
    assert!(b
        .revisions()
        .changed_since(before_b, Dep::roster(&account.id)));
    assert!(!b.revisions().changed_since(before_b, whole));

    // Too many changes to name in one announcement: the other replica drops the account.
    let mut many = vec![m];
    for i in 1..=150 {
        many.push(
            a.create_member(
                &account.id,
                &new_member(i),
                &portcullis_core::audit::AuditContext::cli("test"),
            )
            .await
            .unwrap()
            .id,
        );
    }
    let group = UserGroup {
        id: UserGroupId::random(),
        account_id: account.id.clone(),
        name: "Many".into(),
        policies: Vec::new(),
        created_on: now,
        modified_on: now,
    };
    a.create_user_group(
        &group,
        &[],
        &portcullis_core::audit::AuditContext::cli("test"),
    )
    .await
    .unwrap();
    let before_b = stamp(&b);
    a.replace_group_members(
        &account.id,
        &group.id,
        &many,
        now,
        &portcullis_core::audit::AuditContext::cli("test"),
    )
    .await
    .unwrap();
    wait_for(
        || b.revisions().changed_since(before_b, whole),
        "the other replica to hear the account change",
    )
    .await;

    // One announcement can carry several changes: deleting the account drops its tokens too.
    let before = stamp(&b);
    assert!(a
        .delete_account(
            &account.id,
            &portcullis_core::audit::AuditContext::cli("test")
        )
        .await
        .unwrap());
    wait_for(
        || b.revisions().changed_since(before, Dep::tokens()),
        "the other replica to hear the tokens change",
    )
    .await;
    b.close().await;
}

/// A replica that loses its listening connection stops caching until it is back, and what it
/// cached before is stale afterwards (changes may have been missed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_turns_caches_off_until_it_is_back() {
    let Some((store, schema)) = fresh().await else {
        return;
    };
    let account = AccountId::random();
    let before = store.revisions().stamp();
    assert!(before.is_some());
    let pool = sqlx::PgPool::connect(&schema.url).await.unwrap();
    let channel = format!("portcullis_changes_{}", schema.name);
    let killed: Vec<(bool,)> =
        sqlx::query_as("select pg_terminate_backend(pid) from pg_stat_activity where query = $1")
            .bind(format!("LISTEN \"{channel}\""))
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(killed.len(), 1, "one listening connection per replica");
    wait_for(|| !store.revisions().is_live(), "the loss to be noticed").await;
    wait_for(|| store.revisions().is_live(), "the listener to come back").await;
    assert!(
        before.is_some_and(|s| store.revisions().changed_since(s, Dep::account(&account))),
        "everything cached before the loss is stale"
    );
}
