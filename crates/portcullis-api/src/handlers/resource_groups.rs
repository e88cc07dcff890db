//! Resource groups.

use portcullis_core::service::resource_groups::ScopeDraft;
use portcullis_wire::body as w;
use serde_json::Value;

use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json, ApiJson, Cx, EmptyBody};
use crate::handlers::{deleted, reply, Reply};
use crate::path::{ApiPath, ResourceGroupPath};
use crate::query::{query_params, ApiQuery};

impl EmptyBody for w::ResourceGroupCreate {}
impl EmptyBody for w::ResourceGroupUpdate {}

/// Reads `scope` given as one object or as a one-element list.
fn scope(value: &Value) -> ApiResult<ScopeDraft> {
    let (pointer, object) = match value {
        Value::Array(items) if items.len() == 1 => ("/scope/0", &items[0]),
        Value::Array(items) => {
            return Err(ApiError::invalid(
                "/scope",
                format!(
                "/scope: give one scope (an object, or a list of exactly one), got a list of {}",
                items.len()
            ),
            ))
        }
        other => ("/scope", other),
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
        pointer: pointer.to_owned(),
        key: parsed.key,
        objects: parsed.objects.into_iter().map(|o| o.key).collect(),
    })
}

query_params!(
    /// `GET /accounts/{account_id}/iam/resource_groups`.
    ListQuery {
        id: Option<String> = text("id", "Only the group with this id."),
        name: Option<String> = text("name", "Only groups with this exact name."),
    }
);

/// `GET /accounts/{account_id}/iam/resource_groups` (one page: the whole list).
pub async fn list(cx: Cx, ApiQuery(q): ApiQuery<ListQuery>) -> Reply<Vec<w::ResourceGroup>> {
    let list = cx
        .app
        .list_resource_groups(&cx.pass, q.id.as_deref(), q.name.as_deref());
    reply(list, |l| l.iter().map(convert::resource_group).collect()).await
}

/// `GET /accounts/{account_id}/iam/resource_groups/{resource_group_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<ResourceGroupPath>) -> Reply<w::ResourceGroup> {
    let id = &p.resource_group_id;
    reply(
        cx.app.get_resource_group(&cx.pass, id),
        convert::resource_group,
    )
    .await
}

/// `POST /accounts/{account_id}/iam/resource_groups`.
pub async fn create(
    cx: Cx,
    ApiJson(body): ApiJson<w::ResourceGroupCreate>,
) -> Reply<w::ResourceGroup> {
    let scope = scope(&body.scope)?;
    let created = cx.app.create_resource_group(&cx.pass, &body.name, &scope);
    reply(created, convert::resource_group).await
}

/// `PUT /accounts/{account_id}/iam/resource_groups/{resource_group_id}` (partial).
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<ResourceGroupPath>,
    ApiJson(body): ApiJson<w::ResourceGroupUpdate>,
) -> Reply<w::ResourceGroup> {
    let scope = body.scope.as_ref().map(scope).transpose()?;
    let (id, name) = (&p.resource_group_id, body.name.as_deref());
    let updated = cx
        .app
        .update_resource_group(&cx.pass, id, name, scope.as_ref());
    reply(updated, convert::resource_group).await
}

/// `DELETE /accounts/{account_id}/iam/resource_groups/{resource_group_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<ResourceGroupPath>) -> Reply<w::IdRef> {
    let id = &p.resource_group_id;
    deleted(id, cx.app.delete_resource_group(&cx.pass, id)).await
}
