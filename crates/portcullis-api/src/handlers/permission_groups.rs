//! Permission groups: the member catalog (`/iam/permission_groups`) and the token catalog.

use axum::extract::State;
use portcullis_core::catalog::{TokenPermissionGroup, SCOPE_USER};
use portcullis_core::page::{Page, PageRequest, SMALL_LIST};
use portcullis_core::service::Portcullis;
use portcullis_core::CoreError;
use portcullis_wire::body as w;

use crate::convert;
use crate::extract::{Auth, Cx};
use crate::handlers::{ok, page, Reply};
use crate::path::{ApiPath, PermissionGroupId, PermissionGroupPath};
use crate::query::{query_params, ApiQuery};
use crate::server::AppState;

query_params!(
    /// `GET /accounts/{account_id}/iam/permission_groups`.
    ListQuery {
        id: Option<String> = text("id", "Only the group with this id."),
        name: Option<String> = name("name", "Only groups with this name (case-insensitive)."),
        label: Option<String> = text("label", "Only groups with this label."),
        page: PageRequest = page(SMALL_LIST),
    }
);

query_params!(
    /// `GET …/tokens/permission_groups`.
    TokenGroupsQuery {
        name: Option<String> = name("name", "Only groups with this name (case-insensitive)."),
        scope: Option<String> = text("scope", "Only groups with this scope."),
    }
);

/// `GET /accounts/{account_id}/iam/permission_groups`.
pub async fn list(
    State(s): State<AppState>,
    _: Cx,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Reply<Vec<w::PermissionGroup>> {
    let request = q.page;
    let (id, name, label) = (q.id.as_deref(), q.name.as_deref(), q.label.as_deref());
    // The catalog's groups and their wire forms, side by side (same order).
    let groups = s.app.catalog().member_groups().iter();
    let matching: Vec<&w::PermissionGroup> = groups
        .zip(s.permission_groups.iter())
        .filter(|(g, _)| id.is_none_or(|id| g.id == id))
        .filter(|(g, _)| name.is_none_or(|n| g.name.eq_ignore_ascii_case(n)))
        .filter(|(g, _)| label.is_none_or(|l| g.label.as_deref() == Some(l)))
        .map(|(_, wire)| wire)
        .collect();
    let result = Page {
        items: request.slice(&matching),
        total: matching.len() as u64,
        request,
    };
    Ok(page(&result, |g| (*g).clone()))
}

/// `GET /accounts/{account_id}/iam/permission_groups/{permission_group_id}`.
pub async fn get(
    cx: Cx,
    ApiPath(PermissionGroupPath {
        permission_group_id: PermissionGroupId(id),
    }): ApiPath<PermissionGroupPath>,
) -> Reply<w::PermissionGroup> {
    let g = cx
        .app
        .catalog()
        .member_group(&id)
        .ok_or_else(|| CoreError::not_found("permission group", id))?;
    Ok(ok(convert::permission_group(g)))
}

fn token_groups(
    app: &Portcullis,
    q: &TokenGroupsQuery,
    user: bool,
) -> Vec<w::TokenPermissionGroup> {
    let (name, scope) = (q.name.as_deref(), q.scope.as_deref());
    app.catalog()
        .token_groups()
        .iter()
        .filter(|g| user || !g.scopes.iter().any(|x| x == SCOPE_USER))
        .filter(|g| name.is_none_or(|n| g.name.eq_ignore_ascii_case(n)))
        .filter(|g| scope.is_none_or(|sc| g.scopes.iter().any(|x| x == sc)))
        .map(|g: &TokenPermissionGroup| w::TokenPermissionGroup {
            id: g.id.clone(),
            name: g.name.clone(),
            scopes: g.scopes.clone(),
            description: g.description.clone(),
        })
        .collect()
}

/// `GET /accounts/{account_id}/tokens/permission_groups`.
pub async fn account_token_groups(
    cx: Cx,
    ApiQuery(q): ApiQuery<TokenGroupsQuery>,
) -> Reply<Vec<w::TokenPermissionGroup>> {
    Ok(ok(token_groups(&cx.app, &q, false)))
}

/// `GET /user/tokens/permission_groups`.
pub async fn user_token_groups(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<TokenGroupsQuery>,
) -> Reply<Vec<w::TokenPermissionGroup>> {
    s.app.current_user(&p)?;
    Ok(ok(token_groups(&s.app, &q, true)))
}
