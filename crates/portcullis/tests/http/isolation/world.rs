//! The two populated accounts and the attackers' credentials.

use serde_json::{json, Map, Value};

use crate::helpers::*;

/// "Administrator": a local, account-scoped member permission group (api-decisions.md).
pub const PG_ADMINISTRATOR: &str = "2e5a4b3d2af5a7bd64c4a79ad4078ff1";
/// Token permission groups (`catalog: api_token`) that together grant every key Portcullis
/// decides inside an account (`permission_keys.json`).
pub const TPG_ACCOUNT_SETTINGS_WRITE: &str = "1af1fa2adc104452b74a9a3364202f20";
pub const TPG_SSO_CONNECTOR_WRITE: &str = "901ca5e292584c6aa1b4cdb39248bb07";
pub const TPG_ACCOUNT_API_TOKENS_WRITE: &str = "5bc3f8b21c554832afc660159ab75fa4";
/// User-scoped token permission group.
pub const TPG_API_TOKENS_WRITE: &str = "686d18d5ac6c441c867cbf6771e58a0a";

/// Every account-scoped token group needed to pass every route's permission check.
pub const FULL_ACCOUNT_GROUPS: [&str; 3] = [
    TPG_ACCOUNT_SETTINGS_WRITE,
    TPG_SSO_CONNECTOR_WRITE,
    TPG_ACCOUNT_API_TOKENS_WRITE,
];

/// One account and the objects in it. Names and emails are distinctive so that any answer
/// mentioning them can be recognised.
#[derive(Debug, Clone)]
pub struct Side {
    pub account: String,
    pub name: String,
    pub admin_member: String,
    pub admin_user: String,
    pub admin_email: String,
    pub member2: String,
    pub member2_user: String,
    pub member2_email: String,
    pub member2_policy: String,
    pub group: String,
    pub group_name: String,
    pub group_policy: String,
    pub rg: String,
    pub rg_name: String,
    pub sso: String,
    pub sso_domain: String,
    pub oauth_client: String,
    pub oauth_client_name: String,
    /// A: the bootstrap token; B: the attackers' account token.
    pub main_token: String,
    pub extra_token: String,
    pub extra_token_name: String,
    /// A user-owned token of the admin.
    pub user_token: String,
    pub user_token_name: String,
    pub user_token_value: String,
}

/// A credential on B's side.
#[derive(Debug, Clone)]
pub struct Attacker {
    pub label: String,
    /// Who is behind the credential (`B admin`, `B's account`, `operator`): what one credential
    /// of a principal stored, another may read back.
    pub principal: &'static str,
    pub cred: Cred,
    /// An operator (may create accounts; may delete any account by design).
    pub operator: bool,
    /// May create user tokens that are then swept as further attackers.
    pub derives: bool,
}

pub struct World {
    pub app: TestApp,
    /// The victim.
    pub a: Side,
    /// The attackers' account.
    pub b: Side,
    /// A's admin (email + key): the dump's credential.
    pub a_admin: Cred,
    pub a_boot_token_value: String,
    pub attackers: Vec<Attacker>,
    /// Every A string that no answer to an attacker may carry unless the request did:
    /// (what, value).
    pub secrets: Vec<(String, String)>,
}

pub fn policy(rgs: &[&str]) -> Value {
    let rgs: Vec<Value> = rgs.iter().map(|id| json!({ "id": id })).collect();
    json!({ "access": "allow", "permission_groups": [{ "id": PG_ADMINISTRATOR }], "resource_groups": rgs })
}

pub fn scope(account: &str, objects: &[&str]) -> Value {
    let objects: Vec<Value> = objects.iter().map(|k| json!({ "key": k })).collect();
    json!({ "key": account_resource(account), "objects": objects })
}

/// A token policy list: `groups` allowed on each of `resource_keys` (`"*"`).
pub fn token_policies(groups: &[&str], resource_keys: &[String]) -> Value {
    let mut resources = Map::new();
    for k in resource_keys {
        resources.insert(k.clone(), json!("*"));
    }
    let groups: Vec<Value> = groups.iter().map(|id| json!({ "id": id })).collect();
    json!([{ "effect": "allow", "permission_groups": groups, "resources": resources }])
}

async fn post_ok(app: &TestApp, path: &str, cred: &Cred, body: Value) -> Value {
    let r = app.post(path, cred, body).await;
    assert_eq!(r.status, 200, "setup: {r}");
    r.ok().clone()
}

fn first_policy_id(v: &Value) -> String {
    str_field(&v["policies"][0], "id")
}

/// Populates one account through its admin; the admin member already exists.
#[allow(clippy::too_many_arguments)]
async fn populate(
    app: &TestApp,
    admin: &Cred,
    account: &str,
    name: &str,
    admin_member: &str,
    admin_user: &str,
    admin_email: &str,
    prefix: &str,
    main_token: String,
) -> Side {
    let acct = |rest: &str| format!("/accounts/{account}{rest}");
    let rg_name = format!("{prefix}-secret-rg");
    let rg = post_ok(
        app,
        &acct("/iam/resource_groups"),
        admin,
        json!({ "name": rg_name, "scope": scope(account, &["*"]) }),
    )
    .await;
    let rg = str_field(&rg, "id");

    let member2_email = format!("{prefix}-member@{prefix}-corp.example");
    let m2 = post_ok(
        app,
        &acct("/members"),
        admin,
        json!({ "email": member2_email, "policies": [policy(&[&rg])], "status": "accepted" }),
    )
    .await;

    let group_name = format!("{prefix}-secret-group");
    let g = post_ok(
        app,
        &acct("/iam/user_groups"),
        admin,
        json!({ "name": group_name, "policies": [policy(&[&rg])] }),
    )
    .await;
    let group = str_field(&g, "id");
    post_ok(
        app,
        &acct(&format!("/iam/user_groups/{group}/members")),
        admin,
        json!([{ "id": str_field(&m2, "id") }]),
    )
    .await;

    let extra_token_name = format!("{prefix}-secret-token");
    let t = post_ok(
        app,
        &acct("/tokens"),
        admin,
        token_body(&extra_token_name, account),
    )
    .await;

    let user_token_name = format!("{prefix}-secret-user-token");
    let ut = post_ok(
        app,
        "/user/tokens",
        admin,
        user_token_body(&user_token_name, admin_user),
    )
    .await;

    let sso_domain = format!("{prefix}-sso.example");
    let sso = post_ok(
        app,
        &acct("/sso_connectors"),
        admin,
        json!({ "email_domain": sso_domain, "begin_verification": false }),
    )
    .await;

    let oauth_client_name = format!("{prefix}-oauth-client");
    let oauth = post_ok(
        app,
        &acct("/oauth_clients"),
        admin,
        json!({
            "client_name": oauth_client_name,
            "grant_types": ["authorization_code"],
            "redirect_uris": ["https://iso.example/cb"],
            "response_types": ["code"],
            "scopes": ["account.read"],
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await;

    Side {
        account: account.to_string(),
        name: name.to_string(),
        admin_member: admin_member.to_string(),
        admin_user: admin_user.to_string(),
        admin_email: admin_email.to_string(),
        member2: str_field(&m2, "id"),
        member2_user: str_field(&m2["user"], "id"),
        member2_email,
        member2_policy: first_policy_id(&m2),
        group,
        group_name,
        group_policy: first_policy_id(&g),
        rg,
        rg_name,
        sso: str_field(&sso, "id"),
        sso_domain,
        oauth_client: str_field(&oauth, "client_id"),
        oauth_client_name,
        main_token,
        extra_token: str_field(&t, "id"),
        extra_token_name,
        user_token: str_field(&ut, "id"),
        user_token_name,
        user_token_value: str_field(&ut, "value"),
    }
}

impl World {
    pub async fn build() -> World {
        // A: bootstrapped (its admin is the bootstrap operator, the victim here).
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = db_url_for(dir.path());
        let guard = db_guard(&db_url);
        let boot = bootstrap(
            &db_url,
            "alpha-victim-corp",
            "alpha-admin@alpha-corp.example",
            &[],
        );
        let app = TestApp::serve_existing(dir, db_url, boot);
        guard.disarm();
        let boot = app.boot.clone();
        let a_admin = Cred::key(&boot.email, &boot.api_key);
        let a = populate(
            &app,
            &a_admin,
            &boot.account_id,
            "alpha-victim-corp",
            &boot.member_id,
            &boot.user_id,
            &boot.email,
            "alpha",
            boot.api_token_id.clone(),
        )
        .await;
        // The operator: not a member of A. It creates B and so becomes B's first Super Administrator.
        let (_, op_key) = app.user_key("bravo-operator@ops-corp.example", true);
        let operator = Cred::key("bravo-operator@ops-corp.example", &op_key);
        let b_account = str_field(
            &post_ok(
                &app,
                "/accounts",
                &operator,
                json!({ "name": "bravo-attacker-corp", "type": "standard" }),
            )
            .await,
            "id",
        );
        // B's admin: another user, accepted Super Administrator of B.
        let b_admin_email = "bravo-admin@bravo-corp.example";
        let bm = app
            .create_member(
                &b_account,
                &operator,
                b_admin_email,
                &[ROLE_SUPER_ADMIN],
                Some("accepted"),
            )
            .await;
        let (b_admin_user, b_admin_key) = app.user_key(b_admin_email, false);
        assert_eq!(
            b_admin_user,
            str_field(&bm["user"], "id"),
            "user-key kept the user id"
        );
        let b_admin = Cred::key(b_admin_email, &b_admin_key);

        // B's account token with every account permission (the attacker's token).
        let (b_token_id, b_token_value) = app
            .create_account_token(
                &b_account,
                &b_admin,
                json!({
                    "name": "bravo-attack-token",
                    "policies": token_policies(&FULL_ACCOUNT_GROUPS, &[account_resource(&b_account)]),
                }),
            )
            .await;
        let b = populate(
            &app,
            &b_admin,
            &b_account,
            "bravo-attacker-corp",
            &str_field(&bm, "id"),
            &b_admin_user,
            b_admin_email,
            "bravo",
            b_token_id,
        )
        .await;
        // B admin's user token: every account permission on any account it is a member of, and
        // its own tokens.
        let mut policies = token_policies(
            &FULL_ACCOUNT_GROUPS,
            &["com.cloudflare.api.account.*".to_string()],
        );
        let user_part = token_policies(
            &[TPG_API_TOKENS_WRITE, PG_USER_DETAILS_READ],
            &[format!("com.cloudflare.api.user.{b_admin_user}")],
        );
        policies
            .as_array_mut()
            .expect("array")
            .extend(user_part.as_array().expect("array").iter().cloned());
        let (_, b_user_token_value) = app
            .create_user_token(
                &b_admin,
                json!({ "name": "bravo-attack-user-token", "policies": policies }),
            )
            .await;

        let attackers = vec![
            Attacker {
                label: "B account token".into(),
                principal: "B's account",
                cred: Cred::token(&b_token_value),
                operator: false,
                derives: true,
            },
            Attacker {
                label: "B admin user token".into(),
                principal: "B admin",
                cred: Cred::token(&b_user_token_value),
                operator: false,
                derives: true,
            },
            Attacker {
                label: "B admin email+key".into(),
                principal: "B admin",
                cred: b_admin,
                operator: false,
                derives: true,
            },
            Attacker {
                label: "operator email+key".into(),
                principal: "operator",
                cred: operator,
                operator: true,
                derives: true,
            },
        ];

        let secrets = vec![
            ("A account id", a.account.clone()),
            ("A account name", a.name.clone()),
            ("A admin member id", a.admin_member.clone()),
            ("A admin user id", a.admin_user.clone()),
            ("A admin email", a.admin_email.clone()),
            ("A member2 id", a.member2.clone()),
            ("A member2 user id", a.member2_user.clone()),
            ("A member2 email", a.member2_email.clone()),
            ("A member2 policy id", a.member2_policy.clone()),
            ("A user group id", a.group.clone()),
            ("A user group name", a.group_name.clone()),
            ("A user group policy id", a.group_policy.clone()),
            ("A resource group id", a.rg.clone()),
            ("A resource group name", a.rg_name.clone()),
            ("A SSO connector id", a.sso.clone()),
            ("A SSO domain", a.sso_domain.clone()),
            ("A OAuth client id", a.oauth_client.clone()),
            ("A OAuth client name", a.oauth_client_name.clone()),
            ("A bootstrap token id", a.main_token.clone()),
            ("A extra token id", a.extra_token.clone()),
            ("A extra token name", a.extra_token_name.clone()),
            ("A admin user token id", a.user_token.clone()),
            ("A admin user token name", a.user_token_name.clone()),
            ("A bootstrap token value", boot.api_token.clone()),
            ("A admin user token value", a.user_token_value.clone()),
            ("A admin API key", boot.api_key.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();

        let w = World {
            app,
            a,
            b,
            a_admin,
            a_boot_token_value: boot.api_token.clone(),
            attackers,
            secrets,
        };
        w.check_attackers_are_strong_in_b().await;
        w
    }

    /// Positive control: every attacker can read and act in B, so a refusal in the sweep is the
    /// account boundary, not a weak credential.
    async fn check_attackers_are_strong_in_b(&self) {
        let b = &self.b;
        for at in &self.attackers {
            for path in [
                format!("/accounts/{}/members/{}", b.account, b.member2),
                format!(
                    "/accounts/{}/iam/user_groups/{}/members/{}",
                    b.account, b.group, b.member2
                ),
                format!("/accounts/{}/iam/resource_groups/{}", b.account, b.rg),
                format!("/accounts/{}/tokens/{}", b.account, b.extra_token),
                format!("/accounts/{}/sso_connectors/{}", b.account, b.sso),
            ] {
                let r = self.app.get(&path, &at.cred).await;
                assert_eq!(r.status, 200, "positive control for {}: {r}", at.label);
            }
            let r = self
                .app
                .post(
                    &format!("/accounts/{}/iam/authorize", b.account),
                    &at.cred,
                    json!({
                        "principal": { "member_id": b.member2 },
                        "checks": [{ "permission": "com.cloudflare.api.account.member.update" }],
                    }),
                )
                .await;
            assert_eq!(r.status, 200, "positive control for {}: {r}", at.label);
        }
    }
}
