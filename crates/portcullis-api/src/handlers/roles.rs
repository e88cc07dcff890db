//! Legacy account roles (`/accounts/{account_id}/roles`): the catalog's, the same in every
//! account.

use portcullis_core::page::{Page, PageRequest, LARGE_LIST};
use portcullis_core::CoreError;
use portcullis_wire::body as w;

use crate::convert;
use crate::extract::Cx;
use crate::handlers::{ok, page, Reply};
use crate::path::{ApiPath, PermissionGroupId, RolePath};
use crate::query::{query_params, ApiQuery};

query_params!(
    /// `GET /accounts/{account_id}/roles`.
    ListQuery {
        // The default page holds every role: Cloudflare's list was unpaginated before the SDKs
        // gained `page`/`per_page`, and a client reading one page must still see them all.
        page: PageRequest = page(LARGE_LIST),
    }
);

/// `GET /accounts/{account_id}/roles`: V4 pagination; a page past the end is empty (Terraform
/// reads pages until one is).
pub async fn list(cx: Cx, ApiQuery(q): ApiQuery<ListQuery>) -> Reply<Vec<w::Role>> {
    let catalog = cx.app.catalog();
    let roles: Vec<_> = catalog.roles().iter().collect();
    let result = Page {
        items: q.page.slice(&roles),
        total: roles.len() as u64,
        request: q.page,
    };
    Ok(page(&result, |r| convert::role(r, catalog)))
}

/// `GET /accounts/{account_id}/roles/{role_id}`.
pub async fn get(
    cx: Cx,
    ApiPath(RolePath {
        role_id: PermissionGroupId(id),
    }): ApiPath<RolePath>,
) -> Reply<w::Role> {
    let catalog = cx.app.catalog();
    let role = catalog
        .role(&id)
        .ok_or_else(|| CoreError::not_found("role", id))?;
    Ok(ok(convert::role(role, catalog)))
}
