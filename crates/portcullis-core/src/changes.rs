//! Change revisions: how caches learn that what they derived from the store is out of date.
//!
//! Every store write that changes what an effective policy is computed from (members and their
//! grants, user groups, group membership, resource groups) records [`Change::Account`] for its
//! account once it has committed; writes to API tokens record [`Change::Tokens`]. A store whose
//! data other processes also write (PostgreSQL with several replicas) announces its changes to
//! them and records theirs as they arrive; while it cannot hear them, it is *not live* and caches
//! must not be used.
//!
//! A cache entry remembers the [`Stamp`] read before its data was loaded and is valid while the
//! current stamp is still equal: a write that commits during the load leaves the entry stale,
//! never wrong.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::ids::AccountId;

/// What a committed write changed, as far as caches are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Members, their grants, user groups, group membership or resource groups of one account:
    /// everything a member's effective policies are computed from.
    Account(AccountId),
    /// API tokens: their policies, status, conditions, values or existence.
    Tokens,
    /// Anything (notifications may have been lost): every cached entry is stale.
    Everything,
}

impl Change {
    /// A short text form, for notifications between processes: `a:<account id>`, `t`, `*`.
    pub fn encode(&self) -> String {
        match self {
            Self::Account(a) => format!("a:{a}"),
            Self::Tokens => "t".into(),
            Self::Everything => "*".into(),
        }
    }

    /// Reads [`Change::encode`]'s form; anything unknown is [`Change::Everything`], so a newer
    /// replica's announcement can only make an older one drop more, never less.
    pub fn decode(s: &str) -> Self {
        match s {
            "t" => Self::Tokens,
            _ => match s.strip_prefix("a:").and_then(AccountId::parse) {
                Some(a) => Self::Account(a),
                None => Self::Everything,
            },
        }
    }
}

/// A point in the change history of one thing (an account's policies, or the tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    epoch: u64,
    revision: u64,
}

/// The current revisions, kept in memory by each store (no query reads them).
#[derive(Debug)]
pub struct Revisions {
    /// Bumped by [`Change::Everything`] and by every change of liveness.
    epoch: AtomicU64,
    tokens: AtomicU64,
    accounts: RwLock<HashMap<AccountId, u64>>,
    live: AtomicBool,
}

impl Revisions {
    /// Revisions of a store that hears every change to its data from the start (`live`), or
    /// of one that must first connect to hear other processes' changes.
    pub fn new(live: bool) -> Self {
        Self {
            epoch: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            accounts: RwLock::new(HashMap::new()),
            live: AtomicBool::new(live),
        }
    }

    /// The stamp of an account's policies; `None` while not live (do not cache).
    pub fn account(&self, account: &AccountId) -> Option<Stamp> {
        if !self.is_live() {
            return None;
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let revision = self
            .accounts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)
            .copied()
            .unwrap_or(0);
        Some(Stamp { epoch, revision })
    }

    /// The stamp of the tokens; `None` while not live (do not cache).
    pub fn tokens(&self) -> Option<Stamp> {
        if !self.is_live() {
            return None;
        }
        Some(Stamp {
            epoch: self.epoch.load(Ordering::Acquire),
            revision: self.tokens.load(Ordering::Acquire),
        })
    }

    /// Records a committed change.
    pub fn record(&self, change: &Change) {
        match change {
            Change::Account(a) => {
                *self
                    .accounts
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(a.clone())
                    .or_insert(0) += 1;
            }
            Change::Tokens => {
                self.tokens.fetch_add(1, Ordering::AcqRel);
            }
            Change::Everything => {
                self.epoch.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Whether changes made elsewhere are being heard (caches may be used).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Marks the store as hearing (or no longer hearing) other processes' changes. Either way
    /// everything cached before is stale: changes may have been missed in between.
    pub fn set_live(&self, live: bool) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_unknown_means_everything() {
        let a = AccountId::random();
        for c in [
            Change::Account(a.clone()),
            Change::Tokens,
            Change::Everything,
        ] {
            assert_eq!(Change::decode(&c.encode()), c);
        }
        assert_eq!(Change::decode("a:nope"), Change::Everything);
        assert_eq!(Change::decode("x:1"), Change::Everything);
    }

    #[test]
    fn stamps_move_with_changes() {
        let r = Revisions::new(true);
        let (a, b) = (AccountId::random(), AccountId::random());
        let (sa, sb, st) = (r.account(&a), r.account(&b), r.tokens());
        r.record(&Change::Account(a.clone()));
        assert_ne!(r.account(&a), sa, "a changed");
        assert_eq!(r.account(&b), sb, "b did not");
        assert_eq!(r.tokens(), st, "tokens did not");
        r.record(&Change::Tokens);
        assert_ne!(r.tokens(), st);
        let sb = r.account(&b);
        r.record(&Change::Everything);
        assert_ne!(r.account(&b), sb, "everything changed");
    }

    #[test]
    fn not_live_means_no_stamps_and_coming_back_invalidates() {
        let r = Revisions::new(false);
        let a = AccountId::random();
        assert_eq!(r.account(&a), None);
        assert_eq!(r.tokens(), None);
        r.set_live(true);
        let s = r.account(&a);
        assert!(s.is_some());
        r.set_live(false);
        r.set_live(true);
        assert_ne!(r.account(&a), s, "a reconnection invalidates");
    }
}
