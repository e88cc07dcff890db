"""client.iam.permission_groups: GET /accounts/{a}/iam/permission_groups[/{id}]."""

from __future__ import annotations

import math

import cloudflare

from conftest import RequestRecorder
from helpers import (
    ERR_BAD_PATH_ID,
    ERR_NOT_FOUND,
    ERR_VALIDATION,
    assert_id,
    derived_group_id,
    expect_error,
    expected_member_permission_groups,
    iter_unique,
    raw_ok,
)

DNS_ID = "49ce85367bae433b9f0717ed4fea5c74"  # label dns_admin
SUPER_ADMIN = "Super Administrator - All Privileges"


def test_auto_pagination_walks_every_page(env, account_id):
    rec = RequestRecorder()
    client = env.client(api_email=env.boot["email"], api_key=env.boot["api_key"], http_client=rec.http_client())
    first = client.iam.permission_groups.list(account_id=account_id, per_page=5)
    assert first.result_info is not None
    total = first.result_info.total_count
    assert total is not None and total >= 15, first.result_info
    assert len(first.result) == 5
    groups = iter_unique(first, key=lambda g: g.id)
    assert len(groups) == total
    pages = math.ceil(total / 5)
    assert pages >= 3
    # N pages + the empty page that stops the SDK.
    assert len(rec.requests) == pages + 1, rec.paths()
    for g in groups:
        assert_id(g.id, "permission group id")
        assert isinstance(g.name, str) and g.name
    keys = [(g.name.lower(), g.id) for g in groups]
    assert keys == sorted(keys), "permission groups must be ordered by name (case-insensitive) then id"


def test_catalog_content_matches_shared_data(key_client, account_id):
    expected = expected_member_permission_groups()
    got = {g.id: g for g in key_client.iam.permission_groups.list(account_id=account_id, per_page=50)}
    assert {i: g.name for i, g in got.items()} == {i: e["name"] for i, e in expected.items()}
    # local roles have ids derived from their names and meta.local == "true"
    sa = got[derived_group_id(SUPER_ADMIN)]
    assert sa.name == SUPER_ADMIN
    assert (sa.meta.model_extra or {}).get("local") == "true", sa.meta


def test_first_page_shape_and_result_info(key_client, account_id):
    raw = key_client.iam.permission_groups.with_raw_response.list(account_id=account_id, per_page=5)
    result = raw_ok(raw, paginated=True)
    body = raw.json()
    ri = body["result_info"]
    total = len(expected_member_permission_groups())
    assert ri["page"] == 1
    assert ri["per_page"] == 5
    assert ri["count"] == 5
    assert ri["total_count"] == total
    assert ri["total_pages"] == math.ceil(total / 5)
    for g in result:
        assert_id(g["id"])
        assert isinstance(g["name"], str)
        meta = g["meta"]
        assert meta["key"] == "label"
        assert "value" in meta
        for key in ("label", "scopes", "description", "editable"):
            assert key in meta, f"meta lacks {key!r}: {g!r}"
        assert meta["editable"] == "false"


def test_default_page_size_is_20(key_client, account_id):
    raw = key_client.iam.permission_groups.with_raw_response.list(account_id=account_id)
    result = raw_ok(raw, paginated=True)
    assert len(result) == 20
    assert raw.json()["result_info"]["per_page"] == 20


def test_per_page_is_clamped(key_client, account_id):
    low = key_client.iam.permission_groups.list(account_id=account_id, per_page=1)
    assert len(low.result) == 5
    high = key_client.iam.permission_groups.list(account_id=account_id, per_page=500)
    assert len(high.result) == 50


def test_float_page_is_accepted(key_client, account_id):
    by_int = key_client.iam.permission_groups.list(account_id=account_id, per_page=5, page=2)
    by_float = key_client.iam.permission_groups.list(account_id=account_id, per_page=5.0, page=2.0)
    assert [g.id for g in by_float.result] == [g.id for g in by_int.result]
    assert len(by_int.result) == 5
    first = key_client.iam.permission_groups.list(account_id=account_id, per_page=5, page=1)
    assert not {g.id for g in first.result} & {g.id for g in by_int.result}


def test_page_past_the_end_is_empty(key_client, account_id):
    raw = key_client.iam.permission_groups.with_raw_response.list(account_id=account_id, per_page=5, page=100)
    result = raw_ok(raw, paginated=True)
    assert result == []
    ri = raw.json()["result_info"]
    assert ri["count"] == 0
    assert ri["page"] == 100
    assert ri["total_count"] == len(expected_member_permission_groups())
    assert list(key_client.iam.permission_groups.list(account_id=account_id, per_page=5, page=100)) == []


def test_page_zero_is_rejected(key_client, account_id):
    expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: key_client.iam.permission_groups.list(account_id=account_id, page=0),
    )


def test_filter_by_id(key_client, account_id):
    page = key_client.iam.permission_groups.list(account_id=account_id, id=DNS_ID)
    assert [g.id for g in page.result] == [DNS_ID]
    assert page.result[0].name == "DNS"
    assert page.result_info.total_count == 1
    none = key_client.iam.permission_groups.list(account_id=account_id, id="0" * 32)
    assert none.result == []


def test_filter_by_name_is_exact_and_case_insensitive(key_client, account_id):
    page = key_client.iam.permission_groups.list(account_id=account_id, name="dns")
    assert [g.id for g in page.result] == [DNS_ID]  # not "Domain DNS"
    page = key_client.iam.permission_groups.list(account_id=account_id, name=SUPER_ADMIN.upper())
    assert [g.id for g in page.result] == [derived_group_id(SUPER_ADMIN)]
    # Python sends spaces as '+'; the server must decode them.
    page = key_client.iam.permission_groups.list(account_id=account_id, name="Domain DNS")
    assert [g.name for g in page.result] == ["Domain DNS"]
    assert key_client.iam.permission_groups.list(account_id=account_id, name="Domain").result == []


def test_filter_by_label(key_client, account_id):
    page = key_client.iam.permission_groups.list(account_id=account_id, label="dns_admin")
    assert [g.id for g in page.result] == [DNS_ID]
    assert page.result[0].meta.key == "label"
    assert page.result[0].meta.value == "dns_admin"
    assert key_client.iam.permission_groups.list(account_id=account_id, label="no_such_label").result == []


def test_get(key_client, account_id):
    raw = key_client.iam.permission_groups.with_raw_response.get(DNS_ID, account_id=account_id)
    g = raw_ok(raw)
    assert g["id"] == DNS_ID
    assert g["name"] == "DNS"
    assert g["meta"]["key"] == "label" and g["meta"]["value"] == "dns_admin"
    assert g["meta"]["label"] == "dns_admin"
    assert g["meta"]["scopes"] == "com.cloudflare.api.account"
    assert g["meta"]["description"] == "Can edit DNS records."
    model = raw.parse()
    assert model.id == DNS_ID and model.name == "DNS"
    sa = key_client.iam.permission_groups.get(derived_group_id(SUPER_ADMIN), account_id=account_id)
    assert sa.name == SUPER_ADMIN


def test_get_unknown_id_is_not_found(key_client, account_id):
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: key_client.iam.permission_groups.get("f" * 32, account_id=account_id),
    )


def test_get_malformed_id_is_bad_request(key_client, account_id):
    expect_error(
        cloudflare.BadRequestError, 400, ERR_BAD_PATH_ID,
        lambda: key_client.iam.permission_groups.get("not-an-id", account_id=account_id),
    )


def test_readable_with_the_account_token(token_client, account_id):
    page = token_client.iam.permission_groups.list(account_id=account_id, id=DNS_ID)
    assert [g.id for g in page.result] == [DNS_ID]
