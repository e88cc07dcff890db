//! User groups and their members.

use portcullis_core::ids::UserGroupId;
use portcullis_core::model::{GroupMemberFilter, UserGroupFilter};
use portcullis_core::page::{PageRequest, LARGE_LIST};
use portcullis_core::service::user_groups::MembersChange;
use portcullis_wire::body as w;

use crate::convert;
use crate::extract::{ApiJson, Cx, EmptyBody, Required};
use crate::handlers::{deleted, reply, reply_page, Reply};
use crate::path::{ApiPath, GroupMemberPath, UserGroupPath};
use crate::query::{query_params, ApiQuery};

impl EmptyBody for w::UserGroupCreate {}
impl EmptyBody for w::UserGroupUpdate {}

query_params!(
    /// `GET /accounts/{account_id}/iam/user_groups`.
    ListQuery {
        id: Option<String> = text("id", "Only the group with this id."),
        name: Option<String> = name("name", "Only the group with this name (case-insensitive)."),
        fuzzy_name: Option<String> = text(
            "fuzzyName",
            "Only groups whose name contains this (case-insensitive)."
        ),
        descending: bool = descending("direction", "`asc` (default) or `desc` by name."),
        page: PageRequest = page(LARGE_LIST),
    }
);

query_params!(
    /// `GET …/user_groups/{user_group_id}/members`.
    MembersQuery {
        fuzzy_email: Option<String> = text(
            "fuzzyEmail",
            "Only members whose email contains this (case-insensitive)."
        ),
        descending: bool = descending("direction", "`asc` (default) or `desc` by email."),
        page: PageRequest = page(LARGE_LIST),
    }
);

/// `GET /accounts/{account_id}/iam/user_groups`.
pub async fn list(cx: Cx, ApiQuery(q): ApiQuery<ListQuery>) -> Reply<Vec<w::UserGroup>> {
    let filter = UserGroupFilter {
        id: q.id,
        name: q.name,
        fuzzy_name: q.fuzzy_name,
        descending: q.descending,
    };
    let list = cx.app.list_user_groups(&cx.pass, &filter, q.page);
    reply_page(list, |g| convert::user_group(g, cx.shape)).await
}

/// `GET /accounts/{account_id}/iam/user_groups/{user_group_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<UserGroupPath>) -> Reply<w::UserGroup> {
    reply(cx.app.get_user_group(&cx.pass, &p.user_group_id), |g| {
        convert::user_group(g, cx.shape)
    })
    .await
}

/// `POST /accounts/{account_id}/iam/user_groups`.
pub async fn create(cx: Cx, ApiJson(body): ApiJson<w::UserGroupCreate>) -> Reply<w::UserGroup> {
    let drafts = body
        .policies
        .as_deref()
        .map(convert::policy_drafts)
        .transpose()?;
    reply(
        cx.app
            .create_user_group(&cx.pass, &body.name, drafts.as_deref()),
        |g| convert::user_group(g, cx.shape),
    )
    .await
}

/// `PUT /accounts/{account_id}/iam/user_groups/{user_group_id}` (partial).
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(body): ApiJson<w::UserGroupUpdate>,
) -> Reply<w::UserGroup> {
    let drafts = body
        .policies
        .as_deref()
        .map(convert::policy_drafts)
        .transpose()?;
    let name = body.name.as_deref();
    let updated = cx
        .app
        .update_user_group(&cx.pass, &p.user_group_id, name, drafts.as_deref());
    reply(updated, |g| convert::user_group(g, cx.shape)).await
}

/// `DELETE /accounts/{account_id}/iam/user_groups/{user_group_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<UserGroupPath>) -> Reply<w::IdRef> {
    let id = &p.user_group_id;
    deleted(id, cx.app.delete_user_group(&cx.pass, id)).await
}

/// `GET …/user_groups/{user_group_id}/members`.
pub async fn list_members(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> Reply<Vec<w::GroupMember>> {
    let filter = GroupMemberFilter {
        fuzzy_email: q.fuzzy_email,
        descending: q.descending,
    };
    let list = cx
        .app
        .list_group_members(&cx.pass, &p.user_group_id, &filter, q.page);
    reply_page(list, convert::group_member).await
}

/// `GET …/user_groups/{user_group_id}/members/{member_id}`.
pub async fn get_member(
    cx: Cx,
    ApiPath(p): ApiPath<GroupMemberPath>,
) -> Reply<w::GroupMemberDetail> {
    let found = cx
        .app
        .get_group_member(&cx.pass, &p.user_group_id, &p.member_id);
    reply(found, convert::group_member_detail).await
}

async fn put_members(
    cx: &Cx,
    group: &UserGroupId,
    body: Vec<w::IdRef>,
    change: MembersChange,
) -> Reply<Vec<w::GroupMember>> {
    let wanted: Vec<String> = body.into_iter().map(|r| r.id).collect();
    let put = cx.app.put_group_members(&cx.pass, group, &wanted, change);
    reply(put, |ms| ms.iter().map(convert::group_member).collect()).await
}

/// `POST …/user_groups/{user_group_id}/members` with a bare array `[{"id"}]`.
pub async fn add_members(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(body): ApiJson<Vec<w::IdRef>>,
) -> Reply<Vec<w::GroupMember>> {
    put_members(&cx, &p.user_group_id, body, MembersChange::Add).await
}

/// `PUT …/user_groups/{user_group_id}/members` with a bare array (`[]` empties the group; a
/// missing body is refused rather than taken for `[]`).
pub async fn replace_members(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(Required(body)): ApiJson<Required<Vec<w::IdRef>>>,
) -> Reply<Vec<w::GroupMember>> {
    put_members(&cx, &p.user_group_id, body, MembersChange::Replace).await
}

/// `DELETE …/user_groups/{user_group_id}/members/{member_id}`: answers the removed member.
pub async fn remove_member(cx: Cx, ApiPath(p): ApiPath<GroupMemberPath>) -> Reply<w::GroupMember> {
    let removed = cx
        .app
        .remove_group_member(&cx.pass, &p.user_group_id, &p.member_id);
    reply(removed, convert::group_member).await
}
