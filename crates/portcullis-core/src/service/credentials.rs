//! The credential index: verified API tokens (by the SHA-256 of their value) and user keys (by
//! email), kept in memory so that authenticating a request reads no database on the hot path.
//!
//! It works like the policy index ([`super::index`]): every entry carries the
//! [`Stamp`](crate::changes::Stamp) read *before* loading and what it depends on (its token, and
//! all tokens), and is used only while none of those changed since. Every write that changes a
//! token (update, status, roll, delete) records [`Change::Token`](crate::changes::Change) for
//! it; one that changes many tokens or a user's key records `Tokens` or `Everything`, when it
//! commits, so a rolled or deleted token fails on the next request on the
//! process that made the change, and on other replicas as soon as the change is announced.
//! While the store is not live, nothing is cached or served from the cache.
//!
//! What is still decided per request, from the entry: status, `expires_on`, `not_before` and
//! the token's address conditions (they depend on the clock and the caller), and the key itself
//! (compared in constant time with the stored hash).
//!
//! Only credentials that verified are remembered: an unknown token hash or email is looked up
//! again every time, so garbage credentials cannot grow memory.
//!
//! `last_used_on` is written behind: a use is queued at most once per
//! [`TOUCH_INTERVAL_SECONDS`] per token and the queue is written in one transaction by
//! [`Portcullis::flush_token_uses`](crate::service::Portcullis::flush_token_uses) (every second
//! by the server, and once more when it stops).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::changes::{Dep, Revisions};
use crate::error::CoreResult;
use crate::ids::TokenId;
use crate::model::{ApiToken, User};
use crate::service::cache::{Budget, Map, Weigh};
use crate::time::Timestamp;

/// A token use is recorded at most once per this many seconds.
pub const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// A token that verified, with its owner when a user owns it.
#[derive(Debug)]
pub struct KnownToken {
    /// The token as stored.
    pub token: Arc<ApiToken>,
    /// The user that owns it (user tokens).
    pub user: Option<Arc<User>>,
}

/// A user whose key is set.
#[derive(Debug)]
pub struct KnownKey {
    /// The user.
    pub user: Arc<User>,
    /// SHA-256 of the key.
    pub key_hash: String,
}

/// Counters of the credential index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialStats {
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that read the store.
    pub misses: u64,
    /// Entries held.
    pub entries: usize,
    /// Bytes they hold (estimated).
    pub bytes: usize,
    /// The budget, in bytes.
    pub budget: usize,
    /// Entries evicted to stay within it, since start.
    pub evictions: u64,
    /// Lookups that found an entry made stale by a change, since start.
    pub invalidations: u64,
    /// Token uses waiting to be written.
    pub pending_uses: usize,
}

/// The index. One per application.
pub struct CredentialIndex {
    tokens: Map<String, Arc<KnownToken>>,
    keys: Map<String, Arc<KnownKey>>,
    budget: Arc<Budget>,
    uses: Uses,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Weigh for KnownToken {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.token.weight() + self.user.weight()
    }
}

impl Weigh for KnownKey {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.user.weight() + self.key_hash.weight()
    }
}

/// Distinct tokens whose last queued use is remembered (for the once-per-interval rule);
/// forgetting them costs one more queued use each.
const MAX_REMEMBERED_USES: usize = 100_000;

impl Default for CredentialIndex {
    fn default() -> Self {
        Self::new(Budget::new(crate::service::cache::DEFAULT_BUDGET_BYTES / 4))
    }
}

impl CredentialIndex {
    /// An empty index whose entries stay within `budget`.
    pub fn new(budget: Arc<Budget>) -> Self {
        Self {
            tokens: Map::new(Arc::clone(&budget), 70),
            keys: Map::new(Arc::clone(&budget), 30),
            budget,
            uses: Uses::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Forgets every verified token and key, and the token uses not yet written (they belong
    /// to a state that was just replaced).
    pub fn clear(&self) {
        self.tokens.clear();
        self.keys.clear();
        drop(self.take_uses());
    }

    /// Counters.
    pub fn stats(&self) -> CredentialStats {
        CredentialStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.tokens.len() + self.keys.len(),
            bytes: self.budget.used(),
            budget: self.budget.limit(),
            evictions: self.budget.evictions(),
            invalidations: self.budget.invalidations(),
            pending_uses: self.uses.pending_len(),
        }
    }

    /// The token whose value hashes to `hash`; `load` reads the store on a miss and answers
    /// `None` for an unknown hash (not remembered).
    pub async fn token<F, Fut>(
        &self,
        revisions: &Revisions,
        hash: &str,
        load: F,
    ) -> CoreResult<Option<Arc<KnownToken>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Option<KnownToken>>>,
    {
        let deps = |t: &KnownToken| vec![Dep::tokens(), Dep::token(&t.token.id)];
        self.lookup(&self.tokens, revisions, hash, load, deps).await
    }

    /// The user with this (lowercased) email and a key; `load` reads the store on a miss and
    /// answers `None` for an unknown email or a user without a key (not remembered).
    pub async fn key<F, Fut>(
        &self,
        revisions: &Revisions,
        email: &str,
        load: F,
    ) -> CoreResult<Option<Arc<KnownKey>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Option<KnownKey>>>,
    {
        let deps = |_: &KnownKey| vec![Dep::tokens()];
        self.lookup(&self.keys, revisions, email, load, deps).await
    }

    /// `key` in `map` while what it depends on (`deps`) is unchanged; otherwise `load`,
    /// remembering only what was found.
    async fn lookup<V: Weigh, F, Fut>(
        &self,
        map: &Map<String, Arc<V>>,
        revisions: &Revisions,
        key: &str,
        load: F,
        deps: impl FnOnce(&V) -> Vec<Dep>,
    ) -> CoreResult<Option<Arc<V>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Option<V>>>,
    {
        let stamp = revisions.stamp();
        let key = key.to_owned();
        if stamp.is_some() {
            if let Some(found) = map.get(&key, revisions) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(found));
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let Some(found) = load().await?.map(Arc::new) else {
            return Ok(None);
        };
        if let Some(stamp) = stamp {
            map.put(key, stamp, deps(&found), Arc::clone(&found));
        }
        Ok(Some(found))
    }

    /// Notes that `token` was used at `now`; queues a `last_used_on` write when the last one
    /// recorded (here or in the store) is older than [`TOUCH_INTERVAL_SECONDS`].
    pub fn used(&self, token: &ApiToken, now: Timestamp) {
        self.uses.note(token, now);
    }

    /// Takes the queued uses, to be written.
    pub(crate) fn take_uses(&self) -> Vec<(TokenId, Timestamp)> {
        self.uses.take()
    }
}

/// Token uses: when each token's use was last queued, and the queue.
#[derive(Default)]
struct Uses {
    inner: Mutex<UsesInner>,
}

#[derive(Default)]
struct UsesInner {
    last: HashMap<TokenId, Timestamp>,
    pending: HashMap<TokenId, Timestamp>,
}

impl Uses {
    fn note(&self, token: &ApiToken, now: Timestamp) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let last = inner.last.get(&token.id).copied().or(token.last_used_on);
        if last.is_some_and(|t| now < t.plus_seconds(TOUCH_INTERVAL_SECONDS)) {
            return;
        }
        if inner.last.len() >= MAX_REMEMBERED_USES {
            // Only cost of forgetting: one more write per token within the interval.
            inner.last.clear();
        }
        inner.last.insert(token.id.clone(), now);
        inner.pending.insert(token.id.clone(), now);
    }

    fn take(&self) -> Vec<(TokenId, Timestamp)> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.pending.drain().collect()
    }

    fn pending_len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Change;
    use crate::ids::UserId;
    use crate::model::{TokenCondition, TokenOwner, TokenState};

    fn token() -> ApiToken {
        let now = Timestamp::now();
        ApiToken {
            id: TokenId::random(),
            owner: TokenOwner::User(UserId::random()),
            name: "t".into(),
            state: TokenState::Active,
            issued_on: now,
            modified_on: now,
            last_used_on: None,
            not_before: None,
            expires_on: None,
            policies: Vec::new(),
            condition: TokenCondition::default(),
        }
    }

    /// Looks up token `t` twice under hash `h` (loading it on a miss); returns the index.
    async fn looked_up_twice(revisions: &Revisions, t: &ApiToken) -> CredentialIndex {
        let index = CredentialIndex::default();
        for _ in 0..2 {
            let load = || async {
                Ok(Some(KnownToken {
                    token: Arc::new(t.clone()),
                    user: None,
                }))
            };
            index.token(revisions, "h", load).await.ok();
        }
        index
    }

    #[tokio::test]
    async fn hits_until_a_token_changes_and_never_remembers_unknowns() {
        let revisions = Revisions::new(true);
        let t = token();
        let index = looked_up_twice(&revisions, &t).await;
        let load = || async {
            Ok(Some(KnownToken {
                token: Arc::new(t.clone()),
                user: None,
            }))
        };
        assert_eq!(index.stats().hits, 1);
        // Another token's write leaves it; its own invalidates it, and so does a write of all.
        revisions.record(&[Change::Token(TokenId::random())]);
        index.token(&revisions, "h", load).await.ok();
        assert_eq!(index.stats().misses, 1, "another token's write leaves it");
        revisions.record(&[Change::Token(t.id.clone())]);
        index.token(&revisions, "h", load).await.ok();
        assert_eq!(index.stats().misses, 2, "its own write invalidates");
        index.token(&revisions, "h", load).await.ok();
        revisions.record(&[Change::Tokens]);
        index.token(&revisions, "h", load).await.ok();
        assert_eq!(index.stats().misses, 3, "a write of all tokens invalidates");

        for _ in 0..3 {
            let none = index
                .token(&revisions, "unknown", || async { Ok(None) })
                .await
                .ok()
                .flatten();
            assert!(none.is_none());
        }
        assert_eq!(
            index.stats().entries,
            1,
            "unknown hashes are not remembered"
        );
    }

    #[tokio::test]
    async fn not_live_reads_every_time() {
        let revisions = Revisions::new(false);
        let index = looked_up_twice(&revisions, &token()).await;
        assert_eq!(index.stats().hits, 0);
        assert_eq!(index.stats().entries, 0);
    }

    #[test]
    fn uses_are_queued_once_per_interval() {
        let index = CredentialIndex::default();
        let t = token();
        let now = Timestamp::now();
        index.used(&t, now);
        index.used(&t, now.plus_seconds(1));
        assert_eq!(index.take_uses(), vec![(t.id.clone(), now)]);
        index.used(&t, now.plus_seconds(2));
        assert!(index.take_uses().is_empty(), "within the interval");
        let later = now.plus_seconds(TOUCH_INTERVAL_SECONDS);
        index.used(&t, later);
        assert_eq!(index.take_uses(), vec![(t.id.clone(), later)]);

        let mut recent = token();
        recent.last_used_on = Some(now);
        index.used(&recent, now.plus_seconds(5));
        assert!(
            index.take_uses().is_empty(),
            "a use the store already has counts"
        );
    }
}
