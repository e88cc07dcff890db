//! Router assembly: the route table, the fallback, and the layers every request passes through.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use axum::Router;
use portcullis_core::service::access::Admission;
use portcullis_core::service::Portcullis;
use portcullis_wire::ErrorKind;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::{ApiError, InternalDetail};
use crate::extract::{client_ip, credentials, read_body, Auth, Authz};
use crate::path::MaybeAccount;
use crate::routes::{Guard, ROUTES};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The application.
    pub app: Portcullis,
    /// The OpenAPI document, built once from the route table.
    pub openapi: Arc<serde_json::Value>,
    /// The member permission groups in their wire shape, in catalog order, converted once (the
    /// catalog does not change while the server runs): a list page clones its items only.
    pub permission_groups: Arc<[portcullis_wire::body::PermissionGroup]>,
    /// How responses show resource-group scopes (`--scope-shape`).
    pub scope_shape: crate::ScopeShapeSetting,
    /// The fixtures `POST /__portcullis/reset` restores; `None`: the route is not served.
    pub reset: Option<Arc<portcullis_core::state::State>>,
    /// Prometheus metrics (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Requests per principal (`--rate-limit`); `None`: unlimited.
    pub rate_limiter: Option<Arc<crate::ratelimit::RateLimiter>>,
    /// `GET /metrics` is served on its own address (`--metrics-listen`), not by [`router`].
    pub metrics_elsewhere: bool,
    /// Serve the admin console at `/console/` (`--console`).
    pub console: crate::ConsoleSetting,
}

impl AppState {
    /// Builds the state (the enforcement mode is the application's).
    pub fn new(app: Portcullis) -> Self {
        let permission_groups = app
            .catalog()
            .member_groups()
            .iter()
            .map(crate::convert::permission_group)
            .collect();
        Self {
            metrics: crate::metrics::Metrics::new(app.clone()),
            app,
            openapi: Arc::new(crate::openapi::document()),
            permission_groups,
            scope_shape: crate::ScopeShapeSetting::default(),
            reset: None,
            rate_limiter: None,
            metrics_elsewhere: false,
            console: crate::ConsoleSetting::default(),
        }
    }

    /// `GET /metrics` served by [`metrics_router`] on its own address instead.
    pub fn with_metrics_elsewhere(mut self, elsewhere: bool) -> Self {
        self.metrics_elsewhere = elsewhere;
        self
    }

    /// With this `--console` setting.
    pub fn with_console(mut self, setting: crate::ConsoleSetting) -> Self {
        self.console = setting;
        self
    }

    /// With this `--rate-limit` setting.
    pub fn with_rate_limit(mut self, setting: crate::RateLimitSetting) -> Self {
        self.rate_limiter = match setting {
            crate::RateLimitSetting::Off => None,
            crate::RateLimitSetting::PerPrincipal { limit, window } => {
                Some(Arc::new(crate::ratelimit::RateLimiter::new(limit, window)))
            }
        };
        self
    }

    /// Serving `POST /__portcullis/reset`, which restores `fixtures`.
    pub fn with_reset(mut self, fixtures: Option<Arc<portcullis_core::state::State>>) -> Self {
        self.reset = fixtures;
        self
    }

    /// With this `--scope-shape` setting.
    pub fn with_scope_shape(mut self, setting: crate::ScopeShapeSetting) -> Self {
        self.scope_shape = setting;
        self
    }
}

/// What the enforcement layer of one route needs.
#[derive(Clone)]
struct RouteGuard {
    state: AppState,
    key: &'static str,
    /// What the route does, worded for a refusal ("create a user group"); made once per route.
    action: Arc<str>,
    /// The route's path template, which names its resource (for the audit entry of a refusal).
    path: &'static str,
}

/// The route layer of every account route: authenticates (the handler reuses the principal),
/// then passes the caller through the gate ([`Portcullis::enforce`]) with the route's
/// permission key and the path's account. The pass ([`Authz`]) is what the handler hands to
/// the services; without it they cannot reach the account's data.
async fn enforce(State(g): State<RouteGuard>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let pass = match pass_gate(&g, &mut parts).await {
        Ok(pass) => pass,
        Err(refusal) => return refusal.into_response(),
    };
    parts.extensions.insert(Authz(pass.clone()));
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() == StatusCode::FORBIDDEN {
        // Refused past the gate (a no-escalation rule): recorded like the gate's refusals.
        g.state.app.record_refused_pass(&pass, g.path).await;
    }
    response
}

/// The request a change came with, for the audit log.
pub fn origin_of(parts: &axum::http::request::Parts) -> portcullis_core::audit::Origin {
    portcullis_core::audit::Origin {
        interface: if parts
            .headers
            .get(crate::console::CLIENT_HEADER)
            .is_some_and(|v| v.as_bytes() == crate::console::CLIENT_VALUE.as_bytes())
        {
            portcullis_core::audit::Interface::Ui
        } else {
            portcullis_core::audit::Interface::Api
        },
        request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        ip: client_ip(parts),
        method: Some(parts.method.as_str().to_owned()),
        uri: Some(
            parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        ),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect()),
    }
}

/// Authentication, the path's account, then [`Portcullis::enforce`]; leaves the principal in
/// the request for the handler.
async fn pass_gate(
    g: &RouteGuard,
    parts: &mut axum::http::request::Parts,
) -> Result<portcullis_core::service::access::Authorized, ApiError> {
    use axum::extract::FromRequestParts;
    let credentials = credentials(parts)?;
    let account = match MaybeAccount::from_request_parts(parts, &g.state).await {
        Ok(MaybeAccount(account)) => account,
        Err(path) => {
            // Credentials are judged before the path: an unauthenticated caller learns nothing
            // from how its path is refused.
            Auth::from_request_parts(parts, &g.state).await?;
            return Err(path);
        }
    };
    // Every Guard::Permission route is under /accounts/{account_id} (a route-table test checks).
    let account =
        account.ok_or_else(|| ApiError::internal("an account route without {account_id}"))?;
    let admission = Admission {
        credentials: &credentials,
        client_ip: client_ip(parts),
        account,
        key: g.key,
        action: &g.action,
        origin: std::sync::Arc::new(origin_of(parts)),
        route: g.path,
    };
    let pass = g.state.app.admit(admission).await?;
    parts.extensions.insert(Auth(pass.principal().clone()));
    Ok(pass)
}

/// A route's summary as the object of "requires permission … to": its first letter lowered.
fn action_of(summary: &str) -> String {
    let mut chars = summary.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn unknown_route() -> ApiError {
    ApiError::new(ErrorKind::UnknownRoute)
}

/// `--rate-limit`: counts the request against its principal's window (a request whose
/// credentials do not authenticate is not counted: it is refused anyway, and garbage must not
/// make windows), refuses it with 429/971 and `Retry-After` when the window is spent, and puts
/// `Ratelimit`/`Ratelimit-Policy` on every counted response.
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(limiter) = state.rate_limiter.clone() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let verdict = match credentials(&parts) {
        Ok(creds) => state
            .app
            .authenticate(
                &creds,
                client_ip(&parts),
                portcullis_core::time::Timestamp::now(),
            )
            .await
            .ok()
            .map(|p| limiter.check(&crate::ratelimit::principal_key(&p), Instant::now())),
        Err(_) => None,
    };
    let mut response = match verdict {
        Some(v) if !v.allowed => {
            let mut r = ApiError::new(ErrorKind::RateLimited).into_response();
            if let Ok(after) = axum::http::HeaderValue::from_str(&v.reset_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, after);
            }
            r
        }
        _ => next.run(Request::from_parts(parts, body)).await,
    };
    if let Some(v) = verdict {
        for (name, value) in [
            ("ratelimit", v.ratelimit()),
            ("ratelimit-policy", v.policy()),
        ] {
            if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

/// The id of one request: the caller's `X-Request-Id` when it is usable (1 to 128 visible ASCII
/// characters), otherwise a new one in the shape of Cloudflare's `cf-ray` (16 hex digits, a dash
/// and a location; Portcullis's is `PCS`). Every response carries it as `cf-ray` and
/// `x-request-id`, and the request's log lines name it; handlers read it from the request's
/// extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id for a request with these headers.
    pub fn of(headers: &axum::http::HeaderMap) -> Self {
        let given = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| {
                !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| (0x21..=0x7e).contains(&b))
            });
        Self(match given {
            Some(v) => v.to_owned(),
            None => format!("{}-PCS", &portcullis_core::ids::random_hex_id()[..16]),
        })
    }
}

/// Rewrites any error response that is not already an envelope (axum's own 405, a panic's 500)
/// into one, gives every response its request id ([`RequestId`]) and logs every request
/// (request id, method, path, status, time; never headers).
///
/// It also reads the whole request body (up to [`BODY_LIMIT`](crate::extract::BODY_LIMIT)) before anything else runs: a
/// layer or extractor that refuses a request early leaves no unread body behind, and hyper
/// closes a keep-alive connection whose request body was not read, failing the client's next
/// request on it.
async fn envelope_and_log(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let started = Instant::now();
    let id = RequestId::of(req.headers());
    req.extensions_mut().insert(id.clone());
    let response = match buffered(req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let response = if status.is_client_error() || status.is_server_error() {
        if let Some(detail) = response.extensions().get::<InternalDetail>() {
            tracing::error!(request_id = %id.0, %method, %path, status = status.as_u16(), detail = %detail.0, "request failed");
        }
        if is_json {
            response
        } else {
            let kind = match status {
                StatusCode::NOT_FOUND => ErrorKind::UnknownRoute,
                StatusCode::METHOD_NOT_ALLOWED => ErrorKind::MethodNotAllowed,
                StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
                s if s.is_client_error() => ErrorKind::Validation,
                _ => ErrorKind::Internal,
            };
            let mut fixed = ApiError::new(kind).into_response();
            if let Some(allow) = response.headers().get(header::ALLOW) {
                fixed.headers_mut().insert(header::ALLOW, allow.clone());
            }
            fixed
        }
    } else {
        response
    };
    let mut response = response;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id.0) {
        response.headers_mut().insert("cf-ray", value.clone());
        response.headers_mut().insert("x-request-id", value);
    }
    state.metrics.observe(
        method.as_str(),
        route.as_deref(),
        response.status().as_u16(),
        started.elapsed(),
    );
    tracing::info!(
        request_id = %id.0,
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// The request with its body read into memory (413 past [`BODY_LIMIT`](crate::extract::BODY_LIMIT)).
async fn buffered(req: Request) -> Result<Request, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(body).await?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a handler panicked; answered 500");
    let mut r = ApiError::new(ErrorKind::Internal).into_response();
    r.headers_mut()
        .insert("x-should-retry", HeaderValue::from_static("false"));
    r
}

/// The whole application router.
/// `GET /metrics` alone, for `--metrics-listen` (anything else: 404/7000).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route(
            crate::routes::METRICS_PATH,
            axum::routing::get(crate::handlers::meta::metrics),
        )
        .fallback(unknown_route)
        .with_state(state)
}

pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for route in ROUTES {
        if route.path == crate::routes::RESET_PATH && state.reset.is_none() {
            continue;
        }
        if route.path == crate::routes::METRICS_PATH && state.metrics_elsewhere {
            continue;
        }
        let filter = route
            .method
            .parse::<axum::http::Method>()
            .ok()
            .and_then(|m| MethodFilter::try_from(m).ok())
            .unwrap_or_else(|| unreachable!("route {} has an unknown method", route.path));
        let mut handler = (route.handler)(filter);
        if let Guard::Permission(key) = route.guard {
            let guard = RouteGuard {
                state: state.clone(),
                key,
                action: action_of(route.summary).into(),
                path: route.path,
            };
            handler = handler.route_layer(middleware::from_fn_with_state(guard, enforce));
        }
        router = router.route(route.path, handler);
    }
    if state.console == crate::ConsoleSetting::On {
        router = crate::console::routes(router);
    }
    router
        .fallback(unknown_route)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            envelope_and_log,
        ))
        .with_state(state)
}
