//! Rate limiting as Cloudflare's API does it (off unless `--rate-limit` is given): a number of
//! requests per window, per principal (a user, whichever of their tokens or key is used; an
//! account-owned token on its own), counted in this process. An exhausted window answers
//! 429/971 with `Retry-After`; every limited response carries `Ratelimit` and
//! `Ratelimit-Policy` (the IETF draft's structured fields, as Cloudflare sends them).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use portcullis_core::auth::Principal;

/// `--rate-limit`: `off`, `cloudflare` (1,200 requests per 300 s) or `N/SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitSetting {
    /// No limit (the default).
    #[default]
    Off,
    /// `limit` requests per `window` per principal.
    PerPrincipal {
        /// Requests allowed in a window.
        limit: u32,
        /// The window.
        window: Duration,
    },
}

impl FromStr for RateLimitSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("`{s}`: expected off, cloudflare (1200/300) or REQUESTS/SECONDS, e.g. 100/60")
        };
        match s.trim() {
            "off" => Ok(Self::Off),
            "cloudflare" => Ok(Self::PerPrincipal {
                limit: 1200,
                window: Duration::from_secs(300),
            }),
            other => {
                let (n, secs) = other.split_once('/').ok_or_else(bad)?;
                let limit: u32 = n.trim().parse().map_err(|_| bad())?;
                let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
                if limit == 0 || secs == 0 || secs > 86_400 {
                    return Err(bad());
                }
                Ok(Self::PerPrincipal {
                    limit,
                    window: Duration::from_secs(secs),
                })
            }
        }
    }
}

/// What one request's check says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateVerdict {
    /// Whether the request may go on.
    pub allowed: bool,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Whole seconds until the window ends (at least 1).
    pub reset_secs: u64,
    /// The limit.
    pub limit: u32,
    /// The window, in seconds.
    pub window_secs: u64,
}

impl RateVerdict {
    /// `Ratelimit`: `"default";r=<remaining>;t=<seconds>`.
    pub fn ratelimit(&self) -> String {
        format!("\"default\";r={};t={}", self.remaining, self.reset_secs)
    }

    /// `Ratelimit-Policy`: `"default";q=<limit>;w=<window seconds>`.
    pub fn policy(&self) -> String {
        format!("\"default\";q={};w={}", self.limit, self.window_secs)
    }
}

/// Windows kept before expired ones are dropped (checked when a new principal arrives).
const PRUNE_AT: usize = 10_000;

/// Fixed windows per principal, starting at each principal's first request.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// The key a principal is counted under.
pub fn principal_key(p: &Principal) -> String {
    match p {
        Principal::User { user, .. } => format!("u:{}", user.id),
        Principal::AccountToken { token, .. } => format!("t:{}", token.id),
    }
}

impl RateLimiter {
    /// A limiter for `limit` requests per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `key` at `now`.
    pub fn check(&self, key: &str, now: Instant) -> RateVerdict {
        let mut map = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PRUNE_AT && !map.contains_key(key) {
            let window = self.window;
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        let left = self.window.saturating_sub(now.duration_since(entry.0));
        RateVerdict {
            allowed,
            remaining: self.limit - entry.1,
            reset_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
            limit: self.limit,
            window_secs: self.window.as_secs(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_parse() {
        assert_eq!("off".parse(), Ok(RateLimitSetting::Off));
        assert_eq!(
            "cloudflare".parse(),
            Ok(RateLimitSetting::PerPrincipal {
                limit: 1200,
                window: Duration::from_secs(300)
            })
        );
        assert_eq!(
            "5/2".parse(),
            Ok(RateLimitSetting::PerPrincipal {
                limit: 5,
                window: Duration::from_secs(2)
            })
        );
        for bad in ["", "5", "0/10", "5/0", "x/1", "5/100000"] {
            assert!(bad.parse::<RateLimitSetting>().is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_count_per_key_and_restart() {
        let l = RateLimiter::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        let a = l.check("a", t0);
        assert!(a.allowed && a.remaining == 1 && a.reset_secs == 10);
        assert!(l.check("a", t0 + Duration::from_millis(1500)).allowed);
        let refused = l.check("a", t0 + Duration::from_secs(3));
        assert!(!refused.allowed);
        assert_eq!((refused.remaining, refused.reset_secs), (0, 7));
        assert!(l.check("b", t0 + Duration::from_secs(3)).allowed, "per key");
        assert!(
            l.check("a", t0 + Duration::from_secs(10)).allowed,
            "a new window"
        );
        assert_eq!(refused.ratelimit(), "\"default\";r=0;t=7");
        assert_eq!(refused.policy(), "\"default\";q=2;w=10");
    }
}
