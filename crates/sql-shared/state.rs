//! The whole state (`StateStore`): read in one snapshot transaction, written in one write
//! transaction with one multi-row insert per table (so loading a fixtures file of a few hundred
//! objects costs a dozen statements, not a thousand).

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use portcullis_core::changes::Change;
use portcullis_core::error::{CoreError, CoreResult};
use portcullis_core::ids::{AccountId, MemberId, PolicyId, ResourceGroupId, UserGroupId, UserId};
use portcullis_core::model::{
    Access, Account, Grants, MemberStatus, Policy, ResourceGroup, SsoConnector, TokenOwner,
    UserGroup,
};
use portcullis_core::oauth::OAuthClient;
use portcullis_core::state::{
    AccountState, ImportMode, ImportPlan, ImportSummary, MemberState, OAuthClientState, State,
    StateStore, TokenState, UserGroupState, UserState,
};
use portcullis_core::time::Timestamp;
use sqlx::QueryBuilder;

use crate::backend::{Conn, Db, BEGIN_SNAPSHOT};
use crate::oauth_clients::{json_of, OAuthRow, OAUTH_COLS};
use crate::sso::{SsoRow, SSO_COLS};
use crate::store::{
    condition_to_json, db, policies_to_json, ts, AccountRow, SqlStore, StoredToken, TokenRow,
    UserRow, TOKEN_COLS,
};

/// Tables in an order that deletes children before parents.
const TABLES: &[&str] = &[
    "user_group_member",
    "policy_resource_group",
    "policy_permission_group",
    "policy",
    "member_role",
    "user_group",
    "resource_group_object",
    "resource_group",
    "api_token",
    "sso_connector",
    "oauth_client",
    "member",
    "account",
    "app_user",
];

/// Most bound values in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_BINDS: usize = 30_000;

#[derive(sqlx::FromRow)]
struct AccountFull {
    #[sqlx(flatten)]
    account: AccountRow,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserFull {
    #[sqlx(flatten)]
    user: UserRow,
    api_key_hash: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RgRow {
    id: String,
    account_id: String,
    name: String,
    scope_key: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRowFull {
    id: String,
    account_id: String,
    user_id: String,
    status: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: String,
    member_id: Option<String>,
    user_group_id: Option<String>,
    access: String,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    account_id: String,
    name: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct OAuthFull {
    #[sqlx(flatten)]
    row: OAuthRow,
    secret_hash: String,
}

/// `(<id>, <id>, …)`, each bound.
fn push_ids<'a>(q: &mut QueryBuilder<'a, Db>, accounts: &'a [AccountId]) {
    q.push("(");
    let mut sep = q.separated(", ");
    for a in accounts {
        sep.push_bind(a.as_str());
    }
    q.push(")");
}

/// `select … from <from> [where <col> in (accounts)] order by <order>`.
fn select<'a>(
    cols: &str,
    from: &str,
    col: &str,
    accounts: Option<&'a [AccountId]>,
    order: &str,
) -> QueryBuilder<'a, Db> {
    let mut q = QueryBuilder::<Db>::new(format!("select {cols} from {from}"));
    if let Some(accounts) = accounts {
        q.push(format!(" where {col} in "));
        push_ids(&mut q, accounts);
    }
    q.push(format!(" order by {order}"));
    q
}

/// Binds `rows` into `insert into <table> (<cols>) values …`, in as many statements as the
/// bind limit needs.
async fn insert_rows<T>(
    tx: &mut Conn,
    table: &str,
    cols: &[&str],
    rows: &[T],
    bind: impl Fn(sqlx::query_builder::Separated<'_, '_, Db, &'static str>, &T),
) -> CoreResult<()> {
    for chunk in rows.chunks((MAX_BINDS / cols.len()).max(1)) {
        let mut q = QueryBuilder::<Db>::new(format!("insert into {table} ({}) ", cols.join(", ")));
        q.push_values(chunk, &bind);
        q.build().execute(&mut *tx).await.map_err(db)?;
    }
    Ok(())
}

/// The rows a query reads.
async fn rows<T>(conn: &mut Conn, mut q: QueryBuilder<'_, Db>) -> CoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    q.build_query_as().fetch_all(&mut *conn).await.map_err(db)
}

impl SqlStore {
    async fn read_all(conn: &mut Conn, accounts: Option<&[AccountId]>) -> CoreResult<State> {
        let account_rows: Vec<AccountFull> = rows(
            conn,
            select(
                "id, name, type, enforce_twofactor, abuse_contact_email, created_at, updated_at",
                "account",
                "id",
                accounts,
                "id",
            ),
        )
        .await?;

        let rg_rows: Vec<RgRow> = rows(
            conn,
            select(
                "id, account_id, name, scope_key, created_at, updated_at",
                "resource_group",
                "account_id",
                accounts,
                "id",
            ),
        )
        .await?;
        let objects: Vec<(String, String)> = rows(
            conn,
            select(
                "o.resource_group_id, o.object_key",
                "resource_group_object o join resource_group g on g.id = o.resource_group_id",
                "g.account_id",
                accounts,
                "o.resource_group_id, o.position",
            ),
        )
        .await?;
        let mut objects_of: HashMap<String, Vec<String>> = HashMap::new();
        for (g, key) in objects {
            objects_of.entry(g).or_default().push(key);
        }

        let member_rows: Vec<MemberRowFull> = rows(
            conn,
            select(
                "id, account_id, user_id, status, created_at, updated_at",
                "member",
                "account_id",
                accounts,
                "id",
            ),
        )
        .await?;
        let roles: Vec<(String, String)> = rows(
            conn,
            select(
                "r.member_id, r.role_id",
                "member_role r join member m on m.id = r.member_id",
                "m.account_id",
                accounts,
                "r.member_id, r.position",
            ),
        )
        .await?;
        let mut roles_of: HashMap<String, Vec<String>> = HashMap::new();
        for (m, role) in roles {
            roles_of.entry(m).or_default().push(role);
        }

        let policy_rows: Vec<PolicyRow> = rows(
            conn,
            select(
                "id, member_id, user_group_id, access",
                "policy",
                "account_id",
                accounts,
                "member_id, user_group_id, position, id",
            ),
        )
        .await?;
        let pgs: Vec<(String, String)> = rows(
            conn,
            select(
                "g.policy_id, g.permission_group_id",
                "policy_permission_group g join policy p on p.id = g.policy_id",
                "p.account_id",
                accounts,
                "g.policy_id, g.position",
            ),
        )
        .await?;
        let rgs: Vec<(String, String)> = rows(
            conn,
            select(
                "r.policy_id, r.resource_group_id",
                "policy_resource_group r join policy p on p.id = r.policy_id",
                "p.account_id",
                accounts,
                "r.policy_id, r.position",
            ),
        )
        .await?;
        let mut pgs_of: HashMap<String, Vec<String>> = HashMap::new();
        for (p, g) in pgs {
            pgs_of.entry(p).or_default().push(g);
        }
        let mut rgs_of: HashMap<String, Vec<ResourceGroupId>> = HashMap::new();
        for (p, g) in rgs {
            rgs_of
                .entry(p)
                .or_default()
                .push(ResourceGroupId::from_trusted(g));
        }
        let mut member_policies: HashMap<String, Vec<Policy>> = HashMap::new();
        let mut group_policies: HashMap<String, Vec<Policy>> = HashMap::new();
        for p in policy_rows {
            let policy = Policy {
                access: Access::try_from(p.access.as_str())?,
                permission_groups: pgs_of.remove(&p.id).unwrap_or_default(),
                resource_groups: rgs_of.remove(&p.id).unwrap_or_default(),
                id: PolicyId::from_trusted(p.id),
            };
            match (p.member_id, p.user_group_id) {
                (Some(m), None) => member_policies.entry(m).or_default().push(policy),
                (None, Some(g)) => group_policies.entry(g).or_default().push(policy),
                _ => {
                    return Err(portcullis_core::error::Corrupt::OneOf {
                        table: "policy",
                        id: Some(policy.id.to_string()),
                        first: "member_id",
                        second: "user_group_id",
                    }
                    .into())
                }
            }
        }

        let group_rows: Vec<GroupRow> = rows(
            conn,
            select(
                "id, account_id, name, created_at, updated_at",
                "user_group",
                "account_id",
                accounts,
                "id",
            ),
        )
        .await?;
        let group_members: Vec<(String, String, i64)> = rows(
            conn,
            select(
                "gm.user_group_id, gm.member_id, gm.created_at",
                "user_group_member gm join user_group g on g.id = gm.user_group_id",
                "g.account_id",
                accounts,
                "gm.user_group_id, gm.member_id",
            ),
        )
        .await?;
        let mut members_of: HashMap<String, Vec<(MemberId, Timestamp)>> = HashMap::new();
        for (g, m, at) in group_members {
            members_of
                .entry(g)
                .or_default()
                .push((MemberId::from_trusted(m), ts(at)));
        }

        let sso_rows: Vec<SsoRow> = rows(
            conn,
            select(SSO_COLS, "sso_connector", "account_id", accounts, "id"),
        )
        .await?;
        let oauth_rows: Vec<OAuthFull> = rows(
            conn,
            select(
                &format!("{OAUTH_COLS}, secret_hash"),
                "oauth_client",
                "account_id",
                accounts,
                "id",
            ),
        )
        .await?;

        // Users: all of them, or the members of the chosen accounts; tokens: all, or those of
        // the chosen accounts and of those users.
        let mut users_q = QueryBuilder::<Db>::new(format!(
            "select {}, u.api_key_hash from app_user u",
            crate::store::USER_COLS
        ));
        let mut tokens_q = QueryBuilder::<Db>::new(format!("select {TOKEN_COLS} from api_token"));
        if let Some(accounts) = accounts {
            users_q.push(" where u.id in (select user_id from member where account_id in ");
            push_ids(&mut users_q, accounts);
            users_q.push(")");
            tokens_q.push(" where account_id in ");
            push_ids(&mut tokens_q, accounts);
            tokens_q.push(" or user_id in (select user_id from member where account_id in ");
            push_ids(&mut tokens_q, accounts);
            tokens_q.push(")");
        }
        users_q.push(" order by u.id");
        tokens_q.push(" order by id");
        let user_rows: Vec<UserFull> = rows(conn, users_q).await?;
        let token_rows: Vec<TokenRow> = rows(conn, tokens_q).await?;

        let mut account_tokens: HashMap<String, Vec<TokenState>> = HashMap::new();
        let mut user_tokens: HashMap<String, Vec<TokenState>> = HashMap::new();
        for row in token_rows {
            let StoredToken(token, secret_hash) = StoredToken::try_from(row)?;
            let t = TokenState { token, secret_hash };
            match &t.token.owner {
                TokenOwner::Account(a) => account_tokens
                    .entry(a.as_str().to_owned())
                    .or_default()
                    .push(t),
                TokenOwner::User(u) => user_tokens
                    .entry(u.as_str().to_owned())
                    .or_default()
                    .push(t),
            }
        }

        let users = user_rows
            .into_iter()
            .map(|u| {
                let tokens = user_tokens.remove(u.user.id()).unwrap_or_default();
                UserState {
                    user: u.user.into(),
                    api_key_hash: u.api_key_hash,
                    tokens,
                }
            })
            .collect();

        let mut by_account: BTreeMap<String, AccountState> = BTreeMap::new();
        for row in account_rows {
            let account = Account::try_from(row.account)?;
            by_account.insert(
                account.id.as_str().to_owned(),
                AccountState {
                    tokens: account_tokens
                        .remove(account.id.as_str())
                        .unwrap_or_default(),
                    account,
                    modified_on: ts(row.updated_at),
                    resource_groups: Vec::new(),
                    members: Vec::new(),
                    user_groups: Vec::new(),
                    sso_connectors: Vec::new(),
                    oauth_clients: Vec::new(),
                },
            );
        }
        for r in rg_rows {
            let Some(a) = by_account.get_mut(&r.account_id) else {
                continue;
            };
            a.resource_groups.push(ResourceGroup {
                objects: objects_of.remove(&r.id).unwrap_or_default(),
                id: ResourceGroupId::from_trusted(r.id),
                account_id: AccountId::from_trusted(r.account_id),
                name: r.name,
                scope_key: r.scope_key,
                created_on: ts(r.created_at),
                modified_on: ts(r.updated_at),
            });
        }
        for r in member_rows {
            let Some(a) = by_account.get_mut(&r.account_id) else {
                continue;
            };
            let grants = match member_policies.remove(&r.id) {
                Some(p) => Grants::Policies(p),
                None => Grants::Roles(roles_of.remove(&r.id).unwrap_or_default()),
            };
            a.members.push(MemberState {
                status: MemberStatus::try_from(r.status.as_str())?,
                id: MemberId::from_trusted(r.id),
                user_id: UserId::from_trusted(r.user_id),
                grants,
                created_on: ts(r.created_at),
                modified_on: ts(r.updated_at),
            });
        }
        for r in group_rows {
            let Some(a) = by_account.get_mut(&r.account_id) else {
                continue;
            };
            a.user_groups.push(UserGroupState {
                members: members_of.remove(&r.id).unwrap_or_default(),
                group: UserGroup {
                    policies: group_policies.remove(&r.id).unwrap_or_default(),
                    id: UserGroupId::from_trusted(r.id),
                    account_id: AccountId::from_trusted(r.account_id),
                    name: r.name,
                    created_on: ts(r.created_at),
                    modified_on: ts(r.updated_at),
                },
            });
        }
        for r in sso_rows {
            let c = SsoConnector::try_from(r)?;
            if let Some(a) = by_account.get_mut(c.account_id.as_str()) {
                a.sso_connectors.push(c);
            }
        }
        for r in oauth_rows {
            let rotated_secret_hash = r.row.rotated_secret_hash.clone();
            let client = OAuthClient::try_from(r.row)?;
            if let Some(a) = by_account.get_mut(client.account_id.as_str()) {
                a.oauth_clients.push(OAuthClientState {
                    client,
                    secret_hash: r.secret_hash,
                    rotated_secret_hash,
                });
            }
        }
        Ok(State {
            users,
            accounts: by_account.into_values().collect(),
        })
    }

    async fn delete_all(tx: &mut Conn) -> CoreResult<()> {
        for table in TABLES {
            sqlx::query(&format!("delete from {table}"))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// Inserts `new`; accounts and users already stored (`current`) are not inserted again,
    /// only what they own that `new` lists.
    async fn insert_all(tx: &mut Conn, current: &State, new: &State) -> CoreResult<()> {
        let stored_users: HashSet<&str> =
            current.users.iter().map(|u| u.user.id.as_str()).collect();
        let stored_accounts: HashSet<&str> = current
            .accounts
            .iter()
            .map(|a| a.account.id.as_str())
            .collect();

        let users: Vec<&UserState> = new
            .users
            .iter()
            .filter(|u| !stored_users.contains(u.user.id.as_str()))
            .collect();
        insert_rows(
            tx,
            "app_user",
            &[
                "id",
                "email",
                "first_name",
                "last_name",
                "country",
                "telephone",
                "zipcode",
                "two_factor_enabled",
                "is_operator",
                "api_key_hash",
                "created_at",
                "updated_at",
            ],
            &users,
            |mut b, u| {
                let (s, user) = (u, &u.user);
                b.push_bind(user.id.as_str().to_owned())
                    .push_bind(user.email.clone())
                    .push_bind(user.first_name.clone())
                    .push_bind(user.last_name.clone())
                    .push_bind(user.country.clone())
                    .push_bind(user.telephone.clone())
                    .push_bind(user.zipcode.clone())
                    .push_bind(user.two_factor_enabled)
                    .push_bind(user.operator)
                    .push_bind(s.api_key_hash.clone())
                    .push_bind(user.created_on.micros())
                    .push_bind(user.modified_on.micros());
            },
        )
        .await?;

        let accounts: Vec<&AccountState> = new
            .accounts
            .iter()
            .filter(|a| !stored_accounts.contains(a.account.id.as_str()))
            .collect();
        insert_rows(
            tx,
            "account",
            &[
                "id",
                "name",
                "type",
                "enforce_twofactor",
                "abuse_contact_email",
                "created_at",
                "updated_at",
            ],
            &accounts,
            |mut b, a| {
                b.push_bind(a.account.id.as_str().to_owned())
                    .push_bind(a.account.name.clone())
                    .push_bind(a.account.account_type.as_str())
                    .push_bind(a.account.enforce_twofactor)
                    .push_bind(a.account.abuse_contact_email.clone())
                    .push_bind(a.account.created_on.micros())
                    .push_bind(a.modified_on.micros());
            },
        )
        .await?;

        let rgs: Vec<&ResourceGroup> = new
            .accounts
            .iter()
            .flat_map(|a| &a.resource_groups)
            .collect();
        insert_rows(
            tx,
            "resource_group",
            &[
                "id",
                "account_id",
                "name",
                "scope_key",
                "created_at",
                "updated_at",
            ],
            &rgs,
            |mut b, g| {
                b.push_bind(g.id.as_str().to_owned())
                    .push_bind(g.account_id.as_str().to_owned())
                    .push_bind(g.name.clone())
                    .push_bind(g.scope_key.clone())
                    .push_bind(g.created_on.micros())
                    .push_bind(g.modified_on.micros());
            },
        )
        .await?;
        let objects: Vec<(&str, usize, &str)> = rgs
            .iter()
            .flat_map(|g| {
                g.objects
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (g.id.as_str(), i, o.as_str()))
            })
            .collect();
        insert_rows(
            tx,
            "resource_group_object",
            &["resource_group_id", "position", "object_key"],
            &objects,
            |mut b, (g, i, o)| {
                b.push_bind((*g).to_owned())
                    .push_bind(*i as i64)
                    .push_bind((*o).to_owned());
            },
        )
        .await?;

        let members: Vec<(&AccountId, &MemberState)> = new
            .accounts
            .iter()
            .flat_map(|a| a.members.iter().map(move |m| (&a.account.id, m)))
            .collect();
        insert_rows(
            tx,
            "member",
            &[
                "id",
                "account_id",
                "user_id",
                "status",
                "created_at",
                "updated_at",
            ],
            &members,
            |mut b, (a, m)| {
                b.push_bind(m.id.as_str().to_owned())
                    .push_bind(a.as_str().to_owned())
                    .push_bind(m.user_id.as_str().to_owned())
                    .push_bind(m.status.as_str())
                    .push_bind(m.created_on.micros())
                    .push_bind(m.modified_on.micros());
            },
        )
        .await?;
        let roles: Vec<(&str, usize, &str)> = members
            .iter()
            .flat_map(|(_, m)| match &m.grants {
                Grants::Roles(r) => r
                    .iter()
                    .enumerate()
                    .map(|(i, role)| (m.id.as_str(), i, role.as_str()))
                    .collect::<Vec<_>>(),
                Grants::Policies(_) => Vec::new(),
            })
            .collect();
        insert_rows(
            tx,
            "member_role",
            &["member_id", "position", "role_id"],
            &roles,
            |mut b, (m, i, r)| {
                b.push_bind((*m).to_owned())
                    .push_bind(*i as i64)
                    .push_bind((*r).to_owned());
            },
        )
        .await?;

        let groups: Vec<&UserGroupState> =
            new.accounts.iter().flat_map(|a| &a.user_groups).collect();
        insert_rows(
            tx,
            "user_group",
            &[
                "id",
                "account_id",
                "name",
                "name_folded",
                "member_count",
                "created_at",
                "updated_at",
            ],
            &groups,
            |mut b, g| {
                b.push_bind(g.group.id.as_str().to_owned())
                    .push_bind(g.group.account_id.as_str().to_owned())
                    .push_bind(g.group.name.clone())
                    .push_bind(g.group.name.to_lowercase())
                    .push_bind(g.members.len() as i64)
                    .push_bind(g.group.created_on.micros())
                    .push_bind(g.group.modified_on.micros());
            },
        )
        .await?;

        // Policies of members and user groups: (policy, account, holder column, holder, at, position).
        struct Held<'a> {
            policy: &'a Policy,
            account: &'a AccountId,
            member: Option<&'a str>,
            group: Option<&'a str>,
            position: usize,
            at: Timestamp,
        }
        let mut held: Vec<Held<'_>> = Vec::new();
        for (a, m) in &members {
            if let Grants::Policies(ps) = &m.grants {
                for (i, p) in ps.iter().enumerate() {
                    held.push(Held {
                        policy: p,
                        account: a,
                        member: Some(m.id.as_str()),
                        group: None,
                        position: i,
                        at: m.modified_on,
                    });
                }
            }
        }
        for g in &groups {
            for (i, p) in g.group.policies.iter().enumerate() {
                held.push(Held {
                    policy: p,
                    account: &g.group.account_id,
                    member: None,
                    group: Some(g.group.id.as_str()),
                    position: i,
                    at: g.group.modified_on,
                });
            }
        }
        insert_rows(
            tx,
            "policy",
            &[
                "id",
                "account_id",
                "member_id",
                "user_group_id",
                "position",
                "access",
                "created_at",
            ],
            &held,
            |mut b, h| {
                b.push_bind(h.policy.id.as_str().to_owned())
                    .push_bind(h.account.as_str().to_owned())
                    .push_bind(h.member.map(str::to_owned))
                    .push_bind(h.group.map(str::to_owned))
                    .push_bind(h.position as i64)
                    .push_bind(h.policy.access.as_str())
                    .push_bind(h.at.micros());
            },
        )
        .await?;
        let pgs: Vec<(&str, usize, &str)> = held
            .iter()
            .flat_map(|h| {
                h.policy
                    .permission_groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (h.policy.id.as_str(), i, g.as_str()))
            })
            .collect();
        insert_rows(
            tx,
            "policy_permission_group",
            &["policy_id", "position", "permission_group_id"],
            &pgs,
            |mut b, (p, i, g)| {
                b.push_bind((*p).to_owned())
                    .push_bind(*i as i64)
                    .push_bind((*g).to_owned());
            },
        )
        .await?;
        let prgs: Vec<(&str, usize, &str)> = held
            .iter()
            .flat_map(|h| {
                h.policy
                    .resource_groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (h.policy.id.as_str(), i, g.as_str()))
            })
            .collect();
        insert_rows(
            tx,
            "policy_resource_group",
            &["policy_id", "position", "resource_group_id"],
            &prgs,
            |mut b, (p, i, g)| {
                b.push_bind((*p).to_owned())
                    .push_bind(*i as i64)
                    .push_bind((*g).to_owned());
            },
        )
        .await?;

        // Group members carry their user's email (see migration 0001).
        let mut user_of: HashMap<&str, &str> = HashMap::new();
        for a in current.accounts.iter().chain(&new.accounts) {
            for m in &a.members {
                user_of.insert(m.id.as_str(), m.user_id.as_str());
            }
        }
        let mut email_of: HashMap<&str, &str> = HashMap::new();
        for u in current.users.iter().chain(&new.users) {
            email_of.insert(u.user.id.as_str(), u.user.email.as_str());
        }
        let mut gms: Vec<(&str, &str, &str, Timestamp)> = Vec::new();
        for g in &groups {
            for (m, at) in &g.members {
                let email = user_of
                    .get(m.as_str())
                    .and_then(|u| email_of.get(u))
                    .ok_or_else(|| CoreError::not_found("member", m.as_str()))?;
                gms.push((g.group.id.as_str(), m.as_str(), email, *at));
            }
        }
        insert_rows(
            tx,
            "user_group_member",
            &["user_group_id", "member_id", "email", "created_at"],
            &gms,
            |mut b, (g, m, e, at)| {
                b.push_bind((*g).to_owned())
                    .push_bind((*m).to_owned())
                    .push_bind((*e).to_owned())
                    .push_bind(at.micros());
            },
        )
        .await?;

        let tokens: Vec<&TokenState> = new
            .users
            .iter()
            .flat_map(|u| &u.tokens)
            .chain(new.accounts.iter().flat_map(|a| &a.tokens))
            .collect();
        insert_rows(
            tx,
            "api_token",
            &[
                "id",
                "account_id",
                "user_id",
                "name",
                "status",
                "secret_hash",
                "issued_at",
                "modified_at",
                "last_used_at",
                "not_before",
                "expires_at",
                "condition_json",
                "policies_json",
            ],
            &tokens,
            |mut b, t| {
                let tok = &t.token;
                let (account, user) = match &tok.owner {
                    TokenOwner::Account(a) => (Some(a.as_str().to_owned()), None),
                    TokenOwner::User(u) => (None, Some(u.as_str().to_owned())),
                };
                b.push_bind(tok.id.as_str().to_owned())
                    .push_bind(account)
                    .push_bind(user)
                    .push_bind(tok.name.clone())
                    .push_bind(tok.state.as_str())
                    .push_bind(t.secret_hash.clone())
                    .push_bind(tok.issued_on.micros())
                    .push_bind(tok.modified_on.micros())
                    .push_bind(tok.last_used_on.map(Timestamp::micros))
                    .push_bind(tok.not_before.map(Timestamp::micros))
                    .push_bind(tok.expires_on.map(Timestamp::micros))
                    .push_bind(condition_to_json(&tok.condition))
                    .push_bind(policies_to_json(&tok.policies));
            },
        )
        .await?;

        let sso: Vec<&SsoConnector> = new
            .accounts
            .iter()
            .flat_map(|a| &a.sso_connectors)
            .collect();
        insert_rows(
            tx,
            "sso_connector",
            &[
                "id",
                "account_id",
                "email_domain",
                "enabled",
                "use_fedramp_language",
                "code",
                "status",
                "pending_since",
                "next_check_at",
                "dns_failures",
                "created_at",
                "updated_at",
            ],
            &sso,
            |mut b, c| {
                b.push_bind(c.id.as_str().to_owned())
                    .push_bind(c.account_id.as_str().to_owned())
                    .push_bind(c.email_domain.clone())
                    .push_bind(c.enabled)
                    .push_bind(c.use_fedramp_language)
                    .push_bind(c.code.clone())
                    .push_bind(c.status.as_str())
                    .push_bind(c.pending_since.map(Timestamp::micros))
                    .push_bind(c.next_check_at.map(Timestamp::micros))
                    .push_bind(i64::from(c.dns_failures))
                    .push_bind(c.created_on.micros())
                    .push_bind(c.updated_on.micros());
            },
        )
        .await?;

        let clients: Vec<&OAuthClientState> =
            new.accounts.iter().flat_map(|a| &a.oauth_clients).collect();
        insert_rows(
            tx,
            "oauth_client",
            &[
                "id",
                "account_id",
                "client_name",
                "grant_types_json",
                "response_types_json",
                "redirect_uris_json",
                "post_logout_redirect_uris_json",
                "allowed_cors_origins_json",
                "scopes_json",
                "optional_scopes_json",
                "token_endpoint_auth_method",
                "client_uri",
                "logo_uri",
                "policy_uri",
                "tos_uri",
                "visibility",
                "secret_hash",
                "rotated_secret_hash",
                "created_at",
                "updated_at",
            ],
            &clients,
            |mut b, s| {
                let c = &s.client;
                b.push_bind(c.id.as_str().to_owned())
                    .push_bind(c.account_id.as_str().to_owned())
                    .push_bind(c.client_name.clone())
                    .push_bind(json_of(c.grant_types.iter().map(|g| g.as_str())))
                    .push_bind(json_of(c.response_types.iter().map(|g| g.as_str())))
                    .push_bind(json_of(c.redirect_uris.iter().map(String::as_str)))
                    .push_bind(json_of(
                        c.post_logout_redirect_uris.iter().map(String::as_str),
                    ))
                    .push_bind(json_of(c.allowed_cors_origins.iter().map(String::as_str)))
                    .push_bind(json_of(c.scopes.iter().map(String::as_str)))
                    .push_bind(json_of(c.optional_scopes.iter().map(String::as_str)))
                    .push_bind(c.token_endpoint_auth_method.as_str())
                    .push_bind(c.client_uri.clone())
                    .push_bind(c.logo_uri.clone())
                    .push_bind(c.policy_uri.clone())
                    .push_bind(c.tos_uri.clone())
                    .push_bind(c.visibility.as_str())
                    .push_bind(s.secret_hash.clone())
                    .push_bind(s.rotated_secret_hash.clone())
                    .push_bind(c.created_on.micros())
                    .push_bind(c.updated_on.micros());
            },
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl StateStore for SqlStore {
    async fn read_state(&self, accounts: Option<&[AccountId]>) -> CoreResult<State> {
        let mut tx = self.pool.begin_with(BEGIN_SNAPSHOT).await.map_err(db)?;
        let state = Self::read_all(&mut tx, accounts).await?;
        tx.commit().await.map_err(db)?;
        Ok(state)
    }

    async fn import_state(
        &self,
        mode: ImportMode,
        plan: &ImportPlan<'_>,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<ImportSummary> {
        let mut tx = self.write().await?;
        let current = match mode {
            ImportMode::Replace => {
                Self::delete_all(&mut tx).await?;
                State::default()
            }
            ImportMode::Merge => Self::read_all(&mut tx, None).await?,
        };
        let (new, summary) = plan(&current)?;
        Self::insert_all(&mut tx, &current, &new).await?;
        let import = portcullis_core::audit::StateImport {
            how: match mode {
                ImportMode::Replace => "replace",
                ImportMode::Merge => "merge",
            },
            added: summary.added as u64,
        };
        let action = match mode {
            ImportMode::Replace => portcullis_core::audit::AuditAction::Update,
            ImportMode::Merge => portcullis_core::audit::AuditAction::Create,
        };
        let record = audit.record(action, None, Some(&import));
        self.commit_audited(tx, &[Change::Everything], &[record])
            .await?;
        Ok(summary)
    }
}
