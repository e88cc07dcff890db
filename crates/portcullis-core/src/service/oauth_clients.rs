//! OAuth clients of an account, and the OAuth scope catalog.
//!
//! A client's secret is shown once, when it is created or rotated, and stored only as its
//! SHA-256 hash. Rotating keeps the previous hash as the *rotated* secret (so a deployment can
//! switch over) until `DELETE …/rotate_secret` forgets it; a client holds at most one rotated
//! secret, so rotating again first needs that delete.
//!
//! Changes: no write here records a [`crate::changes::Change`]. The policy index caches members',
//! groups' and tokens' policies, the credential index verified API tokens and user keys; neither
//! reads OAuth clients, and no authorization decision depends on them (Portcullis has no OAuth
//! token endpoint that would authenticate with a client secret). So there is nothing a cache
//! could hold stale, and recording a change would only invalidate unrelated entries. A future
//! token endpoint that caches client secrets must add a change (e.g. `OAuthClient(id)`).

use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, OAuthClientId};
use crate::oauth::{
    self, GrantType, OAuthClient, OAuthScope, ResponseType, TokenAuthMethod, Visibility,
};
use crate::secret;
use crate::service::access::Authorized;
use crate::service::Portcullis;
use crate::time::Timestamp;

/// `POST /accounts/{a}/oauth_clients`, as a command (enumerations already parsed).
#[derive(Debug, Clone)]
pub struct OAuthClientCreate {
    /// Name.
    pub client_name: String,
    /// Grant types.
    pub grant_types: Vec<GrantType>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Response types.
    pub response_types: Vec<ResponseType>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Token endpoint authentication.
    pub token_endpoint_auth_method: TokenAuthMethod,
    /// CORS origins.
    pub allowed_cors_origins: Option<Vec<String>>,
    /// Home page.
    pub client_uri: Option<String>,
    /// Logo.
    pub logo_uri: Option<String>,
    /// Optional scopes.
    pub optional_scopes: Option<Vec<String>>,
    /// Privacy policy.
    pub policy_uri: Option<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Terms of service.
    pub tos_uri: Option<String>,
}

/// `PATCH /accounts/{a}/oauth_clients/{id}`: `None` = unchanged.
#[derive(Debug, Clone, Default)]
pub struct OAuthClientUpdate {
    /// Name.
    pub client_name: Option<String>,
    /// Grant types.
    pub grant_types: Option<Vec<GrantType>>,
    /// Redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Response types.
    pub response_types: Option<Vec<ResponseType>>,
    /// Scopes.
    pub scopes: Option<Vec<String>>,
    /// Token endpoint authentication.
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// CORS origins.
    pub allowed_cors_origins: Option<Vec<String>>,
    /// Home page (`""` clears).
    pub client_uri: Option<String>,
    /// Logo (`""` clears).
    pub logo_uri: Option<String>,
    /// Optional scopes.
    pub optional_scopes: Option<Vec<String>>,
    /// Privacy policy (`""` clears).
    pub policy_uri: Option<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Terms of service (`""` clears).
    pub tos_uri: Option<String>,
    /// Promotion (only `public` is accepted by the wire; always refused, see `update`).
    pub visibility: Option<Visibility>,
}

/// Every field rule of a whole client (create, and update after merging).
pub(crate) fn check_client(c: &OAuthClient) -> CoreResult<()> {
    oauth::check_grant_types(&c.grant_types)?;
    oauth::check_response_types(&c.response_types)?;
    oauth::check_redirect_uris("redirect_uris", &c.redirect_uris, true)?;
    oauth::check_redirect_uris(
        "post_logout_redirect_uris",
        &c.post_logout_redirect_uris,
        false,
    )?;
    oauth::check_origins(&c.allowed_cors_origins)?;
    oauth::check_scopes(&c.scopes, &c.optional_scopes)
}

fn info_uri(field: &str, raw: Option<String>) -> CoreResult<Option<String>> {
    match raw {
        Some(r) => oauth::check_info_uri(field, &r),
        None => Ok(None),
    }
}

fn not_found(id: &OAuthClientId) -> CoreError {
    CoreError::not_found("OAuth client", id.as_str())
}

impl Portcullis {
    async fn find_oauth_client(
        &self,
        account: &AccountId,
        id: &OAuthClientId,
    ) -> CoreResult<OAuthClient> {
        self.store()
            .get_oauth_client(account, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// The OAuth scope catalog (`GET /oauth/scopes`; any authenticated caller).
    pub fn oauth_scopes(&self) -> &'static [OAuthScope] {
        oauth::scope_catalog()
    }

    /// An account's OAuth clients (no secrets).
    pub async fn list_oauth_clients(&self, auth: &Authorized) -> CoreResult<Vec<OAuthClient>> {
        self.store().list_oauth_clients(auth.account()).await
    }

    /// One OAuth client (no secret).
    pub async fn get_oauth_client(
        &self,
        auth: &Authorized,
        id: &OAuthClientId,
    ) -> CoreResult<OAuthClient> {
        self.find_oauth_client(auth.account(), id).await
    }

    /// Creates a client; returns it with its secret, which is shown this once.
    pub async fn create_oauth_client(
        &self,
        auth: &Authorized,
        input: OAuthClientCreate,
    ) -> CoreResult<(OAuthClient, String)> {
        let OAuthClientCreate {
            client_name,
            grant_types,
            redirect_uris,
            response_types,
            scopes,
            token_endpoint_auth_method,
            allowed_cors_origins,
            client_uri,
            logo_uri,
            optional_scopes,
            policy_uri,
            post_logout_redirect_uris,
            tos_uri,
        } = input;
        let now = Timestamp::now();
        let client = OAuthClient {
            id: OAuthClientId::random(),
            account_id: auth.account().clone(),
            client_name: oauth::check_name(&client_name)?,
            grant_types,
            response_types,
            redirect_uris,
            post_logout_redirect_uris: post_logout_redirect_uris.unwrap_or_default(),
            allowed_cors_origins: allowed_cors_origins.unwrap_or_default(),
            scopes,
            optional_scopes: optional_scopes.unwrap_or_default(),
            token_endpoint_auth_method,
            client_uri: info_uri("client_uri", client_uri)?,
            logo_uri: info_uri("logo_uri", logo_uri)?,
            policy_uri: info_uri("policy_uri", policy_uri)?,
            tos_uri: info_uri("tos_uri", tos_uri)?,
            visibility: Visibility::Private,
            has_rotated_secret: false,
            created_on: now,
            updated_on: now,
        };
        check_client(&client)?;
        let value = secret::new_token_value();
        self.store()
            .create_oauth_client(&client, &secret::hash_secret(&value), &auth.audit())
            .await?;
        Ok((client, value))
    }

    /// Changes the given fields; the whole client is checked again after merging.
    pub async fn update_oauth_client(
        &self,
        auth: &Authorized,
        id: &OAuthClientId,
        input: OAuthClientUpdate,
    ) -> CoreResult<OAuthClient> {
        let account = auth.account();
        let mut c = self.find_oauth_client(account, id).await?;
        let OAuthClientUpdate {
            client_name,
            grant_types,
            redirect_uris,
            response_types,
            scopes,
            token_endpoint_auth_method,
            allowed_cors_origins,
            client_uri,
            logo_uri,
            optional_scopes,
            policy_uri,
            post_logout_redirect_uris,
            tos_uri,
            visibility,
        } = input;
        if visibility == Some(Visibility::Public) && c.visibility != Visibility::Public {
            return Err(CoreError::invalid(
                "/visibility",
                "/visibility: promotion to `public` requires a verified client URI host; \
                 Portcullis does not verify client URI hosts, so OAuth clients stay `private`",
            ));
        }
        let before = c.clone();
        if let Some(n) = client_name {
            c.client_name = oauth::check_name(&n)?;
        }
        if let Some(v) = grant_types {
            c.grant_types = v;
        }
        if let Some(v) = redirect_uris {
            c.redirect_uris = v;
        }
        if let Some(v) = response_types {
            c.response_types = v;
        }
        if let Some(v) = scopes {
            c.scopes = v;
        }
        if let Some(v) = token_endpoint_auth_method {
            c.token_endpoint_auth_method = v;
        }
        if let Some(v) = allowed_cors_origins {
            c.allowed_cors_origins = v;
        }
        if let Some(v) = optional_scopes {
            c.optional_scopes = v;
        }
        if let Some(v) = post_logout_redirect_uris {
            c.post_logout_redirect_uris = v;
        }
        if let Some(v) = client_uri {
            c.client_uri = oauth::check_info_uri("client_uri", &v)?;
        }
        if let Some(v) = logo_uri {
            c.logo_uri = oauth::check_info_uri("logo_uri", &v)?;
        }
        if let Some(v) = policy_uri {
            c.policy_uri = oauth::check_info_uri("policy_uri", &v)?;
        }
        if let Some(v) = tos_uri {
            c.tos_uri = oauth::check_info_uri("tos_uri", &v)?;
        }
        check_client(&c)?;
        if c == before {
            return Ok(c);
        }
        c.updated_on = Timestamp::now();
        if self.store().update_oauth_client(&c, &auth.audit()).await? {
            Ok(c)
        } else {
            Err(not_found(id))
        }
    }

    /// Deletes a client and its secrets.
    pub async fn delete_oauth_client(
        &self,
        auth: &Authorized,
        id: &OAuthClientId,
    ) -> CoreResult<()> {
        if self
            .store()
            .delete_oauth_client(auth.account(), id, &auth.audit())
            .await?
        {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// A new secret (shown this once); the previous one is kept as the rotated secret until
    /// [`Self::delete_oauth_rotated_secret`]. Refused while a rotated secret is kept.
    pub async fn rotate_oauth_client_secret(
        &self,
        auth: &Authorized,
        id: &OAuthClientId,
    ) -> CoreResult<String> {
        let account = auth.account();
        let value = secret::new_token_value();
        let done = self
            .store()
            .rotate_oauth_client_secret(
                account,
                id,
                &secret::hash_secret(&value),
                Timestamp::now(),
                &auth.audit(),
            )
            .await?;
        if done {
            return Ok(value);
        }
        // Nothing was written: tell a missing client from one that already has a rotated secret.
        let c = self.find_oauth_client(account, id).await?;
        Err(CoreError::Invalid {
            pointer: None,
            message: format!(
                "OAuth client {} already has a rotated secret; delete it (DELETE …/oauth_clients/{}/rotate_secret) before rotating again",
                c.id, c.id
            ),
        })
    }

    /// Forgets the rotated (previous) secret.
    pub async fn delete_oauth_rotated_secret(
        &self,
        auth: &Authorized,
        id: &OAuthClientId,
    ) -> CoreResult<()> {
        let account = auth.account();
        if self
            .store()
            .delete_oauth_rotated_secret(account, id, Timestamp::now(), &auth.audit())
            .await?
        {
            return Ok(());
        }
        let c = self.find_oauth_client(account, id).await?;
        Err(CoreError::Invalid {
            pointer: None,
            message: format!("OAuth client {} has no rotated secret to delete", c.id),
        })
    }
}
