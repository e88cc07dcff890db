//! OAuth clients and the OAuth scope catalog: the entities, the built-in scope catalog
//! (`data/oauth_scopes.json`, origin in `data/SOURCES.md`) and the field rules (each with its
//! JSON pointer). The rules Cloudflare does not document are recorded in `docs/api-decisions.md`
//! ("OAuth clients").

use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, OAuthClientId};
use crate::model::UnknownValue;
use crate::time::Timestamp;

/// `TryFrom<&str>` for a stored enumeration, from the same table `as_str` uses.
macro_rules! oauth_enum {
    ($ty:ident, $kind:literal, [$($variant:ident => $text:literal),+ $(,)?]) => {
        impl $ty {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Stored (and wire) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = UnknownValue;
            fn try_from(s: &str) -> Result<Self, UnknownValue> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownValue {
                        kind: $kind,
                        value: s.to_owned(),
                    })
            }
        }
    };
}

/// An OAuth grant type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// `authorization_code` (required on every client).
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
}
oauth_enum!(GrantType, "OAuth grant type", [
    AuthorizationCode => "authorization_code",
    RefreshToken => "refresh_token",
]);

/// An OAuth response type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `code`.
    Code,
    /// `token`.
    Token,
    /// `id_token`.
    IdToken,
}
oauth_enum!(ResponseType, "OAuth response type", [
    Code => "code",
    Token => "token",
    IdToken => "id_token",
]);

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuthMethod {
    /// A public client (no secret).
    None,
    /// HTTP Basic.
    ClientSecretBasic,
    /// In the form body.
    ClientSecretPost,
}
oauth_enum!(TokenAuthMethod, "OAuth token endpoint auth method", [
    None => "none",
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
]);

/// Who may use a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Only the owning account (every client starts so).
    Private,
    /// Promoted (Portcullis never promotes: it cannot verify client URI hosts).
    Public,
}
oauth_enum!(Visibility, "OAuth client visibility", [
    Private => "private",
    Public => "public",
]);

/// An account's OAuth client. Its secrets are not here: only their hashes are stored, and a
/// secret is shown once (create, rotate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The client id.
    pub id: OAuthClientId,
    /// Owning account.
    pub account_id: AccountId,
    /// Human-readable name.
    pub client_name: String,
    /// Grant types (always with `authorization_code`).
    pub grant_types: Vec<GrantType>,
    /// Response types.
    pub response_types: Vec<ResponseType>,
    /// Allowed redirect URIs (at least one).
    pub redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed CORS origins.
    pub allowed_cors_origins: Vec<String>,
    /// Scopes the client may request (catalog or identity scopes).
    pub scopes: Vec<String>,
    /// Scopes the user may decline (each also in `scopes`).
    pub optional_scopes: Vec<String>,
    /// Token endpoint authentication.
    pub token_endpoint_auth_method: TokenAuthMethod,
    /// Home page.
    pub client_uri: Option<String>,
    /// Logo.
    pub logo_uri: Option<String>,
    /// Privacy policy.
    pub policy_uri: Option<String>,
    /// Terms of service.
    pub tos_uri: Option<String>,
    /// Visibility.
    pub visibility: Visibility,
    /// Whether a previous secret is kept (as a hash) after a rotation, until deleted.
    pub has_rotated_secret: bool,
    /// Creation time.
    pub created_on: Timestamp,
    /// Last change.
    pub updated_on: Timestamp,
}

/// One entry of the OAuth scope catalog.
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthScope {
    /// The label used in a client's `scopes`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// UI grouping.
    #[serde(default)]
    pub category: Option<String>,
    /// The resource scopes it acts on.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
struct ScopeFile {
    scopes: Vec<OAuthScope>,
    identity_scopes: Vec<String>,
}

const BUILTIN_SCOPES: &str = include_str!("../data/oauth_scopes.json");

fn scope_file() -> &'static ScopeFile {
    static FILE: OnceLock<ScopeFile> = OnceLock::new();
    FILE.get_or_init(|| {
        // The file is compiled in and checked by a unit test; a broken file is a build defect.
        serde_json::from_str(BUILTIN_SCOPES).unwrap_or_else(|e| {
            tracing::error!(error = %e, "data/oauth_scopes.json does not parse");
            ScopeFile {
                scopes: Vec::new(),
                identity_scopes: Vec::new(),
            }
        })
    })
}

/// The OAuth API scopes clients may request (`GET /oauth/scopes`), in catalog order.
pub fn scope_catalog() -> &'static [OAuthScope] {
    &scope_file().scopes
}

/// Identity and protocol scopes (no dot): accepted in `scopes`, not listed by `/oauth/scopes`.
pub fn identity_scopes() -> &'static [String] {
    &scope_file().identity_scopes
}

/// Scopes that cannot be optional.
const NEVER_OPTIONAL: &[&str] = &["openid", "offline", "offline_access"];

/// Longest client name.
pub const MAX_NAME: usize = 255;
/// Longest URI.
pub const MAX_URI: usize = 2048;
/// Most entries in one list field.
pub const MAX_LIST: usize = 32;

fn invalid(pointer: &str, why: impl std::fmt::Display) -> CoreError {
    CoreError::invalid(pointer, format!("{pointer}: {why}"))
}

/// A client name: trimmed, 1 to [`MAX_NAME`] characters.
pub fn check_name(raw: &str) -> CoreResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(invalid("/client_name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(invalid(
            "/client_name",
            format!("longer than {MAX_NAME} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "/client_name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

fn check_list_len<T>(pointer: &str, list: &[T], at_least_one: bool) -> CoreResult<()> {
    if at_least_one && list.is_empty() {
        return Err(invalid(pointer, "needs at least one value"));
    }
    if list.len() > MAX_LIST {
        return Err(invalid(
            pointer,
            format!("at most {MAX_LIST} values are accepted"),
        ));
    }
    Ok(())
}

fn check_unique<T: PartialEq + std::fmt::Debug>(pointer: &str, list: &[T]) -> CoreResult<()> {
    for (i, v) in list.iter().enumerate() {
        if list[..i].contains(v) {
            return Err(invalid(
                &format!("{pointer}/{i}"),
                format!("{v:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Grant types: at least one, no repeats, `authorization_code` among them.
pub fn check_grant_types(list: &[GrantType]) -> CoreResult<()> {
    check_list_len("/grant_types", list, true)?;
    check_unique("/grant_types", list)?;
    if !list.contains(&GrantType::AuthorizationCode) {
        return Err(invalid(
            "/grant_types",
            "`authorization_code` is required (`refresh_token` may be added)",
        ));
    }
    Ok(())
}

/// Response types: at least one, no repeats.
pub fn check_response_types(list: &[ResponseType]) -> CoreResult<()> {
    check_list_len("/response_types", list, true)?;
    check_unique("/response_types", list)
}

/// The parts of an absolute `http(s)` URI this module looks at.
struct Uri<'a> {
    /// What follows the authority (path, query, fragment).
    rest: &'a str,
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|r| {
            r.split('.').count() == 3 && r.split('.').all(|p| p.parse::<u8>().is_ok())
        })
}

/// Parses an absolute URI with scheme `https` (or `http` on a loopback host), a host and an
/// optional port; no user information, no white space or control characters.
fn parse_uri<'a>(pointer: &str, raw: &'a str) -> CoreResult<Uri<'a>> {
    let bad = |why: &str| invalid(pointer, format!("`{raw}` is not accepted: {why}"));
    if raw.is_empty() {
        return Err(bad("it is empty"));
    }
    if raw.len() > MAX_URI {
        return Err(invalid(
            pointer,
            format!("longer than {MAX_URI} characters"),
        ));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it contains white space or control characters"));
    }
    let Some((scheme, after)) = raw.split_once("://") else {
        return Err(bad("it must be an absolute URI (`https://host/…`)"));
    };
    let https = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return Err(bad(
            "the scheme must be `https` (or `http` on a loopback host)",
        ));
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if authority.contains('@') {
        return Err(bad("user information (`user@`) is not allowed"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some(close) = v6.find(']') else {
            return Err(bad("unclosed `[` in the host"));
        };
        let host = &authority[..close + 2];
        let inner = &v6[..close];
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(bad("the host is not an IPv6 address"));
        }
        let after_host = &v6[close + 1..];
        let port = match after_host.strip_prefix(':') {
            Some(p) => Some(p),
            None if after_host.is_empty() => None,
            None => return Err(bad("unexpected text after the host")),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() {
            return Err(bad("the port must be a number from 0 to 65535"));
        }
    }
    if !host.starts_with('[') {
        let trimmed = host.strip_suffix('.').unwrap_or(host);
        let ascii =
            idna::domain_to_ascii(trimmed).map_err(|_| bad("the host is not a valid name"))?;
        if ascii.is_empty()
            || ascii.split('.').any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        {
            return Err(bad("the host is not a valid name"));
        }
    }
    if !https && !is_loopback(host) {
        return Err(bad(
            "`http` is accepted only for loopback hosts (localhost, 127.0.0.1, [::1]); use `https`",
        ));
    }
    Ok(Uri { rest })
}

/// A redirect URI (or post-logout redirect URI): see [`parse_uri`]; no fragment (RFC 6749
/// §3.1.2).
fn check_redirect_uri(pointer: &str, raw: &str) -> CoreResult<()> {
    let uri = parse_uri(pointer, raw)?;
    if uri.rest.contains('#') {
        return Err(invalid(
            pointer,
            format!("`{raw}` is not accepted: a redirect URI must not have a fragment (`#…`)"),
        ));
    }
    Ok(())
}

/// A list of redirect URIs: `required` ones need at least one.
pub fn check_redirect_uris(field: &str, list: &[String], required: bool) -> CoreResult<()> {
    let pointer = format!("/{field}");
    check_list_len(&pointer, list, required)?;
    for (i, u) in list.iter().enumerate() {
        check_redirect_uri(&format!("{pointer}/{i}"), u)?;
    }
    check_unique(&pointer, list)
}

/// CORS origins: `scheme://host[:port]` exactly (no path, query or fragment).
pub fn check_origins(list: &[String]) -> CoreResult<()> {
    check_list_len("/allowed_cors_origins", list, false)?;
    for (i, o) in list.iter().enumerate() {
        let pointer = format!("/allowed_cors_origins/{i}");
        let uri = parse_uri(&pointer, o)?;
        if !uri.rest.is_empty() {
            return Err(invalid(
                &pointer,
                format!("`{o}` is not an origin: only `scheme://host[:port]`, without a path, query or fragment"),
            ));
        }
    }
    check_unique("/allowed_cors_origins", list)
}

/// An informational URI (`client_uri`, `logo_uri`, `policy_uri`, `tos_uri`): an absolute
/// `https` URI (or `http` on a loopback host); `""` clears it.
pub fn check_info_uri(field: &str, raw: &str) -> CoreResult<Option<String>> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse_uri(&format!("/{field}"), raw)?;
    Ok(Some(raw.to_owned()))
}

/// Scopes: at least one, no repeats, no colon-delimited scopes; each either an identity scope
/// or in the catalog. Optional scopes: each in `scopes`, never `openid`/`offline`/
/// `offline_access`.
pub fn check_scopes(scopes: &[String], optional: &[String]) -> CoreResult<()> {
    check_list_len("/scopes", scopes, true)?;
    for (i, s) in scopes.iter().enumerate() {
        let pointer = format!("/scopes/{i}");
        if s.contains(':') {
            return Err(invalid(
                &pointer,
                format!("`{s}`: colon-delimited scopes are not accepted"),
            ));
        }
        let known =
            identity_scopes().iter().any(|x| x == s) || scope_catalog().iter().any(|x| &x.id == s);
        if !known {
            return Err(invalid(
                &pointer,
                format!("`{s}` is not an OAuth scope (GET /client/v4/oauth/scopes lists them)"),
            ));
        }
    }
    check_unique("/scopes", scopes)?;
    check_list_len("/optional_scopes", optional, false)?;
    for (i, s) in optional.iter().enumerate() {
        let pointer = format!("/optional_scopes/{i}");
        if NEVER_OPTIONAL.contains(&s.as_str()) {
            return Err(invalid(&pointer, format!("`{s}` cannot be optional")));
        }
        if !scopes.contains(s) {
            return Err(invalid(&pointer, format!("`{s}` must also be in /scopes")));
        }
    }
    check_unique("/optional_scopes", optional)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parses_and_is_consistent() {
        let file: ScopeFile =
            serde_json::from_str(BUILTIN_SCOPES).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!file.scopes.is_empty());
        for s in &file.scopes {
            assert!(s.id.contains('.') && !s.id.contains(':'), "{}", s.id);
            assert!(!s.name.is_empty());
        }
        for s in &file.identity_scopes {
            assert!(!s.contains('.') && !s.contains(':'), "{s}");
        }
        assert!(scope_catalog().iter().any(|s| s.id == "account.read"));
    }

    #[test]
    fn redirect_uris() {
        let ok = |u: &str| check_redirect_uris("redirect_uris", &[u.to_owned()], true).is_ok();
        assert!(ok("https://example.com/callback"));
        assert!(ok("https://example.com:8443/cb?x=1"));
        assert!(ok("http://localhost:3000/api/auth/callback"));
        assert!(ok("http://127.0.0.1/cb"));
        assert!(ok("http://[::1]:8080/cb"));
        assert!(ok("https://bücher.example/cb"));
        for bad in [
            "",
            "example.com/cb",
            "/relative",
            "http://example.com/cb",
            "https://example.com/cb#frag",
            "ftp://example.com/",
            "https://user@example.com/",
            "https:///nohost",
            "https://exa mple.com/",
            "https://example.com:99999/",
            "https://example.com:/",
            "com.example.app:/cb",
        ] {
            assert!(!ok(bad), "{bad}");
        }
        let e = check_redirect_uris("redirect_uris", &[], true);
        assert!(e.is_err());
    }

    #[test]
    fn origins_and_scopes() {
        assert!(check_origins(&["https://example.com".into()]).is_ok());
        assert!(check_origins(&["https://example.com/".into()]).is_err());
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_scopes(&v(&["account.read", "openid"]), &v(&["account.read"])).is_ok());
        assert!(check_scopes(&v(&["account.read", "openid"]), &v(&["openid"])).is_err());
        assert!(check_scopes(&v(&["account.read"]), &v(&["user-details.read"])).is_err());
        assert!(check_scopes(&v(&["no.such.scope"]), &[]).is_err());
        assert!(check_scopes(&v(&["account:read"]), &[]).is_err());
        assert!(check_scopes(&[], &[]).is_err());
        assert!(check_grant_types(&[GrantType::RefreshToken]).is_err());
        assert!(
            check_grant_types(&[GrantType::AuthorizationCode, GrantType::AuthorizationCode])
                .is_err()
        );
    }
}
