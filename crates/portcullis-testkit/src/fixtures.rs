//! Request bodies, catalog ids and small assertions shared by the HTTP tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Legacy account roles (`crates/portcullis-core/data/account_roles.json`).
pub const ROLE_ADMIN: &str = "05784afa30c1afe1440e79d9351c7430";
pub const ROLE_ADMIN_READ_ONLY: &str = "f2b20eaa1a5d4af42b53ac16238c99c7";
pub const ROLE_SUPER_ADMIN: &str = "33666b9c79b9a5273fc7344ff42f953d";
pub const SUPER_ADMIN_NAME: &str = "Super Administrator - All Privileges";

/// Token permission groups (`catalog: api_token`).
pub const PG_ACCOUNT_SETTINGS_READ: &str = "c1fde68c7bcc44588cbb6ddbc16d6480";
pub const PG_ACCOUNT_API_TOKENS_READ: &str = "eb56a6953c034b9d97dd838155666f06";
pub const PG_API_TOKENS_READ: &str = "0cc3a61731504c89b99ec1be78b77aa0"; // com.cloudflare.api.user
pub const PG_USER_DETAILS_READ: &str = "8acbe5bb0d54464ab867149d7f7cf8ac"; // com.cloudflare.api.user
pub const PG_ZONE_READ: &str = "c8fed203ed3043cba015a93ad1616f1f"; // com.cloudflare.api.account.zone

/// A syntactically valid id that names nothing.
pub const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

/// How long a server may take to start.
pub(crate) const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a CLI command may take.
pub(crate) const CLI_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) static SERVER_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The `portcullis` binary: `PORTCULLIS_BIN`, else next to the running test's directory
/// (`target/<profile>/portcullis`, which Cargo builds for the package's integration tests).
pub fn bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(path) = std::env::var("PORTCULLIS_BIN") {
            if !path.trim().is_empty() {
                return path;
            }
        }
        let exe = std::env::current_exe().expect("the test's own path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("tests run from target/<profile>/deps");
        profile_dir
            .join(format!("portcullis{}", std::env::consts::EXE_SUFFIX))
            .display()
            .to_string()
    })
}

pub fn account_resource(account_id: &str) -> String {
    format!("com.cloudflare.api.account.{account_id}")
}

/// A minimal valid account-token body: Account Settings Read + Account API Tokens Read on the account.
pub fn token_body(name: &str, account_id: &str) -> Value {
    let mut resources = serde_json::Map::new();
    resources.insert(account_resource(account_id), json!("*"));
    json!({
        "name": name,
        "policies": [{
            "effect": "allow",
            "permission_groups": [{ "id": PG_ACCOUNT_SETTINGS_READ }, { "id": PG_ACCOUNT_API_TOKENS_READ }],
            "resources": resources,
        }]
    })
}

/// A minimal valid user-token body: API Tokens Read + User Details Read on the user.
pub fn user_token_body(name: &str, user_id: &str) -> Value {
    let mut resources = serde_json::Map::new();
    resources.insert(format!("com.cloudflare.api.user.{user_id}"), json!("*"));
    json!({
        "name": name,
        "policies": [{
            "effect": "allow",
            "permission_groups": [{ "id": PG_API_TOKENS_READ }, { "id": PG_USER_DETAILS_READ }],
            "resources": resources,
        }]
    })
}

pub fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn assert_id(v: &Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what}: id must be a string, got {v}"));
    assert!(is_id(s), "{what}: id must be 32 lowercase hex, got {s:?}");
}

/// RFC 3339 UTC with `Z` and microseconds: `2026-11-25T12:21:02.123456Z`.
pub fn assert_timestamp(v: &Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what}: timestamp must be a string, got {v}"));
    let b = s.as_bytes();
    let shape_ok = b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..26]
            .into_iter()
            .all(|r| b[r].iter().all(u8::is_ascii_digit));
    assert!(
        shape_ok,
        "{what}: expected RFC 3339 UTC with microseconds and Z, got {s:?}"
    );
}

pub fn is_token_value(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Formats a time as RFC 3339 UTC with microseconds.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).expect("after 1970");
    let secs = d.as_secs() as i64;
    let micros = d.subsec_micros();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}Z")
}

pub fn in_secs(secs: i64) -> String {
    let now = SystemTime::now();
    let t = if secs >= 0 {
        now + Duration::from_secs(secs as u64)
    } else {
        now - Duration::from_secs(secs.unsigned_abs())
    };
    rfc3339(t)
}

/// A catalog data file of the project (`crates/portcullis-core/data/<name>`).
pub fn shared_data(name: &str) -> Value {
    // The project's own copy of the catalog data (shipped with its sources file).
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../portcullis-core/data")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Names of a JSON array of objects.
pub fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_string())
        .collect()
}
