"""client.iam.user_groups: list / get / create / update / delete, and policies.

Contract: seed "User Groups", spec/api.md §5 "User groups", docs/api-decisions.md "Policies" and
"User groups and their members".
"""

from __future__ import annotations

import json
import time
import uuid

import cloudflare
import pytest

from conftest import RequestRecorder, unique
from helpers import (
    ERR_BAD_PATH_ID,
    ERR_DUPLICATE,
    ERR_NOT_FOUND,
    ERR_SCOPE_MISMATCH,
    ERR_VALIDATION,
    PG_ADMIN_READ_ONLY,
    PG_ADMINISTRATOR,
    PG_DNS_READ,
    PG_SUPER_ADMIN,
    PG_ZONE_READ,
    check_resource_group_shape,
    check_user_group_shape,
    error_entry,
    error_pointer,
    expect_error,
    group_policy,
    iter_unique,
    policy_ids_view,
    raw_ok,
    scope_obj,
    zone_key,
)


@pytest.fixture(scope="module")
def rgs(key_client, account_id):
    """Resource groups of the main account: all (`*`), zones only (two zones), one zone."""
    a = account_id
    all_ = key_client.iam.resource_groups.create(account_id=a, name=unique("ug-rg-all"), scope=scope_obj(a, "*"))
    zones = key_client.iam.resource_groups.create(
        account_id=a, name=unique("ug-rg-zones"),
        scope=scope_obj(a, zone_key(uuid.uuid4().hex), zone_key(uuid.uuid4().hex)),
    )
    zone = key_client.iam.resource_groups.create(
        account_id=a, name=unique("ug-rg-zone"), scope=scope_obj(a, zone_key(uuid.uuid4().hex))
    )
    return {"all": all_.id, "zones": zones.id, "zone": zone.id, "names": {all_.id: all_.name, zones.id: zones.name, zone.id: zone.name}}


@pytest.fixture(scope="module")
def ug_account(key_client):
    """A fresh account, so list assertions see only this module's user groups."""
    acct = key_client.accounts.create(name=unique("UG Sandbox"))
    yield acct.id
    key_client.accounts.delete(account_id=acct.id)


def test_local_permission_group_ids_are_derived(key_client, account_id):
    assert key_client.iam.permission_groups.get(PG_SUPER_ADMIN, account_id=account_id).name == (
        "Super Administrator - All Privileges"
    )
    assert key_client.iam.permission_groups.get(PG_ADMINISTRATOR, account_id=account_id).name == "Administrator"


def test_create_without_policies(env, key_client, account_id):
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    name = unique("UG plain")
    g = raw_ok(client.iam.user_groups.with_raw_response.create(account_id=account_id, name=name))
    assert json.loads(rec.requests[-1].content) == {"name": name}  # `policies` omitted on the wire
    check_user_group_shape(g)
    assert g["name"] == name
    assert g["policies"] == []
    assert raw_ok(key_client.iam.user_groups.with_raw_response.get(g["id"], account_id=account_id)) == g
    model = key_client.iam.user_groups.get(g["id"], account_id=account_id)
    assert model.id == g["id"] and model.name == name and model.created_on is not None


def test_create_with_policies_expands_groups_and_keeps_order(key_client, account_id, rgs):
    # Deliberately unsorted ids, so "order written" is distinguishable from any sort.
    policies = [
        group_policy([PG_ZONE_READ, PG_DNS_READ], [rgs["zones"], rgs["all"], rgs["zone"]]),
        group_policy([PG_ADMIN_READ_ONLY], [rgs["all"]], access="deny"),
        group_policy([PG_ADMINISTRATOR, PG_ZONE_READ], [rgs["all"]]),
    ]
    g = raw_ok(
        key_client.iam.user_groups.with_raw_response.create(
            account_id=account_id, name=unique("UG with policies"), policies=policies
        )
    )
    check_user_group_shape(g)
    assert len(g["policies"]) == 3
    view = policy_ids_view(g["policies"])
    assert [v[1:] for v in view] == [
        ("allow", [PG_ZONE_READ, PG_DNS_READ], [rgs["zones"], rgs["all"], rgs["zone"]]),
        ("deny", [PG_ADMIN_READ_ONLY], [rgs["all"]]),
        ("allow", [PG_ADMINISTRATOR, PG_ZONE_READ], [rgs["all"]]),
    ], "policies, their permission groups and resource groups come back in the order written"
    assert len({v[0] for v in view}) == 3, "policy ids are distinct"

    # expansion: permission groups {id, name, meta}; resource groups {id, name, scope, meta}
    p0 = g["policies"][0]
    assert [pg["name"] for pg in p0["permission_groups"]] == ["Zone Read", "DNS Read"]
    assert [r["name"] for r in p0["resource_groups"]] == [rgs["names"][rgs["zones"]], rgs["names"][rgs["all"]], rgs["names"][rgs["zone"]]]
    for r in p0["resource_groups"]:
        check_resource_group_shape(r, account_id=account_id)
        assert r == raw_ok(key_client.iam.resource_groups.with_raw_response.get(r["id"], account_id=account_id))
    assert g["policies"][2]["permission_groups"][0]["name"] == "Administrator"
    pg_admin = raw_ok(key_client.iam.permission_groups.with_raw_response.get(PG_ADMINISTRATOR, account_id=account_id))
    assert g["policies"][2]["permission_groups"][0]["meta"] == pg_admin.get("meta")

    # stable between the write response and later reads (get and list)
    assert raw_ok(key_client.iam.user_groups.with_raw_response.get(g["id"], account_id=account_id)) == g
    listed = raw_ok(
        key_client.iam.user_groups.with_raw_response.list(account_id=account_id, id=g["id"]), paginated=True
    )
    assert listed == [g]

    # SDK models
    model = key_client.iam.user_groups.get(g["id"], account_id=account_id)
    assert [p.id for p in model.policies] == [v[0] for v in view]
    assert model.policies[0].permission_groups[1].name == "DNS Read"


def test_update_name_only_keeps_policies(key_client, account_id, rgs):
    g = raw_ok(
        key_client.iam.user_groups.with_raw_response.create(
            account_id=account_id, name=unique("UG rename"),
            policies=[group_policy([PG_ZONE_READ], [rgs["zone"]]), group_policy([PG_ADMINISTRATOR], [rgs["all"]])],
        )
    )
    time.sleep(0.01)
    new_name = unique("UG renamed")
    upd = raw_ok(key_client.iam.user_groups.with_raw_response.update(g["id"], account_id=account_id, name=new_name))
    check_user_group_shape(upd)
    assert upd["name"] == new_name
    assert upd["policies"] == g["policies"]
    assert upd["created_on"] == g["created_on"]
    assert upd["modified_on"] > g["modified_on"], "modified_on moves on every change"
    assert raw_ok(key_client.iam.user_groups.with_raw_response.get(g["id"], account_id=account_id)) == upd


def test_update_policies_replaces_the_set_keeping_ids(key_client, account_id, rgs):
    g = raw_ok(
        key_client.iam.user_groups.with_raw_response.create(
            account_id=account_id, name=unique("UG replace"),
            policies=[group_policy([PG_ZONE_READ], [rgs["zone"]]), group_policy([PG_ADMINISTRATOR], [rgs["all"]])],
        )
    )
    kept_id, dropped_id = g["policies"][0]["id"], g["policies"][1]["id"]
    new_policies = [
        group_policy([PG_DNS_READ], [rgs["zones"]]),  # new: no id
        group_policy([PG_ZONE_READ, PG_DNS_READ], [rgs["zone"], rgs["zones"]], access="deny", id=kept_id),
    ]
    upd = raw_ok(
        key_client.iam.user_groups.with_raw_response.update(g["id"], account_id=account_id, policies=new_policies)
    )
    check_user_group_shape(upd)
    assert upd["name"] == g["name"], "name is unchanged when absent"
    view = policy_ids_view(upd["policies"])
    assert len(view) == 2
    assert view[1] == (kept_id, "deny", [PG_ZONE_READ, PG_DNS_READ], [rgs["zone"], rgs["zones"]])
    assert view[0][1:] == ("allow", [PG_DNS_READ], [rgs["zones"]])
    assert view[0][0] not in (kept_id, dropped_id), "a policy without id gets a new id"
    assert raw_ok(key_client.iam.user_groups.with_raw_response.get(g["id"], account_id=account_id)) == upd

    # the dropped policy's id is no longer the group's: naming it is refused, nothing changes
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.user_groups.update(
            g["id"], account_id=account_id, name=unique("UG never"),
            policies=[group_policy([PG_ZONE_READ], [rgs["zone"]], id=dropped_id)],
        ),
    )
    assert (error_pointer(err, ERR_VALIDATION) or "").startswith("/policies/0"), err.body
    assert raw_ok(key_client.iam.user_groups.with_raw_response.get(g["id"], account_id=account_id)) == upd


def test_update_with_unknown_policy_id_is_bad_request(key_client, account_id, rgs):
    g = key_client.iam.user_groups.create(
        account_id=account_id, name=unique("UG unknown pol"), policies=[group_policy([PG_ZONE_READ], [rgs["zone"]])]
    )
    before = raw_ok(key_client.iam.user_groups.with_raw_response.get(g.id, account_id=account_id))
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.user_groups.update(
            g.id, account_id=account_id, policies=[group_policy([PG_ZONE_READ], [rgs["zone"]], id="9" * 32)]
        ),
    )
    assert (error_pointer(err, ERR_VALIDATION) or "").startswith("/policies/0"), err.body
    assert raw_ok(key_client.iam.user_groups.with_raw_response.get(g.id, account_id=account_id)) == before


def test_update_with_no_fields_changes_nothing(env, key_client, account_id, rgs):
    g = raw_ok(
        key_client.iam.user_groups.with_raw_response.create(
            account_id=account_id, name=unique("UG noop"), policies=[group_policy([PG_ZONE_READ], [rgs["zone"]])]
        )
    )
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    upd = raw_ok(client.iam.user_groups.with_raw_response.update(g["id"], account_id=account_id))
    assert json.loads(rec.requests[-1].content) == {}
    assert upd["name"] == g["name"] and upd["policies"] == g["policies"]


def test_duplicate_name_is_a_conflict_and_not_retried(env, key_client, account_id):
    name = unique("UG Dup")
    first = key_client.iam.user_groups.create(account_id=account_id, name=name)
    rec = RequestRecorder()
    retrying = env.key_client(env.boot["email"], env.boot["api_key"], max_retries=2, http_client=rec.http_client())
    started = time.monotonic()
    err = expect_error(
        cloudflare.ConflictError, 409, ERR_DUPLICATE,
        lambda: retrying.iam.user_groups.create(account_id=account_id, name=name.upper()),
    )
    elapsed = time.monotonic() - started
    assert len(rec.requests) == 1, f"a permanent 409 must not be retried: {rec.paths()}"
    assert err.response.headers.get("x-should-retry") == "false"
    assert elapsed < 0.4, f"took {elapsed:.2f}s: retried with backoff?"
    # exactly one group of that name (case-insensitive name filter)
    assert [g.id for g in key_client.iam.user_groups.list(account_id=account_id, name=name.lower())] == [first.id]

    # renaming another group onto it is the same conflict, also not retried
    other = key_client.iam.user_groups.create(account_id=account_id, name=unique("UG Other"))
    rec.requests.clear()
    expect_error(
        cloudflare.ConflictError, 409, ERR_DUPLICATE,
        lambda: retrying.iam.user_groups.update(other.id, account_id=account_id, name=name.lower()),
    )
    assert len(rec.requests) == 1, rec.paths()
    assert key_client.iam.user_groups.get(other.id, account_id=account_id).name == other.name
    # renaming a group to a different case of its own name is fine
    assert key_client.iam.user_groups.update(first.id, account_id=account_id, name=name.lower()).name == name.lower()


def test_scope_incompatibility_is_1006(key_client, account_id, rgs):
    name = unique("UG scope")
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_SCOPE_MISMATCH,
        lambda: key_client.iam.user_groups.create(
            account_id=account_id, name=name, policies=[group_policy([PG_SUPER_ADMIN], [rgs["zones"]])]
        ),
    )
    assert err.errors[0].code == ERR_SCOPE_MISMATCH, err.body
    msg = err.body["errors"][0]["message"]
    assert ("Super Administrator - All Privileges" in msg or PG_SUPER_ADMIN in msg), msg
    assert (rgs["names"][rgs["zones"]] in msg or rgs["zones"] in msg), msg
    assert error_pointer(err, ERR_SCOPE_MISMATCH) == "/policies/0", err.body
    assert list(key_client.iam.user_groups.list(account_id=account_id, name=name)) == []

    # the same on update; the second policy is the bad one
    g = key_client.iam.user_groups.create(account_id=account_id, name=name)
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_SCOPE_MISMATCH,
        lambda: key_client.iam.user_groups.update(
            g.id, account_id=account_id,
            policies=[group_policy([PG_ZONE_READ], [rgs["zone"]]), group_policy([PG_ADMINISTRATOR], [rgs["zone"]])],
        ),
    )
    assert err.errors[0].code == ERR_SCOPE_MISMATCH
    assert error_pointer(err, ERR_SCOPE_MISMATCH) == "/policies/1", err.body
    assert key_client.iam.user_groups.get(g.id, account_id=account_id).policies == []

    # zone-scoped groups on an account-wide (`*`) group are fine
    ok = key_client.iam.user_groups.create(
        account_id=account_id, name=unique("UG zone on all"), policies=[group_policy([PG_ZONE_READ], [rgs["all"]])]
    )
    assert [p.permission_groups[0].id for p in ok.policies] == [PG_ZONE_READ]


def test_unknown_permission_or_resource_group_is_1001(key_client, account_id, rgs):
    name = unique("UG unknown")
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.user_groups.create(
            account_id=account_id, name=name, policies=[group_policy([PG_ZONE_READ, "d" * 32], [rgs["all"]])]
        ),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/policies/0/permission_groups/1/id", err.body
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.user_groups.create(
            account_id=account_id, name=name,
            policies=[group_policy([PG_ZONE_READ], [rgs["all"]]), group_policy([PG_ZONE_READ], ["e" * 32])],
        ),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/policies/1/resource_groups/0/id", err.body
    assert list(key_client.iam.user_groups.list(account_id=account_id, name=name)) == []


def test_resource_group_of_another_account_is_refused(key_client, account_id, ug_account):
    foreign = key_client.iam.resource_groups.create(
        account_id=ug_account, name=unique("foreign"), scope=scope_obj(ug_account, "*")
    )
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.user_groups.create(
            account_id=account_id, name=unique("UG foreign"), policies=[group_policy([PG_ZONE_READ], [foreign.id])]
        ),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/policies/0/resource_groups/0/id", err.body


@pytest.mark.parametrize("name", ["", "x" * 256])
def test_name_validation(key_client, account_id, name):
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.user_groups.create(account_id=account_id, name=name),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/name", err.body


def test_list_filters_and_direction(key_client, ug_account):
    a = ug_account
    tag = uuid.uuid4().hex[:6]
    names = [f"Ops {tag} Night", f"ops {tag} day", f"Billing {tag}", f"Support {tag} OPS"]
    ids = {n: key_client.iam.user_groups.create(account_id=a, name=n).id for n in names}

    exact = list(key_client.iam.user_groups.list(account_id=a, name=f"OPS {tag} DAY"))
    assert [g.id for g in exact] == [ids[f"ops {tag} day"]], "name is exact and case-insensitive"
    assert list(key_client.iam.user_groups.list(account_id=a, name=f"ops {tag}")) == []

    fuzzy = list(key_client.iam.user_groups.list(account_id=a, fuzzy_name="oPs"))
    fuzzy_names = [g.name for g in fuzzy]
    assert sorted(fuzzy_names) == sorted([f"Ops {tag} Night", f"ops {tag} day", f"Support {tag} OPS"])
    assert fuzzy_names == sorted(fuzzy_names, key=str.lower)

    by_id = list(key_client.iam.user_groups.list(account_id=a, id=ids[f"Billing {tag}"]))
    assert [g.name for g in by_id] == [f"Billing {tag}"]

    asc = [g.name for g in key_client.iam.user_groups.list(account_id=a, fuzzy_name=tag)]
    desc = [g.name for g in key_client.iam.user_groups.list(account_id=a, fuzzy_name=tag, direction="desc")]
    assert asc == sorted(names, key=str.lower)
    assert desc == list(reversed(asc))

    page = key_client.iam.user_groups.list(account_id=a, fuzzy_name=f"{tag} ops")
    assert page.result_info.total_count == 1
    assert [g.name for g in page.result] == [f"Support {tag} OPS"]


def test_list_auto_paginates_in_name_order(env, key_client, ug_account):
    a = ug_account
    tag = uuid.uuid4().hex[:6]
    # 12 names, mixed case and unsorted creation order
    words = ["kilo", "Alpha", "golf", "Delta", "charlie", "Juliet", "bravo", "Echo", "india", "Foxtrot", "hotel", "Lima"]
    created = {}
    for w in words:
        g = key_client.iam.user_groups.create(account_id=a, name=f"pg-{tag}-{w}")
        created[g.id] = g.name
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    first = client.iam.user_groups.list(account_id=a, fuzzy_name=f"pg-{tag}-", per_page=5)
    assert len(first.result) == 5
    assert first.result_info.total_count == 12
    assert first.result_info.total_pages == 3
    rec.requests.clear()
    groups = iter_unique(client.iam.user_groups.list(account_id=a, fuzzy_name=f"pg-{tag}-", per_page=5), lambda g: g.id)
    assert len(groups) == 12
    assert {g.id for g in groups} == set(created)
    # 3 pages + the empty 4th that stops the SDK
    assert len(rec.requests) == 4, rec.paths()
    assert [r.url.params.get("page") for r in rec.requests] == [None, "2", "3", "4"]
    for r in rec.requests:
        assert r.url.params.get("fuzzyName") == f"pg-{tag}-"
        assert r.url.params.get("per_page") == "5"
    got = [(g.name.lower(), g.id) for g in groups]
    assert got == sorted(got), "user groups are ordered by name (case-insensitive), then id"

    # descending, also across pages
    desc = iter_unique(
        key_client.iam.user_groups.list(account_id=a, fuzzy_name=f"pg-{tag}-", per_page=5, direction="desc"),
        lambda g: g.id,
    )
    assert [g.id for g in desc] == list(reversed([g.id for g in groups]))

    last = key_client.iam.user_groups.list(account_id=a, fuzzy_name=f"pg-{tag}-", per_page=5, page=3)
    assert len(last.result) == 2 and last.result_info.page == 3 and last.result_info.count == 2
    past = key_client.iam.user_groups.list(account_id=a, fuzzy_name=f"pg-{tag}-", per_page=5, page=4)
    assert past.result == [] and past.result_info.total_count == 12


def test_list_default_and_clamped_per_page(key_client, ug_account):
    page = key_client.iam.user_groups.list(account_id=ug_account)
    assert page.result_info.per_page == 100
    page = key_client.iam.user_groups.list(account_id=ug_account, per_page=1000)
    assert page.result_info.per_page == 500
    page = key_client.iam.user_groups.list(account_id=ug_account, per_page=0)
    assert page.result_info.per_page == 1


def test_delete_then_get_is_not_found(key_client, account_id, rgs):
    g = key_client.iam.user_groups.create(
        account_id=account_id, name=unique("UG delete"), policies=[group_policy([PG_ZONE_READ], [rgs["zone"]])]
    )
    raw = key_client.iam.user_groups.with_raw_response.delete(g.id, account_id=account_id)
    assert raw_ok(raw) == {"id": g.id}
    err = expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.get(g.id, account_id=account_id),
    )
    assert g.id in error_entry(err, ERR_NOT_FOUND)["message"]
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.delete(g.id, account_id=account_id),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.update(g.id, account_id=account_id, name="x"),
    )
    assert list(key_client.iam.user_groups.list(account_id=account_id, id=g.id)) == []
    # its name is free again
    again = key_client.iam.user_groups.create(account_id=account_id, name=g.name)
    assert again.id != g.id


def test_malformed_and_foreign_ids(key_client, account_id, ug_account):
    expect_error(
        cloudflare.BadRequestError, 400, ERR_BAD_PATH_ID,
        lambda: key_client.iam.user_groups.get("nope", account_id=account_id),
    )
    g = key_client.iam.user_groups.create(account_id=ug_account, name=unique("UG foreign"))
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.get(g.id, account_id=account_id),
    )


@pytest.mark.parametrize(
    "policy_fn,pointer",
    [
        (lambda r: {"access": "maybe", "permission_groups": [{"id": PG_ZONE_READ}], "resource_groups": [{"id": r}]},
         "/policies/0/access"),
        (lambda r: group_policy([], [r]), "/policies/0/permission_groups"),
        (lambda r: group_policy([PG_ZONE_READ], []), "/policies/0/resource_groups"),
        (lambda r: group_policy([PG_ZONE_READ, PG_ZONE_READ], [r]), "/policies/0/permission_groups/1/id"),
        (lambda r: group_policy([PG_ZONE_READ], [r, r]), "/policies/0/resource_groups/1/id"),
    ],
    ids=["bad_access", "no_permission_groups", "no_resource_groups", "repeated_permission_group", "repeated_resource_group"],
)
def test_policy_shape_validation(key_client, account_id, rgs, policy_fn, pointer):
    name = unique("UG badpol")
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.user_groups.create(account_id=account_id, name=name, policies=[policy_fn(rgs["all"])]),
    )
    assert error_pointer(err, ERR_VALIDATION) == pointer, err.body
    assert list(key_client.iam.user_groups.list(account_id=account_id, name=name)) == []


def test_user_scoped_token_group_is_refused_in_accounts(key_client, account_id, rgs):
    # API Tokens Read: scope com.cloudflare.api.user (docs/api-decisions.md: refused in accounts, 1006)
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_SCOPE_MISMATCH,
        lambda: key_client.iam.user_groups.create(
            account_id=account_id, name=unique("UG user scope"),
            policies=[group_policy(["0cc3a61731504c89b99ec1be78b77aa0"], [rgs["all"]])],
        ),
    )
    assert err.errors[0].code == ERR_SCOPE_MISMATCH


def test_list_page_parameters(key_client, ug_account):
    a = ug_account
    tag = uuid.uuid4().hex[:6]
    for i in range(3):
        key_client.iam.user_groups.create(account_id=a, name=f"pp-{tag}-{i}")
    # Python sends page=2.0 for a float page: parsed leniently
    page = key_client.iam.user_groups.list(account_id=a, fuzzy_name=f"pp-{tag}", per_page=2, page=2.0)
    assert [g.name for g in page.result] == [f"pp-{tag}-2"]
    assert page.result_info.page == 2
    for bad in (0, -1):
        expect_error(
            cloudflare.BadRequestError, 400, ERR_VALIDATION,
            lambda: key_client.iam.user_groups.list(account_id=a, page=bad),
        )
