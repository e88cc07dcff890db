//! Black-box HTTP tests for the `portcullis` binary (issue "Foundation").
//!
//! Every test starts its own server on a fresh SQLite database (see `helpers::TestApp`), so the
//! tests are independent and run in parallel. The contract is `../shared/spec/api.md`,
//! `../shared/spec/sdk-clients.md` and `docs/api-decisions.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod accounts;
mod auth;
mod cli;
mod envelope;
mod members;
mod permission_groups;
mod persistence;
mod tokens;
