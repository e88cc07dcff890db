//! Resource groups: named scopes inside one account.

use std::collections::HashSet;

use crate::error::{CoreError, CoreResult, Incompatible, Named, ScopeUse};
use crate::ids::{is_id, AccountId, ResourceGroupId};
use crate::model::{PolicyHolder, ResourceGroup, ResourceGroupDeletion, ResourceGroupUpdate};
use crate::service::access::Authorized;
use crate::service::{check_name, Portcullis};
use crate::time::Timestamp;

/// Longest resource-group name.
pub const RESOURCE_GROUP_NAME_MAX: usize = 120;
/// Most objects in one scope.
pub const SCOPE_OBJECTS_MAX: usize = 1000;

/// A scope as a request gives it; `pointer` is where it sits in the body (`/scope` or
/// `/scope/0` when it came as a one-element list).
#[derive(Debug, Clone)]
pub struct ScopeDraft {
    /// JSON pointer of the scope in the request.
    pub pointer: String,
    /// `com.cloudflare.api.account.<account id>`.
    pub key: String,
    /// Object keys.
    pub objects: Vec<String>,
}

/// Whether `key` is `*` or `com.cloudflare.api.<type>.<32 hex or *>`.
fn object_key_ok(key: &str) -> bool {
    if key == "*" {
        return true;
    }
    let Some(rest) = key.strip_prefix("com.cloudflare.api.") else {
        return false;
    };
    let Some((kind, last)) = rest.rsplit_once('.') else {
        return false;
    };
    !kind.is_empty()
        && kind
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        && (last == "*" || is_id(last))
}

pub(crate) fn check_scope(
    account: &AccountId,
    scope: &ScopeDraft,
) -> CoreResult<(String, Vec<String>)> {
    let base = &scope.pointer;
    let expected = format!("com.cloudflare.api.account.{account}");
    if scope.key != expected {
        let p = format!("{base}/key");
        return Err(CoreError::invalid(
            &p,
            format!(
                "{p}: `{}` is not this account's scope key; expected `{expected}`",
                scope.key
            ),
        ));
    }
    let n = scope.objects.len();
    if n == 0 || n > SCOPE_OBJECTS_MAX {
        let p = format!("{base}/objects");
        return Err(CoreError::invalid(
            &p,
            format!("{p}: must hold 1 to {SCOPE_OBJECTS_MAX} objects, got {n}"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, key) in scope.objects.iter().enumerate() {
        let p = format!("{base}/objects/{i}/key");
        if !object_key_ok(key) {
            return Err(CoreError::invalid(
                &p,
                format!("{p}: `{key}` is not a resource key; expected `*` or com.cloudflare.api.<type>.<id or *> (e.g. com.cloudflare.api.account.zone.<zone id>)"),
            ));
        }
        if let Some(other) = key.strip_prefix("com.cloudflare.api.account.") {
            if is_id(other) && other != account.as_str() {
                return Err(CoreError::invalid(
                    &p,
                    format!("{p}: `{key}` names another account"),
                ));
            }
        }
        if !seen.insert(key.as_str()) {
            return Err(CoreError::invalid(
                &p,
                format!("{p}: `{key}` is listed twice"),
            ));
        }
    }
    Ok((scope.key.clone(), scope.objects.clone()))
}

fn holders(list: &[PolicyHolder]) -> String {
    list.iter()
        .map(|h| match h {
            PolicyHolder::Member(id, email) => format!("member {email} ({id})"),
            PolicyHolder::UserGroup(id, name) => format!("user group `{name}` ({id})"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Portcullis {
    /// Lists resource groups (whole list; optional `id` and exact `name` filters).
    pub async fn list_resource_groups(
        &self,
        auth: &Authorized,
        id: Option<&str>,
        name: Option<&str>,
    ) -> CoreResult<Vec<ResourceGroup>> {
        let account = auth.account();
        self.store().list_resource_groups(account, id, name).await
    }

    /// One resource group.
    pub async fn get_resource_group(
        &self,
        auth: &Authorized,
        id: &ResourceGroupId,
    ) -> CoreResult<ResourceGroup> {
        let account = auth.account();
        self.find_resource_group(account, id).await
    }

    async fn find_resource_group(
        &self,
        account: &AccountId,
        id: &ResourceGroupId,
    ) -> CoreResult<ResourceGroup> {
        self.store()
            .get_resource_groups(account, std::slice::from_ref(id))
            .await?
            .pop()
            .ok_or_else(|| CoreError::not_found("resource group", id.as_str()))
    }

    /// Creates a resource group.
    pub async fn create_resource_group(
        &self,
        auth: &Authorized,
        name: &str,
        scope: &ScopeDraft,
    ) -> CoreResult<ResourceGroup> {
        let account = auth.account();
        let name = check_name("/name", name, RESOURCE_GROUP_NAME_MAX)?;
        let (scope_key, objects) = check_scope(account, scope)?;
        let now = Timestamp::now();
        let group = ResourceGroup {
            id: ResourceGroupId::random(),
            account_id: account.clone(),
            name,
            scope_key,
            objects,
            created_on: now,
            modified_on: now,
        };
        self.store()
            .create_resource_group(&group, &auth.audit())
            .await?;
        Ok(group)
    }

    /// Updates a resource group (absent fields unchanged).
    pub async fn update_resource_group(
        &self,
        auth: &Authorized,
        id: &ResourceGroupId,
        name: Option<&str>,
        scope: Option<&ScopeDraft>,
    ) -> CoreResult<ResourceGroup> {
        let account = auth.account();
        let mut group = self.find_resource_group(account, id).await?;
        if let Some(name) = name {
            group.name = check_name("/name", name, RESOURCE_GROUP_NAME_MAX)?;
        }
        if let Some(scope) = scope {
            let (key, objects) = check_scope(account, scope)?;
            group.scope_key = key;
            group.objects = objects;
        }
        if name.is_some() || scope.is_some() {
            group.modified_on = Timestamp::now();
            // New objects must still fit every policy that uses the group.
            let incompatible = if scope.is_some() {
                self.groups_incompatible_with(&group)
            } else {
                Vec::new()
            };
            match self
                .store()
                .update_resource_group(&group, &incompatible, &auth.audit())
                .await?
            {
                ResourceGroupUpdate::Updated => {}
                ResourceGroupUpdate::NotFound => {
                    return Err(CoreError::not_found("resource group", id.as_str()))
                }
                ResourceGroupUpdate::Incompatible(uses) => {
                    let uses = uses
                        .iter()
                        .map(|(holder, pg)| ScopeUse {
                            holder: holders(std::slice::from_ref(holder)),
                            permission_group: Named {
                                name: self
                                    .catalog()
                                    .policy_group(pg)
                                    .map_or_else(|| pg.clone(), |g| g.name),
                                id: pg.clone(),
                            },
                        })
                        .collect();
                    return Err(Incompatible::ScopeInUse {
                        group: id.clone(),
                        uses,
                    }
                    .into());
                }
            }
        }
        Ok(group)
    }

    /// Deletes a resource group; refused while a policy uses it.
    pub async fn delete_resource_group(
        &self,
        auth: &Authorized,
        id: &ResourceGroupId,
    ) -> CoreResult<()> {
        let account = auth.account();
        match self.store().delete_resource_group(account, id, &auth.audit()).await? {
            ResourceGroupDeletion::Deleted => Ok(()),
            ResourceGroupDeletion::NotFound => Err(CoreError::not_found("resource group", id.as_str())),
            ResourceGroupDeletion::InUse(users) => Err(CoreError::Invalid {
                pointer: None,
                message: format!(
                    "resource group {id} is used by policies of {}; remove it from those policies first",
                    holders(&users)
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys() {
        for ok in [
            "*",
            "com.cloudflare.api.account.zone.23f8d65290b24279ba6f44721b3eaad5",
            "com.cloudflare.api.account.zone.*",
            "com.cloudflare.api.account.eb78d65290b24279ba6f44721b3ea3c4",
        ] {
            assert!(object_key_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "zone",
            "com.cloudflare.api.account.zone.",
            "com.cloudflare.api.account.zone.ABC",
            "com.cloudflare.api..x.*",
            "org.x.y.*",
        ] {
            assert!(!object_key_ok(bad), "{bad}");
        }
    }
}
