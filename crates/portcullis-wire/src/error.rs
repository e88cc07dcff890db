//! The one catalog of codes: error kinds (HTTP status, Cloudflare code, default message), and the
//! codes of the detail messages that go into an error's `error_chain` or a success's
//! `messages`.
//!
//! Every failure Portcullis answers with is one of the [`ErrorKind`] rows; every other code it
//! sends is a [`Detail`] row.

/// A kind of failure, with its fixed HTTP status and Cloudflare code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No route matches the path.
    UnknownRoute,
    /// The path exists but not with this method.
    MethodNotAllowed,
    /// An identifier in the path is not 32 lowercase hex characters.
    MalformedPathId,
    /// Credentials are missing or their headers malformed.
    InvalidHeaders,
    /// The API token is unknown, disabled, expired, not yet valid or used from a refused address.
    InvalidToken,
    /// The email and global API key pair is unknown.
    InvalidKey,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// A user endpoint (`/user`) called with a credential that has no user (an account-owned
    /// token): Cloudflare's 9109.
    UserOnly,
    /// `/memberships` called with a credential that has no user: Cloudflare's 400/9106.
    NoUserIdentity,
    /// An account-owned token at `/user/tokens/verify`: Cloudflare's code 1000 `Invalid API
    /// Token` (wrangler tells account tokens from user tokens by it).
    NotAUserToken,
    /// The object does not exist in this account.
    NotFound,
    /// A field is missing, of the wrong type or out of range.
    Validation,
    /// A permission group and resource group that cannot go together.
    InvalidCombination,
    /// A name, email or domain that is already taken.
    Duplicate,
    /// The body is not valid JSON.
    MalformedJson,
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// Too many requests.
    RateLimited,
    /// Anything unexpected; details only in the logs.
    Internal,
    /// The server cannot reach its database.
    Unavailable,
}

impl ErrorKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [ErrorKind; 19] = [
        Self::UnknownRoute,
        Self::MethodNotAllowed,
        Self::MalformedPathId,
        Self::InvalidHeaders,
        Self::InvalidToken,
        Self::InvalidKey,
        Self::Forbidden,
        Self::UserOnly,
        Self::NoUserIdentity,
        Self::NotAUserToken,
        Self::NotFound,
        Self::Validation,
        Self::InvalidCombination,
        Self::Duplicate,
        Self::MalformedJson,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
    ];

    /// `(HTTP status, Cloudflare code, default message)`.
    pub const fn row(self) -> (u16, u32, &'static str) {
        match self {
            Self::UnknownRoute => (404, 7000, "No route for that URI"),
            Self::MethodNotAllowed => (405, 7001, "Method not allowed"),
            Self::MalformedPathId => (
                400,
                7003,
                "Could not route to the requested path, perhaps your object identifier is invalid?",
            ),
            Self::InvalidHeaders => (400, 6003, "Invalid request headers"),
            Self::InvalidToken => (403, 9109, "Invalid access token"),
            Self::InvalidKey => (403, 9103, "Unknown X-Auth-Key or X-Auth-Email"),
            Self::Forbidden => (403, 10000, "Authentication error"),
            Self::UserOnly => (403, 9109, "Unauthorized to access requested resource"),
            Self::NoUserIdentity => (400, 9106, "Authentication failed"),
            Self::NotAUserToken => (403, 1000, "Invalid API Token"),
            Self::NotFound => (404, 1003, "Not found"),
            Self::Validation => (400, 1001, "Invalid request"),
            Self::InvalidCombination => (
                400,
                1006,
                "Invalid permission group and resource group combination",
            ),
            Self::Duplicate => (409, 1002, "Already exists"),
            Self::MalformedJson => (400, 6007, "Malformed JSON in request body"),
            Self::PayloadTooLarge => (413, 1001, "Request body is larger than 1 MiB"),
            Self::RateLimited => (
                429,
                971,
                "Please wait and consider throttling your request speed",
            ),
            Self::Internal => (500, 1000, "Internal server error"),
            Self::Unavailable => (503, 1000, "Service temporarily unavailable"),
        }
    }

    /// HTTP status.
    pub const fn status(self) -> u16 {
        self.row().0
    }

    /// Cloudflare code.
    pub const fn code(self) -> u32 {
        self.row().1
    }

    /// Default message.
    pub const fn default_message(self) -> &'static str {
        self.row().2
    }

    /// Whether an SDK retry could ever succeed. Permanent 409s and every 5xx except 503 are
    /// answered with `x-should-retry: false`, since the SDKs retry 409 and 5xx on every method.
    pub const fn retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable)
    }
}

/// A detail message's code: the entries of an error's `error_chain` (which header is wrong) and
/// the `messages` of some successes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detail {
    /// No `X-Auth-Email` header.
    MissingEmail,
    /// No `X-Auth-Key` header.
    MissingKey,
    /// An `X-Auth-Email` header that is not visible ASCII.
    MalformedEmail,
    /// An `X-Auth-Key` that is not 37 hex characters.
    MalformedKey,
    /// An `Authorization` header that is not `Bearer <token>`.
    MalformedAuthorization,
    /// `…/tokens/verify` succeeded.
    TokenValid,
    /// What an SSO verification attempt found (the text says it).
    SsoVerification,
}

impl Detail {
    /// Every detail, for tests and documentation.
    pub const ALL: [Detail; 7] = [
        Self::MissingEmail,
        Self::MissingKey,
        Self::MalformedEmail,
        Self::MalformedKey,
        Self::MalformedAuthorization,
        Self::TokenValid,
        Self::SsoVerification,
    ];

    /// `(Cloudflare code, default message)`.
    pub const fn row(self) -> (u32, &'static str) {
        match self {
            Self::MissingEmail => (6100, "Missing X-Auth-Email header"),
            Self::MissingKey => (6101, "Missing X-Auth-Key header"),
            Self::MalformedEmail => (6102, "Invalid format for X-Auth-Email header"),
            Self::MalformedKey => (6103, "Invalid format for X-Auth-Key header"),
            Self::MalformedAuthorization => (6111, "Invalid format for Authorization header"),
            Self::TokenValid => (10000, "This API Token is valid and active"),
            Self::SsoVerification => (1000, "SSO verification"),
        }
    }

    /// Cloudflare code.
    pub const fn code(self) -> u32 {
        self.row().0
    }

    /// Default message.
    pub const fn default_message(self) -> &'static str {
        self.row().1
    }

    /// The detail as a message with its default text.
    pub fn message(self) -> crate::Message {
        crate::Message::new(self.code(), self.default_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Freezes the detail codes, like the error catalog.
    #[test]
    fn detail_snapshot() {
        let rows: Vec<String> = Detail::ALL
            .iter()
            .map(|d| format!("{d:?} {} {}", d.code(), d.default_message()))
            .collect();
        assert_eq!(
            rows.join("\n"),
            "MissingEmail 6100 Missing X-Auth-Email header
MissingKey 6101 Missing X-Auth-Key header
MalformedEmail 6102 Invalid format for X-Auth-Email header
MalformedKey 6103 Invalid format for X-Auth-Key header
MalformedAuthorization 6111 Invalid format for Authorization header
TokenValid 10000 This API Token is valid and active
SsoVerification 1000 SSO verification"
        );
    }

    /// Freezes the catalog: a change here is a change of the public contract.
    #[test]
    fn catalog_snapshot() {
        let rows: Vec<String> = ErrorKind::ALL
            .iter()
            .map(|k| {
                let (s, c, _) = k.row();
                format!("{k:?} {s} {c}")
            })
            .collect();
        assert_eq!(
            rows.join("\n"),
            "UnknownRoute 404 7000
MethodNotAllowed 405 7001
MalformedPathId 400 7003
InvalidHeaders 400 6003
InvalidToken 403 9109
InvalidKey 403 9103
Forbidden 403 10000
UserOnly 403 9109
NoUserIdentity 400 9106
NotAUserToken 403 1000
NotFound 404 1003
Validation 400 1001
InvalidCombination 400 1006
Duplicate 409 1002
MalformedJson 400 6007
PayloadTooLarge 413 1001
RateLimited 429 971
Internal 500 1000
Unavailable 503 1000"
        );
    }
}
