//! The domain's error type. The HTTP layer maps each variant to one row of the error catalog.

/// What went wrong, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A field is invalid; `pointer` is the JSON pointer (or query/path name) of the field.
    #[error("{message}")]
    Invalid {
        /// Pointer to the offending field, when there is one.
        pointer: Option<String>,
        /// Which field and why.
        message: String,
    },
    /// A permission group and a resource group that cannot be combined.
    #[error("{message}")]
    InvalidCombination {
        /// Pointer to the offending policy.
        pointer: Option<String>,
        /// The pair, named.
        message: String,
    },
    /// The object does not exist (in this account).
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of object.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A uniqueness rule was broken.
    #[error("{0}")]
    Conflict(String),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The token is not usable (unknown, disabled, expired, not yet valid, refused address).
    #[error("{0}")]
    InvalidToken(String),
    /// Unknown email and key pair.
    #[error("unknown X-Auth-Key or X-Auth-Email")]
    InvalidKey,
    /// The store failed; the message is for logs only.
    #[error("storage failure: {0}")]
    Unavailable(String),
    /// Stored data that cannot be read (an unknown enumeration value, unparsable JSON, a
    /// malformed address). Fails closed: the request that needed it fails (500, logged) and
    /// nothing is granted from it. The message is for logs only.
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

impl CoreError {
    /// A validation error on one field.
    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            pointer: Some(pointer.into()),
            message: message.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }
}

impl From<crate::model::UnknownValue> for CoreError {
    fn from(e: crate::model::UnknownValue) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// Shorthand.
pub type CoreResult<T> = Result<T, CoreError>;
