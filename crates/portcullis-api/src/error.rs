//! `ApiError`: every failure becomes a Cloudflare failure envelope with a real status.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::error::{Forbidden, TokenRejection};
use portcullis_core::CoreError;
use portcullis_wire::{Envelope, ErrorKind, Message};

/// A failure on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The catalog row.
    pub kind: ErrorKind,
    /// The error items (at least one).
    pub errors: Vec<Message>,
    /// Detail for the logs only (never sent).
    pub log_detail: Option<String>,
}

/// Internal detail attached to 5xx responses, read by the logging middleware.
#[derive(Debug, Clone)]
pub struct InternalDetail(pub String);

impl ApiError {
    /// An error with the catalog's default message.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            errors: vec![Message::new(kind.code(), kind.default_message())],
            log_detail: None,
        }
    }

    /// An error with its own message.
    pub fn with_message(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            errors: vec![Message::new(kind.code(), message)],
            log_detail: None,
        }
    }

    /// A validation error pointing at a field.
    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        let kind = ErrorKind::Validation;
        Self {
            kind,
            errors: vec![Message::new(kind.code(), message).with_pointer(pointer)],
            log_detail: None,
        }
    }

    /// A 500 whose detail goes to the log only.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            log_detail: Some(detail.into()),
            ..Self::new(ErrorKind::Internal)
        }
    }

    /// The catalog's message with a detail in `error_chain`.
    pub fn with_chain(kind: ErrorKind, chain: Vec<Message>) -> Self {
        let mut m = Message::new(kind.code(), kind.default_message());
        m.error_chain = chain;
        Self {
            kind,
            errors: vec![m],
            log_detail: None,
        }
    }
}

impl ApiError {
    fn at(kind: ErrorKind, pointer: Option<String>, message: String) -> Self {
        let mut m = Message::new(kind.code(), message);
        if let Some(p) = pointer {
            m = m.with_pointer(p);
        }
        Self {
            kind,
            errors: vec![m],
            log_detail: None,
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid { pointer, message } => {
                Self::at(ErrorKind::Validation, pointer, message)
            }
            CoreError::InvalidCombination(e) => Self::at(
                ErrorKind::InvalidCombination,
                Some(e.pointer().to_owned()),
                e.to_string(),
            ),
            e @ CoreError::NotFound { .. } => {
                Self::with_message(ErrorKind::NotFound, e.to_string())
            }
            CoreError::Conflict(c) => Self::with_message(ErrorKind::Duplicate, c.to_string()),
            CoreError::Forbidden(f @ Forbidden::NotAUser { .. }) => Self::with_chain(
                ErrorKind::UserOnly,
                vec![Message::new(ErrorKind::UserOnly.code(), f.to_string())],
            ),
            CoreError::Forbidden(f @ Forbidden::MembershipsNeedAUser { .. }) => Self::with_chain(
                ErrorKind::NoUserIdentity,
                vec![Message::new(
                    ErrorKind::NoUserIdentity.code(),
                    f.to_string(),
                )],
            ),
            CoreError::Forbidden(f) => Self::with_chain(
                ErrorKind::Forbidden,
                vec![Message::new(ErrorKind::Forbidden.code(), f.to_string())],
            ),
            // Cloudflare's own wording for a refused address is the top-level message.
            CoreError::InvalidToken(r @ TokenRejection::Location { .. }) => {
                Self::with_message(ErrorKind::InvalidToken, r.to_string())
            }
            CoreError::InvalidToken(TokenRejection::Unknown) => Self::new(ErrorKind::InvalidToken),
            CoreError::InvalidToken(r @ TokenRejection::VerifyAtAccount(_)) => Self::with_chain(
                ErrorKind::NotAUserToken,
                vec![Message::new(ErrorKind::NotAUserToken.code(), r.to_string())],
            ),
            CoreError::InvalidToken(r) => Self::with_chain(
                ErrorKind::InvalidToken,
                vec![Message::new(ErrorKind::InvalidToken.code(), r.to_string())],
            ),
            CoreError::InvalidKey => Self::new(ErrorKind::InvalidKey),
            e @ (CoreError::Unavailable(_) | CoreError::Corrupt(_)) => Self::internal(e.chain()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(Envelope::failure(self.errors))).into_response();
        let headers = response.headers_mut();
        // The SDKs retry 408/409/429/5xx on every method unless told otherwise.
        if status == StatusCode::CONFLICT || status.is_server_error() {
            let retry = if self.kind.retryable() {
                "true"
            } else {
                "false"
            };
            headers.insert("x-should-retry", HeaderValue::from_static(retry));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert("retry-after", HeaderValue::from_static("1"));
        }
        if let Some(detail) = self.log_detail {
            response.extensions_mut().insert(InternalDetail(detail));
        }
        response
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
