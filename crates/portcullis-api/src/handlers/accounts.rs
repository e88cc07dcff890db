//! Accounts and `GET /user`.

use axum::extract::State;
use portcullis_core::page::{PageRequest, SMALL_LIST};
use portcullis_core::service::accounts::AccountUpdate;
use portcullis_core::store::ProfileChanges;
use portcullis_wire::body as w;

use crate::convert;
use crate::extract::{ApiJson, Auth, Authz, Cx, EmptyBody, Req};
use crate::handlers::{deleted, reply, reply_page, Reply};
use crate::path::{AccountPath, ApiPath};
use crate::query::{query_params, ApiQuery};
use crate::server::AppState;

impl EmptyBody for w::AccountCreate {}
impl EmptyBody for w::AccountUpdate {}
impl EmptyBody for w::UserEdit {}

/// `GET /user`.
pub async fn me(State(s): State<AppState>, Auth(p): Auth) -> Reply<w::User> {
    reply(s.app.user_now(&p), convert::user).await
}

/// `PATCH /user`.
pub async fn edit_me(
    State(s): State<AppState>,
    Auth(p): Auth,
    Req(origin): Req,
    ApiJson(body): ApiJson<w::UserEdit>,
) -> Reply<w::User> {
    let edit = ProfileChanges {
        first_name: body.first_name,
        last_name: body.last_name,
        country: body.country,
        telephone: body.telephone,
        zipcode: body.zipcode,
    };
    reply(s.app.edit_user(&p, &origin, &edit), convert::user).await
}

query_params!(
    /// `GET /accounts`.
    ListQuery {
        name: Option<String> = name("name", "Only accounts with this name (case-insensitive)."),
        descending: bool = descending(
            "direction",
            "`asc` (default) or `desc` (accounts are sorted by name)."
        ),
        page: PageRequest = page(SMALL_LIST),
    }
);

/// `GET /accounts`.
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Reply<Vec<w::Account>> {
    let list = s
        .app
        .list_accounts(&p, q.name.as_deref(), q.descending, q.page);
    reply_page(list, convert::account).await
}

/// `GET /accounts/{account_id}`.
pub async fn get(State(s): State<AppState>, Authz(a): Authz) -> Reply<w::Account> {
    reply(s.app.get_account(&a), convert::account).await
}

/// `PUT /accounts/{account_id}`.
pub async fn update(cx: Cx, ApiJson(body): ApiJson<w::AccountUpdate>) -> Reply<w::Account> {
    let settings = body.settings.unwrap_or_default();
    let update = AccountUpdate {
        name: body.name,
        account_type: body.account_type.map(convert::account_type_in),
        enforce_twofactor: settings.enforce_twofactor,
        abuse_contact_email: settings.abuse_contact_email,
    };
    reply(cx.app.update_account(&cx.pass, update), convert::account).await
}

/// `POST /accounts` (operators).
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    Req(origin): Req,
    ApiJson(body): ApiJson<w::AccountCreate>,
) -> Reply<w::Account> {
    let kind = body.account_type.map(convert::account_type_in);
    reply(
        s.app.create_account(&p, &origin, &body.name, kind),
        convert::account,
    )
    .await
}

/// `DELETE /accounts/{account_id}` (operators).
pub async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    Req(origin): Req,
    ApiPath(AccountPath { account_id: id }): ApiPath<AccountPath>,
) -> Reply<w::IdRef> {
    deleted(&id, s.app.delete_account(&p, &origin, &id)).await
}
