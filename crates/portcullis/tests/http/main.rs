//! Black-box HTTP tests of Portcullis, in one binary: every test starts its own server on a
//! fresh database through `TestApp` (`portcullis-testkit`) (in this process unless the test stops, restarts or
//! reads the log of a server process). The database is a SQLite file by default; with
//! `PORTCULLIS_TEST_BACKEND=postgres` and `PORTCULLIS_TEST_POSTGRES_URL=postgres://…` each
//! server gets its own schema `pt_<16 hex>`, dropped at teardown. The contract is Cloudflare's
//! v4 API as the official SDKs call it, and `docs/api-decisions.md` where it leaves a choice.
//!
//! - `api`: the foundation (accounts, members, tokens, auth, envelope, CLI, persistence);
//! - `groups`: resource groups, user groups, members, policies, the policy index, trust;
//! - `isolation`: the tenant-isolation sweep generated from the route table;
//! - `sso`: SSO connectors with real DNS (the project's DNS fixture);
//! - `oauth`: OAuth clients and the OAuth scope catalog;
//! - `replicas`: two server processes over one PostgreSQL database;
//! - `state`: export, import, `serve --fixtures` and the reset endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The harness (`portcullis-testkit`), under the name the test modules use.
mod helpers {
    pub use portcullis_testkit::backend::*;
    pub use portcullis_testkit::cli::*;
    pub use portcullis_testkit::fixtures::*;
    pub use portcullis_testkit::http::*;
    pub use portcullis_testkit::raw::*;
    pub use portcullis_testkit::server::*;
}

mod api;
mod groups;
mod isolation;
mod oauth;
mod replicas;
mod sso;
mod state;
