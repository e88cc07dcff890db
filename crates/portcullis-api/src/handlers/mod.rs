//! Handlers, one module per resource. Each parses its input into domain commands, calls one
//! service method and converts the result into the wire shape.

use axum::Json;
use portcullis_core::ids::AccountId;
use portcullis_core::model::Policy;
use portcullis_core::page::Page;
use portcullis_core::service::policies::ExpandedPolicy;
use portcullis_core::service::Portcullis;
use portcullis_wire::{Envelope, ResultInfo};
use serde::Serialize;

use crate::error::ApiResult;

pub mod accounts;
pub mod authorize;
pub mod members;
pub mod meta;
pub mod permission_groups;
pub mod resource_groups;
pub mod sso;
pub mod tokens;
pub mod user_groups;

/// Converts holders of policies (members, user groups) with their policies expanded for the
/// wire; every resource group they use is read in one query.
pub async fn with_policies<T, U>(
    app: &Portcullis,
    account: &AccountId,
    items: &[T],
    policies: impl Fn(&T) -> &[Policy],
    convert: impl Fn(&T, &[ExpandedPolicy]) -> U,
) -> ApiResult<Vec<U>> {
    let sets: Vec<&[Policy]> = items.iter().map(&policies).collect();
    let expanded = app.expand_policy_sets(account, &sets).await?;
    Ok(items
        .iter()
        .zip(&expanded)
        .map(|(item, e)| convert(item, e))
        .collect())
}

/// A successful single-object answer.
pub type One<T> = Json<Envelope<T>>;

/// Wraps a result.
pub fn ok<T: Serialize>(result: T) -> One<T> {
    Json(Envelope::ok(result))
}

/// Wraps one page of a paginated list.
pub fn page<T, U: Serialize>(p: &Page<T>, f: impl Fn(&T) -> U) -> One<Vec<U>> {
    page_items(p, p.items.iter().map(f).collect())
}

/// Wraps the already converted items of one page.
pub fn page_items<T, U: Serialize>(p: &Page<T>, items: Vec<U>) -> One<Vec<U>> {
    let info = ResultInfo::new(
        p.request.page,
        p.request.per_page,
        items.len() as u64,
        p.total,
    );
    Json(Envelope::page(items, info))
}
