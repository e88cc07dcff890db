//! The DNS boundary: what SSO verification needs from a resolver. The implementation (real DNS
//! over UDP/TCP) lives outside the core.

use async_trait::async_trait;

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist or has no TXT records: a definite "not there".
    #[error("no TXT records")]
    NoRecords,
    /// SERVFAIL, REFUSED, a timeout or no reachable server: try again later.
    #[error("DNS lookup failed: {0}")]
    Unavailable(String),
}

/// Looks up TXT records.
#[async_trait]
pub trait TxtResolver: Send + Sync {
    /// The TXT strings of `name` (each record's character-strings joined).
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}
