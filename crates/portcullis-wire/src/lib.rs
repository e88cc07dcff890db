//! Cloudflare's v4 wire format, and nothing else: the envelope, the error-code catalog and the
//! request and response bodies of every endpoint Portcullis serves.
//!
//! This crate knows JSON and OpenAPI schemas but no HTTP framework and no domain rules; the HTTP
//! layer converts between these types and the domain explicitly.

pub mod body;
pub mod envelope;
pub mod error;

pub use envelope::{Envelope, Message, MessageSource, ResultInfo};
pub use error::{Detail, ErrorKind};
