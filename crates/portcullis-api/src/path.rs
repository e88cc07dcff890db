//! Typed path parameters. Each route's `{params}` are read into a struct whose fields are the
//! id newtypes, named like the parameters, and parsed once on the way in: a malformed id is
//! 400/7003, a struct that asks for a parameter its route does not have is a programming error
//! (404/7000, and a unit test keeps every route's handler consistent with its path).

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use portcullis_core::ids::{
    AccountId, MemberId, ResourceGroupId, SsoConnectorId, TokenId, UserGroupId,
};
use portcullis_wire::ErrorKind;

use crate::error::ApiError;

/// The path's parameters, each checked to be an id (32 lowercase hex characters).
pub struct PathValues(Vec<(String, String)>);

impl PathValues {
    /// The parameter `name`, parsed.
    pub fn get<I: PathId>(&self, name: &str) -> Option<I> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| I::parse_id(v))
    }
}

/// An id type a path parameter parses into.
pub trait PathId: Sized {
    /// Parses 32 lowercase hex characters.
    fn parse_id(s: &str) -> Option<Self>;
}

macro_rules! path_ids {
    ($($t:ty),*) => {
        $(impl PathId for $t {
            fn parse_id(s: &str) -> Option<Self> {
                <$t>::parse(s)
            }
        })*
    };
}

path_ids!(
    AccountId,
    MemberId,
    ResourceGroupId,
    SsoConnectorId,
    TokenId,
    UserGroupId
);

/// Permission-group ids are catalog keys (32 hex characters), not a newtype of ours.
#[derive(Debug, Clone)]
pub struct PermissionGroupId(pub String);

impl PathId for PermissionGroupId {
    fn parse_id(s: &str) -> Option<Self> {
        portcullis_core::ids::is_id(s).then(|| Self(s.to_owned()))
    }
}

/// A struct of path parameters.
pub trait FromPath: Sized {
    /// The parameter names it reads, in path order.
    const NAMES: &'static [&'static str];
    /// Builds it; `None` when a parameter is missing.
    fn from_path(values: &PathValues) -> Option<Self>;
}

/// Declares a struct of path parameters; each field is named like its `{param}`.
macro_rules! path_struct {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $(#[allow(missing_docs)] pub $field: $ty),+
        }

        impl FromPath for $name {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];
            fn from_path(values: &PathValues) -> Option<Self> {
                Some(Self {
                    $($field: values.get(stringify!($field))?),+
                })
            }
        }
    };
}

path_struct!(
    /// `/accounts/{account_id}`.
    AccountPath { account_id: AccountId }
);
path_struct!(
    /// `…/members/{member_id}`.
    MemberPath { member_id: MemberId }
);
path_struct!(
    /// `…/iam/resource_groups/{resource_group_id}`.
    ResourceGroupPath { resource_group_id: ResourceGroupId }
);
path_struct!(
    /// `…/iam/user_groups/{user_group_id}`.
    UserGroupPath { user_group_id: UserGroupId }
);
path_struct!(
    /// `…/iam/user_groups/{user_group_id}/members/{member_id}`.
    GroupMemberPath {
        user_group_id: UserGroupId,
        member_id: MemberId,
    }
);
path_struct!(
    /// `…/sso_connectors/{sso_connector_id}`.
    SsoPath { sso_connector_id: SsoConnectorId }
);
path_struct!(
    /// `…/tokens/{token_id}`.
    TokenPath { token_id: TokenId }
);
path_struct!(
    /// `…/iam/permission_groups/{permission_group_id}`.
    PermissionGroupPath { permission_group_id: PermissionGroupId }
);

path_struct!(
    /// `/accounts/{account_id}/roles/{role_id}` (role ids are catalog keys, like permission
    /// groups').
    RolePath { role_id: PermissionGroupId }
);

path_struct!(
    /// `/memberships/{membership_id}` (a member id).
    MembershipPath { membership_id: MemberId }
);

/// The account of an account route, when it has one (`/accounts/{account_id}/…`), else `None`
/// (`/user/…`).
#[derive(Debug, Clone)]
pub struct MaybeAccount(pub Option<AccountId>);

/// Extracts path parameters into `T`.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

/// Reads the raw parameters and checks that each is an id.
pub async fn path_values<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<PathValues, ApiError> {
    let raw = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::new(ErrorKind::UnknownRoute))?;
    let mut out = Vec::new();
    for (name, value) in &raw {
        if !portcullis_core::ids::is_id(value) {
            return Err(ApiError::with_message(
                ErrorKind::MalformedPathId,
                format!(
                    "Could not route to {}, perhaps your object identifier is invalid?",
                    parts.uri.path()
                ),
            ));
        }
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(PathValues(out))
}

impl<S: Send + Sync, T: FromPath> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let values = path_values(parts, state).await?;
        T::from_path(&values)
            .map(ApiPath)
            .ok_or_else(|| ApiError::new(ErrorKind::UnknownRoute))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let values = path_values(parts, state).await?;
        Ok(Self(values.get("account_id")))
    }
}

// OAuth clients.
path_ids!(portcullis_core::ids::OAuthClientId);
path_struct!(
    /// `…/oauth_clients/{oauth_client_id}`.
    OAuthClientPath { oauth_client_id: portcullis_core::ids::OAuthClientId }
);
