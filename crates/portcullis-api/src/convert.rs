//! Explicit conversions between domain types and wire types.

use portcullis_core::catalog::{Catalog, PermissionGroup, Role};
use portcullis_core::model::{self, Access, ApiToken, Grants, Member, TokenStatus};
use portcullis_core::service::memberships::MembershipView;
use portcullis_core::service::policies::{Expanded, ExpandedPolicy, PolicyDraft, ResourceGroupRef};
use portcullis_core::service::resource_groups::ScopeDraft;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use portcullis_core::service::tokens::{ConditionDraft, TokenPolicyDraft};
use portcullis_core::time::Timestamp;
use portcullis_wire::body as w;

/// Wire access from the domain's.
pub fn access(a: Access) -> w::Access {
    match a {
        Access::Allow => w::Access::Allow,
        Access::Deny => w::Access::Deny,
    }
}

/// Domain access from the wire's.
pub fn access_in(a: w::Access) -> Access {
    match a {
        w::Access::Allow => Access::Allow,
        w::Access::Deny => Access::Deny,
    }
}

/// A member permission group.
pub fn permission_group(g: &PermissionGroup) -> w::PermissionGroup {
    w::PermissionGroup {
        id: g.id.clone(),
        name: g.name.clone(),
        meta: permission_group_meta(g),
    }
}

/// `meta` of a permission group.
pub fn permission_group_meta(g: &PermissionGroup) -> w::PermissionGroupMeta {
    w::PermissionGroupMeta {
        key: "label".into(),
        value: g.label.clone(),
        label: g.label.clone(),
        scopes: g.scope().to_owned(),
        description: g.description.clone(),
        editable: "false".into(),
        local: g.local.then(|| "true".to_owned()),
    }
}

/// A resource group, its scope in the client's shape.
pub fn resource_group(g: &model::ResourceGroup, shape: w::ScopeShape) -> w::ResourceGroup {
    w::ResourceGroup {
        id: g.id.to_string(),
        name: g.name.clone(),
        scope: shape.show(w::Scope {
            key: g.scope_key.clone(),
            objects: g
                .objects
                .iter()
                .map(|k| w::ScopeObject { key: k.clone() })
                .collect(),
        }),
        meta: w::KeyValueMeta {
            key: "editable".into(),
            value: "true".into(),
        },
    }
}

/// An expanded member or user-group policy.
pub fn policy(p: &ExpandedPolicy, shape: w::ScopeShape) -> w::Policy {
    w::Policy {
        id: p.policy.id.to_string(),
        access: access(p.policy.access),
        permission_groups: p
            .permission_groups
            .iter()
            .map(|g| w::PolicyPermissionGroup {
                id: g.id.clone(),
                name: g.name.clone(),
                meta: permission_group_meta(g),
            })
            .collect(),
        resource_groups: p
            .resource_groups
            .iter()
            .map(|g| resource_group(g, shape))
            .collect(),
    }
}

/// Policy drafts from a request: each resource group is `{id}` or an inline `{scope}`.
pub fn policy_drafts(input: &[w::PolicyInput]) -> ApiResult<Vec<PolicyDraft>> {
    input
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let resource_groups = p
                .resource_groups
                .iter()
                .enumerate()
                .map(|(j, r)| {
                    let at = format!("/policies/{i}/resource_groups/{j}");
                    match (&r.id, &r.scope) {
                        (Some(id), None) => Ok(ResourceGroupRef::Id(id.clone())),
                        (None, Some(scope)) => Ok(ResourceGroupRef::Inline(scope_draft(
                            scope,
                            &format!("{at}/scope"),
                        )?)),
                        (Some(_), Some(_)) => Err(ApiError::invalid(
                            &at,
                            format!("{at}: give either `id` (an existing resource group) or `scope` (a new one), not both"),
                        )),
                        (None, None) => Err(ApiError::invalid(
                            format!("{at}/id"),
                            format!("{at}: `id` (an existing resource group) or `scope` (a new one) is required"),
                        )),
                    }
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(PolicyDraft {
                id: p.id.clone(),
                access: access_in(p.access),
                permission_groups: p.permission_groups.iter().map(|r| r.id.clone()).collect(),
                resource_groups,
            })
        })
        .collect()
}

/// Reads a scope given as one object or as a one-element list, at `base` in the body (`/scope`
/// for a resource group, `/policies/N/resource_groups/M/scope` inline in a policy).
pub fn scope_draft(value: &Value, base: &str) -> ApiResult<ScopeDraft> {
    let (pointer, object) = match value {
        Value::Array(items) if items.len() == 1 => (format!("{base}/0"), &items[0]),
        Value::Array(items) => {
            return Err(ApiError::invalid(
                base,
                format!(
                "{base}: give one scope (an object, or a list of exactly one), got a list of {}",
                items.len()
            ),
            ))
        }
        other => (base.to_owned(), other),
    };
    let parsed: w::Scope = parse_json(object.to_string().as_bytes(), "{}").map_err(|mut e| {
        // Re-root pointers under the scope's position.
        for m in &mut e.errors {
            if let Some(src) = &mut m.source {
                src.pointer = format!("{pointer}{}", src.pointer.trim_end_matches('/'));
            }
            m.message = format!("{pointer}{}", m.message.trim_start_matches("body"));
        }
        e
    })?;
    Ok(ScopeDraft {
        pointer,
        key: parsed.key,
        objects: parsed.objects.into_iter().map(|o| o.key).collect(),
    })
}

/// An account.
pub fn account(a: &model::Account) -> w::Account {
    w::Account {
        id: a.id.to_string(),
        name: a.name.clone(),
        account_type: match a.account_type {
            model::AccountType::Standard => w::AccountType::Standard,
            model::AccountType::Enterprise => w::AccountType::Enterprise,
        },
        created_on: a.created_on.to_string(),
        settings: w::AccountSettings {
            enforce_twofactor: a.enforce_twofactor,
            abuse_contact_email: a.abuse_contact_email.clone(),
        },
    }
}

/// Domain account type from the wire's.
pub fn account_type_in(t: w::AccountType) -> model::AccountType {
    match t {
        w::AccountType::Standard => model::AccountType::Standard,
        w::AccountType::Enterprise => model::AccountType::Enterprise,
    }
}

/// The user.
pub fn user(u: &model::User) -> w::User {
    w::User {
        id: u.id.to_string(),
        email: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        country: u.country.clone(),
        telephone: u.telephone.clone(),
        zipcode: u.zipcode.clone(),
        two_factor_authentication_enabled: u.two_factor_enabled,
        two_factor_authentication_locked: false,
        suspended: false,
        operator: u.operator,
        created_on: u.created_on.to_string(),
        modified_on: u.modified_on.to_string(),
    }
}

/// A membership as its user sees it; `rejected` for the answer that declined it.
pub fn membership(
    v: &MembershipView,
    catalog: &Catalog,
    shape: w::ScopeShape,
    rejected: bool,
) -> w::Membership {
    let m = &v.membership.member;
    let roles = match &m.grants {
        Grants::Roles(ids) => ids
            .iter()
            .map(|id| {
                catalog
                    .role(id)
                    .map_or_else(|| id.clone(), |r| r.name.clone())
            })
            .collect(),
        Grants::Policies(_) => Vec::new(),
    };
    let status = match (rejected, m.status) {
        (true, _) => w::MembershipStatus::Rejected,
        (false, model::MemberStatus::Accepted) => w::MembershipStatus::Accepted,
        (false, model::MemberStatus::Pending) => w::MembershipStatus::Pending,
    };
    let (read, write) = v.organization;
    w::Membership {
        id: m.id.to_string(),
        account: account(&v.membership.account),
        api_access_enabled: None,
        permissions: w::MembershipPermissions {
            organization: w::PermissionGrant { read, write },
        },
        roles,
        status,
        policies: v
            .detail
            .as_ref()
            .map(|e| e.policies.iter().map(|p| policy(p, shape)).collect()),
    }
}

/// Domain member status from the wire's.
pub fn member_status_in(s: w::MemberStatus) -> model::MemberStatus {
    match s {
        w::MemberStatus::Accepted => model::MemberStatus::Accepted,
        w::MemberStatus::Pending => model::MemberStatus::Pending,
    }
}

/// A member; `policies` are the member's expanded policies (empty for role members).
pub fn member(e: &Expanded<Member>, catalog: &Catalog, shape: w::ScopeShape) -> w::Member {
    let m = &e.item;
    let roles = match &m.grants {
        Grants::Roles(ids) => ids
            .iter()
            .map(|id| match catalog.role(id) {
                Some(r) => role(r, catalog),
                // A role the catalog no longer has (an operator catalog replaced it) grants
                // nothing; it is shown as what it is.
                None => w::Role {
                    id: id.clone(),
                    name: id.clone(),
                    description: String::new(),
                    permissions: w::RolePermissions {
                        organization: w::PermissionGrant {
                            read: false,
                            write: false,
                        },
                    },
                },
            })
            .collect(),
        Grants::Policies(_) => Vec::new(),
    };
    w::Member {
        id: m.id.to_string(),
        email: m.user.email.clone(),
        status: member_status(m.status),
        user: w::MemberUser {
            id: m.user.id.to_string(),
            email: m.user.email.clone(),
            first_name: m.user.first_name.clone(),
            last_name: m.user.last_name.clone(),
            two_factor_authentication_enabled: m.user.two_factor_enabled,
        },
        roles,
        policies: e.policies.iter().map(|p| policy(p, shape)).collect(),
    }
}

/// A legacy account role, with what it grants of the areas Portcullis decides.
pub fn role(r: &Role, catalog: &Catalog) -> w::Role {
    w::Role {
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        permissions: w::RolePermissions {
            organization: w::PermissionGrant {
                read: catalog.group_grants(&r.name, "#organization:read"),
                write: catalog.group_grants(&r.name, "#organization:edit"),
            },
        },
    }
}

/// Wire token status.
pub fn token_status(s: TokenStatus) -> w::TokenStatus {
    match s {
        TokenStatus::Active => w::TokenStatus::Active,
        TokenStatus::Disabled => w::TokenStatus::Disabled,
        TokenStatus::Expired => w::TokenStatus::Expired,
    }
}

/// A token (never with its value).
pub fn token(t: &ApiToken, catalog: &Catalog, now: Timestamp) -> w::Token {
    let request_ip = (!t.condition.is_empty()).then(|| w::RequestIpCondition {
        allowed: t
            .condition
            .request_ip_in
            .iter()
            .map(ToString::to_string)
            .collect(),
        not_in: t
            .condition
            .request_ip_not_in
            .iter()
            .map(ToString::to_string)
            .collect(),
    });
    w::Token {
        id: t.id.to_string(),
        name: t.name.clone(),
        status: token_status(t.status(now)),
        issued_on: t.issued_on.to_string(),
        modified_on: t.modified_on.to_string(),
        last_used_on: t.last_used_on.map(|x| x.to_string()),
        not_before: t.not_before.map(|x| x.to_string()),
        expires_on: t.expires_on.map(|x| x.to_string()),
        condition: w::TokenCondition { request_ip },
        policies: t
            .policies
            .iter()
            .map(|p| w::TokenPolicy {
                id: Some(p.id.to_string()),
                effect: match p.access {
                    Access::Allow => w::Effect::Allow,
                    Access::Deny => w::Effect::Deny,
                },
                permission_groups: p
                    .permission_groups
                    .iter()
                    .map(|id| w::TokenPolicyPermissionGroup {
                        id: id.clone(),
                        name: catalog.token_group(id).map(|g| g.name.clone()),
                    })
                    .collect(),
                resources: p.resources.clone(),
            })
            .collect(),
    }
}

/// Token policy drafts from a request.
pub fn token_policy_drafts(input: &[w::TokenPolicy]) -> Vec<TokenPolicyDraft> {
    input
        .iter()
        .map(|p| TokenPolicyDraft {
            effect: match p.effect {
                w::Effect::Allow => Access::Allow,
                w::Effect::Deny => Access::Deny,
            },
            permission_groups: p.permission_groups.iter().map(|g| g.id.clone()).collect(),
            resources: p.resources.clone(),
        })
        .collect()
}

/// Condition draft from a request.
pub fn condition_draft(c: &w::TokenCondition) -> ConditionDraft {
    c.request_ip
        .as_ref()
        .map(|ip| ConditionDraft {
            request_ip_in: ip.allowed.clone(),
            request_ip_not_in: ip.not_in.clone(),
        })
        .unwrap_or_default()
}

/// A user group.
pub fn user_group(e: &Expanded<model::UserGroup>, shape: w::ScopeShape) -> w::UserGroup {
    let g = &e.item;
    w::UserGroup {
        id: g.id.to_string(),
        name: g.name.clone(),
        created_on: g.created_on.to_string(),
        modified_on: g.modified_on.to_string(),
        policies: e.policies.iter().map(|p| policy(p, shape)).collect(),
    }
}

/// A member as listed in a user group.
pub fn group_member(m: &model::GroupMember) -> w::GroupMember {
    w::GroupMember {
        id: m.member_id.to_string(),
        email: m.user.email.clone(),
        status: member_status(m.status),
    }
}

/// One member of a user group, in detail.
pub fn group_member_detail(m: &model::GroupMember) -> w::GroupMemberDetail {
    w::GroupMemberDetail {
        id: m.member_id.to_string(),
        email: m.user.email.clone(),
        status: member_status(m.status),
        created_at: m.added_on.to_string(),
        user: w::GroupMemberUser {
            id: m.user.id.to_string(),
            email: m.user.email.clone(),
            first_name: m.user.first_name.clone(),
            last_name: m.user.last_name.clone(),
        },
    }
}

/// Wire member status.
pub fn member_status(s: model::MemberStatus) -> w::MemberStatus {
    match s {
        model::MemberStatus::Accepted => w::MemberStatus::Accepted,
        model::MemberStatus::Pending => w::MemberStatus::Pending,
    }
}

/// An SSO connector.
pub fn sso(c: &model::SsoConnector) -> w::SsoConnector {
    w::SsoConnector {
        id: c.id.to_string(),
        created_on: c.created_on.to_string(),
        updated_on: c.updated_on.to_string(),
        email_domain: c.email_domain.clone(),
        enabled: c.enabled,
        use_fedramp_language: c.use_fedramp_language,
        verification: w::SsoVerification {
            code: c.code.clone(),
            status: match c.status {
                model::SsoStatus::Awaiting => w::SsoStatus::Awaiting,
                model::SsoStatus::Pending => w::SsoStatus::Pending,
                model::SsoStatus::Verified => w::SsoStatus::Verified,
                model::SsoStatus::Failed => w::SsoStatus::Failed,
            },
        },
    }
}
