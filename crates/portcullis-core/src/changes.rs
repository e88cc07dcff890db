//! Change revisions: how caches learn that what they derived from the store is out of date.
//!
//! Every store write records, once it has committed, *what* it changed ([`Change`]): one
//! member's grants, status or group memberships; one user group's name or policies; one
//! resource group's scope; who the members of an account are (the roster); one API token; and,
//! for rare wholesale writes, a whole account, all tokens, or everything. A store whose data
//! other processes also write (PostgreSQL with several replicas) announces its changes to them
//! and records theirs as they arrive; while it cannot hear them, it is *not live* and caches must
//! not be used.
//!
//! Each change is given the next number of one sequence, and every [`Dep`] it touches remembers
//! that number. A cache entry remembers the [`Stamp`] (the sequence) read *before* its data was
//! loaded, and the [`Dep`]s it was computed from; it is valid while none of those has a change
//! numbered after its stamp ([`Revisions::unchanged`]). A write that commits during the load
//! therefore leaves the entry stale, never wrong, and a write elsewhere leaves it alone.
//!
//! Dependencies are kept as 64-bit fingerprints: two that collide only make a change invalidate
//! more than it must, never less. The table of last changes is bounded: when it grows past
//! [`MAX_TRACKED`] the older half is forgotten and entries loaded before the forgotten changes
//! count as stale (a *floor*), which is also how [`Change::Everything`] and reconnections work.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::ids::{AccountId, MemberId, ResourceGroupId, TokenId, UserGroupId};

/// How many dependencies' last changes are remembered before the older half is forgotten.
pub const MAX_TRACKED: usize = 1 << 16;

/// What a committed write changed, as far as caches are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Anything about one account (its deletion, or a write too wide to name its parts): every
    /// cached entry of the account is stale.
    Account(AccountId),
    /// Who the members of an account are (a member added or removed): what was cached about a
    /// user who was *not* a member is stale.
    Roster(AccountId),
    /// One member: grants, status, or the user groups it belongs to.
    Member(AccountId, MemberId),
    /// One user group: its name, policies or existence (not its members: see `Member`).
    Group(AccountId, UserGroupId),
    /// One resource group: its scope (objects) or name.
    ResourceGroup(AccountId, ResourceGroupId),
    /// One API token: its policies, status, conditions, value or existence.
    Token(TokenId),
    /// Every API token (and users' API keys).
    Tokens,
    /// Anything (notifications may have been lost): every cached entry is stale.
    Everything,
}

/// Something a cache entry was computed from, as a fingerprint (see the module's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dep(u64);

impl Dep {
    fn of(tag: u8, parts: &[&str]) -> Self {
        // SipHash with fixed keys: the same fingerprint for the same thing in every process.
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new();
        tag.hash(&mut h);
        for p in parts {
            p.hash(&mut h);
        }
        Self(h.finish())
    }

    /// Anything about `account`.
    pub fn account(account: &AccountId) -> Self {
        Self::of(b'a', &[account.as_str()])
    }

    /// Who the members of `account` are.
    pub fn roster(account: &AccountId) -> Self {
        Self::of(b'n', &[account.as_str()])
    }

    /// One member.
    pub fn member(account: &AccountId, member: &MemberId) -> Self {
        Self::of(b'm', &[account.as_str(), member.as_str()])
    }

    /// One user group.
    pub fn group(account: &AccountId, group: &UserGroupId) -> Self {
        Self::of(b'g', &[account.as_str(), group.as_str()])
    }

    /// One resource group.
    pub fn resource_group(account: &AccountId, group: &ResourceGroupId) -> Self {
        Self::of(b'r', &[account.as_str(), group.as_str()])
    }

    /// One API token.
    pub fn token(token: &TokenId) -> Self {
        Self::of(b'k', &[token.as_str()])
    }

    /// All API tokens and users' keys.
    pub fn tokens() -> Self {
        Self::of(b't', &[])
    }
}

impl Change {
    /// The dependency it touches (`None`: [`Change::Everything`], which touches all).
    pub fn dep(&self) -> Option<Dep> {
        Some(match self {
            Self::Account(a) => Dep::account(a),
            Self::Roster(a) => Dep::roster(a),
            Self::Member(a, m) => Dep::member(a, m),
            Self::Group(a, g) => Dep::group(a, g),
            Self::ResourceGroup(a, r) => Dep::resource_group(a, r),
            Self::Token(t) => Dep::token(t),
            Self::Tokens => Dep::tokens(),
            Self::Everything => return None,
        })
    }

    /// The same change, named wholesale: a whole account instead of one of its parts, all
    /// tokens instead of one.
    pub fn coarse(&self) -> Self {
        match self {
            Self::Roster(a)
            | Self::Member(a, _)
            | Self::Group(a, _)
            | Self::ResourceGroup(a, _) => Self::Account(a.clone()),
            Self::Token(_) => Self::Tokens,
            other => other.clone(),
        }
    }

    /// A short text form, for notifications between processes: `a:<account>`, `n:<account>`,
    /// `m:<account>:<member>`, `g:<account>:<user group>`, `r:<account>:<resource group>`,
    /// `k:<token>`, `t`, `*`.
    pub fn encode(&self) -> String {
        match self {
            Self::Account(a) => format!("a:{a}"),
            Self::Roster(a) => format!("n:{a}"),
            Self::Member(a, m) => format!("m:{a}:{m}"),
            Self::Group(a, g) => format!("g:{a}:{g}"),
            Self::ResourceGroup(a, r) => format!("r:{a}:{r}"),
            Self::Token(t) => format!("k:{t}"),
            Self::Tokens => "t".into(),
            Self::Everything => "*".into(),
        }
    }

    /// Reads [`Change::encode`]'s form; anything unknown is [`Change::Everything`], so a newer
    /// replica's announcement can only make an older one drop more, never less.
    pub fn decode(s: &str) -> Self {
        Self::try_decode(s).unwrap_or(Self::Everything)
    }

    fn try_decode(s: &str) -> Option<Self> {
        if s == "t" {
            return Some(Self::Tokens);
        }
        let (tag, rest) = s.split_once(':')?;
        let two = || {
            let (a, b) = rest.split_once(':')?;
            Some((AccountId::parse(a)?, b))
        };
        Some(match tag {
            "a" => Self::Account(AccountId::parse(rest)?),
            "n" => Self::Roster(AccountId::parse(rest)?),
            "k" => Self::Token(TokenId::parse(rest)?),
            "m" => {
                let (a, m) = two()?;
                Self::Member(a, MemberId::parse(m)?)
            }
            "g" => {
                let (a, g) = two()?;
                Self::Group(a, UserGroupId::parse(g)?)
            }
            "r" => {
                let (a, r) = two()?;
                Self::ResourceGroup(a, ResourceGroupId::parse(r)?)
            }
            _ => return None,
        })
    }
}

/// The point in the sequence of changes at which a cache entry's data was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(u64);

/// A hasher for [`Dep`]s, which are hashes already.
#[derive(Default)]
pub struct DepHasher(u64);

impl Hasher for DepHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The current revisions, kept in memory by each store (no query reads them).
#[derive(Debug)]
pub struct Revisions {
    /// The number of the last change.
    seq: AtomicU64,
    /// Entries read before this point are stale ([`Change::Everything`], a change of liveness,
    /// or forgotten changes).
    floor: AtomicU64,
    /// The number of the last change of each dependency (at most [`MAX_TRACKED`]).
    last: RwLock<HashMap<Dep, u64, BuildHasherDefault<DepHasher>>>,
    live: AtomicBool,
}

impl Revisions {
    /// Revisions of a store that hears every change to its data from the start (`live`), or
    /// of one that must first connect to hear other processes' changes.
    pub fn new(live: bool) -> Self {
        Self {
            seq: AtomicU64::new(0),
            floor: AtomicU64::new(0),
            last: RwLock::default(),
            live: AtomicBool::new(live),
        }
    }

    /// The stamp to give what is about to be read; `None` while not live (do not cache).
    pub fn stamp(&self) -> Option<Stamp> {
        if !self.is_live() {
            return None;
        }
        Some(Stamp(self.seq.load(Ordering::Acquire)))
    }

    /// Whether data read after `at` and computed from `deps` is still current: no change to any
    /// of them was recorded after `at`.
    pub fn unchanged(&self, at: Stamp, deps: &[Dep]) -> bool {
        if at.0 < self.floor.load(Ordering::Acquire) || !self.is_live() {
            return false;
        }
        let last = self.last.read().unwrap_or_else(PoisonError::into_inner);
        deps.iter()
            .all(|d| last.get(d).is_none_or(|&changed| changed <= at.0))
    }

    /// Whether `dep` changed after `at` (for tests and diagnostics; also true when that can no
    /// longer be told).
    pub fn changed_since(&self, at: Stamp, dep: Dep) -> bool {
        !self.unchanged(at, &[dep])
    }

    /// Records committed changes (one number for all of them).
    pub fn record(&self, changes: &[Change]) {
        let mut last = self.last.write().unwrap_or_else(PoisonError::into_inner);
        let n = self.seq.load(Ordering::Acquire) + 1;
        for change in changes {
            match change.dep() {
                Some(dep) => {
                    last.insert(dep, n);
                }
                None => self.floor.store(n, Ordering::Release),
            }
        }
        if last.len() > MAX_TRACKED {
            // Forget the older half; what was read before the newest forgotten change is stale.
            let mut numbers: Vec<u64> = last.values().copied().collect();
            let mid = numbers.len() / 2;
            let (_, &mut threshold, _) = numbers.select_nth_unstable(mid);
            last.retain(|_, changed| *changed > threshold);
            self.floor.fetch_max(threshold, Ordering::AcqRel);
        }
        self.seq.store(n, Ordering::Release);
    }

    /// Whether changes made elsewhere are being heard (caches may be used).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Marks the store as hearing (or no longer hearing) other processes' changes. Either way
    /// everything cached before is stale: changes may have been missed in between.
    pub fn set_live(&self, live: bool) {
        self.record(&[Change::Everything]);
        self.live.store(live, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(r: &Revisions) -> Stamp {
        r.stamp().unwrap_or_else(|| unreachable!("live"))
    }

    #[test]
    fn encoding_round_trips_and_unknown_means_everything() {
        let a = AccountId::random();
        for c in [
            Change::Account(a.clone()),
            Change::Roster(a.clone()),
            Change::Member(a.clone(), MemberId::random()),
            Change::Group(a.clone(), UserGroupId::random()),
            Change::ResourceGroup(a.clone(), ResourceGroupId::random()),
            Change::Token(TokenId::random()),
            Change::Tokens,
            Change::Everything,
        ] {
            assert_eq!(Change::decode(&c.encode()), c);
        }
        for unknown in [
            "a:nope",
            "x:1",
            "m:",
            &format!("m:{a}"),
            &format!("g:{a}:x"),
        ] {
            assert_eq!(Change::decode(unknown), Change::Everything, "{unknown}");
        }
    }

    #[test]
    fn a_change_stales_what_depends_on_it_and_nothing_else() {
        let r = Revisions::new(true);
        let (a, b) = (AccountId::random(), AccountId::random());
        let (m1, m2) = (MemberId::random(), MemberId::random());
        let g = UserGroupId::random();
        let s = stamp(&r);
        let member1 = [Dep::account(&a), Dep::member(&a, &m1)];
        let member2 = [Dep::account(&a), Dep::member(&a, &m2)];
        let group = [Dep::account(&a), Dep::group(&a, &g)];
        r.record(&[Change::Member(a.clone(), m1.clone())]);
        assert!(!r.unchanged(s, &member1), "m1 changed");
        assert!(r.unchanged(s, &member2), "m2 did not");
        assert!(r.unchanged(s, &group), "the group did not");
        // Read after the change: current.
        let s2 = stamp(&r);
        assert!(r.unchanged(s2, &member1));
        r.record(&[Change::Group(a.clone(), g.clone())]);
        assert!(!r.unchanged(s2, &group));
        assert!(r.unchanged(s2, &member1));
        // A whole account stales all its entries, not another account's.
        let s3 = stamp(&r);
        let other = [Dep::account(&b), Dep::member(&b, &m1)];
        r.record(&[Change::Account(a.clone())]);
        assert!(!r.unchanged(s3, &member2));
        assert!(r.unchanged(s3, &other));
        // Everything stales everything read before it.
        let s4 = stamp(&r);
        r.record(&[Change::Everything]);
        assert!(!r.unchanged(s4, &other));
        assert!(r.unchanged(stamp(&r), &other));
    }

    #[test]
    fn forgetting_old_changes_stales_only_what_is_older() {
        let r = Revisions::new(true);
        let a = AccountId::random();
        let old = stamp(&r);
        let kept = [Dep::account(&a)];
        for _ in 0..=MAX_TRACKED {
            r.record(&[Change::Member(a.clone(), MemberId::random())]);
        }
        let tracked = r.last.read().map(|l| l.len()).unwrap_or(0);
        assert!(tracked <= MAX_TRACKED, "{tracked}");
        assert!(!r.unchanged(old, &kept), "read before forgotten changes");
        let recent = stamp(&r);
        r.record(&[Change::Member(a.clone(), MemberId::random())]);
        assert!(r.unchanged(recent, &kept), "read after them");
    }

    #[test]
    fn not_live_means_no_stamps_and_coming_back_invalidates() {
        let r = Revisions::new(false);
        let a = AccountId::random();
        assert_eq!(r.stamp(), None);
        r.set_live(true);
        let s = stamp(&r);
        assert!(r.unchanged(s, &[Dep::account(&a)]));
        r.set_live(false);
        assert!(!r.unchanged(s, &[Dep::account(&a)]), "not live");
        r.set_live(true);
        assert!(
            !r.unchanged(s, &[Dep::account(&a)]),
            "a reconnection invalidates"
        );
    }
}
