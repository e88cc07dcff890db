//! Accounts and the current user.

use crate::audit::{AuditContext, Origin};
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult, Forbidden};
use crate::ids::{AccountId, MemberId, UserId};
use crate::model::{Account, AccountType, Grants, MemberStatus, User};
use crate::page::{Page, PageRequest};
use crate::service::access::Authorized;
use crate::service::{check_email, check_name, Portcullis};
use crate::store::{AccountChanges, NewMember, ProfileChanges};
use crate::time::Timestamp;

/// Longest account name.
pub const ACCOUNT_NAME_MAX: usize = 100;

/// Requested account changes (absent = unchanged).
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    /// Name.
    pub name: Option<String>,
    /// Type.
    pub account_type: Option<AccountType>,
    /// Two-factor enforcement.
    pub enforce_twofactor: Option<bool>,
    /// Abuse contact (`Some(None)` clears).
    pub abuse_contact_email: Option<Option<String>>,
}

/// The operator behind `principal`. Operator power comes with the operator's own API key only:
/// a user-owned token never carries it (its policies cannot express it, and a token scoped to
/// one account must not create or delete others).
/// What operators alone may do with accounts (for messages).
const ACCOUNTS: &str = "create or delete accounts";

pub(crate) fn operator<'p>(principal: &'p Principal, action: &'static str) -> CoreResult<&'p User> {
    match principal {
        Principal::User { user, token: None } if user.operator => Ok(user),
        Principal::User {
            user,
            token: Some(_),
        } if user.operator => Err(Forbidden::OperatorNeedsKey {
            actor: principal.actor(),
            action,
        }
        .into()),
        _ => Err(Forbidden::NotOperator {
            actor: principal.actor(),
            action,
        }
        .into()),
    }
}

impl Portcullis {
    /// `GET /user`.
    pub fn current_user(&self, principal: &Principal) -> CoreResult<User> {
        principal.user().cloned().ok_or_else(|| {
            Forbidden::NotAUser {
                actor: principal.actor(),
            }
            .into()
        })
    }

    /// `GET /user`: the caller's user as stored now (the credential index may hold an older
    /// copy of the names).
    pub async fn user_now(&self, principal: &Principal) -> CoreResult<User> {
        let user = self.current_user(principal)?;
        Ok(self.store().get_user(&user.id).await?.unwrap_or(user))
    }

    /// `PATCH /user`: first and last name (at most 60 characters each), country (30),
    /// telephone (20) and zip code (20), Cloudflare's limits. `null` or an empty string clears a
    /// field; an absent one is unchanged. Nothing is written when one field is invalid.
    pub async fn edit_user(
        &self,
        principal: &Principal,
        origin: &Origin,
        edit: &ProfileChanges,
    ) -> CoreResult<User> {
        let user = self.current_user(principal)?;
        let check = |pointer: &str, value: &Option<Option<String>>, max: usize| {
            Ok::<_, CoreError>(match value {
                None => None,
                Some(None) => Some(None),
                Some(Some(v)) if v.trim().is_empty() => Some(None),
                Some(Some(v)) => Some(Some(check_name(pointer, v, max)?)),
            })
        };
        let changes = ProfileChanges {
            first_name: check("/first_name", &edit.first_name, 60)?,
            last_name: check("/last_name", &edit.last_name, 60)?,
            country: check("/country", &edit.country, 30)?,
            telephone: check("/telephone", &edit.telephone, 20)?,
            zipcode: check("/zipcode", &edit.zipcode, 20)?,
        };
        self.store()
            .update_user_profile(
                &user.id,
                &changes,
                Timestamp::now(),
                &AuditContext::new(principal, origin),
            )
            .await?
            .ok_or_else(|| CoreError::not_found("user", user.id.as_str()))
    }

    /// `GET /accounts`: accounts where the user is an accepted member.
    pub async fn list_accounts(
        &self,
        principal: &Principal,
        name: Option<&str>,
        descending: bool,
        page: PageRequest,
    ) -> CoreResult<Page<Account>> {
        let Some(user) = principal.user() else {
            return Err(CoreError::Invalid {
                pointer: None,
                message: "List accounts endpoint does not support account owned tokens.".into(),
            });
        };
        self.store()
            .list_accounts(Some(&user.id), name, descending, page)
            .await
    }

    /// `GET /accounts/{id}`.
    pub async fn get_account(&self, auth: &Authorized) -> CoreResult<Account> {
        let id = auth.account();
        self.store()
            .get_account(id)
            .await?
            .ok_or_else(|| CoreError::not_found("account", id.as_str()))
    }

    /// `PUT /accounts/{id}`.
    pub async fn update_account(
        &self,
        auth: &Authorized,
        update: AccountUpdate,
    ) -> CoreResult<Account> {
        let id = auth.account();
        let name = update
            .name
            .as_deref()
            .map(|n| check_name("/name", n, ACCOUNT_NAME_MAX))
            .transpose()?;
        let abuse_contact_email = match update.abuse_contact_email {
            Some(Some(e)) => Some(Some(check_email("/settings/abuse_contact_email", &e)?)),
            other => other,
        };
        let changes = AccountChanges {
            name,
            account_type: update.account_type,
            enforce_twofactor: update.enforce_twofactor,
            abuse_contact_email,
        };
        self.store()
            .update_account(id, &changes, &auth.audit())
            .await?
            .ok_or_else(|| CoreError::not_found("account", id.as_str()))
    }

    /// `POST /accounts` (operators only). The operator becomes an accepted Super Administrator
    /// of the new account.
    pub async fn create_account(
        &self,
        principal: &Principal,
        origin: &Origin,
        name: &str,
        account_type: Option<AccountType>,
    ) -> CoreResult<Account> {
        let user = operator(principal, ACCOUNTS)?;
        let name = check_name("/name", name, ACCOUNT_NAME_MAX)?;
        let now = Timestamp::now();
        let account = Account {
            id: AccountId::random(),
            name,
            account_type: account_type.unwrap_or(AccountType::Standard),
            enforce_twofactor: false,
            abuse_contact_email: None,
            created_on: now,
        };
        let role = self
            .catalog()
            .super_admin_role()
            .ok_or_else(|| CoreError::unavailable("catalog has no Super Administrator role"))?;
        let owner = NewMember {
            id: MemberId::random(),
            new_user_id: UserId::random(),
            email: user.email.clone(),
            status: MemberStatus::Accepted,
            grants: Grants::Roles(vec![role.id.clone()]),
            new_resource_groups: Vec::new(),
            now,
        };
        self.store()
            .create_account(
                &account,
                Some(&owner),
                &AuditContext::new(principal, origin),
            )
            .await?;
        Ok(account)
    }

    /// `DELETE /accounts/{id}` (operators only): removes the account and everything in it.
    pub async fn delete_account(
        &self,
        principal: &Principal,
        origin: &Origin,
        id: &AccountId,
    ) -> CoreResult<()> {
        operator(principal, ACCOUNTS)?;
        if self
            .store()
            .delete_account(id, &AuditContext::new(principal, origin))
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::not_found("account", id.as_str()))
        }
    }
}
