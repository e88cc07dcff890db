//! SSO connectors.

use axum::Json;
use portcullis_core::service::sso::{CheckOutcome, SsoCreate};
use portcullis_wire::body as w;
use portcullis_wire::{Detail, Envelope, Message};

use crate::convert;
use crate::extract::{ApiJson, Cx, EmptyBody};
use crate::handlers::{deleted, reply, Reply};
use crate::path::{ApiPath, SsoPath};

impl EmptyBody for w::SsoCreate {}
impl EmptyBody for w::SsoUpdate {}

/// `GET /accounts/{account_id}/sso_connectors` (the whole list).
pub async fn list(cx: Cx) -> Reply<Vec<w::SsoConnector>> {
    reply(cx.app.list_sso(&cx.pass), |l| {
        l.iter().map(convert::sso).collect()
    })
    .await
}

/// `GET /accounts/{account_id}/sso_connectors/{sso_connector_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<SsoPath>) -> Reply<w::SsoConnector> {
    reply(cx.app.get_sso(&cx.pass, &p.sso_connector_id), convert::sso).await
}

/// `POST /accounts/{account_id}/sso_connectors`.
pub async fn create(cx: Cx, ApiJson(body): ApiJson<w::SsoCreate>) -> Reply<w::SsoConnector> {
    let input = SsoCreate {
        email_domain: body.email_domain,
        begin_verification: body.begin_verification,
        use_fedramp_language: body.use_fedramp_language,
    };
    reply(cx.app.create_sso(&cx.pass, input), convert::sso).await
}

/// `PATCH /accounts/{account_id}/sso_connectors/{sso_connector_id}`.
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<SsoPath>,
    ApiJson(body): ApiJson<w::SsoUpdate>,
) -> Reply<w::SsoConnector> {
    let (id, enabled, fedramp) = (&p.sso_connector_id, body.enabled, body.use_fedramp_language);
    reply(
        cx.app.update_sso(&cx.pass, id, enabled, fedramp),
        convert::sso,
    )
    .await
}

/// `DELETE /accounts/{account_id}/sso_connectors/{sso_connector_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<SsoPath>) -> Reply<w::IdRef> {
    let id = &p.sso_connector_id;
    deleted(id, cx.app.delete_sso(&cx.pass, id)).await
}

/// `POST …/sso_connectors/{sso_connector_id}/begin_verification` (no body). The SDKs return this
/// whole envelope; `messages` says what the immediate lookup found and `result` is the connector.
pub async fn begin_verification(cx: Cx, ApiPath(p): ApiPath<SsoPath>) -> Reply<w::SsoConnector> {
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
