//! `/memberships`: a user's own memberships across accounts, and their answer to an invitation.
//!
//! A membership is a member row seen from its user's side; its id is the member id. Only the
//! user it belongs to sees it: another user's id is 404, exactly like an id that does not exist.

use crate::audit::{AuditContext, Origin};
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult, Forbidden};
use crate::ids::MemberId;
use crate::model::{MemberStatus, Membership, MembershipFilter, User};
use crate::page::{Page, PageRequest};
use crate::service::policies::Expanded;
use crate::service::Portcullis;
use crate::store::MemberChanges;
use crate::time::Timestamp;

/// The answer to an invitation (`PUT /memberships/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Join the account: a pending member becomes accepted.
    Accept,
    /// Decline: the pending member is removed.
    Reject,
}

/// A membership as shown: what the user may do in the account's organization area (members,
/// roles, settings: `#organization:read` / `#organization:edit`, decided like any request; a
/// pending membership grants nothing yet), and, for one membership, the member's policies.
#[derive(Debug, Clone)]
pub struct MembershipView {
    /// The membership.
    pub membership: Membership,
    /// `(read, write)` of the organization area.
    pub organization: (bool, bool),
    /// The member with its policies expanded (single reads only).
    pub detail: Option<Expanded<crate::model::Member>>,
}

/// What `PUT /memberships/{id}` did.
#[derive(Debug, Clone)]
pub enum Answered {
    /// The membership, now accepted.
    Accepted(MembershipView),
    /// The invitation was declined and the member removed; this is what it was.
    Rejected(MembershipView),
}

impl Portcullis {
    /// The user behind a credential; account-owned tokens have none (Cloudflare: 400/9106).
    fn membership_user(principal: &Principal) -> CoreResult<&User> {
        principal.user().ok_or_else(|| {
            Forbidden::MembershipsNeedAUser {
                actor: principal.actor(),
            }
            .into()
        })
    }

    async fn own_membership(&self, user: &User, id: &MemberId) -> CoreResult<Membership> {
        self.store()
            .get_membership(&user.id, id)
            .await?
            .ok_or_else(|| CoreError::not_found("membership", id.as_str()))
    }

    async fn view(
        &self,
        principal: &Principal,
        membership: Membership,
        detail: bool,
    ) -> CoreResult<MembershipView> {
        let organization = if membership.member.status == MemberStatus::Accepted {
            let keys = [
                "#organization:read".to_owned(),
                "#organization:edit".to_owned(),
            ];
            let d = self
                .decide_keys(principal, &membership.account.id, &keys)
                .await?;
            (
                d.first().is_some_and(|c| c.allowed),
                d.get(1).is_some_and(|c| c.allowed),
            )
        } else {
            (false, false)
        };
        let detail = if detail {
            Some(
                self.expand_one(&membership.account.id, membership.member.clone())
                    .await?,
            )
        } else {
            None
        };
        Ok(MembershipView {
            membership,
            organization,
            detail,
        })
    }

    /// `GET /memberships`.
    pub async fn list_memberships(
        &self,
        principal: &Principal,
        filter: &MembershipFilter,
        page: PageRequest,
    ) -> CoreResult<Page<MembershipView>> {
        let user = Self::membership_user(principal)?;
        let found = self
            .store()
            .list_memberships(&user.id, filter, page)
            .await?;
        let mut items = Vec::with_capacity(found.items.len());
        for m in found.items {
            items.push(self.view(principal, m, false).await?);
        }
        Ok(Page {
            items,
            total: found.total,
            request: found.request,
        })
    }

    /// `GET /memberships/{id}`: the membership with the member's policies expanded.
    pub async fn get_membership(
        &self,
        principal: &Principal,
        id: &MemberId,
    ) -> CoreResult<MembershipView> {
        let user = Self::membership_user(principal)?;
        let m = self.own_membership(user, id).await?;
        self.view(principal, m, true).await
    }

    /// `PUT /memberships/{id}`: accept (pending → accepted; accepting an accepted membership
    /// changes nothing) or reject a pending invitation (the member is removed). Rejecting an
    /// accepted membership is refused: leaving is `DELETE`.
    pub async fn answer_membership(
        &self,
        principal: &Principal,
        origin: &Origin,
        id: &MemberId,
        answer: Answer,
    ) -> CoreResult<Answered> {
        let audit = AuditContext::new(principal, origin).own_membership();
        let user = Self::membership_user(principal)?;
        let m = self.own_membership(user, id).await?;
        let account = m.account.id.clone();
        match (answer, m.member.status) {
            (Answer::Accept, MemberStatus::Accepted) => {
                Ok(Answered::Accepted(self.view(principal, m, true).await?))
            }
            (Answer::Accept, MemberStatus::Pending) => {
                let changes = MemberChanges {
                    status: Some(MemberStatus::Accepted),
                    grants: None,
                    keep_role: None,
                    new_resource_groups: Vec::new(),
                };
                let member = self
                    .store()
                    .update_member(&account, id, &changes, Timestamp::now(), &audit)
                    .await?
                    .ok_or_else(|| CoreError::not_found("membership", id.as_str()))?;
                let now = Membership {
                    account: m.account,
                    member,
                };
                Ok(Answered::Accepted(self.view(principal, now, true).await?))
            }
            (Answer::Reject, MemberStatus::Pending) => {
                let before = self.view(principal, m, true).await?;
                self.leave(&before.membership, &audit).await?;
                Ok(Answered::Rejected(before))
            }
            (Answer::Reject, MemberStatus::Accepted) => Err(CoreError::invalid(
                "/status",
                "/status: only a pending invitation can be rejected; to leave an account, DELETE /memberships/{id}",
            )),
        }
    }

    /// `DELETE /memberships/{id}`: the user leaves the account (or declines the invitation).
    /// The account's last accepted Super Administrator cannot leave.
    pub async fn delete_membership(
        &self,
        principal: &Principal,
        origin: &Origin,
        id: &MemberId,
    ) -> CoreResult<()> {
        let user = Self::membership_user(principal)?;
        let m = self.own_membership(user, id).await?;
        self.leave(&m, &AuditContext::new(principal, origin).own_membership())
            .await
    }

    async fn leave(&self, m: &Membership, audit: &AuditContext) -> CoreResult<()> {
        let keep = self.keep_super_admin();
        if self
            .store()
            .delete_member(&m.account.id, &m.member.id, keep.as_ref(), audit)
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::not_found("membership", m.member.id.as_str()))
        }
    }
}
