//! Health, readiness and the OpenAPI document.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_wire::body::Health;

use crate::error::{ApiError, ApiResult};
use crate::handlers::{ok, One};
use crate::server::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> One<Health> {
    ok(Health {
        status: "ok".into(),
    })
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<One<Health>> {
    state.app.store().ping().await.map_err(ApiError::from)?;
    Ok(ok(Health {
        status: "ready".into(),
    }))
}

/// `GET /client/v4/openapi.json`.
pub async fn openapi(State(state): State<AppState>) -> Response {
    Json(state.openapi.as_ref().clone()).into_response()
}
