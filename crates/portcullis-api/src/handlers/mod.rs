//! Handlers, one module per resource. Each parses its input into domain commands, calls one
//! service method and converts the result into the wire shape.

use std::fmt::Display;
use std::future::Future;

use axum::Json;
use portcullis_core::error::CoreResult;
use portcullis_core::page::Page;
use portcullis_wire::body::IdRef;
use portcullis_wire::{Envelope, ResultInfo};
use serde::Serialize;

use crate::error::ApiResult;

pub mod accounts;
pub mod audit;
pub mod authorize;
pub mod members;
pub mod memberships;
pub mod meta;
pub mod oauth_clients;
pub mod permission_groups;
pub mod resource_groups;
pub mod roles;
pub mod sso;
pub mod tokens;
pub mod user_groups;

/// A successful single-object answer.
pub type One<T> = Json<Envelope<T>>;

/// What a handler answers: `T` in the envelope, or an error envelope.
pub type Reply<T> = ApiResult<One<T>>;

/// Wraps a result.
pub fn ok<T: Serialize>(result: T) -> One<T> {
    Json(Envelope::ok(result))
}

/// Wraps one page of a paginated list.
pub fn page<T, U: Serialize>(p: &Page<T>, f: impl Fn(&T) -> U) -> One<Vec<U>> {
    let items: Vec<U> = p.items.iter().map(f).collect();
    let info = ResultInfo::new(
        p.request.page,
        p.request.per_page,
        items.len() as u64,
        p.total,
    );
    Json(Envelope::page(items, info))
}

/// Awaits one service call and answers its result in the wire shape `convert` makes.
pub async fn reply<T, U: Serialize>(
    call: impl Future<Output = CoreResult<T>>,
    convert: impl FnOnce(&T) -> U,
) -> Reply<U> {
    Ok(ok(convert(&call.await?)))
}

/// Awaits one paginated service call and answers the page.
pub async fn reply_page<T, U: Serialize>(
    call: impl Future<Output = CoreResult<Page<T>>>,
    convert: impl Fn(&T) -> U,
) -> Reply<Vec<U>> {
    Ok(page(&call.await?, convert))
}

/// Awaits a delete and answers `{"id": id}`, Cloudflare's shape for a deleted object.
pub async fn deleted(id: impl Display, call: impl Future<Output = CoreResult<()>>) -> Reply<IdRef> {
    call.await?;
    Ok(ok(IdRef { id: id.to_string() }))
}
