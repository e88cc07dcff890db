//! Operator actions of the CLI: `bootstrap` and `user-key`.

use serde_json::{json, Map};

use crate::catalog::{SCOPE_ACCOUNT, SCOPE_ZONE};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, MemberId, PolicyId, TokenId, UserId};
use crate::model::{
    Access, Account, AccountType, ApiToken, Grants, MemberStatus, TokenCondition, TokenOwner,
    TokenPolicy, TokenState, User,
};
use crate::secret::{hash_secret, new_api_key, new_token_value};
use crate::service::accounts::ACCOUNT_NAME_MAX;
use crate::service::{check_email, check_name, Portcullis};
use crate::store::{Bootstrap, NewMember, NewToken};
use crate::time::Timestamp;

/// What `bootstrap` created; secrets appear only here.
#[derive(Debug, Clone)]
pub struct BootstrapOutput {
    /// The account.
    pub account_id: AccountId,
    /// The operator user.
    pub user_id: UserId,
    /// Their membership.
    pub member_id: MemberId,
    /// Their email.
    pub email: String,
    /// Their global API key.
    pub api_key: String,
    /// The account-owned full-access token's value.
    pub api_token: String,
    /// Its id.
    pub api_token_id: TokenId,
    /// Whether the user existed and had its key replaced (a server running on the database
    /// must hear that before the old key stops working).
    pub replaced_key: bool,
}

/// A key issued by [`Portcullis::user_key`].
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// The user.
    pub user: User,
    /// The new key (shown once).
    pub key: String,
    /// Whether the user existed (its old key stops working).
    pub replaced: bool,
}

/// Why bootstrap refused.
impl Portcullis {
    /// Creates an account, its operator user with a key, that user's Super Administrator
    /// membership and a full-access account token, in one transaction.
    pub async fn bootstrap(
        &self,
        account_name: &str,
        email: &str,
        force_new_account: bool,
    ) -> CoreResult<BootstrapOutput> {
        let name = check_name("--account-name", account_name, ACCOUNT_NAME_MAX)?;
        let email = check_email("--email", email)?;
        let role = self
            .catalog()
            .super_admin_role()
            .ok_or_else(|| CoreError::unavailable("catalog has no Super Administrator role"))?
            .id
            .clone();
        let now = Timestamp::now();
        let account = Account {
            id: AccountId::random(),
            name,
            account_type: AccountType::Standard,
            enforce_twofactor: false,
            abuse_contact_email: None,
            created_on: now,
        };
        // An existing user keeps their id (the store upserts by email).
        let user = User {
            id: UserId::random(),
            email: email.clone(),
            first_name: None,
            last_name: None,
            country: None,
            telephone: None,
            zipcode: None,
            two_factor_enabled: false,
            operator: true,
            created_on: now,
            modified_on: now,
        };
        let api_key = new_api_key();
        let member = NewMember {
            id: MemberId::random(),
            new_user_id: user.id.clone(),
            email: email.clone(),
            status: MemberStatus::Accepted,
            grants: Grants::Roles(vec![role]),
            new_resource_groups: Vec::new(),
            now,
        };
        let account_key = format!("com.cloudflare.api.account.{}", account.id);
        let groups_of = |scope: &str| -> Vec<String> {
            self.catalog()
                .token_groups()
                .iter()
                .filter(|g| g.scopes.iter().any(|s| s == scope))
                .map(|g| g.id.clone())
                .collect()
        };
        let mut policies = Vec::new();
        let account_groups = groups_of(SCOPE_ACCOUNT);
        if !account_groups.is_empty() {
            let mut resources = Map::new();
            resources.insert(account_key.clone(), json!("*"));
            policies.push(TokenPolicy {
                id: PolicyId::random(),
                access: Access::Allow,
                permission_groups: account_groups,
                resources,
            });
        }
        let zone_groups = groups_of(SCOPE_ZONE);
        if !zone_groups.is_empty() {
            let mut resources = Map::new();
            resources.insert(
                account_key,
                json!({"com.cloudflare.api.account.zone.*": "*"}),
            );
            policies.push(TokenPolicy {
                id: PolicyId::random(),
                access: Access::Allow,
                permission_groups: zone_groups,
                resources,
            });
        }
        let token_value = new_token_value();
        let token = ApiToken {
            id: TokenId::random(),
            owner: TokenOwner::Account(account.id.clone()),
            name: "Portcullis bootstrap (full access)".into(),
            state: TokenState::Active,
            issued_on: now,
            modified_on: now,
            last_used_on: None,
            not_before: None,
            expires_on: None,
            condition: TokenCondition::default(),
            policies,
        };
        let plan = Bootstrap {
            account,
            user,
            api_key_hash: hash_secret(&api_key),
            member,
            token: NewToken {
                token,
                secret_hash: hash_secret(&token_value),
            },
            require_empty: !force_new_account,
        };
        self.store()
            .bootstrap(&plan, &crate::audit::AuditContext::cli("bootstrap"))
            .await?;
        let stored_user = self
            .store()
            .user_credentials(&email)
            .await?
            .ok_or_else(|| CoreError::unavailable("bootstrap user missing after commit"))?;
        Ok(BootstrapOutput {
            replaced_key: stored_user.user.id != plan.user.id,
            account_id: plan.account.id,
            user_id: stored_user.user.id,
            member_id: plan.member.id,
            email,
            api_key,
            api_token: token_value,
            api_token_id: plan.token.token.id,
        })
    }

    /// Creates the user if missing and issues a new global API key (the old one stops working).
    pub async fn user_key(&self, email: &str, make_operator: bool) -> CoreResult<IssuedKey> {
        let email = check_email("--email", email)?;
        let key = new_api_key();
        let new_id = UserId::random();
        let user = self
            .store()
            .set_user_key(
                &new_id,
                &email,
                &hash_secret(&key),
                make_operator,
                Timestamp::now(),
                &crate::audit::AuditContext::cli("user-key"),
            )
            .await?;
        Ok(IssuedKey {
            replaced: user.id != new_id,
            user,
            key,
        })
    }
}
