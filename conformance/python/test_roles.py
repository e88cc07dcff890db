"""client.accounts.roles: list / get (the legacy account role catalog, the same in every account)."""

from __future__ import annotations

import cloudflare
import pytest

from conftest import RequestRecorder, unique
from helpers import (
    ERR_BAD_PATH_ID,
    ERR_NOT_FOUND,
    ERR_NOT_PERMITTED,
    ROLE_ADMIN_READ_ONLY,
    ROLE_SUPER_ADMIN,
    assert_id,
    error_entry,
    expect_error,
    iter_unique,
    load_json,
    raw_ok,
)

SUPER_ADMIN_NAME = "Super Administrator - All Privileges"

# cloudflare>=5.9 marks the legacy roles endpoint deprecated (a DeprecationWarning on every call).
pytestmark = pytest.mark.filterwarnings("ignore:Use /accounts/.*/iam/permission_groups:DeprecationWarning")


@pytest.fixture(scope="module")
def catalog():
    roles = load_json("account_roles.json")
    assert len(roles) == 40, "the legacy role catalog is expected to hold 40 roles"
    # A role without a description in the catalog shows `""` (the SDK's Role.description is a required str).
    return [{"id": r["id"], "name": r["name"], "description": r.get("description") or ""} for r in roles]


def check_role_shape(r):
    assert_id(r.get("id"), "role.id")
    assert isinstance(r.get("name"), str) and r["name"], r
    assert isinstance(r.get("description"), str), r
    perms = r.get("permissions")
    assert isinstance(perms, dict), r
    org = perms.get("organization")
    assert isinstance(org, dict), r
    assert isinstance(org.get("read"), bool) and isinstance(org.get("write"), bool), r


def view(r):
    return {"id": r["id"], "name": r["name"], "description": r["description"]}


def test_default_page_holds_the_whole_catalog_in_file_order(key_client, account_id, catalog):
    raw = key_client.accounts.roles.with_raw_response.list(account_id=account_id)
    result = raw_ok(raw, paginated=True)
    body = raw.json()
    assert body["result_info"]["total_count"] == 40, body["result_info"]
    assert body["result_info"]["count"] == 40, body["result_info"]
    assert body["result_info"]["page"] == 1, body["result_info"]
    for r in result:
        check_role_shape(r)
    assert [view(r) for r in result] == catalog
    page = raw.parse()
    assert len(page.result) == 40
    assert page.result_info.total_count == 40
    assert [(r.id, r.name, r.description) for r in page.result] == [
        (r["id"], r["name"], r["description"]) for r in catalog
    ]


def test_auto_pagination_iterates_all_roles(env, account_id, catalog):
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    roles = iter_unique(client.accounts.roles.list(account_id=account_id), lambda r: r.id)
    assert [r.id for r in roles] == [r["id"] for r in catalog]
    assert len(roles) == 40

    rec.requests.clear()
    small = iter_unique(client.accounts.roles.list(account_id=account_id, per_page=7), lambda r: r.id)
    assert [r.id for r in small] == [r["id"] for r in catalog]
    # 6 pages of roles (7*5 + 5); the SDK may read one more, empty page to learn it is done.
    assert len(rec.requests) in (6, 7), rec.paths()


def test_second_page_of_five(key_client, account_id, catalog):
    raw = key_client.accounts.roles.with_raw_response.list(account_id=account_id, per_page=5, page=2)
    result = raw_ok(raw, paginated=True)
    assert [view(r) for r in result] == catalog[5:10]
    ri = raw.json()["result_info"]
    assert ri["page"] == 2 and ri["per_page"] == 5 and ri["count"] == 5, ri
    assert ri["total_count"] == 40 and ri["total_pages"] == 8, ri


def test_a_page_past_the_end_is_empty(key_client, account_id):
    # Terraform reads pages until one is empty.
    raw = key_client.accounts.roles.with_raw_response.list(account_id=account_id, page=99)
    result = raw_ok(raw, paginated=True)
    assert result == []
    ri = raw.json()["result_info"]
    assert ri["count"] == 0 and ri["page"] == 99 and ri["total_count"] == 40, ri
    page = key_client.accounts.roles.list(account_id=account_id, per_page=5, page=9)
    assert page.result == []
    assert page.result_info.total_count == 40


def test_get_each_role_matches_the_list(key_client, account_id, catalog):
    listed = {r["id"]: r for r in raw_ok(key_client.accounts.roles.with_raw_response.list(account_id=account_id))}
    for entry in catalog:
        got = raw_ok(key_client.accounts.roles.with_raw_response.get(entry["id"], account_id=account_id))
        check_role_shape(got)
        assert view(got) == entry
        assert got == listed[entry["id"]]


def test_super_administrator_and_read_only_permissions(key_client, account_id):
    sa = raw_ok(key_client.accounts.roles.with_raw_response.get(ROLE_SUPER_ADMIN, account_id=account_id))
    assert sa["name"] == SUPER_ADMIN_NAME
    assert sa["permissions"]["organization"] == {"read": True, "write": True}
    ro = raw_ok(key_client.accounts.roles.with_raw_response.get(ROLE_ADMIN_READ_ONLY, account_id=account_id))
    assert ro["name"] == "Administrator Read Only"
    assert ro["permissions"]["organization"] == {"read": True, "write": False}
    model = key_client.accounts.roles.get(ROLE_SUPER_ADMIN, account_id=account_id)
    assert model.id == ROLE_SUPER_ADMIN and model.name == SUPER_ADMIN_NAME
    assert model.permissions.organization.read is True
    assert model.permissions.organization.write is True
    model = key_client.accounts.roles.get(ROLE_ADMIN_READ_ONLY, account_id=account_id)
    assert model.permissions.organization.read is True
    assert model.permissions.organization.write is False


def test_roles_are_the_same_in_every_account(key_client, account_id):
    other = key_client.accounts.create(name=unique("Roles Second"))
    try:
        a = raw_ok(key_client.accounts.roles.with_raw_response.list(account_id=account_id))
        b = raw_ok(key_client.accounts.roles.with_raw_response.list(account_id=other.id))
        assert a == b
    finally:
        key_client.accounts.delete(account_id=other.id)


def test_unknown_role_is_not_found(key_client, account_id):
    err = expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.accounts.roles.get("a" * 32, account_id=account_id),
    )
    body = err.body
    assert body["success"] is False and body["result"] is None, body
    assert "a" * 32 in error_entry(err, ERR_NOT_FOUND)["message"]


def test_malformed_role_id_is_a_bad_path(key_client, account_id):
    expect_error(
        cloudflare.BadRequestError, 400, ERR_BAD_PATH_ID,
        lambda: key_client.accounts.roles.get("xyz", account_id=account_id),
    )


def test_a_non_member_is_forbidden(env, account_id):
    _, outsider = env.new_user_client()
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: outsider.accounts.roles.list(account_id=account_id),
    )
    expect_error(
        cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED,
        lambda: outsider.accounts.roles.get(ROLE_SUPER_ADMIN, account_id=account_id),
    )
