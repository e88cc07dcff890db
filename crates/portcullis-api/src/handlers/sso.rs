//! SSO connectors.

use axum::Json;
use portcullis_core::service::sso::CheckOutcome;
use portcullis_wire::body as w;
use portcullis_wire::{Detail, Envelope, Message};

use crate::convert;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Cx, EmptyBody};
use crate::handlers::{ok, One};
use crate::path::{ApiPath, SsoPath};

impl EmptyBody for w::SsoCreate {}
impl EmptyBody for w::SsoUpdate {}

/// `GET /accounts/{account_id}/sso_connectors` (the whole list).
pub async fn list(cx: Cx) -> ApiResult<One<Vec<w::SsoConnector>>> {
    let list = cx.app.list_sso(&cx.pass).await?;
    Ok(ok(list.iter().map(convert::sso).collect()))
}

/// `GET /accounts/{account_id}/sso_connectors/{sso_connector_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<SsoPath>) -> ApiResult<One<w::SsoConnector>> {
    let c = cx.app.get_sso(&cx.pass, &p.sso_connector_id).await?;
    Ok(ok(convert::sso(&c)))
}

/// `POST /accounts/{account_id}/sso_connectors`.
pub async fn create(
    cx: Cx,
    ApiJson(body): ApiJson<w::SsoCreate>,
) -> ApiResult<One<w::SsoConnector>> {
    let c = cx
        .app
        .create_sso(
            &cx.pass,
            &body.email_domain,
            body.begin_verification,
            body.use_fedramp_language,
        )
        .await?;
    Ok(ok(convert::sso(&c)))
}

/// `PATCH /accounts/{account_id}/sso_connectors/{sso_connector_id}`.
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<SsoPath>,
    ApiJson(body): ApiJson<w::SsoUpdate>,
) -> ApiResult<One<w::SsoConnector>> {
    let c = cx
        .app
        .update_sso(
            &cx.pass,
            &p.sso_connector_id,
            body.enabled,
            body.use_fedramp_language,
        )
        .await?;
    Ok(ok(convert::sso(&c)))
}

/// `DELETE /accounts/{account_id}/sso_connectors/{sso_connector_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<SsoPath>) -> ApiResult<One<w::IdRef>> {
    let id = p.sso_connector_id;
    cx.app.delete_sso(&cx.pass, &id).await?;
    Ok(ok(w::IdRef { id: id.to_string() }))
}

/// `POST …/sso_connectors/{sso_connector_id}/begin_verification` (no body). The SDKs return this
/// whole envelope; `messages` says what the immediate lookup found and `result` is the connector.
pub async fn begin_verification(
    cx: Cx,
    ApiPath(p): ApiPath<SsoPath>,
) -> ApiResult<Json<Envelope<w::SsoConnector>>> {
    let (c, outcome) = cx
        .app
        .begin_sso_verification(&cx.pass, &p.sso_connector_id)
        .await?;
    let text = match outcome {
        CheckOutcome::Verified => format!("`{}` is verified", c.email_domain),
        CheckOutcome::StillPending => format!(
            "no TXT record `{}` on `{}` yet; verification is pending and is checked again in the background",
            c.code, c.email_domain
        ),
        CheckOutcome::DnsUnavailable => format!(
            "DNS did not answer for `{}`; verification is pending and will be retried",
            c.email_domain
        ),
        CheckOutcome::Failed => format!("verification of `{}` failed", c.email_domain),
    };
    Ok(Json(Envelope::ok(convert::sso(&c)).with_message(
        Message::new(Detail::SsoVerification.code(), text),
    )))
}
