//! The policy index: members' and tokens' effective policies, compiled for the engine and kept
//! in memory, so a decision reads no database on the hot path.
//!
//! What is cached, and what each entry depends on (see [`crate::changes`]):
//!
//! - a member (under its user and its member id): the membership, its own policies or roles
//!   compiled, and the *ids* of its user groups; it depends on the member (grants, status, group
//!   memberships), the resource groups its own policies use, and its account as a whole;
//! - a user group's compiled part, shared by every member of the group; it depends on the group
//!   (name, policies), the resource groups its policies use, and its account as a whole;
//! - an absent member (`None`): on who the account's members are (the roster);
//! - a token's policies in an account: on the token and on all tokens.
//!
//! A member's layer is assembled per decision from its own parts and its groups' current parts,
//! so a change to a group's policies recompiles that group once and leaves its members' entries
//! alone, and a membership change reloads only that member.
//!
//! Every entry carries the [`Stamp`] read *before* loading, so a write that commits during the
//! load leaves the entry stale, never wrong. Stores record every committed change (and, with
//! PostgreSQL, the changes other replicas announce). While a store cannot hear other replicas
//! (not live), nothing is cached or served from the cache. Unknown tokens are not cached
//! (creating a token records no change). The maps share a memory [`Budget`]; when it is
//! exceeded the least recently used entries go ([`super::cache`]).

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::changes::{Dep, Revisions, Stamp};
use crate::error::CoreResult;
use crate::ids::{AccountId, MemberId, TokenId, UserGroupId, UserId};
use crate::model::{ApiToken, Member};
use crate::service::authorize::EffectivePolicy;
use crate::service::cache::{Budget, Map, Weigh};
use crate::time::Timestamp;

/// Whose policies a layer holds (for reasons in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// A member's (own, roles, user groups).
    Member,
    /// A token's.
    Token,
}

/// Policies compiled for the engine, with their provenance: a member's own (or its roles'), one
/// user group's, or a token's. A user group's part is shared by every member of the group
/// ([`PolicyIndex::group_part`]), so memory grows with groups and memberships, not with
/// members × policies.
#[derive(Debug)]
pub struct Part {
    /// With their provenance.
    pub policies: Vec<EffectivePolicy>,
    /// Compiled for the engine (same order).
    pub engine: Vec<portcullis_authz::Policy>,
    /// A user group's part: the group's name (lowercased) and id, the order of a member's
    /// groups in its layer.
    pub group: Option<(String, UserGroupId)>,
}

impl Part {
    /// Compiles `policies`.
    pub fn new(policies: Vec<EffectivePolicy>) -> Self {
        let engine = policies.iter().map(EffectivePolicy::engine).collect();
        Self {
            policies,
            engine,
            group: None,
        }
    }

    /// Compiles the policies of user group `id`, named `name`.
    pub fn of_group(id: UserGroupId, name: &str, policies: Vec<EffectivePolicy>) -> Self {
        Self {
            group: Some((name.to_lowercase(), id)),
            ..Self::new(policies)
        }
    }
}

/// One set of policies that must allow a request: the union of its parts (in order), decided
/// with default deny and deny-overrides as if they were one list.
#[derive(Debug)]
pub struct Layer {
    /// Whose.
    pub kind: LayerKind,
    parts: Vec<Arc<Part>>,
}

impl Layer {
    /// One part made of `policies`.
    pub fn new(kind: LayerKind, policies: Vec<EffectivePolicy>) -> Self {
        Self::of_parts(kind, vec![Arc::new(Part::new(policies))])
    }

    /// The union of `parts`.
    pub fn of_parts(kind: LayerKind, parts: Vec<Arc<Part>>) -> Self {
        Self { kind, parts }
    }

    /// Every policy, in order.
    pub fn policies(&self) -> impl Iterator<Item = &EffectivePolicy> {
        self.parts.iter().flat_map(|p| p.policies.iter())
    }

    /// The policy at position `i` of [`Layer::policies`].
    pub fn policy(&self, mut i: usize) -> Option<&EffectivePolicy> {
        for part in &self.parts {
            match part.policies.get(i) {
                Some(p) => return Some(p),
                None => i -= part.policies.len(),
            }
        }
        None
    }

    /// The engine's verdict over all the parts as one list (positions as in
    /// [`Layer::policies`]).
    pub fn decide(&self, permission: &str, resource: &str) -> portcullis_authz::Verdict {
        use portcullis_authz::{decide_at, Reason};
        let (mut allows, mut denies) = (Vec::new(), Vec::new());
        let mut offset = 0;
        for part in &self.parts {
            let v = decide_at(&part.engine, permission, resource);
            let at = v.decided_by.iter().map(|i| i + offset);
            match v.reason {
                Reason::ExplicitDeny => denies.extend(at),
                Reason::Allowed => allows.extend(at),
                Reason::NoMatchingPolicy => {}
            }
            offset += part.engine.len();
        }
        portcullis_authz::verdict(allows, denies)
    }
}

/// A member with their own policies compiled and the user groups they belong to.
#[derive(Debug)]
pub struct MemberView {
    /// The membership (status matters: only accepted members hold permissions).
    pub member: Member,
    /// Own policies, or one shared part per role.
    pub own: Vec<Arc<Part>>,
    /// The user groups the member belongs to; their parts are looked up per decision
    /// ([`PolicyIndex::group_part`]).
    pub groups: Vec<UserGroupId>,
}

/// What a loader read, and the changes that make it stale beyond the key's own (the resource
/// groups its policies use).
pub type Loaded<V> = (V, Vec<Dep>);

/// A token with its policies inside one account.
#[derive(Debug)]
pub struct TokenView {
    /// The token as loaded.
    pub token: ApiToken,
    /// Its policies.
    pub layer: Arc<Layer>,
}

impl Weigh for Part {
    fn weight(&self) -> usize {
        let group = self
            .group
            .as_ref()
            .map_or(0, |(n, id)| n.len() + id.weight());
        let strings = |v: &[String]| v.iter().map(|s| s.len() + 24).sum::<usize>();
        let pairs =
            |v: &[(String, String)]| v.iter().map(|(a, b)| a.len() + b.len() + 48).sum::<usize>();
        let policies: usize = self
            .policies
            .iter()
            .map(|p| {
                std::mem::size_of::<EffectivePolicy>()
                    + p.id.len()
                    + pairs(&p.permission_groups)
                    + pairs(&p.resource_groups)
                    // The strings again, as the engine's patterns.
                    + 2 * (strings(&p.permissions) + strings(&p.resources))
                    + std::mem::size_of::<portcullis_authz::Policy>()
            })
            .sum();
        std::mem::size_of::<Self>() + group + policies
    }
}

/// Parts, of which one shared with others (a role's) costs its pointer: it is weighed once.
fn weigh_parts(parts: &[Arc<Part>]) -> usize {
    parts
        .iter()
        .map(|p| {
            std::mem::size_of::<Arc<Part>>()
                + if Arc::strong_count(p) == 1 {
                    p.weight()
                } else {
                    0
                }
        })
        .sum()
}

impl Weigh for Layer {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + weigh_parts(&self.parts)
    }
}

impl Weigh for MemberView {
    fn weight(&self) -> usize {
        let m = &self.member;
        std::mem::size_of::<Self>()
            + m.user.email.len()
            + m.user.first_name.as_ref().map_or(0, String::len)
            + m.user.last_name.as_ref().map_or(0, String::len)
            + 4 * 32
            + weigh_parts(&self.own)
            + self.groups.iter().map(Weigh::weight).sum::<usize>()
    }
}

impl Weigh for TokenView {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.token.weight() + self.layer.weight()
    }
}

type MemberEntry = Option<Arc<MemberView>>;

/// The index. One per application; shared by every request.
pub struct PolicyIndex {
    by_user: Map<(AccountId, UserId), MemberEntry>,
    by_member: Map<(AccountId, MemberId), MemberEntry>,
    tokens: Map<(AccountId, TokenId), Option<Arc<TokenView>>>,
    /// Compiled user-group parts, shared by the members' layers.
    groups: Map<(AccountId, UserGroupId), Arc<Part>>,
    /// Compiled roles (from the catalog, which does not change while the process runs): one
    /// part per role, shared by every member holding it. As many entries as the catalog has
    /// roles.
    roles: std::sync::RwLock<std::collections::HashMap<String, Arc<Part>>>,
    budget: Arc<Budget>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counters of the index, for benchmarks and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that loaded from the store.
    pub misses: u64,
    /// Entries held (all maps).
    pub entries: usize,
    /// Bytes they hold (estimated).
    pub bytes: usize,
    /// The budget, in bytes.
    pub budget: usize,
    /// Entries evicted to stay within it, since start.
    pub evictions: u64,
    /// Lookups that found an entry made stale by a change, since start.
    pub invalidations: u64,
}

impl Default for PolicyIndex {
    fn default() -> Self {
        Self::new(Budget::new(crate::service::cache::DEFAULT_BUDGET_BYTES))
    }
}

impl PolicyIndex {
    /// An empty index whose entries stay within `budget`.
    pub fn new(budget: Arc<Budget>) -> Self {
        Self {
            // Every member is held under both keys; groups' parts are shared by their members.
            by_user: Map::new(Arc::clone(&budget), 30),
            by_member: Map::new(Arc::clone(&budget), 30),
            tokens: Map::new(Arc::clone(&budget), 20),
            groups: Map::new(Arc::clone(&budget), 20),
            roles: std::sync::RwLock::default(),
            budget,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Forgets every member, token and group entry (after the whole state was replaced; the
    /// revisions would make them stale anyway, this gives their memory back at once).
    pub fn clear(&self) {
        self.by_user.clear();
        self.by_member.clear();
        self.tokens.clear();
        self.groups.clear();
    }

    /// Counters.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.by_user.len()
                + self.by_member.len()
                + self.tokens.len()
                + self.groups.len(),
            bytes: self.budget.used(),
            budget: self.budget.limit(),
            evictions: self.budget.evictions(),
            invalidations: self.budget.invalidations(),
        }
    }

    fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Remembers a loaded member under both keys.
    fn remember(&self, account: &AccountId, stamp: Stamp, view: &Arc<MemberView>, deps: Vec<Dep>) {
        let mut deps = deps;
        deps.push(Dep::account(account));
        deps.push(Dep::member(account, &view.member.id));
        self.by_user.put(
            (account.clone(), view.member.user.id.clone()),
            stamp,
            deps.clone(),
            Some(Arc::clone(view)),
        );
        self.by_member.put(
            (account.clone(), view.member.id.clone()),
            stamp,
            deps,
            Some(Arc::clone(view)),
        );
    }

    /// The compiled part of role `id`; `make` builds its one policy the first time.
    pub fn role_part(&self, id: &str, make: impl FnOnce() -> EffectivePolicy) -> Arc<Part> {
        use std::sync::PoisonError;
        if let Some(p) = self
            .roles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
        {
            return Arc::clone(p);
        }
        let part = Arc::new(Part::new(vec![make()]));
        self.roles
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id.to_owned())
            .or_insert(part)
            .clone()
    }

    /// The compiled part of user group `group` (shared by its members); `load` runs on a miss.
    pub async fn group_part<F, Fut>(
        &self,
        revisions: &Revisions,
        account: &AccountId,
        group: &UserGroupId,
        load: F,
    ) -> CoreResult<Arc<Part>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Loaded<Arc<Part>>>>,
    {
        let stamp = revisions.stamp();
        let key = (account.clone(), group.clone());
        if stamp.is_some() {
            if let Some(part) = self.groups.get(&key, revisions) {
                self.hit();
                return Ok(part);
            }
        }
        self.miss();
        let (part, mut deps) = load().await?;
        if let Some(stamp) = stamp {
            deps.push(Dep::account(account));
            deps.push(Dep::group(account, group));
            self.groups.put(key, stamp, deps, Arc::clone(&part));
        }
        Ok(part)
    }

    /// `user`'s membership of `account` with its policies; `load` runs on a miss.
    pub async fn member_of<F, Fut>(
        &self,
        revisions: &Revisions,
        account: &AccountId,
        user: &UserId,
        load: F,
    ) -> CoreResult<MemberEntry>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Option<Loaded<Arc<MemberView>>>>>,
    {
        let key = (account.clone(), user.clone());
        self.member_lookup(revisions, account, &self.by_user, key, load)
            .await
    }

    /// Membership `member` of `account` with its policies; `load` runs on a miss.
    pub async fn member<F, Fut>(
        &self,
        revisions: &Revisions,
        account: &AccountId,
        member: &MemberId,
        load: F,
    ) -> CoreResult<MemberEntry>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Option<Loaded<Arc<MemberView>>>>>,
    {
        let key = (account.clone(), member.clone());
        self.member_lookup(revisions, account, &self.by_member, key, load)
            .await
    }

    /// Looks `key` up in `map` (one of the two member maps); a loaded member is remembered
    /// under both keys, an absent one under `key` (until the account's roster changes).
    async fn member_lookup<K, F, Fut>(
        &self,
        revisions: &Revisions,
        account: &AccountId,
        map: &Map<K, MemberEntry>,
        key: K,
        load: F,
    ) -> CoreResult<MemberEntry>
    where
        K: Eq + Hash + Clone + Weigh,
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Option<Loaded<Arc<MemberView>>>>>,
    {
        let stamp = revisions.stamp();
        if stamp.is_some() {
            if let Some(v) = map.get(&key, revisions) {
                self.hit();
                return Ok(v);
            }
        }
        self.miss();
        let loaded = load().await?;
        let Some(stamp) = stamp else {
            return Ok(loaded.map(|(view, _)| view));
        };
        match loaded {
            Some((view, deps)) => {
                self.remember(account, stamp, &view, deps);
                Ok(Some(view))
            }
            None => {
                let deps = vec![Dep::account(account), Dep::roster(account)];
                map.put(key, stamp, deps, None);
                Ok(None)
            }
        }
    }

    /// Token `id` with its policies in `account`; `load` runs on a miss. When the caller holds
    /// a fresher copy of the token (`seen`: its `modified_on`), an entry of another version is
    /// not used.
    pub async fn token<F, Fut>(
        &self,
        revisions: &Revisions,
        account: &AccountId,
        id: &TokenId,
        seen: Option<Timestamp>,
        load: F,
    ) -> CoreResult<Option<Arc<TokenView>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CoreResult<Option<Arc<TokenView>>>>,
    {
        let stamp = revisions.stamp();
        let key = (account.clone(), id.clone());
        if stamp.is_some() {
            if let Some(v) = self.tokens.get(&key, revisions) {
                let current = match (&v, seen) {
                    (Some(view), Some(seen)) => view.token.modified_on == seen,
                    (None, Some(_)) => false,
                    (_, None) => true,
                };
                if current {
                    self.hit();
                    return Ok(v);
                }
            }
        }
        self.miss();
        let view = load().await?;
        // Unknown tokens are not remembered: creating a token records no change.
        if let (Some(stamp), Some(v)) = (stamp, &view) {
            let deps = vec![Dep::tokens(), Dep::token(id)];
            self.tokens.put(key, stamp, deps, Some(Arc::clone(v)));
        }
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Change;
    use crate::model::{Grants, MemberStatus, User};

    fn member(account: &AccountId) -> Member {
        let now = Timestamp::now();
        Member {
            id: MemberId::random(),
            account_id: account.clone(),
            user: User {
                id: UserId::random(),
                email: "a@example.com".into(),
                first_name: None,
                last_name: None,
                country: None,
                telephone: None,
                zipcode: None,
                two_factor_enabled: false,
                operator: false,
                created_on: now,
                modified_on: now,
            },
            status: MemberStatus::Accepted,
            grants: Grants::Roles(Vec::new()),
            created_on: now,
        }
    }

    fn view(m: &Member) -> Option<Loaded<Arc<MemberView>>> {
        Some((
            Arc::new(MemberView {
                member: m.clone(),
                own: Vec::new(),
                groups: Vec::new(),
            }),
            Vec::new(),
        ))
    }

    /// A full index evicts its least recently used members, keeps the one in use, stays within
    /// its budget, and answers an evicted member again from the store, unchanged.
    #[tokio::test]
    async fn a_full_index_evicts_the_coldest_and_reloads_them() {
        let revisions = Revisions::new(true);
        let a = AccountId::random();
        let members: Vec<Member> = (0..200).map(|_| member(&a)).collect();
        let one = view(&members[0]).map_or(0, |(v, _)| v.weight());
        // Room for about 40 members in each member map (30 % of the budget).
        let budget = Budget::new((one + 256) * 40 * 100 / 30);
        let index = PolicyIndex::new(Arc::clone(&budget));
        let hot = &members[0];
        for m in &members {
            let load = || async { Ok(view(m)) };
            assert!(index.member(&revisions, &a, &m.id, load).await.is_ok());
            // The hot member is used between every load, and never reloaded.
            let fail = || async { Err(crate::CoreError::unavailable("reloaded")) };
            let kept = index.member(&revisions, &a, &hot.id, fail).await.is_ok();
            assert!(kept, "one {one}: {:?}", index.stats());
        }
        let stats = index.stats();
        assert!(stats.evictions > 0, "{stats:?}");
        assert!(stats.bytes <= stats.budget, "{stats:?}");
        assert!(stats.entries < 2 * members.len(), "{stats:?}");
        // The first cold member was evicted: it is read again, and is the same member.
        let cold = &members[1];
        let reloaded = index
            .member(&revisions, &a, &cold.id, || async { Ok(view(cold)) })
            .await;
        assert!(
            matches!(&reloaded, Ok(Some(v)) if v.member.id == cold.id),
            "{reloaded:?}"
        );
        let misses = index.stats().misses;
        assert_eq!(
            misses,
            201,
            "200 first loads and the reload: {:?}",
            index.stats()
        );
    }

    #[tokio::test]
    async fn hits_until_the_account_changes() {
        let revisions = Revisions::new(true);
        let index = PolicyIndex::default();
        let (a, b) = (AccountId::random(), AccountId::random());
        let m = member(&a);
        let load = || async { Ok(view(&m)) };
        index.member_of(&revisions, &a, &m.user.id, load).await.ok();
        // Cached under both keys.
        let fail = || async { Err(crate::CoreError::unavailable("loaded")) };
        assert!(index
            .member_of(&revisions, &a, &m.user.id, fail)
            .await
            .is_ok());
        assert!(index.member(&revisions, &a, &m.id, fail).await.is_ok());
        // Another account's change leaves it; this account's change drops it.
        revisions.record(&[Change::Account(b)]);
        assert!(index.member(&revisions, &a, &m.id, fail).await.is_ok());
        revisions.record(&[Change::Account(a.clone())]);
        assert!(index.member(&revisions, &a, &m.id, fail).await.is_err());
        assert_eq!(index.stats().hits, 3);
    }

    /// A member's entry and a group's part are invalidated by their own changes only: a change
    /// to a group's policies leaves its members' entries, a membership change leaves the
    /// group's part, and a resource group used by a part invalidates that part.
    #[tokio::test]
    async fn members_and_group_parts_are_invalidated_by_their_own_changes() {
        let revisions = Revisions::new(true);
        let index = PolicyIndex::default();
        let a = AccountId::random();
        let (m, other) = (member(&a), member(&a));
        let (g, rg) = (UserGroupId::random(), crate::ids::ResourceGroupId::random());
        let fail = || async { Err(crate::CoreError::unavailable("loaded")) };
        let part = || async {
            let p = Arc::new(Part::of_group(g.clone(), "G", Vec::new()));
            Ok((p, vec![Dep::resource_group(&a, &rg)]))
        };
        let (load_m, load_other) = (|| async { Ok(view(&m)) }, || async { Ok(view(&other)) });
        index.member(&revisions, &a, &m.id, load_m).await.ok();
        index
            .member(&revisions, &a, &other.id, load_other)
            .await
            .ok();
        index.group_part(&revisions, &a, &g, part).await.ok();
        let cached = |what: &'static str| {
            let (index, revisions, a) = (&index, &revisions, &a);
            let (m, other, g) = (&m.id, &other.id, &g);
            async move {
                [
                    index.member(revisions, a, m, fail).await.is_ok(),
                    index.member(revisions, a, other, fail).await.is_ok(),
                    index
                        .group_part(revisions, a, g, || async {
                            Err(crate::CoreError::unavailable(what))
                        })
                        .await
                        .is_ok(),
                ]
            }
        };
        assert_eq!(cached("warm").await, [true, true, true]);
        revisions.record(&[Change::Group(a.clone(), g.clone())]);
        assert_eq!(
            cached("group").await,
            [true, true, false],
            "the group changed"
        );
        index.group_part(&revisions, &a, &g, part).await.ok();
        revisions.record(&[Change::Member(a.clone(), m.id.clone())]);
        assert_eq!(
            cached("member").await,
            [false, true, true],
            "the member changed"
        );
        index.member(&revisions, &a, &m.id, load_m).await.ok();
        revisions.record(&[Change::ResourceGroup(a.clone(), rg.clone())]);
        assert_eq!(
            cached("scope").await,
            [true, true, false],
            "a scope it uses changed"
        );
        index.group_part(&revisions, &a, &g, part).await.ok();
        revisions.record(&[Change::Roster(a.clone())]);
        assert_eq!(
            cached("roster").await,
            [true, true, true],
            "members are not absent ones"
        );
        revisions.record(&[Change::Account(a.clone())]);
        assert_eq!(
            cached("account").await,
            [false, false, false],
            "the whole account"
        );
    }

    #[tokio::test]
    async fn absent_members_are_cached_until_the_roster_changes() {
        let revisions = Revisions::new(true);
        let index = PolicyIndex::default();
        let a = AccountId::random();
        let u = UserId::random();
        let none = || async { Ok(None) };
        let fail = || async { Err(crate::CoreError::unavailable("loaded")) };
        assert!(index
            .member_of(&revisions, &a, &u, none)
            .await
            .ok()
            .flatten()
            .is_none());
        assert!(index.member_of(&revisions, &a, &u, fail).await.is_ok());
        revisions.record(&[Change::Member(a.clone(), MemberId::random())]);
        assert!(index.member_of(&revisions, &a, &u, fail).await.is_ok());
        revisions.record(&[Change::Roster(a.clone())]);
        assert!(index.member_of(&revisions, &a, &u, fail).await.is_err());
    }

    #[tokio::test]
    async fn nothing_is_cached_while_not_live() {
        let revisions = Revisions::new(false);
        let index = PolicyIndex::default();
        let a = AccountId::random();
        let m = member(&a);
        let load = || async { Ok(view(&m)) };
        index.member_of(&revisions, &a, &m.user.id, load).await.ok();
        assert_eq!(index.stats().entries, 0);
        let fail = || async { Err(crate::CoreError::unavailable("loaded")) };
        assert!(index
            .member_of(&revisions, &a, &m.user.id, fail)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_load_that_races_a_write_leaves_a_stale_entry_not_a_wrong_one() {
        let revisions = Revisions::new(true);
        let index = PolicyIndex::default();
        let a = AccountId::random();
        let m = member(&a);
        // The write commits while the load runs: the entry carries the stamp read before it.
        let load = || async {
            revisions.record(&[Change::Account(a.clone())]);
            Ok(view(&m))
        };
        index.member_of(&revisions, &a, &m.user.id, load).await.ok();
        let fail = || async { Err(crate::CoreError::unavailable("loaded")) };
        assert!(index
            .member_of(&revisions, &a, &m.user.id, fail)
            .await
            .is_err());
    }

    fn token(account: &AccountId) -> ApiToken {
        let now = Timestamp::now();
        ApiToken {
            id: TokenId::random(),
            owner: crate::model::TokenOwner::Account(account.clone()),
            name: "t".into(),
            state: crate::model::TokenState::Active,
            issued_on: now,
            modified_on: now,
            last_used_on: None,
            not_before: None,
            expires_on: None,
            condition: crate::model::TokenCondition::default(),
            policies: Vec::new(),
        }
    }

    fn token_view(t: &ApiToken) -> Option<Arc<TokenView>> {
        Some(Arc::new(TokenView {
            token: t.clone(),
            layer: Arc::new(Layer::new(LayerKind::Token, Vec::new())),
        }))
    }

    #[tokio::test]
    async fn tokens_are_dropped_by_token_changes_and_by_a_fresher_copy() {
        let revisions = Revisions::new(true);
        let index = PolicyIndex::default();
        let a = AccountId::random();
        let t = token(&a);
        let fail = || async { Err(crate::CoreError::unavailable("loaded")) };
        let load = || async { Ok(token_view(&t)) };
        index.token(&revisions, &a, &t.id, None, load).await.ok();
        assert!(index.token(&revisions, &a, &t.id, None, fail).await.is_ok());
        // The caller holds the same version: served from memory.
        let seen = Some(t.modified_on);
        assert!(index.token(&revisions, &a, &t.id, seen, fail).await.is_ok());
        // The caller holds a newer version (changed on another replica, not heard yet): reload.
        let newer = Some(t.modified_on.plus_seconds(1));
        assert!(index
            .token(&revisions, &a, &t.id, newer, fail)
            .await
            .is_err());
        // An account change or another token's does not drop it; its own change does, and a
        // change of all tokens.
        revisions.record(&[Change::Account(a.clone())]);
        revisions.record(&[Change::Token(TokenId::random())]);
        assert!(index.token(&revisions, &a, &t.id, None, fail).await.is_ok());
        revisions.record(&[Change::Token(t.id.clone())]);
        assert!(index
            .token(&revisions, &a, &t.id, None, fail)
            .await
            .is_err());
        let load = || async { Ok(token_view(&t)) };
        index.token(&revisions, &a, &t.id, None, load).await.ok();
        assert!(index.token(&revisions, &a, &t.id, None, fail).await.is_ok());
        revisions.record(&[Change::Tokens]);
        assert!(index
            .token(&revisions, &a, &t.id, None, fail)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn unknown_tokens_are_not_remembered() {
        let revisions = Revisions::new(true);
        let index = PolicyIndex::default();
        let a = AccountId::random();
        let id = TokenId::random();
        let none = || async { Ok(None) };
        assert!(index
            .token(&revisions, &a, &id, None, none)
            .await
            .ok()
            .flatten()
            .is_none());
        let fail = || async { Err(crate::CoreError::unavailable("loaded")) };
        assert!(index.token(&revisions, &a, &id, None, fail).await.is_err());
    }
}
