//! Tenant isolation sweep (issue "Tenant isolation and fail-closed"), generated from the route
//! table `portcullis_api::routes::ROUTES`, so a new route is swept without touching this file (and
//! a route whose path parameter, query filter or body schema the sweep cannot fill fails loudly).
//!
//! One server, two accounts:
//! - **A**, the victim: bootstrap admin (email + key), its account token, a second accepted member
//!   with a policy, a user group holding that member and a policy, a resource group, a second
//!   account token, a user-owned token of A's admin and an SSO connector (`awaiting`).
//! - **B**, the attacker's account, created by an operator who is not a member of A, with its own
//!   Super Administrator (another user), a second member, a user group, a resource group, tokens
//!   and an SSO connector.
//!
//! Attackers (all on B's side): B's account token, B admin's user token (resources
//! `com.cloudflare.api.account.*`), B admin's email + key, and the operator's email + key. A user
//! token that an attacker manages to create naming A's account is swept too, as one more attacker.
//!
//! For every route and method, every attacker sends (see `sweep`):
//! - (a) B's account id in the path with A's object ids (and mixes of A's and B's ids);
//! - (b) A's account id in the path with A's object ids;
//! - (c) B's ids in the path with a body naming A's objects (members, resource groups, policies,
//!   the account resource key, authorize principals);
//! - list filters (`?id=`, `?name=`, …) naming A's objects on the attacker's own lists.
//!
//! Expected: no 2xx on anything touching A, except the explicit, justified exceptions in
//! `sweep::Expect::Own` (the caller's own data; those answers must not mention A); no answer may
//! mention an A id, name, email or secret that the request did not carry; and a full dump of A
//! (every GET route of the table, every page, as A's admin, canonical JSON) is byte-identical
//! before and after the sweep. After every write, a cheaper fingerprint of A (the account and
//! every list) is compared too, so a change is pinned to the request that made it. All failures
//! are collected and printed together.
//!
//! Run: `cargo nextest run -p portcullis --test http isolation --no-capture` (SQLite), and with
//! `PORTCULLIS_TEST_BACKEND=postgres PORTCULLIS_TEST_POSTGRES_URL=postgres://…` on PostgreSQL.
//! `PORTCULLIS_ISOLATION_TRACE=1` prints every probe and its status.

mod bodies;
mod dump;
mod sweep;
mod world;

use std::time::Instant;

#[tokio::test]
async fn no_foreign_credential_reads_or_changes_another_account() {
    let started = Instant::now();
    let w = world::World::build().await;
    let setup = started.elapsed();

    let before = dump::dump(&w).await;
    let mut report = sweep::run(&w).await;
    let after = dump::dump(&w).await;
    report.compare_dumps(&before, &after);
    report.check_victim_credentials(&w).await;

    println!(
        "isolation sweep on {:?}: setup {:.1}s, {} probes, {} dump/fingerprint requests, {} dump \
         entries, total {:.1}s",
        crate::helpers::backend(),
        setup.as_secs_f64(),
        report.probes,
        dump::REQUESTS.load(std::sync::atomic::Ordering::Relaxed),
        before.len(),
        started.elapsed().as_secs_f64()
    );
    report.finish();
}
