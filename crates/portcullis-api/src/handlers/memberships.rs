//! `/memberships`: the caller's own memberships, and their answer to an invitation.

use axum::extract::State;
use portcullis_core::model::{MemberStatus, MembershipFilter, MembershipOrder};
use portcullis_core::page::{PageRequest, SMALL_LIST};
use portcullis_core::service::memberships::{Answer, Answered};
use portcullis_wire::body as w;

use crate::convert;
use crate::extract::{ApiJson, Auth, EmptyBody, Req, Shape};
use crate::handlers::{deleted, ok, page, Reply};
use crate::path::{ApiPath, MembershipPath};
use crate::query::{query_params, ApiQuery};
use crate::server::AppState;

impl EmptyBody for w::MembershipUpdate {}

const STATUSES: &[&str] = &["accepted", "pending", "rejected"];
const ORDERS: &[&str] = &["id", "account.name", "status"];

query_params!(
    /// `GET /memberships`.
    ListQuery {
        account_name: Option<String> = name(
            "account.name",
            "Only memberships of accounts with this name (case-insensitive)."
        ),
        name: Option<String> = name(
            "name",
            "Only memberships of accounts with this name (case-insensitive; like `account.name`)."
        ),
        status: Option<&'static str> = one_of(
            "status",
            "`accepted`, `pending` or `rejected` (a declined invitation is removed, so `rejected` lists nothing).",
            STATUSES
        ),
        order: Option<&'static str> = one_of(
            "order",
            "`account.name` (default), `id` or `status`.",
            ORDERS
        ),
        descending: bool = descending("direction", "`asc` (default) or `desc`."),
        page: PageRequest = page(SMALL_LIST),
    }
);

/// `GET /memberships`.
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    Shape(shape): Shape,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Reply<Vec<w::Membership>> {
    let filter = MembershipFilter {
        // `name` and `account.name` both name the account; when both are given they must agree.
        account_name: q.account_name.or(q.name),
        status: match q.status {
            Some("accepted") => Some(MemberStatus::Accepted),
            Some("pending") => Some(MemberStatus::Pending),
            _ => None,
        },
        order: match q.order {
            Some("id") => MembershipOrder::Id,
            Some("status") => MembershipOrder::Status,
            _ => MembershipOrder::AccountName,
        },
        descending: q.descending,
    };
    let catalog = s.app.catalog();
    let found = if q.status == Some("rejected") {
        portcullis_core::page::Page {
            items: Vec::new(),
            total: 0,
            request: q.page,
        }
    } else {
        s.app.list_memberships(&p, &filter, q.page).await?
    };
    Ok(page(&found, |v| {
        convert::membership(v, catalog, shape, false)
    }))
}

/// `GET /memberships/{membership_id}`.
pub async fn get(
    State(s): State<AppState>,
    Auth(p): Auth,
    Shape(shape): Shape,
    ApiPath(MembershipPath { membership_id }): ApiPath<MembershipPath>,
) -> Reply<w::Membership> {
    let v = s.app.get_membership(&p, &membership_id).await?;
    Ok(ok(convert::membership(&v, s.app.catalog(), shape, false)))
}

/// `PUT /memberships/{membership_id}`: accept or reject an invitation.
pub async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    Req(origin): Req,
    Shape(shape): Shape,
    ApiPath(MembershipPath { membership_id }): ApiPath<MembershipPath>,
    ApiJson(body): ApiJson<w::MembershipUpdate>,
) -> Reply<w::Membership> {
    let answer = match body.status {
        w::MembershipAnswer::Accepted => Answer::Accept,
        w::MembershipAnswer::Rejected => Answer::Reject,
    };
    let catalog = s.app.catalog();
    Ok(ok(
        match s
            .app
            .answer_membership(&p, &origin, &membership_id, answer)
            .await?
        {
            Answered::Accepted(v) => convert::membership(&v, catalog, shape, false),
            Answered::Rejected(v) => convert::membership(&v, catalog, shape, true),
        },
    ))
}

/// `DELETE /memberships/{membership_id}`: leave the account.
pub async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    Req(origin): Req,
    ApiPath(MembershipPath { membership_id }): ApiPath<MembershipPath>,
) -> Reply<w::IdRef> {
    deleted(
        &membership_id,
        s.app.delete_membership(&p, &origin, &membership_id),
    )
    .await
}
