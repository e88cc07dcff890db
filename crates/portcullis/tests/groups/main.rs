//! Black-box HTTP tests for resource groups, user groups, user-group members and the policies of
//! members and user groups (api.md §5, api-decisions.md "Resource groups", "Policies", "User
//! groups and their members").
//!
//! Every test starts its own server on a fresh SQLite database through the foundation harness
//! (`../api/helpers.rs`, used read-only); helpers specific to groups live in `support`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod support;

mod concurrency;
mod escalation;
mod group_members;
mod index;
mod pagination;
mod policies;
mod resource_groups;
mod trust;
mod user_groups;
