//! Black-box HTTP tests for the `portcullis` binary (issue "Foundation").
//!
//! Every test starts its own server on a fresh database (see `helpers::TestApp`), so the tests are
//! independent and run in parallel. The database is a SQLite file by default; with
//! `PORTCULLIS_TEST_BACKEND=postgres` and `PORTCULLIS_TEST_POSTGRES_URL=postgres://…` each server
//! instance gets its own schema `pt_<16 hex>`, dropped at teardown. The contract is Cloudflare's v4 API as
//! the official SDKs call it, and `docs/api-decisions.md` where it leaves a choice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod accounts;
mod auth;
mod cli;
mod envelope;
mod members;
mod permission_groups;
mod persistence;
mod startup;
mod tokens;
