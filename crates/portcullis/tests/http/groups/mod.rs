//! Black-box HTTP tests for resource groups, user groups, user-group members and the policies of
//! members and user groups (api.md §5, api-decisions.md "Resource groups", "Policies", "User
//! groups and their members").
//!
//! Every test starts its own server on a fresh SQLite database through the foundation harness
//! (`helpers.rs`); helpers specific to groups live in `support`.

mod support;

mod audit;

mod concurrency;
mod escalation;
mod group_members;
mod index;
mod pagination;
mod policies;
mod resource_groups;
mod terraform;
mod trust;
mod user_groups;
