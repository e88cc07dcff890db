"""client.iam.resource_groups: list / get / create / update / delete.

Contract: seed "Resource Groups", spec/api.md §5 "Resource groups", docs/api-decisions.md "Resource groups".
"""

from __future__ import annotations

import json
import uuid

import cloudflare
import pytest

from conftest import RequestRecorder, unique, unique_email
from helpers import (
    shown_scope,
    ERR_BAD_PATH_ID,
    ERR_NOT_FOUND,
    ERR_VALIDATION,
    PG_ADMINISTRATOR,
    PG_ZONE_READ,
    account_key,
    check_resource_group_shape,
    error_entry,
    error_pointer,
    expect_error,
    group_policy,
    raw_ok,
    scope_obj,
    scope_object_keys,
    zone_key,
)


def zid() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def rg_account(key_client):
    """A fresh account, so whole-list assertions see only this module's resource groups."""
    acct = key_client.accounts.create(name=unique("RG Sandbox"))
    yield acct.id
    key_client.accounts.delete(account_id=acct.id)


def test_create_with_scope_object_get_and_delete(env, key_client, account_id):
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    z1, z2 = zid(), zid()
    name = unique("rg-zones")
    raw = client.iam.resource_groups.with_raw_response.create(
        account_id=account_id, name=name, scope=scope_obj(account_id, zone_key(z1), zone_key(z2))
    )
    # The SDK sends `scope` as one object.
    sent = json.loads(rec.requests[-1].content)
    assert isinstance(sent["scope"], dict), sent
    rg = raw_ok(raw)
    check_resource_group_shape(rg, account_id=account_id)
    assert rg["name"] == name
    assert sorted(scope_object_keys(rg)) == sorted([zone_key(z1), zone_key(z2)])

    got = raw_ok(key_client.iam.resource_groups.with_raw_response.get(rg["id"], account_id=account_id))
    assert got == rg, "scope object order must be identical between the write response and later reads"

    # The SDK model reads the list as well (non-strict models keep what the server sends).
    model = key_client.iam.resource_groups.get(rg["id"], account_id=account_id)
    assert model.id == rg["id"] and model.name == name

    raw = key_client.iam.resource_groups.with_raw_response.delete(rg["id"], account_id=account_id)
    assert raw_ok(raw) == {"id": rg["id"]}
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.resource_groups.get(rg["id"], account_id=account_id),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.resource_groups.delete(rg["id"], account_id=account_id),
    )
    assert rg["id"] not in [g.id for g in key_client.iam.resource_groups.list(account_id=account_id)]


def test_create_account_wide_group(key_client, account_id):
    rg = raw_ok(
        key_client.iam.resource_groups.with_raw_response.create(
            account_id=account_id, name=unique("rg-all"), scope=scope_obj(account_id, "*")
        )
    )
    check_resource_group_shape(rg, account_id=account_id)
    assert rg["scope"] == shown_scope({"key": account_key(account_id), "objects": [{"key": "*"}]})


def test_create_accepts_scope_as_one_element_list(key_client, account_id):
    # spec/api.md §5: requests accept `scope` as one object or a one-element list.
    z = zid()
    rg = raw_ok(
        key_client.iam.resource_groups.with_raw_response.create(
            account_id=account_id,
            name=unique("rg-list"),
            scope=scope_obj(account_id, "*"),
            extra_body={"scope": [scope_obj(account_id, zone_key(z))]},
        )
    )
    check_resource_group_shape(rg, account_id=account_id)
    assert scope_object_keys(rg) == [zone_key(z)]


def test_results_show_scope_as_one_element_list_everywhere(key_client, account_id):
    rg = key_client.iam.resource_groups.create(
        account_id=account_id, name=unique("rg-shape"), scope=scope_obj(account_id, "*")
    )
    for raw in (
        key_client.iam.resource_groups.with_raw_response.get(rg.id, account_id=account_id),
        key_client.iam.resource_groups.with_raw_response.update(rg.id, account_id=account_id, name=unique("rg-shape2")),
    ):
        check_resource_group_shape(raw_ok(raw), account_id=account_id)
    listed = raw_ok(key_client.iam.resource_groups.with_raw_response.list(account_id=account_id, id=rg.id))
    assert len(listed) == 1
    check_resource_group_shape(listed[0], account_id=account_id)


def test_list_whole_array_in_name_order_with_filters(env, key_client, rg_account):
    a = rg_account
    tag = uuid.uuid4().hex[:6]
    names = [f"rg-{tag}-delta", f"rg-{tag}-alpha", f"rg-{tag}-charlie", f"rg-{tag}-bravo", f"rg-{tag}-alpha"]
    created = [
        key_client.iam.resource_groups.create(account_id=a, name=n, scope=scope_obj(a, "*")) for n in names
    ]
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    raw = client.iam.resource_groups.with_raw_response.list(account_id=a)
    result = raw_ok(raw)
    assert isinstance(result, list)
    for rg in result:
        check_resource_group_shape(rg, account_id=a)
    ours = [(g["name"], g["id"]) for g in result if g["name"].startswith(f"rg-{tag}-")]
    assert len(ours) == 5
    assert ours == sorted(ours), f"resource groups must be ordered by name then id: {ours}"
    all_keys = [(g["name"], g["id"]) for g in result]
    assert all_keys == sorted(all_keys)

    # SinglePage: exactly one request, no page params.
    items = list(client.iam.resource_groups.list(account_id=a))
    assert len(items) == len(result)
    assert len(rec.requests) == 2, rec.paths()
    assert "page" not in rec.requests[-1].url.params

    by_id = list(key_client.iam.resource_groups.list(account_id=a, id=created[2].id))
    assert [g.id for g in by_id] == [created[2].id]
    by_name = list(key_client.iam.resource_groups.list(account_id=a, name=f"rg-{tag}-alpha"))
    assert sorted(g.id for g in by_name) == sorted([created[1].id, created[4].id])
    assert [g.id for g in by_name] == sorted(g.id for g in by_name)
    assert list(key_client.iam.resource_groups.list(account_id=a, name=f"rg-{tag}-nope")) == []
    assert list(key_client.iam.resource_groups.list(account_id=a, id="f" * 32)) == []


def test_update_partial_name_scope_and_empty(env, key_client, account_id):
    z1, z2 = zid(), zid()
    rg = raw_ok(
        key_client.iam.resource_groups.with_raw_response.create(
            account_id=account_id, name=unique("rg-upd"), scope=scope_obj(account_id, zone_key(z1))
        )
    )
    rid = rg["id"]

    # name only: the scope stays
    new_name = unique("rg-renamed")
    upd = raw_ok(key_client.iam.resource_groups.with_raw_response.update(rid, account_id=account_id, name=new_name))
    check_resource_group_shape(upd, account_id=account_id)
    assert upd["name"] == new_name
    assert upd["scope"] == rg["scope"]
    assert raw_ok(key_client.iam.resource_groups.with_raw_response.get(rid, account_id=account_id)) == upd

    # scope only: the name stays
    upd2 = raw_ok(
        key_client.iam.resource_groups.with_raw_response.update(
            rid, account_id=account_id, scope=scope_obj(account_id, zone_key(z2), zone_key(z1))
        )
    )
    check_resource_group_shape(upd2, account_id=account_id)
    assert upd2["name"] == new_name
    assert sorted(scope_object_keys(upd2)) == sorted([zone_key(z1), zone_key(z2)])
    assert raw_ok(key_client.iam.resource_groups.with_raw_response.get(rid, account_id=account_id)) == upd2

    # no fields at all: the SDK sends `{}`; nothing changes and the group is answered
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    upd3 = raw_ok(client.iam.resource_groups.with_raw_response.update(rid, account_id=account_id))
    assert rec.requests[-1].method == "PUT"
    assert json.loads(rec.requests[-1].content) == {}
    assert upd3 == upd2
    assert raw_ok(key_client.iam.resource_groups.with_raw_response.get(rid, account_id=account_id)) == upd2


def test_update_with_invalid_scope_changes_nothing(key_client, account_id):
    rg = raw_ok(
        key_client.iam.resource_groups.with_raw_response.create(
            account_id=account_id, name=unique("rg-keep"), scope=scope_obj(account_id, "*")
        )
    )
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.resource_groups.update(
            rg["id"], account_id=account_id, name=unique("rg-never"), scope={"key": account_key(account_id), "objects": []}
        ),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/scope/objects"
    assert raw_ok(key_client.iam.resource_groups.with_raw_response.get(rg["id"], account_id=account_id)) == rg


@pytest.mark.parametrize(
    "case",
    ["other_account_key", "empty_objects", "bad_object_key", "bad_zone_id", "object_of_other_account", "duplicate_object"],
)
def test_create_validation_errors_have_pointers(key_client, account_id, case):
    other = uuid.uuid4().hex
    z = zid()
    good = zone_key(z)
    scope, pointer = {
        "other_account_key": ({"key": account_key(other), "objects": [{"key": "*"}]}, "/scope/key"),
        "empty_objects": ({"key": account_key(account_id), "objects": []}, "/scope/objects"),
        "bad_object_key": (scope_obj(account_id, good, "not-a-resource-key"), "/scope/objects/1/key"),
        "bad_zone_id": (scope_obj(account_id, "com.cloudflare.api.account.zone.xyz"), "/scope/objects/0/key"),
        "object_of_other_account": (scope_obj(account_id, account_key(other)), "/scope/objects/0/key"),
        "duplicate_object": (scope_obj(account_id, good, good), "/scope/objects/1/key"),
    }[case]
    name = unique(f"rg-bad-{case}")
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.resource_groups.create(account_id=account_id, name=name, scope=scope),
    )
    assert error_pointer(err, ERR_VALIDATION) == pointer, err.body
    assert list(key_client.iam.resource_groups.list(account_id=account_id, name=name)) == []


@pytest.mark.parametrize("name,pointer", [("", "/name"), ("x" * 121, "/name")])
def test_create_name_validation(key_client, account_id, name, pointer):
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.resource_groups.create(account_id=account_id, name=name, scope=scope_obj(account_id, "*")),
    )
    assert error_pointer(err, ERR_VALIDATION) == pointer, err.body


def test_name_of_120_chars_is_accepted(key_client, account_id):
    name = ("n" * 110) + uuid.uuid4().hex[:10]
    rg = key_client.iam.resource_groups.create(account_id=account_id, name=name, scope=scope_obj(account_id, "*"))
    assert rg.name == name


def test_unknown_and_malformed_ids(key_client, account_id):
    unknown = "b" * 32
    err = expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.resource_groups.get(unknown, account_id=account_id),
    )
    assert unknown in error_entry(err, ERR_NOT_FOUND)["message"]
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.resource_groups.update(unknown, account_id=account_id, name="x"),
    )
    expect_error(
        cloudflare.BadRequestError, 400, ERR_BAD_PATH_ID,
        lambda: key_client.iam.resource_groups.get("not-an-id", account_id=account_id),
    )


def test_resource_group_of_another_account_is_not_found(key_client, account_id, rg_account):
    rg = key_client.iam.resource_groups.create(
        account_id=rg_account, name=unique("rg-elsewhere"), scope=scope_obj(rg_account, "*")
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.resource_groups.get(rg.id, account_id=account_id),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.resource_groups.delete(rg.id, account_id=account_id),
    )
    assert key_client.iam.resource_groups.get(rg.id, account_id=rg_account).id == rg.id


def test_delete_refused_while_a_user_group_policy_uses_it(key_client, account_id):
    rg = key_client.iam.resource_groups.create(
        account_id=account_id, name=unique("rg-used"), scope=scope_obj(account_id, "*")
    )
    ug_name = unique("UG-uses-rg")
    ug = key_client.iam.user_groups.create(
        account_id=account_id, name=ug_name, policies=[group_policy([PG_ADMINISTRATOR], [rg.id])]
    )
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.resource_groups.delete(rg.id, account_id=account_id),
    )
    msg = error_entry(err, ERR_VALIDATION)["message"]
    assert ug_name in msg and ug.id in msg, f"the refusal must name the user group: {msg!r}"
    # still there
    assert key_client.iam.resource_groups.get(rg.id, account_id=account_id).id == rg.id
    # once the user group is gone, the resource group can be deleted
    assert key_client.iam.user_groups.delete(ug.id, account_id=account_id).id == ug.id
    assert key_client.iam.resource_groups.delete(rg.id, account_id=account_id).id == rg.id


def test_delete_refused_while_a_member_policy_uses_it(key_client, account_id):
    rg = key_client.iam.resource_groups.create(
        account_id=account_id, name=unique("rg-member"), scope=scope_obj(account_id, zone_key(zid()))
    )
    email = unique_email("rguser")
    m = key_client.accounts.members.create(
        account_id=account_id, email=email, policies=[group_policy([PG_ZONE_READ], [rg.id])]
    )
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.resource_groups.delete(rg.id, account_id=account_id),
    )
    msg = error_entry(err, ERR_VALIDATION)["message"]
    assert email in msg and m.id in msg, f"the refusal must name the member: {msg!r}"
    key_client.accounts.members.delete(m.id, account_id=account_id)
    assert key_client.iam.resource_groups.delete(rg.id, account_id=account_id).id == rg.id
