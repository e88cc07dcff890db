//! Health, readiness and the OpenAPI document.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_wire::body::{CredentialIndexHealth, Health, PolicyIndexHealth, ResetResult};
use portcullis_wire::ErrorKind;

use crate::error::ApiError;
use crate::extract::{Auth, Req};
use crate::handlers::{ok, One, Reply};
use crate::server::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> One<Health> {
    ok(Health {
        status: "ok".into(),
        policy_index: None,
        credential_index: None,
    })
}

/// `GET /readyz`: the database answers (503 when it does not, the cause logged); also reports
/// the policy index.
pub async fn readyz(State(state): State<AppState>) -> Reply<Health> {
    state.app.ping().await.map_err(|e| ApiError {
        log_detail: Some(e.chain()),
        ..ApiError::new(ErrorKind::Unavailable)
    })?;
    let stats = state.app.index().stats();
    let credentials = state.app.credentials().stats();
    Ok(ok(Health {
        status: "ready".into(),
        policy_index: Some(PolicyIndexHealth {
            live: state.app.is_live(),
            entries: n(stats.entries),
            hits: stats.hits,
            misses: stats.misses,
            bytes: n(stats.bytes),
            budget_bytes: n(stats.budget),
            evictions: stats.evictions,
        }),
        credential_index: Some(CredentialIndexHealth {
            entries: n(credentials.entries),
            hits: credentials.hits,
            misses: credentials.misses,
            pending_uses: n(credentials.pending_uses),
            bytes: n(credentials.bytes),
            budget_bytes: n(credentials.budget),
            evictions: credentials.evictions,
        }),
    }))
}

fn n(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

/// `POST /__portcullis/reset` (served only with `serve --fixtures FILE --allow-reset`): the
/// whole state replaced by the fixtures, in one transaction, and every cache emptied. For an
/// operator's global key.
pub async fn reset(
    State(state): State<AppState>,
    Auth(p): Auth,
    Req(origin): Req,
) -> Reply<ResetResult> {
    let Some(fixtures) = state.reset.clone() else {
        return Err(ApiError::new(ErrorKind::UnknownRoute));
    };
    let written = state.app.reset_to(&p, &origin, &fixtures).await?;
    Ok(ok(ResetResult {
        objects: u64::try_from(written).unwrap_or(u64::MAX),
    }))
}

/// `GET /metrics`: Prometheus's text exposition (OpenMetrics).
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /client/v4/openapi.json`.
pub async fn openapi(State(state): State<AppState>) -> Response {
    Json(state.openapi.as_ref().clone()).into_response()
}
