//! Resource groups.

use portcullis_wire::body as w;

use crate::convert;
use crate::extract::{ApiJson, Cx, EmptyBody};
use crate::handlers::{deleted, reply, Reply};
use crate::path::{ApiPath, ResourceGroupPath};
use crate::query::{query_params, ApiQuery};

impl EmptyBody for w::ResourceGroupCreate {}
impl EmptyBody for w::ResourceGroupUpdate {}

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
    reply(list, |l| {
        l.iter()
            .map(|g| convert::resource_group(g, cx.shape))
            .collect()
    })
    .await
}

/// `GET /accounts/{account_id}/iam/resource_groups/{resource_group_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<ResourceGroupPath>) -> Reply<w::ResourceGroup> {
    let id = &p.resource_group_id;
    reply(cx.app.get_resource_group(&cx.pass, id), |g| {
        convert::resource_group(g, cx.shape)
    })
    .await
}

/// `POST /accounts/{account_id}/iam/resource_groups`.
pub async fn create(
    cx: Cx,
    ApiJson(body): ApiJson<w::ResourceGroupCreate>,
) -> Reply<w::ResourceGroup> {
    let scope = convert::scope_draft(&body.scope, "/scope")?;
    let created = cx.app.create_resource_group(&cx.pass, &body.name, &scope);
    reply(created, |g| convert::resource_group(g, cx.shape)).await
}

/// `PUT /accounts/{account_id}/iam/resource_groups/{resource_group_id}` (partial).
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<ResourceGroupPath>,
    ApiJson(body): ApiJson<w::ResourceGroupUpdate>,
) -> Reply<w::ResourceGroup> {
    let scope = body
        .scope
        .as_ref()
        .map(|s| convert::scope_draft(s, "/scope"))
        .transpose()?;
    let (id, name) = (&p.resource_group_id, body.name.as_deref());
    let updated = cx
        .app
        .update_resource_group(&cx.pass, id, name, scope.as_ref());
    reply(updated, |g| convert::resource_group(g, cx.shape)).await
}

/// `DELETE /accounts/{account_id}/iam/resource_groups/{resource_group_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<ResourceGroupPath>) -> Reply<w::IdRef> {
    let id = &p.resource_group_id;
    deleted(id, cx.app.delete_resource_group(&cx.pass, id)).await
}
