//! API tokens: `/accounts/{account_id}/tokens…` and `/user/tokens…` share one implementation,
//! parameterized by [`TokenScope`].

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use portcullis_core::auth::Principal;
use portcullis_core::ids::AccountId;
use portcullis_core::model::{ApiToken, TokenState};
use portcullis_core::page::{PageRequest, SMALL_LIST};
use portcullis_core::service::access::Authorized;
use portcullis_core::service::tokens::{TokenCreate, TokenScope, TokenUpdate};
use portcullis_core::time::Timestamp;
use portcullis_wire::body as w;
use portcullis_wire::{Detail, Envelope};

use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Authz, EmptyBody};
use crate::handlers::{deleted, ok, reply, reply_page, Reply};
use crate::path::{ApiPath, MaybeAccount, TokenPath};
use crate::query::{query_params, ApiQuery};
use crate::server::AppState;

impl EmptyBody for w::TokenCreate {}
impl EmptyBody for w::TokenUpdate {}

/// Body of a roll request (Cloudflare sends `{}`); any object is accepted.
#[derive(Debug, serde::Deserialize)]
pub struct RollBody {}

impl EmptyBody for RollBody {}

/// Who calls a token route: let in by the gate on `/accounts/{account_id}/tokens…`, the
/// authenticated user on `/user/tokens…`.
pub enum Caller {
    /// An account's tokens.
    Account(Authorized),
    /// The caller's own (user) tokens, and the request (for the audit log).
    User(Principal, portcullis_core::audit::Origin),
}

impl Caller {
    fn scope(&self) -> TokenScope<'_> {
        match self {
            Self::Account(a) => TokenScope::Account(a),
            Self::User(p, origin) => TokenScope::User(p, origin),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.extensions.get::<Authz>().is_some() {
            let Authz(a) = Authz::from_request_parts(parts, state).await?;
            return Ok(Self::Account(a));
        }
        let Auth(p) = Auth::from_request_parts(parts, state).await?;
        Ok(Self::User(p, crate::server::origin_of(parts)))
    }
}

/// The token conversion, with the catalog that names permission groups and the clock that
/// tells `expired`.
fn token_of(s: &AppState) -> impl Fn(&ApiToken) -> w::Token + '_ {
    let now = Timestamp::now();
    move |t| convert::token(t, s.app.catalog(), now)
}

query_params!(
    /// `GET …/tokens`.
    ListQuery {
        page: PageRequest = page(SMALL_LIST),
    }
);

/// List tokens.
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Reply<Vec<w::Token>> {
    reply_page(s.app.list_tokens(&caller.scope(), q.page), token_of(&s)).await
}

/// Create a token; the value is in the response, once.
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<w::TokenCreate>,
) -> Reply<w::TokenCreated> {
    let input = TokenCreate {
        name: body.name,
        policies: convert::token_policy_drafts(&body.policies),
        not_before: body.not_before,
        expires_on: body.expires_on,
        condition: body.condition.as_ref().map(convert::condition_draft),
    };
    let (token, value) = s.app.create_token(&caller.scope(), input).await?;
    Ok(ok(w::TokenCreated {
        token: convert::token(&token, s.app.catalog(), Timestamp::now()),
        value,
    }))
}

/// Get a token.
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<TokenPath>,
) -> Reply<w::Token> {
    reply(s.app.get_token(&caller.scope(), &p.token_id), token_of(&s)).await
}

/// Update a token (absent fields unchanged).
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<TokenPath>,
    ApiJson(body): ApiJson<w::TokenUpdate>,
) -> Reply<w::Token> {
    let state = match body.status {
        None => None,
        Some(w::TokenStatus::Active) => Some(TokenState::Active),
        Some(w::TokenStatus::Disabled) => Some(TokenState::Disabled),
        Some(w::TokenStatus::Expired) => {
            return Err(ApiError::invalid(
                "/status",
                "/status: `expired` cannot be set; set `expires_on` instead (allowed: `active`, `disabled`)",
            ))
        }
    };
    let input = TokenUpdate {
        name: body.name,
        policies: body.policies.as_deref().map(convert::token_policy_drafts),
        state,
        not_before: body.not_before,
        expires_on: body.expires_on,
        condition: body
            .condition
            .map(|c| c.as_ref().map(convert::condition_draft)),
    };
    let scope = caller.scope();
    reply(s.app.update_token(&scope, &p.token_id, input), token_of(&s)).await
}

/// Delete a token.
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<TokenPath>,
) -> Reply<w::IdRef> {
    let id = &p.token_id;
    deleted(id, s.app.delete_token(&caller.scope(), id)).await
}

/// Roll a token's value; the result is the new value (a string).
pub async fn roll(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<TokenPath>,
    ApiJson(_): ApiJson<RollBody>,
) -> Reply<String> {
    let value = s.app.roll_token(&caller.scope(), &p.token_id).await?;
    Ok(ok(value))
}

fn verified(s: &AppState, p: &Principal, account: Option<&AccountId>) -> Reply<w::TokenVerify> {
    let t = s.app.verify_token(p, account)?;
    let now = Timestamp::now();
    Ok(Json(
        Envelope::ok(w::TokenVerify {
            id: t.id.to_string(),
            status: convert::token_status(t.status(now)),
            not_before: t.not_before.map(|x| x.to_string()),
            expires_on: t.expires_on.map(|x| x.to_string()),
        })
        .with_message(Detail::TokenValid.message()),
    ))
}

/// Verify the token the request was made with.
pub async fn verify(
    State(s): State<AppState>,
    Auth(p): Auth,
    MaybeAccount(account): MaybeAccount,
) -> Reply<w::TokenVerify> {
    verified(&s, &p, account.as_ref())
}
