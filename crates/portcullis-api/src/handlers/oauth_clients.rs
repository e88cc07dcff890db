//! OAuth clients and the OAuth scope catalog. The domain ↔ wire conversions of this resource are
//! here (not in `convert.rs`) so that the whole resource reads in one place.

use axum::extract::State;
use portcullis_core::oauth::{
    self as model, GrantType, OAuthClient, ResponseType, TokenAuthMethod, Visibility,
};
use portcullis_core::service::oauth_clients::{OAuthClientCreate, OAuthClientUpdate};
use portcullis_wire::body as w;

use crate::extract::{ApiJson, Auth, Cx, EmptyBody};
use crate::handlers::{deleted, ok, reply, Reply};
use crate::path::{ApiPath, OAuthClientPath};
use crate::server::AppState;

impl EmptyBody for w::OAuthClientCreate {}
impl EmptyBody for w::OAuthClientUpdate {}

fn grant_in(g: w::OAuthGrantType) -> GrantType {
    match g {
        w::OAuthGrantType::AuthorizationCode => GrantType::AuthorizationCode,
        w::OAuthGrantType::RefreshToken => GrantType::RefreshToken,
    }
}

fn grant_out(g: GrantType) -> w::OAuthGrantType {
    match g {
        GrantType::AuthorizationCode => w::OAuthGrantType::AuthorizationCode,
        GrantType::RefreshToken => w::OAuthGrantType::RefreshToken,
    }
}

fn response_in(r: w::OAuthResponseType) -> ResponseType {
    match r {
        w::OAuthResponseType::Code => ResponseType::Code,
        w::OAuthResponseType::Token => ResponseType::Token,
        w::OAuthResponseType::IdToken => ResponseType::IdToken,
    }
}

fn response_out(r: ResponseType) -> w::OAuthResponseType {
    match r {
        ResponseType::Code => w::OAuthResponseType::Code,
        ResponseType::Token => w::OAuthResponseType::Token,
        ResponseType::IdToken => w::OAuthResponseType::IdToken,
    }
}

fn method_in(m: w::OAuthTokenEndpointAuthMethod) -> TokenAuthMethod {
    match m {
        w::OAuthTokenEndpointAuthMethod::None => TokenAuthMethod::None,
        w::OAuthTokenEndpointAuthMethod::ClientSecretBasic => TokenAuthMethod::ClientSecretBasic,
        w::OAuthTokenEndpointAuthMethod::ClientSecretPost => TokenAuthMethod::ClientSecretPost,
    }
}

fn method_out(m: TokenAuthMethod) -> w::OAuthTokenEndpointAuthMethod {
    match m {
        TokenAuthMethod::None => w::OAuthTokenEndpointAuthMethod::None,
        TokenAuthMethod::ClientSecretBasic => w::OAuthTokenEndpointAuthMethod::ClientSecretBasic,
        TokenAuthMethod::ClientSecretPost => w::OAuthTokenEndpointAuthMethod::ClientSecretPost,
    }
}

/// An OAuth client as the wire shows it (never its secret).
pub fn client(c: &OAuthClient) -> w::OAuthClient {
    w::OAuthClient {
        client_id: c.id.to_string(),
        visibility: match c.visibility {
            Visibility::Private => w::OAuthVisibility::Private,
            Visibility::Public => w::OAuthVisibility::Public,
        },
        client_name: c.client_name.clone(),
        grant_types: c.grant_types.iter().copied().map(grant_out).collect(),
        response_types: c.response_types.iter().copied().map(response_out).collect(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        allowed_cors_origins: c.allowed_cors_origins.clone(),
        scopes: c.scopes.clone(),
        optional_scopes: c.optional_scopes.clone(),
        token_endpoint_auth_method: method_out(c.token_endpoint_auth_method),
        client_uri: c.client_uri.clone(),
        logo_uri: c.logo_uri.clone(),
        policy_uri: c.policy_uri.clone(),
        tos_uri: c.tos_uri.clone(),
        has_rotated_secret: c.has_rotated_secret,
        created_at: c.created_on.to_string(),
        updated_at: c.updated_on.to_string(),
    }
}

/// `GET /accounts/{account_id}/oauth_clients` (the whole list, one page).
pub async fn list(cx: Cx) -> Reply<Vec<w::OAuthClient>> {
    reply(cx.app.list_oauth_clients(&cx.pass), |l| {
        l.iter().map(client).collect()
    })
    .await
}

/// `GET /accounts/{account_id}/oauth_clients/{oauth_client_id}`.
pub async fn get(cx: Cx, ApiPath(p): ApiPath<OAuthClientPath>) -> Reply<w::OAuthClient> {
    reply(
        cx.app.get_oauth_client(&cx.pass, &p.oauth_client_id),
        client,
    )
    .await
}

/// `POST /accounts/{account_id}/oauth_clients`: the result carries the secret, this once.
pub async fn create(
    cx: Cx,
    ApiJson(body): ApiJson<w::OAuthClientCreate>,
) -> Reply<w::OAuthClientCreated> {
    let input = OAuthClientCreate {
        client_name: body.client_name,
        grant_types: body.grant_types.into_iter().map(grant_in).collect(),
        redirect_uris: body.redirect_uris,
        response_types: body.response_types.into_iter().map(response_in).collect(),
        scopes: body.scopes,
        token_endpoint_auth_method: method_in(body.token_endpoint_auth_method),
        allowed_cors_origins: body.allowed_cors_origins,
        client_uri: body.client_uri,
        logo_uri: body.logo_uri,
        optional_scopes: body.optional_scopes,
        policy_uri: body.policy_uri,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        tos_uri: body.tos_uri,
    };
    reply(cx.app.create_oauth_client(&cx.pass, input), |(c, s)| {
        w::OAuthClientCreated {
            client: client(c),
            client_secret: s.clone(),
        }
    })
    .await
}

/// `PATCH /accounts/{account_id}/oauth_clients/{oauth_client_id}`.
pub async fn update(
    cx: Cx,
    ApiPath(p): ApiPath<OAuthClientPath>,
    ApiJson(body): ApiJson<w::OAuthClientUpdate>,
) -> Reply<w::OAuthClient> {
    let input = OAuthClientUpdate {
        client_name: body.client_name,
        grant_types: body
            .grant_types
            .map(|v| v.into_iter().map(grant_in).collect()),
        redirect_uris: body.redirect_uris,
        response_types: body
            .response_types
            .map(|v| v.into_iter().map(response_in).collect()),
        scopes: body.scopes,
        token_endpoint_auth_method: body.token_endpoint_auth_method.map(method_in),
        allowed_cors_origins: body.allowed_cors_origins,
        client_uri: body.client_uri,
        logo_uri: body.logo_uri,
        optional_scopes: body.optional_scopes,
        policy_uri: body.policy_uri,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        tos_uri: body.tos_uri,
        visibility: body
            .visibility
            .map(|w::OAuthPromotion::Public| Visibility::Public),
    };
    reply(
        cx.app
            .update_oauth_client(&cx.pass, &p.oauth_client_id, input),
        client,
    )
    .await
}

/// `DELETE /accounts/{account_id}/oauth_clients/{oauth_client_id}`.
pub async fn delete(cx: Cx, ApiPath(p): ApiPath<OAuthClientPath>) -> Reply<w::IdRef> {
    let id = &p.oauth_client_id;
    deleted(id, cx.app.delete_oauth_client(&cx.pass, id)).await
}

/// `POST …/oauth_clients/{oauth_client_id}/rotate_secret` (no body): the new secret, this once.
pub async fn rotate_secret(
    cx: Cx,
    ApiPath(p): ApiPath<OAuthClientPath>,
) -> Reply<w::OAuthClientSecret> {
    reply(
        cx.app
            .rotate_oauth_client_secret(&cx.pass, &p.oauth_client_id),
        |s| w::OAuthClientSecret {
            client_secret: s.clone(),
        },
    )
    .await
}

/// `DELETE …/oauth_clients/{oauth_client_id}/rotate_secret`: forgets the rotated secret.
pub async fn delete_rotated_secret(
    cx: Cx,
    ApiPath(p): ApiPath<OAuthClientPath>,
) -> Reply<w::IdRef> {
    let id = &p.oauth_client_id;
    deleted(id, cx.app.delete_oauth_rotated_secret(&cx.pass, id)).await
}

/// `GET /oauth/scopes`: the scope catalog, for any authenticated caller.
pub async fn scopes(State(s): State<AppState>, Auth(_caller): Auth) -> Reply<Vec<w::OAuthScope>> {
    let list: &[model::OAuthScope] = s.app.oauth_scopes();
    Ok(ok(list
        .iter()
        .map(|x| w::OAuthScope {
            id: x.id.clone(),
            name: x.name.clone(),
            category: x.category.clone(),
            scopes: x.scopes.clone(),
        })
        .collect()))
}
