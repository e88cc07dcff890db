"""client.accounts: list / get / update / create / delete."""

from __future__ import annotations

import cloudflare

from conftest import RequestRecorder, unique
from helpers import (
    ERR_NOT_PERMITTED,
    ERR_VALIDATION,
    check_account_shape,
    check_member_shape,
    error_entry,
    expect_error,
    iter_unique,
    ROLE_SUPER_ADMIN,
    raw_ok,
)

BOOT_ACCOUNT_NAME = "Conformance"


def test_list_accounts_of_the_bootstrap_user(key_client, account_id):
    raw = key_client.accounts.with_raw_response.list()
    result = raw_ok(raw, paginated=True)
    ids = [a["id"] for a in result]
    assert account_id in ids
    for a in result:
        check_account_shape(a)
    mine = next(a for a in result if a["id"] == account_id)
    assert mine["name"] == BOOT_ACCOUNT_NAME
    assert mine["type"] == "standard"


def test_list_accounts_name_filter(key_client, account_id):
    page = key_client.accounts.list(name=BOOT_ACCOUNT_NAME)
    assert account_id in [a.id for a in page.result]
    assert all(a.name == BOOT_ACCOUNT_NAME for a in page.result)
    assert key_client.accounts.list(name=unique("no-such-account")).result == []


def test_get_account(key_client, account_id):
    raw = key_client.accounts.with_raw_response.get(account_id=account_id)
    a = raw_ok(raw)
    check_account_shape(a)
    assert a["id"] == account_id
    assert a["name"] == BOOT_ACCOUNT_NAME
    model = raw.parse()
    assert model.id == account_id
    assert model.created_on is not None and model.created_on.tzinfo is not None


def test_get_account_with_the_account_token(token_client, account_id):
    a = token_client.accounts.get(account_id=account_id)
    assert a.id == account_id and a.name == BOOT_ACCOUNT_NAME


def test_account_token_cannot_list_accounts(token_client):
    err = expect_error(cloudflare.BadRequestError, 400, ERR_VALIDATION, lambda: token_client.accounts.list())
    entry = error_entry(err, ERR_VALIDATION)
    assert entry["message"] == "List accounts endpoint does not support account owned tokens."


def test_operator_creates_updates_and_deletes_an_account(env, key_client):
    name = unique("Operator Account")
    raw = key_client.accounts.with_raw_response.create(name=name, type="standard")
    created = raw_ok(raw)
    check_account_shape(created)
    assert created["name"] == name
    assert created["type"] == "standard"
    new_id = created["id"]
    assert new_id != env.account_id

    # The creator is an accepted Super Administrator member of the new account.
    members = raw_ok(key_client.accounts.members.with_raw_response.list(account_id=new_id), paginated=True)
    assert len(members) == 1
    me = members[0]
    check_member_shape(me)
    assert me["email"] == env.boot["email"]
    assert me["user"]["id"] == env.boot["user_id"]
    assert me["status"] == "accepted"
    assert "Super Administrator - All Privileges" in [r["name"] for r in me["roles"]]

    got = key_client.accounts.get(account_id=new_id)
    assert got.id == new_id and got.name == name
    assert new_id in [a.id for a in key_client.accounts.list(name=name)]

    renamed = unique("Renamed Account")
    raw = key_client.accounts.with_raw_response.update(
        account_id=new_id, id=new_id, name=renamed, type="standard",
        settings={"enforce_twofactor": False, "abuse_contact_email": "abuse@example.com"},
    )
    updated = raw_ok(raw)
    check_account_shape(updated)
    assert updated["id"] == new_id
    assert updated["name"] == renamed
    assert updated["settings"]["abuse_contact_email"] == "abuse@example.com"
    assert updated["created_on"] == created["created_on"]
    again = key_client.accounts.get(account_id=new_id)
    assert again.name == renamed
    assert again.settings.abuse_contact_email == "abuse@example.com"

    raw = key_client.accounts.with_raw_response.delete(account_id=new_id)
    deleted = raw_ok(raw)
    assert deleted == {"id": new_id}
    assert new_id not in [a.id for a in key_client.accounts.list()]
    # Existence is not revealed: a missing account answers like a forbidden one.
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: key_client.accounts.get(account_id=new_id),
    )


def test_update_the_bootstrap_account_keeps_it(key_client, account_id):
    a = key_client.accounts.update(account_id=account_id, id=account_id, name=BOOT_ACCOUNT_NAME, type="standard")
    assert a.id == account_id and a.name == BOOT_ACCOUNT_NAME


def test_update_rejects_an_empty_name(key_client, account_id):
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.accounts.update(account_id=account_id, id=account_id, name="", type="standard"),
    )


def test_accounts_list_paginates_by_name(env):
    info, op = env.new_user_client(operator=True)
    prefix = unique("Pag")
    made = [op.accounts.create(name=f"{prefix} {i}").id for i in (3, 1, 5, 0, 4, 2)]
    rec = RequestRecorder()
    walker = env.key_client(info["email"], info["api_key"], http_client=rec.http_client())
    first = walker.accounts.list(per_page=5)
    assert first.result_info.total_count == 6
    accounts = iter_unique(walker.accounts.list(per_page=5), key=lambda a: a.id)
    assert sorted(a.id for a in accounts) == sorted(made)
    assert [a.name for a in accounts] == [f"{prefix} {i}" for i in range(6)]
    for a in accounts:
        op.accounts.delete(account_id=a.id)


def test_non_operator_cannot_create_or_delete_accounts(env, key_client):
    _, user = env.new_user_client()
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: user.accounts.create(name=unique("Forbidden")),
    )
    # Even an accepted Super Administrator of an account who is not an operator cannot delete it.
    target = key_client.accounts.create(name=unique("Target"))
    info, member_user = env.new_user_client()
    key_client.accounts.members.create(
        account_id=target.id, email=info["email"],
        roles=[ROLE_SUPER_ADMIN], status="accepted",
    )
    assert member_user.accounts.get(account_id=target.id).id == target.id
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: member_user.accounts.delete(account_id=target.id),
    )
    assert key_client.accounts.get(account_id=target.id).id == target.id
    key_client.accounts.delete(account_id=target.id)


def test_account_token_cannot_create_accounts(token_client):
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: token_client.accounts.create(name=unique("Token Made")),
    )


def test_operator_flag_from_cli(env):
    _, op = env.new_user_client(operator=True)
    acct = op.accounts.create(name=unique("Second Operator"))
    assert [a.id for a in op.accounts.list()] == [acct.id]
    assert op.accounts.delete(account_id=acct.id).id == acct.id


def test_account_name_is_1_to_100_chars(key_client, account_id):
    for bad in ("", "n" * 101):
        err = expect_error(
            cloudflare.BadRequestError, 400, ERR_VALIDATION, lambda: key_client.accounts.create(name=bad)
        )
        assert (error_entry(err, ERR_VALIDATION).get("source") or {}).get("pointer") == "/name"
    created = key_client.accounts.create(name="m" * 100)
    assert created.name == "m" * 100
    key_client.accounts.delete(account_id=created.id)


def test_deleting_an_account_removes_its_members_and_tokens(env, key_client):
    doomed = key_client.accounts.create(name=unique("Doomed"))
    info, carol = env.new_user_client()
    key_client.accounts.members.create(
        account_id=doomed.id, email=info["email"], roles=[ROLE_SUPER_ADMIN], status="accepted"
    )
    assert carol.accounts.get(account_id=doomed.id).id == doomed.id
    tok = key_client.accounts.tokens.create(
        account_id=doomed.id, name="doomed token",
        policies=[{"effect": "allow", "permission_groups": [{"id": "c1fde68c7bcc44588cbb6ddbc16d6480"}],
                   "resources": {f"com.cloudflare.api.account.{doomed.id}": "*"}}],
    )
    tc = env.token_client(tok.value)
    assert tc.accounts.tokens.verify(account_id=doomed.id).id == tok.id

    assert key_client.accounts.delete(account_id=doomed.id).id == doomed.id

    expect_error(cloudflare.PermissionDeniedError, 403, 9109, lambda: tc.accounts.tokens.verify(account_id=doomed.id))
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED, lambda: carol.accounts.get(account_id=doomed.id)
    )
    assert list(carol.accounts.list()) == []
    assert carol.user.get().id == info["user_id"]
    assert doomed.id not in [a.id for a in key_client.accounts.list()]
