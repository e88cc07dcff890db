"""client.accounts.members: list / get / create / update / delete."""

from __future__ import annotations

import time

import cloudflare
import pytest

from conftest import RequestRecorder, unique, unique_email
from helpers import (
    ERR_DUPLICATE,
    ERR_NOT_FOUND,
    ERR_VALIDATION,
    ROLE_ADMIN_READ_ONLY,
    ROLE_ADMINISTRATOR,
    ROLE_ANALYTICS,
    ROLE_SUPER_ADMIN,
    check_member_shape,
    error_entry,
    expect_error,
    iter_unique,
    raw_ok,
)


@pytest.fixture(scope="module")
def sandbox(key_client):
    """A fresh account (created by the operator) with 6 extra members of known emails and statuses."""
    acct = key_client.accounts.create(name=unique("Members Sandbox"))
    tag = unique("m")
    specs = [
        (f"delta-{tag}@example.com", "pending"),
        (f"alpha-{tag}@example.com", "accepted"),
        (f"foxtrot-{tag}@example.com", "pending"),
        (f"charlie-{tag}@example.com", "accepted"),
        (f"echo-{tag}@example.com", "pending"),
        (f"bravo-{tag}@example.com", "pending"),
    ]
    ids = {}
    for email, status in specs:
        m = key_client.accounts.members.create(
            account_id=acct.id, email=email, roles=[ROLE_ADMIN_READ_ONLY], status=status
        )
        ids[email] = m.id
    yield {"account_id": acct.id, "specs": dict(specs), "ids": ids}
    key_client.accounts.delete(account_id=acct.id)


def test_list_contains_the_bootstrap_member(key_client, boot, account_id):
    raw = key_client.accounts.members.with_raw_response.list(account_id=account_id)
    result = raw_ok(raw, paginated=True)
    for m in result:
        check_member_shape(m)
    mine = [m for m in result if m["id"] == boot["member_id"]]
    assert len(mine) == 1, result
    me = mine[0]
    assert me["email"] == boot["email"]
    assert me["status"] == "accepted"
    assert me["user"]["id"] == boot["user_id"]
    assert [r["id"] for r in me["roles"]] == [ROLE_SUPER_ADMIN]
    assert me["roles"][0]["name"] == "Super Administrator - All Privileges"


def test_list_paginates_in_email_order(env, sandbox):
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    first = client.accounts.members.list(account_id=sandbox["account_id"], per_page=5)
    assert first.result_info.total_count == 7
    assert len(first.result) == 5
    members = iter_unique(client.accounts.members.list(account_id=sandbox["account_id"], per_page=5), lambda m: m.id)
    assert len(members) == 7
    # 2 pages + 1 empty page (the first page was requested once more above)
    assert len(rec.requests) == 1 + 3, rec.paths()
    emails = [m.email for m in members]
    assert emails == sorted(emails)
    assert set(emails) == set(sandbox["specs"]) | {env.boot["email"]}


def test_list_status_filter(key_client, sandbox):
    pending = list(key_client.accounts.members.list(account_id=sandbox["account_id"], status="pending", per_page=50))
    assert sorted(m.email for m in pending) == sorted(e for e, s in sandbox["specs"].items() if s == "pending")
    assert all(m.status == "pending" for m in pending)
    accepted = list(key_client.accounts.members.list(account_id=sandbox["account_id"], status="accepted"))
    assert all(m.status == "accepted" for m in accepted)
    assert len(accepted) == 3  # two accepted + the creator
    page = key_client.accounts.members.list(account_id=sandbox["account_id"], status="pending", per_page=5)
    assert page.result_info.total_count == 4


def test_list_order_and_direction(key_client, sandbox):
    a = sandbox["account_id"]
    desc = [m.email for m in key_client.accounts.members.list(account_id=a, order="user.email", direction="desc")]
    asc = [m.email for m in key_client.accounts.members.list(account_id=a, order="user.email", direction="asc")]
    assert asc == sorted(asc)
    assert desc == list(reversed(asc))
    by_status = [m.status for m in key_client.accounts.members.list(account_id=a, order="status")]
    assert by_status == sorted(by_status)
    by_status_desc = [m.status for m in key_client.accounts.members.list(account_id=a, order="status", direction="desc")]
    assert by_status_desc == sorted(by_status_desc, reverse=True)
    for order in ("user.first_name", "user.last_name"):
        got = list(key_client.accounts.members.list(account_id=a, order=order))
        assert len(got) == 7


def test_list_page_past_the_end(key_client, sandbox):
    page = key_client.accounts.members.list(account_id=sandbox["account_id"], per_page=5, page=3)
    assert page.result == []
    assert page.result_info.total_count == 7


def test_create_get_update_delete(key_client, account_id):
    email = unique_email("member")
    raw = key_client.accounts.members.with_raw_response.create(
        account_id=account_id, email=email.upper(), roles=[ROLE_ADMINISTRATOR]
    )
    m = raw_ok(raw)
    check_member_shape(m)
    assert m["email"] == email.lower()
    assert m["user"]["email"] == email.lower()
    assert m["status"] == "pending"  # default
    assert [r["id"] for r in m["roles"]] == [ROLE_ADMINISTRATOR]
    role = m["roles"][0]
    assert role["name"] == "Administrator"
    assert isinstance(role.get("description"), str)
    assert isinstance(role.get("permissions"), dict)
    assert m["policies"] == []
    member_id = m["id"]

    raw = key_client.accounts.members.with_raw_response.get(member_id, account_id=account_id)
    got = raw_ok(raw)
    assert got == m

    raw = key_client.accounts.members.with_raw_response.update(
        member_id, account_id=account_id, roles=[{"id": ROLE_ADMIN_READ_ONLY}, {"id": ROLE_ANALYTICS}]
    )
    upd = raw_ok(raw)
    check_member_shape(upd)
    assert upd["id"] == member_id
    assert sorted(r["id"] for r in upd["roles"]) == sorted([ROLE_ADMIN_READ_ONLY, ROLE_ANALYTICS])
    assert upd["status"] == "pending"
    assert upd["email"] == email.lower()
    again = raw_ok(key_client.accounts.members.with_raw_response.get(member_id, account_id=account_id))
    assert again == upd, "role order must be stable between the write response and later reads"

    raw = key_client.accounts.members.with_raw_response.delete(member_id, account_id=account_id)
    assert raw_ok(raw) == {"id": member_id}
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.accounts.members.get(member_id, account_id=account_id),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.accounts.members.delete(member_id, account_id=account_id),
    )


def test_create_accepted_member(key_client, account_id):
    m = key_client.accounts.members.create(
        account_id=account_id, email=unique_email(), roles=[ROLE_ADMIN_READ_ONLY], status="accepted"
    )
    assert m.status == "accepted"
    assert key_client.accounts.members.get(m.id, account_id=account_id).status == "accepted"


def test_members_via_the_account_token(token_client, account_id):
    m = token_client.accounts.members.create(account_id=account_id, email=unique_email("tok"), roles=[ROLE_ANALYTICS])
    assert m.id in [x.id for x in token_client.accounts.members.list(account_id=account_id, per_page=50)]
    assert token_client.accounts.members.delete(m.id, account_id=account_id).id == m.id


def test_a_user_is_global(key_client, account_id):
    other = key_client.accounts.create(name=unique("Second"))
    try:
        email = unique_email("global")
        m1 = key_client.accounts.members.create(account_id=account_id, email=email, roles=[ROLE_ANALYTICS])
        m2 = key_client.accounts.members.create(account_id=other.id, email=email, roles=[ROLE_ANALYTICS])
        assert m1.id != m2.id
        assert m1.user.id == m2.user.id
    finally:
        key_client.accounts.delete(account_id=other.id)


def test_duplicate_member_is_a_conflict_and_not_retried(env, key_client, account_id):
    email = unique_email("dup")
    key_client.accounts.members.create(account_id=account_id, email=email, roles=[ROLE_ANALYTICS])
    rec = RequestRecorder()
    retrying = env.key_client(env.boot["email"], env.boot["api_key"], max_retries=2, http_client=rec.http_client())
    started = time.monotonic()
    err = expect_error(
        cloudflare.ConflictError, 409, ERR_DUPLICATE,
        lambda: retrying.accounts.members.create(account_id=account_id, email=email.upper(), roles=[ROLE_ANALYTICS]),
    )
    elapsed = time.monotonic() - started
    assert len(rec.requests) == 1, f"a permanent 409 must not be retried: {rec.paths()}"
    assert err.response.headers.get("x-should-retry") == "false"
    assert elapsed < 0.4, f"took {elapsed:.2f}s: retried with backoff?"


def test_create_with_both_roles_and_policies_is_rejected(key_client, account_id):
    policy = {
        "access": "allow",
        "permission_groups": [{"id": "49ce85367bae433b9f0717ed4fea5c74"}],
        "resource_groups": [{"id": "0" * 32}],
    }
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.accounts.members.create(
            account_id=account_id, email=unique_email("both"), roles=[ROLE_ANALYTICS], policies=[policy]
        ),
    )


def test_create_with_neither_roles_nor_policies_is_rejected(key_client, account_id):
    email = unique_email("neither")
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        # The SDK's client-side check wants `roles` or `policies` among the arguments; `omit` satisfies
        # it while sending neither on the wire: {"email": ...}.
        lambda: key_client.accounts.members.create(account_id=account_id, email=email, roles=cloudflare.omit),
    )
    assert email not in [m.email for m in key_client.accounts.members.list(account_id=account_id, per_page=50)]


def test_create_with_unknown_role_is_rejected(key_client, account_id):
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.accounts.members.create(
            account_id=account_id, email=unique_email("badrole"), roles=[ROLE_ANALYTICS, "e" * 32]
        ),
    )
    assert (error_entry(err, ERR_VALIDATION).get("source") or {}).get("pointer") == "/roles/1"


def test_update_with_both_roles_and_policies_is_rejected(key_client, account_id):
    m = key_client.accounts.members.create(account_id=account_id, email=unique_email("upd"), roles=[ROLE_ANALYTICS])
    policy = {
        "id": "1" * 32,
        "access": "allow",
        "permission_groups": [{"id": "49ce85367bae433b9f0717ed4fea5c74"}],
        "resource_groups": [{"id": "0" * 32}],
    }
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.accounts.members.update(
            m.id, account_id=account_id, roles=[{"id": ROLE_ADMINISTRATOR}], policies=[policy]
        ),
    )
    assert [r.id for r in key_client.accounts.members.get(m.id, account_id=account_id).roles] == [ROLE_ANALYTICS]


def test_unknown_and_malformed_member_ids(key_client, account_id):
    err = expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.accounts.members.get("a" * 32, account_id=account_id),
    )
    assert "a" * 32 in error_entry(err, ERR_NOT_FOUND)["message"]  # `<kind> <id> not found`
    expect_error(
        cloudflare.BadRequestError, 400, 7003,
        lambda: key_client.accounts.members.get("xyz", account_id=account_id),
    )


def test_last_super_administrator_cannot_be_removed_or_demoted(key_client, boot):
    acct = key_client.accounts.create(name=unique("Last SA"))
    try:
        me = [m for m in key_client.accounts.members.list(account_id=acct.id)]
        assert len(me) == 1
        my_id = me[0].id
        expect_error(
            cloudflare.BadRequestError, 400, ERR_VALIDATION,
            lambda: key_client.accounts.members.delete(my_id, account_id=acct.id),
        )
        expect_error(
            cloudflare.BadRequestError, 400, ERR_VALIDATION,
            lambda: key_client.accounts.members.update(my_id, account_id=acct.id, roles=[{"id": ROLE_ADMINISTRATOR}]),
        )
        still = key_client.accounts.members.get(my_id, account_id=acct.id)
        assert [r.id for r in still.roles] == [ROLE_SUPER_ADMIN]
    finally:
        key_client.accounts.delete(account_id=acct.id)
