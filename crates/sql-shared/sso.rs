//! SSO connectors (shared by the SQL adapters).

use async_trait::async_trait;
use portcullis_core::audit::AuditAction;
use portcullis_core::error::{Conflict, CoreError, CoreResult, Corrupt};
use portcullis_core::ids::{AccountId, SsoConnectorId};
use portcullis_core::model::{SsoConnector, SsoStatus};
use portcullis_core::store::SsoStore;
use portcullis_core::time::Timestamp;

use crate::backend::SKIP_LOCKED;
use crate::store::{db, ts, unique, SqlStore};

/// An `sso_connector` row (`SSO_COLS`).
#[derive(sqlx::FromRow)]
pub(crate) struct SsoRow {
    id: String,
    account_id: String,
    email_domain: String,
    enabled: bool,
    use_fedramp_language: bool,
    code: String,
    status: String,
    pending_since: Option<i64>,
    next_check_at: Option<i64>,
    dns_failures: i64,
    created_at: i64,
    updated_at: i64,
}

pub(crate) const SSO_COLS: &str = "id, account_id, email_domain, enabled, use_fedramp_language, code, status, pending_since, next_check_at, dns_failures, created_at, updated_at";

impl TryFrom<SsoRow> for SsoConnector {
    type Error = CoreError;
    fn try_from(r: SsoRow) -> CoreResult<Self> {
        Ok(SsoConnector {
            status: SsoStatus::try_from(r.status.as_str())?,
            dns_failures: u32::try_from(r.dns_failures).map_err(|_| {
                CoreError::from(Corrupt::column(
                    "sso_connector",
                    &r.id,
                    "dns_failures",
                    format!("{} is out of range", r.dns_failures),
                ))
            })?,
            id: SsoConnectorId::from_trusted(r.id),
            account_id: AccountId::from_trusted(r.account_id),
            email_domain: r.email_domain,
            enabled: r.enabled,
            use_fedramp_language: r.use_fedramp_language,
            code: r.code,
            pending_since: r.pending_since.map(ts),
            next_check_at: r.next_check_at.map(ts),
            created_on: ts(r.created_at),
            updated_on: ts(r.updated_at),
        })
    }
}

fn conflict(e: sqlx::Error, c: &SsoConnector) -> CoreError {
    unique(e, |name| match name {
        "sso_connector_enabled_domain" => Some(Conflict::SsoEnabledElsewhere {
            domain: c.email_domain.clone(),
        }),
        "sso_connector_domain_unique" => Some(Conflict::SsoDomain {
            domain: c.email_domain.clone(),
            account: c.account_id.clone(),
        }),
        _ => None,
    })
}

#[async_trait]
impl SsoStore for SqlStore {
    async fn list_sso(&self, account: &AccountId) -> CoreResult<Vec<SsoConnector>> {
        let sql = format!(
            "select {SSO_COLS} from sso_connector where account_id = $1 order by email_domain, id"
        );
        let rows: Vec<SsoRow> = sqlx::query_as(&sql)
            .bind(account.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter().map(SsoConnector::try_from).collect()
    }

    async fn get_sso(
        &self,
        account: &AccountId,
        id: &SsoConnectorId,
    ) -> CoreResult<Option<SsoConnector>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Self::sso_in(&mut conn, account, id).await
    }

    async fn create_sso(
        &self,
        c: &SsoConnector,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("insert into sso_connector (id, account_id, email_domain, enabled, use_fedramp_language, code, status, pending_since, next_check_at, dns_failures, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(c.id.as_str())
            .bind(c.account_id.as_str())
            .bind(&c.email_domain)
            .bind(c.enabled)
            .bind(c.use_fedramp_language)
            .bind(&c.code)
            .bind(c.status.as_str())
            .bind(c.pending_since.map(Timestamp::micros))
            .bind(c.next_check_at.map(Timestamp::micros))
            .bind(i64::from(c.dns_failures))
            .bind(c.created_on.micros())
            .bind(c.updated_on.micros())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, c))?;
        let record = audit.record(AuditAction::Create, None, Some(c));
        self.commit_audited(tx, &[], &[record]).await
    }

    async fn update_sso(
        &self,
        c: &SsoConnector,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let Some(before) = Self::sso_in(&mut tx, &c.account_id, &c.id).await? else {
            return Ok(false);
        };
        let done = sqlx::query("update sso_connector set enabled = $1, use_fedramp_language = $2, status = $3, pending_since = $4, next_check_at = $5, dns_failures = $6, updated_at = $7, lease_until = null where id = $8 and account_id = $9")
            .bind(c.enabled)
            .bind(c.use_fedramp_language)
            .bind(c.status.as_str())
            .bind(c.pending_since.map(Timestamp::micros))
            .bind(c.next_check_at.map(Timestamp::micros))
            .bind(i64::from(c.dns_failures))
            .bind(c.updated_on.micros())
            .bind(c.id.as_str())
            .bind(c.account_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, c))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let after = Self::sso_in(&mut tx, &c.account_id, &c.id).await?;
        let record = audit.record(AuditAction::Update, Some(&before), after.as_ref());
        self.commit_audited(tx, &[], &[record]).await?;
        Ok(true)
    }

    async fn delete_sso(
        &self,
        account: &AccountId,
        id: &SsoConnectorId,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let Some(before) = Self::sso_in(&mut tx, account, id).await? else {
            return Ok(false);
        };
        let done = sqlx::query("delete from sso_connector where id = $1 and account_id = $2")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let record = audit.record(AuditAction::Delete, Some(&before), None);
        self.commit_audited(tx, &[], &[record]).await?;
        Ok(true)
    }

    async fn claim_sso_checks(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<SsoConnector>> {
        let mut tx = self.write().await?;
        let sql = format!(
            "select {SSO_COLS} from sso_connector where status = 'pending' and next_check_at <= $1 \
             and (lease_until is null or lease_until <= $1) order by next_check_at limit $2{SKIP_LOCKED}"
        );
        let rows: Vec<SsoRow> = sqlx::query_as(&sql)
            .bind(now.micros())
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        for r in &rows {
            sqlx::query(
                "update sso_connector set lease_until = $1 where id = $2 and account_id = $3",
            )
            .bind(lease_until.micros())
            .bind(&r.id)
            .bind(&r.account_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        rows.into_iter().map(SsoConnector::try_from).collect()
    }

    async fn record_sso_check(
        &self,
        c: &SsoConnector,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let before = Self::sso_in(&mut tx, &c.account_id, &c.id).await?;
        let done = sqlx::query("update sso_connector set status = $1, pending_since = $2, next_check_at = $3, dns_failures = $4, updated_at = $5, lease_until = null where id = $6 and account_id = $8 and status = 'pending' and code = $7")
            .bind(c.status.as_str())
            .bind(c.pending_since.map(Timestamp::micros))
            .bind(c.next_check_at.map(Timestamp::micros))
            .bind(i64::from(c.dns_failures))
            .bind(c.updated_on.micros())
            .bind(c.id.as_str())
            .bind(&c.code)
            .bind(c.account_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let after = Self::sso_in(&mut tx, &c.account_id, &c.id).await?;
        // A check that leaves the connector pending (DNS not there yet) changes nothing a
        // person acts on: only a verdict is an entry.
        let records: Vec<_> = match (&before, &after) {
            (Some(b), Some(a)) if done.rows_affected() > 0 && b.status != a.status => {
                vec![audit.record(AuditAction::Update, Some(b), Some(a))]
            }
            _ => Vec::new(),
        };
        self.commit_audited(tx, &[], &records).await?;
        Ok(done.rows_affected() > 0)
    }
}

impl SqlStore {
    /// One connector, read in a transaction (an audit entry's value).
    async fn sso_in(
        conn: &mut crate::backend::Conn,
        account: &AccountId,
        id: &SsoConnectorId,
    ) -> CoreResult<Option<SsoConnector>> {
        let sql = format!("select {SSO_COLS} from sso_connector where id = $1 and account_id = $2");
        let row: Option<SsoRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        row.map(SsoConnector::try_from).transpose()
    }
}
