//! Resource groups, user groups and user-group members (shared by the SQL adapters).

use std::collections::HashMap;

use async_trait::async_trait;
use portcullis_core::audit::{AuditAction, GroupMembers};
use portcullis_core::changes::Change;
use portcullis_core::error::{Conflict, CoreError, CoreResult, Corrupt};
use portcullis_core::ids::{AccountId, MemberId, ResourceGroupId, UserGroupId};
use portcullis_core::model::{
    GroupMember, GroupMemberFilter, MemberStatus, Policy, PolicyHolder, ResourceGroup,
    ResourceGroupDeletion, ResourceGroupUpdate, UserGroup, UserGroupFilter,
};
use portcullis_core::page::{Page, PageRequest};
use portcullis_core::store::{ResourceGroupStore, UserGroupStore};
use portcullis_core::time::Timestamp;
use sqlx::QueryBuilder;

use crate::backend::{Conn, Db, FOR_UPDATE, UNINDEXED};

use crate::store::{
    assemble_policies, count, db, page_from, read_page, ts, unique, PolicyPart, SqlStore, UserRow,
};

/// A `resource_group` row (`RG_COLS`); its objects are read separately.
#[derive(sqlx::FromRow)]
struct RgRow {
    id: String,
    account_id: String,
    name: String,
    scope_key: String,
    created_at: i64,
    updated_at: i64,
}

/// A `resource_group` row joined with one of its objects (none: `NULL`).
#[derive(sqlx::FromRow)]
struct RgObjectRow {
    #[sqlx(flatten)]
    group: RgRow,
    object_key: Option<String>,
}

/// A `user_group` row (`UG_COLS`); its policies are read separately.
#[derive(sqlx::FromRow)]
struct UgRow {
    id: String,
    account_id: String,
    name: String,
    created_at: i64,
    updated_at: i64,
}

/// One user group (`$1`) of an account (`$2`) with its policies, in one query: the group once
/// per pair of its policies' permission and resource groups (the policy columns `NULL` when it
/// has none). `GET …/user_groups/{id}` runs it; `bench-sqlite-driver` measures it.
pub const USER_GROUP_WITH_POLICIES: &str =
    "select u.id, u.account_id, u.name, u.created_at, u.updated_at, \
     p.id as policy_id, p.access, g.position as pg_at, g.permission_group_id as pg, \
     r.position as rg_at, r.resource_group_id as rg \
     from user_group u \
     left join policy p on p.user_group_id = u.id and p.account_id = u.account_id \
     left join policy_permission_group g on g.policy_id = p.id \
     left join policy_resource_group r on r.policy_id = p.id \
     where u.id = $1 and u.account_id = $2 \
     order by p.position, p.id";

/// A `user_group` row joined with one of its policies' parts (see `PolicyPart`).
#[derive(sqlx::FromRow)]
struct UgPolicyRow {
    #[sqlx(flatten)]
    group: UgRow,
    policy_id: Option<String>,
    access: Option<String>,
    pg_at: Option<i64>,
    pg: Option<String>,
    rg_at: Option<i64>,
    rg: Option<String>,
}

/// A `user_group_member` row joined with its member and user (`GM_COLS`).
#[derive(sqlx::FromRow)]
struct GmRow {
    member_id: String,
    status: String,
    added_at: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

/// A policy's holder: a member (with its email) or a user group (with its name).
#[derive(sqlx::FromRow)]
struct PolicyHolderRow {
    member_id: Option<String>,
    email: Option<String>,
    user_group_id: Option<String>,
    name: Option<String>,
}

/// A policy's holder and one of its permission groups.
#[derive(sqlx::FromRow)]
struct HolderRow {
    #[sqlx(flatten)]
    holder: PolicyHolderRow,
    permission_group_id: String,
}

const RG_COLS: &str = "id, account_id, name, scope_key, created_at, updated_at";
const UG_COLS: &str = "id, account_id, name, created_at, updated_at";
const GM_COLS: &str = "m.id as member_id, m.status, g.created_at as added_at, u.id, u.email, u.first_name, u.last_name, u.country, u.telephone, u.zipcode, u.two_factor_enabled, u.is_operator, u.created_at, u.updated_at";

/// A concurrent writer (another replica) took the name between the check and the write.
fn name_unique(e: sqlx::Error, name: &str, account: &AccountId) -> CoreError {
    unique(e, |c| {
        (c == "user_group_name_unique").then(|| Conflict::UserGroupName {
            name: name.to_owned(),
            id: None,
            account: account.clone(),
        })
    })
}

/// Escapes `%`, `_` and `\` for a `like ... escape '\'` pattern.
fn like_pattern(needle: &str) -> String {
    let mut out = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl TryFrom<GmRow> for GroupMember {
    type Error = CoreError;
    fn try_from(r: GmRow) -> CoreResult<Self> {
        Ok(GroupMember {
            status: MemberStatus::try_from(r.status.as_str())?,
            member_id: MemberId::from_trusted(r.member_id),
            added_on: ts(r.added_at),
            user: r.user.into(),
        })
    }
}

fn group_members(rows: Vec<GmRow>) -> CoreResult<Vec<GroupMember>> {
    rows.into_iter().map(GroupMember::try_from).collect()
}

impl TryFrom<PolicyHolderRow> for PolicyHolder {
    type Error = CoreError;
    /// A policy belongs to exactly one member or user group (a CHECK in the schema).
    fn try_from(r: PolicyHolderRow) -> CoreResult<Self> {
        match (r.member_id, r.user_group_id) {
            (Some(m), None) => Ok(PolicyHolder::Member(
                MemberId::from_trusted(m),
                r.email.unwrap_or_default(),
            )),
            (None, Some(g)) => Ok(PolicyHolder::UserGroup(
                UserGroupId::from_trusted(g),
                r.name.unwrap_or_default(),
            )),
            _ => Err(Corrupt::OneOf {
                table: "policy",
                id: None,
                first: "member_id",
                second: "user_group_id",
            }
            .into()),
        }
    }
}

impl SqlStore {
    /// A user group's member ids, read in a transaction (an audit entry's value).
    async fn group_member_ids(
        conn: &mut Conn,
        account: &AccountId,
        group: &UserGroupId,
    ) -> CoreResult<GroupMembers> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select gm.member_id from user_group_member gm join user_group g on g.id = gm.user_group_id where g.account_id = $1 and gm.user_group_id = $2 order by gm.member_id",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        Ok(GroupMembers {
            account: account.clone(),
            group: group.clone(),
            members: rows
                .into_iter()
                .map(|(id,)| MemberId::from_trusted(id))
                .collect(),
        })
    }

    /// One resource group, read in a transaction (an audit entry's value).
    async fn rg_in(
        conn: &mut Conn,
        account: &AccountId,
        id: &ResourceGroupId,
    ) -> CoreResult<Option<ResourceGroup>> {
        let rows: Vec<RgRow> = sqlx::query_as(
            "select id, account_id, name, scope_key, created_at, updated_at from resource_group where id = $1 and account_id = $2",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        Ok(Self::rg_from_rows(conn, account, rows).await?.pop())
    }

    async fn rg_from_rows(
        conn: &mut Conn,
        account: &AccountId,
        rows: Vec<RgRow>,
    ) -> CoreResult<Vec<ResourceGroup>> {
        let mut objects: HashMap<String, Vec<String>> = HashMap::new();
        if !rows.is_empty() {
            let mut q = QueryBuilder::<Db>::new(format!(
                "select o.resource_group_id, o.object_key from resource_group_object o \
                 join resource_group g on g.id = o.resource_group_id where {UNINDEXED}g.account_id = "
            ));
            q.push_bind(account.as_str().to_owned());
            q.push(" and o.resource_group_id in (");
            let mut sep = q.separated(", ");
            for r in &rows {
                sep.push_bind(r.id.clone());
            }
            q.push(") order by o.resource_group_id, o.position");
            let found: Vec<(String, String)> =
                q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
            for (id, key) in found {
                objects.entry(id).or_default().push(key);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| ResourceGroup {
                objects: objects.remove(&r.id).unwrap_or_default(),
                id: ResourceGroupId::from_trusted(r.id),
                account_id: AccountId::from_trusted(r.account_id),
                name: r.name,
                scope_key: r.scope_key,
                created_on: ts(r.created_at),
                modified_on: ts(r.updated_at),
            })
            .collect())
    }

    /// Inserts resource groups of `account` (a new group, or those a policy's inline scopes
    /// create, in the transaction of that policy's write). A group of another account is refused.
    pub(crate) async fn insert_resource_groups(
        tx: &mut Conn,
        account: &AccountId,
        groups: &[ResourceGroup],
    ) -> CoreResult<()> {
        for g in groups {
            if &g.account_id != account {
                return Err(CoreError::unavailable(
                    "a resource group of another account was to be written",
                ));
            }
            sqlx::query("insert into resource_group (id, account_id, name, scope_key, created_at, updated_at) values ($1, $2, $3, $4, $5, $6)")
                .bind(g.id.as_str())
                .bind(account.as_str())
                .bind(&g.name)
                .bind(&g.scope_key)
                .bind(g.created_on.micros())
                .bind(g.modified_on.micros())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            Self::write_objects(tx, g).await?;
        }
        Ok(())
    }

    async fn write_objects(tx: &mut Conn, g: &ResourceGroup) -> CoreResult<()> {
        sqlx::query("delete from resource_group_object where resource_group_id in (select id from resource_group where id = $1 and account_id = $2)")
            .bind(g.id.as_str())
            .bind(g.account_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for (i, key) in g.objects.iter().enumerate() {
            sqlx::query("insert into resource_group_object (resource_group_id, position, object_key) values ($1, $2, $3)")
                .bind(g.id.as_str())
                .bind(i as i64)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn ug_from_rows(
        conn: &mut Conn,
        account: &AccountId,
        rows: Vec<UgRow>,
    ) -> CoreResult<Vec<UserGroup>> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut policies = Self::load_policies(conn, account, "user_group_id", &ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| UserGroup {
                policies: policies.remove(&r.id).unwrap_or_default(),
                id: UserGroupId::from_trusted(r.id),
                account_id: AccountId::from_trusted(r.account_id),
                name: r.name,
                created_on: ts(r.created_at),
                modified_on: ts(r.updated_at),
            })
            .collect())
    }

    async fn ug_get(
        conn: &mut Conn,
        account: &AccountId,
        id: &UserGroupId,
    ) -> CoreResult<Option<UserGroup>> {
        let rows: Vec<UgPolicyRow> = sqlx::query_as(USER_GROUP_WITH_POLICIES)
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let group = UserGroup {
            id: UserGroupId::from_trusted(first.group.id.clone()),
            account_id: AccountId::from_trusted(first.group.account_id.clone()),
            name: first.group.name.clone(),
            created_on: ts(first.group.created_at),
            modified_on: ts(first.group.updated_at),
            policies: Vec::new(),
        };
        let parts = rows.into_iter().filter_map(|r| {
            Some(PolicyPart {
                policy_id: r.policy_id?,
                holder: String::new(),
                access: r.access?,
                pg_at: r.pg_at,
                pg: r.pg,
                rg_at: r.rg_at,
                rg: r.rg,
            })
        });
        let policies = assemble_policies(parts)?.remove("").unwrap_or_default();
        Ok(Some(UserGroup { policies, ..group }))
    }

    async fn name_taken(
        conn: &mut Conn,
        account: &AccountId,
        name: &str,
        except: Option<&UserGroupId>,
    ) -> CoreResult<Option<Conflict>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "select id, name from user_group where account_id = $1 and name_folded = $2 and id <> $3",
        )
        .bind(account.as_str())
        .bind(name.to_lowercase())
        .bind(except.map_or("", UserGroupId::as_str))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        Ok(row.map(|(id, existing)| Conflict::UserGroupName {
            name: existing,
            id: Some(UserGroupId::from_trusted(id)),
            account: account.clone(),
        }))
    }

    /// Fails with NotFound unless the group exists in the account. With `lock`, the group's row
    /// is locked until the transaction ends (PostgreSQL), so membership changes to one group from
    /// several replicas apply one after the other.
    async fn require_group(
        conn: &mut Conn,
        account: &AccountId,
        group: &UserGroupId,
        lock: bool,
    ) -> CoreResult<()> {
        let sql = format!(
            "select id from user_group where id = $1 and account_id = $2{}",
            if lock { FOR_UPDATE } else { "" }
        );
        let row: Option<(String,)> = sqlx::query_as(&sql)
            .bind(group.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        row.map(|_| ())
            .ok_or_else(|| CoreError::not_found("user group", group.as_str()))
    }

    /// Checks that every id is a member of the account; returns their emails (one query).
    async fn member_emails(
        conn: &mut Conn,
        account: &AccountId,
        members: &[MemberId],
    ) -> CoreResult<Vec<String>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::<Db>::new(
            format!("select m.id, u.email from member m join app_user u on u.id = m.user_id where {UNINDEXED}m.account_id = "),
        );
        q.push_bind(account.as_str().to_owned());
        q.push(" and m.id in (");
        let mut sep = q.separated(", ");
        for m in members {
            sep.push_bind(m.as_str().to_owned());
        }
        q.push(")");
        let rows: Vec<(String, String)> =
            q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
        let emails: HashMap<String, String> = rows.into_iter().collect();
        members
            .iter()
            .map(|m| {
                emails
                    .get(m.as_str())
                    .cloned()
                    .ok_or_else(|| CoreError::not_found("member", m.as_str()))
            })
            .collect()
    }

    async fn group_members_where(
        conn: &mut Conn,
        account: &AccountId,
        group: &UserGroupId,
        members: Option<&[MemberId]>,
    ) -> CoreResult<Vec<GroupMember>> {
        let mut q = QueryBuilder::<Db>::new(format!(
            "select {GM_COLS} from user_group_member g join member m on m.id = g.member_id join app_user u on u.id = m.user_id where {UNINDEXED}m.account_id = "
        ));
        q.push_bind(account.as_str().to_owned());
        q.push(" and g.user_group_id = ");
        q.push_bind(group.as_str().to_owned());
        if let Some(members) = members {
            if members.is_empty() {
                return Ok(Vec::new());
            }
            q.push(" and g.member_id in (");
            let mut sep = q.separated(", ");
            for m in members {
                sep.push_bind(m.as_str().to_owned());
            }
            q.push(")");
        }
        q.push(" order by g.email, g.member_id");
        let rows: Vec<GmRow> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
        group_members(rows)
    }

    /// Records a membership change: `delta` members more (or fewer), `modified_on` moves.
    async fn touch_group(
        conn: &mut Conn,
        account: &AccountId,
        group: &UserGroupId,
        delta: i64,
        now: Timestamp,
    ) -> CoreResult<()> {
        sqlx::query(
            "update user_group set updated_at = $1, member_count = member_count + $2 where id = $3 and account_id = $4",
        )
        .bind(now.micros())
        .bind(delta)
        .bind(group.as_str())
        .bind(account.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn insert_group_members(
        conn: &mut Conn,
        group: &UserGroupId,
        members: &[MemberId],
        emails: &[String],
        now: Timestamp,
    ) -> CoreResult<u64> {
        let mut inserted = 0;
        for (m, email) in members.iter().zip(emails) {
            let done = sqlx::query("insert into user_group_member (user_group_id, member_id, email, created_at) values ($1, $2, $3, $4) on conflict do nothing")
                .bind(group.as_str())
                .bind(m.as_str())
                .bind(email)
                .bind(now.micros())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            inserted += done.rows_affected();
        }
        Ok(inserted)
    }
}

#[async_trait]
impl ResourceGroupStore for SqlStore {
    async fn get_resource_groups(
        &self,
        account: &AccountId,
        ids: &[ResourceGroupId],
    ) -> CoreResult<Vec<ResourceGroup>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One query: each group's row once per object (in order), or once with no object.
        let mut q = QueryBuilder::<Db>::new(
            "select g.id, g.account_id, g.name, g.scope_key, g.created_at, g.updated_at, o.object_key \
             from resource_group g left join resource_group_object o on o.resource_group_id = g.id \
             where "
                .to_owned()
                + UNINDEXED
                + "g.account_id = ",
        );
        q.push_bind(account.as_str().to_owned());
        q.push(" and g.id in (");
        let mut sep = q.separated(", ");
        for id in ids {
            sep.push_bind(id.as_str().to_owned());
        }
        q.push(") order by g.id, o.position");
        let rows: Vec<RgObjectRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        let mut out: Vec<ResourceGroup> = Vec::new();
        for r in rows {
            let RgObjectRow {
                group: g,
                object_key: object,
            } = r;
            if out.last().is_none_or(|last| last.id.as_str() != g.id) {
                out.push(ResourceGroup {
                    objects: Vec::new(),
                    id: ResourceGroupId::from_trusted(g.id),
                    account_id: AccountId::from_trusted(g.account_id),
                    name: g.name,
                    scope_key: g.scope_key,
                    created_on: ts(g.created_at),
                    modified_on: ts(g.updated_at),
                });
            }
            if let (Some(last), Some(object)) = (out.last_mut(), object) {
                last.objects.push(object);
            }
        }
        Ok(out)
    }

    async fn list_resource_groups(
        &self,
        account: &AccountId,
        id: Option<&str>,
        name: Option<&str>,
    ) -> CoreResult<Vec<ResourceGroup>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut q = QueryBuilder::<Db>::new(format!(
            "select {RG_COLS} from resource_group where account_id = "
        ));
        q.push_bind(account.as_str().to_owned());
        if let Some(id) = id {
            q.push(" and id = ");
            q.push_bind(id.to_owned());
        }
        if let Some(name) = name {
            q.push(" and name = ");
            q.push_bind(name.to_owned());
        }
        q.push(" order by lower(name), id");
        let rows: Vec<RgRow> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
        Self::rg_from_rows(&mut conn, account, rows).await
    }

    async fn create_resource_group(
        &self,
        g: &ResourceGroup,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<()> {
        let mut tx = self.write().await?;
        Self::insert_resource_groups(&mut tx, &g.account_id, std::slice::from_ref(g)).await?;
        let record = audit.record(AuditAction::Create, None, Some(g));
        self.commit_audited(
            tx,
            &[Change::ResourceGroup(g.account_id.clone(), g.id.clone())],
            &[record],
        )
        .await
    }

    async fn update_resource_group(
        &self,
        g: &ResourceGroup,
        incompatible: &[String],
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<ResourceGroupUpdate> {
        let mut tx = self.write().await?;
        let Some(before) = Self::rg_in(&mut tx, &g.account_id, &g.id).await? else {
            return Ok(ResourceGroupUpdate::NotFound);
        };
        // Updating the row first locks it (PostgreSQL) for the rest of the check.
        let done = sqlx::query("update resource_group set name = $1, scope_key = $2, updated_at = $3 where id = $4 and account_id = $5")
            .bind(&g.name)
            .bind(&g.scope_key)
            .bind(g.modified_on.micros())
            .bind(g.id.as_str())
            .bind(g.account_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(ResourceGroupUpdate::NotFound);
        }
        if !incompatible.is_empty() {
            let mut q = QueryBuilder::<Db>::new(
                "select distinct p.member_id, u.email, p.user_group_id, g.name, pg.permission_group_id \
                 from policy_resource_group r join policy p on p.id = r.policy_id \
                 join policy_permission_group pg on pg.policy_id = p.id \
                 left join member m on m.id = p.member_id left join app_user u on u.id = m.user_id \
                 left join user_group g on g.id = p.user_group_id \
                 where p.account_id = ",
            );
            q.push_bind(g.account_id.as_str());
            q.push(" and r.resource_group_id = ");
            q.push_bind(g.id.as_str());
            q.push(" and pg.permission_group_id in (");
            let mut ids = q.separated(", ");
            for id in incompatible {
                ids.push_bind(id.as_str());
            }
            q.push(") order by g.name, u.email, pg.permission_group_id");
            let rows: Vec<HolderRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
            if !rows.is_empty() {
                // Dropping the transaction rolls the update back.
                return Ok(ResourceGroupUpdate::Incompatible(
                    rows.into_iter()
                        .map(|r| Ok((PolicyHolder::try_from(r.holder)?, r.permission_group_id)))
                        .collect::<CoreResult<_>>()?,
                ));
            }
        }
        Self::write_objects(&mut tx, g).await?;
        let after = Self::rg_in(&mut tx, &g.account_id, &g.id).await?;
        let record = audit.record(AuditAction::Update, Some(&before), after.as_ref());
        self.commit_audited(
            tx,
            &[Change::ResourceGroup(g.account_id.clone(), g.id.clone())],
            &[record],
        )
        .await?;
        Ok(ResourceGroupUpdate::Updated)
    }

    async fn delete_resource_group(
        &self,
        account: &AccountId,
        id: &ResourceGroupId,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<ResourceGroupDeletion> {
        let mut tx = self.write().await?;
        let Some(before) = Self::rg_in(&mut tx, account, id).await? else {
            return Ok(ResourceGroupDeletion::NotFound);
        };
        let users: Vec<PolicyHolderRow> = sqlx::query_as(
            "select distinct p.member_id, u.email, p.user_group_id, g.name from policy_resource_group r \
             join policy p on p.id = r.policy_id \
             left join member m on m.id = p.member_id left join app_user u on u.id = m.user_id \
             left join user_group g on g.id = p.user_group_id \
             where p.account_id = $1 and r.resource_group_id = $2 order by g.name, u.email",
        )
        .bind(account.as_str())
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        if !users.is_empty() {
            let holders = users
                .into_iter()
                .map(PolicyHolder::try_from)
                .collect::<CoreResult<_>>()?;
            return Ok(ResourceGroupDeletion::InUse(holders));
        }
        sqlx::query("delete from resource_group where id = $1 and account_id = $2")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let record = audit.record(AuditAction::Delete, Some(&before), None);
        self.commit_audited(
            tx,
            &[Change::ResourceGroup(account.clone(), id.clone())],
            &[record],
        )
        .await?;
        Ok(ResourceGroupDeletion::Deleted)
    }
}

#[async_trait]
impl UserGroupStore for SqlStore {
    async fn list_user_groups(
        &self,
        account: &AccountId,
        filter: &UserGroupFilter,
        page: PageRequest,
    ) -> CoreResult<Page<UserGroup>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let build = |select: &str| {
            let mut q = QueryBuilder::<Db>::new(format!(
                "select {select} from user_group where account_id = "
            ));
            q.push_bind(account.as_str().to_owned());
            if let Some(id) = &filter.id {
                q.push(" and id = ");
                q.push_bind(id.clone());
            }
            if let Some(name) = &filter.name {
                q.push(" and name_folded = ");
                q.push_bind(name.to_lowercase());
            }
            if let Some(f) = &filter.fuzzy_name {
                q.push(" and name_folded like ");
                q.push_bind(like_pattern(f));
                q.push(" escape '\\'");
            }
            q
        };
        let unfiltered =
            filter.id.is_none() && filter.name.is_none() && filter.fuzzy_name.is_none();
        let total: i64 = if unfiltered {
            let row: Option<(i64,)> =
                sqlx::query_as("select user_group_count from account where id = $1")
                    .bind(account.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db)?;
            row.map_or(0, |r| r.0)
        } else {
            count(&mut conn, &build).await?
        };
        let rows: Vec<UgRow> = read_page(
            &mut conn,
            &build,
            UG_COLS,
            &["name_folded", "id"],
            filter.descending,
            total,
            page,
        )
        .await?;
        let items = Self::ug_from_rows(&mut conn, account, rows).await?;
        Ok(page_from(items, total, page))
    }

    async fn get_user_group(
        &self,
        account: &AccountId,
        id: &UserGroupId,
    ) -> CoreResult<Option<UserGroup>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Self::ug_get(&mut conn, account, id).await
    }

    async fn create_user_group(
        &self,
        g: &UserGroup,
        new_resource_groups: &[ResourceGroup],
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<()> {
        let mut tx = self.write().await?;
        // The unique index decides; the group holding the name is read only when it refuses
        // (after this transaction: PostgreSQL runs nothing more in a failed one).
        let inserted = sqlx::query("insert into user_group (id, account_id, name, name_folded, created_at, updated_at) values ($1, $2, $3, $4, $5, $6)")
            .bind(g.id.as_str())
            .bind(g.account_id.as_str())
            .bind(&g.name)
            .bind(g.name.to_lowercase())
            .bind(g.created_on.micros())
            .bind(g.modified_on.micros())
            .execute(&mut *tx)
            .await;
        if let Err(e) = inserted {
            let refused = name_unique(e, &g.name, &g.account_id);
            if matches!(refused, CoreError::Conflict(Conflict::UserGroupName { .. })) {
                drop(tx);
                let mut conn = self.pool.acquire().await.map_err(db)?;
                if let Some(clash) =
                    Self::name_taken(&mut conn, &g.account_id, &g.name, None).await?
                {
                    return Err(clash.into());
                }
            }
            return Err(refused);
        }
        Self::insert_resource_groups(&mut tx, &g.account_id, new_resource_groups).await?;
        Self::write_policies(
            &mut tx,
            &g.account_id,
            ("user_group_id", g.id.as_str()),
            &g.policies,
            g.created_on,
        )
        .await?;
        // The group as written (policies in the order given, as they read back): no read.
        let mut records = Self::created_resource_groups(audit, new_resource_groups);
        records.push(audit.record(AuditAction::Create, None, Some(g)));
        self.commit_audited(
            tx,
            &[Change::Group(g.account_id.clone(), g.id.clone())],
            &records,
        )
        .await
    }

    // Each argument is one part of the change; a struct for them would be used once.
    #[allow(clippy::too_many_arguments)]
    async fn update_user_group(
        &self,
        account: &AccountId,
        id: &UserGroupId,
        name: Option<&str>,
        policies: Option<&[Policy]>,
        new_resource_groups: &[ResourceGroup],
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Option<UserGroup>> {
        let mut tx = self.write().await?;
        let Some(before) = Self::ug_get(&mut tx, account, id).await? else {
            return Ok(None);
        };
        if let Some(name) = name {
            if let Some(clash) = Self::name_taken(&mut tx, account, name, Some(id)).await? {
                return Err(clash.into());
            }
            sqlx::query("update user_group set name = $1, name_folded = $2 where id = $3 and account_id = $4")
                .bind(name)
                .bind(name.to_lowercase())
                .bind(id.as_str())
                .bind(account.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| name_unique(e, name, account))?;
        }
        if let Some(policies) = policies {
            Self::insert_resource_groups(&mut tx, account, new_resource_groups).await?;
            sqlx::query("delete from policy where user_group_id = $1 and account_id = $2")
                .bind(id.as_str())
                .bind(account.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            Self::write_policies(
                &mut tx,
                account,
                ("user_group_id", id.as_str()),
                policies,
                now,
            )
            .await?;
        }
        Self::touch_group(&mut tx, account, id, 0, now).await?;
        let group = Self::ug_get(&mut tx, account, id).await?;
        let mut records = Vec::new();
        if policies.is_some() {
            records = Self::created_resource_groups(audit, new_resource_groups);
        }
        records.push(audit.record(AuditAction::Update, Some(&before), group.as_ref()));
        self.commit_audited(tx, &[Change::Group(account.clone(), id.clone())], &records)
            .await?;
        Ok(group)
    }

    async fn user_group_ids_of_member(
        &self,
        account: &AccountId,
        member: &MemberId,
    ) -> CoreResult<Vec<UserGroupId>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let sql = format!(
            "select g.id from user_group g join user_group_member m on m.user_group_id = g.id \
             where {UNINDEXED}g.account_id = $1 and m.member_id = $2"
        );
        // No order: the policy index orders a member's groups itself, and an order here lets
        // SQLite walk every group of the account in id order instead of the member's rows.
        let rows: Vec<(String,)> = sqlx::query_as(&sql)
            .bind(account.as_str())
            .bind(member.as_str())
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(id,)| UserGroupId::from_trusted(id))
            .collect())
    }

    async fn delete_user_group(
        &self,
        account: &AccountId,
        id: &UserGroupId,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let Some(before) = Self::ug_get(&mut tx, account, id).await? else {
            return Ok(false);
        };
        let done = sqlx::query("delete from user_group where id = $1 and account_id = $2")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let record = audit.record(AuditAction::Delete, Some(&before), None);
        self.commit_audited(tx, &[Change::Group(account.clone(), id.clone())], &[record])
            .await?;
        Ok(true)
    }

    async fn list_group_members(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        filter: &GroupMemberFilter,
        page: PageRequest,
    ) -> CoreResult<Option<Page<GroupMember>>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        match Self::require_group(&mut conn, account, group, false).await {
            Ok(()) => {}
            Err(CoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        let build = |select: &str| {
            let mut q = QueryBuilder::<Db>::new(format!(
                "select {select} from user_group_member g join member m on m.id = g.member_id join app_user u on u.id = m.user_id where {UNINDEXED}m.account_id = "
            ));
            q.push_bind(account.as_str().to_owned());
            q.push(" and g.user_group_id = ");
            q.push_bind(group.as_str().to_owned());
            if let Some(f) = &filter.fuzzy_email {
                q.push(" and g.email like ");
                q.push_bind(like_pattern(f));
                q.push(" escape '\\'");
            }
            q
        };
        let total: i64 = if filter.fuzzy_email.is_none() {
            let (n,): (i64,) = sqlx::query_as(
                "select member_count from user_group where id = $1 and account_id = $2",
            )
            .bind(group.as_str())
            .bind(account.as_str())
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
            n
        } else {
            count(&mut conn, &build).await?
        };
        let rows: Vec<GmRow> = read_page(
            &mut conn,
            &build,
            GM_COLS,
            &["g.email", "g.member_id"],
            filter.descending,
            total,
            page,
        )
        .await?;
        Ok(Some(page_from(group_members(rows)?, total, page)))
    }

    async fn get_group_member(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        member: &MemberId,
    ) -> CoreResult<Option<GroupMember>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Self::require_group(&mut conn, account, group, false).await?;
        Ok(Self::group_members_where(
            &mut conn,
            account,
            group,
            Some(std::slice::from_ref(member)),
        )
        .await?
        .pop())
    }

    async fn add_group_members(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        members: &[MemberId],
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Vec<GroupMember>> {
        let mut tx = self.write().await?;
        Self::require_group(&mut tx, account, group, true).await?;
        let before = Self::group_member_ids(&mut tx, account, group).await?;
        let emails = Self::member_emails(&mut tx, account, members).await?;
        let added = Self::insert_group_members(&mut tx, group, members, &emails, now).await?;
        let out = Self::group_members_where(&mut tx, account, group, Some(members)).await?;
        if added > 0 {
            Self::touch_group(&mut tx, account, group, added as i64, now).await?;
            let after = Self::group_member_ids(&mut tx, account, group).await?;
            let record = audit.record(AuditAction::Update, Some(&before), Some(&after));
            self.commit_audited(tx, &member_changes(account, members), &[record])
                .await?;
        }
        // Otherwise nothing changed: the transaction is dropped (rolled back), no stamp moves.
        Ok(out)
    }

    async fn replace_group_members(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        members: &[MemberId],
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Vec<GroupMember>> {
        let mut tx = self.write().await?;
        Self::require_group(&mut tx, account, group, true).await?;
        let before = Self::group_member_ids(&mut tx, account, group).await?;
        let emails = Self::member_emails(&mut tx, account, members).await?;
        let mut q = QueryBuilder::<Db>::new("delete from user_group_member where user_group_id = ");
        q.push_bind(group.as_str().to_owned());
        if !members.is_empty() {
            q.push(" and member_id not in (");
            let mut sep = q.separated(", ");
            for m in members {
                sep.push_bind(m.as_str().to_owned());
            }
            q.push(")");
        }
        q.push(" returning member_id");
        let removed: Vec<(String,)> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
        let added = Self::insert_group_members(&mut tx, group, members, &emails, now).await?;
        let out = Self::group_members_where(&mut tx, account, group, None).await?;
        if removed.len() as u64 + added > 0 {
            Self::touch_group(
                &mut tx,
                account,
                group,
                added as i64 - removed.len() as i64,
                now,
            )
            .await?;
            // Every member named, and every member removed, may have changed groups.
            let removed: Vec<MemberId> = removed
                .into_iter()
                .map(|(id,)| MemberId::from_trusted(id))
                .collect();
            let mut changes = member_changes(account, members);
            changes.extend(member_changes(account, &removed));
            let after = Self::group_member_ids(&mut tx, account, group).await?;
            let record = audit.record(AuditAction::Update, Some(&before), Some(&after));
            self.commit_audited(tx, &changes, &[record]).await?;
        }
        Ok(out)
    }

    async fn remove_group_member(
        &self,
        account: &AccountId,
        group: &UserGroupId,
        member: &MemberId,
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<Option<GroupMember>> {
        let mut tx = self.write().await?;
        Self::require_group(&mut tx, account, group, true).await?;
        let found =
            Self::group_members_where(&mut tx, account, group, Some(std::slice::from_ref(member)))
                .await?
                .pop();
        if found.is_some() {
            let before = Self::group_member_ids(&mut tx, account, group).await?;
            sqlx::query(
                "delete from user_group_member where user_group_id = $1 and member_id = $2",
            )
            .bind(group.as_str())
            .bind(member.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            Self::touch_group(&mut tx, account, group, -1, now).await?;
            let after = Self::group_member_ids(&mut tx, account, group).await?;
            let record = audit.record(AuditAction::Update, Some(&before), Some(&after));
            self.commit_audited(
                tx,
                &member_changes(account, std::slice::from_ref(member)),
                &[record],
            )
            .await?;
        }
        Ok(found)
    }
}

/// What a change to the group memberships of `members` changes: each of them.
fn member_changes(account: &AccountId, members: &[MemberId]) -> Vec<Change> {
    members
        .iter()
        .map(|m| Change::Member(account.clone(), m.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::store::page_plan;

    #[test]
    fn pages_near_the_end_are_read_backwards() {
        assert_eq!(page_plan(1000, 100, 0), (false, 100, 0));
        assert_eq!(page_plan(1000, 100, 500), (false, 100, 500));
        assert_eq!(page_plan(1000, 100, 900), (true, 100, 0));
        assert_eq!(page_plan(1000, 100, 800), (true, 100, 100));
        assert_eq!(page_plan(950, 100, 900), (true, 50, 0));
        assert_eq!(page_plan(1000, 100, 1000), (false, 100, 1000));
        assert_eq!(page_plan(0, 100, 0), (false, 100, 0));
    }
}
