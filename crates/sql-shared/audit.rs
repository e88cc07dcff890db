//! The audit log's SQL: entries written inside each write's transaction
//! ([`SqlStore::commit_audited`]), refusals on their own, and the reads of the v1, v2 and
//! change-feed listings (one query builder, filters as `in`/`not in` lists).
//!
//! Order: `seq` increases in commit order. SQLite has one writer, so it does by construction;
//! on PostgreSQL a writer takes `backend::AUDIT_ORDER` (a transaction-scoped advisory lock) just
//! before it inserts its entries, as the last statement before its commit, so no entry with a
//! smaller `seq` can commit after one with a larger `seq`: a cursor never skips an entry.

use async_trait::async_trait;
use portcullis_core::audit::{
    Actor, ActorType, AuditAction, AuditEntries, AuditEntry, AuditField, AuditPage, AuditQuery,
    AuditRecord, Interface, Origin, ResourceScope,
};
use portcullis_core::changes::Change;
use portcullis_core::error::{CoreError, CoreResult, Corrupt};
use portcullis_core::ids::{AccountId, UserId};
use portcullis_core::store::AuditStore;
use portcullis_core::time::Timestamp;
use sqlx::{QueryBuilder, Transaction};

use crate::backend::{Db, AUDIT_ORDER};
use crate::store::{db, ts, SqlStore};

const AUDIT_COLS: &str = "a.seq, a.id, a.account_id, a.at, a.action_type, a.action_result, a.status_code, a.actor_type, a.actor_id, a.actor_email, a.actor_context, a.actor_ip, a.token_id, a.token_name, a.interface, a.request_id, a.method, a.uri, a.user_agent, a.resource_scope, a.resource_type, a.resource_id, a.before_json, a.after_json, acc.name as account_name";

#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    id: String,
    account_id: Option<String>,
    at: i64,
    action_type: String,
    action_result: bool,
    status_code: Option<i32>,
    actor_type: String,
    actor_id: String,
    actor_email: Option<String>,
    actor_context: Option<String>,
    actor_ip: Option<String>,
    token_id: Option<String>,
    token_name: Option<String>,
    interface: String,
    request_id: Option<String>,
    method: Option<String>,
    uri: Option<String>,
    user_agent: Option<String>,
    resource_scope: String,
    resource_type: String,
    resource_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
    account_name: Option<String>,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = CoreError;

    fn try_from(r: AuditRow) -> CoreResult<Self> {
        let id = r.id.clone();
        let json =
            |column: &'static str, v: Option<String>| -> CoreResult<Option<serde_json::Value>> {
                v.map(|t| {
                    serde_json::from_str(&t).map_err(|e| {
                        Corrupt::column("audit_log", id.clone(), column, format!("not JSON: {e}"))
                            .into()
                    })
                })
                .transpose()
            };
        let before = json("before_json", r.before_json)?;
        let after = json("after_json", r.after_json)?;
        let account = r
            .account_id
            .as_deref()
            .map(|a| {
                AccountId::parse(a).ok_or_else(|| {
                    CoreError::from(Corrupt::column(
                        "audit_log",
                        id.clone(),
                        "account_id",
                        format!("not an account id: `{a}`"),
                    ))
                })
            })
            .transpose()?;
        Ok(Self {
            seq: r.seq,
            account_name: r.account_name,
            record: AuditRecord {
                id: r.id,
                account,
                time: ts(r.at),
                actor: Actor {
                    kind: ActorType::try_from(r.actor_type.as_str())?,
                    id: r.actor_id,
                    email: r.actor_email,
                    context: r.actor_context,
                    token_id: r.token_id,
                    token_name: r.token_name,
                },
                origin: Origin {
                    interface: Interface::try_from(r.interface.as_str())?,
                    request_id: r.request_id,
                    ip: r.actor_ip.as_deref().and_then(|ip| ip.parse().ok()),
                    method: r.method,
                    uri: r.uri,
                    user_agent: r.user_agent,
                },
                action: AuditAction::try_from(r.action_type.as_str())?,
                result: r.action_result,
                status: r.status_code.and_then(|s| u16::try_from(s).ok()),
                scope: ResourceScope::try_from(r.resource_scope.as_str())?,
                resource_type: r.resource_type,
                resource_id: r.resource_id,
                before,
                after,
            },
        })
    }
}

/// The column (or expression) a filter compares.
fn column(field: AuditField) -> &'static str {
    match field {
        AuditField::Id => "a.id",
        AuditField::ActionResult => "(case when a.action_result then 'success' else 'failure' end)",
        AuditField::ActionType => "a.action_type",
        AuditField::ActorContext => "a.actor_context",
        AuditField::ActorEmail => "lower(a.actor_email)",
        AuditField::ActorId => "a.actor_id",
        AuditField::ActorIp => "a.actor_ip",
        AuditField::ActorTokenId => "a.token_id",
        AuditField::ActorTokenName => "a.token_name",
        AuditField::ActorType => "a.actor_type",
        AuditField::RequestId => "a.request_id",
        AuditField::Method => "a.method",
        AuditField::Status => "cast(coalesce(a.status_code, 200) as text)",
        AuditField::Uri => "a.uri",
        AuditField::ResourceId => "a.resource_id",
        AuditField::ResourceScope => "a.resource_scope",
        AuditField::ResourceType => "a.resource_type",
        AuditField::AccountName => "acc.name",
    }
}

impl SqlStore {
    /// Writes `records` as the transaction's last statement, commits, records `changes` (see
    /// [`SqlStore::commit`]) and hands the records to the audit sink once committed.
    pub(crate) async fn commit_audited(
        &self,
        mut tx: Transaction<'static, Db>,
        changes: &[Change],
        records: &[AuditRecord],
    ) -> CoreResult<()> {
        Self::insert_audit(&mut tx, records).await?;
        if changes.is_empty() {
            // Nothing a cache derives changed: no revision moves.
            tx.commit().await.map_err(db)?;
        } else {
            self.commit(tx, changes).await?;
        }
        if let Some(sink) = &self.audit_sink {
            for r in records {
                sink.emit(r);
            }
        }
        Ok(())
    }

    /// Inserts entries (after taking the order lock where the backend needs one).
    pub(crate) async fn insert_audit(
        conn: &mut crate::backend::Conn,
        records: &[AuditRecord],
    ) -> CoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        if !AUDIT_ORDER.is_empty() {
            sqlx::query(AUDIT_ORDER)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
        let mut q = QueryBuilder::<Db>::new(
            "insert into audit_log (id, account_id, at, action_type, action_result, status_code, actor_type, actor_id, actor_email, actor_context, actor_ip, token_id, token_name, interface, request_id, method, uri, user_agent, resource_scope, resource_type, resource_id, before_json, after_json) ",
        );
        q.push_values(records, |mut b, r| {
            b.push_bind(r.id.clone())
                .push_bind(r.account.as_ref().map(|a| a.as_str().to_owned()))
                .push_bind(r.time.micros())
                .push_bind(r.action.as_str())
                .push_bind(r.result)
                .push_bind(r.status.map(i32::from))
                .push_bind(r.actor.kind.as_str())
                .push_bind(r.actor.id.clone())
                .push_bind(r.actor.email.clone())
                .push_bind(r.actor.context.clone())
                .push_bind(r.origin.ip.map(|ip| ip.to_string()))
                .push_bind(r.actor.token_id.clone())
                .push_bind(r.actor.token_name.clone())
                .push_bind(r.origin.interface.as_str())
                .push_bind(r.origin.request_id.clone())
                .push_bind(r.origin.method.clone())
                .push_bind(r.origin.uri.clone())
                .push_bind(r.origin.user_agent.clone())
                .push_bind(r.scope.as_str())
                .push_bind(r.resource_type.clone())
                .push_bind(r.resource_id.clone())
                .push_bind(r.before.as_ref().map(ToString::to_string))
                .push_bind(r.after.as_ref().map(ToString::to_string));
        });
        q.build().execute(&mut *conn).await.map_err(db)?;
        Ok(())
    }

    fn audit_query<'q>(
        owner: &Owner<'_>,
        query: &'q AuditQuery,
        select: &str,
    ) -> QueryBuilder<'q, Db> {
        let mut q = QueryBuilder::<Db>::new(format!(
            "select {select} from audit_log a left join account acc on acc.id = a.account_id where "
        ));
        match owner {
            Owner::Account(account) => {
                q.push("a.account_id = ");
                q.push_bind(account.as_str().to_owned());
            }
            Owner::User(user) => {
                q.push("a.actor_type = 'user' and a.actor_id = ");
                q.push_bind(user.as_str().to_owned());
                q.push(" and (a.account_id is null or a.resource_scope = 'memberships')");
            }
        }
        if let Some(since) = query.since {
            q.push(" and a.at >= ");
            q.push_bind(since.micros());
        }
        if let Some(before) = query.before {
            q.push(" and a.at < ");
            q.push_bind(before.micros());
        }
        if query.only_changes {
            q.push(" and a.action_result = true");
        }
        if query.hide_user_level {
            q.push(" and a.resource_scope <> 'memberships'");
        }
        if query.nothing {
            q.push(" and 1 = 0");
        }
        for (field, filter) in &query.filters {
            let col = column(*field);
            if !filter.any.is_empty() {
                q.push(format!(" and {col} in ("));
                let mut sep = q.separated(", ");
                for v in &filter.any {
                    sep.push_bind(v.clone());
                }
                q.push(")");
            }
            if !filter.not.is_empty() {
                q.push(format!(" and ({col} is null or {col} not in ("));
                let mut sep = q.separated(", ");
                for v in &filter.not {
                    sep.push_bind(v.clone());
                }
                q.push("))");
            }
        }
        q
    }
}

/// Whether an entry's client address is in one of `ranges` (all pass when there are none).
fn in_ranges(e: &AuditEntry, ranges: &[ipnet::IpNet]) -> bool {
    ranges.is_empty()
        || e.record
            .origin
            .ip
            .is_some_and(|ip| ranges.iter().any(|n| n.contains(&ip)))
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_refusal(&self, record: &AuditRecord) -> CoreResult<()> {
        // Only in an account that exists: a refusal in an account that does not exist belongs
        // to no one's log (and must not create one for an id an outsider chose).
        let Some(account) = &record.account else {
            return Ok(());
        };
        let exists: Option<(String,)> = sqlx::query_as("select id from account where id = $1")
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Ok(());
        }
        let tx = self.write().await?;
        self.commit_audited(tx, &[], std::slice::from_ref(record))
            .await
    }

    async fn list_audit(
        &self,
        account: &AccountId,
        query: &AuditQuery,
    ) -> CoreResult<AuditEntries> {
        self.list_entries(&Owner::Account(account), query).await
    }

    async fn list_user_audit(&self, user: &UserId, query: &AuditQuery) -> CoreResult<AuditEntries> {
        self.list_entries(&Owner::User(user), query).await
    }

    async fn prune_audit(&self, before: Timestamp, limit: u32) -> CoreResult<u64> {
        // One statement, committed on its own: no transaction stays open between statements
        // waiting for this process (nothing else changes with it, and no cache derives from
        // the log).
        let done = sqlx::query(
            "delete from audit_log where seq in (select seq from audit_log where at < $1 order by seq limit $2)",
        )
        .bind(before.micros())
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }
}

/// Whose log a listing reads.
enum Owner<'a> {
    /// An account's.
    Account(&'a AccountId),
    /// A user's own entries.
    User(&'a UserId),
}

impl SqlStore {
    async fn list_entries(
        &self,
        owner: &Owner<'_>,
        query: &AuditQuery,
    ) -> CoreResult<AuditEntries> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let dir = if query.ascending { "asc" } else { "desc" };
        match query.page {
            AuditPage::Numbered(page) => {
                if query.ip_ranges.is_empty() {
                    let (total,): (i64,) = Self::audit_query(owner, query, "count(*)")
                        .build_query_as()
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(db)?;
                    let mut q = Self::audit_query(owner, query, AUDIT_COLS);
                    q.push(format!(" order by a.seq {dir} limit "));
                    q.push_bind(i64::try_from(page.per_page).unwrap_or(i64::MAX));
                    q.push(" offset ");
                    q.push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
                    let rows: Vec<AuditRow> =
                        q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
                    let entries = rows
                        .into_iter()
                        .map(AuditEntry::try_from)
                        .collect::<CoreResult<Vec<_>>>()?;
                    let total = u64::try_from(total).unwrap_or(0);
                    let more = page.offset() + (entries.len() as u64) < total;
                    return Ok(AuditEntries {
                        entries,
                        total: Some(total),
                        more,
                    });
                }
                // Address ranges are matched here, not in SQL (no portable CIDR type): every
                // entry the other filters keep is read, then paged.
                let mut q = Self::audit_query(owner, query, AUDIT_COLS);
                q.push(format!(" order by a.seq {dir}"));
                let rows: Vec<AuditRow> =
                    q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
                let all = rows
                    .into_iter()
                    .map(AuditEntry::try_from)
                    .filter(|e| e.as_ref().map_or(true, |e| in_ranges(e, &query.ip_ranges)))
                    .collect::<CoreResult<Vec<_>>>()?;
                let total = all.len() as u64;
                let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
                let per_page = usize::try_from(page.per_page).unwrap_or(usize::MAX);
                let entries: Vec<AuditEntry> =
                    all.into_iter().skip(offset).take(per_page).collect();
                let more = page.offset() + (entries.len() as u64) < total;
                Ok(AuditEntries {
                    entries,
                    total: Some(total),
                    more,
                })
            }
            AuditPage::After { after, limit } => {
                let mut q = Self::audit_query(owner, query, AUDIT_COLS);
                if let Some(after) = after {
                    q.push(if query.ascending {
                        " and a.seq > "
                    } else {
                        " and a.seq < "
                    });
                    q.push_bind(after);
                }
                q.push(format!(" order by a.seq {dir}"));
                let ranged = !query.ip_ranges.is_empty();
                if !ranged {
                    q.push(" limit ");
                    q.push_bind(i64::from(limit) + 1);
                }
                let rows: Vec<AuditRow> =
                    q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
                let mut entries = Vec::new();
                let mut more = false;
                for row in rows {
                    let e = AuditEntry::try_from(row)?;
                    if !in_ranges(&e, &query.ip_ranges) {
                        continue;
                    }
                    if entries.len() == limit as usize {
                        more = true;
                        break;
                    }
                    entries.push(e);
                }
                Ok(AuditEntries {
                    entries,
                    total: None,
                    more,
                })
            }
        }
    }
}
