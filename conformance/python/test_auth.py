"""Authentication errors and principal scoping (spec/api.md §2, §4; docs/api-decisions.md)."""

from __future__ import annotations

import httpx

import cloudflare

from conftest import unique_email
from helpers import (
    ERR_BAD_KEY,
    ERR_BAD_TOKEN,
    ERR_NOT_PERMITTED,
    ROLE_ADMIN_READ_ONLY,
    assert_error_body,
    assert_json_content_type,
    expect_error,
)

AUTH_HEADERS_ERR = 6003


def test_bad_token(env, account_id):
    bad = env.token_client("A" * 40)
    err = expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN, lambda: bad.accounts.get(account_id=account_id)
    )
    assert err.errors[0].code == ERR_BAD_TOKEN
    assert err.errors[0].message == "Invalid access token"
    expect_error(cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN, lambda: bad.user.tokens.verify())
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN, lambda: bad.accounts.tokens.verify(account_id=account_id)
    )
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_TOKEN,
        lambda: bad.iam.permission_groups.list(account_id=account_id),
    )


def test_bad_email_or_key(env, boot, account_id):
    wrong_key = env.key_client(boot["email"], "0" * 37)
    err = expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_BAD_KEY, lambda: wrong_key.accounts.get(account_id=account_id)
    )
    assert err.errors[0].code == ERR_BAD_KEY
    assert err.errors[0].message == "Unknown X-Auth-Key or X-Auth-Email"
    wrong_email = env.key_client(unique_email("nobody"), boot["api_key"])
    expect_error(cloudflare.PermissionDeniedError, 403, ERR_BAD_KEY, lambda: wrong_email.user.get())


def test_user_key_output(env):
    info = env.user_key(unique_email("cli"))
    assert len(info["user_id"]) == 32
    assert len(info["api_key"]) == 37 and all(c in "0123456789abcdef" for c in info["api_key"])


def test_non_member_user_is_denied_on_the_account(env, account_id):
    _, outsider = env.new_user_client()
    assert outsider.user.get().email  # authenticated
    for call in (
        lambda: outsider.accounts.get(account_id=account_id),
        lambda: outsider.accounts.members.list(account_id=account_id),
        lambda: outsider.accounts.tokens.list(account_id=account_id),
        lambda: outsider.iam.permission_groups.list(account_id=account_id),
    ):
        err = expect_error(cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED, call)
        assert err.errors[0].code == ERR_NOT_PERMITTED
    assert account_id not in [a.id for a in outsider.accounts.list()]
    # Unknown accounts answer the same as forbidden ones (existence is not revealed).
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: outsider.accounts.get(account_id="c" * 32),
    )


def test_pending_member_is_denied_and_accepted_member_is_allowed(env, key_client, account_id):
    pending_info, pending = env.new_user_client()
    m = key_client.accounts.members.create(account_id=account_id, email=pending_info["email"], roles=[ROLE_ADMIN_READ_ONLY])
    assert m.status == "pending"
    assert m.user.id == pending_info["user_id"], "members.create must attach the existing user of that email"
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: pending.accounts.get(account_id=account_id),
    )
    assert account_id not in [a.id for a in pending.accounts.list()]

    ok_info, ok = env.new_user_client()
    key_client.accounts.members.create(
        account_id=account_id, email=ok_info["email"], roles=[ROLE_ADMIN_READ_ONLY], status="accepted"
    )
    assert ok.accounts.get(account_id=account_id).id == account_id
    assert account_id in [a.id for a in ok.accounts.list()]


def test_missing_credentials_raw(base_url, account_id):
    # The SDK refuses to send a request without credentials, so this one is raw.
    r = httpx.get(f"{base_url}/accounts/{account_id}")
    assert r.status_code == 400, r.text
    assert_json_content_type(r.headers)
    assert_error_body(r.json(), AUTH_HEADERS_ERR)


def test_email_without_key_names_the_missing_header(env, account_id):
    c = env.client(api_email="admin@example.com")
    err = expect_error(
        cloudflare.BadRequestError, 400, AUTH_HEADERS_ERR, lambda: c.accounts.get(account_id=account_id)
    )
    entry = err.body["errors"][0]
    assert entry["code"] == AUTH_HEADERS_ERR
    assert entry["message"] == "Invalid request headers"
    assert 6101 in [e.get("code") for e in entry.get("error_chain", [])], entry


def test_malformed_authorization_header_raw(base_url, account_id):
    r = httpx.get(f"{base_url}/accounts/{account_id}", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 400, r.text
    entry = assert_error_body(r.json(), AUTH_HEADERS_ERR)
    assert 6111 in [e.get("code") for e in entry.get("error_chain", [])], entry


def test_bearer_wins_over_email_and_key_raw(base_url, boot, account_id):
    # The TS SDK sends every credential it has; Bearer must win (the Python SDK cannot send both).
    r = httpx.get(
        f"{base_url}/accounts/{account_id}/tokens/verify",
        headers={
            "Authorization": f"Bearer {boot['api_token']}",
            "X-Auth-Email": "nobody@example.com",
            "X-Auth-Key": "0" * 37,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"]["id"] == boot["api_token_id"]


def test_unknown_route_and_health(env, base_url, boot):
    r = httpx.get(f"{base_url}/no/such/route", headers={"Authorization": f"Bearer {boot['api_token']}"})
    assert r.status_code == 404, r.text
    assert_json_content_type(r.headers)
    assert_error_body(r.json(), 7000)
    h = httpx.get(f"{env.server.root_url}/healthz")
    assert h.status_code == 200
    assert_json_content_type(h.headers)
    body = h.json()
    assert body["success"] is True and body["result"] == {"status": "ok"}
