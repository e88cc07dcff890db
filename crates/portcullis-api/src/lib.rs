//! The HTTP layer of Portcullis: the one route table, extractors whose rejections are Cloudflare
//! envelopes, handlers that translate between wire types and the domain, and the OpenAPI
//! document generated from the route table.
//!
//! This is the only crate that knows HTTP.

pub mod console;
pub mod convert;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod metrics;
pub mod openapi;
pub mod path;
pub mod query;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod shape;

pub use console::ConsoleSetting;
pub use portcullis_core::service::AuthzMode;
pub use ratelimit::RateLimitSetting;
pub use server::{metrics_router, router, AppState, RequestId};
pub use shape::ScopeShapeSetting;
