//! Extractors. Each rejection is an [`ApiError`], so bad paths, queries, bodies and credentials
//! get Cloudflare envelopes that name the field.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use http_body_util::{BodyExt, Limited};
use portcullis_core::auth::{Credentials, Principal};
use portcullis_core::page::{PageLimits, PageRequest};
use portcullis_core::secret::is_api_key_format;
use portcullis_core::service::access::Authorized;
use portcullis_core::service::check_storable;
use portcullis_core::time::Timestamp;
use portcullis_wire::body::ScopeShape;
use portcullis_wire::{Detail, ErrorKind, Message};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::server::AppState;

/// Highest page number accepted (larger ones are refused, not silently clamped).
pub const MAX_PAGE: u64 = 1_000_000_000;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

/// The request, as the audit log records it (id, client address, method, URI, user agent).
#[derive(Debug, Clone)]
pub struct Req(pub portcullis_core::audit::Origin);

impl<S: Send + Sync> FromRequestParts<S> for Req {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(crate::server::origin_of(parts)))
    }
}

/// The gate's pass: the route layer put it here after [`Portcullis::enforce`] let the caller in
/// (see `server::enforce`). Handlers of account routes take it and hand it to the services,
/// which need it to reach the account's data.
///
/// [`Portcullis::enforce`]: portcullis_core::service::Portcullis::enforce
#[derive(Debug, Clone)]
pub struct Authz(pub Authorized);

impl<S: Send + Sync> FromRequestParts<S> for Authz {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Authz>().cloned().ok_or_else(|| {
            ApiError::internal(
                "a handler that needs the authorization gate is on a route without it",
            )
        })
    }
}

/// What a handler of an account route works with: the application and the gate's pass.
#[derive(Clone)]
pub struct Cx {
    /// The application.
    pub app: portcullis_core::service::Portcullis,
    /// The gate's pass for this request.
    pub pass: Authorized,
    /// How this client's responses show resource-group scopes.
    pub shape: ScopeShape,
}

impl FromRequestParts<AppState> for Cx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authz(pass) = Authz::from_request_parts(parts, state).await?;
        Ok(Self {
            app: state.app.clone(),
            pass,
            shape: state.scope_shape.for_client(&parts.headers),
        })
    }
}

/// The `scope` shape this client's SDK expects (routes outside [`Cx`] that show resource groups).
#[derive(Debug, Clone, Copy)]
pub struct Shape(pub ScopeShape);

impl FromRequestParts<AppState> for Shape {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(state.scope_shape.for_client(&parts.headers)))
    }
}

/// A header's value; `Some(Err(()))` when it is not visible ASCII (such a value is never a
/// credential, and must not reach the store: PostgreSQL could not even compare it).
fn header<'a>(parts: &'a Parts, name: &str) -> Option<Result<&'a str, ()>> {
    parts.headers.get(name).map(|v| {
        v.to_str()
            .map_err(|_| ())
            .and_then(|s| if s.contains('\0') { Err(()) } else { Ok(s) })
    })
}

/// Reads the credentials from the headers. Bearer wins when several are sent (the TypeScript
/// SDK sends everything it has).
pub fn credentials(parts: &Parts) -> Result<Credentials, ApiError> {
    if let Some(auth) = header(parts, "authorization") {
        let auth = auth.map_err(|()| {
            ApiError::with_chain(
                ErrorKind::InvalidHeaders,
                vec![Detail::MalformedAuthorization.message()],
            )
        })?;
        let mut it = auth.trim().splitn(2, ' ');
        let scheme = it.next().unwrap_or_default();
        let value = it.next().map(str::trim).unwrap_or_default();
        if !scheme.eq_ignore_ascii_case("bearer") || value.is_empty() || value.contains(' ') {
            return Err(ApiError::with_chain(
                ErrorKind::InvalidHeaders,
                vec![Detail::MalformedAuthorization.message()],
            ));
        }
        return Ok(Credentials::Bearer(value.to_owned()));
    }
    let present = |name| {
        header(parts, name)
            .map(|v| v.map(str::trim))
            .filter(|v| v != &Ok(""))
    };
    let (email, key) = (present("x-auth-email"), present("x-auth-key"));
    let mut chain = Vec::new();
    match email {
        None => chain.push(Detail::MissingEmail.message()),
        Some(Err(())) => chain.push(Detail::MalformedEmail.message()),
        Some(Ok(_)) => {}
    }
    match key {
        None => chain.push(Detail::MissingKey.message()),
        Some(Ok(k)) if is_api_key_format(k) => {}
        Some(_) => chain.push(Detail::MalformedKey.message()),
    }
    match (email, key) {
        (Some(Ok(email)), Some(Ok(key))) if chain.is_empty() => Ok(Credentials::Key {
            email: email.to_owned(),
            key: key.to_owned(),
        }),
        _ => Err(ApiError::with_chain(ErrorKind::InvalidHeaders, chain)),
    }
}

/// The client's address (the TCP peer; proxies are not trusted).
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The enforcement layer authenticates first and leaves the principal here.
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let creds = credentials(parts)?;
        let principal = state
            .app
            .authenticate(&creds, client_ip(parts), Timestamp::now())
            .await?;
        Ok(Self(principal))
    }
}

/// The query string as name -> values (`+` and `%20` both decode to a space).
#[derive(Debug, Clone, Default)]
pub struct Query(HashMap<String, Vec<String>>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(q) = parts.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                let pointer = format!("/query/{}", k.replace('\0', "\\u0000"));
                check_storable(&pointer, &k)?;
                check_storable(&pointer, &v)?;
                map.entry(k.into_owned()).or_default().push(v.into_owned());
            }
        }
        Ok(Self(map))
    }
}

fn parse_count(name: &str, raw: &str) -> Result<f64, ApiError> {
    let v: f64 = raw.trim().parse().map_err(|_| {
        ApiError::invalid(
            format!("/query/{name}"),
            format!("query parameter `{name}`: `{raw}` is not a number"),
        )
    })?;
    if !v.is_finite() || v.fract() != 0.0 {
        return Err(ApiError::invalid(
            format!("/query/{name}"),
            format!("query parameter `{name}`: `{raw}` is not a whole number"),
        ));
    }
    Ok(v)
}

impl Query {
    /// Every non-empty value of a parameter, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .map(|v| {
                v.iter()
                    .map(String::as_str)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The last value of a parameter, if any (empty values count as absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `page` (>= 1; `2.0` accepted) and `per_page` (clamped into `limits`).
    pub fn page(&self, limits: PageLimits) -> Result<PageRequest, ApiError> {
        let page = match self.get("page") {
            None => None,
            Some(raw) => {
                let v = parse_count("page", raw)?;
                if v < 1.0 {
                    return Err(ApiError::invalid(
                        "/query/page",
                        format!("query parameter `page`: must be 1 or more, got `{raw}`"),
                    ));
                }
                if v > MAX_PAGE as f64 {
                    return Err(ApiError::invalid(
                        "/query/page",
                        format!("query parameter `page`: must be at most {MAX_PAGE}, got `{raw}`"),
                    ));
                }
                Some(v as u64)
            }
        };
        let per_page = match self.get("per_page") {
            None => None,
            Some(raw) => Some(parse_count("per_page", raw)?.clamp(0.0, 1e6) as u64),
        };
        Ok(PageRequest::new(page, per_page, limits))
    }

    /// An enumerated parameter: one of `allowed`, or absent.
    pub fn one_of<'a>(&self, name: &str, allowed: &[&'a str]) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .find(|a| **a == v)
                .map(|a| Some(*a))
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("/query/{name}"),
                        format!(
                            "query parameter `{name}`: `{v}` is not one of {}",
                            allowed
                                .iter()
                                .map(|a| format!("`{a}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                }),
        }
    }
}

/// A JSON body. Malformed JSON is 400/6007; a wrong type, a missing field or an unknown enum
/// value is 400/1001 with the field's pointer; over 1 MiB is 413. An empty body reads as `{}`
/// (or `[]` for array bodies), so a missing required field is named precisely.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// Converts serde_path_to_error-like paths (`a.b[0].c`) into JSON pointers (`/a/b/0/c`).
fn pointer_from_path(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            let (name, idx) = rest.split_at(i);
            if !name.is_empty() {
                out.push('/');
                out.push_str(name);
            }
            rest = idx;
            for seg in rest.split('[').filter(|s| !s.is_empty()) {
                out.push('/');
                out.push_str(seg.trim_end_matches(']'));
            }
        } else {
            out.push('/');
            out.push_str(rest);
        }
    }
    out
}

/// Parses `bytes` into `T`, mapping errors to envelopes with pointers.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], empty: &str) -> Result<T, ApiError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        if empty.is_empty() {
            return Err(ApiError::invalid(
                "/",
                "body: required here (an empty body is not taken for an empty list)",
            ));
        }
        empty.as_bytes()
    } else {
        bytes
    };
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        ApiError::with_chain(
            ErrorKind::MalformedJson,
            vec![Message::new(ErrorKind::MalformedJson.code(), e.to_string())],
        )
    })?;
    storable(&value, &mut String::new())?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = pointer_from_path(&e.path().to_string());
        let inner = e.inner().to_string();
        let inner = inner.replace("invalid type: ", "wrong type: ");
        let field = if pointer.is_empty() {
            "body".to_owned()
        } else {
            pointer.clone()
        };
        let message = if let Some(missing) = inner.strip_prefix("missing field ") {
            let name = missing.trim_matches('`');
            let p = format!("{pointer}/{name}");
            return ApiError::invalid(p.clone(), format!("{p}: required field is missing"));
        } else {
            format!("{field}: {inner}")
        };
        ApiError::invalid(
            if pointer.is_empty() {
                "/".to_owned()
            } else {
                pointer
            },
            message,
        )
    })
}

/// Refuses any string (or object key) that a backend could not store (see
/// [`check_storable`]), naming its pointer.
fn storable(value: &serde_json::Value, pointer: &mut String) -> Result<(), ApiError> {
    use serde_json::Value;
    let at = |p: &str| {
        if p.is_empty() {
            "/".to_owned()
        } else {
            p.to_owned()
        }
    };
    match value {
        Value::String(s) => check_storable(&at(pointer), s).map_err(ApiError::from),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                storable(item, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(
                    &k.replace('~', "~0")
                        .replace('/', "~1")
                        .replace('\0', "\\u0000"),
                );
                check_storable(&at(pointer), k)?;
                storable(v, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Reads a request body into memory: 413 past [`BODY_LIMIT`], 400 when it cannot be read.
pub async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    Limited::new(body, BODY_LIMIT)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                ApiError::new(ErrorKind::PayloadTooLarge)
            } else {
                ApiError::with_message(ErrorKind::MalformedJson, "could not read the request body")
            }
        })
}

/// Bodies whose empty form is `[]` rather than `{}`.
pub trait EmptyBody {
    /// The JSON an empty body stands for.
    const EMPTY: &'static str = "{}";
}

impl<T> EmptyBody for Vec<T> {
    const EMPTY: &'static str = "[]";
}

/// A body that must be sent: an empty one is refused (400/1001) instead of read as `{}`/`[]`.
/// For replacements, where an empty list would remove everything.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Required<T>(pub T);

impl<T> EmptyBody for Required<T> {
    const EMPTY: &'static str = "";
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + EmptyBody,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req.into_body()).await?;
        parse_json(&bytes, T::EMPTY).map(ApiJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers() {
        assert_eq!(
            pointer_from_path("policies[0].access"),
            "/policies/0/access"
        );
        assert_eq!(pointer_from_path("name"), "/name");
        assert_eq!(pointer_from_path("[2].id"), "/2/id");
        assert_eq!(pointer_from_path("."), "");
    }
}
