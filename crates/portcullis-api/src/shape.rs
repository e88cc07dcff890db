//! Response shapes that changed between versions of the official SDKs, and the server setting
//! that picks one per client.
//!
//! The one such change in the IAM surface is a resource group's `scope`: the seed and the older
//! SDKs show it as a one-element list, the newer ones as one object, and a newer SDK in strict
//! mode refuses the list (and an older one the object). Which SDK is calling is read from the
//! headers every official SDK sends (`X-Stainless-Lang`, `X-Stainless-Package-Version`, and
//! `User-Agent` as a fallback). docs/api-decisions.md records the version table.

use axum::http::HeaderMap;
use portcullis_wire::body::ScopeShape;

/// `--scope-shape`: one shape for everyone, or the one each client's SDK expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeShapeSetting {
    /// Always the seed's one-element list.
    List,
    /// Always one object.
    Object,
    /// Per client, from its SDK headers; the seed's list for anything else (the default).
    #[default]
    Auto,
}

impl std::str::FromStr for ScopeShapeSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "list" => Ok(Self::List),
            "object" => Ok(Self::Object),
            "auto" => Ok(Self::Auto),
            other => Err(format!(
                "unknown scope shape `{other}`: expected list, object or auto"
            )),
        }
    }
}

impl ScopeShapeSetting {
    /// The shape for a request with these headers.
    pub fn for_client(self, headers: &HeaderMap) -> ScopeShape {
        match self {
            Self::List => ScopeShape::List,
            Self::Object => ScopeShape::Object,
            Self::Auto => sdk_of(headers).map_or(ScopeShape::List, Sdk::scope_shape),
        }
    }
}

/// An official SDK: its language and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdk {
    /// Which SDK.
    pub lang: Lang,
    /// `major.minor.patch` (a pre-release counts as its release).
    pub version: (u32, u32, u32),
}

/// The SDK languages whose shapes are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// PyPI `cloudflare`.
    Python,
    /// npm `cloudflare`.
    Js,
    /// Terraform's `cloudflare/cloudflare` provider (its own response models).
    Terraform,
}

impl Sdk {
    /// The scope shape this SDK's response models declare: Python 5.7.0 and npm 7.1.0 changed
    /// `scope: List[Scope]` to `scope: Scope`; the Terraform provider's v5 `cloudflare_resource_group`
    /// model reads one object (v4 has no IAM resource groups).
    pub fn scope_shape(self) -> ScopeShape {
        let first_object = match self.lang {
            Lang::Python => (5, 7, 0),
            Lang::Js => (7, 1, 0),
            Lang::Terraform => (5, 0, 0),
        };
        if self.version >= first_object {
            ScopeShape::Object
        } else {
            ScopeShape::List
        }
    }
}

/// The calling SDK: Terraform's provider by its `User-Agent` product
/// `terraform-provider-cloudflare/<version>` (it calls through the Go SDK, whose `X-Stainless-*`
/// headers name the Go SDK, not the models the provider reads); else `X-Stainless-Lang` +
/// `X-Stainless-Package-Version`; else a `User-Agent` of the form `Cloudflare/Python 5.9.0` or
/// `Cloudflare/JS 7.3.0`.
pub fn sdk_of(headers: &HeaderMap) -> Option<Sdk> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let terraform = text("user-agent").and_then(|ua| {
        ua.split_whitespace()
            .find_map(|p| p.strip_prefix("terraform-provider-cloudflare/"))
            .and_then(version_of)
    });
    if let Some(version) = terraform {
        return Some(Sdk {
            lang: Lang::Terraform,
            version,
        });
    }
    let stainless = text("x-stainless-lang").zip(text("x-stainless-package-version"));
    if let Some((lang, version)) = stainless {
        if let (Some(lang), Some(version)) = (lang_of(lang), version_of(version)) {
            return Some(Sdk { lang, version });
        }
    }
    let agent = text("user-agent")?;
    let (product, version) = agent.split_once(' ')?;
    let lang = lang_of(product.strip_prefix("Cloudflare/")?)?;
    Some(Sdk {
        lang,
        version: version_of(version.split_whitespace().next()?)?,
    })
}

fn lang_of(name: &str) -> Option<Lang> {
    if name.eq_ignore_ascii_case("python") {
        Some(Lang::Python)
    } else if name.eq_ignore_ascii_case("js") {
        Some(Lang::Js)
    } else {
        None
    }
}

/// `5.9.0`, `v7.3.0`, `5.7.0-beta.1` → the numeric triple.
fn version_of(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.trim().trim_start_matches('v');
    let release = text.split(['-', '+']).next()?;
    let mut parts = release.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = v.parse() {
                h.insert(*k, v);
            }
        }
        h
    }

    #[test]
    fn stainless_headers_pick_the_shape() {
        let auto = ScopeShapeSetting::Auto;
        let cases = [
            ("python", "5.4.0", ScopeShape::List),
            ("python", "5.6.9", ScopeShape::List),
            ("python", "5.7.0", ScopeShape::Object),
            ("python", "5.9.0", ScopeShape::Object),
            ("python", "6.0.0-beta.1", ScopeShape::Object),
            ("js", "7.0.0", ScopeShape::List),
            ("js", "7.1.0", ScopeShape::Object),
            ("js", "7.3.0", ScopeShape::Object),
            ("go", "6.0.0", ScopeShape::List),
            ("python", "not-a-version", ScopeShape::List),
        ];
        for (lang, version, want) in cases {
            let h = headers(&[
                ("x-stainless-lang", lang),
                ("x-stainless-package-version", version),
            ]);
            assert_eq!(auto.for_client(&h), want, "{lang} {version}");
        }
    }

    #[test]
    fn user_agent_is_the_fallback() {
        let auto = ScopeShapeSetting::Auto;
        let shape = |ua: &str| auto.for_client(&headers(&[("user-agent", ua)]));
        assert_eq!(shape("Cloudflare/Python 5.9.0"), ScopeShape::Object);
        assert_eq!(shape("Cloudflare/Python 5.4.0"), ScopeShape::List);
        assert_eq!(shape("Cloudflare/JS 7.3.0"), ScopeShape::Object);
        assert_eq!(shape("curl/8.5.0"), ScopeShape::List);
        // Terraform's provider, whatever Go SDK it calls through.
        let tf = "terraform-provider-cloudflare/5.22.0 terraform-plugin-framework/1.15.0 terraform/1.13.0";
        assert_eq!(shape(tf), ScopeShape::Object);
        let tf_go = headers(&[
            ("user-agent", tf),
            ("x-stainless-lang", "go"),
            ("x-stainless-package-version", "6.0.0"),
        ]);
        assert_eq!(auto.for_client(&tf_go), ScopeShape::Object);
        assert_eq!(
            shape("terraform/1.5.0 terraform-provider-cloudflare/4.52.0"),
            ScopeShape::List
        );
        assert_eq!(auto.for_client(&HeaderMap::new()), ScopeShape::List);
    }

    #[test]
    fn fixed_settings_ignore_the_client() {
        let h = headers(&[
            ("x-stainless-lang", "python"),
            ("x-stainless-package-version", "5.9.0"),
        ]);
        assert_eq!(ScopeShapeSetting::List.for_client(&h), ScopeShape::List);
        assert_eq!(
            ScopeShapeSetting::Object.for_client(&HeaderMap::new()),
            ScopeShape::Object
        );
        assert_eq!("auto".parse(), Ok(ScopeShapeSetting::Auto));
        assert!("lists".parse::<ScopeShapeSetting>().is_err());
    }
}
