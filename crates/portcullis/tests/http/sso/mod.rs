//! Black-box HTTP tests for SSO connectors (api.md §5 "SSO connectors", api-decisions.md "SSO
//! connectors"): domain validation and IDNA normalization, uniqueness, the verification state
//! machine (awaiting → pending → verified | failed) driven by real DNS lookups against the
//! project's DNS fixture (`portcullis-dns-fixture`), enabling, deletion and persistence.
//!
//! Every test starts its own DNS fixture and its own `portcullis serve` (short
//! `--sso-check-interval` / `--sso-verification-window`) on a fresh database, so the tests are
//! independent and run in parallel. The foundation harness `helpers.rs` is shared;
//! the SSO-specific spawner (extra `serve` flags) and the DNS fixture live in `support`.
//!
//! The DNS fixture is built by another crate: run `cargo build -p portcullis-dns` first
//! (`scripts/test` does).

mod support;

mod crud;
mod lifecycle;
mod persistence;
mod validation;
