//! A full dump of account A, as A's admin sees it: every GET route of the route table (except the
//! few listed in [`excluded`]), every object found by listing, every page, as canonical JSON
//! (keys sorted), keyed by request. Two dumps are compared byte for byte.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use portcullis_api::routes::{Guard, Route, Shape, ROUTES};
use reqwest::Method;
use serde_json::Value;

use super::sweep::params;
use super::world::World;
use crate::helpers::*;

/// Requests sent by dumps and fingerprints (for the timing line).
pub static REQUESTS: AtomicUsize = AtomicUsize::new(0);

/// Page size for walking lists (the smallest most lists accept, so pagination is exercised).
const PER_PAGE: u32 = 5;
/// Safety stop for a list that never ends.
const MAX_PAGES: u32 = 20;

/// GET routes the dump leaves out, with the reason.
fn excluded(route: &Route) -> Option<&'static str> {
    let p = route.path;
    if route.guard == Guard::Public {
        Some("public, no tenant data")
    } else if p.contains("permission_groups") {
        Some("the permission-group catalog, the same for every account")
    } else if p.ends_with("/verify") {
        Some("needs the token's own value as the credential, which would stamp last_used_on")
    } else {
        None
    }
}

/// Canonical JSON: object keys sorted, no white space.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

struct Dumper<'a> {
    w: &'a World,
    out: BTreeMap<String, String>,
    /// concrete list path -> ids of its items
    listed: HashMap<String, Vec<String>>,
}

fn route_for(template: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method == "GET" && r.path == template)
}

impl Dumper<'_> {
    async fn get(&mut self, path: &str) -> Value {
        let url = format!("{}{}", self.w.app.base(), path);
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        let (status, _, text) = self
            .w
            .app
            .raw(Method::GET, &url, &self.w.a_admin, Body::None)
            .await;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        self.out
            .insert(format!("GET {path}"), format!("{status} {}", canonical(&v)));
        v
    }

    /// Fetches `path` (every page when the route is paginated) into the dump; returns the items'
    /// ids when the result is a list.
    async fn fetch(&mut self, route: &Route, path: &str) -> Vec<String> {
        let ids_of = |v: &Value| -> Vec<String> {
            v["result"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| {
                            // OAuth clients are identified by `client_id`.
                            x["id"]
                                .as_str()
                                .or(x["client_id"].as_str())
                                .map(str::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        match route.result {
            Shape::Page(_) => {
                let mut ids = Vec::new();
                for page in 1..=MAX_PAGES {
                    let v = self
                        .get(&format!("{path}?page={page}&per_page={PER_PAGE}"))
                        .await;
                    let got = ids_of(&v);
                    let total_pages = v["result_info"]["total_pages"].as_u64().unwrap_or(0);
                    let empty = got.is_empty();
                    ids.extend(got);
                    if empty || u64::from(page) >= total_pages {
                        break;
                    }
                }
                ids
            }
            _ => {
                let v = self.get(path).await;
                ids_of(&v)
            }
        }
    }

    /// The ids listed at the concrete list path `concrete` (GET route `template`).
    async fn list(&mut self, template: &str, concrete: &str) -> Vec<String> {
        if let Some(ids) = self.listed.get(concrete) {
            return ids.clone();
        }
        let route = route_for(template).unwrap_or_else(|| {
            panic!(
                "dump: no GET list route {template} to enumerate the objects below it — teach \
                 tests/http/isolation/dump.rs how to find them"
            )
        });
        let mut ids = self.fetch(route, concrete).await;
        ids.sort();
        ids.dedup();
        self.listed.insert(concrete.to_string(), ids.clone());
        ids
    }

    /// Every concrete path of `template` in A: `{account_id}` is A, every other parameter takes
    /// each id listed by the GET route just above it.
    async fn expand(&mut self, template: &str) -> Vec<String> {
        let mut prefixes: Vec<(String, String)> = vec![(String::new(), String::new())];
        for seg in template.split('/').skip(1) {
            let mut next = Vec::new();
            for (t, c) in prefixes {
                let t2 = format!("{t}/{seg}");
                if seg == "{account_id}" {
                    next.push((t2, format!("{c}/{}", self.w.a.account)));
                } else if seg.starts_with('{') {
                    for id in self.list(&t, &c).await {
                        next.push((t2.clone(), format!("{c}/{id}")));
                    }
                } else {
                    next.push((t2, format!("{c}/{seg}")));
                }
            }
            prefixes = next;
        }
        prefixes.into_iter().map(|(_, c)| c).collect()
    }
}

/// Dumps A through every GET route of the table (see [`excluded`]).
pub async fn dump(w: &World) -> BTreeMap<String, String> {
    dump_routes(w, false).await
}

/// A cheaper dump, taken after every write of the sweep to tell which request changed A: only
/// the GET routes without object ids in the path (the account, every list, first pages), which
/// show every object's name, state and `modified_on`. The full [`dump`] stays the judge.
pub async fn fingerprint(w: &World) -> BTreeMap<String, String> {
    dump_routes(w, true).await
}

async fn dump_routes(w: &World, lists_only: bool) -> BTreeMap<String, String> {
    let mut d = Dumper {
        w,
        out: BTreeMap::new(),
        listed: HashMap::new(),
    };
    // Lists first (they also feed the object routes), shortest paths first.
    let mut routes: Vec<&'static Route> = ROUTES
        .iter()
        .filter(|r| r.method == "GET" && excluded(r).is_none())
        .filter(|r| !lists_only || params(r.path).iter().all(|p| *p == "account_id"))
        .collect();
    routes.sort_by_key(|r| (params(r.path).len(), r.path.len()));
    for route in routes {
        for path in d.expand(route.path).await {
            if d.out.contains_key(&format!("GET {path}"))
                || d.out
                    .contains_key(&format!("GET {path}?page=1&per_page={PER_PAGE}"))
            {
                continue;
            }
            if matches!(route.result, Shape::Page(_) | Shape::Array(_)) {
                d.list(route.path, &path).await;
            } else {
                d.fetch(route, &path).await;
            }
        }
    }
    d.out
}
