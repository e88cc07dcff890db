"""End-to-end policy enforcement through the official SDK (cloudflare==5.4.0).

Every account route requires a permission key (crates/portcullis-api/src/routes.rs); the caller's
effective policies decide (crates/portcullis-core/src/service/authorize.rs):
  - a member: own policies or roles (a role = the member permission group of the same name on the
    whole account) + the policies of every user group they are in; only accepted members hold
    permissions;
  - an account-owned token: its own policies; a user-owned token: its policies AND its user's;
  - default deny; a matching deny beats every allow;
  - denied: 403, errors[0] = {10000, "Authentication error"}, error_chain[0].message =
    "Actor '<actor>' requires permission '<key>' to <action>: <reason>".
The decision API (`/iam/authorize`, `/members/{m}/effective_policies`) must give the same answers.

These tests run on their own server (module scope) so the people, groups and tokens they make do
not show up in the other tests' listings.
"""

from __future__ import annotations

import json

import cloudflare
import pytest

from conftest import unique
from helpers import REPO_ROOT, account_key, account_policy
from enforcement_support import (
    K_ACCOUNT_READ,
    K_AUTHORIZE,
    K_MEMBER_CREATE,
    K_MEMBER_LIST,
    K_MEMBER_READ,
    K_MEMBER_UPDATE,
    K_ORG_EDIT,
    K_ORG_READ,
    K_PG_LIST,
    K_RG_CREATE,
    K_RG_LIST,
    K_SSO_EDIT,
    K_SSO_READ,
    K_TOKEN_CREATE,
    K_TOKEN_LIST,
    PG_ADMIN_RO,
    PG_MINIMAL,
    PG_SUPER,
    ROLE_ADMIN_READ_ONLY,
    ROLE_ADMINISTRATOR,
    ROLE_SUPER_ADMIN,
    TPG_SETTINGS_READ,
    TPG_SETTINGS_WRITE,
    TPG_SSO_READ,
    TPG_TOKENS_READ,
    World,
    check_decision_shape,
    decided_by_view,
    enforced,
    expect_denied,
    expect_not_in_account,
    probes,
    start_world,
    stop_world,
    token_actor,
)

GRANTS = json.loads((REPO_ROOT / "crates" / "portcullis-core" / "data" / "permission_keys.json").read_text())["grants"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = start_world(tmp_path_factory.mktemp("enforcement"))
    try:
        yield w
    finally:
        stop_world(w)


def ids(items) -> list:
    return [x.id for x in items]


# --- 1. a member whose only real grant comes from a user group -------------------------------------


def test_group_granted_read_only_member_reads_but_cannot_write(world: World):
    a, op = world.a, world.op
    p = world.person(policies=[world.allow(PG_MINIMAL)])
    c = p.client

    # Minimal Account Access alone: the account itself and the permission groups, nothing else
    # (Cloudflare: "Can view account, and nothing else"): not even the member list.
    assert c.accounts.get(account_id=a).id == a
    expect_denied(lambda: c.accounts.members.list(account_id=a), K_ORG_READ, actor=p.actor, reason="no policy")
    expect_denied(lambda: c.iam.user_groups.list(account_id=a), K_MEMBER_LIST, actor=p.actor, reason="no policy")
    expect_denied(lambda: c.iam.resource_groups.list(account_id=a), K_RG_LIST, actor=p.actor)

    readers = world.group("readers", [world.allow(PG_ADMIN_RO)], [p])

    # reads: allowed through the group
    assert p.member_id in ids(c.accounts.members.list(account_id=a))
    assert readers.id in ids(c.iam.user_groups.list(account_id=a))
    assert c.iam.user_groups.get(readers.id, account_id=a).id == readers.id
    assert p.member_id in ids(c.iam.user_groups.members.list(readers.id, account_id=a))
    assert world.rg_all in ids(c.iam.resource_groups.list(account_id=a))
    assert PG_ADMIN_RO in ids(c.iam.permission_groups.list(account_id=a))
    assert world.env.boot["api_token_id"] in ids(c.accounts.tokens.list(account_id=a))
    c.iam.sso.list(account_id=a)
    assert c.accounts.get(account_id=a).id == a

    # writes: denied, naming the key, and nothing happens
    name = unique("not-made")
    expect_denied(lambda: c.iam.user_groups.create(account_id=a, name=name), K_MEMBER_CREATE, actor=p.actor)
    assert name not in [g.name for g in op.iam.user_groups.list(account_id=a)]
    expect_denied(
        lambda: c.iam.resource_groups.create(
            account_id=a, name=name, scope={"key": account_key(a), "objects": [{"key": "*"}]}
        ),
        K_RG_CREATE, actor=p.actor,
    )
    assert name not in [g.name for g in op.iam.resource_groups.list(account_id=a)]
    expect_denied(
        lambda: c.accounts.tokens.create(account_id=a, name=name, policies=[account_policy(a, TPG_SETTINGS_READ)]),
        K_TOKEN_CREATE, actor=p.actor,
    )
    assert name not in [t.name for t in op.accounts.tokens.list(account_id=a)]
    expect_denied(
        lambda: c.iam.sso.create(account_id=a, email_domain=f"{name}.example.com", begin_verification=False),
        K_SSO_EDIT, actor=p.actor,
    )
    victim = world.person()
    expect_denied(lambda: c.accounts.members.delete(victim.member_id, account_id=a), K_ORG_EDIT, actor=p.actor)
    assert op.accounts.members.get(victim.member_id, account_id=a).id == victim.member_id
    # no self-service escalation: joining a Super Administrator group is a member update
    supers = world.group("supers", [world.allow(PG_SUPER)])
    expect_denied(
        lambda: c.iam.user_groups.members.create(supers.id, account_id=a, members=[{"id": p.member_id}]),
        K_MEMBER_UPDATE, actor=p.actor,
    )
    assert ids(op.iam.user_groups.members.list(supers.id, account_id=a)) == []


def test_roles_grant_the_member_permission_group_of_the_same_name(world: World):
    a = world.a
    admin = world.person(roles=[ROLE_ADMINISTRATOR])
    # Administrator: everything but membership management
    rg = admin.client.iam.resource_groups.create(
        account_id=a, name=unique("by-admin"), scope={"key": account_key(a), "objects": [{"key": "*"}]}
    )
    assert rg.id in ids(world.op.iam.resource_groups.list(account_id=a))
    admin.client.accounts.tokens.list(account_id=a)
    assert world.rg_all in ids(admin.client.iam.resource_groups.list(account_id=a))
    expect_denied(lambda: admin.client.iam.user_groups.create(account_id=a, name=unique("x")), K_MEMBER_CREATE, actor=admin.actor)
    expect_denied(
        lambda: admin.client.accounts.members.create(account_id=a, email=f"{unique('x')}@example.com", roles=[ROLE_ADMIN_READ_ONLY]),
        K_ORG_EDIT, actor=admin.actor,
    )

    ro = world.person(roles=[ROLE_ADMIN_READ_ONLY])
    assert world.rg_all in ids(ro.client.iam.resource_groups.list(account_id=a))
    expect_denied(
        lambda: ro.client.iam.resource_groups.create(
            account_id=a, name=unique("x"), scope={"key": account_key(a), "objects": [{"key": "*"}]}
        ),
        K_RG_CREATE, actor=ro.actor,
    )


# --- 2. deny beats allow ---------------------------------------------------------------------------


def test_a_group_deny_beats_group_and_own_allows(world: World):
    a = world.a
    p = world.person(policies=[world.allow(PG_MINIMAL)])
    c = p.client
    world.group("readers", [world.allow(PG_ADMIN_RO)], [p])
    c.accounts.tokens.list(account_id=a)

    no_tokens = world.group("no-token-reads", [world.deny(TPG_TOKENS_READ)], [p])
    expect_denied(lambda: c.accounts.tokens.list(account_id=a), K_TOKEN_LIST, actor=p.actor, reason="denied by")
    # the rest of the read-only grant still applies
    c.iam.user_groups.list(account_id=a)
    c.accounts.members.list(account_id=a)

    # a deny of the whole read-only set also beats the member's own Minimal Account Access allow
    no_reads = world.group("no-reads", [world.deny(PG_ADMIN_RO)], [p])
    expect_denied(lambda: c.accounts.members.list(account_id=a), K_ORG_READ, actor=p.actor, reason="denied by")
    expect_denied(lambda: c.iam.user_groups.list(account_id=a), K_MEMBER_LIST, actor=p.actor, reason="denied by")

    world.leave(no_reads.id, p)
    c.accounts.members.list(account_id=a)
    expect_denied(lambda: c.accounts.tokens.list(account_id=a), K_TOKEN_LIST, actor=p.actor)
    world.leave(no_tokens.id, p)
    c.accounts.tokens.list(account_id=a)


def test_a_deny_beats_even_a_super_administrator_role(world: World):
    a = world.a
    boss = world.person(roles=[ROLE_SUPER_ADMIN])
    boss.client.accounts.tokens.list(account_id=a)
    world.group("boss-no-token-reads", [world.deny(TPG_TOKENS_READ)], [boss])
    expect_denied(lambda: boss.client.accounts.tokens.list(account_id=a), K_TOKEN_LIST, actor=boss.actor, reason="denied by")
    # keys outside the denied group stay allowed
    t = boss.client.accounts.tokens.create(account_id=a, name=unique("boss"), policies=[account_policy(a, TPG_SETTINGS_READ)])
    world.op.accounts.tokens.delete(t.id, account_id=a)


# --- 3. leaving a group revokes its grants at once -------------------------------------------------


def test_removal_from_the_group_revokes_its_grants_immediately(world: World):
    a = world.a
    p = world.person(policies=[world.allow(PG_MINIMAL)])
    c = p.client
    readers = world.group("readers", [world.allow(PG_ADMIN_RO)], [p])
    c.iam.user_groups.list(account_id=a)
    c.iam.resource_groups.list(account_id=a)

    world.leave(readers.id, p)
    expect_denied(lambda: c.iam.user_groups.list(account_id=a), K_MEMBER_LIST, actor=p.actor)
    expect_denied(lambda: c.iam.resource_groups.list(account_id=a), K_RG_LIST, actor=p.actor)
    expect_denied(lambda: c.accounts.tokens.list(account_id=a), K_TOKEN_LIST, actor=p.actor)
    # the member's own policy is untouched
    c.accounts.get(account_id=a)
    expect_denied(lambda: c.accounts.members.list(account_id=a), K_ORG_READ, actor=p.actor)

    # back in: allowed again; the group deleted: gone again
    world.join(readers.id, p)
    c.iam.user_groups.list(account_id=a)
    world.op.iam.user_groups.delete(readers.id, account_id=a)
    expect_denied(lambda: c.iam.user_groups.list(account_id=a), K_MEMBER_LIST, actor=p.actor)

    # a group policy changed from allow to deny takes effect on the next request
    g = world.group("flip", [world.allow(PG_ADMIN_RO)], [p])
    c.iam.resource_groups.list(account_id=a)
    world.op.iam.user_groups.update(g.id, account_id=a, name=g.name, policies=[world.deny(PG_ADMIN_RO)])
    expect_denied(lambda: c.iam.resource_groups.list(account_id=a), K_RG_LIST, actor=p.actor, reason="denied by")
    expect_denied(lambda: c.accounts.members.list(account_id=a), K_ORG_READ, actor=p.actor, reason="denied by")


# --- 4. account-owned tokens -----------------------------------------------------------------------


def test_account_token_holds_exactly_its_permission_groups(world: World):
    a = world.a
    sso_t, sso = world.account_token(TPG_SSO_READ)
    sso.iam.sso.list(account_id=a)
    expect_denied(lambda: sso.accounts.members.list(account_id=a), K_ORG_READ, actor=token_actor(sso_t.id), reason="token's policies")
    expect_denied(lambda: sso.iam.user_groups.list(account_id=a), K_MEMBER_LIST, actor=token_actor(sso_t.id))
    expect_denied(
        lambda: sso.iam.sso.create(account_id=a, email_domain=f"{unique('t')}.example.com", begin_verification=False),
        K_SSO_EDIT, actor=token_actor(sso_t.id),
    )

    rd_t, rd = world.account_token(TPG_SETTINGS_READ)
    actor = token_actor(rd_t.id)
    assert world.env.boot["member_id"] in ids(rd.accounts.members.list(account_id=a))
    rd.iam.user_groups.list(account_id=a)
    rd.iam.resource_groups.list(account_id=a)
    email = f"{unique('nope')}@example.com"
    expect_denied(lambda: rd.accounts.members.create(account_id=a, email=email, roles=[ROLE_ADMIN_READ_ONLY]), K_ORG_EDIT, actor=actor)
    assert email not in [m.email for m in world.op.accounts.members.list(account_id=a)]
    expect_denied(lambda: rd.iam.user_groups.create(account_id=a, name=unique("x")), K_MEMBER_CREATE, actor=actor)
    expect_denied(lambda: rd.accounts.tokens.list(account_id=a), K_TOKEN_LIST, actor=actor)
    expect_denied(lambda: rd.iam.sso.list(account_id=a), K_SSO_READ, actor=actor)


def test_account_token_deny_policy_beats_its_allow(world: World):
    a = world.a
    t, c = world.account_token(
        TPG_SETTINGS_WRITE, extra_policies=[account_policy(a, TPG_SETTINGS_READ, effect="deny")]
    )
    expect_denied(lambda: c.accounts.members.list(account_id=a), K_ORG_READ, actor=token_actor(t.id), reason="denied by")
    expect_denied(lambda: c.iam.resource_groups.list(account_id=a), K_RG_LIST, actor=token_actor(t.id), reason="denied by")
    # keys only the Write group grants are not denied
    c.iam.resource_groups.create(account_id=a, name=unique("tw"), scope={"key": account_key(a), "objects": [{"key": "*"}]})


# --- 5. user-owned tokens: the intersection of the token's and its user's permissions --------------


def test_user_token_is_capped_by_its_user(world: World):
    a = world.a
    p = world.person(policies=[world.allow(PG_MINIMAL)])
    world.group("readers", [world.allow(PG_ADMIN_RO)], [p])
    t = p.client.user.tokens.create(name=unique("mine"), policies=[account_policy(a, TPG_SETTINGS_WRITE)])
    tc = world.env.token_client(t.value)
    actor = token_actor(t.id)

    # both allow
    tc.accounts.members.list(account_id=a)
    tc.iam.user_groups.list(account_id=a)
    # the token allows, the user does not
    expect_denied(lambda: p.client.iam.user_groups.create(account_id=a, name=unique("x")), K_MEMBER_CREATE, actor=p.actor)
    expect_denied(lambda: tc.iam.user_groups.create(account_id=a, name=unique("x")), K_MEMBER_CREATE, actor=actor, reason="member's policies")
    expect_denied(
        lambda: tc.iam.resource_groups.create(account_id=a, name=unique("x"), scope={"key": account_key(a), "objects": [{"key": "*"}]}),
        K_RG_CREATE, actor=actor,
    )
    # the user allows, the token does not
    p.client.iam.sso.list(account_id=a)
    expect_denied(lambda: tc.iam.sso.list(account_id=a), K_SSO_READ, actor=actor, reason="token's policies")
    p.client.accounts.tokens.list(account_id=a)
    expect_denied(lambda: tc.accounts.tokens.list(account_id=a), K_TOKEN_LIST, actor=actor)

    # the user becomes a super administrator (through a group): the token may now do what it allows
    world.group("supers", [world.allow(PG_SUPER)], [p])
    made = tc.iam.user_groups.create(account_id=a, name=unique("by-user-token"))
    assert made.id in ids(world.op.iam.user_groups.list(account_id=a))
    # ... and still nothing beyond its own permission groups
    expect_denied(lambda: tc.iam.sso.list(account_id=a), K_SSO_READ, actor=actor)
    expect_denied(
        lambda: tc.accounts.tokens.create(account_id=a, name=unique("x"), policies=[account_policy(a, TPG_SETTINGS_READ)]),
        K_TOKEN_CREATE, actor=actor,
    )


# --- 6. the decision API agrees with enforcement and explains itself -------------------------------


def _enforcement_matches_decisions(world: World, principal, client, actor, keys):
    out = {}
    for key in keys:
        d = world.decide(principal, key)
        got = enforced(client, world.a, key, actor=actor)
        assert d["allowed"] == got, f"{key}: decision {d!r} but enforcement {'allowed' if got else 'denied'}"
        out[key] = d
    return out


def test_decisions_match_enforcement_and_name_the_deciding_policies(world: World):
    a = world.a
    p = world.person(policies=[world.allow(PG_MINIMAL)])
    own_policy = p.member.policies[0].id
    readers = world.group("readers", [world.allow(PG_ADMIN_RO)], [p])
    deniers = world.group("deniers", [world.deny(TPG_TOKENS_READ)], [p])
    readers_policy, deny_policy = readers.policies[0].id, deniers.policies[0].id
    principal = {"member_id": p.member_id}

    ds = _enforcement_matches_decisions(world, principal, p.client, p.actor, list(probes(a)))
    assert ds[K_MEMBER_LIST]["allowed"] and ds[K_RG_LIST]["allowed"] and ds[K_SSO_READ]["allowed"]
    assert not ds[K_TOKEN_LIST]["allowed"] and not ds[K_MEMBER_CREATE]["allowed"]

    # allowed only by the group
    d = ds[K_MEMBER_LIST]
    assert decided_by_view(d) == [(readers_policy, "allow", "user_group", readers.id)], d
    assert d["decided_by"][0]["source"]["user_group"] == {"id": readers.id, "name": readers.name}, d
    # allowed by the member's own policy and by the group
    d = ds[K_ACCOUNT_READ]
    assert decided_by_view(d) == sorted(
        [(own_policy, "allow", "member", None), (readers_policy, "allow", "user_group", readers.id)]
    ), d
    # denied by the deny group (deny beats the readers' allow)
    d = ds[K_TOKEN_LIST]
    assert decided_by_view(d) == [(deny_policy, "deny", "user_group", deniers.id)], d
    assert d["decided_by"][0]["source"]["user_group"] == {"id": deniers.id, "name": deniers.name}, d
    assert "denied" in d["reason"], d
    # default deny: nothing decided
    d = ds[K_MEMBER_CREATE]
    assert d["decided_by"] == [] and "no policy" in d["reason"], d

    # a permission-group id: every key it grants must be allowed
    assert world.decide(principal, PG_MINIMAL)["allowed"] is True
    assert world.decide(principal, TPG_SSO_READ)["allowed"] is True
    d = world.decide(principal, PG_ADMIN_RO)
    assert d["allowed"] is False and (deny_policy, "deny", "user_group", deniers.id) in decided_by_view(d), d
    # the account itself, named explicitly
    assert world.decide(principal, K_MEMBER_LIST, account_key(a))["allowed"] is True
    # several checks at once, answered in order
    many = world.authorize(principal, [{"permission": K_RG_LIST}, {"permission": K_TOKEN_LIST}, {"permission": K_ORG_EDIT}])
    assert [(x["permission"], x["allowed"]) for x in many] == [(K_RG_LIST, True), (K_TOKEN_LIST, False), (K_ORG_EDIT, False)]

    # leaving the deny group: the decision flips, and so does enforcement
    world.leave(deniers.id, p)
    ds = _enforcement_matches_decisions(world, principal, p.client, p.actor, [K_TOKEN_LIST])
    assert decided_by_view(ds[K_TOKEN_LIST]) == [(readers_policy, "allow", "user_group", readers.id)]


def test_token_decisions_match_enforcement(world: World):
    a = world.a
    t, tc = world.account_token(TPG_SSO_READ)
    tok_policy = t.policies[0].id
    ds = _enforcement_matches_decisions(world, {"token_id": t.id}, tc, token_actor(t.id), [K_SSO_READ, K_ORG_READ, K_SSO_EDIT])
    assert ds[K_SSO_READ]["allowed"] and not ds[K_ORG_READ]["allowed"] and not ds[K_SSO_EDIT]["allowed"]
    assert decided_by_view(ds[K_SSO_READ]) == [(tok_policy, "allow", "token", t.id)], ds[K_SSO_READ]
    assert ds[K_ORG_READ]["decided_by"] == [], ds[K_ORG_READ]

    # a user-owned token: both layers must allow, and both are named
    p = world.person(policies=[world.allow(PG_MINIMAL)])
    readers = world.group("readers", [world.allow(PG_ADMIN_RO)], [p])
    ut = p.client.user.tokens.create(name=unique("mine"), policies=[account_policy(a, TPG_SETTINGS_WRITE)])
    utc = world.env.token_client(ut.value)
    ds = _enforcement_matches_decisions(
        world, {"token_id": ut.id}, utc, token_actor(ut.id), [K_ORG_READ, K_MEMBER_LIST, K_MEMBER_CREATE, K_SSO_READ]
    )
    assert ds[K_ORG_READ]["allowed"] and ds[K_MEMBER_LIST]["allowed"]
    assert not ds[K_MEMBER_CREATE]["allowed"] and not ds[K_SSO_READ]["allowed"]
    view = decided_by_view(ds[K_MEMBER_LIST])
    assert (readers.policies[0].id, "allow", "user_group", readers.id) in view, view
    assert (ut.policies[0].id, "allow", "token", ut.id) in view, view
    assert "member's policies" in ds[K_MEMBER_CREATE]["reason"], ds[K_MEMBER_CREATE]
    assert "token's policies" in ds[K_SSO_READ]["reason"], ds[K_SSO_READ]


def test_decision_api_requires_the_authorize_key(world: World):
    a = world.a
    t, _ = world.account_token(TPG_SETTINGS_READ)
    r = world.authorize_raw({"member_id": world.env.boot["member_id"]}, [{"permission": K_ORG_READ}], token=t.value)
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["errors"][0]["code"] == 10000, body
    msg = body["errors"][0]["error_chain"][0]["message"]
    assert msg.startswith(f"Actor '{token_actor(t.id)}' requires permission '{K_AUTHORIZE}' to "), msg
    # a token with Account Settings Write holds it
    t2, _ = world.account_token(TPG_SETTINGS_WRITE)
    r = world.authorize_raw({"member_id": world.env.boot["member_id"]}, [{"permission": K_ORG_READ}], token=t2.value)
    assert r.status_code == 200 and r.json()["result"][0]["allowed"] is True, r.text
    check_decision_shape(r.json()["result"][0])


def test_effective_policies_list_own_role_and_group_policies_with_sources(world: World):
    a = world.a
    p = world.person(policies=[world.allow(PG_MINIMAL)])
    readers = world.group("readers", [world.allow(PG_ADMIN_RO)], [p])
    deniers = world.group("deniers", [world.deny(TPG_TOKENS_READ)], [p])
    rg_name = next(g.name for g in world.op.iam.resource_groups.list(account_id=a) if g.id == world.rg_all)

    ep = world.effective_policies(p.member_id)
    assert ep["member_id"] == p.member_id and ep["email"] == p.info["email"] and ep["status"] == "accepted", ep
    pols = ep["policies"]
    assert len(pols) == 3, pols
    own = pols[0]  # own first
    assert own["id"] == p.member.policies[0].id and own["access"] == "allow", own
    assert own["source"] == {"kind": "member"}, own
    assert own["permission_groups"] == [{"id": PG_MINIMAL, "name": "Minimal Account Access"}], own
    assert own["resource_groups"] == [{"id": world.rg_all, "name": rg_name}], own
    assert sorted(own["permissions"]) == sorted(GRANTS["Minimal Account Access"]), own
    assert own["resources"] == ["*"], own
    by_group = {x["source"]["user_group"]["id"]: x for x in pols[1:]}
    assert set(by_group) == {readers.id, deniers.id}, pols
    r = by_group[readers.id]
    assert r["id"] == readers.policies[0].id and r["access"] == "allow", r
    assert r["source"] == {"kind": "user_group", "user_group": {"id": readers.id, "name": readers.name}}, r
    assert r["permission_groups"] == [{"id": PG_ADMIN_RO, "name": "Administrator Read Only"}], r
    assert sorted(r["permissions"]) == sorted(GRANTS["Administrator Read Only"]), r
    d = by_group[deniers.id]
    assert d["id"] == deniers.policies[0].id and d["access"] == "deny", d
    assert d["permission_groups"] == [{"id": TPG_TOKENS_READ, "name": "Account API Tokens Read"}], d
    assert sorted(d["permissions"]) == sorted(GRANTS["Account API Tokens Read"]), d

    # a member with a role: the role is a policy of its own
    q = world.person(roles=[ROLE_ADMIN_READ_ONLY])
    world.join(readers.id, q)
    ep = world.effective_policies(q.member_id)
    pols = ep["policies"]
    assert len(pols) == 2, pols
    role = pols[0]
    assert role["id"] == ROLE_ADMIN_READ_ONLY and role["access"] == "allow", role
    assert role["source"] == {"kind": "role", "role": {"id": ROLE_ADMIN_READ_ONLY, "name": "Administrator Read Only"}}, role
    assert role["permission_groups"] == [{"id": PG_ADMIN_RO, "name": "Administrator Read Only"}], role
    assert role["resource_groups"] == [] and role["resources"] == ["*"], role
    assert sorted(role["permissions"]) == sorted(GRANTS["Administrator Read Only"]), role
    assert pols[1]["source"]["kind"] == "user_group" and pols[1]["source"]["user_group"]["id"] == readers.id, pols

    # leaving a group removes its policies from the list
    world.leave(readers.id, q)
    assert [x["source"]["kind"] for x in world.effective_policies(q.member_id)["policies"]] == ["role"]

    # reading effective policies requires member.read: a token without it is refused
    t, _ = world.account_token(TPG_SSO_READ)
    r = world._raw(t.value).get(f"/accounts/{a}/members/{q.member_id}/effective_policies")
    assert r.status_code == 403, r.text
    assert f"requires permission '{K_MEMBER_READ}'" in r.json()["errors"][0]["error_chain"][0]["message"], r.text


# --- 7. pending members hold nothing ---------------------------------------------------------------


def test_pending_member_is_denied_even_as_super_administrator(world: World):
    a = world.a
    p = world.person(roles=[ROLE_SUPER_ADMIN], status="pending")
    world.group("pending-supers", [world.allow(PG_SUPER)], [p])
    c = p.client
    for call in (
        lambda: c.accounts.get(account_id=a),
        lambda: c.accounts.members.list(account_id=a),
        lambda: c.iam.user_groups.list(account_id=a),
        lambda: c.iam.user_groups.create(account_id=a, name=unique("x")),
        lambda: c.accounts.tokens.list(account_id=a),
        lambda: c.iam.permission_groups.list(account_id=a),
    ):
        expect_not_in_account(call, actor=p.actor)

    d = world.decide({"member_id": p.member_id}, K_ORG_READ)
    assert d["allowed"] is False and d["decided_by"] == [], d
    assert "pending" in d["reason"] or "accepted" in d["reason"], d
    assert world.decide({"member_id": p.member_id}, PG_SUPER)["allowed"] is False
    ep = world.effective_policies(p.member_id)
    assert ep["status"] == "pending", ep
    assert [x["source"]["kind"] for x in ep["policies"]] == ["role", "user_group"], ep

    # the pending user's own token is no better: naming the account is refused (a user-owned
    # token may name only accounts its user can act in) ...
    with pytest.raises(cloudflare.BadRequestError) as refused:
        c.user.tokens.create(name=unique("pending"), policies=[account_policy(a, TPG_SETTINGS_READ)])
    pointer = f"/policies/0/resources/com.cloudflare.api.account.{a}"
    assert refused.value.body["errors"][0]["source"]["pointer"] == pointer, refused.value.body
    # ... and one over "all accounts" acts in none where the user is pending
    all_accounts = account_policy(a, TPG_SETTINGS_READ)
    all_accounts["resources"] = {"com.cloudflare.api.account.*": "*"}
    t = c.user.tokens.create(name=unique("pending"), policies=[all_accounts])
    tc = world.env.token_client(t.value)
    expect_not_in_account(lambda: tc.accounts.members.list(account_id=a), actor=token_actor(t.id))
    d = world.decide({"token_id": t.id}, K_ORG_READ)
    assert d["allowed"] is False and d["decided_by"] == [], d
