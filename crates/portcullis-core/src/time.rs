//! Timestamps: microseconds since the Unix epoch, shown as RFC 3339 UTC with `Z` and 6 digits.

use std::fmt;

use time::{format_description::well_known::Rfc3339, OffsetDateTime, UtcOffset};

/// A point in time with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Now.
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self((now.unix_timestamp_nanos() / 1_000) as i64)
    }

    /// From microseconds since the epoch (as stored).
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the epoch (as stored).
    pub fn micros(self) -> i64 {
        self.0
    }

    /// This time plus `seconds`.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    /// Parses RFC 3339 (any offset; converted to UTC, truncated to microseconds).
    pub fn parse(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        let micros = t.unix_timestamp_nanos().div_euclid(1_000);
        i64::try_from(micros).ok().map(Self)
    }
}

impl Timestamp {
    /// Parses a date (`2026-12-01`: its midnight, UTC) or an RFC 3339 date-time.
    pub fn parse_date_or_time(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let is_date = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if is_date {
            Self::parse(&format!("{s}T00:00:00Z"))
        } else {
            Self::parse(s)
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(UtcOffset::UTC);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Timestamp::parse("2026-11-25T12:21:02.123456Z").unwrap_or(Timestamp(0));
        assert_eq!(t.to_string(), "2026-11-25T12:21:02.123456Z");
        let t = Timestamp::parse("2026-11-25T13:21:02+01:00").unwrap_or(Timestamp(0));
        assert_eq!(t.to_string(), "2026-11-25T12:21:02.000000Z");
        assert!(Timestamp::parse("yesterday").is_none());
        assert!(Timestamp::now() > t);
    }
}
