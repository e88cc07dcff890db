//! The foundation: accounts, members, tokens, authentication, the envelope, the CLI, persistence
//! and the server as a library.

mod accounts;
mod auth;
mod cli;
mod console;
mod credentials;
mod envelope;
mod members;
mod metrics;
mod permission_groups;
mod persistence;
mod request_ids;
mod startup;
mod tokens;
