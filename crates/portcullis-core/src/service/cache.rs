//! The stamped maps the policy and credential indexes keep, under a memory budget.
//!
//! An entry remembers the [`Stamp`] read before its data was and the [`Dep`]s it was computed
//! from, and is served only while none of those changed since (see [`crate::changes`]). Each entry is weighed (an estimate of the
//! bytes it holds, key included). Each map has a fixed share of its index's [`Budget`]; when an
//! insert takes a map over its share, its least recently used entries are evicted until it is
//! an eighth under, so eviction runs rarely and a full map keeps serving its hot entries
//! (instead of starting cold, as emptying it would). Fixed shares keep one map's growth from
//! evicting another map's hot entries.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::changes::{Dep, Revisions, Stamp};

/// The default budget of the caches of one process.
pub const DEFAULT_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// Roughly the bytes a value holds in memory (heap included), for the budget.
pub trait Weigh {
    /// The estimate.
    fn weight(&self) -> usize;
}

impl Weigh for String {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.capacity()
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.as_ref().map_or(0, Weigh::weight)
    }
}

impl<T: Weigh> Weigh for Arc<T> {
    fn weight(&self) -> usize {
        // Counted whole in every map that holds it: an overestimate, never an underestimate.
        std::mem::size_of::<Self>() + 2 * std::mem::size_of::<usize>() + T::weight(self)
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn weight(&self) -> usize {
        self.0.weight() + self.1.weight()
    }
}

impl Weigh for crate::model::User {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.id.as_str().len()
            + self.email.len()
            + self.first_name.as_ref().map_or(0, String::len)
            + self.last_name.as_ref().map_or(0, String::len)
    }
}

impl Weigh for crate::model::ApiToken {
    fn weight(&self) -> usize {
        let policies: usize = self
            .policies
            .iter()
            .map(|p| {
                std::mem::size_of_val(p)
                    + p.id.as_str().len()
                    + p.permission_groups.iter().map(|g| g.len() + 24).sum::<usize>()
                    // A resource entry: its key, a value, the map's node.
                    + p.resources.keys().map(|k| k.len() + 96).sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Self>()
            + 2 * 32
            + self.name.len()
            + policies
            + (self.condition.request_ip_in.len() + self.condition.request_ip_not_in.len()) * 24
    }
}

/// The memory all caches of a process may use, and what they use.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: AtomicUsize,
    evictions: AtomicU64,
    invalidations: AtomicU64,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
            evictions: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        })
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held now (estimated).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Entries evicted since start.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Lookups that found an entry a change had made stale, since start.
    pub fn invalidations(&self) -> u64 {
        self.invalidations.load(Ordering::Relaxed)
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            limit: DEFAULT_BUDGET_BYTES,
            used: AtomicUsize::new(0),
            evictions: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        }
    }
}

struct Entry<V> {
    at: Stamp,
    deps: Box<[Dep]>,
    value: V,
    weight: usize,
    /// The map's clock when the entry was last read or written.
    used: AtomicU64,
}

/// A map of stamped entries under a share of a [`Budget`].
pub(crate) struct Map<K, V> {
    entries: RwLock<HashMap<K, Entry<V>>>,
    budget: Arc<Budget>,
    /// This map's share of the budget, in bytes.
    limit: usize,
    /// Bytes this map holds.
    bytes: AtomicUsize,
    clock: AtomicU64,
}

/// Per-entry bookkeeping beyond key and value (hash table slot, stamp, counters).
const OVERHEAD: usize = 64;

impl<K: Eq + Hash + Clone + Weigh, V: Clone + Weigh> Map<K, V> {
    /// A map that may hold `percent` % of `budget`.
    pub(crate) fn new(budget: Arc<Budget>, percent: usize) -> Self {
        Self {
            limit: budget.limit / 100 * percent,
            entries: RwLock::new(HashMap::new()),
            budget,
            bytes: AtomicUsize::new(0),
            clock: AtomicU64::new(0),
        }
    }

    fn add(&self, weight: usize) -> usize {
        self.budget.used.fetch_add(weight, Ordering::Relaxed);
        self.bytes.fetch_add(weight, Ordering::Relaxed) + weight
    }

    fn sub(&self, weight: usize) {
        self.budget.used.fetch_sub(weight, Ordering::Relaxed);
        self.bytes.fetch_sub(weight, Ordering::Relaxed);
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// The value stored under `key`, while what it was computed from is unchanged.
    pub(crate) fn get(&self, key: &K, revisions: &Revisions) -> Option<V> {
        let map = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let e = map.get(key)?;
        if !revisions.unchanged(e.at, &e.deps) {
            // Stale: the caller reads the store and puts the new value in its place.
            self.budget.invalidations.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        e.used.store(self.tick(), Ordering::Relaxed);
        Some(e.value.clone())
    }

    /// Stores `value`, computed from `deps` as read after `at`; evicts the least recently used
    /// entries when the budget is exceeded.
    pub(crate) fn put(&self, key: K, at: Stamp, deps: Vec<Dep>, value: V) {
        let deps = deps.into_boxed_slice();
        let weight = key.weight() + value.weight() + std::mem::size_of_val(&*deps) + OVERHEAD;
        let mut map = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let entry = Entry {
            at,
            deps,
            value,
            weight,
            used: AtomicU64::new(self.tick()),
        };
        if let Some(old) = map.insert(key, entry) {
            self.sub(old.weight);
        }
        if self.add(weight) > self.limit {
            self.evict(&mut map);
        }
    }

    /// Removes the least recently used entries until this map is an eighth under its share.
    fn evict(&self, map: &mut HashMap<K, Entry<V>>) {
        let target = self.limit - self.limit / 8;
        let mut by_age: Vec<(u64, K)> = map
            .iter()
            .map(|(k, e)| (e.used.load(Ordering::Relaxed), k.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in by_age {
            if self.bytes.load(Ordering::Relaxed) <= target {
                break;
            }
            if let Some(e) = map.remove(&key) {
                self.sub(e.weight);
                self.budget.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Drops every entry (their bytes go back to the budget).
    pub(crate) fn clear(&self) {
        let mut map = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        for (_, e) in map.drain() {
            self.sub(e.weight);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<K, V> Drop for Map<K, V> {
    fn drop(&mut self) {
        let map = self
            .entries
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let weight: usize = map.values().map(|e| e.weight).sum();
        self.budget.used.fetch_sub(weight, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(revisions: &Revisions) -> Stamp {
        let stamp = revisions.stamp();
        assert!(stamp.is_some(), "a live store has stamps");
        stamp.unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn a_full_map_evicts_the_least_recently_used_and_keeps_the_hot() {
        let key = |i: usize| {
            let mut k = String::with_capacity(4);
            k.push_str(&format!("k{i:03}"));
            k
        };
        let per = key(0).weight() + "v".repeat(100).weight() + OVERHEAD;
        let budget = Budget::new(per * 10 * 100);
        let map: Map<String, String> = Map::new(Arc::clone(&budget), 1);
        let r = Revisions::new(true);
        let s = stamp(&r);
        for i in 0..10 {
            map.put(key(i), s, Vec::new(), "v".repeat(100));
        }
        assert_eq!(map.len(), 10);
        assert_eq!(budget.evictions(), 0);
        // k000 is read again: the oldest is now k001.
        assert!(map.get(&"k000".to_owned(), &r).is_some());
        map.put(key(10), s, Vec::new(), "v".repeat(100));
        assert!(
            budget.used() <= budget.limit(),
            "{} > {}",
            budget.used(),
            budget.limit()
        );
        assert!(budget.evictions() >= 1);
        assert!(
            map.get(&"k000".to_owned(), &r).is_some(),
            "the hot entry stays"
        );
        assert!(
            map.get(&"k001".to_owned(), &r).is_none(),
            "the coldest goes"
        );
        assert!(
            map.get(&"k010".to_owned(), &r).is_some(),
            "the new one is kept"
        );
    }

    #[test]
    fn replacing_and_dropping_keep_the_count_true() {
        let budget = Budget::new(1 << 20);
        let s = stamp(&Revisions::new(true));
        {
            let map: Map<String, String> = Map::new(Arc::clone(&budget), 100);
            map.put("a".into(), s, Vec::new(), "x".repeat(10));
            let once = budget.used();
            map.put("a".into(), s, Vec::new(), "x".repeat(10));
            assert_eq!(budget.used(), once, "a replaced entry is not counted twice");
        }
        assert_eq!(budget.used(), 0, "a dropped map gives its bytes back");
    }
}
