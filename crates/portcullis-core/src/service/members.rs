//! Account members.

use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, MemberId, PolicyId, UserId};
use crate::model::{Grants, Member, MemberFilter, MemberStatus, ResourceGroup};
use crate::page::{Page, PageRequest};
use crate::service::access::Authorized;
use crate::service::policies::{Expanded, PolicyDraft};
use crate::service::{check_email, Portcullis};
use crate::store::{KeepRole, MemberChanges, NewMember};
use crate::time::Timestamp;

/// `POST /accounts/{a}/members`.
#[derive(Debug, Clone)]
pub struct MemberCreate {
    /// Email.
    pub email: String,
    /// Roles (`Some`) — exactly one of roles and policies must be given.
    pub roles: Option<Vec<String>>,
    /// Policies.
    pub policies: Option<Vec<PolicyDraft>>,
    /// Status (default pending).
    pub status: Option<MemberStatus>,
}

/// `PUT /accounts/{a}/members/{m}`.
#[derive(Debug, Clone, Default)]
pub struct MemberUpdate {
    /// Replacement roles.
    pub roles: Option<Vec<String>>,
    /// Replacement policies.
    pub policies: Option<Vec<PolicyDraft>>,
    /// New status.
    pub status: Option<MemberStatus>,
}

impl Portcullis {
    /// An empty list is allowed: a member may hold no direct grants and get access from user
    /// groups only.
    fn check_roles(&self, roles: &[String]) -> CoreResult<Vec<String>> {
        let mut out: Vec<String> = Vec::with_capacity(roles.len());
        for (i, id) in roles.iter().enumerate() {
            let p = format!("/roles/{i}");
            if self.catalog().role(id).is_none() {
                return Err(CoreError::invalid(
                    &p,
                    format!("{p}: role `{id}` does not exist"),
                ));
            }
            if out.contains(id) {
                return Err(CoreError::invalid(
                    &p,
                    format!("{p}: role `{id}` is listed twice"),
                ));
            }
            out.push(id.clone());
        }
        Ok(out)
    }

    async fn check_grants(
        &self,
        account: &AccountId,
        roles: Option<&Vec<String>>,
        policies: Option<&Vec<PolicyDraft>>,
        existing: &[PolicyId],
        required: bool,
    ) -> CoreResult<(Option<Grants>, Vec<ResourceGroup>)> {
        let invalid = |message: &str| CoreError::Invalid {
            pointer: Some("/roles".into()),
            message: message.into(),
        };
        match (roles, policies) {
            (Some(_), Some(_)) => Err(invalid("give either `roles` or `policies`, not both")),
            (None, None) if required => Err(invalid("one of `roles` or `policies` is required")),
            (None, None) => Ok((None, Vec::new())),
            (Some(roles), None) => Ok((Some(Grants::Roles(self.check_roles(roles)?)), Vec::new())),
            // `policies: []` (like `roles: []`): no direct grants; access comes from groups.
            (None, Some(drafts)) => {
                let valid = self
                    .validate_policies(account, drafts, existing, "/policies")
                    .await?;
                Ok((Some(Grants::Policies(valid.policies)), valid.new_groups))
            }
        }
    }

    /// The rule every member change keeps: an account never loses its last accepted Super
    /// Administrator (checked by the store inside the write's transaction).
    pub(crate) fn keep_super_admin(&self) -> Option<KeepRole> {
        self.catalog().super_admin_role().map(|r| KeepRole {
            id: r.id.clone(),
            name: r.name.clone(),
        })
    }

    /// `GET /accounts/{a}/members`.
    pub async fn list_members(
        &self,
        auth: &Authorized,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> CoreResult<Page<Expanded<Member>>> {
        let account = auth.account();
        let page = self.store().list_members(account, filter, page).await?;
        self.expand_page(account, page).await
    }

    /// `GET /accounts/{a}/members/{m}`.
    pub async fn get_member(
        &self,
        auth: &Authorized,
        id: &MemberId,
    ) -> CoreResult<Expanded<Member>> {
        let account = auth.account();
        let member = self
            .store()
            .get_member(account, id)
            .await?
            .ok_or_else(|| CoreError::not_found("member", id.as_str()))?;
        self.expand_one(account, member).await
    }

    /// `POST /accounts/{a}/members`.
    pub async fn create_member(
        &self,
        auth: &Authorized,
        input: MemberCreate,
    ) -> CoreResult<Expanded<Member>> {
        let account = auth.account();
        let email = check_email("/email", &input.email)?;
        let (grants, new_resource_groups) = self
            .check_grants(
                account,
                input.roles.as_ref(),
                input.policies.as_ref(),
                &[],
                true,
            )
            .await?;
        let grants =
            grants.ok_or_else(|| CoreError::unavailable("grants missing after validation"))?;
        self.ensure_can_grant(
            auth,
            &self.granted_group_names(&grants),
            &format!("membership of `{email}`"),
        )
        .await?;
        let member = NewMember {
            id: MemberId::random(),
            new_user_id: UserId::random(),
            email,
            status: input.status.unwrap_or(MemberStatus::Pending),
            grants,
            new_resource_groups,
            now: Timestamp::now(),
        };
        let created = self
            .store()
            .create_member(account, &member, &auth.audit())
            .await?;
        self.expand_one(account, created).await
    }

    /// `PUT /accounts/{a}/members/{m}`.
    pub async fn update_member(
        &self,
        auth: &Authorized,
        id: &MemberId,
        input: MemberUpdate,
    ) -> CoreResult<Expanded<Member>> {
        let account = auth.account();
        let current = self
            .store()
            .get_member(account, id)
            .await?
            .ok_or_else(|| CoreError::not_found("member", id.as_str()))?;
        let existing: Vec<PolicyId> = match &current.grants {
            Grants::Policies(p) => p.iter().map(|p| p.id.clone()).collect(),
            Grants::Roles(_) => Vec::new(),
        };
        let (grants, new_resource_groups) = self
            .check_grants(
                account,
                input.roles.as_ref(),
                input.policies.as_ref(),
                &existing,
                false,
            )
            .await?;
        let status = input.status.unwrap_or(current.status);
        // New grants, or accepting a membership on someone's behalf, hand out permissions.
        let activating =
            status == MemberStatus::Accepted && current.status != MemberStatus::Accepted;
        if grants.is_some() || activating {
            let effective = grants.as_ref().unwrap_or(&current.grants);
            self.ensure_can_grant(
                auth,
                &self.granted_group_names(effective),
                &format!("membership of `{}`", current.user.email),
            )
            .await?;
        }

        let changes = MemberChanges {
            status: input.status,
            grants,
            keep_role: self.keep_super_admin(),
            new_resource_groups,
        };
        let updated = self
            .store()
            .update_member(account, id, &changes, Timestamp::now(), &auth.audit())
            .await?
            .ok_or_else(|| CoreError::not_found("member", id.as_str()))?;
        self.expand_one(account, updated).await
    }

    /// `DELETE /accounts/{a}/members/{m}`.
    pub async fn delete_member(&self, auth: &Authorized, id: &MemberId) -> CoreResult<()> {
        let account = auth.account();
        if self
            .store()
            .delete_member(account, id, self.keep_super_admin().as_ref(), &auth.audit())
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::not_found("member", id.as_str()))
        }
    }
}
