//! Dev-only helpers for Portcullis's tests.
//!
//! - [`contracts`]: the storage contract suite every store adapter runs ([`contract_tests!`]).
//! - The HTTP harness: [`http`] (`TestApp`, credentials, envelope checks), [`server`] (in-process
//!   and process servers), [`cli`] (the commands as processes), [`backend`] (SQLite or a fresh
//!   PostgreSQL schema), [`fixtures`] (bodies, catalog ids, small assertions), [`raw`] (raw
//!   HTTP/1.1).
//! - [`load`]: what the HTTP benchmarks drive and measure with.

pub mod backend;
pub mod cli;
pub mod contracts;
pub mod fixtures;
pub mod http;
pub mod load;
pub mod raw;
pub mod server;

pub use contracts::*;
