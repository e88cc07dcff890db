//! Account members.

use portcullis_core::ids::AccountId;
use portcullis_core::model::{Grants, Member, MemberFilter, MemberOrder, MemberStatus, Policy};
use portcullis_core::page::{PageRequest, SMALL_LIST};
use portcullis_core::service::members::{MemberCreate, MemberUpdate};
use portcullis_core::service::Portcullis;
use portcullis_wire::body as w;

use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Cx, EmptyBody};
use crate::handlers::{ok, page_items, with_policies, One};
use crate::path::{ApiPath, MemberPath};
use crate::query::{query_params, ApiQuery};

impl EmptyBody for w::MemberCreate {}
impl EmptyBody for w::MemberUpdate {}

/// A member's own policies (none when it holds roles).
fn policies_of(m: &Member) -> &[Policy] {
    match &m.grants {
        Grants::Policies(p) => p,
        Grants::Roles(_) => &[],
    }
}

/// Members for the wire, their policies expanded.
async fn members_out(
    app: &Portcullis,
    account: &AccountId,
    members: &[Member],
) -> ApiResult<Vec<w::Member>> {
    with_policies(app, account, members, policies_of, |m, e| {
        convert::member(m, app.catalog(), e)
    })
    .await
}

/// One member for the wire.
pub async fn member_out(app: &Portcullis, m: &Member) -> ApiResult<w::Member> {
    let mut out = members_out(app, &m.account_id, std::slice::from_ref(m)).await?;
    out.pop()
        .ok_or_else(|| ApiError::internal("a converted member went missing"))
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
pub async fn list(cx: Cx, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<One<Vec<w::Member>>> {
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
    let result = cx.app.list_members(&cx.pass, &filter, q.page).await?;
    let items = members_out(&cx.app, cx.pass.account(), &result.items).await?;
    Ok(page_items(&result, items))
}

/// `GET /accounts/{account_id}/members/{member_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<MemberPath>) -> ApiResult<One<w::Member>> {
    let m = cx.app.get_member(&cx.pass, &p.member_id).await?;
    Ok(ok(member_out(&cx.app, &m).await?))
}

/// `POST /accounts/{account_id}/members`.
pub async fn create(cx: Cx, ApiJson(body): ApiJson<w::MemberCreate>) -> ApiResult<One<w::Member>> {
    let input = MemberCreate {
        email: body.email,
        roles: body.roles,
        policies: body.policies.as_deref().map(convert::policy_drafts),
        status: body.status.map(convert::member_status_in),
    };
    let m = cx.app.create_member(&cx.pass, input).await?;
    Ok(ok(member_out(&cx.app, &m).await?))
}

/// `PUT /accounts/{account_id}/members/{member_id}`.
pub async fn update(
    cx: Cx,
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
    let m = cx.app.update_member(&cx.pass, &p.member_id, input).await?;
    Ok(ok(member_out(&cx.app, &m).await?))
}

/// `DELETE /accounts/{account_id}/members/{member_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<MemberPath>) -> ApiResult<One<w::IdRef>> {
    let id = p.member_id;
    cx.app.delete_member(&cx.pass, &id).await?;
    Ok(ok(w::IdRef { id: id.to_string() }))
}
