//! Two `portcullis serve` replicas on ONE PostgreSQL schema (README "PostgreSQL and several
//! replicas"): every write is visible on the other replica as soon as it returned, uniqueness holds
//! across replicas, concurrent member replacements never mix.
//!
//! Needs `PORTCULLIS_TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DB` (each test bootstraps a fresh
//! schema `pt_<16 hex>` once, starts replicas A and B on it, and drops the schema at the end). When
//! the variable is unset every test prints `PostgreSQL NOT TESTED: …` to stderr and returns; when it
//! is set but PostgreSQL is unusable, the tests fail.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{json, Value};

use crate::helpers::*;

/// Replica A owns the schema; B is declared first so it is dropped (killed) first.
struct Pair {
    b: TestApp,
    a: TestApp,
}

fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().to_string()),
        _ => {
            // Straight to the process's stderr (not `eprintln!`, which the test harness captures
            // for passing tests), so the gap is visible in every run.
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL NOT TESTED: {POSTGRES_URL_ENV} is not set"
            );
            None
        }
    }
}

/// Fresh schema, `portcullis bootstrap` once, then replicas A and B on it.
fn pair() -> Option<Pair> {
    let base = postgres_url()?;
    check_postgres_reachable(&base);
    let db_url = postgres_url_with_schema(&base, &new_schema_name());
    let guard = db_guard(&db_url);
    let dir = tempfile::tempdir().expect("tempdir");
    let boot = bootstrap(&db_url, "Replicas", "admin@example.com", &[]);
    let a = TestApp::serve_existing(dir, db_url, boot);
    guard.disarm(); // `a` drops the schema from now on
    let b = a.spawn_replica();
    assert_ne!(a.base(), b.base(), "two distinct server processes");
    Some(Pair { b, a })
}

fn ug_path(app: &TestApp, rest: &str) -> String {
    app.acct(&format!("/iam/user_groups{rest}"))
}

fn gm_path(app: &TestApp, group: &str, rest: &str) -> String {
    app.acct(&format!("/iam/user_groups/{group}/members{rest}"))
}

fn rg_path(app: &TestApp, rest: &str) -> String {
    app.acct(&format!("/iam/resource_groups{rest}"))
}

fn id_list(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "id": id })).collect())
}

fn zone(n: u64) -> String {
    format!("com.cloudflare.api.account.zone.{n:032x}")
}

async fn create_ug(app: &TestApp, name: &str) -> String {
    let r = app
        .post(&ug_path(app, ""), &app.admin(), json!({ "name": name }))
        .await;
    assert_eq!(r.status, 200, "{r}");
    str_field(r.ok(), "id")
}

/// `n` pending members `<prefix>NN@example.com`, created on `app`; ids in creation order.
async fn create_members(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let m = app
            .create_member(
                &app.boot.account_id,
                &app.admin(),
                &format!("{prefix}{i:02}@example.com"),
                &[ROLE_ADMIN_READ_ONLY],
                None,
            )
            .await;
        out.push(str_field(&m, "id"));
    }
    out
}

async fn group_member_set(app: &TestApp, group: &str) -> BTreeSet<String> {
    let r = app
        .get(&gm_path(app, group, "?per_page=500"), &app.admin())
        .await;
    let got: BTreeSet<String> = ids(r.list()).into_iter().collect();
    assert_eq!(
        r.info()["total_count"].as_u64(),
        Some(got.len() as u64),
        "total_count must equal the members listed: {r}"
    );
    got
}

/// GET `path` on both replicas and assert the same `result`.
async fn same_on_both(p: &Pair, path: &str) -> Value {
    let ra = p.a.get(path, &p.a.admin()).await;
    let rb = p.b.get(path, &p.b.admin()).await;
    assert_eq!(
        rb.ok(),
        ra.ok(),
        "replica B must serve what A serves: {ra} / {rb}"
    );
    rb.ok().clone()
}

/// Exactly one 200 and one 409/1002 between two racing creates.
fn one_wins_one_conflicts(round: usize, what: &str, r1: &Resp, r2: &Resp) {
    let mut statuses = [r1.status, r2.status];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 409],
        "{what} round {round}: exactly one 200 and one 409 expected:\nA: {r1}\nB: {r2}"
    );
    let loser = if r1.status == 409 { r1 } else { r2 };
    loser.err(409, 1002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_one_replica_are_read_on_the_other() {
    let Some(p) = pair() else { return };
    let (a, b) = (&p.a, &p.b);
    let acct = a.boot.account_id.clone();

    // Account member.
    let m = a
        .create_member(
            &acct,
            &a.admin(),
            "replica@example.com",
            &[ROLE_ADMIN],
            None,
        )
        .await;
    let mid = str_field(&m, "id");
    let got = same_on_both(&p, &a.acct(&format!("/members/{mid}"))).await;
    assert_eq!(got["email"], json!("replica@example.com"), "{got}");

    // User group.
    let g = create_ug(a, "Replicated group").await;
    let got = same_on_both(&p, &ug_path(a, &format!("/{g}"))).await;
    assert_eq!(got["name"], json!("Replicated group"), "{got}");
    let r = b
        .get(&ug_path(b, "?name=Replicated%20group"), &b.admin())
        .await;
    assert_eq!(ids(r.list()), vec![g.clone()], "{r}");

    // Group members added on A.
    let r = a
        .post(
            &gm_path(a, &g, ""),
            &a.admin(),
            id_list(std::slice::from_ref(&mid)),
        )
        .await;
    r.ok();
    assert_eq!(
        group_member_set(b, &g).await,
        BTreeSet::from([mid.clone()]),
        "members added on A, listed on B"
    );

    // Resource group.
    let r = a
        .post(
            &rg_path(a, ""),
            &a.admin(),
            json!({
                "name": "Replicated zones",
                "scope": {
                    "key": account_resource(&acct),
                    "objects": [{ "key": zone(1) }, { "key": zone(2) }],
                },
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    let rg = str_field(r.ok(), "id");
    let got = same_on_both(&p, &rg_path(a, &format!("/{rg}"))).await;
    assert_eq!(got["name"], json!("Replicated zones"), "{got}");

    // Account token: readable and usable on B.
    let (tid, tvalue) = a
        .create_account_token(&acct, &a.admin(), token_body("replicated", &acct))
        .await;
    let got = same_on_both(&p, &a.acct(&format!("/tokens/{tid}"))).await;
    assert_eq!(got["name"], json!("replicated"), "{got}");
    let r = b.verify_account_token(&acct, &tvalue).await;
    assert_eq!(
        r.ok()["id"],
        json!(tid),
        "token created on A verifies on B: {r}"
    );
    let r = b.get(&b.acct(""), &Cred::token(&tvalue)).await;
    assert_eq!(
        r.ok()["id"],
        json!(acct),
        "token created on A authenticates on B: {r}"
    );

    // User token created on B, used on A.
    let (utid, utvalue) = b
        .create_user_token(
            &b.admin_key(),
            user_token_body("user replicated", &b.boot.user_id),
        )
        .await;
    let r = a.get("/user/tokens/verify", &Cred::token(&utvalue)).await;
    assert_eq!(
        r.ok()["id"],
        json!(utid),
        "user token created on B verifies on A: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_changes_on_one_replica_apply_at_once_on_the_other() {
    // On the other replica a change applies when PostgreSQL delivers its announcement: the
    // next request almost always, but a loaded machine (the whole suite in parallel) can delay
    // the NOTIFY by a few milliseconds. The check allows 5 s (a bound on delivery, not a speed
    // target; benches measure latency) and fails on a change that is never heard.
    async fn refused_once_announced(b: &TestApp, acct: &str, value: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let r = b.verify_account_token(acct, value).await;
            if r.status != 200 {
                r.err(403, 9109);
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still accepted on the other replica 5 s after the change: {r}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    let Some(p) = pair() else { return };
    let (a, b) = (&p.a, &p.b);
    let acct = a.boot.account_id.clone();

    // Used on B first (so any per-replica state would be warm), then rolled on A.
    let (tid, v1) = a
        .create_account_token(&acct, &a.admin(), token_body("rolled", &acct))
        .await;
    b.verify_account_token(&acct, &v1).await.ok();
    let r = a
        .put(
            &a.acct(&format!("/tokens/{tid}/value")),
            &a.admin(),
            json!({}),
        )
        .await;
    let v2 = r.ok().as_str().expect("rolled value").to_string();
    refused_once_announced(b, &acct, &v1).await;
    let r = b.verify_account_token(&acct, &v2).await;
    assert_eq!(r.ok()["id"], json!(tid), "{r}");

    // Deleted on A: rejected on B.
    b.get(&b.acct(""), &Cred::token(&v2)).await.ok();
    a.delete(&a.acct(&format!("/tokens/{tid}")), &a.admin())
        .await
        .ok();
    refused_once_announced(b, &acct, &v2).await;
    b.get(&b.acct(&format!("/tokens/{tid}")), &b.admin())
        .await
        .err(404, 1003);

    // A global key replaced with `user-key` (CLI, same database): old key fails on both replicas.
    let (_, k1) = a.user_key("kim@example.com", false);
    b.get("/user", &Cred::key("kim@example.com", &k1))
        .await
        .ok();
    let (_, k2) = a.user_key("kim@example.com", false);
    for app in [a, b] {
        app.get("/user", &Cred::key("kim@example.com", &k1))
            .await
            .err(403, 9103);
        app.get("/user", &Cred::key("kim@example.com", &k2))
            .await
            .ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_both_replicas_keep_names_and_emails_unique() {
    let Some(p) = pair() else { return };
    let (a, b) = (&p.a, &p.b);
    let acct = a.boot.account_id.clone();
    let (ca, cb) = (a.admin(), b.admin());

    // The same user-group name, different case, at the same moment on A and B.
    let (pa, pb) = (ug_path(a, ""), ug_path(b, ""));
    for round in 0..20 {
        let name = format!("race group {round}");
        let upper = name.to_uppercase();
        let (r1, r2) = tokio::join!(
            a.post(&pa, &ca, json!({ "name": name })),
            b.post(&pb, &cb, json!({ "name": upper })),
        );
        one_wins_one_conflicts(round, "user group", &r1, &r2);
    }
    let r = b.get(&ug_path(b, "?per_page=500"), &cb).await;
    assert_eq!(r.list().len(), 20, "{r}");
    assert_eq!(r.info()["total_count"], json!(20), "{r}");
    let mut seen: Vec<String> = names(r.list()).iter().map(|n| n.to_lowercase()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 20, "one group per name: {r}");

    // The same member email (different case; emails are lower-cased) on A and B.
    let (ma, mb) = (a.acct("/members"), b.acct("/members"));
    for round in 0..20 {
        let email = format!("racer{round:02}@example.com");
        let upper = email.to_uppercase();
        let (r1, r2) = tokio::join!(
            a.post(
                &ma,
                &ca,
                json!({ "email": email, "roles": [ROLE_ADMIN_READ_ONLY] })
            ),
            b.post(
                &mb,
                &cb,
                json!({ "email": upper, "roles": [ROLE_ADMIN_READ_ONLY] })
            ),
        );
        one_wins_one_conflicts(round, "member", &r1, &r2);
    }
    let all = a.walk(&format!("/accounts/{acct}/members"), &ca, 50).await;
    let racers: Vec<String> = all
        .iter()
        .filter_map(|m| m["email"].as_str())
        .filter(|e| e.starts_with("racer"))
        .map(str::to_string)
        .collect();
    let unique: BTreeSet<&String> = racers.iter().collect();
    assert_eq!(racers.len(), 20, "one member per email: {racers:?}");
    assert_eq!(unique.len(), 20, "one member per email: {racers:?}");
    assert_eq!(all.len(), 21, "20 racers + the bootstrap member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sso_domains_on_both_replicas_stay_unique() {
    let Some(p) = pair() else { return };
    let (a, b) = (&p.a, &p.b);
    let (ca, cb) = (a.admin(), b.admin());
    let (sa, sb) = (a.acct("/sso_connectors"), b.acct("/sso_connectors"));
    for round in 0..20 {
        let domain = format!("race{round:02}.example");
        let (r1, r2) = tokio::join!(
            a.post(
                &sa,
                &ca,
                json!({ "email_domain": domain, "begin_verification": false })
            ),
            b.post(
                &sb,
                &cb,
                json!({ "email_domain": domain.to_uppercase(), "begin_verification": false })
            ),
        );
        one_wins_one_conflicts(round, "SSO connector", &r1, &r2);
    }
    let r = b.get(&sb, &cb).await;
    let domains: BTreeSet<String> = r
        .list()
        .iter()
        .filter_map(|c| c["email_domain"].as_str().map(str::to_string))
        .collect();
    assert_eq!(r.list().len(), 20, "one connector per domain: {r}");
    assert_eq!(domains.len(), 20, "one connector per domain: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_member_replacements_on_both_replicas_never_mix() {
    let Some(p) = pair() else { return };
    let (a, b) = (&p.a, &p.b);
    let ms = create_members(a, "swap", 40).await;
    let (xs, ys) = ms.split_at(20);
    let set_x: BTreeSet<String> = xs.iter().cloned().collect();
    let set_y: BTreeSet<String> = ys.iter().cloned().collect();
    let g = create_ug(b, "Contended").await;
    let (pa, pb) = (gm_path(a, &g, ""), gm_path(b, &g, ""));
    let (ca, cb) = (a.admin(), b.admin());
    let (mut x_won, mut y_won) = (0, 0);
    for round in 0..10 {
        let (ra, rb) = tokio::join!(a.put(&pa, &ca, id_list(xs)), b.put(&pb, &cb, id_list(ys)));
        let got_a: BTreeSet<String> = ids(ra.list()).into_iter().collect();
        let got_b: BTreeSet<String> = ids(rb.list()).into_iter().collect();
        assert_eq!(
            got_a, set_x,
            "round {round}: A answers the set it wrote: {ra}"
        );
        assert_eq!(
            got_b, set_y,
            "round {round}: B answers the set it wrote: {rb}"
        );
        let on_a = group_member_set(a, &g).await;
        let on_b = group_member_set(b, &g).await;
        assert_eq!(on_a, on_b, "round {round}: both replicas see the same set");
        if on_a == set_x {
            x_won += 1;
        } else if on_a == set_y {
            y_won += 1;
        } else {
            let from_x = on_a.intersection(&set_x).count();
            let from_y = on_a.intersection(&set_y).count();
            panic!(
                "round {round}: the final set must be one of the two, got a mix of {from_x} from \
                 A's set and {from_y} from B's set"
            );
        }
    }
    eprintln!("replacements: A's set won {x_won} rounds, B's set {y_won}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_on_one_replica_are_seen_on_the_other() {
    let Some(p) = pair() else { return };
    let (a, b) = (&p.a, &p.b);
    let ms = create_members(b, "gone", 3).await;
    let g = create_ug(a, "Shrinking").await;
    a.post(&gm_path(a, &g, ""), &a.admin(), id_list(&ms))
        .await
        .ok();
    let all: BTreeSet<String> = ms.iter().cloned().collect();
    assert_eq!(group_member_set(b, &g).await, all);

    // Removed from the group on A: gone from the group on B.
    let r = a
        .delete(&gm_path(a, &g, &format!("/{}", ms[0])), &a.admin())
        .await;
    assert_eq!(r.ok()["id"], json!(ms[0]), "{r}");
    let want: BTreeSet<String> = ms[1..].iter().cloned().collect();
    assert_eq!(
        group_member_set(b, &g).await,
        want,
        "group-member removal on A, seen on B"
    );
    b.delete(&gm_path(b, &g, &format!("/{}", ms[0])), &b.admin())
        .await
        .err(404, 1003);

    // Removed from the account on A: gone from the group on B, and the account member too.
    a.delete(&a.acct(&format!("/members/{}", ms[1])), &a.admin())
        .await
        .ok();
    let want: BTreeSet<String> = ms[2..].iter().cloned().collect();
    assert_eq!(
        group_member_set(b, &g).await,
        want,
        "account-member removal on A, seen on B"
    );
    b.get(&b.acct(&format!("/members/{}", ms[1])), &b.admin())
        .await
        .err(404, 1003);

    // The group deleted on A: gone on B.
    a.delete(&ug_path(a, &format!("/{g}")), &a.admin())
        .await
        .ok();
    b.get(&ug_path(b, &format!("/{g}")), &b.admin())
        .await
        .err(404, 1003);
    b.get(&gm_path(b, &g, ""), &b.admin()).await.err(404, 1003);
}

#[test]
fn replicas_started_together_on_an_empty_schema_both_serve() {
    let Some(base) = postgres_url() else { return };
    check_postgres_reachable(&base);
    let db_url = postgres_url_with_schema(&base, &new_schema_name());
    let _schema = db_guard(&db_url);
    let (d1, d2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    // Both migrate the fresh schema at start (serialized by the server's advisory lock).
    let (s1, s2) = std::thread::scope(|s| {
        let h1 = s.spawn(|| Server::start(d1.path(), &db_url));
        let h2 = s.spawn(|| Server::start(d2.path(), &db_url));
        (h1.join(), h2.join())
    });
    let (s1, s2) = match (s1, s2) {
        (Ok(s1), Ok(s2)) => (s1, s2),
        _ => panic!("both replicas must start on one fresh schema (see the panic above)"),
    };
    let boot = bootstrap(&db_url, "Together", "admin@example.com", &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = http_client();
    for s in [&s1, &s2] {
        let url = format!("{}/client/v4/accounts/{}", s.base, boot.account_id);
        let (status, body) = rt.block_on(async {
            let r = client
                .get(&url)
                .bearer_auth(&boot.api_token)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}"));
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        });
        assert_eq!(
            status,
            200,
            "GET {url}: {body}\nserver stderr:\n{}",
            s.stderr()
        );
    }
    drop((s1, s2));
}

/// Decides `permission` for `member` on `app` (the decision API); returns `allowed`.
async fn allowed_on(app: &TestApp, member: &str, permission: &str) -> bool {
    let r = app
        .post(
            &app.acct("/iam/authorize"),
            &app.admin(),
            json!({ "principal": { "member_id": member }, "checks": [{ "permission": permission }] }),
        )
        .await;
    r.ok()[0]["allowed"]
        .as_bool()
        .unwrap_or_else(|| panic!("no decision: {r}"))
}

/// Polls `app` until the decision is `want` (policy indexes of other replicas learn of a
/// change when PostgreSQL delivers its announcement); returns how many decisions it took
/// (1: the first one after the write was already right).
async fn converges(app: &TestApp, member: &str, permission: &str, want: bool) -> u32 {
    let started = std::time::Instant::now();
    let mut attempts = 1;
    while allowed_on(app, member, permission).await != want {
        attempts += 1;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "replica B still decides allowed={} for {permission} 5 s after the change on A",
            !want
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    attempts
}

/// "Administrator" (account-scoped): every key of it must be allowed.
const PG_ADMINISTRATOR: &str = "2e5a4b3d2af5a7bd64c4a79ad4078ff1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_changes_on_one_replica_reach_the_other_replicas_decisions() {
    let Some(p) = pair() else { return };
    let (a, b) = (&p.a, &p.b);
    let m = str_field(
        &a.create_member(
            &a.boot.account_id,
            &a.admin(),
            "decided@example.com",
            &[ROLE_ADMIN_READ_ONLY],
            Some("accepted"),
        )
        .await,
        "id",
    );
    let everything = {
        let r = a
            .post(
                &rg_path(a, ""),
                &a.admin(),
                json!({ "name": "all", "scope": { "key": format!("com.cloudflare.api.account.{}", a.boot.account_id), "objects": [{ "key": "*" }] } }),
            )
            .await;
        str_field(r.ok(), "id")
    };
    let g = {
        let r = a
            .post(
                &ug_path(a, ""),
                &a.admin(),
                json!({ "name": "Admins", "policies": [{ "access": "allow", "permission_groups": [{ "id": PG_ADMINISTRATOR }], "resource_groups": [{ "id": everything }] }] }),
            )
            .await;
        str_field(r.ok(), "id")
    };
    // B decides (twice: its index is warm) before each change on A.
    for _ in 0..2 {
        assert!(!allowed_on(b, &m, PG_ADMINISTRATOR).await);
    }
    a.post(
        &gm_path(a, &g, ""),
        &a.admin(),
        id_list(std::slice::from_ref(&m)),
    )
    .await
    .ok();
    assert!(
        allowed_on(a, &m, PG_ADMINISTRATOR).await,
        "the writer decides from its own index at once"
    );
    let joined = converges(b, &m, PG_ADMINISTRATOR, true).await;
    for _ in 0..2 {
        assert!(allowed_on(b, &m, PG_ADMINISTRATOR).await);
    }
    a.delete(&gm_path(a, &g, &format!("/{m}")), &a.admin())
        .await
        .ok();
    let left = converges(b, &m, PG_ADMINISTRATOR, false).await;
    // A deny added to the group on A, after the member is back in it.
    a.post(
        &gm_path(a, &g, ""),
        &a.admin(),
        id_list(std::slice::from_ref(&m)),
    )
    .await
    .ok();
    converges(b, &m, PG_ADMINISTRATOR, true).await;
    a.put(
        &ug_path(a, &format!("/{g}")),
        &a.admin(),
        json!({ "policies": [
            { "access": "allow", "permission_groups": [{ "id": PG_ADMINISTRATOR }], "resource_groups": [{ "id": everything }] },
            { "access": "deny", "permission_groups": [{ "id": PG_ADMINISTRATOR }], "resource_groups": [{ "id": everything }] }
        ] }),
    )
    .await
    .ok();
    let denied = converges(b, &m, PG_ADMINISTRATOR, false).await;
    let _ = writeln!(
        std::io::stderr(),
        "decisions on replica B until they followed A's write: join {joined}, leave {left}, deny {denied}"
    );
    // And A, the writer, answers from its own index at once.
    assert!(!allowed_on(a, &m, PG_ADMINISTRATOR).await);
}
