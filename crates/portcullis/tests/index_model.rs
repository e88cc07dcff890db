//! Model-based test of the policy index (`portcullis-core/src/service/index.rs`): a long-lived
//! application whose index warms up never serves a decision that differs from one computed from
//! the database.
//!
//! App A is built once; every write goes through it, and it answers decisions between writes, so
//! its index holds entries for everything when the next write lands. For each comparison a
//! brand-new app F is built over the same store and catalog: its index is empty, so it computes
//! from the database. Two accounts share some users (and those users own tokens); setup creates
//! resource groups, accepted and pending members with roles or policies, user groups with allow
//! and deny policies, account tokens and user tokens. The first account is the larger (9-14
//! members in 6-10 groups, most members in several), so that writes land on one group or member
//! among many and the index must invalidate exactly what each write changed. Then each step
//! makes one random write through the service layer (group membership add/remove/replace, group
//! policies and names, resource-group objects and names, member grants and status, member and
//! group deletion and creation, token policies/status/validity/conditions, token deletion,
//! creation and roll; refused writes are logged and the run goes on), and after it A and F must give the same
//! answers, for both accounts, to:
//!
//! - `authorize` for every live member and token, recently deleted ones and some of the other
//!   account's, with the same 20 checks (keys and permission-group ids, on the account, its zones,
//!   another account), errors included;
//! - `effective_policies` for the same members;
//! - `decide_keys` (route enforcement) for every principal that can authenticate: users by their
//!   global key, user-owned tokens, account-owned tokens.
//!
//! The caller of `authorize` / `effective_policies` is the account's bootstrap token, its root
//! user, or another user (who may be pending, absent or removed), so `require_access` is compared
//! too. Half of the steps first ask A a few more questions; in 30% of them A keeps answering in a
//! background task while a burst of 1-3 writes runs, so its loads race the commits. Every 50 steps
//! A's index must have had hits since the last check.
//!
//! Reproduce with `PORTCULLIS_MODEL_SEED=<seed>` (printed at start and in every failure, which
//! also lists every write so far). `PORTCULLIS_MODEL_STEPS` changes the number of steps (default
//! 300); `PORTCULLIS_MODEL_LOG=1` prints the writes at the end. The background answers do not
//! change the sequence of writes, so a seed replays the same writes. Runs on SQLite always and on
//! PostgreSQL when `PORTCULLIS_TEST_POSTGRES_URL` is set (a fresh schema, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_core::auth::{Credentials, Principal};
use portcullis_core::catalog::{Catalog, SCOPE_ACCOUNT, SCOPE_ZONE};
use portcullis_core::error::CoreResult;
use portcullis_core::ids::{AccountId, MemberId, PolicyId, ResourceGroupId, TokenId, UserGroupId};
use portcullis_core::model::{Access, Grants, MemberStatus, TokenState};
use portcullis_core::service::access::Authorized;
use portcullis_core::service::authorize::{Check, Subject};
use portcullis_core::service::members::{MemberCreate, MemberUpdate};
use portcullis_core::service::policies::{PolicyDraft, ResourceGroupRef};
use portcullis_core::service::resource_groups::ScopeDraft;
use portcullis_core::service::tokens::{
    ConditionDraft, TokenCreate, TokenPolicyDraft, TokenScope, TokenUpdate,
};
use portcullis_core::service::user_groups::MembersChange;
use portcullis_core::service::Portcullis;
use portcullis_core::store::Store;
use portcullis_core::time::Timestamp;
use portcullis_core::CoreError;
use portcullis_store_postgres::PostgresStore;
use portcullis_store_sqlite::SqliteStore;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use sqlx::Executor;

const DEFAULT_STEPS: usize = 300;
/// Questions answered at the same time in a comparison round.
const CONCURRENT_QUESTIONS: usize = 4;
const ZONE_PREFIX: &str = "com.cloudflare.api.account.zone.";
const PAST: &str = "2001-01-01T00:00:00Z";
const FUTURE: &str = "2099-01-01T00:00:00Z";
const FUTURE_NOT_BEFORE: &str = "2098-01-01T00:00:00Z";

/// Permission keys of the checks (all from `data/permission_keys.json`).
const KEYS: [&str; 13] = [
    "com.cloudflare.api.account.read",
    "com.cloudflare.api.account.member.read",
    "com.cloudflare.api.account.member.update",
    "#organization:edit",
    "#organization:read",
    "com.cloudflare.api.account.token.create",
    "com.cloudflare.api.account.token.list",
    "#sso_connector:edit",
    "#sso_connector:read",
    "com.cloudflare.api.iam.resource-group.delete",
    "com.cloudflare.api.iam.permission-group.list",
    "com.cloudflare.api.iam.authorize",
    "com.cloudflare.api.iam.resource-group.list",
];

fn seed() -> u64 {
    match std::env::var("PORTCULLIS_MODEL_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PORTCULLIS_MODEL_SEED must be a u64, got {s:?}")),
        Err(_) => rand::random(),
    }
}

fn steps() -> usize {
    std::env::var("PORTCULLIS_MODEL_STEPS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_STEPS)
}

// ---------------------------------------------------------------------------------------------
// Catalog palette (ids looked up by name)
// ---------------------------------------------------------------------------------------------

struct Palette {
    /// `(id, name, scope)` usable in member and user-group policies.
    policy_groups: Vec<(String, String, String)>,
    /// `(id, name)` of legacy roles.
    roles: Vec<(String, String)>,
    /// `(id, name)` of token permission groups.
    token_groups: Vec<(String, String)>,
    /// Permission-group ids used as check permissions (each grants some key).
    check_groups: Vec<String>,
}

fn palette(c: &Catalog) -> Palette {
    let member = |name: &str| {
        let g = c
            .member_groups()
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("no member permission group {name:?}"));
        (g.id.clone(), g.name.clone(), g.scope().to_owned())
    };
    let token = |name: &str| {
        let g = c
            .token_groups()
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("no token permission group {name:?}"));
        let scope = c
            .policy_group(&g.id)
            .map(|p| p.scope().to_owned())
            .unwrap_or_else(|| panic!("{name:?} is not a policy group"));
        (g.id.clone(), g.name.clone(), scope)
    };
    let role = |name: &str| {
        let r = c
            .roles()
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no role {name:?}"));
        (r.id.clone(), r.name.clone())
    };
    let policy_groups = vec![
        member("Super Administrator - All Privileges"),
        member("Administrator"),
        member("Administrator Read Only"),
        member("Minimal Account Access"),
        member("Firewall"),
        member("Domain DNS"),
        member("Domain Administrator Read Only"),
        token("Account Settings Read"),
        token("Account Settings Write"),
        token("Account API Tokens Read"),
        token("SSO Connector Write"),
        token("Zone Read"),
        token("DNS Read"),
    ];
    for (_, name, scope) in &policy_groups {
        assert!(
            scope == SCOPE_ACCOUNT || scope == SCOPE_ZONE,
            "{name}: unexpected scope {scope}"
        );
    }
    let roles = vec![
        role("Administrator"),
        role("Administrator Read Only"),
        role("Minimal Account Access"),
        role("Analytics"),
        role("Super Administrator - All Privileges"),
    ];
    let token_groups: Vec<(String, String)> = [
        "Account Settings Read",
        "Account Settings Write",
        "Account API Tokens Read",
        "Account API Tokens Write",
        "SSO Connector Read",
        "SSO Connector Write",
        "Zone Read",
        "DNS Read",
    ]
    .into_iter()
    .map(|n| {
        let (id, name, _) = token(n);
        (id, name)
    })
    .collect();
    let check_groups = vec![
        token("Account Settings Read").0,
        token("Account API Tokens Write").0,
        member("Administrator").0,
        member("Minimal Account Access").0,
        token("SSO Connector Write").0,
        member("Super Administrator - All Privileges").0,
        member("Administrator Read Only").0,
    ];
    Palette {
        policy_groups,
        roles,
        token_groups,
        check_groups,
    }
}

// ---------------------------------------------------------------------------------------------
// Questions asked of A and F
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
enum Ask {
    Authorize {
        caller: Principal,
        account: AccountId,
        subject: Subject,
        checks: Arc<Vec<Check>>,
    },
    Effective {
        caller: Principal,
        account: AccountId,
        member: MemberId,
    },
    Decide {
        principal: Principal,
        account: AccountId,
        keys: Arc<Vec<String>>,
    },
}

#[derive(Clone)]
struct Query {
    what: String,
    ask: Ask,
}

/// An answer, kept as given (compared by its `Debug` form; shown pretty on a difference).
struct Answer(Box<dyn std::fmt::Debug + Send>);

impl Answer {
    fn of<T: std::fmt::Debug + Send + 'static>(r: CoreResult<T>) -> Self {
        Self(Box::new(r))
    }

    fn compact(&self) -> String {
        format!("{:?}", self.0)
    }

    fn pretty(&self) -> String {
        format!("{:#?}", self.0)
    }
}

async fn answer(app: &Portcullis, ask: &Ask) -> Answer {
    match ask {
        Ask::Authorize {
            caller,
            account,
            subject,
            checks,
        } => Answer::of(
            async {
                let pass = app
                    .enforce(
                        caller.clone(),
                        account.clone(),
                        "com.cloudflare.api.iam.authorize",
                        "decide",
                        portcullis_core::audit::Origin::cli("test"),
                    )
                    .await?;
                app.authorize(&pass, subject, checks).await
            }
            .await,
        ),
        Ask::Effective {
            caller,
            account,
            member,
        } => Answer::of(
            async {
                let pass = app
                    .enforce(
                        caller.clone(),
                        account.clone(),
                        "com.cloudflare.api.account.member.read",
                        "read",
                        portcullis_core::audit::Origin::cli("test"),
                    )
                    .await?;
                app.effective_policies(&pass, member).await
            }
            .await,
        ),
        Ask::Decide {
            principal,
            account,
            keys,
        } => Answer::of(app.decide_keys(principal, account, keys).await),
    }
}

fn first_difference(a: &str, f: &str) -> String {
    let (al, fl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), f.lines().collect());
    let i = (0..al.len().max(fl.len()))
        .find(|&i| al.get(i) != fl.get(i))
        .unwrap_or(0);
    let from = i.saturating_sub(6);
    let mut out = String::new();
    let _ = writeln!(out, "first difference at line {i}:");
    for (label, lines) in [("A", &al), ("F", &fl)] {
        let _ = writeln!(out, "--- {label}, lines {from}..{}:", i + 6);
        for line in lines.iter().skip(from).take(12) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The model: what exists, as far as the test knows
// ---------------------------------------------------------------------------------------------

struct Rg {
    id: ResourceGroupId,
    objects: Vec<String>,
}

struct Tok {
    id: TokenId,
    value: String,
    /// For user-owned tokens: index into `World::users`.
    user: Option<usize>,
}

struct Acct {
    id: AccountId,
    key: String,
    label: String,
    /// The bootstrap account token (never written to).
    admin: Principal,
    admin_token: TokenId,
    /// The bootstrap member (never written to) and their global key.
    root_member: MemberId,
    root_email: String,
    root_key: String,
    rgs: Vec<Rg>,
    groups: Vec<UserGroupId>,
    members: Vec<(MemberId, String)>,
    dead_members: VecDeque<MemberId>,
    tokens: Vec<Tok>,
    dead_tokens: VecDeque<TokenId>,
    checks: Arc<Vec<Check>>,
}

struct KeyedUser {
    email: String,
    key: String,
}

struct World {
    backend: &'static str,
    seed: u64,
    app: Portcullis,
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    pal: Palette,
    accts: Vec<Acct>,
    users: Vec<KeyedUser>,
    user_tokens: Vec<Tok>,
    dead_user_tokens: VecDeque<TokenId>,
    /// Every member email used so far (members may come back with the same user).
    emails: Vec<String>,
    counter: usize,
    zones: Vec<String>,
    names: HashMap<String, String>,
    rng: StdRng,
    log: Vec<String>,
    step: usize,
    compared: usize,
    /// Time spent answering (A and fresh apps), authenticating and building questions, writing.
    timing: [Duration; 3],
}

fn push_dead<T>(q: &mut VecDeque<T>, v: T) {
    q.push_back(v);
    if q.len() > 2 {
        q.pop_front();
    }
}

impl World {
    fn fresh(&self) -> Portcullis {
        Portcullis::new(Arc::clone(&self.store), Arc::clone(&self.catalog))
    }

    fn name(&mut self, id: &str, label: String) {
        self.names.insert(id.to_owned(), label);
    }

    fn n(&self, id: &str) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("?{}", &id[..id.len().min(8)]))
    }

    /// A random index below `len`, if any.
    fn pick(&mut self, len: usize) -> Option<usize> {
        (len > 0).then(|| self.rng.gen_range(0..len))
    }

    /// Account `a`'s bootstrap token, id and label.
    /// The account's admin, let through the gate (as every route's layer does), its id and label.
    async fn ctx(&self, a: usize) -> (Authorized, AccountId, String) {
        let acct = &self.accts[a];
        let pass = self
            .app
            .enforce(
                acct.admin.clone(),
                acct.id.clone(),
                "com.cloudflare.api.account.read",
                "act as the model's admin",
                portcullis_core::audit::Origin::cli("test"),
            )
            .await
            .expect("the admin passes the gate");
        (pass, acct.id.clone(), acct.label.clone())
    }

    fn next(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    /// Records a write and its outcome. Refusals are fine; a storage failure is not.
    fn note<T>(&mut self, what: String, r: &CoreResult<T>) {
        let line = match r {
            Ok(_) => format!("step {}: {what} -> ok", self.step),
            Err(e) => {
                if let CoreError::Unavailable(m) = e {
                    panic!(
                        "[{} seed {}] step {}: {what}: storage failure: {m}",
                        self.backend, self.seed, self.step
                    );
                }
                format!("step {}: {what} -> refused: {e}", self.step)
            }
        };
        self.log.push(line);
    }

    async fn key_principal(&self, email: &str, key: &str) -> Option<Principal> {
        let creds = Credentials::Key {
            email: email.to_owned(),
            key: key.to_owned(),
        };
        self.principal(&creds).await
    }

    async fn bearer_principal(&self, value: &str) -> Option<Principal> {
        self.principal(&Credentials::Bearer(value.to_owned())).await
    }

    /// Authenticates through A (its credential index) and through a fresh F (the database):
    /// both must answer alike, errors included.
    async fn principal(&self, creds: &Credentials) -> Option<Principal> {
        let now = Timestamp::now();
        let a = self.app.authenticate(creds, None, now).await;
        let f = self.fresh().authenticate(creds, None, now).await;
        let (da, df) = (format!("{a:?}"), format!("{f:?}"));
        assert_eq!(
            da,
            df,
            "[{}] CREDENTIAL INDEX DIVERGENCE (seed {}, replay with PORTCULLIS_MODEL_SEED={}): \
             A (warm credential index) and F (database) authenticate differently\n\
             === writes so far ===\n{}",
            self.backend,
            self.seed,
            self.seed,
            self.log.join("\n")
        );
        a.ok()
    }

    // -----------------------------------------------------------------------------------------
    // Random drafts
    // -----------------------------------------------------------------------------------------

    fn objects_menu(&mut self, a: usize) -> Vec<String> {
        let key = self.accts[a].key.clone();
        let z = self.zones.clone();
        let menu: Vec<Vec<String>> = vec![
            vec!["*".into()],
            vec![key.clone()],
            vec![key, z[0].clone()],
            vec![z[0].clone()],
            vec![z[0].clone(), z[1].clone()],
            vec![z[1].clone(), z[2].clone()],
            vec![format!("{ZONE_PREFIX}*")],
            vec!["*".into(), z[2].clone()],
        ];
        menu.choose(&mut self.rng).cloned().unwrap_or_default()
    }

    /// 1–3 policy drafts over the account's resource groups, mostly valid (permission groups
    /// whose scope fits every chosen resource group); some keep an existing policy id.
    fn policy_drafts(&mut self, a: usize, existing: &[PolicyId]) -> Vec<PolicyDraft> {
        let n = self.rng.gen_range(1..=3);
        let mut keep: Vec<String> = existing.iter().map(|p| p.as_str().to_owned()).collect();
        keep.shuffle(&mut self.rng);
        let mut out = Vec::new();
        for _ in 0..n {
            if self.accts[a].rgs.is_empty() {
                break;
            }
            let k = self.rng.gen_range(1..=2usize).min(self.accts[a].rgs.len());
            let mut chosen: Vec<usize> =
                rand::seq::index::sample(&mut self.rng, self.accts[a].rgs.len(), k).into_vec();
            let mut fitting = self.fitting_groups(a, &chosen);
            if fitting.is_empty() {
                // Two resource groups no permission group fits together: keep one.
                chosen.truncate(1);
                fitting = self.fitting_groups(a, &chosen);
            }
            let rg_ids: Vec<String> = chosen
                .iter()
                .map(|&i| self.accts[a].rgs[i].id.as_str().to_owned())
                .collect();
            // Now and then an unfitting one: the write is refused, which is fine.
            let pool: Vec<String> = if fitting.is_empty() || self.rng.gen_bool(0.05) {
                self.pal.policy_groups.iter().map(|g| g.0.clone()).collect()
            } else {
                fitting
            };
            let m = self.rng.gen_range(1..=2usize).min(pool.len());
            let pgs: Vec<String> = pool.choose_multiple(&mut self.rng, m).cloned().collect();
            let id = if !keep.is_empty() && self.rng.gen_bool(0.4) {
                keep.pop()
            } else {
                None
            };
            let access = if self.rng.gen_bool(0.25) {
                Access::Deny
            } else {
                Access::Allow
            };
            out.push(PolicyDraft {
                id,
                access,
                permission_groups: pgs,
                resource_groups: rg_ids.into_iter().map(ResourceGroupRef::Id).collect(),
            });
        }
        out
    }

    /// The palette's permission groups whose scope fits every resource group `chosen` (indexes
    /// into account `a`'s): account scope needs the whole account, zone scope only zones.
    fn fitting_groups(&self, a: usize, chosen: &[usize]) -> Vec<String> {
        let acct = &self.accts[a];
        let rgs: Vec<&Rg> = chosen.iter().map(|&i| &acct.rgs[i]).collect();
        let covers_account = rgs
            .iter()
            .all(|g| g.objects.iter().any(|o| o == "*" || *o == acct.key));
        let zones_only = rgs.iter().all(|g| {
            g.objects
                .iter()
                .all(|o| o == "*" || o.starts_with(ZONE_PREFIX))
        });
        self.pal
            .policy_groups
            .iter()
            .filter(|(_, _, s)| {
                (s == SCOPE_ACCOUNT && covers_account) || (s == SCOPE_ZONE && zones_only)
            })
            .map(|(id, _, _)| id.clone())
            .collect()
    }

    fn describe_policies(&self, drafts: &[PolicyDraft]) -> String {
        let parts: Vec<String> = drafts
            .iter()
            .map(|d| {
                let pgs: Vec<String> = d
                    .permission_groups
                    .iter()
                    .map(|id| {
                        self.pal
                            .policy_groups
                            .iter()
                            .find(|g| &g.0 == id)
                            .map_or_else(|| id.clone(), |g| g.1.clone())
                    })
                    .collect();
                let rgs: Vec<String> = d
                    .resource_groups
                    .iter()
                    .map(|r| match r {
                        ResourceGroupRef::Id(id) => self.n(id),
                        ResourceGroupRef::Inline(s) => format!("inline {:?}", s.objects),
                    })
                    .collect();
                let keep =
                    d.id.as_ref()
                        .map(|i| format!(" (keeps policy {i})"))
                        .unwrap_or_default();
                format!("{} {:?} on {:?}{keep}", d.access.as_str(), pgs, rgs)
            })
            .collect();
        format!("[{}]", parts.join("; "))
    }

    fn roles(&mut self) -> Vec<String> {
        let k = self.rng.gen_range(1..=2);
        self.pal
            .roles
            .choose_multiple(&mut self.rng, k)
            .map(|r| r.0.clone())
            .collect()
    }

    fn role_names(&self, ids: &[String]) -> Vec<String> {
        ids.iter()
            .map(|id| {
                self.pal
                    .roles
                    .iter()
                    .find(|r| &r.0 == id)
                    .map_or_else(|| id.clone(), |r| r.1.clone())
            })
            .collect()
    }

    /// Token policies: account-owned tokens name their own account (or its zones); user-owned
    /// ones may also name every account or the other one.
    fn token_policies(&mut self, a: usize, user_owned: bool) -> Vec<TokenPolicyDraft> {
        let n = self.rng.gen_range(1..=2);
        let own = self.accts[a].key.clone();
        let other = self.accts[1 - a].key.clone();
        let (z0, z1) = (self.zones[0].clone(), self.zones[1].clone());
        let mut out = Vec::new();
        for _ in 0..n {
            let choices = if user_owned { 6 } else { 4 };
            let resources: Value = match self.rng.gen_range(0..choices) {
                0 => json!({ own.clone(): "*" }),
                1 => json!({ own.clone(): { format!("{ZONE_PREFIX}*"): "*" } }),
                2 => json!({ z0.clone(): "*" }),
                3 => json!({ own.clone(): { z1.clone(): "*" } }),
                4 => json!({ "com.cloudflare.api.account.*": "*" }),
                _ => json!({ other.clone(): "*" }),
            };
            let k = self.rng.gen_range(1..=2);
            let pgs: Vec<String> = self
                .pal
                .token_groups
                .choose_multiple(&mut self.rng, k)
                .map(|g| g.0.clone())
                .collect();
            let effect = if self.rng.gen_bool(0.2) {
                Access::Deny
            } else {
                Access::Allow
            };
            let resources: Map<String, Value> = resources.as_object().cloned().unwrap_or_default();
            out.push(TokenPolicyDraft {
                effect,
                permission_groups: pgs,
                resources,
            });
        }
        out
    }

    fn describe_token_policies(&self, drafts: &[TokenPolicyDraft]) -> String {
        let parts: Vec<String> = drafts
            .iter()
            .map(|d| {
                let pgs: Vec<String> = d
                    .permission_groups
                    .iter()
                    .map(|id| {
                        self.pal
                            .token_groups
                            .iter()
                            .find(|g| &g.0 == id)
                            .map_or_else(|| id.clone(), |g| g.1.clone())
                    })
                    .collect();
                let mut res = Value::Object(d.resources.clone()).to_string();
                for (id, label) in &self.names {
                    res = res.replace(id.as_str(), label);
                }
                format!("{} {:?} on {res}", d.effect.as_str(), pgs)
            })
            .collect();
        format!("[{}]", parts.join("; "))
    }

    fn token_update(&mut self, a: usize, user_owned: bool) -> (TokenUpdate, String) {
        let mut u = TokenUpdate::default();
        let mut what = Vec::new();
        let changes = self.rng.gen_range(1..=2);
        for _ in 0..changes {
            match self.rng.gen_range(0..10) {
                0..=3 => {
                    let p = self.token_policies(a, user_owned);
                    what.push(format!("policies={}", self.describe_token_policies(&p)));
                    u.policies = Some(p);
                }
                4..=5 => {
                    let s = if self.rng.gen_bool(0.5) {
                        TokenState::Disabled
                    } else {
                        TokenState::Active
                    };
                    what.push(format!("status={}", s.as_str()));
                    u.state = Some(s);
                }
                6..=7 => {
                    let e = [None, Some(PAST), Some(FUTURE)]
                        .choose(&mut self.rng)
                        .copied()
                        .flatten();
                    what.push(format!("expires_on={e:?}"));
                    u.expires_on = Some(e.map(str::to_owned));
                }
                8 => {
                    let nb = if self.rng.gen_bool(0.5) {
                        Some(FUTURE_NOT_BEFORE)
                    } else {
                        None
                    };
                    what.push(format!("not_before={nb:?}"));
                    u.not_before = Some(nb.map(str::to_owned));
                }
                _ => {
                    let c = if self.rng.gen_bool(0.5) {
                        Some(ConditionDraft {
                            request_ip_in: vec!["10.0.0.0/8".into()],
                            request_ip_not_in: Vec::new(),
                        })
                    } else {
                        None
                    };
                    what.push(format!(
                        "condition={}",
                        if c.is_some() { "10.0.0.0/8" } else { "none" }
                    ));
                    u.condition = Some(c);
                }
            }
        }
        (u, what.join(", "))
    }

    fn pick_account(&mut self) -> usize {
        usize::from(self.rng.gen_bool(0.25))
    }

    // -----------------------------------------------------------------------------------------
    // Writes
    // -----------------------------------------------------------------------------------------

    async fn create_rg(&mut self, a: usize, objects: Vec<String>) {
        let (admin, _, label) = self.ctx(a).await;
        let n = self.next();
        let scope = ScopeDraft {
            pointer: "/scope".into(),
            key: self.accts[a].key.clone(),
            objects: objects.clone(),
        };
        let r = self
            .app
            .create_resource_group(&admin, &format!("rg-{n}"), &scope)
            .await;
        let what = format!(
            "{label}: create resource group rg{n} objects={}",
            self.objs(&objects)
        );
        if let Ok(g) = &r {
            self.name(g.id.as_str(), format!("{label}.rg{n}"));
            self.accts[a].rgs.push(Rg {
                id: g.id.clone(),
                objects,
            });
        }
        self.note(what, &r);
    }

    fn objs(&self, objects: &[String]) -> String {
        let mut s = format!("{objects:?}");
        for (i, z) in self.zones.iter().enumerate() {
            s = s.replace(z.as_str(), &format!("zone{i}"));
        }
        for a in &self.accts {
            s = s.replace(a.key.as_str(), &format!("account:{}", a.label));
        }
        s
    }

    async fn update_rg(&mut self, a: usize) {
        let Some(i) = self.pick(self.accts[a].rgs.len()) else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let id = self.accts[a].rgs[i].id.clone();
        let objects = self.objects_menu(a);
        let rename = if self.rng.gen_bool(0.25) {
            Some(format!(
                "{}-{}",
                ["red", "green", "blue"]
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("red"),
                label
            ))
        } else {
            None
        };
        let scope = ScopeDraft {
            pointer: "/scope".into(),
            key: self.accts[a].key.clone(),
            objects: objects.clone(),
        };
        let r = self
            .app
            .update_resource_group(&admin, &id, rename.as_deref(), Some(&scope))
            .await;
        let what = format!(
            "{label}: update resource group {} objects={} name={rename:?}",
            self.n(id.as_str()),
            self.objs(&objects)
        );
        if r.is_ok() {
            self.accts[a].rgs[i].objects = objects;
        }
        self.note(what, &r);
    }

    async fn delete_rg(&mut self, a: usize) {
        let Some(i) = self.pick(self.accts[a].rgs.len()) else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let id = self.accts[a].rgs[i].id.clone();
        let r = self.app.delete_resource_group(&admin, &id).await;
        let what = format!("{label}: delete resource group {}", self.n(id.as_str()));
        if r.is_ok() {
            self.accts[a].rgs.remove(i);
        }
        self.note(what, &r);
    }

    async fn create_group(&mut self, a: usize) {
        let (admin, _, label) = self.ctx(a).await;
        let n = self.next();
        let drafts = if self.rng.gen_bool(0.85) {
            Some(self.policy_drafts(a, &[]))
        } else {
            None
        };
        let r = self
            .app
            .create_user_group(&admin, &format!("group-{n}"), drafts.as_deref())
            .await;
        let what = format!(
            "{label}: create user group g{n} policies={}",
            drafts
                .as_deref()
                .map_or_else(|| "none".into(), |d| self.describe_policies(d))
        );
        if let Ok(g) = r.as_ref().map(|e| &e.item) {
            self.name(g.id.as_str(), format!("{label}.g{n}"));
            self.accts[a].groups.push(g.id.clone());
        }
        self.note(what, &r);
    }

    async fn delete_group(&mut self, a: usize) {
        let Some(i) = self.pick(self.accts[a].groups.len()) else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let id = self.accts[a].groups[i].clone();
        let r = self.app.delete_user_group(&admin, &id).await;
        let what = format!("{label}: delete user group {}", self.n(id.as_str()));
        if r.is_ok() {
            self.accts[a].groups.remove(i);
        }
        self.note(what, &r);
    }

    async fn group_policies(&mut self, a: usize) {
        let Some(id) = self.accts[a].groups.choose(&mut self.rng).cloned() else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let existing: Vec<PolicyId> = self
            .app
            .get_user_group(&admin, &id)
            .await
            .map(|g| g.item.policies.into_iter().map(|p| p.id).collect())
            .unwrap_or_default();
        let drafts = if self.rng.gen_bool(0.08) {
            Vec::new()
        } else {
            self.policy_drafts(a, &existing)
        };
        let rename = if self.rng.gen_bool(0.2) {
            let n = self.next();
            Some(format!("renamed-{n}"))
        } else {
            None
        };
        let r = self
            .app
            .update_user_group(&admin, &id, rename.as_deref(), Some(&drafts))
            .await;
        let what = format!(
            "{label}: replace policies of user group {} with {} name={rename:?}",
            self.n(id.as_str()),
            self.describe_policies(&drafts)
        );
        self.note(what, &r);
    }

    async fn rename_group(&mut self, a: usize) {
        let Some(id) = self.accts[a].groups.choose(&mut self.rng).cloned() else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        // A small pool of names: some renames collide (a refused write).
        let name = format!("name-{}", self.rng.gen_range(0..4));
        let r = self
            .app
            .update_user_group(&admin, &id, Some(&name), None)
            .await;
        let what = format!(
            "{label}: rename user group {} to {name}",
            self.n(id.as_str())
        );
        self.note(what, &r);
    }

    /// A member id to put in a group: mostly a live member of the account, sometimes a removed
    /// one or one of the other account (refused).
    fn member_for_group(&mut self, a: usize) -> Option<MemberId> {
        if self.rng.gen_bool(0.08) {
            let dead: Vec<MemberId> = self.accts[a].dead_members.iter().cloned().collect();
            let other: Vec<MemberId> = self.accts[1 - a]
                .members
                .iter()
                .map(|m| m.0.clone())
                .collect();
            let pool: Vec<MemberId> = dead.into_iter().chain(other).collect();
            if let Some(m) = pool.choose(&mut self.rng) {
                return Some(m.clone());
            }
        }
        let mut pool: Vec<MemberId> = self.accts[a].members.iter().map(|m| m.0.clone()).collect();
        if self.rng.gen_bool(0.1) {
            pool.push(self.accts[a].root_member.clone());
        }
        pool.choose(&mut self.rng).cloned()
    }

    /// Adds 1-2 members to a group, or replaces its members with 0-3.
    async fn group_put(&mut self, a: usize, change: MembersChange) {
        let Some(g) = self.accts[a].groups.choose(&mut self.rng).cloned() else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let k = match change {
            MembersChange::Add => self.rng.gen_range(1..=2),
            MembersChange::Replace => self.rng.gen_range(0..=3),
        };
        let ids: Vec<String> = (0..k)
            .filter_map(|_| self.member_for_group(a))
            .map(|m| m.as_str().to_owned())
            .collect();
        let r = self.app.put_group_members(&admin, &g, &ids, change).await;
        let names: Vec<String> = ids.iter().map(|i| self.n(i)).collect();
        let what = match change {
            MembersChange::Add => format!(
                "{label}: add {names:?} to user group {}",
                self.n(g.as_str())
            ),
            MembersChange::Replace => format!(
                "{label}: replace members of user group {} with {names:?}",
                self.n(g.as_str())
            ),
        };
        self.note(what, &r);
    }

    async fn group_remove(&mut self, a: usize) {
        let (admin, acc, label) = self.ctx(a).await;
        let Some(m) = self.member_for_group(a) else {
            return;
        };
        // Prefer a group the member is in.
        let mut groups_of: Vec<UserGroupId> = self
            .store
            .user_group_ids_of_member(&acc, &m)
            .await
            .unwrap_or_default();
        // In a fixed order, so that a seed replays the same choices.
        groups_of.sort();
        let g = if !groups_of.is_empty() && self.rng.gen_bool(0.9) {
            groups_of.choose(&mut self.rng).cloned()
        } else {
            self.accts[a].groups.choose(&mut self.rng).cloned()
        };
        let Some(g) = g else {
            return;
        };
        let r = self.app.remove_group_member(&admin, &g, &m).await;
        let what = format!(
            "{label}: remove {} from user group {}",
            self.n(m.as_str()),
            self.n(g.as_str())
        );
        self.note(what, &r);
    }

    async fn create_member(
        &mut self,
        a: usize,
        email: Option<String>,
        status: Option<MemberStatus>,
    ) {
        let (admin, _, label) = self.ctx(a).await;
        let email = match email {
            Some(e) => e,
            None => {
                let current: Vec<String> =
                    self.accts[a].members.iter().map(|m| m.1.clone()).collect();
                let returning: Vec<String> = self
                    .emails
                    .iter()
                    .filter(|e| !current.contains(e))
                    .cloned()
                    .collect();
                match returning.choose(&mut self.rng) {
                    Some(e) if self.rng.gen_bool(0.6) => e.clone(),
                    _ => format!("m{}@example.com", self.next()),
                }
            }
        };
        let status = status.unwrap_or_else(|| {
            if self.rng.gen_bool(0.7) {
                MemberStatus::Accepted
            } else {
                MemberStatus::Pending
            }
        });
        let (roles, policies) = if self.rng.gen_bool(0.5) {
            (Some(self.roles()), None)
        } else {
            (None, Some(self.policy_drafts(a, &[])))
        };
        let grants = match (&roles, &policies) {
            (Some(r), _) => format!("roles={:?}", self.role_names(r)),
            (_, Some(p)) => format!("policies={}", self.describe_policies(p)),
            _ => String::new(),
        };
        let r = self
            .app
            .create_member(
                &admin,
                MemberCreate {
                    email: email.clone(),
                    roles,
                    policies,
                    status: Some(status),
                },
            )
            .await;
        let n = self.next();
        let what = format!(
            "{label}: create member m{n} {email} {} {grants}",
            status.as_str()
        );
        if let Ok(m) = r.as_ref().map(|e| &e.item) {
            self.name(m.id.as_str(), format!("{label}.m{n}({email})"));
            self.name(m.user.id.as_str(), format!("user({email})"));
            self.accts[a].members.push((m.id.clone(), email.clone()));
            if !self.emails.contains(&email) {
                self.emails.push(email);
            }
        }
        self.note(what, &r);
    }

    async fn delete_member(&mut self, a: usize) {
        let Some(i) = self.pick(self.accts[a].members.len()) else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let id = self.accts[a].members[i].0.clone();
        let r = self.app.delete_member(&admin, &id).await;
        let what = format!("{label}: delete member {}", self.n(id.as_str()));
        if r.is_ok() {
            self.accts[a].members.remove(i);
            push_dead(&mut self.accts[a].dead_members, id);
        }
        self.note(what, &r);
    }

    async fn update_member(&mut self, a: usize) {
        let Some((id, _)) = self.accts[a].members.choose(&mut self.rng).cloned() else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let current = self.app.get_member(&admin, &id).await.map(|e| e.item);
        let (existing, status): (Vec<PolicyId>, MemberStatus) = match &current {
            Ok(m) => (
                match &m.grants {
                    Grants::Policies(p) => p.iter().map(|p| p.id.clone()).collect(),
                    Grants::Roles(_) => Vec::new(),
                },
                m.status,
            ),
            Err(_) => (Vec::new(), MemberStatus::Pending),
        };
        let flipped = match status {
            MemberStatus::Accepted => MemberStatus::Pending,
            MemberStatus::Pending => MemberStatus::Accepted,
        };
        let mut u = MemberUpdate::default();
        let mut what = Vec::new();
        match self.rng.gen_range(0..10) {
            0..=2 => {
                let r = self.roles();
                what.push(format!("roles={:?}", self.role_names(&r)));
                u.roles = Some(r);
            }
            3..=5 => {
                let p = self.policy_drafts(a, &existing);
                what.push(format!("policies={}", self.describe_policies(&p)));
                u.policies = Some(p);
            }
            6..=8 => {
                what.push(format!("status={}", flipped.as_str()));
                u.status = Some(flipped);
            }
            _ => {
                let r = self.roles();
                what.push(format!(
                    "roles={:?} status={}",
                    self.role_names(&r),
                    flipped.as_str()
                ));
                u.roles = Some(r);
                u.status = Some(flipped);
            }
        }
        let r = self.app.update_member(&admin, &id, u).await;
        let what = format!(
            "{label}: update member {} {}",
            self.n(id.as_str()),
            what.join(" ")
        );
        self.note(what, &r);
    }

    async fn create_token(&mut self, a: usize) {
        let (admin, _, label) = self.ctx(a).await;
        let policies = self.token_policies(a, false);
        let expires_on = if self.rng.gen_bool(0.15) {
            Some(PAST.to_owned())
        } else {
            None
        };
        let n = self.next();
        let what = format!(
            "{label}: create account token t{n} policies={} expires_on={expires_on:?}",
            self.describe_token_policies(&policies)
        );
        let r = self
            .app
            .create_token(
                &TokenScope::Account(&admin),
                TokenCreate {
                    name: format!("token-{n}"),
                    policies,
                    not_before: None,
                    expires_on,
                    condition: None,
                },
            )
            .await;
        if let Ok((t, value)) = &r {
            self.name(t.id.as_str(), format!("{label}.t{n}"));
            self.accts[a].tokens.push(Tok {
                id: t.id.clone(),
                value: value.clone(),
                user: None,
            });
        }
        self.note(what, &r);
    }

    async fn update_token(&mut self, a: usize) {
        let Some(i) = self.pick(self.accts[a].tokens.len()) else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let id = self.accts[a].tokens[i].id.clone();
        let (u, desc) = self.token_update(a, false);
        let r = self
            .app
            .update_token(&TokenScope::Account(&admin), &id, u)
            .await;
        let what = format!("{label}: update token {} {desc}", self.n(id.as_str()));
        self.note(what, &r);
    }

    async fn roll_token(&mut self, a: usize) {
        let Some(i) = self.pick(self.accts[a].tokens.len()) else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let id = self.accts[a].tokens[i].id.clone();
        let r = self.app.roll_token(&TokenScope::Account(&admin), &id).await;
        let what = format!("{label}: roll token {}", self.n(id.as_str()));
        if let Ok(v) = &r {
            self.accts[a].tokens[i].value = v.clone();
        }
        self.note(what, &r);
    }

    async fn delete_token(&mut self, a: usize) {
        let Some(i) = self.pick(self.accts[a].tokens.len()) else {
            return;
        };
        let (admin, _, label) = self.ctx(a).await;
        let id = self.accts[a].tokens[i].id.clone();
        let r = self
            .app
            .delete_token(&TokenScope::Account(&admin), &id)
            .await;
        let what = format!("{label}: delete token {}", self.n(id.as_str()));
        if r.is_ok() {
            self.accts[a].tokens.remove(i);
            push_dead(&mut self.accts[a].dead_tokens, id);
        }
        self.note(what, &r);
    }

    async fn create_user_token(&mut self, u: usize) {
        let (email, key) = (self.users[u].email.clone(), self.users[u].key.clone());
        let Some(p) = self.key_principal(&email, &key).await else {
            panic!("user {email} cannot authenticate with their key");
        };
        let a = self.pick_account();
        let policies = self.token_policies(a, true);
        let n = self.next();
        let what = format!(
            "{email}: create user token ut{n} policies={}",
            self.describe_token_policies(&policies)
        );
        let r = self
            .app
            .create_token(
                &TokenScope::User(&p, &portcullis_core::audit::Origin::cli("test")),
                TokenCreate {
                    name: format!("user-token-{n}"),
                    policies,
                    not_before: None,
                    expires_on: None,
                    condition: None,
                },
            )
            .await;
        if let Ok((t, value)) = &r {
            self.name(t.id.as_str(), format!("ut{n}({email})"));
            self.user_tokens.push(Tok {
                id: t.id.clone(),
                value: value.clone(),
                user: Some(u),
            });
        }
        self.note(what, &r);
    }

    async fn update_user_token(&mut self) {
        let Some(i) = self.pick(self.user_tokens.len()) else {
            return;
        };
        let u = self.user_tokens[i].user.unwrap_or(0);
        let (email, key) = (self.users[u].email.clone(), self.users[u].key.clone());
        let Some(p) = self.key_principal(&email, &key).await else {
            panic!("user {email} cannot authenticate with their key");
        };
        let id = self.user_tokens[i].id.clone();
        let a = self.pick_account();
        let (upd, desc) = self.token_update(a, true);
        let r = self
            .app
            .update_token(
                &TokenScope::User(&p, &portcullis_core::audit::Origin::cli("test")),
                &id,
                upd,
            )
            .await;
        let what = format!("{email}: update user token {} {desc}", self.n(id.as_str()));
        self.note(what, &r);
    }

    async fn delete_user_token(&mut self) {
        let Some(i) = self.pick(self.user_tokens.len()) else {
            return;
        };
        let u = self.user_tokens[i].user.unwrap_or(0);
        let (email, key) = (self.users[u].email.clone(), self.users[u].key.clone());
        let Some(p) = self.key_principal(&email, &key).await else {
            panic!("user {email} cannot authenticate with their key");
        };
        let id = self.user_tokens[i].id.clone();
        let r = self
            .app
            .delete_token(
                &TokenScope::User(&p, &portcullis_core::audit::Origin::cli("test")),
                &id,
            )
            .await;
        let what = format!("{email}: delete user token {}", self.n(id.as_str()));
        if r.is_ok() {
            self.user_tokens.remove(i);
            push_dead(&mut self.dead_user_tokens, id);
        }
        self.note(what, &r);
    }

    /// One random write. Deletions and creations keep each population within bounds (a
    /// creation at the upper bound deletes instead, and the other way round), so the cost of a
    /// comparison round stays level.
    async fn write(&mut self) {
        let a = self.pick_account();
        let big = a == 0;
        let (members, groups, rgs, tokens) = (
            self.accts[a].members.len(),
            self.accts[a].groups.len(),
            self.accts[a].rgs.len(),
            self.accts[a].tokens.len(),
        );
        let bounds = |lo: usize, hi: usize, n: usize, create: bool| -> bool {
            if create {
                n < hi
            } else {
                n <= lo
            }
        };
        match self.rng.gen_range(0..100) {
            0..=9 => self.group_put(a, MembersChange::Add).await,
            10..=16 => self.group_remove(a).await,
            17..=22 => self.group_put(a, MembersChange::Replace).await,
            23..=32 => self.group_policies(a).await,
            33..=34 => self.rename_group(a).await,
            35..=42 => self.update_rg(a).await,
            43..=45 => {
                let (lo, hi) = (3, 7);
                if bounds(lo, hi, rgs, self.rng.gen_bool(0.4)) {
                    let objects = self.objects_menu(a);
                    self.create_rg(a, objects).await;
                } else {
                    self.delete_rg(a).await;
                }
            }
            46..=55 => self.update_member(a).await,
            56..=64 => {
                let (lo, hi) = if big { (9, 14) } else { (2, 5) };
                if bounds(lo, hi, members, self.rng.gen_bool(0.5)) {
                    self.create_member(a, None, None).await;
                } else {
                    self.delete_member(a).await;
                }
            }
            65..=69 => {
                let (lo, hi) = if big { (6, 10) } else { (1, 3) };
                if bounds(lo, hi, groups, self.rng.gen_bool(0.5)) {
                    self.create_group(a).await;
                } else {
                    self.delete_group(a).await;
                }
            }
            70..=77 => self.update_token(a).await,
            78..=82 => {
                let (lo, hi) = if big { (1, 4) } else { (1, 3) };
                if bounds(lo, hi, tokens, self.rng.gen_bool(0.5)) {
                    self.create_token(a).await;
                } else {
                    self.delete_token(a).await;
                }
            }
            83 => self.roll_token(a).await,
            84..=91 => self.update_user_token().await,
            _ => {
                if bounds(2, 5, self.user_tokens.len(), self.rng.gen_bool(0.5)) {
                    let u = self.rng.gen_range(0..self.users.len());
                    self.create_user_token(u).await;
                } else {
                    self.delete_user_token().await;
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Questions
    // -----------------------------------------------------------------------------------------

    /// Every question of a comparison round, for both accounts (principals authenticated now).
    async fn questions(&mut self) -> Vec<Query> {
        // Callers of authorize / effective_policies, per account.
        let mut user_principals: Vec<(String, Principal)> = Vec::new();
        for u in &self.users {
            if let Some(p) = self.key_principal(&u.email, &u.key).await {
                user_principals.push((u.email.clone(), p));
            }
        }
        let mut roots = Vec::new();
        for a in &self.accts {
            let p = self
                .key_principal(&a.root_email, &a.root_key)
                .await
                .unwrap_or_else(|| panic!("root of {} cannot authenticate", a.label));
            roots.push(p);
        }
        // Principals for route decisions: keyed users, user tokens, account tokens.
        let mut deciders: Vec<(String, Principal)> = user_principals
            .iter()
            .map(|(e, p)| (format!("user {e} (key)"), p.clone()))
            .collect();
        let values: Vec<(String, String)> = self
            .user_tokens
            .iter()
            .map(|t| (t.id.as_str().to_owned(), t.value.clone()))
            .collect();
        for (id, value) in values {
            if let Some(p) = self.bearer_principal(&value).await {
                deciders.push((format!("token {}", self.n(&id)), p));
            }
        }
        // Account tokens decide in their own account only (elsewhere: 403 before any lookup).
        let mut own_deciders: Vec<Vec<(String, Principal)>> = Vec::new();
        for a in 0..self.accts.len() {
            let values: Vec<(String, String)> = self.accts[a]
                .tokens
                .iter()
                .map(|t| (t.id.as_str().to_owned(), t.value.clone()))
                .collect();
            let mut own = vec![(
                format!("token {}", self.n(self.accts[a].admin_token.as_str())),
                self.accts[a].admin.clone(),
            )];
            for (id, value) in values {
                if let Some(p) = self.bearer_principal(&value).await {
                    own.push((format!("token {}", self.n(&id)), p));
                }
            }
            own_deciders.push(own);
        }
        let keys: Arc<Vec<String>> = Arc::new(KEYS.iter().map(|k| (*k).to_owned()).collect());

        let mut out = Vec::new();
        for a in 0..self.accts.len() {
            let acc = self.accts[a].id.clone();
            let label = self.accts[a].label.clone();
            let other = &self.accts[1 - a];
            let mut members: Vec<MemberId> =
                self.accts[a].members.iter().map(|m| m.0.clone()).collect();
            members.push(self.accts[a].root_member.clone());
            members.extend(self.accts[a].dead_members.iter().cloned());
            let foreign: Vec<MemberId> = other
                .members
                .iter()
                .map(|m| m.0.clone())
                .chain(other.dead_members.iter().cloned())
                .collect();
            members.extend(foreign.choose_multiple(&mut self.rng, 2).cloned());
            let mut tokens: Vec<TokenId> =
                self.accts[a].tokens.iter().map(|t| t.id.clone()).collect();
            tokens.push(self.accts[a].admin_token.clone());
            tokens.extend(self.accts[a].dead_tokens.iter().cloned());
            tokens.extend(self.user_tokens.iter().map(|t| t.id.clone()));
            tokens.extend(self.dead_user_tokens.iter().cloned());
            let foreign_tokens: Vec<TokenId> = other.tokens.iter().map(|t| t.id.clone()).collect();
            tokens.extend(foreign_tokens.choose(&mut self.rng).cloned());

            let admin = self.accts[a].admin.clone();
            let root = roots[a].clone();
            let caller = |rng: &mut StdRng| -> (String, Principal) {
                match rng.gen_range(0..6) {
                    0..=3 => ("bootstrap token".into(), admin.clone()),
                    4 => ("root user".into(), root.clone()),
                    _ => user_principals
                        .choose(rng)
                        .map(|(e, p)| (format!("user {e}"), p.clone()))
                        .unwrap_or_else(|| ("bootstrap token".into(), admin.clone())),
                }
            };
            let checks = Arc::clone(&self.accts[a].checks);
            for m in &members {
                let (who, c) = caller(&mut self.rng);
                out.push(Query {
                    what: format!(
                        "{label}: authorize member {} (caller: {who})",
                        self.n(m.as_str())
                    ),
                    ask: Ask::Authorize {
                        caller: c,
                        account: acc.clone(),
                        subject: Subject::Member(m.clone()),
                        checks: Arc::clone(&checks),
                    },
                });
                let (who, c) = caller(&mut self.rng);
                out.push(Query {
                    what: format!(
                        "{label}: effective_policies of member {} (caller: {who})",
                        self.n(m.as_str())
                    ),
                    ask: Ask::Effective {
                        caller: c,
                        account: acc.clone(),
                        member: m.clone(),
                    },
                });
            }
            for t in &tokens {
                let (who, c) = caller(&mut self.rng);
                out.push(Query {
                    what: format!(
                        "{label}: authorize token {} (caller: {who})",
                        self.n(t.as_str())
                    ),
                    ask: Ask::Authorize {
                        caller: c,
                        account: acc.clone(),
                        subject: Subject::Token(t.clone()),
                        checks: Arc::clone(&checks),
                    },
                });
            }
            for (who, p) in deciders.iter().chain(&own_deciders[a]) {
                out.push(Query {
                    what: format!("{label}: decide_keys for {who}"),
                    ask: Ask::Decide {
                        principal: p.clone(),
                        account: acc.clone(),
                        keys: Arc::clone(&keys),
                    },
                });
            }
        }
        out.shuffle(&mut self.rng);
        out
    }

    /// Asks A and a fresh F every question; any difference fails the test.
    async fn compare(&mut self, after: &str) {
        let t = Instant::now();
        let queries = self.questions().await;
        self.timing[1] += t.elapsed();
        let t = Instant::now();
        // A few questions at a time (nothing is written meanwhile); each F answer comes from
        // an app built for it alone.
        let mut answers: Vec<Option<(Answer, Answer)>> = queries.iter().map(|_| None).collect();
        let mut running = tokio::task::JoinSet::new();
        for (i, q) in queries.iter().enumerate() {
            if running.len() >= CONCURRENT_QUESTIONS {
                let (i, a, f) = running.join_next().await.unwrap().unwrap();
                answers[i] = Some((a, f));
            }
            let (app, fresh, ask) = (self.app.clone(), self.fresh(), q.ask.clone());
            running.spawn(async move {
                let a = answer(&app, &ask).await;
                let f = answer(&fresh, &ask).await;
                (i, a, f)
            });
        }
        while let Some(done) = running.join_next().await {
            let (i, a, f) = done.unwrap();
            answers[i] = Some((a, f));
        }
        self.timing[0] += t.elapsed();
        for (q, pair) in queries.iter().zip(answers) {
            let (a, f) = pair.unwrap();
            self.compared += 1;
            if a.compact() != f.compact() {
                let (a, f) = (a.pretty(), f.pretty());
                let mut legend: Vec<String> = self
                    .names
                    .iter()
                    .map(|(id, n)| format!("  {n} = {id}"))
                    .collect();
                legend.sort();
                panic!(
                    "[{}] INDEX DIVERGENCE (seed {}, replay with PORTCULLIS_MODEL_SEED={}) after {after}\n\
                     question: {}\n{}\n\
                     === A (long-lived, warm index) ===\n{a}\n\
                     === F (fresh index: computed from the database) ===\n{f}\n\
                     === writes so far ===\n{}\n=== names ===\n{}",
                    self.backend,
                    self.seed,
                    self.seed,
                    q.what,
                    first_difference(&a, &f),
                    self.log.join("\n"),
                    legend.join("\n")
                );
            }
        }
    }

    /// A few decisions on A only (warming its index), before a write or while it runs.
    async fn some_questions(&mut self) -> Vec<Query> {
        let all = self.questions().await;
        let k = self.rng.gen_range(3..=8).min(all.len());
        all.choose_multiple(&mut self.rng, k).cloned().collect()
    }
}

fn checks_for(account_key: &str, other_key: &str, zones: &[String], pal: &Palette) -> Vec<Check> {
    let z = |i: usize| Some(zones[i].clone());
    let acct = || Some(account_key.to_owned());
    let resources: [Option<String>; 13] = [
        None,
        None,
        z(0),
        None,
        z(1),
        acct(),
        z(0),
        None,
        acct(),
        z(2),
        None,
        z(1),
        Some(other_key.to_owned()),
    ];
    let mut out: Vec<Check> = KEYS
        .iter()
        .zip(resources)
        .map(|(k, r)| Check {
            permission: (*k).to_owned(),
            resource: r,
        })
        .collect();
    let group_resources = [None, z(0), None, z(1), acct(), None, z(2)];
    out.extend(
        pal.check_groups
            .iter()
            .zip(group_resources)
            .map(|(g, r)| Check {
                permission: g.clone(),
                resource: r,
            }),
    );
    out
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

async fn run(store: Arc<dyn Store>, backend: &'static str) {
    let seed = seed();
    let steps = steps();
    eprintln!(
        "[{backend}] index model: seed {seed}, {steps} steps (replay: PORTCULLIS_MODEL_SEED={seed})"
    );
    let started = Instant::now();
    let catalog = Arc::new(Catalog::builtin().unwrap());
    let app = Portcullis::new(Arc::clone(&store), Arc::clone(&catalog));
    let pal = palette(&catalog);
    let zones: Vec<String> = (1..=3).map(|i| format!("{ZONE_PREFIX}{i:032x}")).collect();

    let mut accts = Vec::new();
    let mut names = HashMap::new();
    for (i, label) in ["acc1", "acc2"].into_iter().enumerate() {
        let email = format!("root{}@example.com", i + 1);
        let boot = app
            .bootstrap(&format!("Model {label}"), &email, i > 0)
            .await
            .unwrap();
        let admin = app
            .authenticate(
                &Credentials::Bearer(boot.api_token.clone()),
                None,
                Timestamp::now(),
            )
            .await
            .unwrap();
        names.insert(boot.account_id.as_str().to_owned(), label.to_owned());
        names.insert(
            boot.member_id.as_str().to_owned(),
            format!("{label}.root({email})"),
        );
        names.insert(
            boot.api_token_id.as_str().to_owned(),
            format!("{label}.bootstrap-token"),
        );
        names.insert(boot.user_id.as_str().to_owned(), format!("user({email})"));
        accts.push(Acct {
            key: format!("com.cloudflare.api.account.{}", boot.account_id),
            id: boot.account_id,
            label: label.to_owned(),
            admin,
            admin_token: boot.api_token_id,
            root_member: boot.member_id,
            root_email: email,
            root_key: boot.api_key,
            rgs: Vec::new(),
            groups: Vec::new(),
            members: Vec::new(),
            dead_members: VecDeque::new(),
            tokens: Vec::new(),
            dead_tokens: VecDeque::new(),
            checks: Arc::new(Vec::new()),
        });
    }
    for a in 0..2 {
        let (own, other) = (accts[a].key.clone(), accts[1 - a].key.clone());
        accts[a].checks = Arc::new(checks_for(&own, &other, &zones, &pal));
    }
    // Users with a global key (they also own tokens), created before any decision.
    let mut users = Vec::new();
    for i in 0..4 {
        let email = format!("u{i}@example.com");
        let issued = app.user_key(&email, false).await.unwrap();
        names.insert(issued.user.id.as_str().to_owned(), format!("user({email})"));
        users.push(KeyedUser {
            email,
            key: issued.key,
        });
    }
    let mut w = World {
        backend,
        seed,
        app,
        store,
        catalog,
        pal,
        accts,
        users,
        user_tokens: Vec::new(),
        dead_user_tokens: VecDeque::new(),
        emails: (0..4).map(|i| format!("u{i}@example.com")).collect(),
        counter: 0,
        zones,
        names,
        rng: StdRng::seed_from_u64(seed),
        log: Vec::new(),
        step: 0,
        compared: 0,
        timing: [Duration::ZERO; 3],
    };

    // Setup: resource groups, members (keyed users and others), groups, tokens.
    for a in 0..2 {
        let key = w.accts[a].key.clone();
        let z = w.zones.clone();
        for objects in [
            vec!["*".to_owned()],
            vec![key.clone()],
            vec![key, z[0].clone()],
            vec![z[0].clone(), z[1].clone()],
            vec![format!("{ZONE_PREFIX}*")],
        ] {
            w.create_rg(a, objects).await;
        }
        let keyed = if a == 0 { 4 } else { 2 };
        for u in 0..keyed {
            let status = if u == 3 {
                MemberStatus::Pending
            } else {
                MemberStatus::Accepted
            };
            w.create_member(a, Some(format!("u{u}@example.com")), Some(status))
                .await;
        }
        for _ in 0..(if a == 0 { 8 } else { 1 }) {
            w.create_member(a, Some(format!("m{}@example.com", w.counter + 1000)), None)
                .await;
        }
        for _ in 0..(if a == 0 { 8 } else { 2 }) {
            w.create_group(a).await;
        }
        for _ in 0..(if a == 0 { 24 } else { 3 }) {
            w.group_put(a, MembersChange::Add).await;
        }
        for _ in 0..(if a == 0 { 3 } else { 2 }) {
            w.create_token(a).await;
        }
    }
    for u in [0, 0, 1, 2] {
        w.create_user_token(u).await;
    }
    w.compare("setup").await;

    let mut last_hits = w.app.index().stats().hits;
    for step in 1..=steps {
        w.step = step;
        // Warm A between writes (its index then holds what the write may invalidate).
        if w.rng.gen_bool(0.5) {
            for q in w.some_questions().await {
                let _ = answer(&w.app, &q.ask).await;
            }
        }
        // Sometimes A keeps answering while a burst of 1-3 writes runs: each write makes A
        // reload, and those loads race the next write's commit.
        let racing = if w.rng.gen_bool(0.3) {
            let questions = w.questions().await;
            let stop = Arc::new(AtomicBool::new(false));
            let (app, stopped) = (w.app.clone(), Arc::clone(&stop));
            let task = tokio::spawn(async move {
                'asking: loop {
                    for q in &questions {
                        if stopped.load(Ordering::Relaxed) {
                            break 'asking;
                        }
                        let _ = answer(&app, &q.ask).await;
                        tokio::task::yield_now().await;
                    }
                }
            });
            Some((stop, task))
        } else {
            None
        };
        let writes = if racing.is_some() {
            w.rng.gen_range(1..=3)
        } else {
            1
        };
        let t = Instant::now();
        for _ in 0..writes {
            w.write().await;
        }
        w.timing[2] += t.elapsed();
        if let Some((stop, task)) = racing {
            stop.store(true, Ordering::Relaxed);
            task.await.unwrap();
        }
        let after = w.log.last().cloned().unwrap_or_default();
        w.compare(&after).await;
        if step % 50 == 0 {
            let stats = w.app.index().stats();
            assert!(
                stats.hits > last_hits,
                "[{backend} seed {seed}] A's index had no hits in steps {}..={step}: {stats:?}",
                step - 49
            );
            eprintln!("[{backend}] step {step}: A's index {stats:?}");
            last_hits = stats.hits;
        }
    }
    if std::env::var_os("PORTCULLIS_MODEL_LOG").is_some() {
        eprintln!("[{backend}] writes:\n{}", w.log.join("\n"));
    }
    let stats = w.app.index().stats();
    let refused = w.log.iter().filter(|l| l.contains("-> refused")).count();
    eprintln!(
        "[{backend}] seed {seed}: {steps} steps, {} writes with setup ({refused} refused), {} comparisons, A's index {stats:?}, {:.1} s \
         (answering {:.1} s, authenticating {:.1} s, writing {:.1} s)",
        w.log.len(),
        w.compared,
        started.elapsed().as_secs_f64(),
        w.timing[0].as_secs_f64(),
        w.timing[1].as_secs_f64(),
        w.timing[2].as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_agrees_with_the_database_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/model.db", dir.path().display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
    run(store, "SQLite").await;
}

/// Drops the test's schema when the test ends (pass or fail).
struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                    let _ = pool
                        .execute(format!("drop schema if exists {name} cascade").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_agrees_with_the_database_postgres() {
    let Ok(url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") else {
        eprintln!("PostgreSQL NOT TESTED: PORTCULLIS_TEST_POSTGRES_URL is not set");
        return;
    };
    let name = format!("im_{:016x}", rand::random::<u64>());
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{name}");
    let _guard = Schema {
        url: url.clone(),
        name,
    };
    let store = PostgresStore::open(&scoped).await.unwrap_or_else(|e| {
        panic!("PORTCULLIS_TEST_POSTGRES_URL is set but PostgreSQL is unusable: {e}")
    });
    let listener = store.hear_changes();
    let started = Instant::now();
    while !store.revisions().is_live() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the store did not go live"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let store: Arc<dyn Store> = Arc::new(store);
    run(store, "PostgreSQL").await;
    listener.abort();
}
