"""client.iam.user_groups.members: list / get / create (add) / update (replace) / delete, and account
members created with policies.

Contract: seed "Members" (under User Groups), spec/api.md §5 "User-group members", docs/api-decisions.md
"User groups and their members". SDK 5.4.0 signatures: members.create/update(user_group_id,
account_id=..., members=[{"id": ...}]) send a bare JSON array and return a SinglePage.
"""

from __future__ import annotations

import json
import time
import uuid

import cloudflare
import pytest

from conftest import RequestRecorder, unique, unique_email
from helpers import (
    one_scope,
    ERR_BAD_PATH_ID,
    ERR_NOT_FOUND,
    PG_ADMINISTRATOR,
    ROLE_ADMIN_READ_ONLY,
    assert_id,
    assert_ts,
    check_expanded_policy,
    check_group_member_shape,
    check_member_shape,
    check_resource_group_shape,
    error_entry,
    expect_error,
    group_policy,
    iter_unique,
    raw_ok,
    scope_obj,
)


@pytest.fixture(scope="module")
def sandbox(key_client):
    """A fresh account with 12 extra members (alternating accepted / pending) of known, unsorted emails."""
    acct = key_client.accounts.create(name=unique("UGM Sandbox"))
    tag = uuid.uuid4().hex[:6]
    words = ["mike", "alpha", "lima", "bravo", "kilo", "charlie", "juliet", "delta", "india", "echo", "hotel", "golf"]
    members = {}
    for i, w in enumerate(words):
        email = f"{w}-{tag}@example.com"
        m = key_client.accounts.members.create(
            account_id=acct.id, email=email, roles=[ROLE_ADMIN_READ_ONLY],
            status="accepted" if i % 2 == 0 else "pending",
        )
        members[email] = m.id
    yield {"account_id": acct.id, "tag": tag, "members": members}
    key_client.accounts.delete(account_id=acct.id)


def new_group(client, account_id: str) -> str:
    return client.iam.user_groups.create(account_id=account_id, name=unique("UGM")).id


def modified_on(client, account_id: str, group_id: str) -> str:
    return raw_ok(client.iam.user_groups.with_raw_response.get(group_id, account_id=account_id))["modified_on"]


def all_member_ids(client, account_id: str, group_id: str):
    return [m.id for m in client.iam.user_groups.members.list(group_id, account_id=account_id)]


def by_email(members: dict, emails):
    return [members[e] for e in sorted(emails)]


def test_add_returns_the_named_members_and_is_idempotent(env, key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    g = new_group(key_client, a)
    emails = sorted(ms)[:3]
    body = [{"id": ms[e]} for e in reversed(emails)]
    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    raw = client.iam.user_groups.members.with_raw_response.create(g, account_id=a, members=body)
    assert rec.requests[-1].method == "POST"
    assert json.loads(rec.requests[-1].content) == body, "the SDK sends a bare JSON array"
    result = raw_ok(raw)
    assert isinstance(result, list), "members add answers an array (SinglePage)"
    for m in result:
        check_group_member_shape(m)
    assert [m["id"] for m in result] == by_email(ms, emails), "answered by email, then id"
    assert [m["email"] for m in result] == emails

    page = key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": ms[emails[0]]}])
    assert [m.id for m in page] == [ms[emails[0]]], "re-adding a member is not an error"
    # a new one alongside existing ones, and a repeated id counts once
    extra = sorted(ms)[3]
    page = key_client.iam.user_groups.members.create(
        g, account_id=a, members=[{"id": ms[extra]}, {"id": ms[emails[1]]}, {"id": ms[extra]}]
    )
    assert [m.id for m in page] == by_email(ms, [emails[1], extra])
    assert all_member_ids(key_client, a, g) == by_email(ms, emails + [extra])


def test_add_is_all_or_nothing(key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    g = new_group(key_client, a)
    first = sorted(ms)[0]
    key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": ms[first]}])
    before = modified_on(key_client, a, g)
    unknown = "c" * 32
    good = sorted(ms)[1]
    err = expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.create(
            g, account_id=a, members=[{"id": ms[good]}, {"id": unknown}]
        ),
    )
    assert unknown in error_entry(err, ERR_NOT_FOUND)["message"], "the error names the unknown id"
    assert all_member_ids(key_client, a, g) == [ms[first]], "nothing is added"
    assert modified_on(key_client, a, g) == before


def test_member_of_another_account_cannot_be_added(key_client, account_id, sandbox):
    g = new_group(key_client, account_id)
    foreign = sandbox["members"][sorted(sandbox["members"])[0]]
    err = expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.create(g, account_id=account_id, members=[{"id": foreign}]),
    )
    assert foreign in error_entry(err, ERR_NOT_FOUND)["message"]
    assert all_member_ids(key_client, account_id, g) == []


def test_add_to_unknown_group_is_not_found(key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.create(
            "d" * 32, account_id=a, members=[{"id": ms[sorted(ms)[0]]}]
        ),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.list("d" * 32, account_id=a),
    )


def test_replace_and_empty(env, key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    emails = sorted(ms)
    g = new_group(key_client, a)
    key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": ms[e]} for e in emails[:4]])

    new_set = [emails[2], emails[7], emails[5]]
    raw = key_client.iam.user_groups.members.with_raw_response.update(
        g, account_id=a, members=[{"id": ms[e]} for e in new_set]
    )
    result = raw_ok(raw)
    assert isinstance(result, list)
    for m in result:
        check_group_member_shape(m)
    assert [m["id"] for m in result] == by_email(ms, new_set), "replace answers the new full set by email"
    assert all_member_ids(key_client, a, g) == by_email(ms, new_set)

    # all-or-nothing on replace too
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.update(g, account_id=a, members=[{"id": ms[emails[0]]}, {"id": "e" * 32}]),
    )
    assert all_member_ids(key_client, a, g) == by_email(ms, new_set)

    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    before = modified_on(key_client, a, g)
    time.sleep(0.01)
    emptied = client.iam.user_groups.members.update(g, account_id=a, members=[])
    assert rec.requests[-1].method == "PUT"
    assert json.loads(rec.requests[-1].content) == []
    assert list(emptied) == []
    assert all_member_ids(key_client, a, g) == []
    assert modified_on(key_client, a, g) > before


def test_get_one_member_detailed_shape(key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    email = sorted(ms)[0]
    g = new_group(key_client, a)
    key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": ms[email]}])
    account_member = raw_ok(key_client.accounts.members.with_raw_response.get(ms[email], account_id=a))
    got = raw_ok(key_client.iam.user_groups.members.with_raw_response.get(ms[email], account_id=a, user_group_id=g))
    assert got["id"] == ms[email]
    assert got["email"] == email
    assert got["status"] == account_member["status"]
    assert_ts(got.get("created_at"), "group_member.created_at")
    user = got.get("user")
    assert isinstance(user, dict), got
    assert user.get("id") == account_member["user"]["id"]
    assert user.get("email") == email
    assert "first_name" in user and "last_name" in user, user
    assert user["first_name"] == account_member["user"]["first_name"]
    assert user["last_name"] == account_member["user"]["last_name"]

    model = key_client.iam.user_groups.members.get(ms[email], account_id=a, user_group_id=g)
    assert model.id == ms[email] and model.user.email == email and model.created_at is not None

    # a member of the account that is not in the group
    other = ms[sorted(ms)[1]]
    err = expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.get(other, account_id=a, user_group_id=g),
    )
    assert other in error_entry(err, ERR_NOT_FOUND)["message"]
    expect_error(
        cloudflare.BadRequestError, 400, ERR_BAD_PATH_ID,
        lambda: key_client.iam.user_groups.members.get("zz", account_id=a, user_group_id=g),
    )


def test_list_fuzzy_email_direction_and_auto_pagination(env, key_client, sandbox):
    a, ms, tag = sandbox["account_id"], sandbox["members"], sandbox["tag"]
    g = new_group(key_client, a)
    key_client.iam.user_groups.members.update(g, account_id=a, members=[{"id": i} for i in ms.values()])

    rec = RequestRecorder()
    client = env.key_client(env.boot["email"], env.boot["api_key"], http_client=rec.http_client())
    first = client.iam.user_groups.members.list(g, account_id=a, per_page=5)
    assert len(first.result) == 5
    assert first.result_info.total_count == 12
    rec.requests.clear()
    members = iter_unique(client.iam.user_groups.members.list(g, account_id=a, per_page=5), lambda m: m.id)
    assert len(rec.requests) == 4, f"3 pages + 1 empty page: {rec.paths()}"
    assert [r.url.params.get("page") for r in rec.requests] == [None, "2", "3", "4"]
    assert len(members) == 12
    assert [m.email for m in members] == sorted(ms), "ordered by email"
    assert [m.id for m in members] == by_email(ms, ms)
    for m in members:
        check_group_member_shape(m.model_dump())

    desc = iter_unique(
        key_client.iam.user_groups.members.list(g, account_id=a, per_page=5, direction="desc"), lambda m: m.id
    )
    assert [m.email for m in desc] == sorted(ms, reverse=True)

    raw = raw_ok(key_client.iam.user_groups.members.with_raw_response.list(g, account_id=a, per_page=5, page=3), paginated=True)
    assert [m["email"] for m in raw] == sorted(ms)[10:]

    rec.requests.clear()
    fuzzy = list(client.iam.user_groups.members.list(g, account_id=a, fuzzy_email="LI"))
    assert rec.requests[0].url.params.get("fuzzyEmail") == "LI"
    want = sorted(e for e in ms if "li" in e)  # lima, charlie, juliet
    assert [m.email for m in fuzzy] == want
    assert len(want) == 3
    page = key_client.iam.user_groups.members.list(g, account_id=a, fuzzy_email=f"a-{tag}@", per_page=1)
    # alpha-, delta-, lima- … end in "a-<tag>@"
    want = sorted(e for e in ms if e.split("-")[0].endswith("a"))
    assert page.result_info.total_count == len(want)
    assert [m.email for m in page.result] == want[:1]
    assert [m.email for m in key_client.iam.user_groups.members.list(g, account_id=a, fuzzy_email="ECHO")] == [
        f"echo-{tag}@example.com"
    ]


def test_remove_one_returns_the_removed_member(key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    emails = sorted(ms)[:3]
    g = new_group(key_client, a)
    key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": ms[e]} for e in emails])
    status = key_client.accounts.members.get(ms[emails[1]], account_id=a).status
    before = modified_on(key_client, a, g)
    time.sleep(0.01)
    raw = key_client.iam.user_groups.members.with_raw_response.delete(ms[emails[1]], account_id=a, user_group_id=g)
    removed = raw_ok(raw)
    check_group_member_shape(removed)
    assert removed["id"] == ms[emails[1]]
    assert removed["email"] == emails[1]
    assert removed["status"] == status
    assert all_member_ids(key_client, a, g) == by_email(ms, [emails[0], emails[2]])
    assert modified_on(key_client, a, g) > before
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.delete(ms[emails[1]], account_id=a, user_group_id=g),
    )
    # the account member itself is untouched
    assert key_client.accounts.members.get(ms[emails[1]], account_id=a).id == ms[emails[1]]


def test_modified_on_moves_on_add(key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    g = new_group(key_client, a)
    before = modified_on(key_client, a, g)
    time.sleep(0.01)
    key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": ms[sorted(ms)[4]]}])
    after = modified_on(key_client, a, g)
    assert after > before, (before, after)


def test_deleting_an_account_member_removes_it_from_groups(key_client, sandbox):
    a = sandbox["account_id"]
    email = unique_email("leaver")
    leaver = key_client.accounts.members.create(account_id=a, email=email, roles=[ROLE_ADMIN_READ_ONLY])
    stayer = sandbox["members"][sorted(sandbox["members"])[0]]
    g1, g2 = new_group(key_client, a), new_group(key_client, a)
    for g in (g1, g2):
        key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": leaver.id}, {"id": stayer}])
    before = modified_on(key_client, a, g1)
    time.sleep(0.01)
    assert key_client.accounts.members.delete(leaver.id, account_id=a).id == leaver.id
    for g in (g1, g2):
        assert all_member_ids(key_client, a, g) == [stayer]
        expect_error(
            cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
            lambda: key_client.iam.user_groups.members.get(leaver.id, account_id=a, user_group_id=g),
        )
    assert modified_on(key_client, a, g1) > before, "modified_on moves when a member leaves the account"


def test_pending_members_may_be_added(key_client, sandbox):
    a = sandbox["account_id"]
    m = key_client.accounts.members.create(
        account_id=a, email=unique_email("pending"), roles=[ROLE_ADMIN_READ_ONLY], status="pending"
    )
    g = new_group(key_client, a)
    page = key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": m.id}])
    assert [(x.id, x.status) for x in page] == [(m.id, "pending")]


def test_deleting_the_group_keeps_the_account_members(key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    g = new_group(key_client, a)
    mid = ms[sorted(ms)[2]]
    key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": mid}])
    assert key_client.iam.user_groups.delete(g, account_id=a).id == g
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.user_groups.members.list(g, account_id=a),
    )
    assert key_client.accounts.members.get(mid, account_id=a).id == mid


def test_account_member_created_with_policies_has_expanded_policies(key_client, account_id):
    rg = raw_ok(
        key_client.iam.resource_groups.with_raw_response.create(
            account_id=account_id, name=unique("rg-member-all"), scope=scope_obj(account_id, "*")
        )
    )
    email = unique_email("polmember")
    raw = key_client.accounts.members.with_raw_response.create(
        account_id=account_id, email=email, policies=[group_policy([PG_ADMINISTRATOR], [rg["id"]])]
    )
    m = raw_ok(raw)
    check_member_shape(m)
    assert len(m["policies"]) == 1
    p = m["policies"][0]
    check_expanded_policy(p)
    assert p["access"] == "allow"
    assert [(g["id"], g["name"]) for g in p["permission_groups"]] == [(PG_ADMINISTRATOR, "Administrator")]
    assert isinstance(p["permission_groups"][0].get("meta"), dict)
    assert len(p["resource_groups"]) == 1
    r = p["resource_groups"][0]
    check_resource_group_shape(r, account_id=account_id)
    assert r == rg
    assert one_scope(r)["objects"] == [{"key": "*"}]

    got = raw_ok(key_client.accounts.members.with_raw_response.get(m["id"], account_id=account_id))
    assert got["policies"] == m["policies"], "policies stable between the write response and later reads"
    listed = [x for x in key_client.accounts.members.list(account_id=account_id, per_page=50) if x.id == m["id"]]
    assert len(listed) == 1
    assert listed[0].policies[0].id == p["id"]
    assert listed[0].policies[0].permission_groups[0].name == "Administrator"

    # a member with policies can be put in a user group like any other
    g = new_group(key_client, account_id)
    page = key_client.iam.user_groups.members.create(g, account_id=account_id, members=[{"id": m["id"]}])
    assert [x.email for x in page] == [email]
    assert_id(page.result[0].id)


def test_list_page_parameters(key_client, sandbox):
    a, ms = sandbox["account_id"], sandbox["members"]
    g = new_group(key_client, a)
    key_client.iam.user_groups.members.create(g, account_id=a, members=[{"id": ms[e]} for e in sorted(ms)[:3]])
    page = key_client.iam.user_groups.members.list(g, account_id=a)
    assert page.result_info.per_page == 100 and page.result_info.total_count == 3
    assert key_client.iam.user_groups.members.list(g, account_id=a, per_page=1000).result_info.per_page == 500
    page = key_client.iam.user_groups.members.list(g, account_id=a, per_page=2, page=2.0)
    assert [m.email for m in page.result] == [sorted(ms)[2]]
    past = key_client.iam.user_groups.members.list(g, account_id=a, per_page=2, page=3)
    assert past.result == [] and past.result_info.total_count == 3
    expect_error(
        cloudflare.BadRequestError, 400, 1001,
        lambda: key_client.iam.user_groups.members.list(g, account_id=a, page=0),
    )
