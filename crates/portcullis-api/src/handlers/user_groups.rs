//! User groups and their members.

use portcullis_core::ids::UserGroupId;
use portcullis_core::model::{GroupMemberFilter, UserGroup, UserGroupFilter};
use portcullis_core::page::{PageRequest, LARGE_LIST};
use portcullis_core::service::user_groups::MembersChange;
use portcullis_core::service::Portcullis;
use portcullis_wire::body as w;

use crate::convert;
use crate::error::{ApiError, ApiResult};

use crate::extract::{ApiJson, Cx, EmptyBody, Required};
use crate::handlers::{ok, page, page_items, with_policies, One};
use crate::path::{ApiPath, GroupMemberPath, UserGroupPath};
use crate::query::{query_params, ApiQuery};

impl EmptyBody for w::UserGroupCreate {}
impl EmptyBody for w::UserGroupUpdate {}

/// One user group for the wire, its policies expanded.
async fn group_out(app: &Portcullis, g: &UserGroup) -> ApiResult<w::UserGroup> {
    let mut out = with_policies(
        app,
        &g.account_id,
        std::slice::from_ref(g),
        |g| g.policies.as_slice(),
        convert::user_group,
    )
    .await?;
    out.pop()
        .ok_or_else(|| ApiError::internal("a converted user group went missing"))
}

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
pub async fn list(cx: Cx, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<One<Vec<w::UserGroup>>> {
    let filter = UserGroupFilter {
        id: q.id,
        name: q.name,
        fuzzy_name: q.fuzzy_name,
        descending: q.descending,
    };
    let result = cx.app.list_user_groups(&cx.pass, &filter, q.page).await?;
    let items = with_policies(
        &cx.app,
        cx.pass.account(),
        &result.items,
        |g| g.policies.as_slice(),
        convert::user_group,
    )
    .await?;
    Ok(page_items(&result, items))
}

/// `GET /accounts/{account_id}/iam/user_groups/{user_group_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<UserGroupPath>) -> ApiResult<One<w::UserGroup>> {
    let g = cx.app.get_user_group(&cx.pass, &p.user_group_id).await?;
    Ok(ok(group_out(&cx.app, &g).await?))
}

/// `POST /accounts/{account_id}/iam/user_groups`.
pub async fn create(
    cx: Cx,
    ApiJson(body): ApiJson<w::UserGroupCreate>,
) -> ApiResult<One<w::UserGroup>> {
    let drafts = body.policies.as_deref().map(convert::policy_drafts);
    let g = cx
        .app
        .create_user_group(&cx.pass, &body.name, drafts.as_deref())
        .await?;
    Ok(ok(group_out(&cx.app, &g).await?))
}

/// `PUT /accounts/{account_id}/iam/user_groups/{user_group_id}` (partial).
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(body): ApiJson<w::UserGroupUpdate>,
) -> ApiResult<One<w::UserGroup>> {
    let drafts = body.policies.as_deref().map(convert::policy_drafts);
    let g = cx
        .app
        .update_user_group(
            &cx.pass,
            &p.user_group_id,
            body.name.as_deref(),
            drafts.as_deref(),
        )
        .await?;
    Ok(ok(group_out(&cx.app, &g).await?))
}

/// `DELETE /accounts/{account_id}/iam/user_groups/{user_group_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<UserGroupPath>) -> ApiResult<One<w::IdRef>> {
    let id = p.user_group_id;
    cx.app.delete_user_group(&cx.pass, &id).await?;
    Ok(ok(w::IdRef { id: id.to_string() }))
}

/// `GET …/user_groups/{user_group_id}/members`.
pub async fn list_members(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    let filter = GroupMemberFilter {
        fuzzy_email: q.fuzzy_email,
        descending: q.descending,
    };
    let result = cx
        .app
        .list_group_members(&cx.pass, &p.user_group_id, &filter, q.page)
        .await?;
    Ok(page(&result, convert::group_member))
}

/// `GET …/user_groups/{user_group_id}/members/{member_id}`.
pub async fn get_member(
    cx: Cx,
    ApiPath(p): ApiPath<GroupMemberPath>,
) -> ApiResult<One<w::GroupMemberDetail>> {
    let m = cx
        .app
        .get_group_member(&cx.pass, &p.user_group_id, &p.member_id)
        .await?;
    Ok(ok(convert::group_member_detail(&m)))
}

async fn put_members(
    cx: &Cx,
    group: &UserGroupId,
    body: Vec<w::IdRef>,
    change: MembersChange,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    let wanted: Vec<String> = body.into_iter().map(|r| r.id).collect();
    let members = cx
        .app
        .put_group_members(&cx.pass, group, &wanted, change)
        .await?;
    Ok(ok(members.iter().map(convert::group_member).collect()))
}

/// `POST …/user_groups/{user_group_id}/members` with a bare array `[{"id"}]`.
pub async fn add_members(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(body): ApiJson<Vec<w::IdRef>>,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    put_members(&cx, &p.user_group_id, body, MembersChange::Add).await
}

/// `PUT …/user_groups/{user_group_id}/members` with a bare array (`[]` empties the group; a
/// missing body is refused rather than taken for `[]`).
pub async fn replace_members(
    cx: Cx,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(Required(body)): ApiJson<Required<Vec<w::IdRef>>>,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    put_members(&cx, &p.user_group_id, body, MembersChange::Replace).await
}

/// `DELETE …/user_groups/{user_group_id}/members/{member_id}`: answers the removed member.
pub async fn remove_member(
    cx: Cx,
    ApiPath(p): ApiPath<GroupMemberPath>,
) -> ApiResult<One<w::GroupMember>> {
    let m = cx
        .app
        .remove_group_member(&cx.pass, &p.user_group_id, &p.member_id)
        .await?;
    Ok(ok(convert::group_member(&m)))
}
