//! The policy index never serves a stale decision: members' and tokens' effective policies are
//! cached in memory and invalidated by per-account (and token) change stamps that every store
//! write bumps when it commits (`portcullis-core/src/service/index.rs`, `changes.rs`).
//!
//! Every test warms the index first (the same decision or request twice, asserting the answer
//! before the write), performs one kind of write through HTTP, and then asserts the new answer
//! with the very next request: no sleeps, no retries. Both ways into the index are covered:
//! the decision API (`POST .../iam/authorize`, `GET .../effective_policies`: members by member
//! id, tokens by token id) and real enforcement (a member's own global API key or a token
//! calling a guarded route: members by user id, tokens as authenticated). Which of them asks
//! first after a write alternates, so each is seen invalidated on its own.
//!
//! The scenarios are data: an [`Expect`] says what each entry point answers about one member or
//! token (verdicts, provenance, the route's answer, finer points), which entry point asks first
//! and how many times each asks in a row, and every assertion before and after a write goes
//! through [`check`].
//!
//! On PostgreSQL the index is only used once the server hears other replicas' changes, so
//! [`spawn`] waits for that first. A token used while it is being changed or deleted must not
//! be indexed stale (a race, tried 300 times).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Catalog facts, read from the data files and checked (`../portcullis-core/data`)
// ---------------------------------------------------------------------------------------------

const K_ACCOUNT_READ: &str = "com.cloudflare.api.account.read";
const K_RG_LIST: &str = "com.cloudflare.api.iam.resource-group.list";
const K_RG_READ: &str = "com.cloudflare.api.iam.resource-group.read";
const K_MEMBER_READ: &str = "com.cloudflare.api.account.member.read";
const K_ORG_EDIT: &str = "#organization:edit";
const K_TOKEN_LIST: &str = "com.cloudflare.api.account.token.list";

/// The permission groups and roles these tests grant, with ids looked up by name.
struct Catalog {
    /// Token group "Account Settings Read": reads of the account, its members and groups.
    settings_read: String,
    /// Token group "Account Settings Write": adds `#organization:edit`.
    settings_write: String,
    /// Token group "Account API Tokens Read": token list/read only.
    tokens_read: String,
    /// Legacy role "Minimal Account Access": the account itself and the permission groups.
    minimal_role: String,
    /// Legacy role "Administrator Read Only": every read and list.
    read_only_role: String,
}

/// Whether the catalog's grant patterns for group `name` include `key` (`*`, `prefix.*`, exact).
fn grants(name: &str, key: &str) -> bool {
    let data = shared_data("permission_keys.json");
    let patterns = data["grants"][name]
        .as_array()
        .unwrap_or_else(|| panic!("permission_keys.json grants nothing to {name:?}"));
    patterns.iter().filter_map(Value::as_str).any(|p| {
        p == "*" || p == key || p.strip_suffix('*').is_some_and(|pre| key.starts_with(pre))
    })
}

/// The id of the one entry named `name` in data file `file` (in catalog `catalog`, if given).
fn catalog_id(file: &str, name: &str, catalog: Option<&str>) -> String {
    let entries = shared_data(file);
    let found: Vec<&Value> = entries
        .as_array()
        .unwrap_or_else(|| panic!("{file} is an array"))
        .iter()
        .filter(|e| e["name"] == name && catalog.is_none_or(|c| e["catalog"] == c))
        .collect();
    assert_eq!(found.len(), 1, "one entry named {name:?} in {file}");
    str_field(found[0], "id")
}

fn token_group_id(name: &str) -> String {
    catalog_id("permission_groups.json", name, Some("api_token"))
}

fn role_id(name: &str) -> String {
    catalog_id("account_roles.json", name, None)
}

/// The permission keys these tests decide.
const KEYS: [&str; 6] = [
    K_ACCOUNT_READ,
    K_RG_LIST,
    K_RG_READ,
    K_MEMBER_READ,
    K_ORG_EDIT,
    K_TOKEN_LIST,
];

/// Looks the groups up and checks that they grant what the tests below assume.
fn catalog() -> Catalog {
    let keys = shared_data("permission_keys.json");
    for k in KEYS {
        assert!(
            keys["keys"][k].is_string(),
            "{k} is a key Portcullis decides"
        );
    }
    // Which of [`KEYS`] each group grants, in order: `x` it does, `-` it does not.
    for (name, granted) in [
        ("Account Settings Read", "xxxx--"),
        ("Account Settings Write", "xxxxx-"),
        ("Account API Tokens Read", "-----x"),
        ("Minimal Account Access", "x-----"),
        ("Administrator Read Only", "xxxx-x"),
    ] {
        for (k, yes) in KEYS.into_iter().zip(granted.chars().map(|c| c == 'x')) {
            let not = if yes { "" } else { "not " };
            assert_eq!(grants(name, k), yes, "{name} does {not}grant {k}");
        }
    }
    let c = Catalog {
        settings_read: token_group_id("Account Settings Read"),
        settings_write: token_group_id("Account Settings Write"),
        tokens_read: token_group_id("Account API Tokens Read"),
        minimal_role: role_id("Minimal Account Access"),
        read_only_role: role_id("Administrator Read Only"),
    };
    assert_eq!(c.settings_read, PG_ACCOUNT_SETTINGS_READ);
    assert_eq!(c.read_only_role, ROLE_ADMIN_READ_ONLY);
    c
}

/// A server whose policy index is in use. On PostgreSQL the index is bypassed until the server
/// hears other replicas' changes (`LISTEN`), so this waits for that (before any request; never
/// after a write) and the tests below exercise the cache on both backends.
async fn spawn() -> TestApp {
    let app = TestApp::spawn();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, _, text) = app
            .raw(
                reqwest::Method::GET,
                &format!("{}/readyz", app.base()),
                &Cred::Anon,
                Body::None,
            )
            .await;
        let ready: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if ready["result"]["policy_index"]["live"] == json!(true) {
            return app;
        }
        assert!(
            Instant::now() < deadline,
            "the server never started hearing changes, so its policy index stays off and \
             these tests would prove nothing: {text}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios as data: who is asked about, what each entry point answers, and [`check`]
// ---------------------------------------------------------------------------------------------

/// Who the index is asked about, and how each entry point reaches them.
#[derive(Clone)]
struct Subject {
    /// `{"member_id": …}` or `{"token_id": …}`: the principal the decision API decides for.
    principal: Value,
    /// The membership or token id (what a 404 names).
    id: String,
    /// What real enforcement is called with: the member's own global API key, or the token.
    cred: Cred,
    /// The account asked about.
    account: String,
    /// Who asks the decision API and effective policies.
    operator: Cred,
}

impl Subject {
    /// A membership in `account`, asked about by `operator`.
    fn member_in(account: &str, operator: &Cred, id: &str, cred: Cred) -> Subject {
        Subject {
            principal: json!({ "member_id": id }),
            id: id.to_owned(),
            cred,
            account: account.to_owned(),
            operator: operator.clone(),
        }
    }

    /// A membership in the bootstrap account, asked about by the operator's token.
    fn member(app: &TestApp, id: &str, cred: Cred) -> Subject {
        Subject::member_in(&app.boot.account_id, &app.admin(), id, cred)
    }

    /// A token used in the bootstrap account, asked about by the operator's token.
    fn token(app: &TestApp, id: &str, value: &str) -> Subject {
        Subject {
            principal: json!({ "token_id": id }),
            ..Subject::member(app, id, Cred::token(value))
        }
    }
}

/// The entry points into the index; [`check`] asks them in this order after the one that asks
/// first.
#[derive(Clone, Copy, PartialEq)]
enum Ask {
    /// `POST .../iam/authorize`.
    Decisions,
    /// Guarded routes called with the subject's own credential.
    Enforcement,
    /// `GET .../members/{m}/effective_policies`.
    Effective,
}

/// A guarded route.
#[derive(Clone, Copy)]
enum Route {
    /// `GET /accounts/{a}/iam/resource_groups`: needs [`K_RG_LIST`].
    Rgs,
    /// `GET /accounts/{a}/tokens`: needs [`K_TOKEN_LIST`].
    Tokens,
}

/// How a guarded route answers.
#[derive(Clone, Copy)]
enum Access {
    /// 200, a list.
    Served,
    /// 403/10000 naming the route's permission key.
    Denied,
    /// 403/10000: the caller is not an accepted member of the account.
    Outsider,
    /// 403/9109: the token cannot be used.
    Unusable,
}

/// What the decision API answers.
#[derive(Clone)]
enum Decided {
    /// These verdicts, one a check.
    Verdicts(Vec<bool>),
    /// Exactly these results.
    Exactly(Vec<Value>),
    /// Any well-formed results.
    Any,
    /// 404/1003 naming the subject's id.
    Unknown,
    /// 403/10000: the principal is not a member of the account.
    Outsider,
}

/// What effective policies answer.
#[derive(Clone)]
enum Holds {
    /// Policies of this provenance, in this order.
    Provenance(Vec<Origin>),
    /// Any well-formed answer.
    Any,
    /// 404/1003 naming the member id.
    Unknown,
}

/// (policy id, access, source kind, user-group id or "") of a policy that decided a check.
type By = (String, String, String, String);

/// (policy id, source kind, user-group id or role id or "") of an effective policy.
type Origin = (String, String, String);

/// A user group's id and policy ids.
type Group = (String, Vec<String>);

/// Where a decision names the user group of the first policy that decided it.
const GROUP_NAME: &str = "/decided_by/0/source/user_group/name";

/// A finer point of the decision results.
#[derive(Clone)]
enum Detail {
    /// The policies that decided check `i`, exactly.
    DecidedBy(usize, Vec<By>),
    /// One of the policies that decided check `i`.
    DecidedAmong(usize, By),
    /// The source kinds of the policies that decided check `i`, in order.
    Sources(usize, Vec<&'static str>),
    /// The reason for check `i` (`None`: for every check) contains this.
    Reason(Option<usize>, &'static str),
    /// The value at a JSON pointer into the result for check `i` (`null` when absent).
    At(usize, &'static str, Value),
}

use Access::*;
use Ask::*;
use Detail::*;
use Route::*;

/// One expectation of the index: what each entry point answers about a subject, which entry
/// point asks first, and how many times each asks in a row.
#[derive(Clone)]
struct Expect {
    who: Subject,
    checks: Vec<Value>,
    /// The decision API's answer (`None`: not asked) and finer points of its results.
    decided: Option<Decided>,
    details: Vec<Detail>,
    /// Guarded routes and how each answers.
    routes: Vec<(Route, Access)>,
    /// Effective policies' answer (`None`: not asked) and (JSON pointer, value) in it.
    holds: Option<Holds>,
    policies_at: Vec<(String, Value)>,
    first: Ask,
    rounds: usize,
}

impl Expect {
    fn of(who: &Subject, checks: &[Value]) -> Expect {
        Expect {
            who: who.clone(),
            checks: checks.to_vec(),
            decided: None,
            details: Vec::new(),
            routes: Vec::new(),
            holds: None,
            policies_at: Vec::new(),
            first: Decisions,
            rounds: 1,
        }
    }

    fn decided(mut self, d: Decided) -> Expect {
        self.decided = Some(d);
        self
    }

    fn allows<const N: usize>(self, verdicts: [bool; N]) -> Expect {
        self.decided(Decided::Verdicts(verdicts.to_vec()))
    }

    fn with(mut self, d: Detail) -> Expect {
        self.details.push(d);
        self
    }

    fn on(mut self, route: Route, access: Access) -> Expect {
        self.routes.push((route, access));
        self
    }

    fn holds(mut self, h: Holds) -> Expect {
        self.holds = Some(h);
        self
    }

    fn provenance(self, origins: Vec<Origin>) -> Expect {
        self.holds(Holds::Provenance(origins))
    }

    fn policy_at(mut self, pointer: &str, value: Value) -> Expect {
        self.policies_at.push((pointer.to_owned(), value));
        self
    }

    fn first(mut self, ask: Ask) -> Expect {
        self.first = ask;
        self
    }

    /// The same expectation about another subject.
    fn about(&self, who: &Subject) -> Expect {
        Expect {
            who: who.clone(),
            ..self.clone()
        }
    }

    fn rounds(mut self, n: usize) -> Expect {
        self.rounds = n;
        self
    }

    /// Every entry point asks twice in a row: the second answer comes from a warm index.
    fn warm(self) -> Expect {
        self.rounds(2)
    }
}

/// Asks every entry point `e` names about its subject, `e.first` first and then the others in
/// [`Ask`] order, each `e.rounds` times in a row, and asserts every answer; repeated answers are
/// identical (a warm index answers as the store did). Returns the decision results.
async fn check(app: &TestApp, e: &Expect, when: &str) -> Vec<Value> {
    assert!(
        e.decided.is_some() || e.details.is_empty(),
        "{when}: details of decisions nobody asks for"
    );
    assert!(
        e.holds.is_some() || e.policies_at.is_empty(),
        "{when}: details of effective policies nobody asks for"
    );
    let rest = [Decisions, Enforcement, Effective]
        .into_iter()
        .filter(|a| *a != e.first);
    let mut results = Vec::new();
    for ask in std::iter::once(e.first).chain(rest) {
        match ask {
            Decisions => results = check_decisions(app, e, when).await,
            Enforcement => {
                for &(route, access) in &e.routes {
                    for _ in 0..e.rounds {
                        access.assert(route, &route.call(app, &e.who).await, when);
                    }
                }
            }
            Effective => check_effective(app, e, when).await,
        }
    }
    results
}

/// The decision API's part of [`check`].
async fn check_decisions(app: &TestApp, e: &Expect, when: &str) -> Vec<Value> {
    let Some(want) = &e.decided else {
        return Vec::new();
    };
    let (who, checks) = (&e.who, &e.checks);
    let mut first: Option<Vec<Value>> = None;
    for _ in 0..e.rounds {
        let r = authorize(app, who, checks).await;
        let results = match want {
            Decided::Unknown => {
                assert_error_mentions(&r, 404, 1003, &[&who.id]);
                continue;
            }
            Decided::Outsider => {
                assert_outsider(&r);
                continue;
            }
            Decided::Verdicts(v) => {
                let results = results(&r, who, checks);
                let p = &who.principal;
                assert_eq!(&verdicts(&results), v, "{when}: {p} on {checks:?}: {r}");
                results
            }
            Decided::Exactly(x) => {
                let results = results(&r, who, checks);
                assert_eq!(&results, x, "{when}: account {}", who.account);
                results
            }
            Decided::Any => results(&r, who, checks),
        };
        for d in &e.details {
            d.assert(&results, when);
        }
        match &first {
            Some(f) => assert_eq!(f, &results, "{when}: a warm index answers as the store did"),
            None => first = Some(results),
        }
    }
    first.unwrap_or_default()
}

/// The effective policies' part of [`check`].
async fn check_effective(app: &TestApp, e: &Expect, when: &str) {
    let Some(want) = &e.holds else {
        return;
    };
    let who = &e.who;
    let mut first: Option<Value> = None;
    for _ in 0..e.rounds {
        let r = effective(app, who).await;
        if let Holds::Unknown = want {
            assert_error_mentions(&r, 404, 1003, &[&who.id]);
            continue;
        }
        let v = r.ok().clone();
        assert_eq!(v["member_id"], json!(who.id), "{r}");
        assert!(v["policies"].is_array(), "{r}");
        if let Holds::Provenance(origins) = want {
            assert_eq!(&provenance(&v), origins, "{when}: {v}");
        }
        for (pointer, value) in &e.policies_at {
            let got = v.pointer(pointer).unwrap_or(&Value::Null);
            assert_eq!(got, value, "{when}: {pointer} in {v}");
        }
        match &first {
            Some(f) => assert_eq!(f, &v, "{when}: a warm index answers as the store did"),
            None => first = Some(v),
        }
    }
}

impl Route {
    fn key(self) -> &'static str {
        match self {
            Rgs => K_RG_LIST,
            Tokens => K_TOKEN_LIST,
        }
    }

    /// Calls the route in the subject's account with the subject's credential.
    async fn call(self, app: &TestApp, who: &Subject) -> Resp {
        let rest = match self {
            Rgs => "iam/resource_groups",
            Tokens => "tokens",
        };
        app.get(&format!("/accounts/{}/{rest}", who.account), &who.cred)
            .await
    }
}

impl Access {
    fn assert(self, route: Route, r: &Resp, when: &str) {
        match self {
            Served => {
                assert_eq!(r.status, 200, "{when}: served: {r}");
                r.list();
            }
            Denied => {
                r.err(403, 10000);
                let key = route.key();
                assert!(
                    r.text.contains(&format!("requires permission '{key}'")),
                    "{when}: the denial names {key}: {r}"
                );
            }
            Outsider => assert_outsider(r),
            Unusable => {
                r.err(403, 9109);
            }
        }
    }
}

impl Detail {
    fn assert(&self, results: &[Value], when: &str) {
        let d = |i: &usize| &results[*i];
        match self {
            DecidedBy(i, want) => assert_eq!(&decided_by(d(i)), want, "{when}: {:#}", d(i)),
            DecidedAmong(i, b) => assert!(decided_by(d(i)).contains(b), "{when}: {:#}", d(i)),
            Sources(i, kinds) => {
                let got: Vec<String> = decided_by(d(i)).into_iter().map(|b| b.2).collect();
                assert_eq!(&got, kinds, "{when}: the layers that decided: {:#}", d(i));
            }
            Reason(which, needle) => {
                for (j, r) in results.iter().enumerate() {
                    let reason = r["reason"].as_str().unwrap_or_default();
                    let named = which.is_some_and(|i| i != j) || reason.contains(needle);
                    assert!(named, "{when}: the reason names {needle:?}: {r:#}");
                }
            }
            At(i, pointer, value) => {
                let got = d(i).pointer(pointer).unwrap_or(&Value::Null);
                assert_eq!(got, value, "{when}: {pointer} in {:#}", d(i));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests, answers and fixtures
// ---------------------------------------------------------------------------------------------

/// A check of `permission` (a key or a permission-group id) on the account.
fn on_account(permission: &str) -> Value {
    json!({ "permission": permission })
}

/// A check of `permission` on `resource`.
fn on(permission: &str, resource: &str) -> Value {
    json!({ "permission": permission, "resource": resource })
}

/// `POST /accounts/{account}/iam/authorize` about `who`, as `who.operator`.
async fn authorize(app: &TestApp, who: &Subject, checks: &[Value]) -> Resp {
    app.post(
        &format!("/accounts/{}/iam/authorize", who.account),
        &who.operator,
        json!({ "principal": who.principal, "checks": checks }),
    )
    .await
}

/// A check of each permission on the account.
fn on_account_all(permissions: &[&str]) -> Vec<Value> {
    permissions.iter().map(|p| on_account(p)).collect()
}

/// The results of a decision of `checks`, after checking the answer's shape.
fn results(r: &Resp, who: &Subject, checks: &[Value]) -> Vec<Value> {
    let results = r.list().clone();
    assert_eq!(results.len(), checks.len(), "one result per check: {r}");
    let account_key = account_resource(&who.account);
    for (c, d) in checks.iter().zip(&results) {
        assert_eq!(d["permission"], c["permission"], "{r}");
        let resource = c["resource"].as_str().unwrap_or(&account_key);
        assert_eq!(d["resource"], json!(resource), "{r}");
        assert!(d["allowed"].is_boolean(), "{r}");
        assert!(d["decided_by"].is_array(), "{r}");
        assert!(d["reason"].is_string(), "{r}");
    }
    results
}

fn verdicts(results: &[Value]) -> Vec<bool> {
    results
        .iter()
        .map(|d| d["allowed"].as_bool().unwrap_or_else(|| panic!("{d}")))
        .collect()
}

/// `f` of each element of the array `v[field]`.
fn each<T>(v: &Value, field: &str, f: impl Fn(&Value) -> T) -> Vec<T> {
    let items = v[field].as_array();
    items
        .unwrap_or_else(|| panic!("{field}: {v}"))
        .iter()
        .map(f)
        .collect()
}

fn decided_by(d: &Value) -> Vec<By> {
    each(d, "decided_by", |p| {
        let group = p["source"]["user_group"]["id"].as_str().unwrap_or_default();
        let kind = str_field(&p["source"], "kind");
        (
            str_field(p, "policy_id"),
            str_field(p, "access"),
            kind,
            group.to_owned(),
        )
    })
}

fn by(policy: &str, access: &str, kind: &str, group: &str) -> By {
    (policy.into(), access.into(), kind.into(), group.into())
}

/// A policy of user group `group` that decided a check.
fn by_group(policy: &str, access: &str, group: &str) -> By {
    by(policy, access, "user_group", group)
}

/// `GET /accounts/{a}/members/{m}/effective_policies` about `who`, as `who.operator`.
async fn effective(app: &TestApp, who: &Subject) -> Resp {
    app.get(
        &format!(
            "/accounts/{}/members/{}/effective_policies",
            who.account, who.id
        ),
        &who.operator,
    )
    .await
}

fn provenance(ep: &Value) -> Vec<Origin> {
    each(ep, "policies", |p| {
        let s = &p["source"];
        let owner = s["user_group"]["id"]
            .as_str()
            .or_else(|| s["role"]["id"].as_str());
        let owner = owner.unwrap_or_default().to_owned();
        (str_field(p, "id"), str_field(s, "kind"), owner)
    })
}

fn origin(policy: &str, kind: &str, owner: &str) -> Origin {
    (policy.into(), kind.into(), owner.into())
}

/// An effective policy that comes from the legacy role `role`.
fn role(role: &str) -> Origin {
    origin(role, "role", role)
}

/// An effective policy of user group `group`.
fn of_group(policy: &str, group: &str) -> Origin {
    origin(policy, "user_group", group)
}

/// A 403/10000 for a caller that is not an accepted member of the account.
fn assert_outsider(r: &Resp) {
    r.err(403, 10000);
    assert!(r.text.contains("is not a member of account"), "{r}");
}

/// Creates an accepted member in `account` (as `admin`) holding `grants` (`{"roles": …}` or
/// `{"policies": …}`); returns the member id.
async fn join_account(
    app: &TestApp,
    account: &str,
    admin: &Cred,
    email: &str,
    grants: Value,
) -> String {
    let mut body = json!({ "email": email, "status": "accepted" });
    for (k, v) in grants.as_object().expect("grants is an object") {
        body[k] = v.clone();
    }
    post_id(app, admin, &format!("/accounts/{account}/members"), body).await
}

/// `POST path` as `cred`, which must succeed; returns the result's `id`.
async fn post_id(app: &TestApp, cred: &Cred, path: &str, body: Value) -> String {
    str_field(app.post(path, cred, body).await.ok(), "id")
}

/// An accepted member of the bootstrap account holding `grants`, with their own global API key.
async fn person(app: &TestApp, email: &str, grants: Value) -> Subject {
    let id = join_account(app, &app.boot.account_id, &app.admin(), email, grants).await;
    let (_, key) = app.user_key(email, false);
    Subject::member(app, &id, Cred::key(email, &key))
}

/// Where most tests start: a server ([`spawn`]), the catalog, a resource group "All" covering
/// the bootstrap account, accepted members holding only the role "Minimal Account Access" (one
/// an email), and a user group `name` allowing Account Settings Read on "All" that holds the
/// first `joined` of them. Returns (server, catalog, "All", members, (group, policy ids)).
async fn world<const N: usize>(
    name: &str,
    emails: [&str; N],
    joined: usize,
) -> (TestApp, Catalog, String, [Subject; N], Group) {
    let (app, cat) = (spawn().await, catalog());
    let all = rg_all(&app, "All").await;
    let mut members = Vec::new();
    for email in emails {
        members.push(person(&app, email, roles(&cat.minimal_role)).await);
    }
    let holders: Vec<&Subject> = members.iter().take(joined).collect();
    let group = group(&app, name, &cat.settings_read, &all, &holders).await;
    let members = members.try_into().unwrap_or_else(|_| unreachable!());
    (app, cat, all, members, group)
}

/// `{"roles": [role]}`
fn roles(role: &str) -> Value {
    json!({ "roles": [role] })
}

/// The policies `[allow permission group `pg` on resource group `rg`]`.
fn allow(pg: &str, rg: &str) -> Value {
    json!([policy("allow", &[pg], &[rg])])
}

/// A token policy with `effect` on permission group `pg`, on the whole bootstrap account.
fn token_policy(app: &TestApp, effect: &str, pg: &str) -> Value {
    let account_key = account_resource(&app.boot.account_id);
    json!({ "effect": effect, "permission_groups": [{ "id": pg }], "resources": { account_key: "*" } })
}

/// An account-owned token of the bootstrap account (created by the operator).
async fn account_token(app: &TestApp, body: Value) -> Subject {
    let (id, value) = app
        .create_account_token(&app.boot.account_id, &app.admin(), body)
        .await;
    Subject::token(app, &id, &value)
}

/// A user group in the bootstrap account allowing permission group `pg` on resource group `rg`,
/// holding `members`; returns (id, policy ids).
async fn group(app: &TestApp, name: &str, pg: &str, rg: &str, members: &[&Subject]) -> Group {
    let g = create_ug(app, name, Some(allow(pg, rg))).await;
    let id = str_field(&g, "id");
    if !members.is_empty() {
        add_to_group(app, &id, members).await;
    }
    (id, policy_ids(&g))
}

/// `PUT path` as the operator's token, which must succeed; returns the result.
async fn put(app: &TestApp, path: &str, body: Value) -> Value {
    app.put(path, &app.admin(), body).await.ok().clone()
}

/// `DELETE path` as the operator's token, which must succeed; returns the result.
async fn delete(app: &TestApp, path: &str) -> Value {
    app.delete(path, &app.admin()).await.ok().clone()
}

async fn add_to_group(app: &TestApp, group: &str, members: &[&Subject]) {
    let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
    app.post(&gm_path(app, group, ""), &app.admin(), id_list(&ids))
        .await
        .ok();
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn the_catalog_grants_what_these_tests_assume() {
    catalog();
}

/// Adding a member to a user group grants the group's permissions with the next request:
/// real enforcement (the member's own key; the index by user) and the decision API.
#[tokio::test]
async fn joining_a_user_group_grants_at_once() {
    let (app, cat, _, [p], (g, gp)) = world("Readers", ["joiner@example.com"], 0).await;
    let checks = on_account_all(&[
        K_RG_LIST,
        K_MEMBER_READ,
        K_ACCOUNT_READ,
        &cat.settings_read,
        K_TOKEN_LIST,
    ]);

    // Before: the role only.
    let before = Expect::of(&p, &checks)
        .allows([false, false, true, false, false])
        .on(Rgs, Denied)
        .provenance(vec![role(&cat.minimal_role)]);
    check(&app, &before.warm(), "before joining").await;

    add_to_group(&app, &g, &[&p]).await;

    // After: enforcement asks first, then the decision API, then effective policies.
    let after = Expect::of(&p, &checks)
        .allows([true, true, true, true, false])
        .with(DecidedBy(0, vec![by_group(&gp[0], "allow", &g)]))
        .with(At(0, GROUP_NAME, json!("Readers")))
        .on(Rgs, Served)
        .on(Tokens, Denied)
        .provenance(vec![role(&cat.minimal_role), of_group(&gp[0], &g)])
        .first(Enforcement);
    check(&app, &after, "right after joining").await;
}

/// `DELETE .../user_groups/{g}/members/{m}` revokes what the group granted with the next
/// request (the decision API asks first here).
#[tokio::test]
async fn leaving_a_user_group_revokes_at_once() {
    let (app, cat, _, [p, stays], (g, gp)) =
        world("Readers", ["leaver@example.com", "stays@example.com"], 2).await;
    let checks = [on_account(K_RG_LIST), on_account(&cat.settings_read)];
    let stays_in = Expect::of(&stays, &checks)
        .allows([true, true])
        .on(Rgs, Served);
    let held = vec![role(&cat.minimal_role), of_group(&gp[0], &g)];
    let p_in = stays_in.about(&p).provenance(held);
    check(&app, &p_in.warm(), "in the group").await;
    check(&app, &stays_in.clone().warm(), "in the group").await;

    let gone = delete(&app, &gm_path(&app, &g, &format!("/{}", p.id))).await;
    assert_eq!(str_field(&gone, "id"), p.id, "{gone}");

    let left = Expect::of(&p, &checks)
        .allows([false, false])
        .with(DecidedBy(0, vec![]))
        .on(Rgs, Denied)
        .provenance(vec![role(&cat.minimal_role)]);
    check(&app, &left, "right after leaving").await;
    // The other member of the group keeps it.
    check(&app, &stays_in.first(Enforcement), "stays").await;
}

/// `PUT .../user_groups/{g}/members` replaces the membership: whoever it drops loses the
/// group's permissions, whoever it adds gains them, `[]` drops everyone, each with the next
/// request.
#[tokio::test]
async fn replacing_a_groups_members_applies_at_once() {
    let (app, cat, _, [p, q], (g, gp)) =
        world("Readers", ["first@example.com", "second@example.com"], 1).await;
    let checks = [on_account(K_RG_LIST), on_account(K_MEMBER_READ)];
    // Whoever is in the group, and whoever is not.
    let inside = Expect::of(&p, &checks)
        .allows([true, true])
        .on(Rgs, Served)
        .provenance(vec![role(&cat.minimal_role), of_group(&gp[0], &g)]);
    let outside = Expect::of(&q, &checks)
        .allows([false, false])
        .on(Rgs, Denied)
        .provenance(vec![role(&cat.minimal_role)]);
    let path = gm_path(&app, &g, "");
    let replace = |members: Value| put(&app, &path, members);

    check(&app, &inside.clone().warm(), "p in the group").await;
    check(&app, &outside.clone().warm(), "q outside").await;

    // [p] -> [q]: enforcement asks first.
    let now = replace(json!([{ "id": q.id }])).await;
    assert_eq!(
        ids(now.as_array().expect("members")),
        vec![q.id.clone()],
        "{now}"
    );
    check(&app, &outside.about(&p).first(Enforcement), "p dropped").await;
    check(&app, &inside.about(&q).first(Enforcement), "q added").await;

    // Warm again, then [q] -> []: the decision API asks first.
    check(&app, &inside.about(&q).warm(), "q in the group").await;
    assert_eq!(replace(json!([])).await, json!([]));
    check(&app, &outside, "group emptied").await;
}

/// `PUT .../user_groups/{g}` with other policies changes every member's decisions at once:
/// an added deny overrides the allow, a new permission group grants more, no policies grant
/// nothing.
#[tokio::test]
async fn changing_a_groups_policies_changes_decisions_at_once() {
    let (app, cat, all, [p], (g, gp)) = world("Readers", ["member@example.com"], 1).await;
    let checks = on_account_all(&[K_RG_LIST, K_ORG_EDIT, K_ACCOUNT_READ]);
    // The verdicts, the answer of the resource-group list, and the group's policies.
    let expect = |verdicts: [bool; 3], rgs: Access, policies: &[&str]| {
        let mut held = vec![role(&cat.minimal_role)];
        held.extend(policies.iter().map(|id| of_group(id, &g)));
        Expect::of(&p, &checks)
            .allows(verdicts)
            .on(Rgs, rgs)
            .provenance(held)
    };
    let path = ug_path(&app, &format!("/{g}"));
    let update = |policies: Value| {
        let written = put(&app, &path, json!({ "policies": policies }));
        async move { policy_ids(&written.await) }
    };

    let allowed = expect([true, false, true], Served, &[&gp[0]]);
    check(&app, &allowed.warm(), "allowed").await;

    // 1. Keep the allow, add a deny of the same group: enforcement asks first.
    let mut kept = policy("allow", &[&cat.settings_read], &[&all]);
    kept["id"] = json!(gp[0]);
    let deny_too = policy("deny", &[&cat.settings_read], &[&all]);
    let now = update(json!([kept, deny_too])).await;
    assert_eq!(now.len(), 2);
    assert_eq!(now[0], gp[0], "the allow keeps its id");
    let deny = now[1].clone();
    let denied = expect([false, false, false], Denied, &[&gp[0], &deny])
        .with(DecidedBy(0, vec![by_group(&deny, "deny", &g)]))
        .with(Reason(Some(0), "denied by"));
    check(&app, &denied.clone().first(Enforcement), "deny added").await;

    // 2. Replace both by an allow of Account Settings Write: the decision API asks first.
    check(&app, &denied.warm(), "denied").await;
    let now = update(allow(&cat.settings_write, &all)).await;
    assert_eq!(now.len(), 1);
    assert!(!gp.contains(&now[0]) && now[0] != deny, "a new policy id");
    let write = expect([true, true, true], Served, &[&now[0]])
        .with(DecidedBy(1, vec![by_group(&now[0], "allow", &g)]));
    check(&app, &write, "write granted").await;

    // 3. No policies at all: only the role is left.
    check(&app, &write.warm(), "write").await;
    assert!(update(json!([])).await.is_empty());
    let none = expect([false, false, true], Denied, &[]).first(Enforcement);
    check(&app, &none, "no policies").await;
}

/// `PUT .../resource_groups/{rg}` with other scope objects moves the grant of every policy that
/// uses it (a member's own policy and a user group's) from one zone to another, at once.
#[tokio::test]
async fn changing_a_resource_groups_objects_moves_the_grant_at_once() {
    let (app, cat) = (spawn().await, catalog());
    let account_key = account_resource(&app.boot.account_id);
    let scoped = str_field(
        &create_rg(&app, "Scoped", &[account_key.clone(), zone(1)]).await,
        "id",
    );
    let grants = json!({ "policies": allow(&cat.settings_read, &scoped) });
    let own = person(&app, "own@example.com", grants).await;
    let grouped = person(&app, "grouped@example.com", roles(&cat.minimal_role)).await;
    let (g, gp) = group(&app, "Zones", &cat.settings_read, &scoped, &[&grouped]).await;
    let checks = [
        on(K_RG_READ, &zone(1)),
        on(K_RG_READ, &zone(2)),
        on_account(K_RG_READ),
        on(&cat.settings_read, &zone(1)),
        on(&cat.settings_read, &zone(2)),
    ];
    let own_policy = policy_ids(effective(&app, &own).await.ok());
    // Each member with their effective policies; the last one uses the resource group.
    let held = [
        (&own, vec![origin(&own_policy[0], "member", "")]),
        (
            &grouped,
            vec![role(&cat.minimal_role), of_group(&gp[0], &g)],
        ),
    ];
    let expect = |(who, held): &(&Subject, Vec<Origin>), verdicts: [bool; 5], objects: Value| {
        Expect::of(who, &checks)
            .allows(verdicts)
            .provenance(held.clone())
            .policy_at(&format!("/policies/{}/resources", held.len() - 1), objects)
    };
    let path = rg_path(&app, &format!("/{scoped}"));
    let move_to = |objects: Vec<String>| {
        let scope = scope_for(&app.boot.account_id, &objects);
        put(&app, &path, json!({ "scope": scope }))
    };
    let zone_1 = [true, false, true, true, false];
    let zone_2 = [false, true, true, false, true];

    for s in &held {
        let e = expect(s, zone_1, json!([account_key, zone(1)]));
        check(&app, &e.warm(), "zone 1").await;
    }

    // Zone 1 -> zone 2: the decision API asks first.
    move_to(vec![account_key.clone(), zone(2)]).await;
    for s in held.iter().rev() {
        let e = expect(s, zone_2, json!([account_key, zone(2)]));
        check(&app, &e, "zone 2").await;
    }

    // Warm again; then the whole account: effective policies ask first.
    for s in &held {
        let e = expect(s, zone_2, json!([account_key, zone(2)]));
        check(&app, &e.warm(), "zone 2").await;
    }
    move_to(vec!["*".to_owned()]).await;
    for s in held.iter().rev() {
        let e = expect(s, [true; 5], json!(["*"])).first(Effective);
        check(&app, &e, "whole account").await;
    }
}

/// `PUT /accounts/{a}/members/{m}` with other roles or policies changes the member's decisions
/// and their real access with the next request.
#[tokio::test]
async fn changing_a_members_own_grants_changes_decisions_at_once() {
    let (app, cat, all, [p], _) = world("Readers", ["changing@example.com"], 0).await;
    let checks = on_account_all(&[K_RG_LIST, K_TOKEN_LIST, K_ACCOUNT_READ]);
    // The verdicts and the answers of the two routes.
    let expect = |verdicts: [bool; 3], rgs: Access, tokens: Access| {
        Expect::of(&p, &checks)
            .allows(verdicts)
            .on(Rgs, rgs)
            .on(Tokens, tokens)
    };
    let path = app.acct(&format!("/members/{}", p.id));
    let update = |body: Value| {
        let written = put(&app, &path, body);
        async move { policy_ids(&written.await) }
    };

    let minimal =
        expect([false, false, true], Denied, Denied).provenance(vec![role(&cat.minimal_role)]);
    check(&app, &minimal.warm(), "minimal").await;

    // 1. Roles: Minimal -> Administrator Read Only. Enforcement asks first.
    update(json!({ "roles": [cat.read_only_role] })).await;
    let read_only = expect([true, true, true], Served, Served)
        .with(DecidedBy(
            0,
            vec![by(&cat.read_only_role, "allow", "role", "")],
        ))
        .provenance(vec![role(&cat.read_only_role)]);
    check(&app, &read_only.clone().first(Enforcement), "read only").await;

    // 2. Roles -> a policy of Account API Tokens Read. The decision API asks first.
    check(&app, &read_only.warm(), "read only").await;
    let own = update(json!({ "policies": allow(&cat.tokens_read, &all) })).await;
    assert_eq!(own.len(), 1, "{own:?}");
    let tokens_read = expect([false, true, false], Denied, Served)
        .with(DecidedBy(1, vec![by(&own[0], "allow", "member", "")]))
        .provenance(vec![origin(&own[0], "member", "")]);
    check(&app, &tokens_read, "tokens read").await;

    // 3. Add a deny of the same group to the member's own policies. Effective policies first.
    check(&app, &tokens_read.warm(), "tokens read").await;
    let mut kept = policy("allow", &[&cat.tokens_read], &[&all]);
    kept["id"] = json!(own[0]);
    let now =
        update(json!({ "policies": [kept, policy("deny", &[&cat.tokens_read], &[&all])] })).await;
    assert_eq!(now.len(), 2, "{now:?}");
    let held = vec![origin(&now[0], "member", ""), origin(&now[1], "member", "")];
    let denied = expect([false, false, false], Denied, Denied)
        .with(DecidedBy(1, vec![by(&now[1], "deny", "member", "")]))
        .provenance(held)
        .first(Effective);
    check(&app, &denied, "denied").await;
}

/// `PUT /accounts/{a}/members/{m}` with `status: pending` blocks every check and the member's
/// access with the next request; accepting again restores both at once.
#[tokio::test]
async fn a_member_set_to_pending_is_blocked_at_once() {
    let (app, cat) = (spawn().await, catalog());
    let p = person(&app, "pending@example.com", roles(&cat.read_only_role)).await;
    let checks = [
        on_account(K_RG_LIST),
        on_account(K_ACCOUNT_READ),
        on_account(K_TOKEN_LIST),
        on(K_RG_READ, &zone(7)),
    ];
    let path = app.acct(&format!("/members/{}", p.id));
    let set_status = |status: &'static str| {
        let written = put(&app, &path, json!({ "status": status }));
        async move {
            let m = written.await;
            assert_eq!(m["status"], json!(status), "{m}");
        }
    };
    let accepted = Expect::of(&p, &checks)
        .allows([true; 4])
        .on(Rgs, Served)
        .holds(Holds::Any)
        .policy_at("/status", json!("accepted"));
    let pending = Expect::of(&p, &checks)
        .allows([false; 4])
        .with(Reason(None, "pending"))
        .on(Rgs, Outsider)
        .holds(Holds::Any)
        .policy_at("/status", json!("pending"));

    check(&app, &accepted.clone().warm(), "accepted").await;

    // Pending: enforcement asks first.
    set_status("pending").await;
    check(&app, &pending.clone().first(Enforcement), "pending").await;

    // Accepted again: the decision API asks first.
    check(&app, &pending.warm(), "pending").await;
    set_status("accepted").await;
    check(&app, &accepted.warm(), "accepted again").await;
}

/// `DELETE .../user_groups/{g}` takes the group's policies from every member at once.
#[tokio::test]
async fn deleting_a_user_group_revokes_at_once() {
    let (app, cat, all, [p], (g, gp)) = world("Doomed", ["grouped@example.com"], 1).await;
    let (other, op) = group(&app, "Kept", &cat.tokens_read, &all, &[&p]).await;
    let checks = [on_account(K_RG_LIST), on_account(K_TOKEN_LIST)];
    let kept = of_group(&op[0], &other);

    let both = Expect::of(&p, &checks)
        .allows([true, true])
        .on(Rgs, Served)
        .provenance(vec![
            role(&cat.minimal_role),
            of_group(&gp[0], &g),
            kept.clone(),
        ]);
    check(&app, &both.warm(), "both groups").await;

    delete(&app, &ug_path(&app, &format!("/{g}"))).await;

    let one = Expect::of(&p, &checks)
        .allows([false, true])
        .with(DecidedBy(1, vec![by_group(&op[0], "allow", &other)]))
        .on(Rgs, Denied)
        .on(Tokens, Served)
        .provenance(vec![role(&cat.minimal_role), kept]);
    check(&app, &one, "group deleted").await;
}

/// `DELETE /accounts/{a}/members/{m}`: the decision API and effective policies answer 404 for
/// that member id, and the user's key is no longer let into the account, with the next request.
#[tokio::test]
async fn deleting_a_member_makes_it_unknown_at_once() {
    let (app, _, _, [p, stays], (g, _)) =
        world("Readers", ["leaving@example.com", "staying@example.com"], 2).await;
    let checks = [on_account(K_RG_LIST), on_account(K_ACCOUNT_READ)];
    let member = Expect::of(&p, &checks).allows([true, true]).on(Rgs, Served);
    for who in [&p, &stays] {
        check(&app, &member.about(who).holds(Holds::Any).warm(), "member").await;
    }

    delete(&app, &app.acct(&format!("/members/{}", p.id))).await;

    let gone = Expect::of(&p, &checks)
        .decided(Decided::Unknown)
        .holds(Holds::Unknown)
        .on(Rgs, Outsider);
    check(&app, &gone, "member deleted").await;
    // The group's other member is untouched.
    check(&app, &member.about(&stays), "stays").await;
    assert_eq!(group_member_ids(&app, &g).await, vec![stays.id.clone()]);
}

/// A user who is not in the account is refused (and that absence is remembered); creating an
/// accepted membership for them lets them in with the next request.
#[tokio::test]
async fn a_new_membership_is_seen_at_once() {
    let (app, cat) = (spawn().await, catalog());
    let email = "newcomer@example.com";
    let (_, key) = app.user_key(email, false);
    let cred = Cred::key(email, &key);
    // No membership yet: only enforcement can ask.
    let stranger = Subject::member(&app, "", cred.clone());
    let outside = Expect::of(&stranger, &[]).on(Rgs, Outsider).rounds(3);
    check(&app, &outside, "outside").await;

    let grants = roles(&cat.read_only_role);
    let id = join_account(&app, &app.boot.account_id, &app.admin(), email, grants).await;

    let newcomer = Subject::member(&app, &id, cred);
    let joined = Expect::of(&newcomer, &[on_account(K_RG_LIST)])
        .allows([true])
        .on(Rgs, Served)
        .first(Enforcement);
    check(&app, &joined, "new member").await;
}

/// An account-owned token: `PUT .../tokens/{t}` with other policies changes the decisions for
/// `{"token_id"}` and what the token itself may do, with the next request; disabling it blocks
/// every check at once.
#[tokio::test]
async fn changing_a_token_changes_its_decisions_at_once() {
    let (app, cat) = (spawn().await, catalog());
    let policies = |pgs: &[(&str, &str)]| -> Value {
        let ps: Vec<Value> = pgs
            .iter()
            .map(|(effect, pg)| token_policy(&app, effect, pg))
            .collect();
        json!({ "policies": ps })
    };
    let mut body = policies(&[("allow", &cat.settings_read)]);
    body["name"] = json!("changing");
    let t = account_token(&app, body).await;
    let checks = on_account_all(&[K_RG_LIST, K_TOKEN_LIST, &cat.tokens_read]);
    let path = app.acct(&format!("/tokens/{}", t.id));
    let update = |body: Value| put(&app, &path, body);
    let settings_read = Expect::of(&t, &checks)
        .allows([true, false, false])
        .on(Rgs, Served)
        .on(Tokens, Denied);

    check(&app, &settings_read.clone().warm(), "settings read").await;

    // 1. Other policies: the decision API asks first.
    let v = update(policies(&[("allow", &cat.tokens_read)])).await;
    let tp = str_field(&v["policies"][0], "id");
    let tokens_read = Expect::of(&t, &checks)
        .allows([false, true, true])
        .with(DecidedBy(1, vec![by(&tp, "allow", "token", "")]))
        .with(At(1, "/decided_by/0/source/token_id", json!(t.id)))
        .on(Rgs, Denied)
        .on(Tokens, Served);
    check(&app, &tokens_read, "tokens read").await;

    // 2. Add a deny: the token itself asks first.
    check(&app, &tokens_read.warm(), "tokens read").await;
    let v = update(policies(&[
        ("allow", &cat.tokens_read),
        ("deny", &cat.tokens_read),
    ]))
    .await;
    let deny = str_field(&v["policies"][1], "id");
    let denied = Expect::of(&t, &checks)
        .allows([false, false, false])
        .with(DecidedBy(1, vec![by(&deny, "deny", "token", "")]))
        .on(Tokens, Denied)
        .first(Enforcement);
    check(&app, &denied, "denied").await;

    // 3. Back to Account Settings Read, then disabled: every check is blocked at once.
    update(policies(&[("allow", &cat.settings_read)])).await;
    check(&app, &settings_read.warm(), "settings read").await;
    let v = update(json!({ "status": "disabled" })).await;
    assert_eq!(v["status"], json!("disabled"), "{v}");
    let disabled = Expect::of(&t, &checks)
        .allows([false, false, false])
        .with(Reason(Some(0), "cannot be used"))
        .on(Rgs, Unusable);
    check(&app, &disabled, "disabled").await;
}

/// `DELETE .../tokens/{t}`: the decision API answers 404 for that token id, and the token no
/// longer authenticates, with the next request.
#[tokio::test]
async fn deleting_a_token_makes_it_unknown_at_once() {
    let (app, cat) = (spawn().await, catalog());
    let body = |name: &str| json!({ "name": name, "policies": [token_policy(&app, "allow", &cat.settings_read)] });
    let doomed = account_token(&app, body("doomed")).await;
    let kept = account_token(&app, body("kept")).await;
    let checks = [on_account(K_RG_LIST)];
    let usable = Expect::of(&kept, &checks).allows([true]).on(Rgs, Served);
    for who in [&doomed, &kept] {
        check(&app, &usable.about(who).warm(), "token").await;
    }

    delete(&app, &app.acct(&format!("/tokens/{}", doomed.id))).await;

    let gone = Expect::of(&doomed, &checks)
        .decided(Decided::Unknown)
        .on(Rgs, Unusable);
    check(&app, &gone, "token deleted").await;
    check(&app, &usable, "the other token").await;
}

/// A user-owned token allows only what its user may do: when the user leaves a group (a write
/// to the account, not to the token), the token's decisions and its real access follow at once.
#[tokio::test]
async fn a_user_tokens_decisions_follow_its_users_grants_at_once() {
    let (app, cat, _, [p], (g, gp)) = world("Readers", ["tokenholder@example.com"], 1).await;
    let body =
        json!({ "name": "mine", "policies": [token_policy(&app, "allow", &cat.settings_read)] });
    let (id, value) = app.create_user_token(&p.cred, body).await;
    let t = Subject::token(&app, &id, &value);
    let checks = [on_account(K_RG_LIST), on_account(K_ACCOUNT_READ)];
    let in_group = Expect::of(&t, &checks)
        .allows([true, true])
        .with(Sources(0, vec!["user_group", "token"]))
        .on(Rgs, Served);
    let left = Expect::of(&t, &checks)
        .allows([false, true])
        .with(Reason(Some(0), "member's policies"))
        .on(Rgs, Denied);

    check(&app, &in_group.clone().warm(), "user in the group").await;

    // The user leaves the group: the token asks first.
    delete(&app, &gm_path(&app, &g, &format!("/{}", p.id))).await;
    check(&app, &left.clone().first(Enforcement), "user left").await;

    // And back: the decision API asks first.
    check(&app, &left.warm(), "user left").await;
    add_to_group(&app, &g, &[&p]).await;
    let back = in_group.with(DecidedAmong(0, by_group(&gp[0], "allow", &g)));
    check(&app, &back, "user back").await;
}

/// Names shown by effective policies and decisions (a user group's, a resource group's) follow
/// renames at once.
#[tokio::test]
async fn effective_policies_follow_renames_at_once() {
    let (app, cat, all, [p], (g, gp)) = world("Before", ["named@example.com"], 1).await;
    let checks = [on_account(K_RG_LIST)];
    // Effective policies ask first, then the decision API.
    let named = |group: &str, rg: &str| {
        Expect::of(&p, &checks)
            .allows([true])
            .with(At(0, GROUP_NAME, json!(group)))
            .provenance(vec![role(&cat.minimal_role), of_group(&gp[0], &g)])
            .policy_at("/policies/1/source/user_group/name", json!(group))
            .policy_at("/policies/1/resource_groups/0/name", json!(rg))
            .first(Effective)
    };

    check(&app, &named("Before", "All").warm(), "named").await;
    let renamed = json!({ "name": "After" });
    put(&app, &ug_path(&app, &format!("/{g}")), renamed).await;
    check(&app, &named("After", "All"), "group renamed").await;

    check(&app, &named("After", "All").warm(), "group renamed").await;
    let renamed = json!({ "name": "Everything" });
    put(&app, &rg_path(&app, &format!("/{all}")), renamed).await;
    let renamed = named("After", "Everything");
    check(&app, &renamed, "resource group renamed").await;
}

// ---------------------------------------------------------------------------------------------
// Two accounts
// ---------------------------------------------------------------------------------------------

/// Every key Portcullis decides, on the account and on two zones, plus two permission groups.
fn many_checks(cat: &Catalog) -> Vec<Value> {
    let keys = shared_data("permission_keys.json");
    let mut out = Vec::new();
    for k in keys["keys"].as_object().expect("keys").keys() {
        out.push(on_account(k));
        out.push(on(k, &zone(1)));
        out.push(on(k, &zone(2)));
    }
    out.push(on_account(&cat.settings_read));
    out.push(on_account(&cat.tokens_read));
    out
}

/// One user is a member of two accounts, in a group in each. Many decisions in both; a write in
/// one account changes that account's answers at once and never the other's (the index is keyed
/// and stamped by account).
#[tokio::test]
async fn writes_in_one_account_leave_the_other_accounts_decisions_alone() {
    let (app, cat) = (spawn().await, catalog());
    let op = app.admin_key();
    let email = "both@example.com";
    let other = app.create_account("Second").await;
    let mut joined = Vec::new();
    for account in [app.boot.account_id.clone(), other] {
        let at = |rest: &str| format!("/accounts/{account}{rest}");
        let scope = json!({ "name": "All", "scope": scope_for(&account, &["*"]) });
        let rg = post_id(&app, &op, &at("/iam/resource_groups"), scope).await;
        let readers = json!({ "name": "Readers", "policies": allow(&cat.settings_read, &rg) });
        let g = post_id(&app, &op, &at("/iam/user_groups"), readers).await;
        let m = join_account(&app, &account, &op, email, roles(&cat.minimal_role)).await;
        let members = json!([{ "id": m }]);
        let path = at(&format!("/iam/user_groups/{g}/members"));
        app.post(&path, &op, members).await.ok();
        joined.push((account, m, g));
    }
    let (_, key) = app.user_key(email, false);
    let user = Cred::key(email, &key);
    // Each account's side: the shared user's membership there, and the group holding it.
    let sides: Vec<(Subject, String)> = joined
        .into_iter()
        .map(|(account, m, g)| (Subject::member_in(&account, &op, &m, user.clone()), g))
        .collect();
    let ((a, group_a), (b, group_b)) = (&sides[0], &sides[1]);
    let checks = many_checks(&cat);
    let rg_list = checks
        .iter()
        .position(|c| c == &on_account(K_RG_LIST))
        .expect("rg list is checked");
    // Fresh answers (`rg list` allowed or not), and the same answers again and again.
    let fresh = |who: &Subject, allowed: bool| {
        Expect::of(who, &checks)
            .decided(Decided::Any)
            .with(At(rg_list, "/allowed", json!(allowed)))
    };
    let steady = |who: &Subject, results: &[Value], rgs: Access| {
        Expect::of(who, &checks)
            .decided(Decided::Exactly(results.to_vec()))
            .on(Rgs, rgs)
            .warm()
    };

    // A member id is only known in its own account.
    for (here, there) in [(a, b), (b, a)] {
        let elsewhere = Subject {
            account: here.account.clone(),
            ..there.clone()
        };
        let e = Expect::of(&elsewhere, &[on_account(K_RG_LIST)]).decided(Decided::Unknown);
        check(&app, &e, "another account's member").await;
    }

    // Warm both, interleaved; same grants, same answers.
    let base_a = check(&app, &fresh(a, true), "baseline").await;
    let same = Expect::of(b, &checks).decided(Decided::Verdicts(verdicts(&base_a)));
    let base_b = check(&app, &same, "baseline: same grants, same answers").await;
    for _ in 0..5 {
        check(&app, &steady(a, &base_a, Served), "warm").await;
        check(&app, &steady(b, &base_b, Served), "warm").await;
    }

    // A write in A (the user leaves A's group): A changes at once, B never.
    app.delete(
        &format!(
            "/accounts/{}/iam/user_groups/{group_a}/members/{}",
            a.account, a.id
        ),
        &op,
    )
    .await
    .ok();
    let after_a = check(&app, &fresh(a, false).on(Rgs, Denied), "A after its write").await;
    for _ in 0..5 {
        check(&app, &steady(b, &base_b, Served), "B after A's write").await;
        check(&app, &steady(a, &after_a, Denied), "A after its write").await;
    }

    // A write in B (its group's policy becomes a deny): B changes at once, A never.
    let group_path = format!("/accounts/{}/iam/user_groups/{group_b}", b.account);
    let r = app.get(&group_path, &op).await;
    let rg_b = str_field(&r.ok()["policies"][0]["resource_groups"][0], "id");
    app.put(
        &group_path,
        &op,
        json!({ "policies": [policy("deny", &[&cat.settings_read], &[&rg_b])] }),
    )
    .await
    .ok();
    let denied = fresh(b, false)
        .with(At(rg_list, "/decided_by/0/access", json!("deny")))
        .on(Rgs, Denied);
    let after_b = check(&app, &denied, "B after its write").await;
    for _ in 0..5 {
        check(&app, &steady(a, &after_a, Denied), "A after B's write").await;
        check(&app, &steady(b, &after_b, Denied), "B after its write").await;
    }

    // Deleting account B: B's decisions are refused at once (nobody is a member of it any
    // more), A's stay as they were.
    app.delete(&format!("/accounts/{}", b.account), &op)
        .await
        .ok();
    let gone = Expect::of(b, &checks)
        .decided(Decided::Outsider)
        .on(Rgs, Outsider);
    check(&app, &gone, "B deleted").await;
    let a_alone = steady(a, &after_a, Denied).rounds(3);
    check(&app, &a_alone, "A after B was deleted").await;
}

// ---------------------------------------------------------------------------------------------
// A token used while it is written
// ---------------------------------------------------------------------------------------------

/// A request authenticated with a token while an administrator changes or deletes that token
/// must not leave the old token in the index: once the write has answered, the decision API
/// answers for `{"token_id"}` from the new token (or 404 when it is gone).
///
/// Each trial uses a fresh token, whose first use also records `last_used_on`, and sends the
/// token's own request and the write together; then, after both have answered, one decision.
///
/// This failed before `token_layer` (`portcullis-core/src/service/authorize.rs`) read the token
/// again on a miss: it indexed the token *as authenticated*, read before the write committed,
/// under the stamp read *after* the write recorded its change, so the old token was served as
/// current to later decisions.
#[tokio::test]
async fn a_token_used_while_it_is_written_is_not_indexed_stale() {
    const TRIALS: usize = 300;
    let (app, cat) = (spawn().await, catalog());
    let admin = app.admin();
    let policies = |pg: &str| json!([token_policy(&app, "allow", pg)]);
    let checks = [on_account(K_RG_LIST), on_account(K_TOKEN_LIST)];
    let mut stale = Vec::new();
    for i in 0..TRIALS {
        let body =
            json!({ "name": format!("raced {i}"), "policies": policies(&cat.settings_read) });
        let t = account_token(&app, body).await;
        let path = app.acct(&format!("/tokens/{}", t.id));
        let used = Rgs.call(&app, &t);
        if i % 2 == 0 {
            let write = app.put(
                &path,
                &admin,
                json!({ "policies": policies(&cat.tokens_read) }),
            );
            let (_, written) = tokio::join!(used, write);
            written.ok();
            let d = results(&authorize(&app, &t, &checks).await, &t, &checks);
            if verdicts(&d) != [false, true] {
                stale.push(format!(
                    "trial {i}: PUT answered, then the decision API still used the old policies: {d:?}"
                ));
            }
        } else {
            let (_, written) = tokio::join!(used, app.delete(&path, &admin));
            written.ok();
            let r = authorize(&app, &t, &checks).await;
            if r.status != 404 {
                stale.push(format!(
                    "trial {i}: DELETE answered, then the decision API still decided for the token: {r}"
                ));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{} of {TRIALS} trials served a stale token:\n{}",
        stale.len(),
        stale.join("\n")
    );
}
