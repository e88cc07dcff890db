//! The SQL implementation of the storage boundary, shared by the SQLite and PostgreSQL adapters.
//!
//! This file is compiled into each adapter crate (`#[path]`), next to a `backend` module that
//! names the database (`Db`, `Conn`) and its few differences (`BEGIN_WRITE`, `FOR_UPDATE`). The
//! SQL is written once in the dialect both engines accept: `$n` placeholders, `lower()` for
//! case-insensitive order, `on conflict do nothing`, `true`/`false`.
//!
//! - Every write is one transaction (`BEGIN_WRITE`); a failure rolls back everything.
//! - Writes that change what caches derive from the data commit through `SqlStore::commit`,
//!   which announces the change (`backend::announce`) and records it in `Store::revisions`.
//! - Queries are checked at run time and covered by the storage contract suite on both
//!   backends; no sqlx type leaves the adapter.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use portcullis_core::audit::AuditAction;
use portcullis_core::changes::{Change, Revisions};
use portcullis_core::error::{Conflict, CoreError, CoreResult, Corrupt, StorageError};
use portcullis_core::ids::{AccountId, MemberId, PolicyId, ResourceGroupId, TokenId, UserId};
use portcullis_core::model::{
    Access, Account, AccountType, ApiToken, Grants, Member, MemberFilter, MemberOrder,
    MemberStatus, Membership, MembershipFilter, MembershipOrder, Policy, TokenCondition,
    TokenOwner, TokenPolicy, TokenState, User,
};
use portcullis_core::page::{Page, PageRequest};
use portcullis_core::store::{
    AccountChanges, AccountStore, Bootstrap, KeepRole, MemberChanges, MemberStore, NewMember,
    NewToken, ProfileChanges, Store, TokenStore, UserCredentials, UserStore,
};
use portcullis_core::time::Timestamp;
use serde_json::{json, Value};
use sqlx::{Pool, QueryBuilder, Transaction};

use crate::backend::{Conn, Db, BEGIN_WRITE, FOR_UPDATE, UNINDEXED};

/// Maps a database error to a domain error: a foreign-key violation is a request naming
/// something that does not exist (or is still in use); anything else is a storage failure that
/// keeps sqlx's error as its source, for the log. Unique violations a write expects are named
/// by [`unique`].
pub(crate) fn db(e: sqlx::Error) -> CoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_foreign_key_violation() {
            return CoreError::Invalid {
                pointer: None,
                message: "a referenced object does not exist or is still in use".into(),
            };
        }
    }
    StorageError::caused_by("database error", e).into()
}

/// Like [`db`], but a unique violation of a constraint that `conflict` recognizes by name (a
/// concurrent writer, perhaps another replica, won) becomes that [`Conflict`]. Constraint names
/// are the schema's (`user_group_name_unique`, …); `backend::constraint` reads them from
/// either database.
pub(crate) fn unique(e: sqlx::Error, conflict: impl FnOnce(&str) -> Option<Conflict>) -> CoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            if let Some(c) = crate::backend::constraint(d.as_ref()).and_then(conflict) {
                return c.into();
            }
        }
    }
    db(e)
}

pub(crate) fn ts(v: i64) -> Timestamp {
    Timestamp::from_micros(v)
}

/// The SQL store (one pool).
#[derive(Clone)]
pub struct SqlStore {
    /// Reads.
    pub(crate) pool: Pool<Db>,
    /// Write transactions ([`SqlStore::write`]): SQLite's is one connection, so writers queue
    /// for it instead of racing for the database's write lock; PostgreSQL's is the read pool.
    pub(crate) writer: Pool<Db>,
    /// What caches derived from this database are valid against (see `Store::revisions`).
    pub(crate) revisions: Arc<Revisions>,
    /// How this process tells others serving the same database what it changed.
    pub(crate) feed: crate::backend::Feed,
    /// Where committed audit entries are also sent (`--audit-stdout`).
    pub(crate) audit_sink: Option<Arc<dyn portcullis_core::audit::AuditSink>>,
    /// Write transactions begun and the microseconds they waited to begin.
    pub(crate) write_waits: Arc<(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64)>,
}

impl SqlStore {
    /// Sends every committed audit entry to `sink` as well.
    pub fn with_audit_sink(mut self, sink: Arc<dyn portcullis_core::audit::AuditSink>) -> Self {
        self.audit_sink = Some(sink);
        self
    }
}

/// One row of a policy read with its groups: the policy, one of its permission groups and one
/// of its resource groups (each `NULL` when it has none), with their positions.
#[derive(sqlx::FromRow)]
pub(crate) struct PolicyPart {
    pub(crate) policy_id: String,
    pub(crate) holder: String,
    pub(crate) access: String,
    pub(crate) pg_at: Option<i64>,
    pub(crate) pg: Option<String>,
    pub(crate) rg_at: Option<i64>,
    pub(crate) rg: Option<String>,
}

/// Puts policies back together from their rows (in policy order), by holder.
pub(crate) fn assemble_policies(
    rows: impl IntoIterator<Item = PolicyPart>,
) -> CoreResult<HashMap<String, Vec<Policy>>> {
    // Per policy: holder, access, permission groups and resource groups by position.
    type Parts = (String, String, BTreeMap<i64, String>, BTreeMap<i64, String>);
    let mut order: Vec<String> = Vec::new();
    let mut parts: HashMap<String, Parts> = HashMap::new();
    for r in rows {
        let entry = parts.entry(r.policy_id.clone()).or_insert_with(|| {
            order.push(r.policy_id);
            (r.holder, r.access, BTreeMap::new(), BTreeMap::new())
        });
        if let (Some(at), Some(pg)) = (r.pg_at, r.pg) {
            entry.2.insert(at, pg);
        }
        if let (Some(at), Some(rg)) = (r.rg_at, r.rg) {
            entry.3.insert(at, rg);
        }
    }
    let mut out: HashMap<String, Vec<Policy>> = HashMap::new();
    for id in order {
        let Some((holder, access, pgs, rgs)) = parts.remove(&id) else {
            continue;
        };
        out.entry(holder).or_default().push(Policy {
            access: Access::try_from(access.as_str())?,
            id: PolicyId::from_trusted(id),
            permission_groups: pgs.into_values().collect(),
            resource_groups: rgs
                .into_values()
                .map(ResourceGroupId::from_trusted)
                .collect(),
        });
    }
    Ok(out)
}

/// An `account` row (`ACCOUNT_COLS`).
#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    name: String,
    #[sqlx(rename = "type")]
    account_type: String,
    enforce_twofactor: bool,
    abuse_contact_email: Option<String>,
    created_at: i64,
}

/// A membership: the member id and its account (`ACCOUNT_COLS` and `m.id as membership_id`).
#[derive(sqlx::FromRow)]
struct MembershipRow {
    membership_id: String,
    #[sqlx(flatten)]
    account: AccountRow,
}

/// An `app_user` row (`USER_COLS`; also the user part of member rows).
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    country: Option<String>,
    telephone: Option<String>,
    zipcode: Option<String>,
    two_factor_enabled: bool,
    is_operator: bool,
    created_at: i64,
    updated_at: i64,
}

/// A user with its key hash.
#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    api_key_hash: Option<String>,
}

/// A `member` row joined with its user (`MEMBER_COLS`).
#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    member_id: String,
    account_id: String,
    status: String,
    member_created_at: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

/// An `api_token` row (`TOKEN_COLS`).
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: String,
    account_id: Option<String>,
    user_id: Option<String>,
    name: String,
    status: String,
    issued_at: i64,
    modified_at: i64,
    last_used_at: Option<i64>,
    not_before: Option<i64>,
    expires_at: Option<i64>,
    condition_json: String,
    policies_json: String,
    secret_hash: String,
}

const ACCOUNT_COLS: &str =
    "a.id, a.name, a.type, a.enforce_twofactor, a.abuse_contact_email, a.created_at";
pub(crate) const USER_COLS: &str =
    "u.id, u.email, u.first_name, u.last_name, u.country, u.telephone, u.zipcode, u.two_factor_enabled, u.is_operator, u.created_at, u.updated_at";
const MEMBER_COLS: &str = "m.id as member_id, m.account_id, m.status, m.created_at as member_created_at, u.id, u.email, u.first_name, u.last_name, u.country, u.telephone, u.zipcode, u.two_factor_enabled, u.is_operator, u.created_at, u.updated_at";
pub(crate) const TOKEN_COLS: &str = "id, account_id, user_id, name, status, issued_at, modified_at, last_used_at, not_before, expires_at, condition_json, policies_json, secret_hash";

impl TryFrom<AccountRow> for Account {
    type Error = CoreError;
    fn try_from(r: AccountRow) -> CoreResult<Self> {
        Ok(Account {
            account_type: AccountType::try_from(r.account_type.as_str())?,
            id: AccountId::from_trusted(r.id),
            name: r.name,
            enforce_twofactor: r.enforce_twofactor,
            abuse_contact_email: r.abuse_contact_email,
            created_on: ts(r.created_at),
        })
    }
}

impl UserRow {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId::from_trusted(r.id),
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            country: r.country,
            telephone: r.telephone,
            zipcode: r.zipcode,
            two_factor_enabled: r.two_factor_enabled,
            operator: r.is_operator,
            created_on: ts(r.created_at),
            modified_on: ts(r.updated_at),
        }
    }
}

pub(crate) fn condition_to_json(c: &TokenCondition) -> String {
    let list = |v: &[ipnet::IpNet]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    json!({"in": list(&c.request_ip_in), "not_in": list(&c.request_ip_not_in)}).to_string()
}

/// Reads a stored token condition. Anything unreadable (bad JSON, a missing list, an address
/// that does not parse) is an error: dropping it would lift the token's IP restriction.
fn condition_from_json(id: &str, s: &str) -> CoreResult<TokenCondition> {
    let corrupt =
        |why: &str| CoreError::from(Corrupt::column("api_token", id, "condition_json", why));
    let v: Value = serde_json::from_str(s).map_err(|_| corrupt("is not JSON"))?;
    let list = |k: &str| -> CoreResult<Vec<ipnet::IpNet>> {
        let items = v
            .get(k)
            .and_then(Value::as_array)
            .ok_or_else(|| corrupt(&format!("has no `{k}` list")))?;
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| corrupt(&format!("has an unreadable `{k}` entry {item}")))
            })
            .collect()
    };
    Ok(TokenCondition {
        request_ip_in: list("in")?,
        request_ip_not_in: list("not_in")?,
    })
}

pub(crate) fn policies_to_json(p: &[TokenPolicy]) -> String {
    Value::Array(
        p.iter()
            .map(|p| {
                json!({
                    "id": p.id.as_str(),
                    "effect": p.access.as_str(),
                    "permission_groups": p.permission_groups,
                    "resources": Value::Object(p.resources.clone()),
                })
            })
            .collect(),
    )
    .to_string()
}

/// Reads a stored token policy list. Anything unreadable (bad JSON, a policy without an id,
/// an unknown effect, a malformed permission-group or resource entry) is an error, never
/// "allow" or "no policies".
fn policies_from_json(id: &str, s: &str) -> CoreResult<Vec<TokenPolicy>> {
    let corrupt =
        |why: String| CoreError::from(Corrupt::column("api_token", id, "policies_json", why));
    let v: Value = serde_json::from_str(s).map_err(|_| corrupt("is not JSON".into()))?;
    let list = v
        .as_array()
        .ok_or_else(|| corrupt("is not a list".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let field = |k: &str| {
                p.get(k)
                    .ok_or_else(|| corrupt(format!("policy {i} has no `{k}`")))
            };
            let policy_id = field("id")?
                .as_str()
                .ok_or_else(|| corrupt(format!("policy {i} has a non-text id")))?;
            let effect = field("effect")?
                .as_str()
                .ok_or_else(|| corrupt(format!("policy {i} has a non-text effect")))?;
            let groups = field("permission_groups")?
                .as_array()
                .ok_or_else(|| corrupt(format!("policy {i}: permission_groups is not a list")))?
                .iter()
                .map(|g| {
                    g.as_str().map(str::to_owned).ok_or_else(|| {
                        corrupt(format!("policy {i} has a non-text permission group"))
                    })
                })
                .collect::<CoreResult<Vec<String>>>()?;
            let resources = field("resources")?
                .as_object()
                .cloned()
                .ok_or_else(|| corrupt(format!("policy {i}: resources is not an object")))?;
            Ok(TokenPolicy {
                id: PolicyId::from_trusted(policy_id.to_owned()),
                access: Access::try_from(effect)?,
                permission_groups: groups,
                resources,
            })
        })
        .collect()
}

/// A token row decoded, with its stored secret hash; fails closed (a token that cannot be
/// read cannot be used).
pub(crate) struct StoredToken(pub(crate) ApiToken, pub(crate) String);

impl TryFrom<TokenRow> for StoredToken {
    type Error = CoreError;
    fn try_from(r: TokenRow) -> CoreResult<Self> {
        let owner = match (r.account_id, r.user_id) {
            (Some(a), None) => TokenOwner::Account(AccountId::from_trusted(a)),
            (None, Some(u)) => TokenOwner::User(UserId::from_trusted(u)),
            _ => {
                return Err(Corrupt::OneOf {
                    table: "api_token",
                    id: Some(r.id),
                    first: "account_id",
                    second: "user_id",
                }
                .into())
            }
        };
        let condition = condition_from_json(&r.id, &r.condition_json)?;
        let policies = policies_from_json(&r.id, &r.policies_json)?;
        Ok(StoredToken(
            ApiToken {
                state: TokenState::try_from(r.status.as_str())?,
                id: TokenId::from_trusted(r.id),
                owner,
                name: r.name,
                issued_on: ts(r.issued_at),
                modified_on: ts(r.modified_at),
                last_used_on: r.last_used_at.map(ts),
                not_before: r.not_before.map(ts),
                expires_on: r.expires_at.map(ts),
                condition,
                policies,
            },
            r.secret_hash,
        ))
    }
}

fn token_from(r: TokenRow) -> CoreResult<ApiToken> {
    StoredToken::try_from(r).map(|t| t.0)
}

fn owner_cols(owner: &TokenOwner) -> (&'static str, &str) {
    match owner {
        TokenOwner::Account(a) => ("account_id", a.as_str()),
        TokenOwner::User(u) => ("user_id", u.as_str()),
    }
}

impl SqlStore {
    pub(crate) async fn write(&self) -> CoreResult<Transaction<'static, Db>> {
        use std::sync::atomic::Ordering::Relaxed;
        let started = std::time::Instant::now();
        let tx = self.writer.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let waited = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.write_waits.0.fetch_add(1, Relaxed);
        self.write_waits.1.fetch_add(waited, Relaxed);
        Ok(tx)
    }

    /// Commits a write and records what it changed: announced to other processes inside the
    /// transaction (so only a committed change is heard), recorded here once committed.
    pub(crate) async fn commit(
        &self,
        mut tx: Transaction<'static, Db>,
        changes: &[Change],
    ) -> CoreResult<()> {
        crate::backend::announce(&mut tx, &self.feed, changes)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.revisions.record(changes);
        Ok(())
    }

    pub(crate) async fn load_grants(
        conn: &mut Conn,
        account: &AccountId,
        member_ids: &[String],
    ) -> CoreResult<HashMap<String, Grants>> {
        let mut out: HashMap<String, Grants> = HashMap::new();
        if member_ids.is_empty() {
            return Ok(out);
        }
        let mut q = QueryBuilder::<Db>::new(
            format!("select r.member_id, r.role_id from member_role r join member m on m.id = r.member_id where {UNINDEXED}m.account_id = "),
        );
        q.push_bind(account.as_str());
        q.push(" and r.member_id in (");
        let mut sep = q.separated(", ");
        for id in member_ids {
            sep.push_bind(id.as_str());
        }
        q.push(") order by r.member_id, r.position");
        let rows: Vec<(String, String)> =
            q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
        for (member, role) in rows {
            match out
                .entry(member)
                .or_insert_with(|| Grants::Roles(Vec::new()))
            {
                Grants::Roles(r) => r.push(role),
                Grants::Policies(_) => {}
            }
        }
        for (member, policies) in
            Self::load_policies(conn, account, "member_id", member_ids).await?
        {
            out.insert(member, Grants::Policies(policies));
        }
        Ok(out)
    }

    /// Policies held by the given members or user groups (`col` is `member_id` or
    /// `user_group_id`), in written order.
    /// The policies of `holders` (members or user groups, by `col`), with their permission and
    /// resource groups, in one query: each policy's rows are the pairs of its permission groups
    /// and resource groups (a policy has a few of each), put back in order by position.
    pub(crate) async fn load_policies(
        conn: &mut Conn,
        account: &AccountId,
        col: &str,
        holders: &[String],
    ) -> CoreResult<HashMap<String, Vec<Policy>>> {
        if holders.is_empty() {
            return Ok(HashMap::new());
        }
        let mut q = QueryBuilder::<Db>::new(format!(
            "select p.id as policy_id, p.{col} as holder, p.access, g.position as pg_at, \
             g.permission_group_id as pg, r.position as rg_at, r.resource_group_id as rg \
             from policy p \
             left join policy_permission_group g on g.policy_id = p.id \
             left join policy_resource_group r on r.policy_id = p.id \
             where p.account_id = "
        ));
        q.push_bind(account.as_str());
        q.push(format!(" and p.{col} in ("));
        let mut sep = q.separated(", ");
        for id in holders {
            sep.push_bind(id.as_str());
        }
        q.push(format!(") order by p.{col}, p.position, p.id"));
        let rows: Vec<PolicyPart> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
        assemble_policies(rows)
    }

    pub(crate) async fn members_from_rows(
        conn: &mut Conn,
        account: &AccountId,
        rows: Vec<MemberRow>,
    ) -> CoreResult<Vec<Member>> {
        let ids: Vec<String> = rows.iter().map(|r| r.member_id.clone()).collect();
        let mut grants = Self::load_grants(conn, account, &ids).await?;
        rows.into_iter()
            .map(|r| {
                let g = grants
                    .remove(&r.member_id)
                    .unwrap_or(Grants::Roles(Vec::new()));
                Ok(Member {
                    status: MemberStatus::try_from(r.status.as_str())?,
                    id: MemberId::from_trusted(r.member_id),
                    account_id: AccountId::from_trusted(r.account_id),
                    created_on: ts(r.member_created_at),
                    user: r.user.into(),
                    grants: g,
                })
            })
            .collect()
    }

    /// The member of `account` whose `col` (`m.id` or `m.user_id`) is `value`.
    pub(crate) async fn member_where(
        conn: &mut Conn,
        account: &AccountId,
        col: &str,
        value: &str,
    ) -> CoreResult<Option<Member>> {
        let sql = format!(
            "select {MEMBER_COLS} from member m join app_user u on u.id = m.user_id where m.account_id = $1 and {col} = $2"
        );
        let row: Option<MemberRow> = sqlx::query_as(&sql)
            .bind(account.as_str())
            .bind(value)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        match row {
            Some(r) => Ok(Self::members_from_rows(conn, account, vec![r]).await?.pop()),
            None => Ok(None),
        }
    }

    pub(crate) async fn write_grants(
        tx: &mut Conn,
        account: &AccountId,
        member: &MemberId,
        grants: &Grants,
        now: Timestamp,
    ) -> CoreResult<()> {
        sqlx::query("delete from member_role where member_id in (select id from member where id = $1 and account_id = $2)")
            .bind(member.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("delete from policy where member_id = $1 and account_id = $2")
            .bind(member.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        match grants {
            Grants::Roles(roles) => {
                for (i, role) in roles.iter().enumerate() {
                    sqlx::query(
                        "insert into member_role (member_id, position, role_id) values ($1, $2, $3)",
                    )
                    .bind(member.as_str())
                    .bind(i as i64)
                    .bind(role)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
            }
            Grants::Policies(policies) => {
                Self::write_policies(tx, account, ("member_id", member.as_str()), policies, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// Inserts policies held by `holder` (`("member_id", id)` or `("user_group_id", id)`).
    pub(crate) async fn write_policies(
        tx: &mut Conn,
        account: &AccountId,
        holder: (&str, &str),
        policies: &[Policy],
        now: Timestamp,
    ) -> CoreResult<()> {
        for (i, p) in policies.iter().enumerate() {
            sqlx::query(&format!("insert into policy (id, account_id, {}, position, access, created_at) values ($1, $2, $3, $4, $5, $6)", holder.0))
                .bind(p.id.as_str())
                .bind(account.as_str())
                .bind(holder.1)
                .bind(i as i64)
                .bind(p.access.as_str())
                .bind(now.micros())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for (j, pg) in p.permission_groups.iter().enumerate() {
                sqlx::query("insert into policy_permission_group (policy_id, position, permission_group_id) values ($1, $2, $3)")
                    .bind(p.id.as_str())
                    .bind(j as i64)
                    .bind(pg)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            for (j, rg) in p.resource_groups.iter().enumerate() {
                // The resource group must still exist in this account at commit time.
                let present: Option<(String,)> = sqlx::query_as(
                    "select id from resource_group where id = $1 and account_id = $2",
                )
                .bind(rg.as_str())
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                if present.is_none() {
                    return Err(CoreError::not_found("resource group", rg.as_str()));
                }
                sqlx::query("insert into policy_resource_group (policy_id, position, resource_group_id) values ($1, $2, $3)")
                    .bind(p.id.as_str())
                    .bind(j as i64)
                    .bind(rg.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        Ok(())
    }

    /// Accepted holders of `role` in the account, counted with the account row locked (so that
    /// concurrent member changes of one account are serialized); 0 when there is no role to keep.
    pub(crate) async fn role_holders(
        tx: &mut Conn,
        account: &AccountId,
        role: Option<&KeepRole>,
    ) -> CoreResult<i64> {
        let Some(role) = role else {
            return Ok(0);
        };
        sqlx::query(&format!("select id from account where id = $1{FOR_UPDATE}"))
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let (n,): (i64,) = sqlx::query_as("select count(*) from member m join member_role r on r.member_id = m.id where m.account_id = $1 and m.status = 'accepted' and r.role_id = $2")
            .bind(account.as_str())
            .bind(&role.id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        Ok(n)
    }

    /// Fails (and so rolls the transaction back) when the change took the account's last
    /// accepted holder of `role`.
    pub(crate) async fn keep_a_holder(
        tx: &mut Conn,
        account: &AccountId,
        member: &MemberId,
        role: Option<&KeepRole>,
        before: i64,
    ) -> CoreResult<()> {
        let Some(keep) = role else {
            return Ok(());
        };
        let after = Self::role_holders(tx, account, role).await?;
        keep.check(before, after, member, account)
    }

    /// Finds or creates the user with `email`; returns its id.
    pub(crate) async fn ensure_user(
        tx: &mut Conn,
        new_id: &UserId,
        email: &str,
        now: Timestamp,
    ) -> CoreResult<String> {
        // Another transaction (or replica) may create the same user at the same moment: insert
        // if absent, then read whichever row won.
        sqlx::query("insert into app_user (id, email, created_at, updated_at) values ($1, $2, $3, $4) on conflict (email) do nothing")
            .bind(new_id.as_str())
            .bind(email)
            .bind(now.micros())
            .bind(now.micros())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let (id,): (String,) = sqlx::query_as("select id from app_user where email = $1")
            .bind(email)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        Ok(id)
    }

    pub(crate) async fn insert_member(
        tx: &mut Conn,
        account: &AccountId,
        m: &NewMember,
    ) -> CoreResult<()> {
        let user_id = Self::ensure_user(tx, &m.new_user_id, &m.email, m.now).await?;
        let dup: Option<(String,)> =
            sqlx::query_as("select id from member where account_id = $1 and user_id = $2")
                .bind(account.as_str())
                .bind(&user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let taken = || Conflict::MemberEmail {
            email: m.email.clone(),
            account: account.clone(),
        };
        if dup.is_some() {
            return Err(taken().into());
        }
        sqlx::query("insert into member (id, account_id, user_id, status, created_at, updated_at) values ($1, $2, $3, $4, $5, $6)")
            .bind(m.id.as_str())
            .bind(account.as_str())
            .bind(&user_id)
            .bind(m.status.as_str())
            .bind(m.now.micros())
            .bind(m.now.micros())
            .execute(&mut *tx)
            .await
            .map_err(|e| unique(e, |c| (c == "member_account_user_unique").then(taken)))?;
        Self::write_grants(tx, account, &m.id, &m.grants, m.now).await
    }

    /// The audit entries of resource groups a write creates from policies' inline scopes.
    pub(crate) fn created_resource_groups(
        audit: &portcullis_core::audit::AuditContext,
        groups: &[portcullis_core::model::ResourceGroup],
    ) -> Vec<portcullis_core::audit::AuditRecord> {
        groups
            .iter()
            .map(|g| audit.record(AuditAction::Create, None, Some(g)))
            .collect()
    }

    /// One token of an owner, read in a transaction.
    pub(crate) async fn token_of(
        conn: &mut Conn,
        owner: &TokenOwner,
        id: &TokenId,
    ) -> CoreResult<Option<ApiToken>> {
        let (col, val) = owner_cols(owner);
        let sql = format!("select {TOKEN_COLS} from api_token where id = $1 and {col} = $2");
        let row: Option<TokenRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(val)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        row.map(token_from).transpose()
    }

    /// One account, read in a transaction (the value an audit entry shows before a change).
    pub(crate) async fn account_in(conn: &mut Conn, id: &AccountId) -> CoreResult<Option<Account>> {
        let sql = format!("select {ACCOUNT_COLS} from account a where a.id = $1{FOR_UPDATE}");
        let row: Option<AccountRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        row.map(Account::try_from).transpose()
    }

    pub(crate) async fn insert_account(tx: &mut Conn, a: &Account) -> CoreResult<()> {
        sqlx::query("insert into account (id, name, type, enforce_twofactor, abuse_contact_email, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7)")
            .bind(a.id.as_str())
            .bind(&a.name)
            .bind(a.account_type.as_str())
            .bind(a.enforce_twofactor)
            .bind(a.abuse_contact_email.as_deref())
            .bind(a.created_on.micros())
            .bind(a.created_on.micros())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn insert_token(tx: &mut Conn, t: &NewToken) -> CoreResult<()> {
        let tok = &t.token;
        let (account, user) = match &tok.owner {
            TokenOwner::Account(a) => (Some(a.as_str()), None),
            TokenOwner::User(u) => (None, Some(u.as_str())),
        };
        sqlx::query("insert into api_token (id, account_id, user_id, name, status, secret_hash, issued_at, modified_at, last_used_at, not_before, expires_at, condition_json, policies_json) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
            .bind(tok.id.as_str())
            .bind(account)
            .bind(user)
            .bind(&tok.name)
            .bind(tok.state.as_str())
            .bind(&t.secret_hash)
            .bind(tok.issued_on.micros())
            .bind(tok.modified_on.micros())
            .bind(tok.last_used_on.map(Timestamp::micros))
            .bind(tok.not_before.map(Timestamp::micros))
            .bind(tok.expires_on.map(Timestamp::micros))
            .bind(condition_to_json(&tok.condition))
            .bind(policies_to_json(&tok.policies))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                unique(e, |c| {
                    (c == "api_token_secret_unique").then_some(Conflict::SecretCollision)
                })
            })?;
        Ok(())
    }
}

/// How to read one page of `total` ordered rows: pages in the second half are read backwards
/// from the end (and reversed), so a page near the end costs what a page near the start costs.
/// Returns `(backwards, limit, offset)`.
pub(crate) fn page_plan(total: i64, limit: i64, offset: i64) -> (bool, i64, i64) {
    if offset >= total || offset <= total / 2 {
        return (false, limit, offset);
    }
    let from_end = total - offset - limit;
    if from_end >= 0 {
        (true, limit, from_end)
    } else {
        (true, limit + from_end, 0)
    }
}

/// One page of an ordered list, the one way every list is read. `build(select)` gives the
/// filtered query for a select list; `total` is the number of matching rows (counted, or kept
/// in a counter); `order` are the ordering expressions, each sorted `descending` or not, the
/// last of them unique. Pages in the second half are read backwards (see [`page_plan`]).
pub(crate) async fn read_page<'q, R>(
    conn: &mut Conn,
    build: impl Fn(&str) -> QueryBuilder<'q, Db>,
    select: &str,
    order: &[&str],
    descending: bool,
    total: i64,
    page: PageRequest,
) -> CoreResult<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    let limit = i64::try_from(page.per_page).unwrap_or(i64::MAX);
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    let (backwards, limit, offset) = page_plan(total, limit, offset);
    let dir = if descending != backwards {
        "desc"
    } else {
        "asc"
    };
    let mut q = build(select);
    let order: Vec<String> = order.iter().map(|o| format!("{o} {dir}")).collect();
    q.push(format!(" order by {} limit ", order.join(", ")));
    q.push_bind(limit);
    q.push(" offset ");
    q.push_bind(offset);
    let mut rows: Vec<R> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

/// The number of rows `build("count(*)")` matches.
pub(crate) async fn count<'q>(
    conn: &mut Conn,
    build: impl Fn(&str) -> QueryBuilder<'q, Db>,
) -> CoreResult<i64> {
    let (n,): (i64,) = build("count(*)")
        .build_query_as()
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    Ok(n)
}

/// A page of items with its total.
pub(crate) fn page_from<T>(items: Vec<T>, total: i64, request: PageRequest) -> Page<T> {
    Page {
        items,
        total: u64::try_from(total).unwrap_or(0),
        request,
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_account(
        &self,
        account: &Account,
        owner: Option<&NewMember>,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<()> {
        let mut tx = self.write().await?;
        Self::insert_account(&mut tx, account).await?;
        let mut records = vec![audit.record(AuditAction::Create, None, Some(account))];
        if let Some(owner) = owner {
            Self::insert_member(&mut tx, &account.id, owner).await?;
            let member =
                Self::member_where(&mut tx, &account.id, "m.id", owner.id.as_str()).await?;
            records.push(audit.member(AuditAction::Create, None, member.as_ref()));
        }
        self.commit_audited(tx, &[Change::Account(account.id.clone())], &records)
            .await
    }

    async fn get_account(&self, id: &AccountId) -> CoreResult<Option<Account>> {
        let sql = format!("select {ACCOUNT_COLS} from account a where a.id = $1");
        let row: Option<AccountRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(Account::try_from).transpose()
    }

    async fn list_accounts(
        &self,
        member_user: Option<&UserId>,
        name: Option<&str>,
        descending: bool,
        page: PageRequest,
    ) -> CoreResult<Page<Account>> {
        let build = |select: &str| {
            let mut q = QueryBuilder::<Db>::new(format!("select {select} from account a"));
            if let Some(user) = member_user {
                q.push(" join member m on m.account_id = a.id and m.status = 'accepted' and m.user_id = ");
                q.push_bind(user.as_str().to_owned());
            }
            q.push(" where 1 = 1");
            if let Some(name) = name {
                q.push(" and lower(a.name) = lower(");
                q.push_bind(name.to_owned());
                q.push(")");
            }
            q
        };
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let total = count(&mut conn, &build).await?;
        let rows: Vec<AccountRow> = read_page(
            &mut conn,
            &build,
            ACCOUNT_COLS,
            &["lower(a.name)", "a.id"],
            descending,
            total,
            page,
        )
        .await?;
        let items = rows
            .into_iter()
            .map(Account::try_from)
            .collect::<CoreResult<_>>()?;
        Ok(page_from(items, total, page))
    }

    async fn update_account(
        &self,
        id: &AccountId,
        c: &AccountChanges,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Option<Account>> {
        let mut tx = self.write().await?;
        let Some(before) = Self::account_in(&mut tx, id).await? else {
            return Ok(None);
        };
        let now = Timestamp::now();
        let done = sqlx::query(
            "update account set name = coalesce($1, name), type = coalesce($2, type), \
             enforce_twofactor = coalesce($3, enforce_twofactor), \
             abuse_contact_email = case when $4 then $5 else abuse_contact_email end, \
             updated_at = $6 where id = $7",
        )
        .bind(c.name.as_deref())
        .bind(c.account_type.map(AccountType::as_str))
        .bind(c.enforce_twofactor)
        .bind(c.abuse_contact_email.is_some())
        .bind(c.abuse_contact_email.clone().flatten())
        .bind(now.micros())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let sql = format!("select {ACCOUNT_COLS} from account a where a.id = $1");
        let row: AccountRow = sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let account = Account::try_from(row)?;
        let record = audit.record(AuditAction::Update, Some(&before), Some(&account));
        self.commit_audited(tx, &[Change::Account(id.clone())], &[record])
            .await?;
        Ok(Some(account))
    }

    async fn delete_account(
        &self,
        id: &AccountId,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let Some(before) = Self::account_in(&mut tx, id).await? else {
            return Ok(false);
        };
        // Policies go first: their resource-group links restrict resource-group deletion.
        sqlx::query("delete from policy where account_id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let done = sqlx::query("delete from account where id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let record = audit.record(AuditAction::Delete, Some(&before), None);
        self.commit_audited(
            tx,
            &[Change::Account(id.clone()), Change::Tokens],
            &[record],
        )
        .await?;
        Ok(true)
    }

    async fn any_account(&self) -> CoreResult<bool> {
        let row: Option<(String,)> = sqlx::query_as("select id from account limit 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }

    async fn bootstrap(
        &self,
        plan: &Bootstrap,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<()> {
        let mut tx = self.write().await?;
        if plan.require_empty {
            let row: Option<(String,)> = sqlx::query_as("select id from account limit 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            if row.is_some() {
                return Err(Conflict::AlreadyInitialized.into());
            }
        }
        Self::insert_account(&mut tx, &plan.account).await?;
        let user_id = Self::ensure_user(
            &mut tx,
            &plan.user.id,
            &plan.user.email,
            plan.account.created_on,
        )
        .await?;
        sqlx::query(
            "update app_user set api_key_hash = $1, is_operator = true, updated_at = $2 where id = $3",
        )
        .bind(&plan.api_key_hash)
        .bind(plan.account.created_on.micros())
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        Self::insert_member(&mut tx, &plan.account.id, &plan.member).await?;
        Self::insert_token(&mut tx, &plan.token).await?;
        let member =
            Self::member_where(&mut tx, &plan.account.id, "m.id", plan.member.id.as_str()).await?;
        let records = [
            audit.record(AuditAction::Create, None, Some(&plan.account)),
            audit.member(AuditAction::Create, None, member.as_ref()),
            audit.record(AuditAction::Create, None, Some(&plan.token.token)),
        ];
        // The user may exist already (another account's operator): its key and operator flag
        // changed, which cached credentials and memberships in other accounts hold.
        self.commit_audited(
            tx,
            &[Change::Account(plan.account.id.clone()), Change::Everything],
            &records,
        )
        .await
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn get_user(&self, id: &UserId) -> CoreResult<Option<User>> {
        let sql = format!("select {USER_COLS} from app_user u where u.id = $1");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(User::from))
    }

    async fn user_credentials(&self, email: &str) -> CoreResult<Option<UserCredentials>> {
        let sql = format!("select {USER_COLS}, u.api_key_hash from app_user u where u.email = $1");
        let row: Option<CredentialsRow> = sqlx::query_as(&sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(|r| UserCredentials {
            user: r.user.into(),
            api_key_hash: r.api_key_hash,
        }))
    }

    async fn set_user_key(
        &self,
        new_user_id: &UserId,
        email: &str,
        api_key_hash: &str,
        make_operator: bool,
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<User> {
        let mut tx = self.write().await?;
        let id = Self::ensure_user(&mut tx, new_user_id, email, now).await?;
        sqlx::query("update app_user set api_key_hash = $1, is_operator = (is_operator or $2), updated_at = $3 where id = $4")
            .bind(api_key_hash)
            .bind(make_operator)
            .bind(now.micros())
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let sql = format!("select {USER_COLS} from app_user u where u.id = $1");
        let row: UserRow = sqlx::query_as(&sql)
            .bind(&id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let user = User::from(row);
        let record = audit.record(
            AuditAction::Update,
            None,
            Some(&portcullis_core::audit::UserKey(&user)),
        );
        // The user (e.g. its operator flag) is part of every cached membership of theirs, in
        // accounts this write does not name: a rare operator action, so everything is dropped.
        self.commit_audited(tx, &[Change::Everything], &[record])
            .await?;
        Ok(user)
    }

    async fn update_user_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Option<User>> {
        let mut tx = self.write().await?;
        let sql = format!("select {USER_COLS} from app_user u where u.id = $1");
        let Some(before) = sqlx::query_as::<_, UserRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .map(User::from)
        else {
            return Ok(None);
        };
        let mut q = QueryBuilder::<Db>::new("update app_user set updated_at = ");
        q.push_bind(now.micros());
        let fields = [
            ("first_name", &changes.first_name),
            ("last_name", &changes.last_name),
            ("country", &changes.country),
            ("telephone", &changes.telephone),
            ("zipcode", &changes.zipcode),
        ];
        for (col, value) in fields {
            if let Some(value) = value {
                q.push(format!(", {col} = "));
                q.push_bind(value.clone());
            }
        }
        q.push(" where id = ");
        q.push_bind(id.as_str().to_owned());
        if q.build()
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected()
            == 0
        {
            return Ok(None);
        }
        let sql = format!("select {USER_COLS} from app_user u where u.id = $1");
        let row: UserRow = sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let user = User::from(row);
        let record = audit.record(AuditAction::Update, Some(&before), Some(&user));
        // Names and contact fields decide nothing, and every read that shows them (GET /user,
        // members) reads the database: no cached entry is stale.
        self.commit_audited(tx, &[], &[record]).await?;
        Ok(Some(user))
    }
}

#[async_trait]
impl MemberStore for SqlStore {
    async fn create_member(
        &self,
        account: &AccountId,
        m: &NewMember,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Member> {
        let mut tx = self.write().await?;
        let exists: Option<(String,)> = sqlx::query_as("select id from account where id = $1")
            .bind(account.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Err(CoreError::not_found("account", account.as_str()));
        }
        Self::insert_resource_groups(&mut tx, account, &m.new_resource_groups).await?;
        Self::insert_member(&mut tx, account, m).await?;
        let member = Self::member_where(&mut tx, account, "m.id", m.id.as_str())
            .await?
            .ok_or_else(|| CoreError::unavailable("member missing after insert"))?;
        let mut records = Self::created_resource_groups(audit, &m.new_resource_groups);
        records.push(audit.member(AuditAction::Create, None, Some(&member)));
        self.commit_audited(
            tx,
            &[
                Change::Roster(account.clone()),
                Change::Member(account.clone(), m.id.clone()),
            ],
            &records,
        )
        .await?;
        Ok(member)
    }

    async fn get_member(&self, account: &AccountId, id: &MemberId) -> CoreResult<Option<Member>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Self::member_where(&mut conn, account, "m.id", id.as_str()).await
    }

    async fn member_of(&self, account: &AccountId, user: &UserId) -> CoreResult<Option<Member>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Self::member_where(&mut conn, account, "m.user_id", user.as_str()).await
    }

    async fn list_members(
        &self,
        account: &AccountId,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> CoreResult<Page<Member>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let build = |select: &str| {
            let mut q = QueryBuilder::<Db>::new(format!(
                "select {select} from member m join app_user u on u.id = m.user_id where m.account_id = "
            ));
            q.push_bind(account.as_str().to_owned());
            if let Some(status) = filter.status {
                q.push(" and m.status = ");
                q.push_bind(status.as_str());
            }
            q
        };
        let total = count(&mut conn, &build).await?;
        let first = match filter.order {
            MemberOrder::Email => "lower(u.email)",
            MemberOrder::FirstName => "lower(coalesce(u.first_name, ''))",
            MemberOrder::LastName => "lower(coalesce(u.last_name, ''))",
            MemberOrder::Status => "lower(m.status)",
        };
        let rows: Vec<MemberRow> = read_page(
            &mut conn,
            &build,
            MEMBER_COLS,
            &[first, "u.email", "m.id"],
            filter.descending,
            total,
            page,
        )
        .await?;
        let items = Self::members_from_rows(&mut conn, account, rows).await?;
        Ok(page_from(items, total, page))
    }

    async fn update_member(
        &self,
        account: &AccountId,
        id: &MemberId,
        c: &MemberChanges,
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Option<Member>> {
        let mut tx = self.write().await?;
        let Some(previous) = Self::member_where(&mut tx, account, "m.id", id.as_str()).await?
        else {
            return Ok(None);
        };
        let before = Self::role_holders(&mut tx, account, c.keep_role.as_ref()).await?;
        let done = sqlx::query("update member set status = coalesce($1, status), updated_at = $2 where id = $3 and account_id = $4")
            .bind(c.status.map(MemberStatus::as_str))
            .bind(now.micros())
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        if let Some(grants) = &c.grants {
            Self::insert_resource_groups(&mut tx, account, &c.new_resource_groups).await?;
            Self::write_grants(&mut tx, account, id, grants, now).await?;
        }
        Self::keep_a_holder(&mut tx, account, id, c.keep_role.as_ref(), before).await?;
        let member = Self::member_where(&mut tx, account, "m.id", id.as_str()).await?;
        let mut records = Vec::new();
        if c.grants.is_some() {
            records = Self::created_resource_groups(audit, &c.new_resource_groups);
        }
        records.push(audit.member(AuditAction::Update, Some(&previous), member.as_ref()));
        self.commit_audited(tx, &[Change::Member(account.clone(), id.clone())], &records)
            .await?;
        Ok(member)
    }

    async fn delete_member(
        &self,
        account: &AccountId,
        id: &MemberId,
        keep_role: Option<&KeepRole>,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let before = Self::role_holders(&mut tx, account, keep_role).await?;
        let found: Option<(String,)> = sqlx::query_as(&format!(
            "select id from member where id = $1 and account_id = $2{FOR_UPDATE}"
        ))
        .bind(id.as_str())
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if found.is_none() {
            // Nothing to delete: dropping the transaction rolls back; nothing moves.
            return Ok(false);
        }
        let previous = Self::member_where(&mut tx, account, "m.id", id.as_str()).await?;
        // The member leaves every group it was in (in this account): those groups change.
        // Driven from the member's group rows (an index), not from every group of the account.
        sqlx::query("update user_group set updated_at = $1, member_count = member_count - 1 where id in (select gm.user_group_id from user_group_member gm join user_group g on g.id = gm.user_group_id where g.account_id = $2 and gm.member_id = $3)")
            .bind(Timestamp::now().micros())
            .bind(account.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("delete from member where id = $1 and account_id = $2")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Self::keep_a_holder(&mut tx, account, id, keep_role, before).await?;
        let record = audit.member(AuditAction::Delete, previous.as_ref(), None);
        self.commit_audited(
            tx,
            &[
                Change::Roster(account.clone()),
                Change::Member(account.clone(), id.clone()),
            ],
            &[record],
        )
        .await?;
        Ok(true)
    }

    async fn count_accepted_with_role(&self, account: &AccountId, role: &str) -> CoreResult<u64> {
        let (n,): (i64,) = sqlx::query_as("select count(*) from member m join member_role r on r.member_id = m.id where m.account_id = $1 and m.status = 'accepted' and r.role_id = $2")
            .bind(account.as_str())
            .bind(role)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list_memberships(
        &self,
        user: &UserId,
        filter: &MembershipFilter,
        page: PageRequest,
    ) -> CoreResult<Page<Membership>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let build = |select: &str| {
            let mut q = QueryBuilder::<Db>::new(format!(
                "select {select} from member m join account a on a.id = m.account_id where m.user_id = "
            ));
            q.push_bind(user.as_str().to_owned());
            if let Some(status) = filter.status {
                q.push(" and m.status = ");
                q.push_bind(status.as_str());
            }
            if let Some(name) = &filter.account_name {
                q.push(" and lower(a.name) = lower(");
                q.push_bind(name.clone());
                q.push(")");
            }
            q
        };
        let total = count(&mut conn, &build).await?;
        let order: &[&str] = match filter.order {
            MembershipOrder::Id => &["m.id"],
            MembershipOrder::AccountName => &["lower(a.name)", "m.id"],
            MembershipOrder::Status => &["m.status", "lower(a.name)", "m.id"],
        };
        let rows: Vec<MembershipRow> = read_page(
            &mut conn,
            &build,
            &format!("{ACCOUNT_COLS}, m.id as membership_id"),
            order,
            filter.descending,
            total,
            page,
        )
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            // A member removed between the page and this read is left out.
            if let Some(m) = Self::membership_of(&mut conn, row).await? {
                items.push(m);
            }
        }
        Ok(page_from(items, total, page))
    }

    async fn get_membership(&self, user: &UserId, id: &MemberId) -> CoreResult<Option<Membership>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let sql = format!(
            "select {ACCOUNT_COLS}, m.id as membership_id from member m join account a on a.id = m.account_id where m.id = $1 and m.user_id = $2"
        );
        let row: Option<MembershipRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(user.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        match row {
            Some(row) => Self::membership_of(&mut conn, row).await,
            None => Ok(None),
        }
    }
}

impl SqlStore {
    /// The membership a row names: its account and the member, read in that account.
    async fn membership_of(conn: &mut Conn, row: MembershipRow) -> CoreResult<Option<Membership>> {
        let account = Account::try_from(row.account)?;
        Ok(
            Self::member_where(conn, &account.id, "m.id", &row.membership_id)
                .await?
                .map(|member| Membership { account, member }),
        )
    }
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_token(
        &self,
        token: &NewToken,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<()> {
        let mut tx = self.write().await?;
        Self::insert_token(&mut tx, token).await?;
        let record = audit.record(AuditAction::Create, None, Some(&token.token));
        self.commit_audited(tx, &[], &[record]).await
    }

    async fn get_token(&self, owner: &TokenOwner, id: &TokenId) -> CoreResult<Option<ApiToken>> {
        let (col, val) = owner_cols(owner);
        let sql = format!("select {TOKEN_COLS} from api_token where id = $1 and {col} = $2");
        let row: Option<TokenRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(val)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(token_from).transpose()
    }

    async fn list_tokens(
        &self,
        owner: &TokenOwner,
        page: PageRequest,
    ) -> CoreResult<Page<ApiToken>> {
        let (col, val) = owner_cols(owner);
        let build = |select: &str| {
            let mut q =
                QueryBuilder::<Db>::new(format!("select {select} from api_token where {col} = "));
            q.push_bind(val.to_owned());
            q
        };
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let total = count(&mut conn, &build).await?;
        let rows: Vec<TokenRow> = read_page(
            &mut conn,
            &build,
            TOKEN_COLS,
            &["lower(name)", "id"],
            false,
            total,
            page,
        )
        .await?;
        let items = rows
            .into_iter()
            .map(token_from)
            .collect::<CoreResult<_>>()?;
        Ok(page_from(items, total, page))
    }

    async fn update_token(
        &self,
        t: &ApiToken,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let (col, val) = owner_cols(&t.owner);
        let mut tx = self.write().await?;
        let Some(before) = Self::token_of(&mut tx, &t.owner, &t.id).await? else {
            return Ok(false);
        };
        let done = sqlx::query(&format!("update api_token set name = $1, status = $2, modified_at = $3, not_before = $4, expires_at = $5, condition_json = $6, policies_json = $7 where id = $8 and {col} = $9"))
            .bind(&t.name)
            .bind(t.state.as_str())
            .bind(t.modified_on.micros())
            .bind(t.not_before.map(Timestamp::micros))
            .bind(t.expires_on.map(Timestamp::micros))
            .bind(condition_to_json(&t.condition))
            .bind(policies_to_json(&t.policies))
            .bind(t.id.as_str())
            .bind(val)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let after = Self::token_of(&mut tx, &t.owner, &t.id).await?;
        let record = audit.record(AuditAction::Update, Some(&before), after.as_ref());
        self.commit_audited(tx, &[Change::Token(t.id.clone())], &[record])
            .await?;
        Ok(true)
    }

    async fn delete_token(
        &self,
        owner: &TokenOwner,
        id: &TokenId,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let (col, val) = owner_cols(owner);
        let mut tx = self.write().await?;
        let Some(before) = Self::token_of(&mut tx, owner, id).await? else {
            return Ok(false);
        };
        let done = sqlx::query(&format!(
            "delete from api_token where id = $1 and {col} = $2"
        ))
        .bind(id.as_str())
        .bind(val)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let record = audit.record(AuditAction::Delete, Some(&before), None);
        self.commit_audited(tx, &[Change::Token(id.clone())], &[record])
            .await?;
        Ok(true)
    }

    async fn roll_token(
        &self,
        owner: &TokenOwner,
        id: &TokenId,
        secret_hash: &str,
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let (col, val) = owner_cols(owner);
        let mut tx = self.write().await?;
        let done = sqlx::query(&format!(
            "update api_token set secret_hash = $1, modified_at = $2 where id = $3 and {col} = $4"
        ))
        .bind(secret_hash)
        .bind(now.micros())
        .bind(id.as_str())
        .bind(val)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let after = Self::token_of(&mut tx, owner, id).await?;
        let records: Vec<_> = after
            .iter()
            .map(|t| {
                let rolled = portcullis_core::audit::RolledToken(t);
                audit.record(AuditAction::Update, Some(&rolled), Some(&rolled))
            })
            .collect();
        self.commit_audited(tx, &[Change::Token(id.clone())], &records)
            .await?;
        Ok(true)
    }

    async fn token_in(&self, account: &AccountId, id: &TokenId) -> CoreResult<Option<ApiToken>> {
        // `exists` (one index seek), not `user_id in (select …)`, which SQLite evaluates by
        // listing every member of the account first.
        let sql = format!("select {TOKEN_COLS} from api_token t where t.id = $1 and (t.account_id = $2 or exists (select 1 from member m where m.account_id = $2 and m.user_id = t.user_id))");
        let row: Option<TokenRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(token_from).transpose()
    }

    async fn find_token(&self, secret_hash: &str) -> CoreResult<Option<(ApiToken, String)>> {
        let sql = format!("select {TOKEN_COLS} from api_token where secret_hash = $1");
        let row: Option<TokenRow> = sqlx::query_as(&sql)
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| StoredToken::try_from(r).map(|t| (t.0, t.1)))
            .transpose()
    }

    async fn touch_tokens(&self, uses: &[(TokenId, Timestamp)]) -> CoreResult<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for (id, at) in uses {
            // Never moves a recorded use backwards (another replica may have written a later one).
            sqlx::query("update api_token set last_used_at = $1 where id = $2 and (last_used_at is null or last_used_at < $1)")
                .bind(at.micros())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> CoreResult<()> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db)
    }

    fn revisions(&self) -> &Revisions {
        &self.revisions
    }

    fn write_waits(&self) -> portcullis_core::store::WriteWaits {
        use std::sync::atomic::Ordering::Relaxed;
        portcullis_core::store::WriteWaits {
            count: self.write_waits.0.load(Relaxed),
            micros: self.write_waits.1.load(Relaxed),
        }
    }

    fn pool_stats(&self) -> Vec<portcullis_core::store::PoolStats> {
        let stats = |name, pool: &Pool<Db>| portcullis_core::store::PoolStats {
            name,
            size: pool.size(),
            idle: pool.num_idle(),
        };
        if crate::backend::SEPARATE_WRITER {
            vec![stats("read", &self.pool), stats("write", &self.writer)]
        } else {
            vec![stats("main", &self.pool)]
        }
    }
}
