//! The domain of Portcullis: identifiers, entities, the permission catalog, the storage boundary
//! ([`store::Store`]) and the services that implement every use case on top of it.
//!
//! This crate knows neither HTTP nor SQL. Services take a [`store::Store`] trait object, so the
//! SQLite and PostgreSQL adapters are interchangeable.

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod changes;
pub mod dns;
pub mod error;
pub mod ids;
pub mod model;
pub mod oauth;
pub mod page;
pub mod secret;
pub mod service;
pub mod state;
pub mod store;
pub mod time;

pub use error::CoreError;
