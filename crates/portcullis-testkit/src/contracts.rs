//! The storage contract suite: behaviour every [`Store`] adapter must show, written once against
//! the trait and run by each adapter's tests (SQLite and PostgreSQL) with a fresh database
//! per test. [`contract_tests!`] expands to one `#[tokio::test]` per contract.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_core::changes::{Dep, Stamp};
use portcullis_core::ids::{
    AccountId, MemberId, PolicyId, ResourceGroupId, SsoConnectorId, TokenId, UserGroupId, UserId,
};
use portcullis_core::model::{
    Access, Account, AccountType, ApiToken, Grants, GroupMemberFilter, MemberFilter, MemberOrder,
    MemberStatus, Policy, PolicyHolder, ResourceGroup, ResourceGroupDeletion, ResourceGroupUpdate,
    SsoConnector, SsoStatus, TokenCondition, TokenOwner, TokenPolicy, TokenState, UserGroup,
    UserGroupFilter,
};
use portcullis_core::page::{PageRequest, LARGE_LIST, SMALL_LIST};
use portcullis_core::store::{AccountChanges, KeepRole, MemberChanges, NewMember, NewToken, Store};
use portcullis_core::time::Timestamp;
use portcullis_core::CoreError;

/// Who the contract suite's writes are by (the audit log needs someone).
fn audit_cx() -> portcullis_core::audit::AuditContext {
    portcullis_core::audit::AuditContext::cli("contract-test")
}

/// A shared store handle.
pub type S = Arc<dyn Store>;

/// Expands to one `#[tokio::test]` per contract; `$make` is an async expression giving a fresh
/// `Arc<dyn Store>` (and may hold guards as a tuple `(store, guard)`).
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!(@each $make;
            accounts_round_trip, members_and_users, member_grants_and_policies, tokens_round_trip,
            resource_groups_in_use, user_groups_names_and_policies, group_members_semantics,
            concurrent_member_replaces_leave_one_set, member_add_racing_group_delete,
            account_delete_cascades, sso_connectors_and_claims, last_role_holder_survives_races,
            changes_are_recorded, foreign_and_missing_writes_change_nothing,
            oauth_clients_round_trip, state_round_trip, audit_log);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard) = $make.await;
                $crate::$name(store).await;
            }
        )*
    };
}

fn page(n: u64) -> PageRequest {
    PageRequest::new(Some(1), Some(n), LARGE_LIST)
}

async fn account(store: &S, name: &str) -> AccountId {
    let a = Account {
        id: AccountId::random(),
        name: name.into(),
        account_type: AccountType::Standard,
        enforce_twofactor: false,
        abuse_contact_email: None,
        created_on: Timestamp::now(),
    };
    store.create_account(&a, None, &audit_cx()).await.unwrap();
    a.id
}

fn new_member(email: &str, grants: Grants) -> NewMember {
    NewMember {
        id: MemberId::random(),
        new_user_id: UserId::random(),
        email: email.into(),
        status: MemberStatus::Accepted,
        grants,
        new_resource_groups: Vec::new(),
        now: Timestamp::now(),
    }
}

const ADMIN_ROLE: &str = "05784afa30c1afe1440e79d9351c7430";

async fn member(store: &S, account: &AccountId, email: &str) -> MemberId {
    store
        .create_member(
            account,
            &new_member(email, Grants::Roles(vec![ADMIN_ROLE.into()])),
            &audit_cx(),
        )
        .await
        .unwrap()
        .id
}

async fn resource_group(store: &S, account: &AccountId, objects: &[&str]) -> ResourceGroupId {
    let now = Timestamp::now();
    let g = ResourceGroup {
        id: ResourceGroupId::random(),
        account_id: account.clone(),
        name: "rg".into(),
        scope_key: format!("com.cloudflare.api.account.{account}"),
        objects: objects.iter().map(|s| (*s).to_owned()).collect(),
        created_on: now,
        modified_on: now,
    };
    store.create_resource_group(&g, &audit_cx()).await.unwrap();
    g.id
}

async fn user_group(
    store: &S,
    account: &AccountId,
    name: &str,
    policies: Vec<Policy>,
) -> UserGroupId {
    let now = Timestamp::now();
    let g = UserGroup {
        id: UserGroupId::random(),
        account_id: account.clone(),
        name: name.into(),
        policies,
        created_on: now,
        modified_on: now,
    };
    store.create_user_group(&g, &[], &audit_cx()).await.unwrap();
    g.id
}

fn policy(pg: &str, rg: &ResourceGroupId) -> Policy {
    Policy {
        id: PolicyId::random(),
        access: Access::Allow,
        permission_groups: vec![pg.into()],
        resource_groups: vec![rg.clone()],
    }
}

/// Accounts: create, read, list by membership and name, partial update, delete.
pub async fn accounts_round_trip(store: S) {
    let a = account(&store, "Alpha").await;
    let b = account(&store, "beta").await;
    let got = store.get_account(&a).await.unwrap().unwrap();
    assert_eq!(got.name, "Alpha");
    let all = store
        .list_accounts(None, None, false, PageRequest::new(None, None, SMALL_LIST))
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    assert_eq!(all.items[0].id, a, "ordered by name, case-insensitively");
    let backwards = store
        .list_accounts(None, None, true, PageRequest::new(None, None, SMALL_LIST))
        .await
        .unwrap();
    assert_eq!(backwards.items[0].id, b, "descending by name");
    let named = store
        .list_accounts(
            None,
            Some("BETA"),
            false,
            PageRequest::new(None, None, SMALL_LIST),
        )
        .await
        .unwrap();
    assert_eq!(named.items.len(), 1);
    assert_eq!(named.items[0].id, b);
    let m = member(&store, &b, "x@example.com").await;
    let user = store.get_member(&b, &m).await.unwrap().unwrap().user.id;
    let mine = store
        .list_accounts(
            Some(&user),
            None,
            false,
            PageRequest::new(None, None, SMALL_LIST),
        )
        .await
        .unwrap();
    assert_eq!(mine.total, 1);
    let changes = AccountChanges {
        name: Some("Gamma".into()),
        abuse_contact_email: Some(Some("abuse@example.com".into())),
        ..AccountChanges::default()
    };
    let updated = store
        .update_account(&a, &changes, &audit_cx())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "Gamma");
    assert_eq!(
        updated.abuse_contact_email.as_deref(),
        Some("abuse@example.com")
    );
    assert!(!updated.enforce_twofactor, "absent fields unchanged");
    let cleared = store
        .update_account(
            &a,
            &AccountChanges {
                abuse_contact_email: Some(None),
                ..AccountChanges::default()
            },
            &audit_cx(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.abuse_contact_email, None);
    assert_eq!(cleared.name, "Gamma");
    assert!(store
        .update_account(&AccountId::random(), &changes, &audit_cx())
        .await
        .unwrap()
        .is_none());
    assert!(store.delete_account(&a, &audit_cx()).await.unwrap());
    assert!(!store.delete_account(&a, &audit_cx()).await.unwrap());
    assert!(store.get_account(&a).await.unwrap().is_none());
    assert!(store.any_account().await.unwrap());
}

/// Members: one user per email across accounts, duplicate membership refused, list order.
pub async fn members_and_users(store: S) {
    let a = account(&store, "A").await;
    let b = account(&store, "B").await;
    let m1 = store
        .create_member(
            &a,
            &new_member("same@example.com", Grants::Roles(vec![ADMIN_ROLE.into()])),
            &audit_cx(),
        )
        .await
        .unwrap();
    let m2 = store
        .create_member(
            &b,
            &new_member("same@example.com", Grants::Roles(vec![ADMIN_ROLE.into()])),
            &audit_cx(),
        )
        .await
        .unwrap();
    assert_eq!(m1.user.id, m2.user.id, "a user is global");
    let dup = store
        .create_member(
            &a,
            &new_member("same@example.com", Grants::Roles(vec![ADMIN_ROLE.into()])),
            &audit_cx(),
        )
        .await;
    assert!(matches!(dup, Err(CoreError::Conflict(_))), "{dup:?}");
    for e in ["c@example.com", "b@example.com"] {
        member(&store, &a, e).await;
    }
    let filter = MemberFilter {
        status: None,
        order: MemberOrder::Email,
        descending: false,
    };
    let listed = store.list_members(&a, &filter, page(10)).await.unwrap();
    let emails: Vec<_> = listed.items.iter().map(|m| m.user.email.as_str()).collect();
    assert_eq!(
        emails,
        ["b@example.com", "c@example.com", "same@example.com"]
    );
    let filter = MemberFilter {
        status: Some(MemberStatus::Pending),
        ..filter
    };
    assert_eq!(
        store
            .list_members(&a, &filter, page(10))
            .await
            .unwrap()
            .total,
        0
    );
    let changed = store
        .update_member(
            &a,
            &m1.id,
            &MemberChanges {
                status: Some(MemberStatus::Pending),
                grants: None,
                keep_role: None,
                new_resource_groups: Vec::new(),
            },
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.status, MemberStatus::Pending);
    assert_eq!(changed.grants, Grants::Roles(vec![ADMIN_ROLE.into()]));
    assert_eq!(
        store.member_of(&a, &m1.user.id).await.unwrap().unwrap().id,
        m1.id
    );
    assert!(
        store.get_member(&b, &m1.id).await.unwrap().is_none(),
        "members are per account"
    );
    assert!(store
        .delete_member(&a, &m1.id, None, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_member(&a, &m1.id, None, &audit_cx())
        .await
        .unwrap());
    assert_eq!(
        store
            .count_accepted_with_role(&b, ADMIN_ROLE)
            .await
            .unwrap(),
        1
    );
}

/// Member policies are stored in order and replaced whole; a missing resource group is refused.
pub async fn member_grants_and_policies(store: S) {
    let a = account(&store, "A").await;
    let rg1 = resource_group(&store, &a, &["*"]).await;
    let rg2 = resource_group(&store, &a, &["com.cloudflare.api.account.zone.*"]).await;
    let policies = vec![policy("b", &rg2), policy("a", &rg1)];
    let m = store
        .create_member(
            &a,
            &new_member("p@example.com", Grants::Policies(policies.clone())),
            &audit_cx(),
        )
        .await
        .unwrap();
    assert_eq!(m.grants, Grants::Policies(policies.clone()));
    let bad = store
        .create_member(
            &a,
            &new_member(
                "q@example.com",
                Grants::Policies(vec![policy("a", &ResourceGroupId::random())]),
            ),
            &audit_cx(),
        )
        .await;
    assert!(bad.is_err());
    assert!(
        store
            .user_credentials("q@example.com")
            .await
            .unwrap()
            .is_none(),
        "nothing half-written"
    );
    let roles = Grants::Roles(vec![ADMIN_ROLE.into()]);
    let m = store
        .update_member(
            &a,
            &m.id,
            &MemberChanges {
                status: None,
                grants: Some(roles.clone()),
                keep_role: None,
                new_resource_groups: Vec::new(),
            },
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.grants, roles);
}

/// Tokens: insert, find by secret hash, list per owner, update, roll, delete.
pub async fn tokens_round_trip(store: S) {
    let a = account(&store, "A").await;
    let now = Timestamp::now();
    let mut resources = serde_json::Map::new();
    resources.insert(
        format!("com.cloudflare.api.account.{a}"),
        serde_json::json!("*"),
    );
    let token = ApiToken {
        id: TokenId::random(),
        owner: TokenOwner::Account(a.clone()),
        name: "t".into(),
        state: TokenState::Active,
        issued_on: now,
        modified_on: now,
        last_used_on: None,
        not_before: None,
        expires_on: Some(now.plus_seconds(3600)),
        condition: TokenCondition {
            request_ip_in: vec!["10.0.0.0/8".parse().unwrap()],
            request_ip_not_in: vec![],
        },
        policies: vec![TokenPolicy {
            id: PolicyId::random(),
            access: Access::Allow,
            permission_groups: vec!["x".into()],
            resources,
        }],
    };
    store
        .create_token(
            &NewToken {
                token: token.clone(),
                secret_hash: "h1".into(),
            },
            &audit_cx(),
        )
        .await
        .unwrap();
    let (found, hash) = store.find_token("h1").await.unwrap().unwrap();
    assert_eq!(found, token);
    assert_eq!(hash, "h1");
    let dup = store
        .create_token(
            &NewToken {
                token: ApiToken {
                    id: TokenId::random(),
                    ..token.clone()
                },
                secret_hash: "h1".into(),
            },
            &audit_cx(),
        )
        .await;
    assert!(dup.is_err(), "secret hashes are unique");
    let owner = TokenOwner::Account(a.clone());
    assert_eq!(
        store
            .list_tokens(&owner, PageRequest::new(None, None, SMALL_LIST))
            .await
            .unwrap()
            .total,
        1
    );
    assert!(store
        .get_token(&TokenOwner::Account(AccountId::random()), &token.id)
        .await
        .unwrap()
        .is_none());
    let mut changed = token.clone();
    changed.state = TokenState::Disabled;
    changed.name = "renamed".into();
    assert!(store.update_token(&changed, &audit_cx()).await.unwrap());
    assert_eq!(
        store
            .get_token(&owner, &token.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "renamed"
    );
    assert!(store
        .roll_token(&owner, &token.id, "h2", Timestamp::now(), &audit_cx())
        .await
        .unwrap());
    assert!(store.find_token("h1").await.unwrap().is_none());
    assert!(store.find_token("h2").await.unwrap().is_some());
    store
        .touch_tokens(&[(token.id.clone(), Timestamp::now())])
        .await
        .unwrap();
    assert!(store
        .get_token(&owner, &token.id)
        .await
        .unwrap()
        .unwrap()
        .last_used_on
        .is_some());
    assert!(store
        .delete_token(&owner, &token.id, &audit_cx())
        .await
        .unwrap());
    assert!(store.find_token("h2").await.unwrap().is_none());
}

/// A resource group used by a policy cannot be deleted; the holders are named.
pub async fn resource_groups_in_use(store: S) {
    let a = account(&store, "A").await;
    let rg = resource_group(&store, &a, &["*", "com.cloudflare.api.account.zone.*"]).await;
    let got = store
        .get_resource_groups(&a, std::slice::from_ref(&rg))
        .await
        .unwrap();
    assert_eq!(
        got[0].objects,
        ["*", "com.cloudflare.api.account.zone.*"],
        "objects keep their order"
    );
    let g = user_group(&store, &a, "Eng", vec![policy("pg", &rg)]).await;
    // A change its users' permission groups would not fit is refused, and nothing changes.
    let mut changed = got[0].clone();
    changed.objects = vec!["com.cloudflare.api.account.zone.1".into()];
    changed.name = "renamed".into();
    match store
        .update_resource_group(&changed, &["other".into(), "pg".into()], &audit_cx())
        .await
        .unwrap()
    {
        ResourceGroupUpdate::Incompatible(uses) => assert_eq!(
            uses,
            [(
                PolicyHolder::UserGroup(g.clone(), "Eng".into()),
                "pg".into()
            )]
        ),
        other => panic!("expected incompatible, got {other:?}"),
    }
    let kept = store
        .get_resource_groups(&a, std::slice::from_ref(&rg))
        .await
        .unwrap();
    assert_eq!(kept, got, "a refused change writes nothing");
    assert_eq!(
        store
            .update_resource_group(&changed, &["other".into()], &audit_cx())
            .await
            .unwrap(),
        ResourceGroupUpdate::Updated
    );
    let mut missing = changed.clone();
    missing.id = ResourceGroupId::random();
    assert_eq!(
        store
            .update_resource_group(&missing, &[], &audit_cx())
            .await
            .unwrap(),
        ResourceGroupUpdate::NotFound
    );
    match store
        .delete_resource_group(&a, &rg, &audit_cx())
        .await
        .unwrap()
    {
        ResourceGroupDeletion::InUse(holders) => assert_eq!(holders.len(), 1),
        other => panic!("expected in use, got {other:?}"),
    }
    assert!(store.delete_user_group(&a, &g, &audit_cx()).await.unwrap());
    assert_eq!(
        store
            .delete_resource_group(&a, &rg, &audit_cx())
            .await
            .unwrap(),
        ResourceGroupDeletion::Deleted
    );
    assert_eq!(
        store
            .delete_resource_group(&a, &rg, &audit_cx())
            .await
            .unwrap(),
        ResourceGroupDeletion::NotFound
    );
    let other = account(&store, "B").await;
    let rg2 = resource_group(&store, &other, &["*"]).await;
    assert!(
        store
            .get_resource_groups(&a, &[rg2])
            .await
            .unwrap()
            .is_empty(),
        "per account"
    );
}

/// User-group names are unique per account regardless of case; policies keep their order.
pub async fn user_groups_names_and_policies(store: S) {
    let a = account(&store, "A").await;
    let rg = resource_group(&store, &a, &["*"]).await;
    let p = vec![policy("z", &rg), policy("a", &rg)];
    let g = user_group(&store, &a, "Engineering", p.clone()).await;
    let now = Timestamp::now();
    let clash = UserGroup {
        id: UserGroupId::random(),
        account_id: a.clone(),
        name: "ENGINEERING".into(),
        policies: vec![],
        created_on: now,
        modified_on: now,
    };
    assert!(matches!(
        store.create_user_group(&clash, &[], &audit_cx()).await,
        Err(CoreError::Conflict(_))
    ));
    let b = account(&store, "B").await;
    store
        .create_user_group(
            &UserGroup {
                account_id: b.clone(),
                ..clash.clone()
            },
            &[],
            &audit_cx(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get_user_group(&a, &g)
            .await
            .unwrap()
            .unwrap()
            .policies,
        p
    );
    let other = user_group(&store, &a, "Ops", vec![]).await;
    let renamed = store
        .update_user_group(
            &a,
            &other,
            Some("engineering"),
            None,
            &[],
            Timestamp::now(),
            &audit_cx(),
        )
        .await;
    assert!(matches!(renamed, Err(CoreError::Conflict(_))));
    let replaced = store
        .update_user_group(
            &a,
            &g,
            None,
            Some(&p[1..]),
            &[],
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced.policies, p[1..].to_vec());
    assert_eq!(replaced.name, "Engineering");
    for name in ["alpha", "Beta", "gamma"] {
        user_group(&store, &a, name, vec![]).await;
    }
    let f = UserGroupFilter {
        fuzzy_name: Some("A".into()),
        ..UserGroupFilter::default()
    };
    let names: Vec<String> = store
        .list_user_groups(&a, &f, page(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["alpha", "Beta", "gamma"]);
    let f = UserGroupFilter {
        descending: true,
        ..UserGroupFilter::default()
    };
    let first = store
        .list_user_groups(&a, &f, PageRequest::new(Some(1), Some(2), LARGE_LIST))
        .await
        .unwrap();
    assert_eq!(first.total, 5);
    assert_eq!(first.items[0].name, "Ops");
    let past = store
        .list_user_groups(&a, &f, PageRequest::new(Some(9), Some(2), LARGE_LIST))
        .await
        .unwrap();
    assert!(past.items.is_empty());
    let f = UserGroupFilter {
        fuzzy_name: Some("%".into()),
        ..UserGroupFilter::default()
    };
    assert_eq!(
        store
            .list_user_groups(&a, &f, page(10))
            .await
            .unwrap()
            .total,
        0,
        "like wildcards are escaped"
    );
}

/// Group membership: idempotent add, all-or-nothing, replace, remove, cascade from members.
pub async fn group_members_semantics(store: S) {
    let a = account(&store, "A").await;
    let g = user_group(&store, &a, "G", vec![]).await;
    let m1 = member(&store, &a, "b@example.com").await;
    let m2 = member(&store, &a, "a@example.com").await;
    let before = store
        .get_user_group(&a, &g)
        .await
        .unwrap()
        .unwrap()
        .modified_on;
    let added = store
        .add_group_members(
            &a,
            &g,
            &[m1.clone(), m2.clone()],
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    let emails: Vec<_> = added.iter().map(|m| m.user.email.as_str()).collect();
    assert_eq!(emails, ["a@example.com", "b@example.com"]);
    let after = store
        .get_user_group(&a, &g)
        .await
        .unwrap()
        .unwrap()
        .modified_on;
    assert!(after > before, "membership changes move modified_on");
    let again = store
        .add_group_members(
            &a,
            &g,
            std::slice::from_ref(&m1),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let missing = MemberId::random();
    let m3 = member(&store, &a, "c@example.com").await;
    let r = store
        .add_group_members(
            &a,
            &g,
            &[m3.clone(), missing],
            Timestamp::now(),
            &audit_cx(),
        )
        .await;
    assert!(matches!(r, Err(CoreError::NotFound { .. })), "{r:?}");
    let f = GroupMemberFilter::default();
    assert_eq!(
        store
            .list_group_members(&a, &g, &f, page(10))
            .await
            .unwrap()
            .unwrap()
            .total,
        2,
        "nothing added"
    );
    let set = store
        .replace_group_members(
            &a,
            &g,
            std::slice::from_ref(&m3),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].member_id, m3);
    let f = GroupMemberFilter {
        fuzzy_email: Some("C@".into()),
        descending: false,
    };
    assert_eq!(
        store
            .list_group_members(&a, &g, &f, page(10))
            .await
            .unwrap()
            .unwrap()
            .total,
        1
    );
    assert!(store.get_group_member(&a, &g, &m3).await.unwrap().is_some());
    assert!(store.get_group_member(&a, &g, &m1).await.unwrap().is_none());
    assert!(store
        .remove_group_member(&a, &g, &m1, Timestamp::now(), &audit_cx())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .delete_member(&a, &m3, None, &audit_cx())
        .await
        .unwrap());
    let f = GroupMemberFilter::default();
    assert_eq!(
        store
            .list_group_members(&a, &g, &f, page(10))
            .await
            .unwrap()
            .unwrap()
            .total,
        0,
        "leaving the account leaves the groups"
    );
    assert!(store
        .replace_group_members(&a, &g, &[], Timestamp::now(), &audit_cx())
        .await
        .unwrap()
        .is_empty());
    let other = account(&store, "B").await;
    let foreign = member(&store, &other, "f@example.com").await;
    assert!(store
        .add_group_members(&a, &g, &[foreign], Timestamp::now(), &audit_cx())
        .await
        .is_err());
    assert!(store
        .list_group_members(&a, &UserGroupId::random(), &f, page(10))
        .await
        .unwrap()
        .is_none());
}

/// Two concurrent replaces of one group's members leave exactly one of the two sets.
pub async fn concurrent_member_replaces_leave_one_set(store: S) {
    let a = account(&store, "A").await;
    let g = user_group(&store, &a, "G", vec![]).await;
    let mut left = Vec::new();
    let mut right = Vec::new();
    for i in 0..20 {
        left.push(member(&store, &a, &format!("l{i:02}@example.com")).await);
        right.push(member(&store, &a, &format!("r{i:02}@example.com")).await);
    }
    for _ in 0..10 {
        let (s1, s2) = (store.clone(), store.clone());
        let (a1, a2, g1, g2) = (a.clone(), a.clone(), g.clone(), g.clone());
        let (l, r) = (left.clone(), right.clone());
        let t1 = tokio::spawn(async move {
            s1.replace_group_members(&a1, &g1, &l, Timestamp::now(), &audit_cx())
                .await
        });
        let t2 = tokio::spawn(async move {
            s2.replace_group_members(&a2, &g2, &r, Timestamp::now(), &audit_cx())
                .await
        });
        t1.await.unwrap().unwrap();
        t2.await.unwrap().unwrap();
        let f = GroupMemberFilter::default();
        let now: Vec<MemberId> = store
            .list_group_members(&a, &g, &f, page(100))
            .await
            .unwrap()
            .unwrap()
            .items
            .into_iter()
            .map(|m| m.member_id)
            .collect();
        let mut sorted_left = left.clone();
        sorted_left.sort();
        let mut sorted_right = right.clone();
        sorted_right.sort();
        let mut got = now.clone();
        got.sort();
        assert!(
            got == sorted_left || got == sorted_right,
            "a mix of both sets: {} members",
            got.len()
        );
    }
}

/// A member add racing a group delete: either the add failed with NotFound, or it ran first; in
/// both cases the group and all its membership rows are gone afterwards.
pub async fn member_add_racing_group_delete(store: S) {
    let a = account(&store, "A").await;
    let mut members = Vec::new();
    for i in 0..10 {
        members.push(member(&store, &a, &format!("m{i}@example.com")).await);
    }
    for round in 0..10 {
        let g = user_group(&store, &a, &format!("G{round}"), vec![]).await;
        let (s1, s2) = (store.clone(), store.clone());
        let (a1, a2, g1, g2) = (a.clone(), a.clone(), g.clone(), g.clone());
        let ms = members.clone();
        let add = tokio::spawn(async move {
            s1.add_group_members(&a1, &g1, &ms, Timestamp::now(), &audit_cx())
                .await
        });
        let del = tokio::spawn(async move { s2.delete_user_group(&a2, &g2, &audit_cx()).await });
        let added = add.await.unwrap();
        assert!(del.await.unwrap().unwrap());
        match added {
            Ok(list) => assert_eq!(list.len(), members.len()),
            Err(CoreError::NotFound { kind, .. }) => assert_eq!(kind, "user group"),
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert!(store.get_user_group(&a, &g).await.unwrap().is_none());
        assert!(store
            .list_group_members(&a, &g, &GroupMemberFilter::default(), page(10))
            .await
            .unwrap()
            .is_none());
        // Re-creating a group with the same id would expose orphan rows; it must start empty.
        let now = Timestamp::now();
        let again = UserGroup {
            id: g.clone(),
            account_id: a.clone(),
            name: format!("again {round}"),
            policies: vec![],
            created_on: now,
            modified_on: now,
        };
        store
            .create_user_group(&again, &[], &audit_cx())
            .await
            .unwrap();
        assert_eq!(
            store
                .list_group_members(&a, &g, &GroupMemberFilter::default(), page(10))
                .await
                .unwrap()
                .unwrap()
                .total,
            0
        );
    }
}

/// Deleting an account removes everything in it, including policies on resource groups.
pub async fn account_delete_cascades(store: S) {
    let a = account(&store, "A").await;
    let rg = resource_group(&store, &a, &["*"]).await;
    let g = user_group(&store, &a, "G", vec![policy("pg", &rg)]).await;
    let m = store
        .create_member(
            &a,
            &new_member("p@example.com", Grants::Policies(vec![policy("pg", &rg)])),
            &audit_cx(),
        )
        .await
        .unwrap();
    store
        .add_group_members(
            &a,
            &g,
            std::slice::from_ref(&m.id),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    assert!(store.delete_account(&a, &audit_cx()).await.unwrap());
    assert!(store.get_user_group(&a, &g).await.unwrap().is_none());
    assert!(store.get_member(&a, &m.id).await.unwrap().is_none());
    assert!(store
        .get_resource_groups(&a, &[rg])
        .await
        .unwrap()
        .is_empty());
    assert!(
        store
            .user_credentials("p@example.com")
            .await
            .unwrap()
            .is_some(),
        "users are global and stay"
    );
}

fn connector(account: &AccountId, domain: &str, status: SsoStatus) -> SsoConnector {
    let now = Timestamp::now();
    SsoConnector {
        id: SsoConnectorId::random(),
        account_id: account.clone(),
        email_domain: domain.into(),
        enabled: false,
        use_fedramp_language: false,
        code: format!("cloudflare_dashboard_sso={}", SsoConnectorId::random()),
        status,
        pending_since: (status == SsoStatus::Pending).then_some(now),
        next_check_at: (status == SsoStatus::Pending).then_some(now),
        dns_failures: 0,
        created_on: now,
        updated_on: now,
    }
}

/// SSO connectors: one per domain per account, one enabled per domain across accounts, and
/// verifier claims that lease a connector to one checker at a time.
pub async fn sso_connectors_and_claims(store: S) {
    let a = account(&store, "A").await;
    let b = account(&store, "B").await;
    let mut ca = connector(&a, "example.com", SsoStatus::Verified);
    store.create_sso(&ca, &audit_cx()).await.unwrap();
    let dup = store
        .create_sso(
            &connector(&a, "example.com", SsoStatus::Awaiting),
            &audit_cx(),
        )
        .await;
    assert!(matches!(dup, Err(CoreError::Conflict(_))), "{dup:?}");
    let mut cb = connector(&b, "example.com", SsoStatus::Verified);
    store.create_sso(&cb, &audit_cx()).await.unwrap();
    ca.enabled = true;
    assert!(store.update_sso(&ca, &audit_cx()).await.unwrap());
    cb.enabled = true;
    let clash = store.update_sso(&cb, &audit_cx()).await;
    assert!(matches!(clash, Err(CoreError::Conflict(_))), "{clash:?}");
    ca.enabled = false;
    store.update_sso(&ca, &audit_cx()).await.unwrap();
    assert!(
        store.update_sso(&cb, &audit_cx()).await.unwrap(),
        "free once the other is disabled"
    );
    assert!(store.get_sso(&b, &cb.id).await.unwrap().unwrap().enabled);

    let pending = connector(&a, "pending.example", SsoStatus::Pending);
    store.create_sso(&pending, &audit_cx()).await.unwrap();
    let now = Timestamp::now().plus_seconds(1);
    let claimed = store
        .claim_sso_checks(now, now.plus_seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, pending.id);
    assert!(
        store
            .claim_sso_checks(now, now.plus_seconds(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let mut checked = claimed[0].clone();
    checked.status = SsoStatus::Verified;
    checked.next_check_at = None;
    assert!(store.record_sso_check(&checked, &audit_cx()).await.unwrap());
    assert!(
        !store.record_sso_check(&checked, &audit_cx()).await.unwrap(),
        "only pending connectors are recorded"
    );
    assert_eq!(
        store
            .get_sso(&a, &pending.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        SsoStatus::Verified
    );
    let later = now.plus_seconds(120);
    assert!(store
        .claim_sso_checks(later, later.plus_seconds(60), 10)
        .await
        .unwrap()
        .is_empty());
    let listed: Vec<String> = store
        .list_sso(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.email_domain)
        .collect();
    assert_eq!(listed, ["example.com", "pending.example"]);
    assert!(store
        .delete_sso(&a, &pending.id, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_sso(&a, &pending.id, &audit_cx())
        .await
        .unwrap());
    assert!(store.delete_account(&b, &audit_cx()).await.unwrap());
    assert!(store.get_sso(&b, &cb.id).await.unwrap().is_none());
}

/// Two concurrent demotions of an account's last two Super Administrators: exactly one passes,
/// and the account keeps one (the rule is checked inside the write's transaction).
pub async fn last_role_holder_survives_races(store: S) {
    const SUPER: &str = "33666b9c79b9a5273fc7344ff42f953d";
    let keep = KeepRole {
        id: SUPER.into(),
        name: "Super Administrator - All Privileges".into(),
    };
    for round in 0..10 {
        let a = account(&store, &format!("A{round}")).await;
        let mut ids = Vec::new();
        for i in 0..2 {
            let m = store
                .create_member(
                    &a,
                    &new_member(
                        &format!("sa{i}@example.com"),
                        Grants::Roles(vec![SUPER.into()]),
                    ),
                    &audit_cx(),
                )
                .await
                .unwrap();
            ids.push(m.id);
        }
        let demote = |id: MemberId| {
            let (s, a, keep) = (store.clone(), a.clone(), keep.clone());
            tokio::spawn(async move {
                let c = MemberChanges {
                    status: None,
                    grants: Some(Grants::Roles(vec![ADMIN_ROLE.into()])),
                    keep_role: Some(keep),
                    new_resource_groups: Vec::new(),
                };
                s.update_member(&a, &id, &c, Timestamp::now(), &audit_cx())
                    .await
            })
        };
        let (r1, r2) = (demote(ids[0].clone()), demote(ids[1].clone()));
        let results = [r1.await.unwrap(), r2.await.unwrap()];
        let passed = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(passed, 1, "round {round}: {results:?}");
        assert_eq!(store.count_accepted_with_role(&a, SUPER).await.unwrap(), 1);
        // The last one cannot be deleted either.
        let last = if results[0].is_err() {
            &ids[0]
        } else {
            &ids[1]
        };
        assert!(store
            .delete_member(&a, last, Some(&keep), &audit_cx())
            .await
            .is_err());
        assert!(
            store.get_member(&a, last).await.unwrap().is_some(),
            "nothing half-done"
        );
    }
}

/// Caches stay true: every write records, once committed, exactly what it changed (a member, a
/// user group, a resource group, the roster, a token, or a whole account), and nothing about
/// anything else; reads, token uses and failed writes record nothing. The store must be live.
pub async fn changes_are_recorded(store: S) {
    let a = account(&store, "Changes").await;
    let other = account(&store, "Unrelated").await;
    let r = store.revisions();
    let stamp = || {
        let s = r.stamp();
        assert!(s.is_some(), "the store must be live for this contract");
        s.unwrap()
    };
    // `changed`: what `what` must have recorded since `s`; `kept`: what it must not have.
    let recorded = |what: &str, s: Stamp, changed: &[(&str, Dep)], kept: &[(&str, Dep)]| {
        for (name, dep) in changed {
            assert!(
                r.changed_since(s, *dep),
                "{what} must record a change of {name}"
            );
        }
        for (name, dep) in kept {
            assert!(
                !r.changed_since(s, *dep),
                "{what} must not record a change of {name}"
            );
        }
    };
    let moves_nothing = |what: &str, s: Stamp| {
        assert_eq!(r.stamp(), Some(s), "{what} must record no change");
    };
    let whole = |acc: &AccountId| ("the whole account", Dep::account(acc));
    let roster = ("the roster", Dep::roster(&a));
    let elsewhere = [
        ("another account", Dep::account(&other)),
        ("another account's roster", Dep::roster(&other)),
        ("the tokens", Dep::tokens()),
    ];

    let s = stamp();
    let m = member(&store, &a, "changes@example.com").await;
    let m2 = member(&store, &a, "changes2@example.com").await;
    let the_member = ("the member", Dep::member(&a, &m));
    let the_other_member = ("another member", Dep::member(&a, &m2));
    recorded("create_member", s, &[roster, the_member], &elsewhere);
    recorded("create_member", s, &[], &[whole(&a)]);
    let s = stamp();
    store
        .update_member(
            &a,
            &m,
            &MemberChanges {
                status: None,
                grants: Some(Grants::Roles(vec![ADMIN_ROLE.into()])),
                keep_role: None,
                new_resource_groups: Vec::new(),
            },
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    recorded(
        "update_member",
        s,
        &[the_member],
        &[roster, whole(&a), the_other_member],
    );
    let s = stamp();
    let rg = resource_group(&store, &a, &["*"]).await;
    let the_rg = ("the resource group", Dep::resource_group(&a, &rg));
    recorded(
        "create_resource_group",
        s,
        &[the_rg],
        &[whole(&a), the_member],
    );
    let s = stamp();
    let mut group = store
        .get_resource_groups(&a, std::slice::from_ref(&rg))
        .await
        .unwrap()
        .remove(0);
    group.objects = vec!["com.cloudflare.api.account.zone.*".into()];
    assert_eq!(
        store
            .update_resource_group(&group, &[], &audit_cx())
            .await
            .unwrap(),
        ResourceGroupUpdate::Updated
    );
    recorded(
        "update_resource_group",
        s,
        &[the_rg],
        &[whole(&a), the_member, roster],
    );
    let s = stamp();
    let g = user_group(&store, &a, "Changes", vec![]).await;
    let the_group = ("the user group", Dep::group(&a, &g));
    recorded(
        "create_user_group",
        s,
        &[the_group],
        &[whole(&a), the_member],
    );
    let s = stamp();
    store
        .update_user_group(
            &a,
            &g,
            Some("Changes renamed"),
            Some(&[policy(ADMIN_ROLE, &rg)]),
            &[],
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    recorded(
        "update_user_group",
        s,
        &[the_group],
        &[whole(&a), the_member, the_rg, roster],
    );
    let s = stamp();
    store
        .add_group_members(
            &a,
            &g,
            std::slice::from_ref(&m),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    recorded(
        "add_group_members",
        s,
        &[the_member],
        &[the_group, the_other_member, whole(&a)],
    );
    let s = stamp();
    store
        .replace_group_members(
            &a,
            &g,
            std::slice::from_ref(&m),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    moves_nothing("replace_group_members with the same members", s);
    let s = stamp();
    store
        .add_group_members(
            &a,
            &g,
            std::slice::from_ref(&m),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    moves_nothing("add_group_members of members already in", s);
    // Replacing: the member who leaves and the member who joins.
    let s = stamp();
    store
        .replace_group_members(
            &a,
            &g,
            std::slice::from_ref(&m2),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    recorded(
        "replace_group_members",
        s,
        &[the_member, the_other_member],
        &[the_group, whole(&a)],
    );
    let s = stamp();
    store
        .replace_group_members(&a, &g, &[], Timestamp::now(), &audit_cx())
        .await
        .unwrap();
    recorded(
        "replace_group_members with none",
        s,
        &[the_other_member],
        &[the_member, the_group],
    );
    store
        .add_group_members(
            &a,
            &g,
            std::slice::from_ref(&m),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    let s = stamp();
    store
        .remove_group_member(&a, &g, &m, Timestamp::now(), &audit_cx())
        .await
        .unwrap();
    recorded(
        "remove_group_member",
        s,
        &[the_member],
        &[the_other_member, the_group],
    );

    // Reads and a failed write move nothing.
    let s = stamp();
    store.member_of(&a, &UserId::random()).await.unwrap();
    store.get_member(&a, &m).await.unwrap();
    store.user_group_ids_of_member(&a, &m).await.unwrap();
    let failed = store
        .add_group_members(&a, &g, &[MemberId::random()], Timestamp::now(), &audit_cx())
        .await;
    assert!(failed.is_err());
    moves_nothing("reads and a refused write", s);

    let s = stamp();
    assert!(store.delete_user_group(&a, &g, &audit_cx()).await.unwrap());
    recorded(
        "delete_user_group",
        s,
        &[the_group],
        &[the_member, whole(&a)],
    );
    let s = stamp();
    store
        .delete_resource_group(&a, &rg, &audit_cx())
        .await
        .unwrap();
    recorded(
        "delete_resource_group",
        s,
        &[the_rg],
        &[the_member, whole(&a)],
    );
    let s = stamp();
    assert!(store
        .delete_member(&a, &m, None, &audit_cx())
        .await
        .unwrap());
    recorded(
        "delete_member",
        s,
        &[the_member, roster],
        &[the_other_member, whole(&a)],
    );
    recorded("all of them", s, &[], &elsewhere);

    // Tokens.
    let now = Timestamp::now();
    let token = ApiToken {
        id: TokenId::random(),
        owner: TokenOwner::Account(a.clone()),
        name: "t".into(),
        state: TokenState::Active,
        issued_on: now,
        modified_on: now,
        last_used_on: None,
        not_before: None,
        expires_on: None,
        condition: TokenCondition::default(),
        policies: vec![],
    };
    let hash = format!("changes-{}", token.id);
    store
        .create_token(
            &NewToken {
                token: token.clone(),
                secret_hash: hash.clone(),
            },
            &audit_cx(),
        )
        .await
        .unwrap();
    let s = stamp();
    store
        .touch_tokens(&[(token.id.clone(), Timestamp::now())])
        .await
        .unwrap();
    store.find_token(&hash).await.unwrap();
    moves_nothing("using a token", s);
    let owner = TokenOwner::Account(a.clone());
    let mut changed = token.clone();
    changed.state = TokenState::Disabled;
    let the_token = ("the token", Dep::token(&token.id));
    let not_others = [
        ("another token", Dep::token(&TokenId::random())),
        ("all tokens", Dep::tokens()),
        whole(&a),
    ];
    let s = stamp();
    assert!(store.update_token(&changed, &audit_cx()).await.unwrap());
    recorded("update_token", s, &[the_token], &not_others);
    let s = stamp();
    assert!(store
        .roll_token(
            &owner,
            &token.id,
            &format!("{hash}-2"),
            Timestamp::now(),
            &audit_cx()
        )
        .await
        .unwrap());
    recorded("roll_token", s, &[the_token], &not_others);
    let s = stamp();
    assert!(store
        .delete_token(&owner, &token.id, &audit_cx())
        .await
        .unwrap());
    recorded("delete_token", s, &[the_token], &not_others);

    // Deleting the account drops its policies and its tokens.
    let s = stamp();
    assert!(store.delete_account(&a, &audit_cx()).await.unwrap());
    recorded(
        "delete_account",
        s,
        &[whole(&a), ("all tokens", Dep::tokens())],
        &[whole(&other)],
    );
}

/// Everything the store holds for `account`, as text: two dumps are equal exactly when nothing
/// the account owns changed (timestamps and counters included).
async fn dump(store: &S, account: &AccountId) -> String {
    let mut out = format!("{:?}\n", store.get_account(account).await.unwrap());
    let members = store
        .list_members(
            account,
            &MemberFilter {
                status: None,
                order: MemberOrder::Email,
                descending: false,
            },
            page(1000),
        )
        .await
        .unwrap();
    out += &format!("{:?} {:?}\n", members.total, members.items);
    let groups = store
        .list_user_groups(account, &UserGroupFilter::default(), page(1000))
        .await
        .unwrap();
    out += &format!("{:?} {:?}\n", groups.total, groups.items);
    for g in &groups.items {
        let members = store
            .list_group_members(account, &g.id, &GroupMemberFilter::default(), page(1000))
            .await
            .unwrap()
            .unwrap();
        out += &format!("{} {:?} {:?}\n", g.id, members.total, members.items);
    }
    out += &format!(
        "{:?}\n",
        store
            .list_resource_groups(account, None, None)
            .await
            .unwrap()
    );
    let tokens = store
        .list_tokens(&TokenOwner::Account(account.clone()), page(1000))
        .await
        .unwrap();
    out += &format!("{:?} {:?}\n", tokens.total, tokens.items);
    out += &format!("{:?}\n", store.list_sso(account).await.unwrap());
    out
}

/// Isolation and "a write that finds nothing changes nothing": every write aimed at another
/// account's objects (their ids under the caller's account) or at ids that do not exist leaves
/// the owner's data byte-identical (no timestamp, counter or member list moves) and moves no
/// change stamp.
pub async fn foreign_and_missing_writes_change_nothing(store: S) {
    let a = account(&store, "Victim").await;
    let b = account(&store, "Intruder").await;
    let m = member(&store, &a, "victim@example.com").await;
    let rg = resource_group(&store, &a, &["*"]).await;
    let g = user_group(&store, &a, "Victims", vec![policy(ADMIN_ROLE, &rg)]).await;
    store
        .add_group_members(
            &a,
            &g,
            std::slice::from_ref(&m),
            Timestamp::now(),
            &audit_cx(),
        )
        .await
        .unwrap();
    let now = Timestamp::now();
    let token = ApiToken {
        id: TokenId::random(),
        owner: TokenOwner::Account(a.clone()),
        name: "victim token".into(),
        state: TokenState::Active,
        issued_on: now,
        modified_on: now,
        last_used_on: None,
        not_before: None,
        expires_on: None,
        condition: TokenCondition::default(),
        policies: vec![],
    };
    store
        .create_token(
            &NewToken {
                token: token.clone(),
                secret_hash: format!("victim-{}", token.id),
            },
            &audit_cx(),
        )
        .await
        .unwrap();
    let sso = connector(&a, "victim.example", SsoStatus::Awaiting);
    store.create_sso(&sso, &audit_cx()).await.unwrap();
    let b_member = member(&store, &b, "intruder@example.com").await;
    let b_group = user_group(&store, &b, "Intruders", vec![]).await;

    let before = dump(&store, &a).await;
    let stamps = || store.revisions().stamp();
    let s = stamps();
    let later = Timestamp::from_micros(now.micros() + 1_000_000);

    // A's ids under B.
    assert!(!store
        .delete_member(&b, &m, None, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_member(&b, &m, None, &audit_cx())
        .await
        .unwrap());
    let changes = MemberChanges {
        status: Some(MemberStatus::Pending),
        grants: Some(Grants::Roles(vec![])),
        keep_role: None,
        new_resource_groups: Vec::new(),
    };
    assert!(store
        .update_member(&b, &m, &changes, later, &audit_cx())
        .await
        .unwrap()
        .is_none());
    assert!(!store.delete_user_group(&b, &g, &audit_cx()).await.unwrap());
    assert!(store
        .update_user_group(&b, &g, Some("Stolen"), Some(&[]), &[], later, &audit_cx())
        .await
        .unwrap()
        .is_none());
    for result in [
        store
            .add_group_members(&b, &g, std::slice::from_ref(&b_member), later, &audit_cx())
            .await,
        store
            .replace_group_members(&b, &g, &[], later, &audit_cx())
            .await,
        store
            .add_group_members(&b, &b_group, std::slice::from_ref(&m), later, &audit_cx())
            .await,
        store
            .replace_group_members(&b, &b_group, std::slice::from_ref(&m), later, &audit_cx())
            .await,
    ] {
        assert!(
            matches!(result, Err(CoreError::NotFound { .. })),
            "{result:?}"
        );
    }
    assert!(matches!(
        store
            .remove_group_member(&b, &g, &m, later, &audit_cx())
            .await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(store
        .list_group_members(&b, &g, &GroupMemberFilter::default(), page(10))
        .await
        .unwrap()
        .is_none());
    assert!(store.get_user_group(&b, &g).await.unwrap().is_none());
    assert!(store.get_member(&b, &m).await.unwrap().is_none());
    assert!(store
        .get_resource_groups(&b, std::slice::from_ref(&rg))
        .await
        .unwrap()
        .is_empty());
    let mut stolen = store
        .get_resource_groups(&a, std::slice::from_ref(&rg))
        .await
        .unwrap()
        .remove(0);
    stolen.account_id = b.clone();
    stolen.name = "stolen".into();
    stolen.objects = vec!["com.cloudflare.api.account.zone.*".into()];
    stolen.modified_on = later;
    assert_eq!(
        store
            .update_resource_group(&stolen, &[], &audit_cx())
            .await
            .unwrap(),
        ResourceGroupUpdate::NotFound
    );
    assert_eq!(
        store
            .delete_resource_group(&b, &rg, &audit_cx())
            .await
            .unwrap(),
        ResourceGroupDeletion::NotFound
    );
    let b_owner = TokenOwner::Account(b.clone());
    let mut t = token.clone();
    t.owner = b_owner.clone();
    t.name = "stolen".into();
    t.modified_on = later;
    assert!(!store.update_token(&t, &audit_cx()).await.unwrap());
    assert!(!store
        .roll_token(&b_owner, &token.id, "stolen-hash", later, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_token(&b_owner, &token.id, &audit_cx())
        .await
        .unwrap());
    assert!(store
        .get_token(&b_owner, &token.id)
        .await
        .unwrap()
        .is_none());
    assert!(store.token_in(&b, &token.id).await.unwrap().is_none());
    let mut c = sso.clone();
    c.account_id = b.clone();
    c.use_fedramp_language = true;
    c.updated_on = later;
    assert!(!store.update_sso(&c, &audit_cx()).await.unwrap());
    assert!(!store.delete_sso(&b, &sso.id, &audit_cx()).await.unwrap());
    assert!(store.get_sso(&b, &sso.id).await.unwrap().is_none());

    // Ids that exist nowhere, under A.
    let nobody = MemberId::random();
    assert!(!store
        .delete_member(&a, &nobody, None, &audit_cx())
        .await
        .unwrap());
    assert!(store
        .update_member(&a, &nobody, &changes, later, &audit_cx())
        .await
        .unwrap()
        .is_none());
    assert!(!store
        .delete_user_group(&a, &UserGroupId::random(), &audit_cx())
        .await
        .unwrap());
    assert!(matches!(
        store
            .add_group_members(&a, &g, std::slice::from_ref(&nobody), later, &audit_cx())
            .await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(store
        .remove_group_member(&a, &g, &nobody, later, &audit_cx())
        .await
        .unwrap()
        .is_none());
    let owner = TokenOwner::Account(a.clone());
    let mut missing = token.clone();
    missing.id = TokenId::random();
    assert!(!store.update_token(&missing, &audit_cx()).await.unwrap());
    assert!(!store
        .roll_token(&owner, &missing.id, "x", later, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_token(&owner, &missing.id, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_account(&AccountId::random(), &audit_cx())
        .await
        .unwrap());

    assert_eq!(stamps(), s, "no change stamp may move");
    assert_eq!(
        dump(&store, &a).await,
        before,
        "the victim account's data must be byte-identical"
    );
}

// ---------------------------------------------------------------------------------------------
// OAuth clients.

fn oauth_client(account: &AccountId, name: &str) -> portcullis_core::oauth::OAuthClient {
    use portcullis_core::oauth::{GrantType, ResponseType, TokenAuthMethod, Visibility};
    let now = Timestamp::now();
    portcullis_core::oauth::OAuthClient {
        id: portcullis_core::ids::OAuthClientId::random(),
        account_id: account.clone(),
        client_name: name.into(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        response_types: vec![ResponseType::Code],
        redirect_uris: vec!["https://example.com/callback".into()],
        post_logout_redirect_uris: vec![],
        allowed_cors_origins: vec!["https://example.com".into()],
        scopes: vec!["account.read".into(), "openid".into()],
        optional_scopes: vec!["account.read".into()],
        token_endpoint_auth_method: TokenAuthMethod::ClientSecretBasic,
        client_uri: Some("https://example.com".into()),
        logo_uri: None,
        policy_uri: None,
        tos_uri: None,
        visibility: Visibility::Private,
        has_rotated_secret: false,
        created_on: now,
        updated_on: now,
    }
}

/// OAuth clients: round trip of every field (lists in the order written), order by name then
/// id, only hashes stored, rotation keeps the previous hash until it is deleted (one at a time),
/// writes under another account or to missing ids change nothing, no write moves a change stamp
/// (nothing cached derives from OAuth clients), an account's deletion takes its clients.
pub async fn oauth_clients_round_trip(store: S) {
    use portcullis_core::ids::OAuthClientId;
    let a = account(&store, "OAuth owner").await;
    let b = account(&store, "OAuth intruder").await;
    let stamp = store.revisions().stamp();

    let mut c = oauth_client(&a, "Zeta app");
    c.post_logout_redirect_uris = vec![
        "https://z.example/bye".into(),
        "https://a.example/bye".into(),
    ];
    c.logo_uri = Some("https://example.com/logo.png".into());
    store
        .create_oauth_client(&c, "hash-1", &audit_cx())
        .await
        .unwrap();
    let c2 = oauth_client(&a, "Alpha app");
    store
        .create_oauth_client(&c2, "hash-x", &audit_cx())
        .await
        .unwrap();
    let other = oauth_client(&b, "B app");
    store
        .create_oauth_client(&other, "hash-b", &audit_cx())
        .await
        .unwrap();

    assert_eq!(
        store.get_oauth_client(&a, &c.id).await.unwrap(),
        Some(c.clone())
    );
    let listed = store.list_oauth_clients(&a).await.unwrap();
    assert_eq!(listed, vec![c2.clone(), c.clone()], "by name, A's only");
    assert_eq!(
        store.oauth_client_secret_hashes(&a, &c.id).await.unwrap(),
        Some(("hash-1".to_string(), None))
    );

    // Foreign and missing writes change nothing.
    let before_a = format!("{:?}", store.list_oauth_clients(&a).await.unwrap());
    let later = Timestamp::from_micros(c.updated_on.micros() + 1_000_000);
    assert_eq!(store.get_oauth_client(&b, &c.id).await.unwrap(), None);
    let mut moved = c.clone();
    moved.account_id = b.clone();
    moved.client_name = "stolen".into();
    assert!(!store
        .update_oauth_client(&moved, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_oauth_client(&b, &c.id, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .rotate_oauth_client_secret(&b, &c.id, "evil", later, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .delete_oauth_rotated_secret(&b, &c.id, later, &audit_cx())
        .await
        .unwrap());
    assert_eq!(
        store.oauth_client_secret_hashes(&b, &c.id).await.unwrap(),
        None
    );
    let nobody = OAuthClientId::random();
    assert!(!store
        .delete_oauth_client(&a, &nobody, &audit_cx())
        .await
        .unwrap());
    assert!(!store
        .rotate_oauth_client_secret(&a, &nobody, "x", later, &audit_cx())
        .await
        .unwrap());
    assert!(
        !store
            .delete_oauth_rotated_secret(&a, &c.id, later, &audit_cx())
            .await
            .unwrap(),
        "none to delete"
    );
    assert_eq!(
        format!("{:?}", store.list_oauth_clients(&a).await.unwrap()),
        before_a
    );
    assert_eq!(
        store.oauth_client_secret_hashes(&a, &c.id).await.unwrap(),
        Some(("hash-1".to_string(), None))
    );

    // Update.
    let mut u = c.clone();
    u.client_name = "Zeta app 2".into();
    u.scopes = vec!["user-details.read".into()];
    u.optional_scopes = vec![];
    u.client_uri = None;
    u.updated_on = later;
    assert!(store.update_oauth_client(&u, &audit_cx()).await.unwrap());
    assert_eq!(
        store.get_oauth_client(&a, &c.id).await.unwrap(),
        Some(u.clone())
    );

    // Rotation: the current hash becomes the rotated one; a second rotation is refused until the
    // rotated one is deleted.
    let later2 = Timestamp::from_micros(later.micros() + 1_000_000);
    assert!(store
        .rotate_oauth_client_secret(&a, &c.id, "hash-2", later2, &audit_cx())
        .await
        .unwrap());
    assert_eq!(
        store.oauth_client_secret_hashes(&a, &c.id).await.unwrap(),
        Some(("hash-2".to_string(), Some("hash-1".to_string())))
    );
    let got = store.get_oauth_client(&a, &c.id).await.unwrap().unwrap();
    assert!(got.has_rotated_secret);
    assert_eq!(got.updated_on, later2);
    assert!(!store
        .rotate_oauth_client_secret(&a, &c.id, "hash-3", later2, &audit_cx())
        .await
        .unwrap());
    assert_eq!(
        store.oauth_client_secret_hashes(&a, &c.id).await.unwrap(),
        Some(("hash-2".to_string(), Some("hash-1".to_string())))
    );
    assert!(store
        .delete_oauth_rotated_secret(&a, &c.id, later2, &audit_cx())
        .await
        .unwrap());
    assert_eq!(
        store.oauth_client_secret_hashes(&a, &c.id).await.unwrap(),
        Some(("hash-2".to_string(), None))
    );
    assert!(
        !store
            .get_oauth_client(&a, &c.id)
            .await
            .unwrap()
            .unwrap()
            .has_rotated_secret
    );

    // B's client was never touched.
    assert_eq!(
        store.get_oauth_client(&b, &other.id).await.unwrap(),
        Some(other.clone())
    );

    assert_eq!(
        store.revisions().stamp(),
        stamp,
        "OAuth client writes record no change"
    );

    // Delete, then the account's deletion takes the rest.
    assert!(store
        .delete_oauth_client(&a, &c.id, &audit_cx())
        .await
        .unwrap());
    assert_eq!(store.get_oauth_client(&a, &c.id).await.unwrap(), None);
    assert_eq!(
        store.oauth_client_secret_hashes(&a, &c.id).await.unwrap(),
        None
    );
    assert!(store.delete_account(&a, &audit_cx()).await.unwrap());
    assert!(store.list_oauth_clients(&a).await.unwrap().is_empty());
    assert_eq!(store.get_oauth_client(&a, &c2.id).await.unwrap(), None);
    assert_eq!(store.list_oauth_clients(&b).await.unwrap(), vec![other]);
}

/// A state holding one of everything, every optional field set somewhere, in the order
/// `read_state` gives (ids ascending): `n` picks distinct ids, so two of them can coexist.
pub fn rich_state(n: u8) -> portcullis_core::state::State {
    use portcullis_core::ids::OAuthClientId;
    use portcullis_core::state::{
        AccountState, MemberState, OAuthClientState, State, TokenState as Tok, UserGroupState,
        UserState,
    };
    let id = |kind: u8| format!("{n:02x}{kind:02x}{}", "0".repeat(28));
    let t = |micros: i64| Timestamp::from_micros(1_790_000_000_000_000 + micros);
    let account = AccountId::parse(&id(1)).unwrap();
    let (u1, u2) = (
        UserId::parse(&id(2)).unwrap(),
        UserId::parse(&id(3)).unwrap(),
    );
    let rg = ResourceGroupId::parse(&id(4)).unwrap();
    let (m1, m2) = (
        MemberId::parse(&id(5)).unwrap(),
        MemberId::parse(&id(6)).unwrap(),
    );
    let user = |uid: &UserId, email: &str, operator: bool| portcullis_core::model::User {
        id: uid.clone(),
        email: email.into(),
        first_name: operator.then(|| "Ada".into()),
        last_name: operator.then(|| "Lovelace".into()),
        country: operator.then(|| "UK".into()),
        telephone: operator.then(|| "+44 1".into()),
        zipcode: operator.then(|| "N1".into()),
        two_factor_enabled: operator,
        operator,
        created_on: t(1),
        modified_on: t(2),
    };
    let mut resources = serde_json::Map::new();
    resources.insert(
        format!("com.cloudflare.api.account.{account}"),
        serde_json::json!({"com.cloudflare.api.account.zone.*": "*"}),
    );
    let token = |tid: String, owner: TokenOwner, hash: &str| Tok {
        token: ApiToken {
            id: TokenId::parse(&tid).unwrap(),
            owner,
            name: format!("token {tid}"),
            state: TokenState::Disabled,
            issued_on: t(3),
            modified_on: t(4),
            last_used_on: Some(t(5)),
            not_before: Some(t(6)),
            expires_on: Some(t(7)),
            condition: TokenCondition {
                request_ip_in: vec!["192.0.2.0/24".parse().unwrap()],
                request_ip_not_in: vec!["2001:db8::/32".parse().unwrap()],
            },
            policies: vec![TokenPolicy {
                id: PolicyId::parse(&id(20)).unwrap(),
                access: Access::Deny,
                permission_groups: vec!["c8fed203ed3043cba015a93ad1616f1f".into()],
                resources: resources.clone(),
            }],
        },
        secret_hash: format!("{hash}{n:02x}"),
    };
    let policy = |pid: u8, access| Policy {
        id: PolicyId::parse(&id(pid)).unwrap(),
        access,
        permission_groups: vec![
            "c8fed203ed3043cba015a93ad1616f1f".into(),
            "82e64a83756745bbbb1c9c2701bf816b".into(),
        ],
        resource_groups: vec![rg.clone()],
    };
    let mut client = oauth_client(&account, "App");
    client.id = OAuthClientId::parse(&id(9)).unwrap();
    client.has_rotated_secret = true;
    client.logo_uri = Some("https://example.com/logo.png".into());
    client.created_on = t(8);
    client.updated_on = t(9);
    State {
        users: vec![
            UserState {
                user: user(&u1, &format!("ada{n}@example.com"), true),
                api_key_hash: Some(format!("keyhash{n:02x}")),
                tokens: vec![token(id(10), TokenOwner::User(u1.clone()), "usertok")],
            },
            UserState {
                user: user(&u2, &format!("bob{n}@example.com"), false),
                api_key_hash: None,
                tokens: vec![],
            },
        ],
        accounts: vec![AccountState {
            account: Account {
                id: account.clone(),
                name: format!("Account {n}"),
                account_type: AccountType::Enterprise,
                enforce_twofactor: true,
                abuse_contact_email: Some("abuse@example.com".into()),
                created_on: t(10),
            },
            modified_on: t(11),
            resource_groups: vec![ResourceGroup {
                id: rg.clone(),
                account_id: account.clone(),
                name: "Zones".into(),
                scope_key: format!("com.cloudflare.api.account.{account}"),
                objects: vec![
                    "com.cloudflare.api.account.zone.*".into(),
                    format!("com.cloudflare.api.account.{account}"),
                ],
                created_on: t(12),
                modified_on: t(13),
            }],
            members: vec![
                MemberState {
                    id: m1.clone(),
                    user_id: u1.clone(),
                    status: MemberStatus::Accepted,
                    grants: Grants::Roles(vec![
                        "33666b9c79b9a5273fc7344ff42f953d".into(),
                        "05784afa30c1afe1440e79d9351c7430".into(),
                    ]),
                    created_on: t(14),
                    modified_on: t(15),
                },
                MemberState {
                    id: m2.clone(),
                    user_id: u2.clone(),
                    status: MemberStatus::Pending,
                    grants: Grants::Policies(vec![
                        policy(21, Access::Allow),
                        policy(22, Access::Deny),
                    ]),
                    created_on: t(16),
                    modified_on: t(17),
                },
            ],
            user_groups: vec![UserGroupState {
                group: UserGroup {
                    id: UserGroupId::parse(&id(7)).unwrap(),
                    account_id: account.clone(),
                    name: "Operators".into(),
                    policies: vec![policy(23, Access::Allow)],
                    created_on: t(18),
                    modified_on: t(19),
                },
                members: vec![(m1.clone(), t(20)), (m2.clone(), t(21))],
            }],
            tokens: vec![token(
                id(11),
                TokenOwner::Account(account.clone()),
                "acctok",
            )],
            sso_connectors: vec![SsoConnector {
                id: SsoConnectorId::parse(&id(8)).unwrap(),
                account_id: account.clone(),
                email_domain: format!("example{n}.com"),
                enabled: false,
                use_fedramp_language: true,
                code: "cloudflare_dashboard_sso=abc".into(),
                status: SsoStatus::Pending,
                pending_since: Some(t(22)),
                next_check_at: Some(t(23)),
                dns_failures: 3,
                created_on: t(24),
                updated_on: t(25),
            }],
            oauth_clients: vec![OAuthClientState {
                client,
                secret_hash: format!("secret{n:02x}"),
                rotated_secret_hash: Some(format!("rotated{n:02x}")),
            }],
        }],
    }
}

/// The whole state: what is imported reads back equal, field for field; a partial read holds
/// the chosen account and its members' users only; a merge adds beside what is stored; a
/// replace deletes first; a plan that fails (or an insert the schema refuses) rolls everything
/// back, deletions included; an import is announced as a change of everything.
pub async fn state_round_trip(store: S) {
    use portcullis_core::state::{ImportMode, ImportSummary, State};
    let one = rich_state(1);
    let two = rich_state(2);
    let plan = |s: &State| {
        let s = s.clone();
        move |_: &State| Ok((s.clone(), ImportSummary::default()))
    };

    assert_eq!(store.read_state(None).await.unwrap(), State::default());
    let stamp = store.revisions().stamp().unwrap();
    store
        .import_state(ImportMode::Merge, &plan(&one), &audit_cx())
        .await
        .unwrap();
    assert!(
        !store
            .revisions()
            .unchanged(stamp, &[Dep::account(&one.accounts[0].account.id)]),
        "an import changes everything"
    );
    assert_eq!(store.read_state(None).await.unwrap(), one);

    // Merge: the plan sees what is stored and adds beside it.
    let seen = std::sync::Mutex::new(None);
    store
        .import_state(
            ImportMode::Merge,
            &|stored: &State| {
                *seen.lock().unwrap() = Some(stored.clone());
                Ok((two.clone(), ImportSummary::default()))
            },
            &audit_cx(),
        )
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().take(), Some(one.clone()));
    let both = store.read_state(None).await.unwrap();
    assert_eq!(both.accounts.len(), 2);
    assert_eq!(both.users.len(), 4);
    let only_two = store
        .read_state(Some(&[two.accounts[0].account.id.clone()]))
        .await
        .unwrap();
    assert_eq!(only_two, two, "one account and its members' users");

    // A failing plan rolls back the replace's deletions.
    let refused = store
        .import_state(
            ImportMode::Replace,
            &|stored: &State| {
                assert_eq!(stored, &State::default(), "a replace plans against nothing");
                Err(CoreError::invalid("/accounts/0/name", "refused"))
            },
            &audit_cx(),
        )
        .await;
    assert!(matches!(refused, Err(CoreError::Invalid { .. })));
    assert_eq!(store.read_state(None).await.unwrap(), both);

    // So does an insert the schema refuses (a member of a user that does not exist).
    let mut broken = one.clone();
    broken.accounts[0].members[0].user_id = UserId::random();
    assert!(store
        .import_state(ImportMode::Replace, &plan(&broken), &audit_cx())
        .await
        .is_err());
    assert_eq!(store.read_state(None).await.unwrap(), both);

    // Replace: only the new state remains, and the API reads it as written.
    store
        .import_state(ImportMode::Replace, &plan(&two), &audit_cx())
        .await
        .unwrap();
    assert_eq!(store.read_state(None).await.unwrap(), two);
    let a = &two.accounts[0];
    let group = store
        .get_user_group(&a.account.id, &a.user_groups[0].group.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group, a.user_groups[0].group);
    let listed = store
        .list_user_groups(&a.account.id, &UserGroupFilter::default(), page(10))
        .await
        .unwrap();
    assert_eq!(listed.total, 1, "the account's group count is kept");
    let members = store
        .list_group_members(
            &a.account.id,
            &a.user_groups[0].group.id,
            &GroupMemberFilter::default(),
            page(10),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(members.items.len(), 2);
    let (tok, hash) = store
        .find_token(&a.tokens[0].secret_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (tok, hash),
        (a.tokens[0].token.clone(), a.tokens[0].secret_hash.clone())
    );
}

/// The audit log: a write's entry commits with it and holds the values read and written in
/// its transaction; a refused write leaves none; entries of one account never show in
/// another's; filters, numbered pages and cursors read them in `seq` order; pruning deletes by
/// age only.
pub async fn audit_log(store: S) {
    use portcullis_core::audit::{
        AuditAction, AuditContext, AuditField, AuditPage, AuditQuery, AuditRecord, Origin,
        TextFilter,
    };
    let a = account(&store, "Audited").await;
    let b = account(&store, "Other").await;
    let query = |page: AuditPage| AuditQuery {
        page,
        ..AuditQuery::default()
    };
    let all = |account: AccountId| {
        let store = store.clone();
        async move {
            store
                .list_audit(
                    &account,
                    &query(AuditPage::After {
                        after: None,
                        limit: 1000,
                    }),
                )
                .await
                .unwrap()
                .entries
        }
    };
    let mut origin = Origin::cli("contract");
    origin.request_id = Some("ray-1".into());
    origin.ip = Some("192.0.2.7".parse().unwrap());
    let cx = AuditContext {
        origin,
        ..AuditContext::cli("contract")
    };

    let start = all(a.clone()).await.len();
    let g = user_group(&store, &a, "before", vec![]).await;
    store
        .update_user_group(&a, &g, Some("after"), None, &[], Timestamp::now(), &cx)
        .await
        .unwrap()
        .unwrap();
    // A refused write (the name is taken) leaves no entry.
    user_group(&store, &a, "taken", vec![]).await;
    let clash = store
        .update_user_group(&a, &g, Some("taken"), None, &[], Timestamp::now(), &cx)
        .await;
    assert!(clash.is_err());
    // A write that finds nothing leaves no entry.
    assert!(!store
        .delete_user_group(&a, &UserGroupId::random(), &cx)
        .await
        .unwrap());
    let entries = all(a.clone()).await;
    assert_eq!(entries.len(), start + 3, "create, rename, create");
    let rename = entries
        .iter()
        .find(|e| e.record.action == AuditAction::Update)
        .unwrap();
    assert_eq!(rename.record.resource_type, "user_group");
    assert_eq!(rename.record.resource_id, g.to_string());
    assert_eq!(rename.record.before.as_ref().unwrap()["name"], "before");
    assert_eq!(rename.record.after.as_ref().unwrap()["name"], "after");
    assert_eq!(rename.record.origin.request_id.as_deref(), Some("ray-1"));
    assert_eq!(rename.record.origin.ip, Some("192.0.2.7".parse().unwrap()));
    assert_eq!(rename.account_name.as_deref(), Some("Audited"));
    // Newest first by default, each `seq` larger than the next.
    assert!(entries.windows(2).all(|w| w[0].seq > w[1].seq));

    // A refusal is stored on its own; one in an account that does not exist is not.
    let refusal = AuditRecord::denied(&cx, &a, "member", None, 403);
    store.record_refusal(&refusal).await.unwrap();
    store
        .record_refusal(&AuditRecord::denied(
            &cx,
            &AccountId::random(),
            "member",
            None,
            403,
        ))
        .await
        .unwrap();
    let failures = store
        .list_audit(
            &a,
            &AuditQuery {
                filters: vec![(
                    AuditField::ActionResult,
                    TextFilter {
                        any: vec!["failure".into()],
                        not: vec![],
                    },
                )],
                ..query(AuditPage::Numbered(page(10)))
            },
        )
        .await
        .unwrap();
    assert_eq!(failures.total, Some(1));
    assert_eq!(failures.entries[0].record.id, refusal.id);
    assert_eq!(failures.entries[0].record.status, Some(403));

    // Only changes, oldest first, after a cursor.
    let changes = store
        .list_audit(
            &a,
            &AuditQuery {
                only_changes: true,
                ascending: true,
                ..query(AuditPage::After {
                    after: Some(entries[1].seq),
                    limit: 10,
                })
            },
        )
        .await
        .unwrap();
    assert_eq!(
        changes.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![entries[0].seq]
    );
    assert!(!changes.more);

    // B sees none of A's entries.
    assert!(all(b.clone())
        .await
        .iter()
        .all(|e| e.record.account.as_ref() == Some(&b)));

    // Pruning deletes what is older than the cut, and nothing else.
    let everything = all(a.clone()).await.len() + all(b.clone()).await.len();
    assert_eq!(
        store
            .prune_audit(Timestamp::now().plus_seconds(-3600), 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        all_of(&store, &a).await + all_of(&store, &b).await,
        everything
    );
    let pruned = store
        .prune_audit(Timestamp::now().plus_seconds(1), 2)
        .await
        .unwrap();
    assert_eq!(pruned, 2, "at most the batch");
    assert_eq!(
        all_of(&store, &a).await + all_of(&store, &b).await,
        everything - 2
    );
}

async fn all_of(store: &S, account: &AccountId) -> usize {
    store
        .list_audit(
            account,
            &portcullis_core::audit::AuditQuery {
                page: portcullis_core::audit::AuditPage::After {
                    after: None,
                    limit: 1000,
                },
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .entries
        .len()
}
