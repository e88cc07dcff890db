"""client.user.get and client.user.tokens.* (user-owned tokens), via the email + global key client."""

from __future__ import annotations

import cloudflare

from conftest import RequestRecorder, unique
from helpers import (
    ROLL_BODY,
    ERR_BAD_TOKEN,
    ERR_NOT_FOUND,
    ERR_VALIDATION,
    TOKEN_RE,
    TPG_ACCOUNT_SETTINGS_READ,
    TPG_API_TOKENS_READ,
    TPG_API_TOKENS_WRITE,
    account_policy,
    assert_id,
    check_token_shape,
    expect_error,
    iter_unique,
    raw_ok,
    token_catalog,
    user_policy,
)


def test_get_user(key_client, boot):
    raw = key_client.user.with_raw_response.get()
    u = raw_ok(raw)
    assert u["id"] == boot["user_id"]
    assert u["email"] == boot["email"]
    assert_id(u["id"])
    model = raw.parse()
    assert model.id == boot["user_id"] and model.email == boot["email"]


def test_get_user_for_a_new_user(env):
    info, client = env.new_user_client()
    u = client.user.get()
    assert u.id == info["user_id"]
    assert u.email == info["email"]


def test_user_token_lifecycle(env, key_client, boot, account_id):
    name = unique("User Token")
    policies = [
        user_policy(boot["user_id"], TPG_API_TOKENS_READ, TPG_API_TOKENS_WRITE),
        account_policy(account_id, TPG_ACCOUNT_SETTINGS_READ),
    ]
    raw = key_client.user.tokens.with_raw_response.create(name=name, policies=policies)
    t = raw_ok(raw)
    check_token_shape(t, with_value=True)
    assert t["name"] == name and t["status"] == "active"
    assert [[g["id"] for g in p["permission_groups"]] for p in t["policies"]] == [
        [TPG_API_TOKENS_READ, TPG_API_TOKENS_WRITE],
        [TPG_ACCOUNT_SETTINGS_READ],
    ]
    token_id, value = t["id"], t["value"]

    # verify with the token itself
    tc = env.token_client(value)
    raw = tc.user.tokens.with_raw_response.verify()
    v = raw_ok(raw)
    assert v["id"] == token_id and v["status"] == "active"
    assert {"code": 10000, "message": "This API Token is valid and active"} in [
        {"code": m.get("code"), "message": m.get("message")} for m in raw.json()["messages"]
    ]

    # get / list never show the value
    got = raw_ok(key_client.user.tokens.with_raw_response.get(token_id))
    check_token_shape(got)
    assert got["policies"] == t["policies"]
    listed = list(key_client.user.tokens.list(per_page=50))
    assert token_id in [x.id for x in listed]
    assert all(getattr(x, "value", None) is None for x in listed)

    # update
    upd = raw_ok(key_client.user.tokens.with_raw_response.update(
        token_id, name=name + " v2", policies=[user_policy(boot["user_id"], TPG_API_TOKENS_READ)], status="disabled",
    ))
    check_token_shape(upd)
    assert upd["name"] == name + " v2" and upd["status"] == "disabled"
    assert len(upd["policies"]) == 1
    assert raw_ok(key_client.user.tokens.with_raw_response.get(token_id)) == upd
    expect_error(cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN, lambda: tc.user.tokens.verify())
    key_client.user.tokens.update(
        token_id, name=name + " v2", policies=[user_policy(boot["user_id"], TPG_API_TOKENS_READ)], status="active",
    )
    assert tc.user.tokens.verify().id == token_id

    # roll
    new_value = key_client.user.tokens.value.update(token_id, **ROLL_BODY)
    assert isinstance(new_value, str) and TOKEN_RE.match(new_value) and new_value != value
    assert env.token_client(new_value).user.tokens.verify().id == token_id
    expect_error(cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN, lambda: tc.user.tokens.verify())

    # delete
    assert raw_ok(key_client.user.tokens.with_raw_response.delete(token_id)) == {"id": token_id}
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: key_client.user.tokens.get(token_id))
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: env.token_client(new_value).user.tokens.verify(),
    )


def test_user_token_cannot_verify_as_account_token(env, key_client, boot, account_id):
    t = key_client.user.tokens.create(name=unique("ut"), policies=[user_policy(boot["user_id"], TPG_API_TOKENS_READ)])
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: env.token_client(t.value).accounts.tokens.verify(account_id=account_id),
    )
    key_client.user.tokens.delete(t.id)


def test_user_tokens_are_per_user(env, key_client, boot):
    t = key_client.user.tokens.create(name=unique("mine"), policies=[user_policy(boot["user_id"], TPG_API_TOKENS_READ)])
    _, other = env.new_user_client()
    assert t.id not in [x.id for x in other.user.tokens.list()]
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: other.user.tokens.get(t.id))
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: other.user.tokens.delete(t.id))
    assert key_client.user.tokens.get(t.id).id == t.id
    key_client.user.tokens.delete(t.id)


def test_user_token_list_paginates_by_name(env):
    info, client = env.new_user_client()
    prefix = unique("ut")
    made = [
        client.user.tokens.create(
            name=f"{prefix} {i}", policies=[user_policy(info["user_id"], TPG_API_TOKENS_READ)]
        ).id
        for i in (2, 5, 0, 3, 1, 4)
    ]
    rec = RequestRecorder()
    walker = env.key_client(info["email"], info["api_key"], http_client=rec.http_client())
    first = walker.user.tokens.list(per_page=5)
    assert len(first.result) == 5 and first.result_info.total_count == 6
    tokens = iter_unique(walker.user.tokens.list(per_page=5), lambda t: t.id)
    assert sorted(t.id for t in tokens) == sorted(made)
    assert [t.name for t in tokens] == [f"{prefix} {i}" for i in range(6)]
    assert len(rec.requests) == 1 + 3, rec.paths()


def test_user_token_validation(key_client, boot):
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.user.tokens.create(name="", policies=[user_policy(boot["user_id"], TPG_API_TOKENS_READ)]),
    )
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.user.tokens.create(name=unique("empty"), policies=[]),
    )


def test_user_token_permission_groups(key_client):
    catalog = token_catalog()
    raw = key_client.user.tokens.permission_groups.with_raw_response.list()
    result = raw_ok(raw)
    assert isinstance(result, list)
    got = {g["id"]: g for g in result}
    assert len(got) == len(result)
    # The user endpoint lists the user-scoped groups too (docs/api-decisions.md: "also").
    assert {i: g["name"] for i, g in got.items()} == {g["id"]: g["name"] for g in catalog}
    for g in result:
        assert_id(g["id"])
        assert isinstance(g["scopes"], list) and g["scopes"]
    user_scoped = list(key_client.user.tokens.permission_groups.list(scope="com.cloudflare.api.user"))
    assert sorted(g.id for g in user_scoped) == sorted(
        g["id"] for g in catalog if "com.cloudflare.api.user" in g["scopes"]
    )
    assert TPG_API_TOKENS_READ in [g.id for g in user_scoped]
    named = key_client.user.tokens.permission_groups.list(name="API TOKENS READ")
    assert [g.id for g in named.result] == [TPG_API_TOKENS_READ]
