//! User groups and their members.

use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, MemberId, PolicyId, UserGroupId};
use crate::model::{GroupMember, GroupMemberFilter, UserGroup, UserGroupFilter};
use crate::page::{Page, PageRequest};
use crate::service::access::Authorized;
use crate::service::policies::{Expanded, PolicyDraft, ValidPolicies};
use crate::service::{check_name, Portcullis};
use crate::time::Timestamp;

/// Longest user-group name.
pub const USER_GROUP_NAME_MAX: usize = 255;

/// How a members body applies to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersChange {
    /// Add to the current members (POST).
    Add,
    /// Replace the current members (PUT).
    Replace,
}

/// Parses member ids of an add/replace body (`[{"id": ...}]`), dropping repeats.
pub fn member_ids(ids: &[String]) -> CoreResult<Vec<MemberId>> {
    let mut out: Vec<MemberId> = Vec::with_capacity(ids.len());
    for (i, raw) in ids.iter().enumerate() {
        let p = format!("/{i}/id");
        let id = MemberId::parse(raw).ok_or_else(|| {
            CoreError::invalid(
                &p,
                format!("{p}: `{raw}` is not a member id (32 lowercase hex characters)"),
            )
        })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

impl Portcullis {
    async fn find_user_group(
        &self,
        account: &AccountId,
        id: &UserGroupId,
    ) -> CoreResult<UserGroup> {
        self.store()
            .get_user_group(account, id)
            .await?
            .ok_or_else(|| CoreError::not_found("user group", id.as_str()))
    }

    /// A page of user groups.
    pub async fn list_user_groups(
        &self,
        auth: &Authorized,
        filter: &UserGroupFilter,
        page: PageRequest,
    ) -> CoreResult<Page<Expanded<UserGroup>>> {
        let account = auth.account();
        let page = self.store().list_user_groups(account, filter, page).await?;
        self.expand_page(account, page).await
    }

    /// One user group.
    pub async fn get_user_group(
        &self,
        auth: &Authorized,
        id: &UserGroupId,
    ) -> CoreResult<Expanded<UserGroup>> {
        let account = auth.account();
        let group = self.find_user_group(account, id).await?;
        self.expand_one(account, group).await
    }

    /// Creates a user group, with or without policies.
    pub async fn create_user_group(
        &self,
        auth: &Authorized,
        name: &str,
        policies: Option<&[PolicyDraft]>,
    ) -> CoreResult<Expanded<UserGroup>> {
        let account = auth.account();
        let name = check_name("/name", name, USER_GROUP_NAME_MAX)?;
        let valid = match policies {
            Some(drafts) => {
                self.validate_policies(account, drafts, &[], "/policies")
                    .await?
            }
            None => ValidPolicies::default(),
        };
        let policies = valid.policies;
        self.ensure_can_grant(
            auth,
            &self.allowed_group_names(&policies),
            &format!("user group `{name}`"),
        )
        .await?;
        let now = Timestamp::now();
        let group = UserGroup {
            id: UserGroupId::random(),
            account_id: account.clone(),
            name,
            policies,
            created_on: now,
            modified_on: now,
        };
        self.store()
            .create_user_group(&group, &valid.new_groups, &auth.audit())
            .await?;
        self.expand_one(account, group).await
    }

    /// Updates a user group: absent fields unchanged; `policies` replaces the set (an entry
    /// naming an existing policy id keeps that id).
    pub async fn update_user_group(
        &self,
        auth: &Authorized,
        id: &UserGroupId,
        name: Option<&str>,
        policies: Option<&[PolicyDraft]>,
    ) -> CoreResult<Expanded<UserGroup>> {
        let account = auth.account();
        let current = self.find_user_group(account, id).await?;
        let name = name
            .map(|n| check_name("/name", n, USER_GROUP_NAME_MAX))
            .transpose()?;
        let valid = match policies {
            Some(drafts) => {
                let existing: Vec<PolicyId> =
                    current.policies.iter().map(|p| p.id.clone()).collect();
                Some(
                    self.validate_policies(account, drafts, &existing, "/policies")
                        .await?,
                )
            }
            None => None,
        };
        let (policies, new_groups) = match valid {
            Some(v) => (Some(v.policies), v.new_groups),
            None => (None, Vec::new()),
        };
        if name.is_none() && policies.is_none() {
            return self.expand_one(account, current).await;
        }
        if let Some(p) = &policies {
            self.ensure_can_grant(
                auth,
                &self.allowed_group_names(p),
                &format!("user group `{}`", current.name),
            )
            .await?;
        }
        let updated = self
            .store()
            .update_user_group(
                account,
                id,
                name.as_deref(),
                policies.as_deref(),
                &new_groups,
                Timestamp::now(),
                &auth.audit(),
            )
            .await?
            .ok_or_else(|| CoreError::not_found("user group", id.as_str()))?;
        self.expand_one(account, updated).await
    }

    /// Deletes a user group (its memberships go with it).
    pub async fn delete_user_group(&self, auth: &Authorized, id: &UserGroupId) -> CoreResult<()> {
        let account = auth.account();
        if self
            .store()
            .delete_user_group(account, id, &auth.audit())
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::not_found("user group", id.as_str()))
        }
    }

    /// A page of a group's members.
    pub async fn list_group_members(
        &self,
        auth: &Authorized,
        group: &UserGroupId,
        filter: &GroupMemberFilter,
        page: PageRequest,
    ) -> CoreResult<Page<GroupMember>> {
        let account = auth.account();
        self.store()
            .list_group_members(account, group, filter, page)
            .await?
            .ok_or_else(|| CoreError::not_found("user group", group.as_str()))
    }

    /// One member of a group.
    pub async fn get_group_member(
        &self,
        auth: &Authorized,
        group: &UserGroupId,
        member: &MemberId,
    ) -> CoreResult<GroupMember> {
        let account = auth.account();
        self.store()
            .get_group_member(account, group, member)
            .await?
            .ok_or_else(|| CoreError::not_found("member", member.as_str()))
    }

    /// Adds members (`Add`: idempotent for members already in the group) or replaces the set
    /// (`Replace`: `[]` empties it); all or nothing. Putting someone in a group gives them the
    /// group's permissions, so the caller must hold them (no escalation).
    pub async fn put_group_members(
        &self,
        auth: &Authorized,
        group: &UserGroupId,
        ids: &[String],
        change: MembersChange,
    ) -> CoreResult<Vec<GroupMember>> {
        let account = auth.account();
        let ids = member_ids(ids)?;
        if !ids.is_empty() {
            let g = self.find_user_group(account, group).await?;
            self.ensure_can_grant(
                auth,
                &self.allowed_group_names(&g.policies),
                &format!("membership of user group `{}`", g.name),
            )
            .await?;
        }
        let now = Timestamp::now();
        match change {
            MembersChange::Add => {
                self.store()
                    .add_group_members(account, group, &ids, now, &auth.audit())
                    .await
            }
            MembersChange::Replace => {
                self.store()
                    .replace_group_members(account, group, &ids, now, &auth.audit())
                    .await
            }
        }
    }

    /// Removes one member from a group; returns the removed member.
    pub async fn remove_group_member(
        &self,
        auth: &Authorized,
        group: &UserGroupId,
        member: &MemberId,
    ) -> CoreResult<GroupMember> {
        let account = auth.account();
        self.store()
            .remove_group_member(account, group, member, Timestamp::now(), &auth.audit())
            .await?
            .ok_or_else(|| CoreError::not_found("member", member.as_str()))
    }
}
