//! Account members.

use axum::extract::State;
use portcullis_core::ids::AccountId;
use portcullis_core::model::{Grants, Member, MemberFilter, MemberOrder, MemberStatus, Policy};
use portcullis_core::page::{PageRequest, SMALL_LIST};
use portcullis_core::service::members::{MemberCreate, MemberUpdate};
use portcullis_core::service::Portcullis;
use portcullis_wire::body as w;

use crate::convert;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Authz, EmptyBody};
use crate::handlers::{ok, page_items, One};
use crate::path::{ApiPath, MemberPath};
use crate::query::{query_params, ApiQuery};
use crate::server::AppState;

impl EmptyBody for w::MemberCreate {}
impl EmptyBody for w::MemberUpdate {}

/// Converts a member, expanding its policies.
pub async fn member_out(app: &Portcullis, m: &Member) -> ApiResult<w::Member> {
    let expanded = match &m.grants {
        Grants::Policies(p) => app.expand_policies(&m.account_id, p).await?,
        Grants::Roles(_) => Vec::new(),
    };
    Ok(convert::member(m, app.catalog(), &expanded))
}

/// A page of members with their policies expanded (resource groups read once for the page).
async fn members_out(
    app: &Portcullis,
    account: &AccountId,
    members: &[Member],
) -> ApiResult<Vec<w::Member>> {
    let sets: Vec<&[Policy]> = members
        .iter()
        .map(|m| match &m.grants {
            Grants::Policies(p) => p.as_slice(),
            Grants::Roles(_) => &[],
        })
        .collect();
    let expanded = app.expand_policy_sets(account, &sets).await?;
    Ok(members
        .iter()
        .zip(&expanded)
        .map(|(m, e)| convert::member(m, app.catalog(), e))
        .collect())
}

const STATUSES: &[&str] = &["accepted", "pending"];
const ORDERS: &[&str] = &["user.email", "user.first_name", "user.last_name", "status"];

query_params!(
    /// `GET /accounts/{account_id}/members`.
    ListQuery {
        status: Option<&'static str> = one_of("status", "`accepted` or `pending`.", STATUSES),
        order: Option<&'static str> = one_of(
            "order",
            "`user.email` (default), `user.first_name`, `user.last_name` or `status`.",
            ORDERS
        ),
        descending: bool = descending("direction", "`asc` (default) or `desc`."),
        page: PageRequest = page(SMALL_LIST),
    }
);

/// `GET /accounts/{account_id}/members`.
pub async fn list(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<One<Vec<w::Member>>> {
    let order = match q.order {
        Some("user.first_name") => MemberOrder::FirstName,
        Some("user.last_name") => MemberOrder::LastName,
        Some("status") => MemberOrder::Status,
        _ => MemberOrder::Email,
    };
    let filter = MemberFilter {
        status: q.status.and_then(|v| MemberStatus::try_from(v).ok()),
        order,
        descending: q.descending,
    };
    let result = s.app.list_members(&a, &filter, q.page).await?;
    let items = members_out(&s.app, a.account(), &result.items).await?;
    Ok(page_items(&result, items))
}

/// `GET /accounts/{account_id}/members/{member_id}`.
pub async fn get(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<MemberPath>,
) -> ApiResult<One<w::Member>> {
    let m = s.app.get_member(&a, &p.member_id).await?;
    Ok(ok(member_out(&s.app, &m).await?))
}

/// `POST /accounts/{account_id}/members`.
pub async fn create(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiJson(body): ApiJson<w::MemberCreate>,
) -> ApiResult<One<w::Member>> {
    let input = MemberCreate {
        email: body.email,
        roles: body.roles,
        policies: body.policies.as_deref().map(convert::policy_drafts),
        status: body.status.map(convert::member_status_in),
    };
    let m = s.app.create_member(&a, input).await?;
    Ok(ok(member_out(&s.app, &m).await?))
}

/// `PUT /accounts/{account_id}/members/{member_id}`.
pub async fn update(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<MemberPath>,
    ApiJson(body): ApiJson<w::MemberUpdate>,
) -> ApiResult<One<w::Member>> {
    let input = MemberUpdate {
        roles: body
            .roles
            .map(|r| r.iter().map(|r| r.id().to_owned()).collect()),
        policies: body.policies.as_deref().map(convert::policy_drafts),
        status: body.status.map(convert::member_status_in),
    };
    let m = s.app.update_member(&a, &p.member_id, input).await?;
    Ok(ok(member_out(&s.app, &m).await?))
}

/// `DELETE /accounts/{account_id}/members/{member_id}`.
pub async fn delete(
    State(s): State<AppState>,
    Authz(a): Authz,
    ApiPath(p): ApiPath<MemberPath>,
) -> ApiResult<One<w::IdRef>> {
    let id = p.member_id;
    s.app.delete_member(&a, &id).await?;
    Ok(ok(w::IdRef { id: id.to_string() }))
}
