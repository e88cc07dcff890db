//! The admin console: static files embedded in the binary, served at `/console/` (`/` and
//! `/console` redirect there). The console is a client of the public API on the same origin:
//! it holds no server-side state and no privileges of its own; every action it offers is an
//! API call made with the credentials the person signed in with.
//!
//! Every console response carries strict security headers ([`SECURITY_HEADERS`]): a
//! Content-Security-Policy that allows scripts, styles and connections only from this origin
//! (no inline script or style, no framing, and Trusted Types enforced with no policy, so no
//! string can ever reach an HTML or script sink such as `innerHTML`), `Referrer-Policy: no-referrer` (a URL never leaves
//! the page) and `X-Content-Type-Options: nosniff`.

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use portcullis_wire::ErrorKind;

use crate::error::ApiError;
use crate::server::AppState;

/// The header the console sends with every API call (`X-Portcullis-Client: console`), so that
/// the audit log records its changes with interface `UI`, as Cloudflare records its dashboard's.
/// Informational only: it grants nothing, and any client may send it.
pub const CLIENT_HEADER: &str = "x-portcullis-client";
/// The value of [`CLIENT_HEADER`] that marks the console.
pub const CLIENT_VALUE: &str = "console";

/// Where the console lives.
pub const CONSOLE_PATH: &str = "/console/";

/// `--console on|off`: whether `portcullis serve` serves the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsoleSetting {
    /// Served at `/console/` (the default).
    #[default]
    On,
    /// Not served: `/` and `/console/…` answer 404 like any unknown path.
    Off,
}

impl std::str::FromStr for ConsoleSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" | "true" => Ok(Self::On),
            "off" | "false" => Ok(Self::Off),
            other => Err(format!("`{other}` is not a console setting (on, off)")),
        }
    }
}

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../console/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// The console's files. A file not listed here is not served (the console has no directory
/// listing and no file-system access at run time).
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("policy.js", JS),
    asset!("pages.js", JS),
    asset!("why.js", JS),
];

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
     require-trusted-types-for 'script'; trusted-types 'none'";

/// The headers every console response carries.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CSP),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
    // The files change with the binary; a browser asks again (cheap: they are small) rather
    // than run an old console against a new server.
    ("cache-control", "no-cache"),
];

fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

async fn redirect_to_console() -> Response {
    secured((StatusCode::FOUND, [(header::LOCATION, CONSOLE_PATH)]).into_response())
}

fn serve(name: &str) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => {
            secured(([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response())
        }
        None => secured(ApiError::new(ErrorKind::UnknownRoute).into_response()),
    }
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

/// The console's routes, added to the application router when the console is on.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/", get(redirect_to_console))
        .route("/console", get(redirect_to_console))
        .route(CONSOLE_PATH, get(index))
        .route("/console/{file}", get(file))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_asset_is_embedded_and_typed() {
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{} is empty", a.name);
            assert!(a.content_type.contains('/'), "{}", a.name);
        }
        assert!(ASSETS.iter().any(|a| a.name == "index.html"));
    }

    /// A file added to `console/` but not to [`ASSETS`] would be a 404 in the browser.
    #[test]
    fn every_file_of_the_console_folder_is_served() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/console");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }

    #[test]
    fn the_page_loads_no_inline_script_or_style() {
        let index = std::str::from_utf8(ASSETS[0].body).unwrap();
        // Every <script> has a src; no style attribute or <style> element (the CSP forbids both).
        for (i, _) in index.match_indices("<script") {
            let tag = &index[i..index[i..].find('>').map_or(index.len(), |e| i + e)];
            assert!(tag.contains("src="), "inline script: {tag}");
        }
        assert!(!index.contains("<style"), "inline <style>");
        assert!(!index.contains(" style="), "style attribute");
        let handler = index.split_whitespace().any(|w| {
            w.strip_prefix("on")
                .and_then(|rest| rest.split_once('='))
                .is_some_and(|(event, _)| {
                    !event.is_empty() && event.bytes().all(|b| b.is_ascii_lowercase())
                })
        });
        assert!(!handler, "inline event handler");
        assert!(!CSP.contains("unsafe"), "{CSP}");
    }

    #[test]
    fn console_settings_parse() {
        assert_eq!("on".parse::<ConsoleSetting>(), Ok(ConsoleSetting::On));
        assert_eq!("OFF".parse::<ConsoleSetting>(), Ok(ConsoleSetting::Off));
        assert!("maybe".parse::<ConsoleSetting>().is_err());
    }
}
