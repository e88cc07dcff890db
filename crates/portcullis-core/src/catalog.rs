//! The permission catalog: member permission groups (what `/iam/permission_groups` lists), token
//! permission groups (what API-token policies use) and legacy account roles.
//!
//! The built-in data is `data/permission_groups.json` and `data/account_roles.json` (sources in
//! `data/SOURCES.md`). Legacy roles that have no public permission-group id (e.g. "Super
//! Administrator - All Privileges") are added as member permission groups with ids derived from
//! their names: the first 32 hex digits of `sha256("portcullis:permission_group:" + name)`.
//! An operator file can extend or replace the permission groups.

use std::collections::HashMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::ids::is_id;

const BUILTIN_GROUPS: &str = include_str!("../data/permission_groups.json");
const BUILTIN_ROLES: &str = include_str!("../data/account_roles.json");
const BUILTIN_KEYS: &str = include_str!("../data/permission_keys.json");

/// Scope of account-wide groups.
pub const SCOPE_ACCOUNT: &str = "com.cloudflare.api.account";
/// Scope of zone groups.
pub const SCOPE_ZONE: &str = "com.cloudflare.api.account.zone";
/// Scope of user groups (user-owned tokens).
pub const SCOPE_USER: &str = "com.cloudflare.api.user";

/// Name of the role that may do everything in an account.
pub const SUPER_ADMIN_ROLE: &str = "Super Administrator - All Privileges";

/// A member permission group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGroup {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Label (`meta.label`), when known.
    pub label: Option<String>,
    /// Scope keys.
    pub scopes: Vec<String>,
    /// Description.
    pub description: String,
    /// Added by Portcullis with a derived id (no public Cloudflare id).
    pub local: bool,
}

impl PermissionGroup {
    /// The main scope (account when the source did not say).
    pub fn scope(&self) -> &str {
        self.scopes.first().map_or(SCOPE_ACCOUNT, String::as_str)
    }
}

/// A token permission group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPermissionGroup {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scope keys.
    pub scopes: Vec<String>,
    /// Description.
    pub description: String,
}

/// A legacy account role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
}

#[derive(Debug, Deserialize)]
struct RawGroup {
    id: String,
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    description: Option<String>,
    catalog: String,
}

#[derive(Debug, Deserialize)]
struct RawRole {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
}

/// An operator catalog file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorFile {
    /// `extend` (default): add or override by id; `replace`: only the file's groups.
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    permission_groups: Vec<RawGroup>,
    /// Legacy account roles added (a role with an id the catalog has replaces it); what a role
    /// grants is `grants` under its name.
    #[serde(default)]
    roles: Vec<RawRole>,
    /// Permission keys by group name, added to (or replacing) the built-in grants.
    #[serde(default)]
    grants: HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct RawKeys {
    keys: HashMap<String, String>,
    grants: HashMap<String, Vec<String>>,
}

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The JSON does not parse.
    #[error("catalog is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// An entry is wrong.
    #[error("catalog entry `{id}`: {reason}")]
    Entry {
        /// The entry's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// The loaded catalog, with lookups by id.
#[derive(Debug, Clone)]
pub struct Catalog {
    member_groups: Vec<PermissionGroup>,
    token_groups: Vec<TokenPermissionGroup>,
    roles: Vec<Role>,
    /// Permission keys granted, by lower-cased group name.
    grants: HashMap<String, Vec<String>>,
    /// The permission keys Portcullis decides, with what they allow.
    keys: HashMap<String, String>,
    member_by_id: HashMap<String, usize>,
    token_by_id: HashMap<String, usize>,
    role_by_id: HashMap<String, usize>,
}

/// The id Portcullis gives a permission group that has no public id.
pub fn derived_group_id(name: &str) -> String {
    let digest = Sha256::digest(format!("portcullis:permission_group:{name}").as_bytes());
    hex::encode(&digest[..16])
}

fn derived_label(name: &str) -> String {
    match name {
        SUPER_ADMIN_ROLE => "super_admin".to_owned(),
        "Administrator" => "admin".to_owned(),
        "Administrator Read Only" => "admin_readonly".to_owned(),
        _ => {
            let mut label = String::new();
            for c in name.chars() {
                if c.is_ascii_alphanumeric() {
                    label.push(c.to_ascii_lowercase());
                } else if !label.ends_with('_') && !label.is_empty() {
                    label.push('_');
                }
            }
            label.trim_end_matches('_').to_owned()
        }
    }
}

fn check_entry(g: &RawGroup) -> Result<(), CatalogError> {
    if !is_id(&g.id) {
        return Err(CatalogError::Entry {
            id: g.id.clone(),
            reason: "id must be 32 lowercase hex characters".into(),
        });
    }
    if g.name.trim().is_empty() {
        return Err(CatalogError::Entry {
            id: g.id.clone(),
            reason: "name must not be empty".into(),
        });
    }
    if g.catalog != "account_member" && g.catalog != "api_token" {
        return Err(CatalogError::Entry {
            id: g.id.clone(),
            reason: "catalog must be `account_member` or `api_token`".into(),
        });
    }
    Ok(())
}

impl Catalog {
    /// The built-in catalog.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::load(None)
    }

    /// The built-in catalog, extended or replaced by an operator file's contents.
    pub fn load(operator_file: Option<&str>) -> Result<Self, CatalogError> {
        Self::load_layers(&operator_file.into_iter().collect::<Vec<_>>())
    }

    /// The built-in catalog with operator files applied in order (each extends or replaces
    /// what the ones before it made): `--catalog`, then a fixtures file's `catalog`.
    pub fn load_layers(operator_files: &[&str]) -> Result<Self, CatalogError> {
        let mut groups: Vec<RawGroup> = serde_json::from_str(BUILTIN_GROUPS)?;
        let mut roles: Vec<RawRole> = serde_json::from_str(BUILTIN_ROLES)?;
        let raw_keys: RawKeys = serde_json::from_str(BUILTIN_KEYS)?;
        let mut grants: HashMap<String, Vec<String>> = raw_keys
            .grants
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        for text in operator_files {
            let file: OperatorFile = serde_json::from_str(text)?;
            for (name, keys) in file.grants {
                grants.insert(name.to_lowercase(), keys);
            }
            for g in &file.permission_groups {
                check_entry(g)?;
            }
            for r in file.roles {
                if !is_id(&r.id) || r.name.trim().is_empty() {
                    return Err(CatalogError::Entry {
                        id: r.id.clone(),
                        reason: "a role needs an id of 32 lowercase hex characters and a name"
                            .into(),
                    });
                }
                roles.retain(|old| old.id != r.id);
                roles.push(r);
            }
            match file.mode.as_deref().unwrap_or("extend") {
                "extend" => {
                    for g in file.permission_groups {
                        groups.retain(|old| !(old.id == g.id && old.catalog == g.catalog));
                        groups.push(g);
                    }
                }
                "replace" => groups = file.permission_groups,
                other => {
                    return Err(CatalogError::Entry {
                        id: "mode".into(),
                        reason: format!("unknown mode `{other}`, expected `extend` or `replace`"),
                    })
                }
            }
        }
        let mut member_groups = Vec::new();
        let mut token_groups = Vec::new();
        for g in groups {
            check_entry(&g)?;
            let description = g.description.unwrap_or_default();
            if g.catalog == "account_member" {
                member_groups.push(PermissionGroup {
                    id: g.id,
                    name: g.name,
                    label: g.label,
                    scopes: g.scopes,
                    description,
                    local: false,
                });
            } else {
                token_groups.push(TokenPermissionGroup {
                    id: g.id,
                    name: g.name,
                    scopes: g.scopes,
                    description,
                });
            }
        }
        // Core roles with no public permission-group id become local permission groups.
        for role in &roles {
            let taken = member_groups
                .iter()
                .any(|g| g.name.eq_ignore_ascii_case(&role.name));
            if !taken {
                member_groups.push(PermissionGroup {
                    id: derived_group_id(&role.name),
                    name: role.name.clone(),
                    label: Some(derived_label(&role.name)),
                    scopes: vec![SCOPE_ACCOUNT.to_owned()],
                    description: role.description.clone().unwrap_or_default(),
                    local: true,
                });
            }
        }
        member_groups.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        token_groups.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        let roles: Vec<Role> = roles
            .into_iter()
            .map(|r| Role {
                id: r.id,
                name: r.name,
                description: r.description.unwrap_or_default(),
            })
            .collect();
        let index = |ids: Vec<&String>| -> HashMap<String, usize> {
            ids.into_iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect()
        };
        Ok(Self {
            grants,
            keys: raw_keys.keys,
            member_by_id: index(member_groups.iter().map(|g| &g.id).collect()),
            token_by_id: index(token_groups.iter().map(|g| &g.id).collect()),
            role_by_id: index(roles.iter().map(|r| &r.id).collect()),
            member_groups,
            token_groups,
            roles,
        })
    }

    /// Member permission groups, sorted by name (case-insensitive) then id.
    pub fn member_groups(&self) -> &[PermissionGroup] {
        &self.member_groups
    }

    /// Token permission groups, sorted by name then id.
    pub fn token_groups(&self) -> &[TokenPermissionGroup] {
        &self.token_groups
    }

    /// The permission keys a group grants (by name; empty when it grants nothing Portcullis
    /// decides).
    pub fn grants(&self, group_name: &str) -> &[String] {
        self.grants
            .get(&group_name.to_lowercase())
            .map_or(&[][..], Vec::as_slice)
    }

    /// Whether the group (or legacy role) named `group_name` grants `key` (`*` grants every
    /// key, `prefix.*` every key under the prefix).
    pub fn group_grants(&self, group_name: &str, key: &str) -> bool {
        self.grants(group_name).iter().any(|g| {
            g == "*"
                || g == key
                || g.strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with('.') && key.starts_with(prefix))
        })
    }

    /// Whether `key` is a permission key Portcullis decides.
    pub fn is_permission_key(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// Every permission key Portcullis decides, sorted.
    pub fn permission_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// Legacy roles, in file order.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// A member permission group by id.
    pub fn member_group(&self, id: &str) -> Option<&PermissionGroup> {
        self.member_by_id.get(id).map(|&i| &self.member_groups[i])
    }

    /// A token permission group by id.
    pub fn token_group(&self, id: &str) -> Option<&TokenPermissionGroup> {
        self.token_by_id.get(id).map(|&i| &self.token_groups[i])
    }

    /// A legacy role by id.
    pub fn role(&self, id: &str) -> Option<&Role> {
        self.role_by_id.get(id).map(|&i| &self.roles[i])
    }

    /// The legacy Super Administrator role.
    pub fn super_admin_role(&self) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == SUPER_ADMIN_ROLE)
    }

    /// A permission group usable in a member or user-group policy: a member group, or a token
    /// group (Cloudflare's own examples use token-group ids in member policies). Returns
    /// `(name, scope, as a member group)`.
    pub fn policy_group(&self, id: &str) -> Option<PermissionGroup> {
        if let Some(g) = self.member_group(id) {
            return Some(g.clone());
        }
        self.token_group(id).map(|t| PermissionGroup {
            id: t.id.clone(),
            name: t.name.clone(),
            label: None,
            scopes: t.scopes.clone(),
            description: t.description.clone(),
            local: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog() {
        let c = Catalog::builtin().unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(c.token_groups().len(), 311);
        // 18 shipped member groups plus 36 legacy roles without a public group id.
        assert_eq!(c.member_groups().len(), 54);
        let sa = derived_group_id(SUPER_ADMIN_ROLE);
        let g = c.member_group(&sa).unwrap_or_else(|| unreachable!());
        assert_eq!(g.name, SUPER_ADMIN_ROLE);
        assert_eq!(g.label.as_deref(), Some("super_admin"));
        assert!(g.local);
        assert!(c.role("33666b9c79b9a5273fc7344ff42f953d").is_some());
        assert!(c.token_group("c8fed203ed3043cba015a93ad1616f1f").is_some());
        assert!(c.policy_group("c8fed203ed3043cba015a93ad1616f1f").is_some());
        let names: Vec<String> = c
            .member_groups()
            .iter()
            .map(|g| g.name.to_lowercase())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn operator_file() {
        let file = r#"{"mode":"extend","permission_groups":[
            {"id":"00000000000000000000000000000001","name":"Custom","scopes":["com.cloudflare.api.account"],
             "label":"custom","description":"d","catalog":"account_member"}]}"#;
        let c = Catalog::load(Some(file)).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(c.member_groups().len(), 55);
        let replace = file.replace("extend", "replace");
        let c = Catalog::load(Some(&replace)).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(c.token_groups().len(), 0);
        assert!(c.member_group("00000000000000000000000000000001").is_some());
        assert!(Catalog::load(Some(
            r#"{"permission_groups":[{"id":"x","name":"a","catalog":"api_token"}]}"#
        ))
        .is_err());
    }
}
