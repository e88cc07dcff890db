"""client.accounts.tokens: create / list / get / update / delete / value.update / verify / permission_groups."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import cloudflare
import pytest

from conftest import RequestRecorder, unique
from helpers import (
    ROLL_BODY,
    ERR_BAD_TOKEN,
    ERR_NOT_FOUND,
    ERR_NOT_PERMITTED,
    ERR_VALIDATION,
    TOKEN_RE,
    TPG_ACCOUNT_SETTINGS_READ,
    TPG_ACCOUNT_SETTINGS_WRITE,
    TPG_ACCOUNT_TOKENS_READ,
    TPG_API_TOKENS_READ,
    account_policy,
    assert_id,
    assert_ts,
    check_token_shape,
    error_entry,
    expect_error,
    iter_unique,
    raw_ok,
    token_catalog,
)

VALID_MESSAGE = {"code": 10000, "message": "This API Token is valid and active"}


def create_token(client, account_id, name=None, **kwargs):
    kwargs.setdefault("policies", [account_policy(account_id, TPG_ACCOUNT_SETTINGS_READ)])
    return client.accounts.tokens.create(account_id=account_id, name=name or unique("token"), **kwargs)


def test_create_returns_the_value_once_and_it_verifies(env, key_client, account_id):
    name = unique("Create Token")
    policies = [
        account_policy(account_id, TPG_ACCOUNT_SETTINGS_READ, TPG_ACCOUNT_TOKENS_READ),
        account_policy(account_id, TPG_ACCOUNT_SETTINGS_WRITE, effect="deny"),
    ]
    raw = key_client.accounts.tokens.with_raw_response.create(account_id=account_id, name=name, policies=policies)
    t = raw_ok(raw)
    check_token_shape(t, with_value=True)
    assert t["name"] == name
    assert t["status"] == "active"
    # Unset optional timestamps read as null (absent or JSON null; the SDK treats both as None).
    assert t.get("not_before") is None and t.get("expires_on") is None
    assert [p["effect"] for p in t["policies"]] == ["allow", "deny"]
    assert [[g["id"] for g in p["permission_groups"]] for p in t["policies"]] == [
        [TPG_ACCOUNT_SETTINGS_READ, TPG_ACCOUNT_TOKENS_READ],
        [TPG_ACCOUNT_SETTINGS_WRITE],
    ]
    assert t["policies"][0]["resources"] == {f"com.cloudflare.api.account.{account_id}": "*"}
    value = t["value"]

    # The value is never shown again.
    raw = key_client.accounts.tokens.with_raw_response.get(t["id"], account_id=account_id)
    got = raw_ok(raw)
    check_token_shape(got)
    assert "value" not in got or got["value"] is None
    assert got["policies"] == t["policies"], "policy order/ids must be identical between write and read"
    assert got["issued_on"] == t["issued_on"]

    # It works as a Bearer token.
    tc = env.token_client(value)
    raw = tc.accounts.tokens.with_raw_response.verify(account_id=account_id)
    v = raw_ok(raw)
    assert v["id"] == t["id"]
    assert v["status"] == "active"
    assert VALID_MESSAGE in [{"code": m.get("code"), "message": m.get("message")} for m in raw.json()["messages"]]
    model = tc.accounts.tokens.verify(account_id=account_id)
    assert model.id == t["id"] and model.status == "active"


def test_bootstrap_token_verifies(token_client, boot, account_id):
    v = token_client.accounts.tokens.verify(account_id=account_id)
    assert v.id == boot["api_token_id"]
    assert v.status == "active"
    assert TOKEN_RE.match(boot["api_token"])


def test_create_with_the_account_token(token_client, account_id):
    t = create_token(token_client, account_id)
    assert TOKEN_RE.match(t.value)
    assert token_client.accounts.tokens.get(t.id, account_id=account_id).name == t.name
    token_client.accounts.tokens.delete(t.id, account_id=account_id)


def test_list_paginates_by_name(env, key_client):
    acct = key_client.accounts.create(name=unique("Tokens Sandbox"))
    try:
        prefix = unique("tok")
        made = [create_token(key_client, acct.id, name=f"{prefix} {i}").id for i in (4, 0, 5, 2, 1, 3)]
        rec = RequestRecorder()
        walker = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
        raw = walker.accounts.tokens.with_raw_response.list(account_id=acct.id, per_page=5)
        first = raw_ok(raw, paginated=True)
        assert len(first) == 5
        assert raw.json()["result_info"]["total_count"] == 6
        for t in first:
            check_token_shape(t)
        tokens = iter_unique(walker.accounts.tokens.list(account_id=acct.id, per_page=5), lambda t: t.id)
        assert sorted(t.id for t in tokens) == sorted(made)
        assert [t.name for t in tokens] == [f"{prefix} {i}" for i in range(6)]
        assert len(rec.requests) == 1 + 3, rec.paths()
        assert walker.accounts.tokens.list(account_id=acct.id, per_page=5, page=3).result == []
    finally:
        key_client.accounts.delete(account_id=acct.id)


def test_list_includes_bootstrap_token(key_client, boot, account_id):
    ids = [t.id for t in key_client.accounts.tokens.list(account_id=account_id, per_page=50)]
    assert boot["api_token_id"] in ids


def test_update_name_policies_and_status(env, key_client, account_id):
    t = create_token(key_client, account_id)
    tc = env.token_client(t.value)
    assert tc.accounts.tokens.verify(account_id=account_id).id == t.id
    new_policies = [account_policy(account_id, TPG_ACCOUNT_TOKENS_READ)]
    raw = key_client.accounts.tokens.with_raw_response.update(
        t.id, account_id=account_id, name="renamed " + t.name, policies=new_policies, status="disabled"
    )
    upd = raw_ok(raw)
    check_token_shape(upd)
    assert upd["id"] == t.id
    assert upd["name"] == "renamed " + t.name
    assert upd["status"] == "disabled"
    assert [g["id"] for g in upd["policies"][0]["permission_groups"]] == [TPG_ACCOUNT_TOKENS_READ]
    assert upd["issued_on"] == t.issued_on.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert upd["modified_on"] > t.modified_on.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "modified_on must move on update"
    got = raw_ok(key_client.accounts.tokens.with_raw_response.get(t.id, account_id=account_id))
    assert got == upd

    # A disabled token is refused.
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: tc.accounts.tokens.verify(account_id=account_id),
    )
    # Re-enabling it restores access.
    key_client.accounts.tokens.update(
        t.id, account_id=account_id, name=upd["name"], policies=new_policies, status="active"
    )
    assert tc.accounts.tokens.verify(account_id=account_id).status == "active"


def test_roll_value(env, key_client, account_id):
    t = create_token(key_client, account_id)
    old = env.token_client(t.value)
    assert old.accounts.tokens.verify(account_id=account_id).id == t.id
    raw = key_client.accounts.tokens.value.with_raw_response.update(t.id, account_id=account_id, **ROLL_BODY)
    new_value = raw_ok(raw)
    assert isinstance(new_value, str) and TOKEN_RE.match(new_value), new_value
    assert new_value != t.value
    assert env.token_client(new_value).accounts.tokens.verify(account_id=account_id).id == t.id
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: old.accounts.tokens.verify(account_id=account_id),
    )
    # The SDK method returns the bare string.
    newer = key_client.accounts.tokens.value.update(t.id, account_id=account_id, **ROLL_BODY)
    assert isinstance(newer, str) and TOKEN_RE.match(newer) and newer != new_value
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: env.token_client(new_value).accounts.tokens.verify(account_id=account_id),
    )
    assert env.token_client(newer).accounts.tokens.verify(account_id=account_id).id == t.id


def test_delete(env, key_client, account_id):
    t = create_token(key_client, account_id)
    tc = env.token_client(t.value)
    raw = key_client.accounts.tokens.with_raw_response.delete(t.id, account_id=account_id)
    assert raw_ok(raw) == {"id": t.id}
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.accounts.tokens.get(t.id, account_id=account_id),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.accounts.tokens.delete(t.id, account_id=account_id),
    )
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: tc.accounts.tokens.verify(account_id=account_id),
    )
    assert t.id not in [x.id for x in key_client.accounts.tokens.list(account_id=account_id, per_page=50)]


def test_expired_token(env, key_client, account_id):
    expires = datetime.now(timezone.utc) + timedelta(seconds=2)
    t = create_token(key_client, account_id, expires_on=expires)
    tc = env.token_client(t.value)
    assert t.expires_on is not None
    assert abs((t.expires_on - expires).total_seconds()) < 1
    v = raw_ok(tc.accounts.tokens.with_raw_response.verify(account_id=account_id))
    assert v["id"] == t.id and v["status"] == "active"
    assert_ts(v.get("expires_on"), "verify.expires_on")
    time.sleep(2.5)
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: tc.accounts.tokens.verify(account_id=account_id),
    )
    assert key_client.accounts.tokens.get(t.id, account_id=account_id).status == "expired"


def test_not_yet_valid_token(env, key_client, account_id):
    nb = datetime.now(timezone.utc) + timedelta(hours=1)
    t = create_token(key_client, account_id, not_before=nb)
    assert t.not_before is not None
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: env.token_client(t.value).accounts.tokens.verify(account_id=account_id),
    )
    # Clearing not_before with an explicit null makes it usable.
    key_client.accounts.tokens.update(
        t.id, account_id=account_id, name=t.name,
        policies=[account_policy(account_id, TPG_ACCOUNT_SETTINGS_READ)], not_before=None,
    )
    assert key_client.accounts.tokens.get(t.id, account_id=account_id).not_before is None
    assert env.token_client(t.value).accounts.tokens.verify(account_id=account_id).id == t.id


def test_ip_conditions(env, key_client, account_id):
    outside = create_token(key_client, account_id, condition={"request_ip": {"in": ["10.0.0.0/8"]}})
    err = expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: env.token_client(outside.value).accounts.tokens.verify(account_id=account_id),
    )
    assert error_entry(err, ERR_BAD_TOKEN)["message"] == "Cannot use the access token from location: 127.0.0.1"
    got = key_client.accounts.tokens.get(outside.id, account_id=account_id)
    assert got.condition.request_ip.in_ == ["10.0.0.0/8"]

    excluded = create_token(key_client, account_id, condition={"request_ip": {"not_in": ["127.0.0.1/32"]}})
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: env.token_client(excluded.value).accounts.tokens.verify(account_id=account_id),
    )
    inside = create_token(
        key_client, account_id, condition={"request_ip": {"in": ["127.0.0.0/8", "::1/128"], "not_in": ["10.0.0.0/8"]}}
    )
    assert env.token_client(inside.value).accounts.tokens.verify(account_id=account_id).id == inside.id
    # An explicit null clears the condition (docs/api-decisions.md), after which the token works anywhere.
    key_client.accounts.tokens.update(
        outside.id, account_id=account_id, name=outside.name,
        policies=[account_policy(account_id, TPG_ACCOUNT_SETTINGS_READ)], condition=None,
    )
    cleared = key_client.accounts.tokens.get(outside.id, account_id=account_id)
    assert cleared.condition is None or cleared.condition.request_ip is None
    assert env.token_client(outside.value).accounts.tokens.verify(account_id=account_id).id == outside.id


@pytest.mark.parametrize(
    "name, policies",
    [
        ("", "default"),
        ("x" * 121, "default"),
        ("no policies", []),
        ("bad effect", [{"effect": "maybe", "permission_groups": [{"id": TPG_ACCOUNT_SETTINGS_READ}],
                         "resources": {"com.cloudflare.api.account.*": "*"}}]),
        ("unknown group", [{"effect": "allow", "permission_groups": [{"id": "d" * 32}],
                            "resources": {"com.cloudflare.api.account.*": "*"}}]),
        ("no groups", [{"effect": "allow", "permission_groups": [], "resources": {"com.cloudflare.api.account.*": "*"}}]),
        ("no resources", [{"effect": "allow", "permission_groups": [{"id": TPG_ACCOUNT_SETTINGS_READ}], "resources": {}}]),
    ],
)
def test_create_validation(key_client, account_id, name, policies):
    if policies == "default":
        policies = [account_policy(account_id, TPG_ACCOUNT_SETTINGS_READ)]
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.accounts.tokens.create(account_id=account_id, name=name, policies=policies),
    )


def test_token_is_confined_to_its_account(env, key_client, account_id):
    other = key_client.accounts.create(name=unique("Other Token Account"))
    try:
        t = create_token(key_client, other.id)
        tc = env.token_client(t.value)
        assert tc.accounts.get(account_id=other.id).id == other.id
        expect_error(
            cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
            lambda: tc.accounts.get(account_id=account_id),
        )
        expect_error(
            cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
            lambda: tc.accounts.members.list(account_id=account_id),
        )
        # The token of another account is not visible here either.
        expect_error(
            cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
            lambda: key_client.accounts.tokens.get(t.id, account_id=account_id),
        )
    finally:
        key_client.accounts.delete(account_id=other.id)


def test_account_token_is_not_a_user_token(token_client):
    # Cloudflare's code 1000 "Invalid API Token": wrangler tells account tokens apart by it.
    expect_error(
        cloudflare.PermissionDeniedError, 403, 1000,
        lambda: token_client.user.tokens.verify(),
    )
    # Cloudflare answers /user for a credential with no user with 9109 (wrangler relies on it).
    expect_error(cloudflare.PermissionDeniedError, 403, 9109, lambda: token_client.user.get())
    expect_error(cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED, lambda: token_client.user.tokens.list())


def test_token_permission_groups(key_client, token_client, account_id):
    expected = {g["id"]: g for g in token_catalog() if "com.cloudflare.api.user" not in g["scopes"]}
    raw = key_client.accounts.tokens.permission_groups.with_raw_response.list(account_id=account_id)
    result = raw_ok(raw)
    assert isinstance(result, list)
    got = {g["id"]: g for g in result}
    assert len(got) == len(result), "duplicate ids"
    assert {i: g["name"] for i, g in got.items()} == {i: g["name"] for i, g in expected.items()}
    for g in result:
        assert_id(g["id"])
        assert g["scopes"] == expected[g["id"]]["scopes"]
        assert "description" in g
    assert TPG_API_TOKENS_READ not in got

    page = token_client.accounts.tokens.permission_groups.list(account_id=account_id, name="account settings read")
    assert [g.id for g in page.result] == [TPG_ACCOUNT_SETTINGS_READ]
    assert page.result[0].scopes == ["com.cloudflare.api.account"]

    zone = list(key_client.accounts.tokens.permission_groups.list(account_id=account_id, scope="com.cloudflare.api.account.zone"))
    assert zone and all("com.cloudflare.api.account.zone" in g.scopes for g in zone)
    assert len(zone) == sum(1 for g in expected.values() if "com.cloudflare.api.account.zone" in g["scopes"])

    # `.get` is the same endpoint; the SDK returns the unwrapped array.
    arr = key_client.accounts.tokens.permission_groups.get(account_id=account_id, name="Account Settings Write")
    assert [g.id for g in arr] == [TPG_ACCOUNT_SETTINGS_WRITE]
    assert key_client.accounts.tokens.permission_groups.list(account_id=account_id, name="nope nope").result == []
