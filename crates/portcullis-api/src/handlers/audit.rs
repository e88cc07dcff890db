//! The audit log in Cloudflare's two shapes (`/accounts/{a}/audit_logs`, v1, numbered pages;
//! `/accounts/{a}/logs/audit`, v2, cursors) and the change feed (`/accounts/{a}/iam/changes`,
//! Portcullis's extension).

use axum::Json;
use ipnet::IpNet;
use portcullis_core::audit::{
    ActorType, AuditEntries, AuditEntry, AuditField, AuditPage, AuditQuery, TextFilter,
};
use portcullis_core::page::{PageRequest, AUDIT_LIST};
use portcullis_core::time::Timestamp;
use portcullis_wire::body as w;
use portcullis_wire::{Envelope, ResultInfo};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Cx};
use crate::query::{query_params, ApiQuery};
use crate::server::AppState;
use axum::extract::State;

const ACTION_TYPES: &[&str] = &["create", "update", "delete", "view"];
const ACTION_RESULTS: &[&str] = &["success", "failure"];
const ACTOR_CONTEXTS: &[&str] = &[
    "api",
    "api_key",
    "api_token",
    "dash",
    "oauth",
    "origin_ca_key",
];
const ACTOR_TYPES: &[&str] = &[
    "account",
    "cloudflare_admin",
    "delegated_service",
    "system",
    "user",
];
const SCOPES: &[&str] = &["accounts", "user", "zones", "memberships"];

query_params!(
    /// `GET /accounts/{account_id}/audit_logs` (v1).
    V1Query {
        id: Option<String> = text("id", "Only the entry with this id."),
        action_type: Option<String> = text(
            "action.type",
            "Only entries of this action: `create`, `update`, `delete` or `view` (refusals of reads)."
        ),
        actor_email: Option<String> = text("actor.email", "Only entries by this user (email, case-insensitive)."),
        actor_ip: Option<String> = text("actor.ip", "Only entries from this client address, or from inside this CIDR range."),
        zone_name: Option<String> = text("zone.name", "Only entries about this zone: no entry is about a zone, so any value matches nothing."),
        since: Option<Timestamp> = time("since", "Entries at or after this date or date-time."),
        before: Option<Timestamp> = time("before", "Entries before this date or date-time."),
        direction: Option<&'static str> = one_of("direction", "`desc` (default: newest first) or `asc`.", &["asc", "desc"]),
        hide_user_logs: bool = flag("hide_user_logs", "Leave out user-level entries (a user accepting, rejecting or leaving their own membership)."),
        export: bool = flag("export", "Accepted; the answer is the same JSON page (CSV is not served)."),
        page: PageRequest = page(AUDIT_LIST),
    }
);

query_params!(
    /// `GET /accounts/{account_id}/logs/audit` (v2).
    V2Query {
        since: Timestamp = required_time("since", "Entries at or after this date or date-time (required)."),
        before: Timestamp = required_time("before", "Entries before this date or date-time (required)."),
        direction: Option<&'static str> = one_of("direction", "`desc` (default: newest first) or `asc`.", &["asc", "desc"]),
        limit: u32 = count("limit", "Entries per page: 1 to 1000, 100 by default.", 1, 1000, 100),
        cursor: Option<String> = text("cursor", "`result_info.cursors.after` of the previous page."),
        id: TextFilter = filter("id", "id.not", "Entry id (repeatable: any of them).", &[]),
        audit_log_id: TextFilter = filter("audit_log_id", "audit_log_id.not", "Entry id (as `id`).", &[]),
        account_name: TextFilter = filter("account_name", "account_name.not", "The account's name.", &[]),
        action_result: TextFilter = filter("action_result", "action_result.not", "`success` or `failure` (a refused request).", ACTION_RESULTS),
        action_type: TextFilter = filter("action_type", "action_type.not", "`create`, `update`, `delete` or `view`.", ACTION_TYPES),
        actor_context: TextFilter = filter("actor_context", "actor_context.not", "`api_key` or `api_token`.", ACTOR_CONTEXTS),
        actor_email: TextFilter = filter("actor_email", "actor_email.not", "The user's email (case-insensitive).", &[]),
        actor_id: TextFilter = filter("actor_id", "actor_id.not", "User id, or token id of an account-owned token.", &[]),
        actor_ip_address: TextFilter = filter("actor_ip_address", "actor_ip_address.not", "Client address, or a CIDR range.", &[]),
        actor_token_id: TextFilter = filter("actor_token_id", "actor_token_id.not", "The token used.", &[]),
        actor_token_name: TextFilter = filter("actor_token_name", "actor_token_name.not", "The token's name.", &[]),
        actor_type: TextFilter = filter("actor_type", "actor_type.not", "`user`, `account` (account-owned token) or `system`.", ACTOR_TYPES),
        raw_cf_ray_id: TextFilter = filter("raw_cf_ray_id", "raw_cf_ray_id.not", "The request id (`cf-ray`).", &[]),
        raw_method: TextFilter = filter("raw_method", "raw_method.not", "HTTP method.", &[]),
        raw_status_code: TextFilter = filter("raw_status_code", "raw_status_code.not", "HTTP status.", &[]),
        raw_uri: TextFilter = filter("raw_uri", "raw_uri.not", "Path and query.", &[]),
        resource_id: TextFilter = filter("resource_id", "resource_id.not", "Resource id.", &[]),
        resource_product: TextFilter = filter("resource_product", "resource_product.not", "Always `iam` here.", &[]),
        resource_scope: TextFilter = filter("resource_scope", "resource_scope.not", "`accounts`, `memberships` or `user`.", SCOPES),
        resource_type: TextFilter = filter("resource_type", "resource_type.not", "`member`, `user_group`, `token`, ….", &[]),
        zone_id: TextFilter = filter("zone_id", "zone_id.not", "No entry is about a zone: any value matches nothing.", &[]),
        zone_name: TextFilter = filter("zone_name", "zone_name.not", "No entry is about a zone: any value matches nothing.", &[]),
        product_category: TextFilter = filter("product_category", "product_category.not", "`iam`, the one category here.", &[]),
    }
);

query_params!(
    /// `GET /accounts/{account_id}/iam/changes`.
    ChangesQuery {
        cursor: Option<String> = text("cursor", "`result_info.cursor` of the previous call (absent: from the oldest kept change)."),
        limit: u32 = count("limit", "Changes per call: 1 to 1000, 100 by default.", 1, 1000, 100),
    }
);

/// A cursor this server gave: an entry's position.
fn cursor(raw: Option<&str>) -> ApiResult<Option<i64>> {
    raw.map(|c| {
        c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::invalid(
                "/query/cursor",
                format!("query parameter `cursor`: `{c}` is not a cursor this server gave"),
            )
        })
    })
    .transpose()
}

/// Address filters: exact addresses compare as text (canonical form), ranges are matched on
/// the entries the other filters keep.
fn addresses(param: &str, values: &[String]) -> ApiResult<(Vec<String>, Vec<IpNet>)> {
    let mut exact = Vec::new();
    let mut ranges = Vec::new();
    for v in values {
        if let Ok(ip) = v.parse::<std::net::IpAddr>() {
            exact.push(ip.to_string());
        } else if let Ok(net) = v.parse::<IpNet>() {
            ranges.push(net.trunc());
        } else {
            return Err(ApiError::invalid(
                format!("/query/{param}"),
                format!(
                    "query parameter `{param}`: `{v}` is neither an IP address nor a CIDR range"
                ),
            ));
        }
    }
    Ok((exact, ranges))
}

fn check_range(since: Option<Timestamp>, before: Option<Timestamp>) -> ApiResult<()> {
    // The same instant twice is an empty window (a day given as `since` and `before`), not
    // an error; a window that ends before it starts is.
    if let (Some(s), Some(b)) = (since, before) {
        if s > b {
            return Err(ApiError::invalid(
                "/query/before",
                "query parameter `before`: must not be earlier than `since`",
            ));
        }
    }
    Ok(())
}

/// `GET /accounts/{account_id}/audit_logs`.
pub async fn list_v1(
    cx: Cx,
    ApiQuery(q): ApiQuery<V1Query>,
) -> ApiResult<Json<Envelope<Vec<w::AuditLogV1>>>> {
    let page = q.page;
    let query = v1_query(q)?;
    let found = cx.app.audit_log(&cx.pass, &query).await?;
    Ok(v1_page(page, &found))
}

/// `GET /user/audit_logs`: the caller's own entries, in v1's shape.
pub async fn list_user_v1(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<V1Query>,
) -> ApiResult<Json<Envelope<Vec<w::AuditLogV1>>>> {
    let page = q.page;
    let query = v1_query(q)?;
    let found = s.app.user_audit_log(&p, &query).await?;
    Ok(v1_page(page, &found))
}

fn v1_page(page: PageRequest, found: &AuditEntries) -> Json<Envelope<Vec<w::AuditLogV1>>> {
    let items: Vec<w::AuditLogV1> = found.entries.iter().map(v1).collect();
    let info = ResultInfo::new(
        page.page,
        page.per_page,
        items.len() as u64,
        found.total.unwrap_or(0),
    );
    Json(Envelope::page(items, info))
}

fn v1_query(q: V1Query) -> ApiResult<AuditQuery> {
    check_range(q.since, q.before)?;
    let mut query = AuditQuery {
        since: q.since,
        before: q.before,
        hide_user_level: q.hide_user_logs,
        nothing: q.zone_name.is_some(),
        ascending: q.direction == Some("asc"),
        page: AuditPage::Numbered(q.page),
        ..AuditQuery::default()
    };
    let one = |v: Option<String>| TextFilter {
        any: v.into_iter().collect(),
        not: Vec::new(),
    };
    query.filters.push((AuditField::Id, one(q.id)));
    query
        .filters
        .push((AuditField::ActionType, one(q.action_type)));
    query.filters.push((
        AuditField::ActorEmail,
        one(q.actor_email.map(|e| e.to_lowercase())),
    ));
    if let Some(ip) = q.actor_ip {
        let (exact, ranges) = addresses("actor.ip", &[ip])?;
        query.filters.push((
            AuditField::ActorIp,
            TextFilter {
                any: exact,
                not: Vec::new(),
            },
        ));
        query.ip_ranges = ranges;
    }
    query.filters.retain(|(_, f)| !f.is_empty());
    Ok(query)
}

/// `GET /accounts/{account_id}/logs/audit`.
pub async fn list_v2(
    cx: Cx,
    ApiQuery(q): ApiQuery<V2Query>,
) -> ApiResult<Json<Envelope<Vec<w::AuditLogV2>, w::CursorInfo>>> {
    check_range(Some(q.since), Some(q.before))?;
    for c in q.product_category.any.iter().chain(&q.product_category.not) {
        if !c.eq_ignore_ascii_case("iam") {
            return Err(ApiError::invalid(
                "/query/product_category",
                format!("query parameter `product_category`: unknown product category `{c}`; the one category here is `iam`"),
            ));
        }
    }
    let ascending = q.direction == Some("asc");
    let mut query = AuditQuery {
        since: Some(q.since),
        before: Some(q.before),
        ascending,
        page: AuditPage::After {
            after: cursor(q.cursor.as_deref())?,
            limit: q.limit,
        },
        ..AuditQuery::default()
    };
    // Every entry is about IAM and none about a zone.
    let product = |f: &TextFilter| {
        (!f.any.is_empty() && !f.any.iter().any(|p| p.eq_ignore_ascii_case("iam")))
            || f.not.iter().any(|p| p.eq_ignore_ascii_case("iam"))
    };
    query.nothing = !q.zone_id.any.is_empty()
        || !q.zone_name.any.is_empty()
        || product(&q.resource_product)
        || product(&q.product_category);
    let lower = |f: TextFilter| TextFilter {
        any: f.any.iter().map(|v| v.to_lowercase()).collect(),
        not: f.not.iter().map(|v| v.to_lowercase()).collect(),
    };
    let (ip_any, ranges) = addresses("actor_ip_address", &q.actor_ip_address.any)?;
    let (ip_not, not_ranges) = addresses("actor_ip_address.not", &q.actor_ip_address.not)?;
    if !not_ranges.is_empty() {
        return Err(ApiError::invalid(
            "/query/actor_ip_address.not",
            "query parameter `actor_ip_address.not`: give addresses, not ranges",
        ));
    }
    query.ip_ranges = ranges;
    query.filters = vec![
        (AuditField::Id, q.id),
        (AuditField::Id, q.audit_log_id),
        (AuditField::AccountName, q.account_name),
        (AuditField::ActionResult, q.action_result),
        (AuditField::ActionType, q.action_type),
        (AuditField::ActorContext, q.actor_context),
        (AuditField::ActorEmail, lower(q.actor_email)),
        (AuditField::ActorId, q.actor_id),
        (
            AuditField::ActorIp,
            TextFilter {
                any: ip_any,
                not: ip_not,
            },
        ),
        (AuditField::ActorTokenId, q.actor_token_id),
        (AuditField::ActorTokenName, q.actor_token_name),
        (AuditField::ActorType, q.actor_type),
        (AuditField::RequestId, q.raw_cf_ray_id),
        (AuditField::Method, q.raw_method),
        (AuditField::Status, q.raw_status_code),
        (AuditField::Uri, q.raw_uri),
        (AuditField::ResourceId, q.resource_id),
        (AuditField::ResourceScope, q.resource_scope),
        (AuditField::ResourceType, q.resource_type),
    ];
    query.filters.retain(|(_, f)| !f.is_empty());
    let found = cx.app.audit_log(&cx.pass, &query).await?;
    let items: Vec<w::AuditLogV2> = found.entries.iter().map(v2).collect();
    let next = if found.more {
        found.entries.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    let info = w::CursorInfo {
        count: items.len() as u64,
        cursor: next.clone().unwrap_or_default(),
        cursors: Some(w::Cursors { after: next }),
        has_more: None,
    };
    Ok(Json(Envelope::with_info(items, info)))
}

/// `GET /accounts/{account_id}/iam/changes`.
pub async fn changes(
    cx: Cx,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Envelope<Vec<w::IamChange>, w::CursorInfo>>> {
    let after = cursor(q.cursor.as_deref())?;
    let (found, next) = cx.app.iam_changes(&cx.pass, after, q.limit).await?;
    let items: Vec<w::IamChange> = found
        .entries
        .iter()
        .map(|e| w::IamChange {
            cursor: e.seq.to_string(),
            id: e.record.id.clone(),
            time: e.record.time.to_string(),
            action: e.record.action.as_str().to_owned(),
            resource: w::AuditResourceRef {
                id: e.record.resource_id.clone(),
                kind: e.record.resource_type.clone(),
            },
            actor: v2_actor(e),
            before: e.record.before.clone(),
            after: e.record.after.clone(),
        })
        .collect();
    let info = w::CursorInfo {
        count: items.len() as u64,
        cursor: next.to_string(),
        cursors: None,
        has_more: Some(found.more),
    };
    Ok(Json(Envelope::with_info(items, info)))
}

/// The HTTP status an entry's request was answered with (refusals record theirs; a recorded
/// change was answered 200).
fn status(e: &AuditEntry) -> u16 {
    e.record.status.unwrap_or(200)
}

fn v1(e: &AuditEntry) -> w::AuditLogV1 {
    let r = &e.record;
    let text = |v: &Option<serde_json::Value>| v.as_ref().map(ToString::to_string);
    w::AuditLogV1 {
        id: r.id.clone(),
        action: w::AuditV1Action {
            kind: r.action.as_str().to_owned(),
            result: r.result,
        },
        actor: w::AuditV1Actor {
            id: r.actor.id.clone(),
            email: r.actor.email.clone(),
            ip: r.origin.ip.map(|ip| ip.to_string()),
            kind: match r.actor.kind {
                ActorType::System => "admin",
                ActorType::User | ActorType::Account => "user",
            }
            .to_owned(),
        },
        interface: r.origin.interface.as_str().to_owned(),
        metadata: json!({
            "request_id": r.origin.request_id,
            "method": r.origin.method,
            "uri": r.origin.uri,
            "status_code": status(e),
            "user_agent": r.origin.user_agent,
            "token_id": r.actor.token_id,
            "token_name": r.actor.token_name,
            "description": r.description(),
            "resource_scope": r.scope.as_str(),
        }),
        new_value: text(&r.after),
        old_value: text(&r.before),
        owner: w::IdRef {
            id: r
                .account
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        },
        resource: w::AuditResourceRef {
            id: r.resource_id.clone(),
            kind: r.resource_type.clone(),
        },
        when: r.time.to_string(),
    }
}

fn v2_actor(e: &AuditEntry) -> w::AuditV2Actor {
    let r = &e.record;
    w::AuditV2Actor {
        id: r.actor.id.clone(),
        context: r.actor.context.clone(),
        email: r.actor.email.clone(),
        ip_address: r.origin.ip.map(|ip| ip.to_string()),
        token_id: r.actor.token_id.clone(),
        token_name: r.actor.token_name.clone(),
        kind: r.actor.kind.as_str().to_owned(),
    }
}

fn v2(e: &AuditEntry) -> w::AuditLogV2 {
    let r = &e.record;
    w::AuditLogV2 {
        id: r.id.clone(),
        account: w::AuditV2Account {
            id: r
                .account
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            name: e.account_name.clone(),
        },
        action: w::AuditV2Action {
            description: r.description(),
            result: if r.result { "success" } else { "failure" }.to_owned(),
            time: r.time.to_string(),
            kind: r.action.as_str().to_owned(),
        },
        actor: v2_actor(e),
        raw: w::AuditV2Raw {
            cf_ray_id: r.origin.request_id.clone(),
            method: r.origin.method.clone(),
            status_code: status(e),
            uri: r.origin.uri.clone(),
            user_agent: r.origin.user_agent.clone(),
        },
        resource: w::AuditV2Resource {
            id: r.resource_id.clone(),
            product: "iam".to_owned(),
            request: None,
            response: r.after.clone(),
            scope: r.scope.as_str().to_owned(),
            kind: r.resource_type.clone(),
            value: w::AuditValues {
                before: r.before.clone(),
                after: r.after.clone(),
            },
        },
        zone: None,
    }
}
