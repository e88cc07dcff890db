//! Typed query parameters. A list route's parameters are declared once, as a struct
//! ([`query_params!`]): the handler reads the struct ([`ApiQuery`]) and the route table hands
//! the same struct's [`QueryParams::params`] to the OpenAPI document, so a parameter cannot be
//! documented without being read, or read without being documented.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portcullis_core::page::{PageLimits, PageRequest};

use crate::error::ApiError;
use crate::extract::Query;

/// One documented query parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name.
    pub name: &'static str,
    /// OpenAPI type (`string`, `number`).
    pub kind: &'static str,
    /// Meaning.
    pub doc: &'static str,
    /// The values it accepts, when it is an enumeration.
    pub allowed: &'static [&'static str],
}

/// A struct of query parameters.
pub trait QueryParams: Sized {
    /// Its parameters, as documented.
    fn params() -> Vec<Param>;
    /// Reads it; each refusal is 400/1001 naming `/query/<name>`.
    fn from_query(q: &Query) -> Result<Self, ApiError>;
}

/// A route without query parameters.
pub fn none() -> Vec<Param> {
    Vec::new()
}

/// Extracts query parameters into `T`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: QueryParams> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let q = Query::from_request_parts(parts, state).await?;
        T::from_query(&q).map(ApiQuery)
    }
}

/// The kinds of parameter a [`query_params!`] field can be: each documents itself (`params`)
/// and reads itself (`read`) from the same arguments.
pub mod kinds {
    use super::*;

    /// Free text (empty counts as absent).
    pub mod text {
        use super::*;
        /// Documented as a string.
        pub fn params(name: &'static str, doc: &'static str) -> Vec<Param> {
            vec![Param {
                name,
                kind: "string",
                doc,
                allowed: &[],
            }]
        }
        /// The last value given, if any.
        pub fn read(
            q: &Query,
            (name, _): (&'static str, &'static str),
        ) -> Result<Option<String>, ApiError> {
            Ok(q.get(name).map(str::to_owned))
        }
    }

    /// Text compared as a name: surrounding white space dropped.
    pub mod name {
        use super::*;
        /// Documented as a string.
        pub fn params(name: &'static str, doc: &'static str) -> Vec<Param> {
            text::params(name, doc)
        }
        /// The last value given, trimmed, if any.
        pub fn read(
            q: &Query,
            (name, _): (&'static str, &'static str),
        ) -> Result<Option<String>, ApiError> {
            Ok(q.get(name).map(|v| v.trim().to_owned()))
        }
    }

    /// One of a fixed set of values.
    pub mod one_of {
        use super::*;
        /// Documented with its values.
        pub fn params(
            name: &'static str,
            doc: &'static str,
            allowed: &'static [&'static str],
        ) -> Vec<Param> {
            vec![Param {
                name,
                kind: "string",
                doc,
                allowed,
            }]
        }
        /// The value, when given; another value is refused.
        pub fn read(
            q: &Query,
            (name, _, allowed): (&'static str, &'static str, &'static [&'static str]),
        ) -> Result<Option<&'static str>, ApiError> {
            q.one_of(name, allowed)
        }
    }

    /// `direction`: `asc` (the default) or `desc`; true for `desc`.
    pub mod descending {
        use super::*;
        /// Documented with its two values.
        pub fn params(name: &'static str, doc: &'static str) -> Vec<Param> {
            one_of::params(name, doc, &["asc", "desc"])
        }
        /// Whether `desc` was asked for.
        pub fn read(q: &Query, (name, _): (&'static str, &'static str)) -> Result<bool, ApiError> {
            Ok(q.one_of(name, &["asc", "desc"])? == Some("desc"))
        }
    }

    /// `page` and `per_page`, within the route's limits.
    pub mod page {
        use super::*;
        /// Documented as two numbers.
        pub fn params(_: PageLimits) -> Vec<Param> {
            vec![
                Param {
                    name: "page",
                    kind: "number",
                    doc: "Page number (1-based). Past the end: an empty page.",
                    allowed: &[],
                },
                Param {
                    name: "per_page",
                    kind: "number",
                    doc: "Page size (clamped to the endpoint's range).",
                    allowed: &[],
                },
            ]
        }
        /// The page asked for.
        pub fn read(q: &Query, (limits,): (PageLimits,)) -> Result<PageRequest, ApiError> {
            q.page(limits)
        }
    }
}

/// Declares a struct of query parameters; each field names its kind and the kind's arguments
/// (parameter name and documentation first), from which both the parser and the documentation
/// are made.
macro_rules! query_params {
    ($(#[$doc:meta])* $name:ident {
        $($(#[$fdoc:meta])* $field:ident: $ty:ty = $kind:ident($($arg:expr),+ $(,)?)),+ $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty),+
        }

        impl $crate::query::QueryParams for $name {
            fn params() -> Vec<$crate::query::Param> {
                let mut out = Vec::new();
                $(out.extend($crate::query::kinds::$kind::params($($arg),+));)+
                out
            }

            fn from_query(
                q: &$crate::extract::Query,
            ) -> Result<Self, $crate::error::ApiError> {
                Ok(Self {
                    $($field: $crate::query::kinds::$kind::read(q, ($($arg,)+))?),+
                })
            }
        }
    };
}
pub(crate) use query_params;
