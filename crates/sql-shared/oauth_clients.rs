//! OAuth clients (shared by the SQL adapters). Lists are stored as JSON arrays of strings in
//! `*_json` text columns, as token policies are; secrets only as SHA-256 hashes. No write records
//! a change (see `OAuthClientStore`): nothing cached is derived from these rows.

use async_trait::async_trait;
use portcullis_core::audit::AuditAction;
use portcullis_core::error::{CoreError, CoreResult, Corrupt};
use portcullis_core::ids::{AccountId, OAuthClientId};
use portcullis_core::oauth::{GrantType, OAuthClient, ResponseType, TokenAuthMethod, Visibility};
use portcullis_core::store::OAuthClientStore;
use portcullis_core::time::Timestamp;

use crate::store::{db, ts, SqlStore};

/// An `oauth_client` row (`OAUTH_COLS`); of the secret hashes only whether a rotated one is
/// kept is used.
#[derive(sqlx::FromRow)]
pub(crate) struct OAuthRow {
    id: String,
    account_id: String,
    client_name: String,
    grant_types_json: String,
    response_types_json: String,
    redirect_uris_json: String,
    post_logout_redirect_uris_json: String,
    allowed_cors_origins_json: String,
    scopes_json: String,
    optional_scopes_json: String,
    token_endpoint_auth_method: String,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    visibility: String,
    pub(crate) rotated_secret_hash: Option<String>,
    created_at: i64,
    updated_at: i64,
}

pub(crate) const OAUTH_COLS: &str =
    "id, account_id, client_name, grant_types_json, response_types_json, \
     redirect_uris_json, post_logout_redirect_uris_json, allowed_cors_origins_json, scopes_json, \
     optional_scopes_json, token_endpoint_auth_method, client_uri, logo_uri, policy_uri, tos_uri, \
     visibility, rotated_secret_hash, created_at, updated_at";

fn strings(id: &str, column: &'static str, text: &str) -> CoreResult<Vec<String>> {
    serde_json::from_str::<Vec<String>>(text).map_err(|_| {
        CoreError::from(Corrupt::column(
            "oauth_client",
            id,
            column,
            "is not a JSON array of strings",
        ))
    })
}

pub(crate) fn json_of<'a>(items: impl Iterator<Item = &'a str>) -> String {
    serde_json::Value::Array(
        items
            .map(|s| serde_json::Value::String(s.to_owned()))
            .collect(),
    )
    .to_string()
}

impl TryFrom<OAuthRow> for OAuthClient {
    type Error = CoreError;
    fn try_from(r: OAuthRow) -> CoreResult<Self> {
        let id = r.id.as_str();
        let grant_types = strings(id, "grant_types_json", &r.grant_types_json)?
            .iter()
            .map(|s| GrantType::try_from(s.as_str()).map_err(CoreError::from))
            .collect::<CoreResult<Vec<_>>>()?;
        let response_types = strings(id, "response_types_json", &r.response_types_json)?
            .iter()
            .map(|s| ResponseType::try_from(s.as_str()).map_err(CoreError::from))
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(OAuthClient {
            grant_types,
            response_types,
            redirect_uris: strings(id, "redirect_uris_json", &r.redirect_uris_json)?,
            post_logout_redirect_uris: strings(
                id,
                "post_logout_redirect_uris_json",
                &r.post_logout_redirect_uris_json,
            )?,
            allowed_cors_origins: strings(
                id,
                "allowed_cors_origins_json",
                &r.allowed_cors_origins_json,
            )?,
            scopes: strings(id, "scopes_json", &r.scopes_json)?,
            optional_scopes: strings(id, "optional_scopes_json", &r.optional_scopes_json)?,
            token_endpoint_auth_method: TokenAuthMethod::try_from(
                r.token_endpoint_auth_method.as_str(),
            )?,
            visibility: Visibility::try_from(r.visibility.as_str())?,
            id: OAuthClientId::from_trusted(r.id),
            account_id: AccountId::from_trusted(r.account_id),
            client_name: r.client_name,
            client_uri: r.client_uri,
            logo_uri: r.logo_uri,
            policy_uri: r.policy_uri,
            tos_uri: r.tos_uri,
            has_rotated_secret: r.rotated_secret_hash.is_some(),
            created_on: ts(r.created_at),
            updated_on: ts(r.updated_at),
        })
    }
}

#[async_trait]
impl OAuthClientStore for SqlStore {
    async fn list_oauth_clients(&self, account: &AccountId) -> CoreResult<Vec<OAuthClient>> {
        let sql = format!(
            "select {OAUTH_COLS} from oauth_client where account_id = $1 order by client_name, id"
        );
        let rows: Vec<OAuthRow> = sqlx::query_as(&sql)
            .bind(account.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter().map(OAuthClient::try_from).collect()
    }

    async fn get_oauth_client(
        &self,
        account: &AccountId,
        id: &OAuthClientId,
    ) -> CoreResult<Option<OAuthClient>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Self::oauth_in(&mut conn, account, id).await
    }

    async fn create_oauth_client(
        &self,
        c: &OAuthClient,
        secret_hash: &str,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "insert into oauth_client (id, account_id, client_name, grant_types_json, \
             response_types_json, redirect_uris_json, post_logout_redirect_uris_json, \
             allowed_cors_origins_json, scopes_json, optional_scopes_json, \
             token_endpoint_auth_method, client_uri, logo_uri, policy_uri, tos_uri, visibility, \
             secret_hash, rotated_secret_hash, created_at, updated_at) values ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, null, $18, $19)",
        )
        .bind(c.id.as_str())
        .bind(c.account_id.as_str())
        .bind(&c.client_name)
        .bind(json_of(c.grant_types.iter().map(|g| g.as_str())))
        .bind(json_of(c.response_types.iter().map(|g| g.as_str())))
        .bind(json_of(c.redirect_uris.iter().map(String::as_str)))
        .bind(json_of(
            c.post_logout_redirect_uris.iter().map(String::as_str),
        ))
        .bind(json_of(c.allowed_cors_origins.iter().map(String::as_str)))
        .bind(json_of(c.scopes.iter().map(String::as_str)))
        .bind(json_of(c.optional_scopes.iter().map(String::as_str)))
        .bind(c.token_endpoint_auth_method.as_str())
        .bind(c.client_uri.as_deref())
        .bind(c.logo_uri.as_deref())
        .bind(c.policy_uri.as_deref())
        .bind(c.tos_uri.as_deref())
        .bind(c.visibility.as_str())
        .bind(secret_hash)
        .bind(c.created_on.micros())
        .bind(c.updated_on.micros())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let record = audit.record(AuditAction::Create, None, Some(c));
        self.commit_audited(tx, &[], &[record]).await
    }

    async fn update_oauth_client(
        &self,
        c: &OAuthClient,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let Some(before) = Self::oauth_in(&mut tx, &c.account_id, &c.id).await? else {
            return Ok(false);
        };
        let done = sqlx::query(
            "update oauth_client set client_name = $1, grant_types_json = $2, \
             response_types_json = $3, redirect_uris_json = $4, \
             post_logout_redirect_uris_json = $5, allowed_cors_origins_json = $6, \
             scopes_json = $7, optional_scopes_json = $8, token_endpoint_auth_method = $9, \
             client_uri = $10, logo_uri = $11, policy_uri = $12, tos_uri = $13, \
             visibility = $14, updated_at = $15 where id = $16 and account_id = $17",
        )
        .bind(&c.client_name)
        .bind(json_of(c.grant_types.iter().map(|g| g.as_str())))
        .bind(json_of(c.response_types.iter().map(|g| g.as_str())))
        .bind(json_of(c.redirect_uris.iter().map(String::as_str)))
        .bind(json_of(
            c.post_logout_redirect_uris.iter().map(String::as_str),
        ))
        .bind(json_of(c.allowed_cors_origins.iter().map(String::as_str)))
        .bind(json_of(c.scopes.iter().map(String::as_str)))
        .bind(json_of(c.optional_scopes.iter().map(String::as_str)))
        .bind(c.token_endpoint_auth_method.as_str())
        .bind(c.client_uri.as_deref())
        .bind(c.logo_uri.as_deref())
        .bind(c.policy_uri.as_deref())
        .bind(c.tos_uri.as_deref())
        .bind(c.visibility.as_str())
        .bind(c.updated_on.micros())
        .bind(c.id.as_str())
        .bind(c.account_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let after = Self::oauth_in(&mut tx, &c.account_id, &c.id).await?;
        let record = audit.record(AuditAction::Update, Some(&before), after.as_ref());
        self.commit_audited(tx, &[], &[record]).await?;
        Ok(true)
    }

    async fn delete_oauth_client(
        &self,
        account: &AccountId,
        id: &OAuthClientId,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let Some(before) = Self::oauth_in(&mut tx, account, id).await? else {
            return Ok(false);
        };
        let done = sqlx::query("delete from oauth_client where id = $1 and account_id = $2")
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

    async fn rotate_oauth_client_secret(
        &self,
        account: &AccountId,
        id: &OAuthClientId,
        new_hash: &str,
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "update oauth_client set rotated_secret_hash = secret_hash, secret_hash = $1, \
             updated_at = $2 where id = $3 and account_id = $4 and rotated_secret_hash is null",
        )
        .bind(new_hash)
        .bind(now.micros())
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.commit_secret_change(tx, account, id, audit, AuditAction::Update)
            .await?;
        Ok(true)
    }

    async fn delete_oauth_rotated_secret(
        &self,
        account: &AccountId,
        id: &OAuthClientId,
        now: Timestamp,
        audit: &portcullis_core::audit::AuditContext,
    ) -> CoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "update oauth_client set rotated_secret_hash = null, updated_at = $1 \
             where id = $2 and account_id = $3 and rotated_secret_hash is not null",
        )
        .bind(now.micros())
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.commit_secret_change(tx, account, id, audit, AuditAction::Delete)
            .await?;
        Ok(true)
    }

    async fn oauth_client_secret_hashes(
        &self,
        account: &AccountId,
        id: &OAuthClientId,
    ) -> CoreResult<Option<(String, Option<String>)>> {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "select secret_hash, rotated_secret_hash from oauth_client where id = $1 and account_id = $2",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row)
    }
}

impl SqlStore {
    /// Commits a change to a client's secrets with its audit entry (the client after it; no
    /// secret shows).
    async fn commit_secret_change(
        &self,
        mut tx: sqlx::Transaction<'static, crate::backend::Db>,
        account: &AccountId,
        id: &OAuthClientId,
        audit: &portcullis_core::audit::AuditContext,
        action: AuditAction,
    ) -> CoreResult<()> {
        let after = Self::oauth_in(&mut tx, account, id).await?;
        let records: Vec<_> = after
            .iter()
            .map(|c| {
                let secret = portcullis_core::audit::OAuthSecret(c);
                audit.record(action, None, Some(&secret))
            })
            .collect();
        self.commit_audited(tx, &[], &records).await
    }

    /// One client, read in a transaction (an audit entry's value).
    async fn oauth_in(
        conn: &mut crate::backend::Conn,
        account: &AccountId,
        id: &OAuthClientId,
    ) -> CoreResult<Option<OAuthClient>> {
        let sql =
            format!("select {OAUTH_COLS} from oauth_client where id = $1 and account_id = $2");
        let row: Option<OAuthRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        row.map(OAuthClient::try_from).transpose()
    }
}
