"""`iam.oauth_clients.{create,get,list,update,delete,rotate_secret,delete_rotated_secret}` and
`iam.oauth_scopes.list`.

docs/api-decisions.md "OAuth clients and OAuth scopes" (authoritative). The secret is shown once
(create, rotate_secret) and never read back; rotation keeps the previous secret until
delete_rotated_secret; field rules answer 400/1001 with the field's pointer; accounts are
isolated; a read-only member reads but cannot write. Every answer is also checked against the
SDK's response models in strict mode (`model_validate_json(..., strict=True)`).
"""

from __future__ import annotations

import json
from typing import Any, Dict

import cloudflare
import pytest
from cloudflare.types.iam.oauth_client_create_response import OAuthClientCreateResponse
from cloudflare.types.iam.oauth_client_get_response import OAuthClientGetResponse
from cloudflare.types.iam.oauth_client_list_response import OAuthClientListResponse
from cloudflare.types.iam.oauth_client_rotate_secret_response import OAuthClientRotateSecretResponse
from cloudflare.types.iam.oauth_client_update_response import OAuthClientUpdateResponse
from cloudflare.types.iam.oauth_scope_list_response import OAuthScopeListResponse

from conftest import unique, unique_email
from helpers import (
    ERR_NOT_FOUND,
    ERR_NOT_PERMITTED,
    ERR_VALIDATION,
    ROLE_ADMIN_READ_ONLY,
    ROLE_SUPER_ADMIN,
    assert_id,
    error_pointer,
    expect_error,
    raw_ok,
)

FULL: Dict[str, Any] = dict(
    grant_types=["authorization_code", "refresh_token"],
    redirect_uris=["https://example.com/callback"],
    response_types=["code"],
    scopes=["account.read", "account.write"],
    token_endpoint_auth_method="client_secret_post",
    allowed_cors_origins=["https://example.com"],
    client_uri="https://example.com",
    logo_uri="https://example.com/logo.png",
    policy_uri="https://example.com/privacy",
    post_logout_redirect_uris=["https://example.com/logout"],
    tos_uri="https://example.com/tos",
)


def strict(model: Any, item: Any) -> Any:
    return model.model_validate_json(json.dumps(item), strict=True)


@pytest.fixture(scope="module")
def oauth_account(key_client):
    """A fresh account, so whole-list assertions see only this module's clients."""
    acct = key_client.accounts.create(name=unique("OAuth Sandbox"))
    yield acct.id
    key_client.accounts.delete(account_id=acct.id)


def create(client, account_id: str, **overrides: Any) -> Dict[str, Any]:
    params = dict(FULL, client_name=unique("My OAuth App"))
    params.update(overrides)
    # optional_scopes is new in cloudflare 5.9.0; 5.4.0 sends it as an extra body field.
    extra = {"optional_scopes": params.pop("optional_scopes")} if "optional_scopes" in params else None
    return raw_ok(client.iam.oauth_clients.with_raw_response.create(account_id=account_id, extra_body=extra, **params))


def test_create_shows_secret_once_get_list_delete(key_client, oauth_account):
    a = oauth_account
    c = create(key_client, a, optional_scopes=["account.write"])
    strict(OAuthClientCreateResponse, c)
    assert_id(c["client_id"], "client_id")
    secret = c["client_secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    assert c["visibility"] == "private" and c["has_rotated_secret"] is False
    assert c["optional_scopes"] == ["account.write"]
    for k, v in FULL.items():
        assert c[k] == v, k

    model = key_client.iam.oauth_clients.create(account_id=a, client_name=unique("typed"), **{k: FULL[k] for k in ("grant_types", "redirect_uris", "response_types", "scopes", "token_endpoint_auth_method")})
    assert model is not None and model.client_secret and model.client_id

    raw = key_client.iam.oauth_clients.with_raw_response.get(c["client_id"], account_id=a)
    got = raw_ok(raw)
    strict(OAuthClientGetResponse, got)
    assert "client_secret" not in got and secret not in raw.http_response.text
    expected = {k: v for k, v in c.items() if k != "client_secret"}
    assert got == expected

    raw = key_client.iam.oauth_clients.with_raw_response.list(account_id=a)
    listed = raw_ok(raw)
    assert secret not in raw.http_response.text
    for item in listed:
        strict(OAuthClientListResponse, item)
    assert expected in listed
    ids = [x.client_id for x in key_client.iam.oauth_clients.list(account_id=a)]
    assert c["client_id"] in ids and model.client_id in ids

    deleted = key_client.iam.oauth_clients.delete(c["client_id"], account_id=a)
    assert deleted is not None and deleted.id == c["client_id"]
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.oauth_clients.get(c["client_id"], account_id=a),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.oauth_clients.delete(c["client_id"], account_id=a),
    )


def test_update(key_client, oauth_account):
    a = oauth_account
    c = create(key_client, a)
    raw = key_client.iam.oauth_clients.with_raw_response.update(
        c["client_id"], account_id=a, client_name="Renamed", scopes=["user-details.read"], client_uri=""
    )
    u = raw_ok(raw)
    strict(OAuthClientUpdateResponse, u)
    assert u["client_name"] == "Renamed" and u["scopes"] == ["user-details.read"]
    assert "client_uri" not in u
    assert u["redirect_uris"] == c["redirect_uris"], "absent fields are unchanged"
    assert raw_ok(key_client.iam.oauth_clients.with_raw_response.get(c["client_id"], account_id=a)) == u

    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.oauth_clients.update(c["client_id"], account_id=a, visibility="public"),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/visibility"


def test_rotate_keeps_previous_secret_until_deleted(key_client, oauth_account):
    a = oauth_account
    c = create(key_client, a)
    cid = c["client_id"]
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.oauth_clients.delete_rotated_secret(cid, account_id=a),
    )
    r = raw_ok(key_client.iam.oauth_clients.with_raw_response.rotate_secret(cid, account_id=a))
    strict(OAuthClientRotateSecretResponse, r)
    assert r["client_secret"] and r["client_secret"] != c["client_secret"]
    got = key_client.iam.oauth_clients.get(cid, account_id=a)
    assert got is not None and got.has_rotated_secret is True
    raw = key_client.iam.oauth_clients.with_raw_response.get(cid, account_id=a)
    assert r["client_secret"] not in raw.http_response.text

    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.oauth_clients.rotate_secret(cid, account_id=a),
    )
    d = key_client.iam.oauth_clients.delete_rotated_secret(cid, account_id=a)
    assert d is not None and d.id == cid
    got = key_client.iam.oauth_clients.get(cid, account_id=a)
    assert got is not None and got.has_rotated_secret is False
    again = key_client.iam.oauth_clients.rotate_secret(cid, account_id=a)
    assert again is not None and again.client_secret not in (c["client_secret"], r["client_secret"])


@pytest.mark.parametrize(
    "override,pointer",
    [
        (dict(grant_types=["refresh_token"]), "/grant_types"),
        (dict(grant_types=["authorization_code", "implicit"]), "/grant_types/1"),
        (dict(response_types=["device"]), "/response_types/0"),
        (dict(token_endpoint_auth_method="private_key_jwt"), "/token_endpoint_auth_method"),
        (dict(redirect_uris=[]), "/redirect_uris"),
        (dict(redirect_uris=["http://example.com/cb"]), "/redirect_uris/0"),
        (dict(redirect_uris=["https://example.com/cb#frag"]), "/redirect_uris/0"),
        (dict(redirect_uris=["example.com/cb"]), "/redirect_uris/0"),
        (dict(allowed_cors_origins=["https://example.com/path"]), "/allowed_cors_origins/0"),
        (dict(logo_uri="not a uri"), "/logo_uri"),
        (dict(scopes=["account.read", "no.such.scope"]), "/scopes/1"),
        (dict(scopes=["account:read"]), "/scopes/0"),
        (dict(optional_scopes=["user-details.read"]), "/optional_scopes/0"),
        (dict(optional_scopes=["openid"], scopes=["openid", "account.read"]), "/optional_scopes/0"),
        (dict(client_name=" "), "/client_name"),
    ],
)
def test_validation_names_the_field(key_client, oauth_account, override, pointer):
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: create(key_client, oauth_account, **override),
    )
    assert error_pointer(err, ERR_VALIDATION) == pointer, err.body


def test_unknown_scope_is_named(key_client, oauth_account):
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: create(key_client, oauth_account, scopes=["zone.teleport"]),
    )
    assert "zone.teleport" in json.dumps(err.body)


def test_scopes_catalog_for_any_authenticated_caller(env, token_client, key_client):
    page = token_client.iam.oauth_scopes.list()
    items = list(page)
    assert any(s.id == "account.read" for s in items)
    raw = key_client.iam.oauth_scopes.with_raw_response.list()
    for item in raw_ok(raw):
        strict(OAuthScopeListResponse, item)
    # A user with no membership at all may read it too.
    _, nobody = env.new_user_client()
    assert [s.id for s in nobody.iam.oauth_scopes.list()] == [s.id for s in items]


def test_accounts_are_isolated(env, key_client, oauth_account):
    a = oauth_account
    c = create(key_client, a)
    cid = c["client_id"]
    # Another account (created by the operator) whose Super Administrator is another user: A's
    # client is not found there (404), and that user cannot reach A at all (403).
    info, other = env.new_user_client()
    b_acct = key_client.accounts.create(name=unique("OAuth B"))
    key_client.accounts.members.create(
        account_id=b_acct.id, email=info["email"], roles=[ROLE_SUPER_ADMIN], status="accepted"
    )
    try:
        for call in (
            lambda: other.iam.oauth_clients.get(cid, account_id=b_acct.id),
            lambda: other.iam.oauth_clients.update(cid, account_id=b_acct.id, client_name="stolen"),
            lambda: other.iam.oauth_clients.rotate_secret(cid, account_id=b_acct.id),
            lambda: other.iam.oauth_clients.delete_rotated_secret(cid, account_id=b_acct.id),
            lambda: other.iam.oauth_clients.delete(cid, account_id=b_acct.id),
        ):
            expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, call)
        for call in (
            lambda: other.iam.oauth_clients.get(cid, account_id=a),
            lambda: other.iam.oauth_clients.list(account_id=a),
            lambda: other.iam.oauth_clients.delete(cid, account_id=a),
        ):
            expect_error(cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED, call)
        assert list(other.iam.oauth_clients.list(account_id=b_acct.id)) == []
        got = raw_ok(key_client.iam.oauth_clients.with_raw_response.get(cid, account_id=a))
        assert got == {k: v for k, v in c.items() if k != "client_secret"}
    finally:
        key_client.accounts.delete(account_id=b_acct.id)


def test_read_only_member_reads_but_cannot_write(env, key_client, oauth_account):
    a = oauth_account
    c = create(key_client, a)
    info, ro = env.new_user_client(unique_email("ro"))
    key_client.accounts.members.create(account_id=a, email=info["email"], roles=[ROLE_ADMIN_READ_ONLY], status="accepted")
    assert c["client_id"] in [x.client_id for x in ro.iam.oauth_clients.list(account_id=a)]
    assert ro.iam.oauth_clients.get(c["client_id"], account_id=a) is not None
    for call in (
        lambda: create(ro, a),
        lambda: ro.iam.oauth_clients.update(c["client_id"], account_id=a, client_name="x"),
        lambda: ro.iam.oauth_clients.rotate_secret(c["client_id"], account_id=a),
        lambda: ro.iam.oauth_clients.delete(c["client_id"], account_id=a),
    ):
        expect_error(cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED, call)
    got = raw_ok(key_client.iam.oauth_clients.with_raw_response.get(c["client_id"], account_id=a))
    assert got["client_name"] == c["client_name"] and got["has_rotated_secret"] is False
