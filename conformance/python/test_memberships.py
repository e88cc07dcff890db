"""client.memberships (the caller's member rows in every account) and client.user.edit."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import cloudflare
import pytest

from conftest import RequestRecorder, unique, unique_email
from helpers import (
    ERR_BAD_TOKEN,
    ERR_NOT_FOUND,
    ERR_NOT_PERMITTED,
    ERR_VALIDATION,
    PG_ADMIN_READ_ONLY,
    ROLE_ADMIN_READ_ONLY,
    ROLE_SUPER_ADMIN,
    TPG_ACCOUNT_SETTINGS_READ,
    account_key,
    account_policy,
    check_expanded_policy,
    error_pointer,
    expect_error,
    group_policy,
    iter_unique,
    one_scope,
    raw_ok,
    scope_obj,
)

ERR_NO_USER = 9106  # an account-owned token has no user, so no memberships

READ_ONLY = "Administrator Read Only"
SUPER_ADMIN_NAME = "Super Administrator - All Privileges"


# --- helpers -----------------------------------------------------------------------------------


def invite(key_client, account_id: str, email: str, **kwargs: Any):
    """An invitation (pending by default) of `email` to `account_id` as Administrator Read Only."""
    if "policies" not in kwargs:
        kwargs.setdefault("roles", [ROLE_ADMIN_READ_ONLY])
    return key_client.accounts.members.create(account_id=account_id, email=email, **kwargs)


def invited_user(env, key_client, account_id: str, **kwargs: Any) -> Tuple[Dict[str, Any], Any, Any]:
    """A fresh user with their own API key, invited to `account_id`: (user-key info, client, member)."""
    email = unique_email("ms")
    member = invite(key_client, account_id, email, **kwargs)
    info, client = env.new_user_client(email)
    assert info["user_id"] == member.user.id, "user-key must give the invited user a key"
    return info, client, member


def raw_list(client, **params: Any) -> List[Dict[str, Any]]:
    return raw_ok(client.memberships.with_raw_response.list(**params), paginated=True)


def check_membership_shape(m: Dict[str, Any], *, with_policies: bool = False) -> None:
    assert isinstance(m.get("id"), str) and len(m["id"]) == 32, m
    assert m.get("status") in ("accepted", "pending"), m
    acct = m.get("account")
    assert isinstance(acct, dict), m
    assert isinstance(acct.get("id"), str) and isinstance(acct.get("name"), str), m
    assert isinstance(m.get("roles"), list) and all(isinstance(r, str) for r in m["roles"]), m
    org = (m.get("permissions") or {}).get("organization")
    assert isinstance(org, dict), m
    assert isinstance(org.get("read"), bool) and isinstance(org.get("write"), bool), m
    if with_policies:
        assert isinstance(m.get("policies"), list), f"membership lacks policies: {m!r}"


@pytest.fixture(scope="module")
def account_name(key_client, account_id) -> str:
    return key_client.accounts.get(account_id=account_id).name


@pytest.fixture(scope="module")
def sandbox(key_client):
    """A second account (created by the operator) with a unique name."""
    acct = key_client.accounts.create(name=unique("Memberships Sandbox"))
    yield {"id": acct.id, "name": acct.name}
    key_client.accounts.delete(account_id=acct.id)


@pytest.fixture
def account_token(key_client, account_id):
    t = key_client.accounts.tokens.create(
        account_id=account_id,
        name=unique("ms-account-token"),
        policies=[account_policy(account_id, TPG_ACCOUNT_SETTINGS_READ)],
    )
    yield t
    key_client.accounts.tokens.delete(t.id, account_id=account_id)


# --- list / get ----------------------------------------------------------------------------------


def test_a_pending_invitation_is_listed(env, key_client, account_id, account_name):
    info, user, member = invited_user(env, key_client, account_id)
    assert member.status == "pending"
    raw = user.memberships.with_raw_response.list()
    result = raw_list(user)
    assert [m["id"] for m in result] == [member.id], "membership id == member id; only the caller's rows"
    m = result[0]
    check_membership_shape(m)
    assert m["status"] == "pending"
    assert m["account"]["id"] == account_id
    assert m["account"]["name"] == account_name
    assert m["roles"] == [READ_ONLY]
    assert m["permissions"]["organization"] == {"read": False, "write": False}, "pending holds nothing"
    page = raw.parse()
    assert page.result_info.total_count == 1
    model = page.result[0]
    assert model.id == member.id and model.status == "pending" and model.account.id == account_id
    assert model.roles == [READ_ONLY]

    got = raw_ok(user.memberships.with_raw_response.get(member.id))
    check_membership_shape(got, with_policies=True)
    assert got["id"] == member.id
    assert got["status"] == "pending"
    assert got["account"]["id"] == account_id and got["account"]["name"] == account_name
    assert got["roles"] == [READ_ONLY]
    assert got["permissions"]["organization"] == {"read": False, "write": False}
    assert {k: v for k, v in got.items() if k != "policies"} == m
    model = user.memberships.get(member.id)
    assert model.id == member.id and model.status == "pending"
    assert isinstance(model.policies, list)

    # a pending member cannot read the account yet
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: user.accounts.get(account_id=account_id),
    )


def test_the_bootstrap_admin_sees_their_membership(key_client, boot, account_id, account_name):
    got = raw_ok(key_client.memberships.with_raw_response.get(boot["member_id"]))
    check_membership_shape(got, with_policies=True)
    assert got["status"] == "accepted"
    assert got["account"]["id"] == account_id and got["account"]["name"] == account_name
    assert got["roles"] == [SUPER_ADMIN_NAME]
    assert got["permissions"]["organization"] == {"read": True, "write": True}
    mine = [m for m in key_client.memberships.list(account={"name": account_name}, per_page=50)]
    assert boot["member_id"] in [m.id for m in mine]


def test_a_policy_member_shows_expanded_policies(env, key_client, account_id):
    rg = key_client.iam.resource_groups.create(
        account_id=account_id, name=unique("ms-rg"), scope=scope_obj(account_id, "*")
    )
    try:
        _, user, member = invited_user(
            env, key_client, account_id, policies=[group_policy([PG_ADMIN_READ_ONLY], [rg.id])]
        )
        raw = user.memberships.with_raw_response.get(member.id)
        got = raw_ok(raw)
        check_membership_shape(got, with_policies=True)
        assert len(got["policies"]) == 1, got
        p = got["policies"][0]
        check_expanded_policy(p)
        assert p["access"] == "allow"
        assert [g["id"] for g in p["permission_groups"]] == [PG_ADMIN_READ_ONLY]
        assert [r["id"] for r in p["resource_groups"]] == [rg.id]
        scope = one_scope(p["resource_groups"][0])
        assert scope["key"] == account_key(account_id)
        assert [o["key"] for o in scope["objects"]] == ["*"]
        # the SDK's own (strict) models accept the shape
        model = raw.parse()
        assert model.policies[0].resource_groups[0].id == rg.id
        key_client.accounts.members.delete(member.id, account_id=account_id)
    finally:
        key_client.iam.resource_groups.delete(rg.id, account_id=account_id)


def test_list_filters_and_order(env, key_client, account_id, account_name, sandbox):
    info, user, pending = invited_user(env, key_client, account_id)
    accepted = invite(key_client, sandbox["id"], info["email"], status="accepted")
    assert accepted.status == "accepted"
    both = {pending.id, accepted.id}

    everything = raw_list(user)
    assert {m["id"] for m in everything} == both
    by_id = {m["id"]: m for m in everything}
    assert by_id[accepted.id]["status"] == "accepted"
    assert by_id[accepted.id]["account"]["name"] == sandbox["name"]
    assert by_id[accepted.id]["permissions"]["organization"] == {"read": True, "write": False}

    # status
    assert [m["id"] for m in raw_list(user, status="accepted")] == [accepted.id]
    assert [m["id"] for m in raw_list(user, status="pending")] == [pending.id]
    raw = user.memberships.with_raw_response.list(status="rejected")
    assert raw_ok(raw, paginated=True) == []
    assert raw.json()["result_info"]["total_count"] == 0

    # account name: the SDK sends `account.name`
    rec = RequestRecorder()
    recorded = env.key_client(info["email"], info["api_key"], http_client=rec.http_client())
    got = list(recorded.memberships.list(account={"name": sandbox["name"]}))
    assert [m.id for m in got] == [accepted.id]
    assert rec.requests, rec.paths()
    assert rec.requests[0].url.params.get("account.name") == sandbox["name"], rec.paths()
    assert [m["id"] for m in raw_list(user, account={"name": account_name})] == [pending.id]
    assert raw_list(user, account={"name": unique("No Such Account")}) == []
    assert [m.id for m in user.memberships.list(name=sandbox["name"])] == [accepted.id]

    # order / direction
    asc = [m["status"] for m in raw_list(user, order="status")]
    assert asc == ["accepted", "pending"]
    desc = [m["status"] for m in raw_list(user, order="status", direction="desc")]
    assert desc == ["pending", "accepted"]
    assert [m["id"] for m in raw_list(user, order="id")] == sorted(both)
    assert [m["id"] for m in raw_list(user, order="id", direction="desc")] == sorted(both, reverse=True)
    names = [m["account"]["name"] for m in raw_list(user, order="account.name")]
    assert names == sorted(names, key=str.lower)
    names_desc = [m["account"]["name"] for m in raw_list(user, order="account.name", direction="desc")]
    assert names_desc == list(reversed(names))
    asc_default = [m["account"]["name"] for m in raw_list(user, direction="asc")]
    assert asc_default == names, "account.name is the default order"

    # pagination: per_page is clamped to 5..50; a page past the end is empty
    first = user.memberships.list(per_page=1)
    assert first.result_info.per_page == 5 and first.result_info.total_count == 2
    assert len(first.result) == 2
    walked = iter_unique(user.memberships.list(per_page=5), lambda m: m.id)
    assert {m.id for m in walked} == both
    past = user.memberships.list(per_page=5, page=2)
    assert past.result == [] and past.result_info.total_count == 2

    key_client.accounts.members.delete(accepted.id, account_id=sandbox["id"])


def test_invalid_order_is_rejected(env):
    _, user = env.new_user_client()
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: user.memberships.list(order="bogus"),  # type: ignore[arg-type]
    )
    assert error_pointer(err, ERR_VALIDATION) == "/query/order", err.body


def test_a_fresh_user_has_no_memberships(env):
    _, user = env.new_user_client()
    raw = user.memberships.with_raw_response.list()
    assert raw_ok(raw, paginated=True) == []
    assert raw.json()["result_info"]["total_count"] == 0


# --- accept / reject / leave ---------------------------------------------------------------------


def test_accepting_an_invitation(env, key_client, account_id):
    _, user, member = invited_user(env, key_client, account_id)
    raw = user.memberships.with_raw_response.update(member.id, status="accepted")
    m = raw_ok(raw)
    check_membership_shape(m)
    assert m["id"] == member.id and m["status"] == "accepted"
    assert m["roles"] == [READ_ONLY]
    assert m["permissions"]["organization"]["read"] is True
    assert raw.parse().status == "accepted"

    assert user.accounts.get(account_id=account_id).id == account_id
    got = user.memberships.get(member.id)
    assert got.status == "accepted"
    assert got.permissions.organization.read is True
    assert got.permissions.organization.write is False
    assert key_client.accounts.members.get(member.id, account_id=account_id).status == "accepted"

    # idempotent
    again = raw_ok(user.memberships.with_raw_response.update(member.id, status="accepted"))
    assert again["id"] == member.id and again["status"] == "accepted"
    assert user.memberships.get(member.id).status == "accepted"
    assert user.accounts.get(account_id=account_id).id == account_id

    key_client.accounts.members.delete(member.id, account_id=account_id)


def test_rejecting_an_invitation_removes_it(env, key_client, account_id, sandbox):
    info, user, first = invited_user(env, key_client, account_id)
    second = invite(key_client, sandbox["id"], info["email"])
    assert second.status == "pending"
    raw = user.memberships.with_raw_response.update(second.id, status="rejected")
    m = raw_ok(raw)
    assert m["id"] == second.id and m["status"] == "rejected", m
    assert m["account"]["id"] == sandbox["id"], m
    assert raw.parse().status == "rejected"

    admin_view = [x.id for x in key_client.accounts.members.list(account_id=sandbox["id"], per_page=50)]
    assert second.id not in admin_view
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.accounts.members.get(second.id, account_id=sandbox["id"]),
    )
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: user.memberships.get(second.id))
    assert [x["id"] for x in raw_list(user)] == [first.id], "the other invitation is untouched"
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: user.accounts.get(account_id=sandbox["id"]),
    )

    key_client.accounts.members.delete(first.id, account_id=account_id)


def test_an_accepted_membership_cannot_be_rejected(env, key_client, account_id):
    _, user, member = invited_user(env, key_client, account_id, status="accepted")
    assert member.status == "accepted"
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: user.memberships.update(member.id, status="rejected"),
    )
    assert user.memberships.get(member.id).status == "accepted"
    assert key_client.accounts.members.get(member.id, account_id=account_id).status == "accepted"
    key_client.accounts.members.delete(member.id, account_id=account_id)


def test_leaving_an_account(env, key_client, account_id):
    _, user, member = invited_user(env, key_client, account_id)
    user.memberships.update(member.id, status="accepted")
    raw = user.memberships.with_raw_response.delete(member.id)
    assert raw_ok(raw) == {"id": member.id}
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: user.memberships.get(member.id))
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: user.memberships.delete(member.id))
    assert member.id not in [x.id for x in key_client.accounts.members.list(account_id=account_id, per_page=50)]
    assert raw_list(user) == []
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: user.accounts.get(account_id=account_id),
    )


def test_another_users_membership_is_not_found(env, key_client, boot, account_id):
    _, owner, member = invited_user(env, key_client, account_id)
    _, stranger = env.new_user_client()
    for call in (
        lambda: stranger.memberships.get(member.id),
        lambda: stranger.memberships.update(member.id, status="accepted"),
        lambda: stranger.memberships.update(member.id, status="rejected"),
        lambda: stranger.memberships.delete(member.id),
        lambda: stranger.memberships.get(boot["member_id"]),
        lambda: stranger.memberships.delete(boot["member_id"]),
    ):
        expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, call)
    assert owner.memberships.get(member.id).status == "pending"
    assert key_client.accounts.members.get(member.id, account_id=account_id).status == "pending"
    key_client.accounts.members.delete(member.id, account_id=account_id)


def test_unknown_membership_is_not_found(key_client):
    for call in (
        lambda: key_client.memberships.get("a" * 32),
        lambda: key_client.memberships.update("a" * 32, status="accepted"),
        lambda: key_client.memberships.delete("a" * 32),
    ):
        expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, call)


def test_the_last_super_administrator_cannot_leave(key_client, boot, account_id):
    supers = [
        m for m in key_client.accounts.members.list(account_id=account_id, status="accepted", per_page=50)
        if ROLE_SUPER_ADMIN in [r.id for r in m.roles]
    ]
    assert [m.id for m in supers] == [boot["member_id"]], "precondition: the bootstrap admin is the only one"
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.memberships.delete(boot["member_id"]),
    )
    assert key_client.memberships.get(boot["member_id"]).status == "accepted"
    assert key_client.accounts.get(account_id=account_id).id == account_id

    # the same in an account the operator just created
    acct = key_client.accounts.create(name=unique("Ms Last SA"))
    try:
        mine = [m.id for m in key_client.memberships.list(account={"name": acct.name})]
        assert len(mine) == 1
        expect_error(cloudflare.BadRequestError, 400, ERR_VALIDATION, lambda: key_client.memberships.delete(mine[0]))
        assert key_client.memberships.get(mine[0]).status == "accepted"
    finally:
        key_client.accounts.delete(account_id=acct.id)


# --- account-owned tokens have no user -----------------------------------------------------------


def test_an_account_token_has_no_memberships_and_no_user(env, account_token):
    tc = env.token_client(account_token.value)
    expect_error(cloudflare.BadRequestError, 400, ERR_NO_USER, lambda: tc.memberships.list())
    expect_error(cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN, lambda: tc.user.get())


# --- user.edit -----------------------------------------------------------------------------------

PROFILE = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "country": "GB",
    "telephone": "+44 20 7946 0000",
    "zipcode": "SW1A 1AA",
}


def test_edit_user(env):
    info, user = env.new_user_client()
    raw = user.user.with_raw_response.edit(**PROFILE)
    u = raw_ok(raw)
    assert u["id"] == info["user_id"] and u["email"] == info["email"]
    assert {k: u.get(k) for k in PROFILE} == PROFILE
    model = raw.parse()
    assert model.first_name == "Ada" and model.zipcode == "SW1A 1AA"
    got = raw_ok(user.user.with_raw_response.get())
    assert {k: got.get(k) for k in PROFILE} == PROFILE
    assert got["id"] == info["user_id"]

    # a partial edit leaves the other fields alone
    u = user.user.edit(first_name="Augusta")
    assert u.first_name == "Augusta" and u.last_name == "Lovelace" and u.country == "GB"
    got = raw_ok(user.user.with_raw_response.get())
    assert {k: got.get(k) for k in PROFILE} == {**PROFILE, "first_name": "Augusta"}


def test_edit_user_maximum_lengths_are_accepted(env):
    _, user = env.new_user_client()
    longest = {"first_name": "f" * 60, "last_name": "l" * 60, "country": "c" * 30, "telephone": "1" * 20,
               "zipcode": "z" * 20}
    u = raw_ok(user.user.with_raw_response.edit(**longest))
    assert {k: u.get(k) for k in longest} == longest


@pytest.mark.parametrize(
    "field,length", [("first_name", 61), ("last_name", 61), ("country", 31), ("telephone", 21), ("zipcode", 21)]
)
def test_edit_user_rejects_too_long_values(env, field, length):
    _, user = env.new_user_client()
    user.user.edit(**PROFILE)
    changes = {"first_name": "Grace", field: "9" * length}
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION, lambda: user.user.edit(**changes)
    )
    assert error_pointer(err, ERR_VALIDATION) == f"/{field}", err.body
    got = raw_ok(user.user.with_raw_response.get())
    assert {k: got.get(k) for k in PROFILE} == PROFILE, "nothing is written"


def test_edit_user_null_clears_a_field(env):
    info, _ = env.new_user_client()
    rec = RequestRecorder()
    user = env.key_client(info["email"], info["api_key"], http_client=rec.http_client())
    user.user.edit(**PROFILE)
    rec.requests.clear()
    raw = user.user.with_raw_response.edit(first_name=None, zipcode=None)
    sent = json.loads(rec.requests[-1].content)
    assert sent == {"first_name": None, "zipcode": None}, sent
    u = raw_ok(raw)
    assert u.get("first_name") is None and u.get("zipcode") is None, u
    assert u["last_name"] == "Lovelace" and u["country"] == "GB" and u["telephone"] == PROFILE["telephone"]
    got = raw_ok(user.user.with_raw_response.get())
    assert {k: got.get(k) for k in PROFILE} == {**PROFILE, "first_name": None, "zipcode": None}


def test_edit_user_with_an_account_token_is_refused(env, account_token):
    tc = env.token_client(account_token.value)
    expect_error(cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN, lambda: tc.user.edit(first_name="Nobody"))
