//! The state document (`docs/state-format.md`): its types, how a document becomes a validated
//! [`State`] to import (the API's rules, with JSON pointers into the document), how an import
//! merges with what is stored, and how a [`State`] is written back as a document (export).
//!
//! Choices: ids of accounts, members, resource groups, user groups, tokens, SSO connectors and
//! OAuth clients are required (a state file exists to pin them); a user's id and a policy's id
//! may be omitted and are then derived from the email / the holder and position, so the same
//! file always gives the same ids. Omitted timestamps are the time of the import. Two objects
//! are "the same" for a merge when they are equal apart from their timestamps (and a token's
//! last use, an SSO connector's verifier bookkeeping).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::policies::scope_compatible;
use super::resource_groups::{check_scope, ScopeDraft, RESOURCE_GROUP_NAME_MAX};
use super::tokens::{account_keys, check_resources, parse_cidrs, TOKEN_NAME_MAX};
use super::user_groups::USER_GROUP_NAME_MAX;
use super::{check_email, check_name, Portcullis};
use crate::auth::Principal;
use crate::catalog::SCOPE_USER;
use crate::error::{CoreError, CoreResult};
use crate::ids::{
    AccountId, MemberId, OAuthClientId, PolicyId, ResourceGroupId, SsoConnectorId, TokenId,
    UserGroupId, UserId,
};
use crate::model::{
    Access, Account, AccountType, ApiToken, Grants, MemberStatus, Policy, ResourceGroup,
    SsoConnector, SsoStatus, TokenCondition, TokenOwner, TokenPolicy, TokenState as Stored, User,
    UserGroup,
};
use crate::oauth::{GrantType, OAuthClient, ResponseType, TokenAuthMethod, Visibility};
use crate::secret::{hash_secret, is_api_key_format, is_token_format};
use crate::state::{
    AccountState, ImportMode, ImportSummary, MemberState, OAuthClientState, State, TokenState,
    UserGroupState, UserState,
};
use crate::time::Timestamp;

/// The format version this build reads and writes.
pub const STATE_VERSION: u32 = 1;

/// A whole state document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateDocument {
    /// Format version: 1.
    pub portcullis_state: u32,
    /// Users (global), with their API keys and user-owned tokens.
    #[serde(default)]
    pub users: Vec<UserDoc>,
    /// Accounts and everything they own.
    #[serde(default)]
    pub accounts: Vec<AccountDoc>,
    /// Permission groups added to the catalog while a server runs with these fixtures
    /// (`serve --fixtures`; `import` refuses them: the catalog is not stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<CatalogDoc>,
}

/// Catalog entries a fixtures file adds: the `--catalog` file's format, always extending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogDoc {
    /// Permission groups (a group with an id the catalog has replaces it).
    #[serde(default)]
    pub permission_groups: Vec<CatalogGroupDoc>,
    /// Legacy account roles (a role with an id the catalog has replaces it).
    #[serde(default)]
    pub roles: Vec<CatalogRoleDoc>,
    /// Permission keys by group or role name (what it grants).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub grants: std::collections::BTreeMap<String, Vec<String>>,
}

/// One legacy account role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogRoleDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One catalog permission group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogGroupDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes (e.g. `com.cloudflare.api.account`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `account_member` or `api_token`.
    pub catalog: String,
}

impl StateDocument {
    /// The `catalog` entries as an operator catalog file (extend mode), for
    /// [`crate::catalog::Catalog::load_layers`].
    pub fn catalog_layer(&self) -> Option<String> {
        self.catalog.as_ref().map(|c| {
            serde_json::json!({
                "mode": "extend",
                "permission_groups": c.permission_groups,
                "roles": c.roles,
                "grants": c.grants,
            })
            .to_string()
        })
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserDoc {
    /// 32 lowercase hex; derived from the email when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Email (unique, case-insensitive).
    pub email: String,
    /// First name (60 characters at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name (60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Country (30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Telephone (20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    /// Zip code (20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    /// Two-factor authentication on.
    #[serde(default)]
    pub two_factor_enabled: bool,
    /// Operators may create and delete accounts (and reset a server started with fixtures).
    #[serde(default)]
    pub operator: bool,
    /// The global API key in clear (lowercase hex, 32 to 37 characters). Never exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The key's SHA-256 (64 lowercase hex), instead of `api_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_sha256: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_on: Option<String>,
    /// User-owned API tokens.
    #[serde(default)]
    pub tokens: Vec<TokenDoc>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessDoc {
    /// Grants.
    Allow,
    /// Refuses.
    Deny,
}

/// A token's stored status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatusDoc {
    /// Usable.
    #[default]
    Active,
    /// Switched off.
    Disabled,
}

/// An API token (user- or account-owned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// Name (120 characters at most).
    pub name: String,
    /// The token in clear (40 URL-safe characters). Never exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The value's SHA-256 (64 lowercase hex), instead of `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_sha256: Option<String>,
    /// Stored status (`expired` follows from `expires_on`).
    #[serde(default)]
    pub status: TokenStatusDoc,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    /// Client address conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionDoc>,
    /// Policies (at least one).
    pub policies: Vec<TokenPolicyDoc>,
}

/// Token conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionDoc {
    /// Client address ranges.
    pub request_ip: RequestIpDoc,
}

/// Client address ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestIpDoc {
    /// Only these may use the token (when non-empty).
    #[serde(rename = "in", default)]
    pub allowed: Vec<String>,
    /// These may not.
    #[serde(default)]
    pub not_in: Vec<String>,
}

/// A token policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenPolicyDoc {
    /// 32 lowercase hex; derived from the token and position when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Allow or deny.
    pub effect: AccessDoc,
    /// Token permission-group ids.
    pub permission_groups: Vec<String>,
    /// Resource keys mapped to `"*"` or nested objects.
    #[schema(value_type = Object)]
    pub resources: Map<String, Value>,
}

/// Account type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountTypeDoc {
    /// Standard.
    #[default]
    Standard,
    /// Enterprise.
    Enterprise,
}

/// Account settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsDoc {
    /// Members must use two-factor authentication.
    #[serde(default)]
    pub enforce_twofactor: bool,
    /// Where abuse reports go.
    #[serde(default)]
    pub abuse_contact_email: Option<String>,
}

/// An account and what it owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// Name (100 characters at most).
    pub name: String,
    /// Type.
    #[serde(rename = "type", default)]
    pub account_type: AccountTypeDoc,
    /// Settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsDoc>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_on: Option<String>,
    /// Resource groups.
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroupDoc>,
    /// Members.
    #[serde(default)]
    pub members: Vec<MemberDoc>,
    /// User groups.
    #[serde(default)]
    pub user_groups: Vec<UserGroupDoc>,
    /// Account-owned API tokens.
    #[serde(default)]
    pub tokens: Vec<TokenDoc>,
    /// SSO connectors.
    #[serde(default)]
    pub sso_connectors: Vec<SsoDoc>,
    /// OAuth clients.
    #[serde(default)]
    pub oauth_clients: Vec<OAuthClientDoc>,
}

/// A resource group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroupDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// Name (120 characters at most).
    pub name: String,
    /// Its scope.
    pub scope: ScopeDoc,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_on: Option<String>,
}

/// A scope: the account's key and the objects covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDoc {
    /// `com.cloudflare.api.account.<account id>`.
    pub key: String,
    /// `*` or typed resource keys.
    pub objects: Vec<String>,
}

/// Membership status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatusDoc {
    /// Can act in the account.
    Accepted,
    /// Invited.
    Pending,
}

/// A member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// The email of a user in the document (or already stored).
    pub user: String,
    /// Status.
    pub status: MemberStatusDoc,
    /// Legacy role ids (not with `policies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Policies (not with `roles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyDoc>>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_on: Option<String>,
}

/// A member or user-group policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// 32 lowercase hex; derived from the holder and position when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Allow or deny.
    pub access: AccessDoc,
    /// Permission-group ids.
    pub permission_groups: Vec<String>,
    /// Resource-group ids of the same account.
    pub resource_groups: Vec<String>,
}

/// A user group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserGroupDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// Name (255 characters at most; unique per account, case-insensitively).
    pub name: String,
    /// Policies.
    #[serde(default)]
    pub policies: Vec<PolicyDoc>,
    /// Members of the group.
    #[serde(default)]
    pub members: Vec<GroupMemberDoc>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_on: Option<String>,
}

/// A user group's member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMemberDoc {
    /// A member id of the same account.
    pub member: String,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_on: Option<String>,
}

/// SSO verification state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SsoStatusDoc {
    /// Verification not begun.
    #[default]
    Awaiting,
    /// Waiting for the TXT record.
    Pending,
    /// Found.
    Verified,
    /// Not found in time.
    Failed,
}

/// An SSO connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// The email domain.
    pub email_domain: String,
    /// SSO on (only when verified).
    #[serde(default)]
    pub enabled: bool,
    /// FedRAMP wording.
    #[serde(default)]
    pub use_fedramp_language: bool,
    /// The TXT record value; derived from the id when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Verification state.
    #[serde(default)]
    pub status: SsoStatusDoc,
    /// RFC 3339 (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_since: Option<String>,
    /// RFC 3339 (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<String>,
    /// DNS failures since the last answer.
    #[serde(default)]
    pub dns_failures: u32,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_on: Option<String>,
}

/// An OAuth client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientDoc {
    /// 32 lowercase hex.
    pub id: String,
    /// Name.
    pub client_name: String,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// Response types.
    pub response_types: Vec<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// CORS origins.
    #[serde(default)]
    pub allowed_cors_origins: Vec<String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Optional scopes.
    #[serde(default)]
    pub optional_scopes: Vec<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub token_endpoint_auth_method: String,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Privacy policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// Terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    /// `private` or `public`.
    #[serde(default = "private")]
    pub visibility: String,
    /// The secret in clear. Never exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The secret's SHA-256, instead of `secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<String>,
    /// The previous secret's SHA-256, after a rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_secret_sha256: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_on: Option<String>,
}

fn private() -> String {
    "private".into()
}

/// The JSON Schema of [`StateDocument`] (draft 2020-12), with every type it uses under `$defs`.
pub fn json_schema() -> Value {
    use utoipa::openapi::RefOr;
    use utoipa::{PartialSchema, ToSchema as _};
    let mut schemas = Vec::new();
    StateDocument::schemas(&mut schemas);
    let mut defs = Map::new();
    for (name, schema) in schemas {
        defs.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
    }
    let root = match StateDocument::schema() {
        RefOr::T(s) => serde_json::to_value(s).unwrap_or(Value::Null),
        RefOr::Ref(r) => serde_json::to_value(r).unwrap_or(Value::Null),
    };
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        Value::String("https://json-schema.org/draft/2020-12/schema".into()),
    );
    out.insert(
        "$id".into(),
        Value::String("https://portcullis.dev/state.schema.json".into()),
    );
    out.insert("title".into(), Value::String("Portcullis state".into()));
    if let Value::Object(root) = root {
        out.extend(root);
    }
    out.insert("$defs".into(), Value::Object(defs));
    // utoipa writes OpenAPI references; inside one JSON Schema they point at `$defs`.
    let text = Value::Object(out)
        .to_string()
        .replace("#/components/schemas/", "#/$defs/");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// 32 hex characters derived from `parts` (stable across runs and machines).
fn derived_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(b"portcullis-state");
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())[..32].to_owned()
}

fn invalid(pointer: &str, why: impl std::fmt::Display) -> CoreError {
    CoreError::invalid(pointer, format!("{pointer}: {why}"))
}

/// Re-roots an error a request validator gave (pointers like `/name`) at `base`.
fn under(base: &str, e: CoreError) -> CoreError {
    match e {
        CoreError::Invalid {
            pointer: Some(p),
            message,
        } => {
            let full = format!("{base}{p}");
            let message = message.replacen(&p, &full, 1);
            CoreError::Invalid {
                pointer: Some(full),
                message,
            }
        }
        CoreError::Invalid {
            pointer: None,
            message,
        } => invalid(base, message),
        other => other,
    }
}

fn hex_id(pointer: &str, raw: &str) -> CoreResult<String> {
    if raw.len() == 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            pointer,
            format!("`{raw}` is not an id (32 lowercase hex characters)"),
        ))
    }
}

fn sha256_hex(pointer: &str, raw: &str) -> CoreResult<String> {
    if raw.len() == 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            pointer,
            "must be a SHA-256 as 64 lowercase hex characters",
        ))
    }
}

fn time(pointer: &str, raw: &Option<String>, default: Timestamp) -> CoreResult<Timestamp> {
    Ok(opt_time(pointer, raw)?.unwrap_or(default))
}

fn opt_time(pointer: &str, raw: &Option<String>) -> CoreResult<Option<Timestamp>> {
    raw.as_ref()
        .map(|v| {
            Timestamp::parse(v).ok_or_else(|| {
                invalid(
                    pointer,
                    format!("`{v}` is not an RFC 3339 timestamp (e.g. 2026-11-25T12:00:00Z)"),
                )
            })
        })
        .transpose()
}

fn opt_name(pointer: &str, raw: &Option<String>, max: usize) -> CoreResult<Option<String>> {
    match raw {
        Some(v) if !v.trim().is_empty() => Ok(Some(check_name(pointer, v, max)?)),
        _ => Ok(None),
    }
}

/// One secret given in clear or as a hash: exactly one of the two (or neither when optional).
fn secret_hash(
    base: &str,
    (clear_name, clear): (&str, &Option<String>),
    (hash_name, hash): (&str, &Option<String>),
    format_ok: impl Fn(&str) -> bool,
    format: &str,
) -> CoreResult<Option<String>> {
    match (clear, hash) {
        (Some(_), Some(_)) => Err(invalid(
            base,
            format!("give `{clear_name}` or `{hash_name}`, not both"),
        )),
        (Some(v), None) => {
            if format_ok(v) {
                Ok(Some(hash_secret(v)))
            } else {
                Err(invalid(
                    &format!("{base}/{clear_name}"),
                    format!("must be {format}"),
                ))
            }
        }
        (None, Some(h)) => Ok(Some(sha256_hex(&format!("{base}/{hash_name}"), h)?)),
        (None, None) => Ok(None),
    }
}

/// Ids already used in the document, per kind, to refuse duplicates with the first place.
#[derive(Default)]
struct Seen(HashMap<(&'static str, String), String>);

impl Seen {
    fn claim(&mut self, kind: &'static str, id: &str, pointer: &str) -> CoreResult<()> {
        if let Some(first) = self.0.get(&(kind, id.to_owned())) {
            return Err(invalid(
                pointer,
                format!("{kind} id `{id}` is already used at {first}"),
            ));
        }
        self.0.insert((kind, id.to_owned()), pointer.to_owned());
        Ok(())
    }
}

impl Portcullis {
    fn doc_token(
        &self,
        base: &str,
        d: &TokenDoc,
        owner: TokenOwner,
        now: Timestamp,
    ) -> CoreResult<TokenState> {
        let id = hex_id(&format!("{base}/id"), &d.id)?;
        let name = check_name(&format!("{base}/name"), &d.name, TOKEN_NAME_MAX)?;
        let secret_hash = secret_hash(
            base,
            ("value", &d.value),
            ("value_sha256", &d.value_sha256),
            is_token_format,
            "40 URL-safe characters (A-Z, a-z, 0-9, - and _)",
        )?
        .ok_or_else(|| invalid(base, "a token needs `value` or `value_sha256`"))?;
        let issued_on = time(&format!("{base}/issued_on"), &d.issued_on, now)?;
        let not_before = opt_time(&format!("{base}/not_before"), &d.not_before)?;
        let expires_on = opt_time(&format!("{base}/expires_on"), &d.expires_on)?;
        if let (Some(nb), Some(exp)) = (not_before, expires_on) {
            if exp <= nb {
                return Err(invalid(
                    &format!("{base}/expires_on"),
                    "must be after not_before",
                ));
            }
        }
        let condition = match &d.condition {
            None => TokenCondition::default(),
            Some(c) => TokenCondition {
                request_ip_in: parse_cidrs(
                    &format!("{base}/condition/request_ip/in"),
                    &c.request_ip.allowed,
                )?,
                request_ip_not_in: parse_cidrs(
                    &format!("{base}/condition/request_ip/not_in"),
                    &c.request_ip.not_in,
                )?,
            },
        };
        if d.policies.is_empty() {
            return Err(invalid(
                &format!("{base}/policies"),
                "at least one policy is required",
            ));
        }
        let mut policies = Vec::with_capacity(d.policies.len());
        let mut policy_ids = HashSet::new();
        for (i, p) in d.policies.iter().enumerate() {
            let pb = format!("{base}/policies/{i}");
            let pid = match &p.id {
                Some(v) => hex_id(&format!("{pb}/id"), v)?,
                None => derived_id(&["token policy", &id, &i.to_string()]),
            };
            if !policy_ids.insert(pid.clone()) {
                return Err(invalid(
                    &format!("{pb}/id"),
                    format!("policy `{pid}` is given twice"),
                ));
            }
            if p.permission_groups.is_empty() {
                return Err(invalid(
                    &format!("{pb}/permission_groups"),
                    "at least one permission group is required",
                ));
            }
            let mut groups: Vec<String> = Vec::new();
            for (j, g) in p.permission_groups.iter().enumerate() {
                let gp = format!("{pb}/permission_groups/{j}");
                let found = self.catalog().token_group(g).ok_or_else(|| {
                    invalid(&gp, format!("token permission group `{g}` does not exist"))
                })?;
                if matches!(owner, TokenOwner::Account(_))
                    && found.scopes.iter().any(|s| s == SCOPE_USER)
                {
                    return Err(invalid(&gp, format!("`{}` is a user-scoped permission group; account-owned tokens cannot hold it", found.name)));
                }
                if groups.contains(g) {
                    return Err(invalid(
                        &gp,
                        format!("permission group `{g}` is listed twice"),
                    ));
                }
                groups.push(g.clone());
            }
            let rp = format!("{pb}/resources");
            check_resources(&rp, &p.resources, 0, &mut 0)?;
            if let TokenOwner::Account(account) = &owner {
                for key in account_keys(&p.resources) {
                    if key != account.as_str() {
                        return Err(invalid(
                            &format!("{rp}/com.cloudflare.api.account.{key}"),
                            format!(
                                "an account-owned token can only name its own account ({account})"
                            ),
                        ));
                    }
                }
            }
            policies.push(TokenPolicy {
                id: PolicyId::from_trusted(pid),
                access: access(p.effect),
                permission_groups: groups,
                resources: p.resources.clone(),
            });
        }
        Ok(TokenState {
            token: ApiToken {
                id: TokenId::from_trusted(id),
                owner,
                name,
                state: match d.status {
                    TokenStatusDoc::Active => Stored::Active,
                    TokenStatusDoc::Disabled => Stored::Disabled,
                },
                issued_on,
                modified_on: time(&format!("{base}/modified_on"), &d.modified_on, issued_on)?,
                last_used_on: opt_time(&format!("{base}/last_used_on"), &d.last_used_on)?,
                not_before,
                expires_on,
                condition,
                policies,
            },
            secret_hash,
        })
    }

    /// Member or user-group policies, validated like the API's, against the account's resource
    /// groups (`groups`: the document's and the stored ones).
    fn doc_policies(
        &self,
        base: &str,
        holder: &str,
        docs: &[PolicyDoc],
        account: &AccountId,
        groups: &HashMap<&str, &ResourceGroup>,
    ) -> CoreResult<Vec<Policy>> {
        let mut out = Vec::with_capacity(docs.len());
        let mut ids = HashSet::new();
        for (i, d) in docs.iter().enumerate() {
            let pb = format!("{base}/{i}");
            let id = match &d.id {
                Some(v) => hex_id(&format!("{pb}/id"), v)?,
                None => derived_id(&["policy", holder, &i.to_string()]),
            };
            if !ids.insert(id.clone()) {
                return Err(invalid(
                    &format!("{pb}/id"),
                    format!("policy `{id}` is given twice"),
                ));
            }
            if d.permission_groups.is_empty() {
                return Err(invalid(
                    &format!("{pb}/permission_groups"),
                    "at least one permission group is required",
                ));
            }
            if d.resource_groups.is_empty() {
                return Err(invalid(
                    &format!("{pb}/resource_groups"),
                    "at least one resource group is required",
                ));
            }
            let mut pgs = Vec::new();
            for (j, g) in d.permission_groups.iter().enumerate() {
                let gp = format!("{pb}/permission_groups/{j}");
                let found = self.catalog().policy_group(g).ok_or_else(|| {
                    invalid(&gp, format!("permission group `{g}` does not exist"))
                })?;
                if pgs
                    .iter()
                    .any(|p: &crate::catalog::PermissionGroup| p.id == found.id)
                {
                    return Err(invalid(
                        &gp,
                        format!("permission group `{g}` is listed twice"),
                    ));
                }
                pgs.push(found);
            }
            let mut rgs: Vec<&ResourceGroup> = Vec::new();
            for (j, g) in d.resource_groups.iter().enumerate() {
                let gp = format!("{pb}/resource_groups/{j}");
                let found = groups.get(g.as_str()).ok_or_else(|| {
                    invalid(
                        &gp,
                        format!("resource group `{g}` does not exist in account {account}"),
                    )
                })?;
                if rgs.iter().any(|r| r.id == found.id) {
                    return Err(invalid(
                        &gp,
                        format!("resource group `{g}` is listed twice"),
                    ));
                }
                rgs.push(found);
            }
            for g in &pgs {
                for rg in &rgs {
                    if !scope_compatible(g.scope(), rg) {
                        return Err(invalid(&pb, format!("permission group `{}` ({}) has scope {} and cannot be used with resource group `{}` ({})", g.name, g.id, g.scope(), rg.name, rg.id)));
                    }
                }
            }
            out.push(Policy {
                id: PolicyId::from_trusted(id),
                access: access(d.access),
                permission_groups: pgs.into_iter().map(|g| g.id).collect(),
                resource_groups: rgs.into_iter().map(|g| g.id.clone()).collect(),
            });
        }
        Ok(out)
    }

    /// The document as a validated [`State`], resolving references against `stored` too.
    /// `file` prefixes nothing: pointers are the document's.
    pub fn state_from_document(
        &self,
        doc: &StateDocument,
        stored: &State,
        now: Timestamp,
    ) -> CoreResult<State> {
        if doc.portcullis_state != STATE_VERSION {
            return Err(invalid(
                "/portcullis_state",
                format!(
                    "format version {} is not supported; this build reads version {STATE_VERSION}",
                    doc.portcullis_state
                ),
            ));
        }
        let mut seen = Seen::default();
        let mut state = State::default();
        let mut token_hashes: HashMap<String, String> = HashMap::new();
        let mut claim_hash = |hash: &str, pointer: &str| -> CoreResult<()> {
            if let Some(first) = token_hashes.insert(hash.to_owned(), pointer.to_owned()) {
                return Err(invalid(
                    pointer,
                    format!("the same token value is already given at {first}"),
                ));
            }
            Ok(())
        };

        // Users, by email (the document's, then the stored ones).
        let mut user_by_email: HashMap<String, UserId> = stored
            .users
            .iter()
            .map(|u| (u.user.email.clone(), u.user.id.clone()))
            .collect();
        let mut doc_emails: HashMap<String, String> = HashMap::new();
        for (i, u) in doc.users.iter().enumerate() {
            let base = format!("/users/{i}");
            let email =
                check_email("", &u.email).map_err(|e| under(&format!("{base}/email"), e))?;
            if let Some(first) = doc_emails.insert(email.clone(), base.clone()) {
                return Err(invalid(
                    &format!("{base}/email"),
                    format!("`{email}` is already used at {first}"),
                ));
            }
            let id = match &u.id {
                Some(v) => hex_id(&format!("{base}/id"), v)?,
                None => derived_id(&["user", &email]),
            };
            seen.claim("user", &id, &base)?;
            let api_key_hash = secret_hash(
                &base,
                ("api_key", &u.api_key),
                ("api_key_sha256", &u.api_key_sha256),
                is_api_key_format,
                "lowercase hex, 32 to 37 characters",
            )?;
            let created_on = time(&format!("{base}/created_on"), &u.created_on, now)?;
            let user = User {
                id: UserId::from_trusted(id),
                email: email.clone(),
                first_name: opt_name(&format!("{base}/first_name"), &u.first_name, 60)?,
                last_name: opt_name(&format!("{base}/last_name"), &u.last_name, 60)?,
                country: opt_name(&format!("{base}/country"), &u.country, 30)?,
                telephone: opt_name(&format!("{base}/telephone"), &u.telephone, 20)?,
                zipcode: opt_name(&format!("{base}/zipcode"), &u.zipcode, 20)?,
                two_factor_enabled: u.two_factor_enabled,
                operator: u.operator,
                created_on,
                modified_on: time(&format!("{base}/modified_on"), &u.modified_on, created_on)?,
            };
            let mut tokens = Vec::with_capacity(u.tokens.len());
            for (j, t) in u.tokens.iter().enumerate() {
                let tb = format!("{base}/tokens/{j}");
                let token = self.doc_token(&tb, t, TokenOwner::User(user.id.clone()), now)?;
                seen.claim("token", token.token.id.as_str(), &tb)?;
                claim_hash(&token.secret_hash, &tb)?;
                tokens.push(token);
            }
            user_by_email.insert(email, user.id.clone());
            state.users.push(UserState {
                user,
                api_key_hash,
                tokens,
            });
        }

        for (i, a) in doc.accounts.iter().enumerate() {
            let base = format!("/accounts/{i}");
            let id = AccountId::from_trusted(hex_id(&format!("{base}/id"), &a.id)?);
            seen.claim("account", id.as_str(), &base)?;
            let created_on = time(&format!("{base}/created_on"), &a.created_on, now)?;
            let settings = a.settings.clone().unwrap_or(SettingsDoc {
                enforce_twofactor: false,
                abuse_contact_email: None,
            });
            let account = Account {
                id: id.clone(),
                name: check_name(
                    &format!("{base}/name"),
                    &a.name,
                    super::accounts::ACCOUNT_NAME_MAX,
                )?,
                account_type: match a.account_type {
                    AccountTypeDoc::Standard => AccountType::Standard,
                    AccountTypeDoc::Enterprise => AccountType::Enterprise,
                },
                enforce_twofactor: settings.enforce_twofactor,
                abuse_contact_email: settings
                    .abuse_contact_email
                    .as_deref()
                    .map(|e| {
                        check_email("", e).map_err(|err| {
                            under(&format!("{base}/settings/abuse_contact_email"), err)
                        })
                    })
                    .transpose()?,
                created_on,
            };
            let stored_account = stored.accounts.iter().find(|s| s.account.id == id);

            let mut rgs = Vec::with_capacity(a.resource_groups.len());
            for (j, g) in a.resource_groups.iter().enumerate() {
                let gb = format!("{base}/resource_groups/{j}");
                let gid = hex_id(&format!("{gb}/id"), &g.id)?;
                seen.claim("resource group", &gid, &gb)?;
                let scope = ScopeDraft {
                    pointer: format!("{gb}/scope"),
                    key: g.scope.key.clone(),
                    objects: g.scope.objects.clone(),
                };
                // The API's objects are `{key}` objects; the document's are strings.
                let (scope_key, objects) = check_scope(&id, &scope).map_err(|e| match e {
                    CoreError::Invalid {
                        pointer: Some(p),
                        message,
                    } if p.ends_with("/key") && p.contains("/objects/") => {
                        let short = p.trim_end_matches("/key").to_owned();
                        CoreError::Invalid {
                            message: message.replacen(&p, &short, 1),
                            pointer: Some(short),
                        }
                    }
                    other => other,
                })?;
                let g_created = time(&format!("{gb}/created_on"), &g.created_on, now)?;
                rgs.push(ResourceGroup {
                    id: ResourceGroupId::from_trusted(gid),
                    account_id: id.clone(),
                    name: check_name(&format!("{gb}/name"), &g.name, RESOURCE_GROUP_NAME_MAX)?,
                    scope_key,
                    objects,
                    created_on: g_created,
                    modified_on: time(&format!("{gb}/modified_on"), &g.modified_on, g_created)?,
                });
            }
            let mut all_rgs: HashMap<&str, &ResourceGroup> =
                rgs.iter().map(|g| (g.id.as_str(), g)).collect();
            if let Some(s) = stored_account {
                for g in &s.resource_groups {
                    all_rgs.entry(g.id.as_str()).or_insert(g);
                }
            }

            let mut members = Vec::with_capacity(a.members.len());
            let mut member_users: HashMap<UserId, String> = HashMap::new();
            for (j, m) in a.members.iter().enumerate() {
                let mb = format!("{base}/members/{j}");
                let mid = hex_id(&format!("{mb}/id"), &m.id)?;
                seen.claim("member", &mid, &mb)?;
                let email =
                    check_email("", &m.user).map_err(|e| under(&format!("{mb}/user"), e))?;
                let user_id = user_by_email.get(&email).cloned().ok_or_else(|| {
                    invalid(
                        &format!("{mb}/user"),
                        format!("no user has the email `{email}`; add it to /users"),
                    )
                })?;
                if let Some(first) = member_users.insert(user_id.clone(), mb.clone()) {
                    return Err(invalid(
                        &format!("{mb}/user"),
                        format!("`{email}` is already a member of this account at {first}"),
                    ));
                }
                let grants = match (&m.roles, &m.policies) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(&mb, "give `roles` or `policies`, not both"))
                    }
                    (Some(roles), None) => {
                        let mut out: Vec<String> = Vec::new();
                        for (k, r) in roles.iter().enumerate() {
                            let rp = format!("{mb}/roles/{k}");
                            if self.catalog().role(r).is_none() {
                                return Err(invalid(&rp, format!("role `{r}` does not exist")));
                            }
                            if out.contains(r) {
                                return Err(invalid(&rp, format!("role `{r}` is listed twice")));
                            }
                            out.push(r.clone());
                        }
                        Grants::Roles(out)
                    }
                    // No policies is no direct grant, stored (and exported) as no roles.
                    (None, Some(p)) if p.is_empty() => Grants::Roles(Vec::new()),
                    (None, Some(p)) => Grants::Policies(self.doc_policies(
                        &format!("{mb}/policies"),
                        &mid,
                        p,
                        &id,
                        &all_rgs,
                    )?),
                    (None, None) => Grants::Roles(Vec::new()),
                };
                let m_created = time(&format!("{mb}/created_on"), &m.created_on, now)?;
                members.push(MemberState {
                    id: MemberId::from_trusted(mid),
                    user_id,
                    status: match m.status {
                        MemberStatusDoc::Accepted => MemberStatus::Accepted,
                        MemberStatusDoc::Pending => MemberStatus::Pending,
                    },
                    grants,
                    created_on: m_created,
                    modified_on: time(&format!("{mb}/modified_on"), &m.modified_on, m_created)?,
                });
            }
            let mut all_members: HashSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
            if let Some(s) = stored_account {
                all_members.extend(s.members.iter().map(|m| m.id.as_str()));
            }

            let mut groups = Vec::with_capacity(a.user_groups.len());
            let mut group_names: HashMap<String, String> = HashMap::new();
            for (j, g) in a.user_groups.iter().enumerate() {
                let gb = format!("{base}/user_groups/{j}");
                let gid = hex_id(&format!("{gb}/id"), &g.id)?;
                seen.claim("user group", &gid, &gb)?;
                let name = check_name(&format!("{gb}/name"), &g.name, USER_GROUP_NAME_MAX)?;
                if let Some(first) = group_names.insert(name.to_lowercase(), gb.clone()) {
                    return Err(invalid(
                        &format!("{gb}/name"),
                        format!("a user group named `{name}` is already at {first} (names are unique per account, case-insensitively)"),
                    ));
                }
                let policies =
                    self.doc_policies(&format!("{gb}/policies"), &gid, &g.policies, &id, &all_rgs)?;
                let g_created = time(&format!("{gb}/created_on"), &g.created_on, now)?;
                let mut gm: Vec<(MemberId, Timestamp)> = Vec::new();
                for (k, m) in g.members.iter().enumerate() {
                    let mp = format!("{gb}/members/{k}");
                    if !all_members.contains(m.member.as_str()) {
                        return Err(invalid(
                            &format!("{mp}/member"),
                            format!("`{}` is not a member of account {id}", m.member),
                        ));
                    }
                    if gm.iter().any(|(x, _)| x.as_str() == m.member) {
                        return Err(invalid(
                            &format!("{mp}/member"),
                            format!("member `{}` is listed twice", m.member),
                        ));
                    }
                    gm.push((
                        MemberId::from_trusted(m.member.clone()),
                        time(&format!("{mp}/added_on"), &m.added_on, g_created)?,
                    ));
                }
                gm.sort_by(|x, y| x.0.as_str().cmp(y.0.as_str()));
                groups.push(UserGroupState {
                    group: UserGroup {
                        id: UserGroupId::from_trusted(gid),
                        account_id: id.clone(),
                        name,
                        policies,
                        created_on: g_created,
                        modified_on: time(&format!("{gb}/modified_on"), &g.modified_on, g_created)?,
                    },
                    members: gm,
                });
            }

            let mut tokens = Vec::with_capacity(a.tokens.len());
            for (j, t) in a.tokens.iter().enumerate() {
                let tb = format!("{base}/tokens/{j}");
                let token = self.doc_token(&tb, t, TokenOwner::Account(id.clone()), now)?;
                seen.claim("token", token.token.id.as_str(), &tb)?;
                claim_hash(&token.secret_hash, &tb)?;
                tokens.push(token);
            }

            let mut sso = Vec::with_capacity(a.sso_connectors.len());
            for (j, c) in a.sso_connectors.iter().enumerate() {
                let cb = format!("{base}/sso_connectors/{j}");
                let cid = hex_id(&format!("{cb}/id"), &c.id)?;
                seen.claim("SSO connector", &cid, &cb)?;
                let domain =
                    super::sso::normalize_domain(&c.email_domain).map_err(|e| under(&cb, e))?;
                if sso.iter().any(|s: &SsoConnector| s.email_domain == domain) {
                    return Err(invalid(
                        &format!("{cb}/email_domain"),
                        format!("account {id} has a connector for `{domain}` already"),
                    ));
                }
                let status = match c.status {
                    SsoStatusDoc::Awaiting => SsoStatus::Awaiting,
                    SsoStatusDoc::Pending => SsoStatus::Pending,
                    SsoStatusDoc::Verified => SsoStatus::Verified,
                    SsoStatusDoc::Failed => SsoStatus::Failed,
                };
                if c.enabled && status != SsoStatus::Verified {
                    return Err(invalid(
                        &format!("{cb}/enabled"),
                        "only a verified connector can be enabled",
                    ));
                }
                let code = match &c.code {
                    Some(v) => check_name(&format!("{cb}/code"), v, 255)?,
                    None => format!(
                        "{}={}",
                        self.sso_settings().code_prefix,
                        derived_id(&["sso code", &cid])
                    ),
                };
                let c_created = time(&format!("{cb}/created_on"), &c.created_on, now)?;
                let (pending_since, next_check_at) = if status == SsoStatus::Pending {
                    (
                        Some(time(&format!("{cb}/pending_since"), &c.pending_since, now)?),
                        Some(time(&format!("{cb}/next_check_at"), &c.next_check_at, now)?),
                    )
                } else {
                    (None, None)
                };
                sso.push(SsoConnector {
                    id: SsoConnectorId::from_trusted(cid),
                    account_id: id.clone(),
                    email_domain: domain,
                    enabled: c.enabled,
                    use_fedramp_language: c.use_fedramp_language,
                    code,
                    status,
                    pending_since,
                    next_check_at,
                    dns_failures: c.dns_failures,
                    created_on: c_created,
                    updated_on: time(&format!("{cb}/updated_on"), &c.updated_on, c_created)?,
                });
            }

            let mut clients = Vec::with_capacity(a.oauth_clients.len());
            for (j, c) in a.oauth_clients.iter().enumerate() {
                let cb = format!("{base}/oauth_clients/{j}");
                clients.push(self.doc_oauth_client(&cb, c, &id, now, &mut seen)?);
            }

            state.accounts.push(AccountState {
                modified_on: time(&format!("{base}/modified_on"), &a.modified_on, created_on)?,
                account,
                resource_groups: rgs,
                members,
                user_groups: groups,
                tokens,
                sso_connectors: sso,
                oauth_clients: clients,
            });
        }
        Ok(state)
    }

    fn doc_oauth_client(
        &self,
        cb: &str,
        c: &OAuthClientDoc,
        account: &AccountId,
        now: Timestamp,
        seen: &mut Seen,
    ) -> CoreResult<OAuthClientState> {
        let cid = hex_id(&format!("{cb}/id"), &c.id)?;
        seen.claim("OAuth client", &cid, cb)?;
        let list = |field: &str, values: &[String], parse: &dyn Fn(&str) -> bool| {
            for (k, v) in values.iter().enumerate() {
                if !parse(v) {
                    return Err(invalid(
                        &format!("{cb}/{field}/{k}"),
                        format!("`{v}` is not a known value"),
                    ));
                }
            }
            Ok(())
        };
        list("grant_types", &c.grant_types, &|v| {
            GrantType::try_from(v).is_ok()
        })?;
        list("response_types", &c.response_types, &|v| {
            ResponseType::try_from(v).is_ok()
        })?;
        let token_endpoint_auth_method =
            TokenAuthMethod::try_from(c.token_endpoint_auth_method.as_str()).map_err(|_| {
                invalid(
                    &format!("{cb}/token_endpoint_auth_method"),
                    "must be none, client_secret_basic or client_secret_post",
                )
            })?;
        let visibility = Visibility::try_from(c.visibility.as_str())
            .map_err(|_| invalid(&format!("{cb}/visibility"), "must be private or public"))?;
        let secret_hash = secret_hash(
            cb,
            ("secret", &c.secret),
            ("secret_sha256", &c.secret_sha256),
            |v| !v.is_empty(),
            "a non-empty string",
        )?
        .ok_or_else(|| invalid(cb, "an OAuth client needs `secret` or `secret_sha256`"))?;
        let rotated_secret_hash = c
            .rotated_secret_sha256
            .as_deref()
            .map(|h| sha256_hex(&format!("{cb}/rotated_secret_sha256"), h))
            .transpose()?;
        let created_on = time(&format!("{cb}/created_on"), &c.created_on, now)?;
        let uri = |field: &str, v: &Option<String>| -> CoreResult<Option<String>> {
            match v {
                None => Ok(None),
                Some(v) => crate::oauth::check_info_uri(field, v).map_err(|e| under(cb, e)),
            }
        };
        let client = OAuthClient {
            id: OAuthClientId::from_trusted(cid),
            account_id: account.clone(),
            client_name: crate::oauth::check_name(&c.client_name).map_err(|e| under(cb, e))?,
            grant_types: c
                .grant_types
                .iter()
                .filter_map(|v| GrantType::try_from(v.as_str()).ok())
                .collect(),
            response_types: c
                .response_types
                .iter()
                .filter_map(|v| ResponseType::try_from(v.as_str()).ok())
                .collect(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            allowed_cors_origins: c.allowed_cors_origins.clone(),
            scopes: c.scopes.clone(),
            optional_scopes: c.optional_scopes.clone(),
            token_endpoint_auth_method,
            client_uri: uri("client_uri", &c.client_uri)?,
            logo_uri: uri("logo_uri", &c.logo_uri)?,
            policy_uri: uri("policy_uri", &c.policy_uri)?,
            tos_uri: uri("tos_uri", &c.tos_uri)?,
            visibility,
            has_rotated_secret: rotated_secret_hash.is_some(),
            created_on,
            updated_on: time(&format!("{cb}/updated_on"), &c.updated_on, created_on)?,
        };
        super::oauth_clients::check_client(&client).map_err(|e| under(cb, e))?;
        Ok(OAuthClientState {
            client,
            secret_hash,
            rotated_secret_hash,
        })
    }

    /// What an import of `doc` writes given what is `stored`: the objects not stored yet.
    /// An object stored with the same id and the same content is left alone (so importing a
    /// file twice changes nothing); the same id with other content, or a clash with a stored
    /// object's unique value (email, token value, member of the same user), refuses the import.
    pub fn plan_import(
        &self,
        doc: &StateDocument,
        stored: &State,
        now: Timestamp,
    ) -> CoreResult<(State, ImportSummary)> {
        let incoming = self.state_from_document(doc, stored, now)?;
        merge(&incoming, stored)
    }
}

impl Portcullis {
    /// `portcullis import` and `serve --fixtures`: the document's objects written in one
    /// transaction (after deleting everything, with [`ImportMode::Replace`]); every cache is
    /// emptied once it has committed.
    pub async fn import_document(
        &self,
        doc: &StateDocument,
        mode: ImportMode,
    ) -> CoreResult<ImportSummary> {
        if doc.catalog.is_some() {
            return Err(invalid(
                "/catalog",
                "catalog entries extend a running server's catalog (`serve --fixtures FILE`, or `serve --catalog FILE`); they are not stored, so `import` does not take them",
            ));
        }
        self.load_document(doc, mode, Timestamp::now(), "import")
            .await
    }

    /// What `serve --fixtures` loads: like [`Self::import_document`], with the document's
    /// catalog entries already in this server's catalog; omitted timestamps are `now` (the same
    /// `now` as [`Self::fixtures_of`]'s, so a reset restores the timestamps served at start).
    pub async fn load_document(
        &self,
        doc: &StateDocument,
        mode: ImportMode,
        now: Timestamp,
        command: &str,
    ) -> CoreResult<ImportSummary> {
        let summary = self
            .store()
            .import_state(
                mode,
                &|stored| self.plan_import(doc, stored, now),
                &crate::audit::AuditContext::cli(command),
            )
            .await?;
        self.forget_cached();
        Ok(summary)
    }

    /// The document validated on its own (as into an empty database): what a reset restores;
    /// omitted timestamps are `now`.
    pub fn fixtures_of(&self, doc: &StateDocument, now: Timestamp) -> CoreResult<State> {
        self.state_from_document(doc, &State::default(), now)
    }

    /// `POST /__portcullis/reset`: everything replaced by `fixtures`, for an operator's global
    /// key. Returns how many objects were written.
    pub async fn reset_to(
        &self,
        principal: &Principal,
        origin: &crate::audit::Origin,
        fixtures: &State,
    ) -> CoreResult<usize> {
        super::accounts::operator(principal, "reset the server to its fixtures")?;
        let written = count(fixtures);
        self.store()
            .import_state(
                ImportMode::Replace,
                &|_| {
                    Ok((
                        fixtures.clone(),
                        ImportSummary {
                            added: written,
                            unchanged: 0,
                        },
                    ))
                },
                &crate::audit::AuditContext::new(principal, origin),
            )
            .await?;
        self.forget_cached();
        Ok(written)
    }

    /// `portcullis export`: the state of `accounts` (all when `None`) from one snapshot.
    pub async fn export_document(
        &self,
        accounts: Option<&[AccountId]>,
    ) -> CoreResult<StateDocument> {
        Ok(document_of(&self.store().read_state(accounts).await?))
    }

    fn forget_cached(&self) {
        self.index().clear();
        self.credentials().clear();
    }
}

/// Objects in a state, counted as an import counts them.
fn count(s: &State) -> usize {
    s.users.iter().map(|u| 1 + u.tokens.len()).sum::<usize>()
        + s.accounts
            .iter()
            .map(|a| {
                1 + a.resource_groups.len()
                    + a.members.len()
                    + a.user_groups.len()
                    + a.tokens.len()
                    + a.sso_connectors.len()
                    + a.oauth_clients.len()
            })
            .sum::<usize>()
}

fn access(a: AccessDoc) -> Access {
    match a {
        AccessDoc::Allow => Access::Allow,
        AccessDoc::Deny => Access::Deny,
    }
}

fn access_doc(a: Access) -> AccessDoc {
    match a {
        Access::Allow => AccessDoc::Allow,
        Access::Deny => AccessDoc::Deny,
    }
}

const ZERO: Timestamp = Timestamp::from_micros(0);

fn bare_user(u: &UserState) -> UserState {
    let mut u = u.clone();
    u.user.created_on = ZERO;
    u.user.modified_on = ZERO;
    u.tokens.clear();
    u
}

fn bare_token(t: &TokenState) -> TokenState {
    let mut t = t.clone();
    t.token.issued_on = ZERO;
    t.token.modified_on = ZERO;
    t.token.last_used_on = None;
    t
}

fn bare_account(a: &Account) -> Account {
    let mut a = a.clone();
    a.created_on = ZERO;
    a
}

fn bare_rg(g: &ResourceGroup) -> ResourceGroup {
    let mut g = g.clone();
    g.created_on = ZERO;
    g.modified_on = ZERO;
    g
}

fn bare_member(m: &MemberState) -> MemberState {
    let mut m = m.clone();
    m.created_on = ZERO;
    m.modified_on = ZERO;
    m
}

fn bare_group(g: &UserGroupState) -> UserGroupState {
    let mut g = g.clone();
    g.group.created_on = ZERO;
    g.group.modified_on = ZERO;
    for m in &mut g.members {
        m.1 = ZERO;
    }
    g
}

fn bare_sso(c: &SsoConnector) -> SsoConnector {
    let mut c = c.clone();
    c.created_on = ZERO;
    c.updated_on = ZERO;
    c.pending_since = None;
    c.next_check_at = None;
    c.dns_failures = 0;
    c
}

fn bare_client(c: &OAuthClientState) -> OAuthClientState {
    let mut c = c.clone();
    c.client.created_on = ZERO;
    c.client.updated_on = ZERO;
    c
}

fn resource_groups_id(g: &ResourceGroup) -> &str {
    g.id.as_str()
}

fn members_id(m: &MemberState) -> &str {
    m.id.as_str()
}

fn user_groups_id(g: &UserGroupState) -> &str {
    g.group.id.as_str()
}

fn sso_connectors_id(c: &SsoConnector) -> &str {
    c.id.as_str()
}

fn oauth_clients_id(c: &OAuthClientState) -> &str {
    c.client.id.as_str()
}

/// Where a stored object sits, for messages.
fn differs(pointer: &str, kind: &str, id: &str) -> CoreError {
    invalid(
        pointer,
        format!("{kind} `{id}` is stored already with other content; import with --replace to overwrite what is stored"),
    )
}

/// Keeps from `incoming` what `stored` does not hold; see [`Portcullis::plan_import`].
fn merge(incoming: &State, stored: &State) -> CoreResult<(State, ImportSummary)> {
    let mut summary = ImportSummary::default();
    let mut out = State::default();

    // Every stored object by id, with its owner, to tell "same", "different" and "elsewhere".
    let stored_users: HashMap<&str, &UserState> = stored
        .users
        .iter()
        .map(|u| (u.user.id.as_str(), u))
        .collect();
    let stored_emails: HashMap<&str, &str> = stored
        .users
        .iter()
        .map(|u| (u.user.email.as_str(), u.user.id.as_str()))
        .collect();
    let mut stored_tokens: HashMap<&str, &TokenState> = HashMap::new();
    let mut stored_hashes: HashMap<&str, &str> = HashMap::new();
    for t in stored
        .users
        .iter()
        .flat_map(|u| &u.tokens)
        .chain(stored.accounts.iter().flat_map(|a| &a.tokens))
    {
        stored_tokens.insert(t.token.id.as_str(), t);
        stored_hashes.insert(t.secret_hash.as_str(), t.token.id.as_str());
    }
    let stored_accounts: HashMap<&str, &AccountState> = stored
        .accounts
        .iter()
        .map(|a| (a.account.id.as_str(), a))
        .collect();
    let mut owner_of: HashMap<(&str, &str), &str> = HashMap::new();
    for a in &stored.accounts {
        let acc = a.account.id.as_str();
        for g in &a.resource_groups {
            owner_of.insert(("resource group", g.id.as_str()), acc);
        }
        for m in &a.members {
            owner_of.insert(("member", m.id.as_str()), acc);
        }
        for g in &a.user_groups {
            owner_of.insert(("user group", g.group.id.as_str()), acc);
        }
        for c in &a.sso_connectors {
            owner_of.insert(("SSO connector", c.id.as_str()), acc);
        }
        for c in &a.oauth_clients {
            owner_of.insert(("OAuth client", c.client.id.as_str()), acc);
        }
    }
    let elsewhere = |pointer: &str, kind: &'static str, id: &str, account: &str| match owner_of
        .get(&(kind, id))
    {
        Some(owner) if *owner != account => Err(invalid(
            pointer,
            format!("{kind} id `{id}` is stored already in account {owner}"),
        )),
        _ => Ok(()),
    };

    let token_check =
        |pointer: &str, t: &TokenState, summary: &mut ImportSummary| match stored_tokens
            .get(t.token.id.as_str())
        {
            Some(s) if bare_token(s) == bare_token(t) => {
                summary.unchanged += 1;
                Ok(false)
            }
            Some(_) => Err(differs(pointer, "token", t.token.id.as_str())),
            None => {
                if stored_hashes.contains_key(t.secret_hash.as_str()) {
                    return Err(invalid(pointer, "another stored token has the same value"));
                }
                summary.added += 1;
                Ok(true)
            }
        };

    for (i, u) in incoming.users.iter().enumerate() {
        let base = format!("/users/{i}");
        let mut keep = match stored_users.get(u.user.id.as_str()) {
            Some(s) if bare_user(s) == bare_user(u) => {
                summary.unchanged += 1;
                let mut s = (*s).clone();
                s.tokens.clear();
                s
            }
            Some(_) => return Err(differs(&base, "user", u.user.id.as_str())),
            None => {
                if let Some(other) = stored_emails.get(u.user.email.as_str()) {
                    return Err(invalid(
                        &format!("{base}/email"),
                        format!("`{}` is stored already as user {other}", u.user.email),
                    ));
                }
                summary.added += 1;
                let mut u = u.clone();
                u.tokens.clear();
                u
            }
        };
        for (j, t) in u.tokens.iter().enumerate() {
            if token_check(&format!("{base}/tokens/{j}"), t, &mut summary)? {
                keep.tokens.push(t.clone());
            }
        }
        out.users.push(keep);
    }

    for (i, a) in incoming.accounts.iter().enumerate() {
        let base = format!("/accounts/{i}");
        let acc = a.account.id.as_str();
        let stored_account = stored_accounts.get(acc);
        match stored_account {
            Some(s) if bare_account(&s.account) == bare_account(&a.account) => {
                summary.unchanged += 1
            }
            Some(_) => return Err(differs(&base, "account", acc)),
            None => summary.added += 1,
        }
        let mut keep = AccountState {
            account: a.account.clone(),
            modified_on: a.modified_on,
            resource_groups: Vec::new(),
            members: Vec::new(),
            user_groups: Vec::new(),
            tokens: Vec::new(),
            sso_connectors: Vec::new(),
            oauth_clients: Vec::new(),
        };
        macro_rules! merge_kind {
            ($field:ident, $kind:literal, $id:ident, $bare:ident) => {
                for (j, x) in a.$field.iter().enumerate() {
                    let p = format!("{base}/{}/{j}", stringify!($field));
                    let id: &str = $id(x);
                    elsewhere(&p, $kind, id, acc)?;
                    let found = stored_account.and_then(|s| s.$field.iter().find(|y| $id(y) == id));
                    match found {
                        Some(s) if $bare(s) == $bare(x) => summary.unchanged += 1,
                        Some(_) => return Err(differs(&p, $kind, id)),
                        None => {
                            summary.added += 1;
                            keep.$field.push(x.clone());
                        }
                    }
                }
            };
        }
        merge_kind!(
            resource_groups,
            "resource group",
            resource_groups_id,
            bare_rg
        );
        merge_kind!(members, "member", members_id, bare_member);
        merge_kind!(user_groups, "user group", user_groups_id, bare_group);
        merge_kind!(sso_connectors, "SSO connector", sso_connectors_id, bare_sso);
        merge_kind!(oauth_clients, "OAuth client", oauth_clients_id, bare_client);
        // A new member must not be a second membership of a stored member's user.
        if let Some(s) = stored_account {
            for (j, m) in keep.members.iter().enumerate() {
                if let Some(other) = s.members.iter().find(|o| o.user_id == m.user_id) {
                    return Err(invalid(
                        &format!("{base}/members/{j}/user"),
                        format!(
                            "the user is stored already as member {} of this account",
                            other.id
                        ),
                    ));
                }
            }
            for g in &keep.user_groups {
                if let Some(other) = s
                    .user_groups
                    .iter()
                    .find(|o| o.group.name.to_lowercase() == g.group.name.to_lowercase())
                {
                    return Err(invalid(
                        &format!("{base}/user_groups"),
                        format!(
                            "a user group named `{}` is stored already ({})",
                            g.group.name, other.group.id
                        ),
                    ));
                }
            }
        }
        for (j, t) in a.tokens.iter().enumerate() {
            if token_check(&format!("{base}/tokens/{j}"), t, &mut summary)? {
                keep.tokens.push(t.clone());
            }
        }
        out.accounts.push(keep);
    }
    Ok((out, summary))
}

/// The document of `state` (secrets as hashes only), in the order [`State`] keeps.
pub fn document_of(state: &State) -> StateDocument {
    let ts = |t: Timestamp| Some(t.to_string());
    let token = |t: &TokenState| TokenDoc {
        id: t.token.id.to_string(),
        name: t.token.name.clone(),
        value: None,
        value_sha256: Some(t.secret_hash.clone()),
        status: match t.token.state {
            Stored::Active => TokenStatusDoc::Active,
            Stored::Disabled => TokenStatusDoc::Disabled,
        },
        issued_on: ts(t.token.issued_on),
        modified_on: ts(t.token.modified_on),
        last_used_on: t.token.last_used_on.map(|t| t.to_string()),
        not_before: t.token.not_before.map(|t| t.to_string()),
        expires_on: t.token.expires_on.map(|t| t.to_string()),
        condition: (!t.token.condition.is_empty()).then(|| ConditionDoc {
            request_ip: RequestIpDoc {
                allowed: t
                    .token
                    .condition
                    .request_ip_in
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                not_in: t
                    .token
                    .condition
                    .request_ip_not_in
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
        }),
        policies: t
            .token
            .policies
            .iter()
            .map(|p| TokenPolicyDoc {
                id: Some(p.id.to_string()),
                effect: access_doc(p.access),
                permission_groups: p.permission_groups.clone(),
                resources: p.resources.clone(),
            })
            .collect(),
    };
    let policies = |ps: &[Policy]| -> Vec<PolicyDoc> {
        ps.iter()
            .map(|p| PolicyDoc {
                id: Some(p.id.to_string()),
                access: access_doc(p.access),
                permission_groups: p.permission_groups.clone(),
                resource_groups: p.resource_groups.iter().map(ToString::to_string).collect(),
            })
            .collect()
    };
    let email_of: HashMap<&str, &str> = state
        .users
        .iter()
        .map(|u| (u.user.id.as_str(), u.user.email.as_str()))
        .collect();
    StateDocument {
        portcullis_state: STATE_VERSION,
        catalog: None,
        users: state
            .users
            .iter()
            .map(|u| UserDoc {
                id: Some(u.user.id.to_string()),
                email: u.user.email.clone(),
                first_name: u.user.first_name.clone(),
                last_name: u.user.last_name.clone(),
                country: u.user.country.clone(),
                telephone: u.user.telephone.clone(),
                zipcode: u.user.zipcode.clone(),
                two_factor_enabled: u.user.two_factor_enabled,
                operator: u.user.operator,
                api_key: None,
                api_key_sha256: u.api_key_hash.clone(),
                created_on: ts(u.user.created_on),
                modified_on: ts(u.user.modified_on),
                tokens: u.tokens.iter().map(token).collect(),
            })
            .collect(),
        accounts: state
            .accounts
            .iter()
            .map(|a| AccountDoc {
                id: a.account.id.to_string(),
                name: a.account.name.clone(),
                account_type: match a.account.account_type {
                    AccountType::Standard => AccountTypeDoc::Standard,
                    AccountType::Enterprise => AccountTypeDoc::Enterprise,
                },
                settings: Some(SettingsDoc {
                    enforce_twofactor: a.account.enforce_twofactor,
                    abuse_contact_email: a.account.abuse_contact_email.clone(),
                }),
                created_on: ts(a.account.created_on),
                modified_on: ts(a.modified_on),
                resource_groups: a
                    .resource_groups
                    .iter()
                    .map(|g| ResourceGroupDoc {
                        id: g.id.to_string(),
                        name: g.name.clone(),
                        scope: ScopeDoc {
                            key: g.scope_key.clone(),
                            objects: g.objects.clone(),
                        },
                        created_on: ts(g.created_on),
                        modified_on: ts(g.modified_on),
                    })
                    .collect(),
                members: a
                    .members
                    .iter()
                    .map(|m| {
                        let (roles, pols) = match &m.grants {
                            Grants::Roles(r) => (Some(r.clone()), None),
                            Grants::Policies(p) => (None, Some(policies(p))),
                        };
                        MemberDoc {
                            id: m.id.to_string(),
                            user: email_of
                                .get(m.user_id.as_str())
                                .map_or_else(|| m.user_id.to_string(), |e| (*e).to_owned()),
                            status: match m.status {
                                MemberStatus::Accepted => MemberStatusDoc::Accepted,
                                MemberStatus::Pending => MemberStatusDoc::Pending,
                            },
                            roles,
                            policies: pols,
                            created_on: ts(m.created_on),
                            modified_on: ts(m.modified_on),
                        }
                    })
                    .collect(),
                user_groups: a
                    .user_groups
                    .iter()
                    .map(|g| UserGroupDoc {
                        id: g.group.id.to_string(),
                        name: g.group.name.clone(),
                        policies: policies(&g.group.policies),
                        members: g
                            .members
                            .iter()
                            .map(|(m, at)| GroupMemberDoc {
                                member: m.to_string(),
                                added_on: ts(*at),
                            })
                            .collect(),
                        created_on: ts(g.group.created_on),
                        modified_on: ts(g.group.modified_on),
                    })
                    .collect(),
                tokens: a.tokens.iter().map(token).collect(),
                sso_connectors: a
                    .sso_connectors
                    .iter()
                    .map(|c| SsoDoc {
                        id: c.id.to_string(),
                        email_domain: c.email_domain.clone(),
                        enabled: c.enabled,
                        use_fedramp_language: c.use_fedramp_language,
                        code: Some(c.code.clone()),
                        status: match c.status {
                            SsoStatus::Awaiting => SsoStatusDoc::Awaiting,
                            SsoStatus::Pending => SsoStatusDoc::Pending,
                            SsoStatus::Verified => SsoStatusDoc::Verified,
                            SsoStatus::Failed => SsoStatusDoc::Failed,
                        },
                        pending_since: c.pending_since.map(|t| t.to_string()),
                        next_check_at: c.next_check_at.map(|t| t.to_string()),
                        dns_failures: c.dns_failures,
                        created_on: ts(c.created_on),
                        updated_on: ts(c.updated_on),
                    })
                    .collect(),
                oauth_clients: a
                    .oauth_clients
                    .iter()
                    .map(|s| {
                        let c = &s.client;
                        OAuthClientDoc {
                            id: c.id.to_string(),
                            client_name: c.client_name.clone(),
                            grant_types: c
                                .grant_types
                                .iter()
                                .map(|g| g.as_str().to_owned())
                                .collect(),
                            response_types: c
                                .response_types
                                .iter()
                                .map(|g| g.as_str().to_owned())
                                .collect(),
                            redirect_uris: c.redirect_uris.clone(),
                            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                            allowed_cors_origins: c.allowed_cors_origins.clone(),
                            scopes: c.scopes.clone(),
                            optional_scopes: c.optional_scopes.clone(),
                            token_endpoint_auth_method: c
                                .token_endpoint_auth_method
                                .as_str()
                                .to_owned(),
                            client_uri: c.client_uri.clone(),
                            logo_uri: c.logo_uri.clone(),
                            policy_uri: c.policy_uri.clone(),
                            tos_uri: c.tos_uri.clone(),
                            visibility: c.visibility.as_str().to_owned(),
                            secret: None,
                            secret_sha256: Some(s.secret_hash.clone()),
                            rotated_secret_sha256: s.rotated_secret_hash.clone(),
                            created_on: ts(c.created_on),
                            updated_on: ts(c.updated_on),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_published_schema_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/state.schema.json");
        let published: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(
            published,
            json_schema(),
            "docs/state.schema.json is stale: run `portcullis state-schema > docs/state.schema.json`"
        );
    }

    #[test]
    fn omitted_ids_are_derived_the_same_way_every_time() {
        let a = derived_id(&["user", "a@example.com"]);
        assert_eq!(a, derived_id(&["user", "a@example.com"]));
        assert_ne!(a, derived_id(&["user", "b@example.com"]));
        assert_ne!(derived_id(&["ab", "c"]), derived_id(&["a", "bc"]));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn errors_from_request_validators_are_rerooted() {
        let e = under(
            "/accounts/0/sso_connectors/1",
            CoreError::invalid("/email_domain", "/email_domain: bad"),
        );
        assert_eq!(
            e.to_string(),
            "/accounts/0/sso_connectors/1/email_domain: bad"
        );
        let e = under("/users/0/email", CoreError::invalid("", ": bad"));
        assert_eq!(e.to_string(), "/users/0/email: bad");
    }
}
