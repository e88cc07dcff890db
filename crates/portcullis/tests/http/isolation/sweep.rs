//! The sweep: probes generated from `ROUTES` for every attacker, sent one at a time, and the
//! checks on each answer.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;

use portcullis_api::routes::{Guard, Route, ROUTES};
use reqwest::Method;
use serde_json::{json, Value};

use super::bodies::{self, BodyExpect};
use super::dump;
use super::world::{Attacker, Side, World, PG_ADMINISTRATOR};
use crate::helpers::*;

/// Where the path's `{account_id}` points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A's account id: (b).
    Victim,
    /// B's account id: (a), (c) and filters.
    Attacker,
    /// The route has no account in its path (`/user…`, `/accounts`).
    NoAccount,
}

/// What an answer may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// It touches A: anything but 2xx.
    Refused,
    /// An explicit exception: the request acts on the caller's own data, so a 2xx is fine, but the
    /// answer must not mention A (and, for decisions, must not allow anything on A).
    Own {
        reason: &'static str,
        decision_must_deny: bool,
    },
}

pub struct Probe {
    pub route: &'static Route,
    pub method: Method,
    /// `/client/v4/…` with ids filled in.
    pub path: String,
    pub body: Option<Value>,
    pub variant: String,
    pub expect: Expect,
    /// A 2xx answer carries a user token to sweep as a further attacker.
    pub derive: bool,
}

/// Where an id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    A,
    B,
    /// Catalog data, the same in every account.
    Shared,
}

const OWN_DATA: &str =
    "the caller's own data (its user, its tokens, its accounts, the catalog); answer must not mention A";
const USER_TOKEN_NAMING_A: &str =
    "a user-owned token belongs to its caller, and may name any account \
     (Cloudflare does the same); it is limited by its user's memberships (api-decisions.md \
     \"Authorization\"), so it is swept as one more attacker";
const OPERATOR_CREATES: &str =
    "operators create accounts (api-decisions.md: POST /accounts is for \
     operators); the new account is the operator's own";
const B_OWN_DATA: &str =
    "B's own objects and lists, read in B; the answer must not contain A's objects";
const OWN_LIST_FILTER: &str =
    "a filter on the caller's own list; the answer must not contain A's objects";
const OWN_DECISION: &str =
    "a decision about B's own principal; every check on A's account must be \
     allowed:false";

/// Not sent, with the reason (printed with the results).
pub struct Skip {
    pub what: String,
    pub reason: &'static str,
}

/// Path parameters in order of appearance.
pub fn params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The ids a path parameter may take on each side. Panics on a parameter the sweep does not
/// know: a new kind of object must be added to the population and here.
fn candidates(route: &Route, param: &str, a: &Side, b: &Side) -> Vec<(Origin, String)> {
    let user_route = !route.path.contains("{account_id}");
    let mut out: Vec<(Origin, String)> = Vec::new();
    let mut push = |o: Origin, ids: &[&String]| out.extend(ids.iter().map(|s| (o, (*s).clone())));
    match param {
        "member_id" => {
            push(Origin::A, &[&a.member2, &a.admin_member]);
            push(Origin::B, &[&b.member2]);
        }
        "user_group_id" => {
            push(Origin::A, &[&a.group]);
            push(Origin::B, &[&b.group]);
        }
        "resource_group_id" => {
            push(Origin::A, &[&a.rg]);
            push(Origin::B, &[&b.rg]);
        }
        "sso_connector_id" => {
            push(Origin::A, &[&a.sso]);
            push(Origin::B, &[&b.sso]);
        }
        "oauth_client_id" => {
            push(Origin::A, &[&a.oauth_client]);
            push(Origin::B, &[&b.oauth_client]);
        }
        "token_id" if user_route => {
            // The caller's own tokens are not the question here; A's are.
            push(Origin::A, &[&a.user_token, &a.main_token]);
        }
        "token_id" => {
            push(Origin::A, &[&a.main_token, &a.extra_token, &a.user_token]);
            push(Origin::B, &[&b.extra_token]);
        }
        "permission_group_id" => {
            out.push((Origin::Shared, PG_ADMINISTRATOR.to_string()));
        }
        "role_id" => {
            // The legacy role catalog is the same in every account.
            out.push((Origin::Shared, ROLE_ADMIN.to_string()));
        }
        "membership_id" => {
            // Memberships of A's users: the caller's own routes must not reach them.
            push(Origin::A, &[&a.admin_member, &a.member2]);
        }
        other => panic!(
            "{} {}: the isolation sweep cannot fill path parameter {{{other}}} — add the object \
             to tests/http/isolation/world.rs and sweep.rs::candidates",
            route.method, route.path
        ),
    }
    out
}

/// A's value for a list filter of `route`, `None` when the filter is not about tenant data.
/// Panics on a filter the sweep does not know.
fn filter_value(route: &Route, name: &str, a: &Side) -> Option<String> {
    let p = route.path;
    let catalog = p.ends_with("/permission_groups");
    let audit =
        p.ends_with("/audit_logs") || p.ends_with("/logs/audit") || p.ends_with("/iam/changes");
    match name {
        // The audit log: filters naming A's users, tokens and objects must find nothing of A's
        // in B's log; the others are not tenant data.
        "actor.email" | "actor_email" if audit => Some(a.admin_email.clone()),
        "id" | "audit_log_id" | "resource_id" if audit => Some(a.group.clone()),
        "actor_id" | "actor_token_id" if audit => Some(a.main_token.clone()),
        "actor_token_name" if audit => Some(a.extra_token_name.clone()),
        "account_name" if audit => Some(a.name.clone()),
        _ if audit => None,
        "page" | "per_page" | "direction" | "order" | "status" | "label" | "scope" => None,
        _ if catalog => None,
        "id" if p.ends_with("/iam/user_groups") => Some(a.group.clone()),
        "id" if p.ends_with("/iam/resource_groups") => Some(a.rg.clone()),
        "name" if p.ends_with("/iam/user_groups") => Some(a.group_name.clone()),
        "name" if p.ends_with("/iam/resource_groups") => Some(a.rg_name.clone()),
        "name" if p.ends_with("/client/v4/accounts") => Some(a.name.clone()),
        "name" | "account.name" if p.ends_with("/memberships") => Some(a.name.clone()),
        "fuzzyName" if p.ends_with("/iam/user_groups") => Some("alpha-secret".into()),
        "fuzzyEmail" if p.ends_with("/members") => Some("alpha".into()),
        other => panic!(
            "{} {}: the isolation sweep does not know the query parameter `{other}` — say in \
             sweep.rs::filter_value which of A's values it filters on (or that it is not tenant data)",
            route.method, route.path
        ),
    }
}

fn fill(path: &str, values: &[(&str, String)]) -> String {
    let mut out = path.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Cartesian product of candidate lists.
fn product(lists: &[Vec<(Origin, String)>]) -> Vec<Vec<(Origin, String)>> {
    let mut out: Vec<Vec<(Origin, String)>> = vec![Vec::new()];
    for list in lists {
        let mut next = Vec::new();
        for prefix in &out {
            for c in list {
                let mut v = prefix.clone();
                v.push(c.clone());
                next.push(v);
            }
        }
        out = next;
    }
    out
}

fn schema_of(route: &Route) -> Option<(String, bool)> {
    route.body.map(|(f, array)| {
        let mut sink = Vec::new();
        (f(&mut sink), array)
    })
}

/// Every probe of `route` for `attacker`, and what is deliberately not sent.
fn probes_for(
    route: &'static Route,
    w: &World,
    attacker: &Attacker,
    counter: &Cell<usize>,
    skips: &mut Vec<Skip>,
) -> Vec<Probe> {
    let next = || {
        counter.set(counter.get() + 1);
        counter.get()
    };
    let (a, b) = (&w.a, &w.b);
    let method = Method::from_bytes(route.method.as_bytes()).expect("method");
    let what = format!("{} {}", route.method, route.path);
    if route.guard == Guard::Public {
        return Vec::new();
    }
    let all = params(route.path);
    let has_account = all.contains(&"account_id");
    let objects: Vec<&str> = all.iter().copied().filter(|p| *p != "account_id").collect();
    let cands: Vec<Vec<(Origin, String)>> =
        objects.iter().map(|p| candidates(route, p, a, b)).collect();
    let schema = schema_of(route);
    let mut out = Vec::new();
    let mut push = |slot: Slot,
                    ids: &[(Origin, String)],
                    query: String,
                    body: Option<Value>,
                    variant: String,
                    expect: Expect,
                    derive: bool| {
        let mut values: Vec<(&str, String)> = objects
            .iter()
            .zip(ids)
            .map(|(p, (_, id))| (*p, id.clone()))
            .collect();
        match slot {
            Slot::Victim => values.push(("account_id", a.account.clone())),
            Slot::Attacker => values.push(("account_id", b.account.clone())),
            Slot::NoAccount => {}
        }
        out.push(Probe {
            route,
            method: method.clone(),
            path: format!("{}{query}", fill(route.path, &values)),
            body,
            variant,
            expect,
            derive,
        });
    };
    let benign = |side: &Side| {
        schema
            .as_ref()
            .map(|(s, arr)| bodies::benign(s, *arr, side, next(), &what))
    };
    let describe = |ids: &[(Origin, String)]| -> String {
        let parts: Vec<String> = objects
            .iter()
            .zip(ids)
            .map(|(p, (o, _))| format!("{p}={o:?}"))
            .collect();
        parts.join(",")
    };

    if has_account {
        // (b) A's account id, A's objects.
        if route.guard == Guard::Operator && attacker.operator && route.method == "DELETE" {
            skips.push(Skip {
                what: format!("{what} with A's account, as {}", attacker.label),
                reason: "operators may delete any account by design (api-decisions.md: \
                         DELETE /accounts/{id} is for operators); sending it would destroy the \
                         victim",
            });
        } else {
            let a_only: Vec<Vec<(Origin, String)>> = cands
                .iter()
                .map(|c| c.iter().filter(|(o, _)| *o != Origin::B).cloned().collect())
                .collect();
            for ids in product(&a_only) {
                let d = describe(&ids);
                push(
                    Slot::Victim,
                    &ids,
                    String::new(),
                    benign(a),
                    format!("(b) account=A {d}"),
                    Expect::Refused,
                    false,
                );
            }
        }
        // (a) B's account id with at least one of A's objects (and mixes with B's).
        for ids in product(&cands) {
            if ids.iter().any(|(o, _)| *o == Origin::A) {
                let d = describe(&ids);
                push(
                    Slot::Attacker,
                    &ids,
                    String::new(),
                    benign(b),
                    format!("(a) account=B {d}"),
                    Expect::Refused,
                    false,
                );
            }
        }
        // (c) B's ids only in the path, A's objects in the body.
        let b_ids: Vec<(Origin, String)> = cands
            .iter()
            .map(|c| {
                c.iter()
                    .find(|(o, _)| *o != Origin::A)
                    .cloned()
                    .expect("a B (or shared) candidate for every parameter")
            })
            .collect();
        if let Some((s, arr)) = &schema {
            for v in bodies::foreign(s, *arr, a, b, next(), &what) {
                let expect = match v.expect {
                    BodyExpect::Refused => Expect::Refused,
                    BodyExpect::DecisionMustDeny => Expect::Own {
                        reason: OWN_DECISION,
                        decision_must_deny: true,
                    },
                };
                push(
                    Slot::Attacker,
                    &b_ids,
                    String::new(),
                    Some(v.body),
                    format!("(c) account=B, body: {}", v.label),
                    expect,
                    false,
                );
            }
            if let Some(why) = bodies::no_foreign_body(s) {
                skips.push(Skip {
                    what: format!("(c) {what}: body `{s}`"),
                    reason: why,
                });
            }
        }
        // B's own objects and lists (a list or join that forgets the account shows A's data
        // here), then filters of B's own lists naming A's objects.
        if route.method == "GET" {
            push(
                Slot::Attacker,
                &b_ids,
                String::new(),
                None,
                "B's own data".into(),
                Expect::Own {
                    reason: B_OWN_DATA,
                    decision_must_deny: false,
                },
                false,
            );
            for q in (route.query)() {
                if let Some(v) = filter_value(route, q.name, a) {
                    push(
                        Slot::Attacker,
                        &b_ids,
                        format!("?{}={}", q.name, v),
                        None,
                        format!("filter ?{}= A's value on B's list", q.name),
                        Expect::Own {
                            reason: OWN_LIST_FILTER,
                            decision_must_deny: false,
                        },
                        false,
                    );
                }
            }
        }
        return out;
    }

    // No account in the path: `/user…`, `/accounts`.
    if !objects.is_empty() {
        // A's tokens through the caller's own token routes.
        for ids in product(&cands) {
            let d = describe(&ids);
            push(
                Slot::NoAccount,
                &ids,
                String::new(),
                benign(a),
                format!("A's object in a caller-scoped route ({d})"),
                Expect::Refused,
                false,
            );
        }
        if schema.is_some() {
            skips.push(Skip {
                what: format!("(c) {what}"),
                reason: "the token in the path would be the caller's own; what its body may \
                         name is the same question as POST /user/tokens",
            });
        }
        return out;
    }
    match (&schema, route.guard) {
        (None, Guard::Authenticated) => {
            push(
                Slot::NoAccount,
                &[],
                String::new(),
                None,
                "caller's own data".into(),
                Expect::Own {
                    reason: OWN_DATA,
                    decision_must_deny: false,
                },
                false,
            );
            for q in (route.query)() {
                if let Some(v) = filter_value(route, q.name, a) {
                    push(
                        Slot::NoAccount,
                        &[],
                        format!("?{}={}", q.name, v),
                        None,
                        format!("filter ?{}= A's value on the caller's list", q.name),
                        Expect::Own {
                            reason: OWN_LIST_FILTER,
                            decision_must_deny: false,
                        },
                        false,
                    );
                }
            }
        }
        (Some((s, arr)), Guard::Authenticated) => {
            for v in bodies::foreign(s, *arr, a, b, next(), &what) {
                push(
                    Slot::NoAccount,
                    &[],
                    String::new(),
                    Some(v.body),
                    format!("(c) body: {}", v.label),
                    Expect::Own {
                        reason: USER_TOKEN_NAMING_A,
                        decision_must_deny: false,
                    },
                    v.derive && attacker.derives,
                );
            }
        }
        (body, Guard::Operator) => {
            let body = body
                .as_ref()
                .map(|(s, arr)| bodies::benign(s, *arr, b, next(), &what));
            let expect = if attacker.operator {
                Expect::Own {
                    reason: OPERATOR_CREATES,
                    decision_must_deny: false,
                }
            } else {
                Expect::Refused
            };
            push(
                Slot::NoAccount,
                &[],
                String::new(),
                body,
                "operator-only route".into(),
                expect,
                false,
            );
        }
        (_, g) => panic!(
            "{what}: guard {g:?} without an account in the path — the isolation sweep does not \
             know what this route acts on"
        ),
    }
    out
}

/// Method order: reads first, destructive last, so that one wrongly allowed delete hides as
/// little as possible.
fn phase(m: &Method) -> u8 {
    match m.as_str() {
        "GET" => 0,
        "POST" => 1,
        "PUT" => 2,
        "PATCH" => 3,
        "DELETE" => 4,
        _ => 5,
    }
}

pub struct Report {
    pub failures: Vec<String>,
    pub skips: Vec<Skip>,
    /// reason -> how many 2xx answers it covered
    pub exceptions: BTreeMap<&'static str, usize>,
    pub probes: usize,
}

fn excerpt(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

/// Runs `check_envelope` without letting its panic end the sweep.
fn envelope_problem(r: &Resp) -> Option<String> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let res = std::panic::catch_unwind(AssertUnwindSafe(|| check_envelope(r)));
    std::panic::set_hook(prev);
    res.err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "envelope check failed".into())
    })
}

fn any_allowed_true(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.get("allowed") == Some(&json!(true)) || m.values().any(any_allowed_true)
        }
        Value::Array(a) => a.iter().any(any_allowed_true),
        _ => false,
    }
}

/// The entries that differ between two dumps, before and after, one text each.
fn diff(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| {
            let (x, y) = focus(
                before.get(k).map_or("(absent)", String::as_str),
                after.get(k).map_or("(absent)", String::as_str),
            );
            format!("      {k}\n        before: {x}\n        after:  {y}")
        })
        .collect()
}

/// Both texts from a little before their first difference.
fn focus(x: &str, y: &str) -> (String, String) {
    let first = x
        .chars()
        .zip(y.chars())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| x.chars().count().min(y.chars().count()));
    let start = first.saturating_sub(120);
    let cut = |s: &str| {
        let head = if start > 0 { "…" } else { "" };
        format!(
            "{head}{}",
            excerpt(&s.chars().skip(start).collect::<String>(), 360)
        )
    };
    (cut(x), cut(y))
}

fn request_text(probe: &Probe) -> String {
    format!(
        "{} {}",
        probe.path,
        probe
            .body
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default()
    )
}

async fn send(w: &World, cred: &Cred, probe: &Probe) -> Resp {
    let url = format!("{}{}", w.app.base(), probe.path);
    let body = match &probe.body {
        Some(v) => Body::Json(v.clone()),
        None => Body::None,
    };
    let (status, headers, text) = w.app.raw(probe.method.clone(), &url, cred, body).await;
    Resp {
        what: format!("{} {}", probe.method, probe.path),
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

impl Report {
    fn fail(&mut self, attacker: &str, probe: &Probe, r: &Resp, why: &str) {
        let body = probe
            .body
            .as_ref()
            .map(|b| format!(" body={}", excerpt(&b.to_string(), 400)))
            .unwrap_or_default();
        self.failures.push(format!(
            "[{attacker}] {} {}{body}\n      route: {} {} ({}), variant: {}\n      -> {} {}\n      why: {why}",
            probe.method,
            probe.path,
            probe.route.method,
            probe.route.path,
            probe.route.operation_id,
            probe.variant,
            r.status,
            excerpt(&r.text, 700),
        ));
    }

    fn check(
        &mut self,
        w: &World,
        attacker: &str,
        probe: &Probe,
        r: &Resp,
        known: &HashSet<String>,
    ) {
        let ok = (200..300).contains(&r.status);
        match &probe.expect {
            Expect::Refused if ok => {
                self.fail(attacker, probe, r, "2xx on a request touching A's data");
            }
            Expect::Refused => {}
            Expect::Own {
                reason,
                decision_must_deny,
            } => {
                if ok {
                    *self.exceptions.entry(reason).or_default() += 1;
                }
                if ok && *decision_must_deny && any_allowed_true(&r.body) {
                    self.fail(
                        attacker,
                        probe,
                        r,
                        "authorize answered allowed:true for a check on A's account",
                    );
                }
            }
        }
        if r.status >= 500 {
            self.fail(attacker, probe, r, "server error (5xx)");
        }
        if let Some(e) = envelope_problem(r) {
            self.fail(
                attacker,
                probe,
                r,
                &format!("envelope contract: {}", excerpt(&e, 300)),
            );
        }
        // No A string that the request did not carry and the principal did not store itself.
        let request = request_text(probe);
        let leaked: Vec<&str> = w
            .secrets
            .iter()
            .filter(|(_, v)| {
                r.text.contains(v.as_str())
                    && !request.contains(v.as_str())
                    && !known.contains(v.as_str())
            })
            .map(|(k, _)| k.as_str())
            .collect();
        if !leaked.is_empty() {
            self.fail(
                attacker,
                probe,
                r,
                &format!("answer mentions A's {}", leaked.join(", ")),
            );
        }
    }

    /// Compares the two full dumps of A entry by entry.
    pub fn compare_dumps(
        &mut self,
        before: &BTreeMap<String, String>,
        after: &BTreeMap<String, String>,
    ) {
        for d in diff(before, after) {
            self.failures
                .push(format!("[full dump of A, before vs after the sweep]\n{d}"));
        }
    }

    /// A's own credentials still work after the sweep.
    pub async fn check_victim_credentials(&mut self, w: &World) {
        let app = &w.app;
        let checks = [
            (
                "A's bootstrap token",
                app.verify_account_token(&w.a.account, &w.a_boot_token_value)
                    .await,
            ),
            (
                "A admin's user token",
                app.get("/user/tokens/verify", &Cred::token(&w.a.user_token_value))
                    .await,
            ),
            (
                "A admin's email+key",
                app.get(&format!("/accounts/{}", w.a.account), &w.a_admin)
                    .await,
            ),
        ];
        for (what, r) in checks {
            if r.status != 200 {
                self.failures.push(format!(
                    "[victim credentials] {what} no longer works after the sweep: {}",
                    excerpt(&r.to_string(), 600)
                ));
            }
        }
    }

    /// Prints the coverage and every failure; panics when there is any.
    pub fn finish(&self) {
        println!(
            "isolation sweep: {} probes, {} failures",
            self.probes,
            self.failures.len()
        );
        println!("2xx answers accepted as explicit exceptions:");
        for (reason, n) in &self.exceptions {
            println!("  {n:4}  {reason}");
        }
        println!("not sent / no foreign body:");
        let mut seen = std::collections::HashSet::new();
        for s in &self.skips {
            if seen.insert((s.what.clone(), s.reason)) {
                println!("  {}: {}", s.what, s.reason);
            }
        }
        for r in ROUTES.iter().filter(|r| r.guard == Guard::Public) {
            println!(
                "  {} {}: public, no credentials, no tenant data",
                r.method, r.path
            );
        }
        if !self.failures.is_empty() {
            for (i, f) in self.failures.iter().enumerate() {
                println!("FAILURE {}: {f}", i + 1);
            }
            panic!(
                "tenant isolation: {} failure(s) (listed above); first: {}",
                self.failures.len(),
                self.failures[0]
            );
        }
    }
}

/// Generates every probe for every attacker and sends them one by one (reads, then creates,
/// updates and deletes). User tokens that attackers manage to create naming A's account are
/// swept in a second round.
pub async fn run(w: &World) -> Report {
    let mut report = Report {
        failures: Vec::new(),
        skips: Vec::new(),
        exceptions: BTreeMap::new(),
        probes: 0,
    };
    let counter = Cell::new(0usize);
    // PORTCULLIS_ISOLATION_TRACE=1 prints every probe and its status.
    let trace = std::env::var("PORTCULLIS_ISOLATION_TRACE").is_ok_and(|v| v == "1");
    let mut stored: HashMap<&'static str, HashSet<String>> = HashMap::new();
    let mut round: Vec<Attacker> = w.attackers.clone();
    let mut round_no = 0;
    while !round.is_empty() && round_no < 2 {
        round_no += 1;
        let mut work: Vec<(usize, Probe)> = Vec::new();
        for (i, at) in round.iter().enumerate() {
            for route in ROUTES {
                for p in probes_for(route, w, at, &counter, &mut report.skips) {
                    work.push((i, p));
                }
            }
        }
        work.sort_by_key(|(_, p)| phase(&p.method));
        let mut print = dump::fingerprint(w).await;
        let mut derived: Vec<Attacker> = Vec::new();
        let mut derived_from: HashMap<String, usize> = HashMap::new();
        for (i, probe) in &work {
            let at = &round[*i];
            let r = send(w, &at.cred, probe).await;
            if trace {
                println!(
                    "probe [{}] {} {} ({}) -> {}",
                    at.label, probe.method, probe.path, probe.variant, r.status
                );
            }
            report.probes += 1;
            let known = stored.entry(at.principal).or_default();
            report.check(w, &at.label, probe, &r, known);
            if (200..300).contains(&r.status) {
                // What a principal stored successfully it may read back later.
                let sent = request_text(probe);
                known.extend(
                    w.secrets
                        .iter()
                        .filter(|(_, v)| sent.contains(v.as_str()))
                        .map(|(_, v)| v.clone()),
                );
            }
            if probe.method != Method::GET {
                let now = dump::fingerprint(w).await;
                if now != print {
                    let changed = diff(&print, &now);
                    report.fail(
                        &at.label,
                        probe,
                        &r,
                        &format!(
                            "A's data changed with this request:\n{}",
                            changed.join("\n")
                        ),
                    );
                    print = now;
                }
            }
            if probe.derive && r.status == 200 {
                if let Some(v) = r.body["result"]["value"].as_str() {
                    let n = derived_from.entry(at.label.clone()).or_default();
                    *n += 1;
                    // The token is its creator's user's: same principal, same operator flag.
                    derived.push(Attacker {
                        label: format!("user token naming A, made by {} (#{n})", at.label),
                        principal: at.principal,
                        cred: Cred::token(v),
                        operator: at.operator,
                        derives: false,
                    });
                }
            }
        }
        round = derived;
    }
    report
}
