//! The decision API (a Portcullis extension): effective policies and authorization checks.

use portcullis_core::ids::{MemberId, TokenId};
use portcullis_core::service::authorize::{Check, PolicySource, Subject};
use portcullis_wire::body as w;

use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Cx, EmptyBody};
use crate::handlers::{ok, Reply};
use crate::path::{ApiPath, MemberPath};

impl EmptyBody for w::AuthorizeRequest {}

fn source(s: &PolicySource) -> w::PolicySourceOut {
    let mut out = w::PolicySourceOut {
        kind: String::new(),
        user_group: None,
        role: None,
        token_id: None,
    };
    match s {
        PolicySource::Member => out.kind = "member".into(),
        PolicySource::UserGroup { id, name } => {
            out.kind = "user_group".into();
            out.user_group = Some(w::IdName {
                id: id.to_string(),
                name: name.clone(),
            });
        }
        PolicySource::Role { id, name } => {
            out.kind = "role".into();
            out.role = Some(w::IdName {
                id: id.clone(),
                name: name.clone(),
            });
        }
        PolicySource::Token { id } => {
            out.kind = "token".into();
            out.token_id = Some(id.to_string());
        }
    }
    out
}

fn id_names(v: &[(String, String)]) -> Vec<w::IdName> {
    v.iter()
        .map(|(id, name)| w::IdName {
            id: id.clone(),
            name: name.clone(),
        })
        .collect()
}

/// `GET /accounts/{account_id}/members/{member_id}/effective_policies`.
pub async fn effective_policies(
    cx: Cx,
    ApiPath(MemberPath { member_id: member }): ApiPath<MemberPath>,
) -> Reply<w::EffectivePolicies> {
    let (m, policies) = cx.app.effective_policies(&cx.pass, &member).await?;
    Ok(ok(w::EffectivePolicies {
        member_id: m.id.to_string(),
        email: m.user.email.clone(),
        status: convert::member_status(m.status),
        policies: policies
            .iter()
            .map(|e| w::EffectivePolicy {
                id: e.id.clone(),
                access: convert::access(e.access),
                source: source(&e.source),
                permission_groups: id_names(&e.permission_groups),
                resource_groups: id_names(&e.resource_groups),
                permissions: e.permissions.clone(),
                resources: e.resources.clone(),
            })
            .collect(),
    }))
}

/// `POST /accounts/{account_id}/iam/authorize`.
pub async fn authorize(
    cx: Cx,
    ApiJson(body): ApiJson<w::AuthorizeRequest>,
) -> Reply<Vec<w::AuthorizeDecision>> {
    let parse_err = |field: &str, v: &str| {
        ApiError::invalid(
            format!("/principal/{field}"),
            format!("/principal/{field}: `{v}` is not an id (32 lowercase hex characters)"),
        )
    };
    let subject = match (&body.principal.member_id, &body.principal.token_id) {
        (Some(m), None) => {
            Subject::Member(MemberId::parse(m).ok_or_else(|| parse_err("member_id", m))?)
        }
        (None, Some(t)) => {
            Subject::Token(TokenId::parse(t).ok_or_else(|| parse_err("token_id", t))?)
        }
        _ => {
            return Err(ApiError::invalid(
                "/principal",
                "/principal: give exactly one of `member_id` or `token_id`",
            ));
        }
    };
    let checks: Vec<Check> = body
        .checks
        .into_iter()
        .map(|c| Check {
            permission: c.permission,
            resource: c.resource,
        })
        .collect();
    let results = cx.app.authorize(&cx.pass, &subject, &checks).await?;
    Ok(ok(results
        .into_iter()
        .map(|r| w::AuthorizeDecision {
            permission: r.permission,
            resource: r.resource,
            allowed: r.allowed,
            decided_by: r
                .decided_by
                .iter()
                .map(|d| w::DecidedBy {
                    policy_id: d.policy_id.clone(),
                    access: convert::access(d.access),
                    source: source(&d.source),
                })
                .collect(),
            reason: r.reason,
        })
        .collect()))
}
