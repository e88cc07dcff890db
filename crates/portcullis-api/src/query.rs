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

    /// A point in time: a date (`2026-12-01`, midnight UTC) or an RFC 3339 date-time.
    pub mod time {
        use super::*;
        use portcullis_core::time::Timestamp;
        /// Documented as a string.
        pub fn params(name: &'static str, doc: &'static str) -> Vec<Param> {
            text::params(name, doc)
        }
        /// The time, when given.
        pub fn read(
            q: &Query,
            (name, _): (&'static str, &'static str),
        ) -> Result<Option<Timestamp>, ApiError> {
            q.get(name)
                .map(|v| {
                    Timestamp::parse_date_or_time(v).ok_or_else(|| {
                        ApiError::invalid(
                            format!("/query/{name}"),
                            format!("query parameter `{name}`: `{v}` is neither a date (2026-12-01) nor an RFC 3339 date-time (2026-12-01T10:00:00Z)"),
                        )
                    })
                })
                .transpose()
        }
    }

    /// A point in time that must be given.
    pub mod required_time {
        use super::*;
        use portcullis_core::time::Timestamp;
        /// Documented as a date-time string.
        pub fn params(name: &'static str, doc: &'static str) -> Vec<Param> {
            time::params(name, doc)
        }
        /// The time; absent is refused.
        pub fn read(q: &Query, args: (&'static str, &'static str)) -> Result<Timestamp, ApiError> {
            time::read(q, args)?.ok_or_else(|| {
                ApiError::invalid(
                    format!("/query/{}", args.0),
                    format!(
                        "query parameter `{}` is required (a date or an RFC 3339 date-time)",
                        args.0
                    ),
                )
            })
        }
    }

    /// `true` or `false` (absent: false).
    pub mod flag {
        use super::*;
        /// Documented with its two values.
        pub fn params(name: &'static str, doc: &'static str) -> Vec<Param> {
            one_of::params(name, doc, &["true", "false"])
        }
        /// Whether `true` was given.
        pub fn read(q: &Query, (name, _): (&'static str, &'static str)) -> Result<bool, ApiError> {
            Ok(q.one_of(name, &["true", "false"])? == Some("true"))
        }
    }

    /// A count within `min..=max`, `default` when absent (`2.0` accepted).
    pub mod count {
        use super::*;
        /// Documented as a number.
        pub fn params(name: &'static str, doc: &'static str, _: u32, _: u32, _: u32) -> Vec<Param> {
            vec![Param {
                name,
                kind: "number",
                doc,
                allowed: &[],
            }]
        }
        /// The count.
        pub fn read(
            q: &Query,
            (name, _, min, max, default): (&'static str, &'static str, u32, u32, u32),
        ) -> Result<u32, ApiError> {
            let Some(raw) = q.get(name) else {
                return Ok(default);
            };
            match raw.parse::<f64>() {
                Ok(v) if v.fract() == 0.0 && v >= f64::from(min) && v <= f64::from(max) => {
                    Ok(v as u32)
                }
                _ => Err(ApiError::invalid(
                    format!("/query/{name}"),
                    format!("query parameter `{name}`: must be a whole number from {min} to {max}, got `{raw}`"),
                )),
            }
        }
    }

    /// A list filter: `name=v` (repeatable: any of them) and `not` (`name.not`) `=v` (none of them);
    /// `allowed`, when not empty, lists the only values either accepts.
    pub mod filter {
        use super::*;
        use portcullis_core::audit::TextFilter;
        /// Documented as two parameters.
        pub fn params(
            name: &'static str,
            not: &'static str,
            doc: &'static str,
            allowed: &'static [&'static str],
        ) -> Vec<Param> {
            vec![
                Param {
                    name,
                    kind: "string",
                    doc,
                    allowed,
                },
                Param {
                    name: not,
                    kind: "string",
                    doc: "Leaves out entries with this value (repeatable).",
                    allowed,
                },
            ]
        }
        /// The filter (empty when neither is given).
        pub fn read(
            q: &Query,
            (name, not, _, allowed): (
                &'static str,
                &'static str,
                &'static str,
                &'static [&'static str],
            ),
        ) -> Result<TextFilter, ApiError> {
            let check = |param: &str, v: &str| -> Result<String, ApiError> {
                if allowed.is_empty() || allowed.contains(&v) {
                    Ok(v.to_owned())
                } else {
                    Err(ApiError::invalid(
                        format!("/query/{param}"),
                        format!(
                            "query parameter `{param}`: `{v}` is not one of {}",
                            allowed
                                .iter()
                                .map(|a| format!("`{a}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            };
            Ok(TextFilter {
                any: q
                    .all(name)
                    .into_iter()
                    .map(|v| check(name, v))
                    .collect::<Result<_, _>>()?,
                not: q
                    .all(not)
                    .into_iter()
                    .map(|v| check(not, v))
                    .collect::<Result<_, _>>()?,
            })
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
