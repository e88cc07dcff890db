//! Identifiers: 32 lowercase hex characters from a CSPRNG, parsed once at the edge.

use std::fmt;

use rand::RngCore;

/// Whether `s` is 32 lowercase hex characters.
pub fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// 16 random bytes from the OS CSPRNG, as 32 lowercase hex characters.
pub fn random_hex_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl crate::service::cache::Weigh for $name {
            fn weight(&self) -> usize {
                std::mem::size_of::<Self>() + self.0.capacity()
            }
        }

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(random_hex_id())
            }

            /// Parses 32 lowercase hex characters.
            pub fn parse(s: &str) -> Option<Self> {
                is_id(s).then(|| Self(s.to_owned()))
            }

            /// Wraps a value read back from storage, where it was written by `random`/`parse`.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An account.
    AccountId
);
id_type!(
    /// A user (global, across accounts).
    UserId
);
id_type!(
    /// An account membership.
    MemberId
);
id_type!(
    /// An API token.
    TokenId
);
id_type!(
    /// A member, user-group or token policy.
    PolicyId
);
id_type!(
    /// A resource group.
    ResourceGroupId
);
id_type!(
    /// A user group.
    UserGroupId
);
id_type!(
    /// An SSO connector.
    SsoConnectorId
);
id_type!(
    /// An OAuth client (its `client_id`).
    OAuthClientId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id = AccountId::random();
        assert!(is_id(id.as_str()));
        assert_ne!(id, AccountId::random());
        assert!(AccountId::parse("023e105f4ecef8ad9ca31a8372d0c353").is_some());
        assert!(AccountId::parse("023E105F4ECEF8AD9CA31A8372D0C353").is_none());
        assert!(AccountId::parse("023e105f4ecef8ad9ca31a8372d0c35").is_none());
        assert!(AccountId::parse("zz3e105f4ecef8ad9ca31a8372d0c353").is_none());
    }
}
