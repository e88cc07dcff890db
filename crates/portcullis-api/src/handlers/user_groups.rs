//! User groups and their members.

use axum::extract::State;
use portcullis_core::ids::AccountId;
use portcullis_core::ids::UserGroupId;
use portcullis_core::model::{GroupMemberFilter, Policy, UserGroup, UserGroupFilter};
use portcullis_core::page::{PageRequest, LARGE_LIST};
use portcullis_core::service::user_groups::MembersChange;
use portcullis_core::service::Portcullis;
use portcullis_wire::body as w;

use crate::convert;
use crate::error::ApiResult;
use portcullis_core::service::access::Authorized;

use crate::extract::{ApiJson, Authz, EmptyBody, Required};
use crate::handlers::{ok, page, page_items, One};
use crate::path::{ApiPath, GroupMemberPath, UserGroupPath};
use crate::query::{query_params, ApiQuery};
use crate::server::AppState;

impl EmptyBody for w::UserGroupCreate {}
impl EmptyBody for w::UserGroupUpdate {}

async fn group_out(app: &Portcullis, g: &UserGroup) -> ApiResult<w::UserGroup> {
    let expanded = app.expand_policies(&g.account_id, &g.policies).await?;
    Ok(convert::user_group(g, &expanded))
}

/// A page of groups with their policies expanded (resource groups read once for the page).
async fn groups_out(
    app: &Portcullis,
    account: &AccountId,
    groups: &[UserGroup],
) -> ApiResult<Vec<w::UserGroup>> {
    let sets: Vec<&[Policy]> = groups.iter().map(|g| g.policies.as_slice()).collect();
    let expanded = app.expand_policy_sets(account, &sets).await?;
    Ok(groups
        .iter()
        .zip(&expanded)
        .map(|(g, e)| convert::user_group(g, e))
        .collect())
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
pub async fn list(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<One<Vec<w::UserGroup>>> {
    let filter = UserGroupFilter {
        id: q.id,
        name: q.name,
        fuzzy_name: q.fuzzy_name,
        descending: q.descending,
    };
    let result = s.app.list_user_groups(&a, &filter, q.page).await?;
    let items = groups_out(&s.app, a.account(), &result.items).await?;
    Ok(page_items(&result, items))
}

/// `GET /accounts/{account_id}/iam/user_groups/{user_group_id}`.
pub async fn get(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<UserGroupPath>,
) -> ApiResult<One<w::UserGroup>> {
    let g = s.app.get_user_group(&a, &p.user_group_id).await?;
    Ok(ok(group_out(&s.app, &g).await?))
}

/// `POST /accounts/{account_id}/iam/user_groups`.
pub async fn create(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiJson(body): ApiJson<w::UserGroupCreate>,
) -> ApiResult<One<w::UserGroup>> {
    let drafts = body.policies.as_deref().map(convert::policy_drafts);
    let g = s
        .app
        .create_user_group(&a, &body.name, drafts.as_deref())
        .await?;
    Ok(ok(group_out(&s.app, &g).await?))
}

/// `PUT /accounts/{account_id}/iam/user_groups/{user_group_id}` (partial).
pub async fn update(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(body): ApiJson<w::UserGroupUpdate>,
) -> ApiResult<One<w::UserGroup>> {
    let drafts = body.policies.as_deref().map(convert::policy_drafts);
    let g = s
        .app
        .update_user_group(
            &a,
            &p.user_group_id,
            body.name.as_deref(),
            drafts.as_deref(),
        )
        .await?;
    Ok(ok(group_out(&s.app, &g).await?))
}

/// `DELETE /accounts/{account_id}/iam/user_groups/{user_group_id}`.
pub async fn delete(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<UserGroupPath>,
) -> ApiResult<One<w::IdRef>> {
    let id = p.user_group_id;
    s.app.delete_user_group(&a, &id).await?;
    Ok(ok(w::IdRef { id: id.to_string() }))
}

/// `GET …/user_groups/{user_group_id}/members`.
pub async fn list_members(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    let filter = GroupMemberFilter {
        fuzzy_email: q.fuzzy_email,
        descending: q.descending,
    };
    let result = s
        .app
        .list_group_members(&a, &p.user_group_id, &filter, q.page)
        .await?;
    Ok(page(&result, convert::group_member))
}

/// `GET …/user_groups/{user_group_id}/members/{member_id}`.
pub async fn get_member(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<GroupMemberPath>,
) -> ApiResult<One<w::GroupMemberDetail>> {
    let m = s
        .app
        .get_group_member(&a, &p.user_group_id, &p.member_id)
        .await?;
    Ok(ok(convert::group_member_detail(&m)))
}

async fn put_members(
    s: &AppState,
    a: &Authorized,
    group: &UserGroupId,
    body: Vec<w::IdRef>,
    change: MembersChange,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    let wanted: Vec<String> = body.into_iter().map(|r| r.id).collect();
    let members = s.app.put_group_members(a, group, &wanted, change).await?;
    Ok(ok(members.iter().map(convert::group_member).collect()))
}

/// `POST …/user_groups/{user_group_id}/members` with a bare array `[{"id"}]`.
pub async fn add_members(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(body): ApiJson<Vec<w::IdRef>>,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    put_members(&s, &a, &p.user_group_id, body, MembersChange::Add).await
}

/// `PUT …/user_groups/{user_group_id}/members` with a bare array (`[]` empties the group; a
/// missing body is refused rather than taken for `[]`).
pub async fn replace_members(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<UserGroupPath>,
    ApiJson(Required(body)): ApiJson<Required<Vec<w::IdRef>>>,
) -> ApiResult<One<Vec<w::GroupMember>>> {
    put_members(&s, &a, &p.user_group_id, body, MembersChange::Replace).await
}

/// `DELETE …/user_groups/{user_group_id}/members/{member_id}`: answers the removed member.
pub async fn remove_member(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<GroupMemberPath>,
) -> ApiResult<One<w::GroupMember>> {
    let m = s
        .app
        .remove_group_member(&a, &p.user_group_id, &p.member_id)
        .await?;
    Ok(ok(convert::group_member(&m)))
}
