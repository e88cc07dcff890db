//! Secrets: generation, hashing and constant-time comparison. Values are never stored or logged;
//! only their SHA-256 hashes are kept.

use rand::{rngs::OsRng, Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A new API token value: 40 URL-safe characters (240 bits of entropy).
pub fn new_token_value() -> String {
    (0..40)
        .map(|_| char::from(TOKEN_ALPHABET[OsRng.gen_range(0..TOKEN_ALPHABET.len())]))
        .collect()
}

/// A new global API key: 37 lowercase hex characters, Cloudflare's format.
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 19];
    OsRng.fill_bytes(&mut bytes);
    let mut s = hex::encode(bytes);
    s.truncate(37);
    s
}

/// The stored form of a secret: hex SHA-256. Tokens and keys are high-entropy random values, so a
/// fast hash is enough (there is nothing to brute-force from a dictionary).
pub fn hash_secret(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Whether `value` hashes to `stored_hash`, compared in constant time.
pub fn verify_secret(value: &str, stored_hash: &str) -> bool {
    hash_secret(value)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Whether `value` looks like an API token (40 URL-safe characters).
pub fn is_token_format(value: &str) -> bool {
    value.len() == 40 && value.bytes().all(|b| TOKEN_ALPHABET.contains(&b))
}

/// Whether `value` looks like a global API key: lowercase hex, 32 to 37 characters. Keys
/// Portcullis makes have 37 (Cloudflare's format); keys given in a state file may have 32, the
/// shape of the key in Cloudflare's SDK examples and test suites.
pub fn is_api_key_format(value: &str) -> bool {
    (32..=37).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_hashes() {
        let t = new_token_value();
        assert!(is_token_format(&t));
        assert_ne!(t, new_token_value());
        let k = new_api_key();
        assert!(is_api_key_format(&k));
        let h = hash_secret(&t);
        assert!(verify_secret(&t, &h));
        assert!(!verify_secret(&k, &h));
        assert!(is_api_key_format("144c9defac04969c7bfad8efaa8ea194"));
        assert!(!is_api_key_format("144c9defac04969c7bfad8efaa8ea19"));
        assert!(!is_api_key_format("144C9DEFAC04969C7BFAD8EFAA8EA194"));
        assert!(!is_api_key_format(&format!("{k}0")));
    }
}
