//! Member and user-group policies: one validation and one expansion for both.

use std::collections::HashSet;

use crate::catalog::{PermissionGroup, SCOPE_ACCOUNT, SCOPE_USER, SCOPE_ZONE};
use crate::error::{CoreError, CoreResult, Incompatible, Named};
use crate::ids::{AccountId, PolicyId, ResourceGroupId};
use crate::model::{Access, Grants, Member, Policy, ResourceGroup, UserGroup};
use crate::page::Page;
use crate::service::resource_groups::{check_scope, ScopeDraft};
use crate::service::Portcullis;
use crate::time::Timestamp;

/// A policy as a request gives it.
#[derive(Debug, Clone)]
pub struct PolicyDraft {
    /// Existing policy id to keep (updates).
    pub id: Option<String>,
    /// Allow or deny.
    pub access: Access,
    /// Permission-group ids.
    pub permission_groups: Vec<String>,
    /// Resource groups: existing ones by id, or new ones by scope.
    pub resource_groups: Vec<ResourceGroupRef>,
}

/// A resource group a policy names.
#[derive(Debug, Clone)]
pub enum ResourceGroupRef {
    /// An existing resource group of the account.
    Id(String),
    /// A scope given inline: Cloudflare creates an unnamed resource group for it (see
    /// [`inline_group_name`]); so does Portcullis, in the same transaction as the policy.
    Inline(ScopeDraft),
}

/// Validated policies and the resource groups their inline scopes create (to be inserted in
/// the same transaction as the policies).
#[derive(Debug, Clone, Default)]
pub struct ValidPolicies {
    /// The policies, ids assigned.
    pub policies: Vec<Policy>,
    /// New resource groups for inline scopes.
    pub new_groups: Vec<ResourceGroup>,
}

/// Most characters of a generated resource-group name.
const INLINE_NAME_MAX: usize = 120;

/// The name of a resource group made for an inline scope: Cloudflare's are unnamed (its
/// dashboard shows "Individual Domains"); Portcullis names them after their objects, so a list
/// of resource groups shows what each covers: `Inline scope: <key>, <key>…`, cut at 120
/// characters.
pub fn inline_group_name(objects: &[String]) -> String {
    let mut name = format!("Inline scope: {}", objects.join(", "));
    if name.chars().count() > INLINE_NAME_MAX {
        name = name.chars().take(INLINE_NAME_MAX - 1).collect::<String>() + "…";
    }
    name
}

/// A policy with its groups expanded for responses.
#[derive(Debug, Clone)]
pub struct ExpandedPolicy {
    /// The policy.
    pub policy: Policy,
    /// Its permission groups, in policy order.
    pub permission_groups: Vec<PermissionGroup>,
    /// Its resource groups, in policy order.
    pub resource_groups: Vec<ResourceGroup>,
}

/// A member or user group as responses show it: with its policies expanded.
#[derive(Debug, Clone)]
pub struct Expanded<T> {
    /// The member or user group.
    pub item: T,
    /// Its own policies, expanded (none for a member that holds roles).
    pub policies: Vec<ExpandedPolicy>,
}

/// What holds policies of its own.
pub(crate) trait HoldsPolicies {
    fn own_policies(&self) -> &[Policy];
}

impl HoldsPolicies for UserGroup {
    fn own_policies(&self) -> &[Policy] {
        &self.policies
    }
}

impl HoldsPolicies for Member {
    fn own_policies(&self) -> &[Policy] {
        match &self.grants {
            Grants::Policies(p) => p,
            Grants::Roles(_) => &[],
        }
    }
}

/// Whether a resource group can carry a permission group of scope `scope`.
pub(crate) fn scope_compatible(scope: &str, group: &ResourceGroup) -> bool {
    let covers_account = |o: &String| o == "*" || *o == group.scope_key;
    match scope {
        SCOPE_USER => false,
        SCOPE_ZONE => group
            .objects
            .iter()
            .all(|o| o == "*" || o.starts_with("com.cloudflare.api.account.zone.")),
        s if s == SCOPE_ACCOUNT || s.is_empty() => group.objects.iter().any(covers_account),
        other => group
            .objects
            .iter()
            .all(|o| o == "*" || o.starts_with(&format!("{other}."))),
    }
}

impl Portcullis {
    /// Validates policy drafts for `account` (permission groups exist in the catalog, resource
    /// groups in the account, scopes fit) and assigns ids. `existing` are the policy ids the
    /// owner has now: a draft may keep one of them by naming it; any other id is refused.
    pub async fn validate_policies(
        &self,
        account: &AccountId,
        drafts: &[PolicyDraft],
        existing: &[PolicyId],
        pointer: &str,
    ) -> CoreResult<ValidPolicies> {
        let mut wanted: Vec<ResourceGroupId> = Vec::new();
        let mut new_groups: Vec<ResourceGroup> = Vec::new();
        let now = Timestamp::now();
        for (i, d) in drafts.iter().enumerate() {
            for (j, rg) in d.resource_groups.iter().enumerate() {
                let rg = match rg {
                    ResourceGroupRef::Id(id) => id,
                    ResourceGroupRef::Inline(scope) => {
                        let (scope_key, objects) = check_scope(account, scope)?;
                        new_groups.push(ResourceGroup {
                            id: ResourceGroupId::random(),
                            account_id: account.clone(),
                            name: inline_group_name(&objects),
                            scope_key,
                            objects,
                            created_on: now,
                            modified_on: now,
                        });
                        continue;
                    }
                };
                let p = format!("{pointer}/{i}/resource_groups/{j}/id");
                let id = ResourceGroupId::parse(rg).ok_or_else(|| {
                    CoreError::invalid(
                        &p,
                        format!(
                            "{p}: `{rg}` is not a resource group id (32 lowercase hex characters)"
                        ),
                    )
                })?;
                wanted.push(id);
            }
        }
        let found = self.store().get_resource_groups(account, &wanted).await?;
        let mut seen_ids: HashSet<String> = HashSet::new();
        let mut out = Vec::with_capacity(drafts.len());
        let mut inline = 0usize;
        for (i, d) in drafts.iter().enumerate() {
            let base = format!("{pointer}/{i}");
            let id = match &d.id {
                Some(id) => {
                    let p = format!("{base}/id");
                    let known = existing.iter().find(|e| e.as_str() == id).ok_or_else(|| {
                        CoreError::invalid(&p, format!("{p}: policy `{id}` is not one of this owner's policies; omit `id` to add a new policy"))
                    })?;
                    if !seen_ids.insert(id.clone()) {
                        return Err(CoreError::invalid(
                            &p,
                            format!("{p}: policy `{id}` is given twice"),
                        ));
                    }
                    known.clone()
                }
                None => PolicyId::random(),
            };
            if d.permission_groups.is_empty() {
                let p = format!("{base}/permission_groups");
                return Err(CoreError::invalid(
                    &p,
                    format!("{p}: at least one permission group is required"),
                ));
            }
            if d.resource_groups.is_empty() {
                let p = format!("{base}/resource_groups");
                return Err(CoreError::invalid(
                    &p,
                    format!("{p}: at least one resource group is required"),
                ));
            }
            let mut groups = Vec::new();
            for (j, pg) in d.permission_groups.iter().enumerate() {
                let p = format!("{base}/permission_groups/{j}/id");
                let group = self.catalog().policy_group(pg).ok_or_else(|| {
                    CoreError::invalid(&p, format!("{p}: permission group `{pg}` does not exist"))
                })?;
                if groups.iter().any(|g: &PermissionGroup| g.id == group.id) {
                    return Err(CoreError::invalid(
                        &p,
                        format!("{p}: permission group `{pg}` is listed twice"),
                    ));
                }
                groups.push(group);
            }
            let mut rgs: Vec<&ResourceGroup> = Vec::new();
            for (j, rg) in d.resource_groups.iter().enumerate() {
                let rg = match rg {
                    ResourceGroupRef::Id(id) => id,
                    ResourceGroupRef::Inline(_) => {
                        // The inline scopes' groups, in the order they were made above.
                        let made = new_groups.get(inline).ok_or_else(|| {
                            CoreError::unavailable("an inline resource group went missing")
                        })?;
                        inline += 1;
                        rgs.push(made);
                        continue;
                    }
                };
                let p = format!("{base}/resource_groups/{j}/id");
                let group = found.iter().find(|g| g.id.as_str() == rg).ok_or_else(|| {
                    CoreError::invalid(
                        &p,
                        format!("{p}: resource group `{rg}` does not exist in account {account}"),
                    )
                })?;
                if rgs.iter().any(|g| g.id == group.id) {
                    return Err(CoreError::invalid(
                        &p,
                        format!("{p}: resource group `{rg}` is listed twice"),
                    ));
                }
                rgs.push(group);
            }
            for g in &groups {
                for rg in &rgs {
                    if !scope_compatible(g.scope(), rg) {
                        return Err(Incompatible::InPolicy {
                            pointer: base.clone(),
                            permission_group: Named {
                                name: g.name.clone(),
                                id: g.id.clone(),
                            },
                            scope: g.scope().to_owned(),
                            resource_group: Named {
                                name: rg.name.clone(),
                                id: rg.id.to_string(),
                            },
                        }
                        .into());
                    }
                }
            }
            out.push(Policy {
                id,
                access: d.access,
                permission_groups: groups.into_iter().map(|g| g.id).collect(),
                resource_groups: rgs.into_iter().map(|g| g.id.clone()).collect(),
            });
        }
        Ok(ValidPolicies {
            policies: out,
            new_groups,
        })
    }

    /// Ids of the catalog's permission groups (member and token groups) that a policy could not
    /// use with `group` as it is now.
    pub(crate) fn groups_incompatible_with(&self, group: &ResourceGroup) -> Vec<String> {
        self.catalog()
            .member_groups()
            .iter()
            .map(|g| (g.id.as_str(), g.scope()))
            .chain(
                self.catalog()
                    .token_groups()
                    .iter()
                    .map(|t| (t.id.as_str(), t.scopes.first().map_or("", String::as_str))),
            )
            .filter(|(_, scope)| !scope_compatible(scope, group))
            .map(|(id, _)| id.to_owned())
            .collect()
    }

    /// Expands the policies of several holders for responses (permission groups from the
    /// catalog, resource groups from the store): the resource groups of all of them are read in
    /// one query, so a listed page costs one more query, not one per item. A catalog group that
    /// an operator removed is shown with its id as name.
    pub(crate) async fn expand_all<T: HoldsPolicies>(
        &self,
        account: &AccountId,
        items: Vec<T>,
    ) -> CoreResult<Vec<Expanded<T>>> {
        let ids: Vec<ResourceGroupId> = items
            .iter()
            .flat_map(|i| i.own_policies().iter())
            .flat_map(|p| p.resource_groups.iter().cloned())
            .collect();
        let groups = if ids.is_empty() {
            Vec::new()
        } else {
            self.store().get_resource_groups(account, &ids).await?
        };
        Ok(items
            .into_iter()
            .map(|item| Expanded {
                policies: self.expand_with(item.own_policies(), &groups),
                item,
            })
            .collect())
    }

    /// [`Self::expand_all`] for one holder.
    pub(crate) async fn expand_one<T: HoldsPolicies>(
        &self,
        account: &AccountId,
        item: T,
    ) -> CoreResult<Expanded<T>> {
        let mut all = self.expand_all(account, vec![item]).await?;
        all.pop()
            .ok_or_else(|| CoreError::unavailable("an expanded item went missing"))
    }

    /// [`Self::expand_all`] for a page.
    pub(crate) async fn expand_page<T: HoldsPolicies>(
        &self,
        account: &AccountId,
        page: Page<T>,
    ) -> CoreResult<Page<Expanded<T>>> {
        Ok(Page {
            items: self.expand_all(account, page.items).await?,
            total: page.total,
            request: page.request,
        })
    }

    fn expand_with(&self, policies: &[Policy], groups: &[ResourceGroup]) -> Vec<ExpandedPolicy> {
        policies
            .iter()
            .map(|p| ExpandedPolicy {
                policy: p.clone(),
                permission_groups: p
                    .permission_groups
                    .iter()
                    .map(|id| {
                        self.catalog().policy_group(id).unwrap_or(PermissionGroup {
                            id: id.clone(),
                            name: id.clone(),
                            label: None,
                            scopes: Vec::new(),
                            description: String::new(),
                            local: false,
                        })
                    })
                    .collect(),
                resource_groups: p
                    .resource_groups
                    .iter()
                    .filter_map(|id| groups.iter().find(|g| &g.id == id).cloned())
                    .collect(),
            })
            .collect()
    }
}
