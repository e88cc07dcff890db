//! Account members.

use portcullis_core::model::{Member, MemberFilter, MemberOrder, MemberStatus};
use portcullis_core::page::{PageRequest, SMALL_LIST};
use portcullis_core::service::members::{MemberCreate, MemberUpdate};
use portcullis_core::service::policies::Expanded;
use portcullis_wire::body as w;

use crate::convert;
use crate::extract::{ApiJson, Cx, EmptyBody};
use crate::handlers::{deleted, reply, reply_page, Reply};
use crate::path::{ApiPath, MemberPath};
use crate::query::{query_params, ApiQuery};

impl EmptyBody for w::MemberCreate {}
impl EmptyBody for w::MemberUpdate {}

/// The member conversion, with the catalog that names its roles.
fn member_of(cx: &Cx) -> impl Fn(&Expanded<Member>) -> w::Member + '_ {
    |m| convert::member(m, cx.app.catalog(), cx.shape)
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
pub async fn list(cx: Cx, ApiQuery(q): ApiQuery<ListQuery>) -> Reply<Vec<w::Member>> {
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
    let list = cx.app.list_members(&cx.pass, &filter, q.page);
    reply_page(list, member_of(&cx)).await
}

/// `GET /accounts/{account_id}/members/{member_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<MemberPath>) -> Reply<w::Member> {
    reply(cx.app.get_member(&cx.pass, &p.member_id), member_of(&cx)).await
}

/// `POST /accounts/{account_id}/members`.
pub async fn create(cx: Cx, ApiJson(body): ApiJson<w::MemberCreate>) -> Reply<w::Member> {
    let input = MemberCreate {
        email: body.email,
        roles: body.roles,
        policies: body
            .policies
            .as_deref()
            .map(convert::policy_drafts)
            .transpose()?,
        status: body.status.map(convert::member_status_in),
    };
    reply(cx.app.create_member(&cx.pass, input), member_of(&cx)).await
}

/// `PUT /accounts/{account_id}/members/{member_id}`.
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<MemberPath>,
    ApiJson(body): ApiJson<w::MemberUpdate>,
) -> Reply<w::Member> {
    let input = MemberUpdate {
        roles: body
            .roles
            .map(|r| r.iter().map(|r| r.id().to_owned()).collect()),
        policies: body
            .policies
            .as_deref()
            .map(convert::policy_drafts)
            .transpose()?,
        status: body.status.map(convert::member_status_in),
    };
    reply(
        cx.app.update_member(&cx.pass, &p.member_id, input),
        member_of(&cx),
    )
    .await
}

/// `DELETE /accounts/{account_id}/members/{member_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<MemberPath>) -> Reply<w::IdRef> {
    let id = &p.member_id;
    deleted(id, cx.app.delete_member(&cx.pass, id)).await
}
