"""Shared assertions for the conformance tests (response shapes from the seed and spec/api.md)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Type

import pytest

import cloudflare

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]

ID_RE = re.compile(r"^[0-9a-f]{32}$")
# spec/api.md §1: RFC 3339 UTC with `Z` and microseconds, e.g. 2026-11-25T12:21:02.123456Z
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{40}$")
KEY_RE = re.compile(r"^[0-9a-f]{37}$")

# Legacy account roles (crates/portcullis-core/data/account_roles.json)
ROLE_SUPER_ADMIN = "33666b9c79b9a5273fc7344ff42f953d"
ROLE_ADMINISTRATOR = "05784afa30c1afe1440e79d9351c7430"
ROLE_ADMIN_READ_ONLY = "f2b20eaa1a5d4af42b53ac16238c99c7"
ROLE_ANALYTICS = "6ddc5f80969d01105b5a0931e0079365"

# Token permission groups (crates/portcullis-core/data/permission_groups.json, catalog api_token)
TPG_ACCOUNT_SETTINGS_READ = "c1fde68c7bcc44588cbb6ddbc16d6480"
TPG_ACCOUNT_SETTINGS_WRITE = "1af1fa2adc104452b74a9a3364202f20"
TPG_ACCOUNT_TOKENS_READ = "eb56a6953c034b9d97dd838155666f06"
TPG_API_TOKENS_READ = "0cc3a61731504c89b99ec1be78b77aa0"  # scope com.cloudflare.api.user
TPG_API_TOKENS_WRITE = "686d18d5ac6c441c867cbf6771e58a0a"

ERR_NOT_FOUND = 1003
ERR_VALIDATION = 1001
ERR_DUPLICATE = 1002
ERR_NOT_PERMITTED = 10000
ERR_BAD_TOKEN = 9109
ERR_BAD_KEY = 9103
ERR_BAD_PATH_ID = 7003


def _data_dir() -> Path:
    candidate = REPO_ROOT / "crates" / "portcullis-core" / "data"
    if (candidate / "permission_groups.json").is_file():
        return candidate
    raise FileNotFoundError(f"{candidate}/permission_groups.json not found")


def load_json(name: str) -> Any:
    return json.loads((_data_dir() / name).read_text())


def derived_group_id(name: str) -> str:
    """docs/api-decisions.md: ids of local role groups = sha256("portcullis:permission_group:" + name)[:32]."""
    return hashlib.sha256(("portcullis:permission_group:" + name).encode()).hexdigest()[:32]


def expected_member_permission_groups() -> Dict[str, Dict[str, Any]]:
    """id -> {name, label, local} for /accounts/{a}/iam/permission_groups (docs/api-decisions.md)."""
    catalog = load_json("permission_groups.json")
    roles = load_json("account_roles.json")
    out: Dict[str, Dict[str, Any]] = {}
    names = set()
    for g in catalog:
        if g["catalog"] == "account_member":
            out[g["id"]] = {"name": g["name"], "label": g.get("label"), "local": False}
            names.add(g["name"])
    for r in roles:
        if r["name"] not in names:
            out[derived_group_id(r["name"])] = {"name": r["name"], "label": None, "local": True}
            names.add(r["name"])
    return out


def token_catalog() -> List[Dict[str, Any]]:
    return [g for g in load_json("permission_groups.json") if g["catalog"] == "api_token"]


def assert_id(value: Any, what: str = "id") -> None:
    assert isinstance(value, str) and ID_RE.match(value), f"{what} is not 32 lowercase hex: {value!r}"


def assert_ts(value: Any, what: str = "timestamp") -> None:
    assert isinstance(value, str) and TS_RE.match(value), (
        f"{what} is not RFC 3339 UTC with Z and microseconds: {value!r}"
    )


def assert_json_content_type(headers: Any) -> None:
    ct = headers.get("content-type", "")
    assert "application/json" in ct, f"Content-Type is {ct!r}"


def assert_envelope(body: Any, *, paginated: Optional[bool] = None) -> Any:
    """A success envelope; returns body['result']."""
    assert isinstance(body, dict), f"body is not an object: {body!r}"
    for key in ("success", "errors", "messages", "result"):
        assert key in body, f"envelope lacks {key!r}: {body!r}"
    assert body["success"] is True, body
    assert body["errors"] == [], body
    assert isinstance(body["messages"], list), body
    if paginated is True:
        ri = body.get("result_info")
        assert isinstance(ri, dict), f"paginated list lacks result_info: {body!r}"
        for key in ("page", "per_page", "count", "total_count", "total_pages"):
            assert key in ri, f"result_info lacks {key!r}: {ri!r}"
        assert isinstance(body["result"], list)
        assert ri["count"] == len(body["result"]), ri
    return body["result"]


def raw_ok(raw: Any, *, paginated: Optional[bool] = None) -> Any:
    """Check a `with_raw_response` APIResponse: 200, JSON, envelope; returns result."""
    assert raw.status_code == 200, (raw.status_code, raw.http_response.text)
    assert_json_content_type(raw.headers)
    return assert_envelope(raw.json(), paginated=paginated)


def assert_error_body(body: Any, code: int) -> Dict[str, Any]:
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert body.get("success") is False, body
    assert body.get("result", "missing") is None, body
    assert isinstance(body.get("messages"), list), body
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    for e in errors:
        assert isinstance(e.get("code"), int) and e["code"] >= 1000 or e.get("code") == 971, e
        assert isinstance(e.get("message"), str) and e["message"], e
    codes = [e["code"] for e in errors]
    assert code in codes, f"expected error code {code}, got {codes}: {body!r}"
    return errors[codes.index(code)]


def expect_error(
    exc_type: Type[cloudflare.APIStatusError],
    status: int,
    code: Optional[int],
    fn: Callable[[], Any],
) -> cloudflare.APIStatusError:
    """Call fn, expect the given SDK exception, HTTP status and error code in errors[]."""
    with pytest.raises(exc_type) as info:
        fn()
    err = info.value
    assert err.status_code == status, (err.status_code, err.body)
    assert_json_content_type(err.response.headers)
    if code is not None:
        assert_error_body(err.body, code)
        assert any(e.code == code for e in err.errors), err.errors
    return err


def error_entry(err: cloudflare.APIStatusError, code: int) -> Dict[str, Any]:
    return assert_error_body(err.body, code)


def check_member_shape(m: Dict[str, Any]) -> None:
    assert_id(m.get("id"), "member.id")
    assert isinstance(m.get("email"), str) and "@" in m["email"], m
    assert m.get("status") in ("accepted", "pending"), m
    user = m.get("user")
    assert isinstance(user, dict), m
    assert_id(user.get("id"), "member.user.id")
    assert user.get("email") == m["email"], m
    for key in ("first_name", "last_name", "two_factor_authentication_enabled"):
        assert key in user, f"member.user lacks {key!r}: {m!r}"
    assert isinstance(m.get("roles"), list), m
    assert isinstance(m.get("policies"), list), m
    for r in m["roles"]:
        assert_id(r.get("id"), "role.id")
        assert isinstance(r.get("name"), str), r


def check_token_shape(t: Dict[str, Any], *, with_value: bool = False) -> None:
    assert_id(t.get("id"), "token.id")
    assert isinstance(t.get("name"), str) and t["name"], t
    assert t.get("status") in ("active", "disabled", "expired"), t
    assert_ts(t.get("issued_on"), "token.issued_on")
    assert_ts(t.get("modified_on"), "token.modified_on")
    for key in ("not_before", "expires_on", "last_used_on"):
        if t.get(key) is not None:
            assert_ts(t[key], f"token.{key}")
    pols = t.get("policies")
    assert isinstance(pols, list) and pols, t
    for p in pols:
        assert_id(p.get("id"), "token.policy.id")
        assert p.get("effect") in ("allow", "deny"), p
        assert isinstance(p.get("permission_groups"), list) and p["permission_groups"], p
        for g in p["permission_groups"]:
            assert_id(g.get("id"), "token.policy.permission_group.id")
        assert isinstance(p.get("resources"), dict) and p["resources"], p
    if with_value:
        assert isinstance(t.get("value"), str) and TOKEN_RE.match(t["value"]), t.get("value")
    else:
        assert t.get("value") is None, f"token value must only be shown at creation/roll: {t!r}"


def check_account_shape(a: Dict[str, Any]) -> None:
    assert_id(a.get("id"), "account.id")
    assert isinstance(a.get("name"), str) and a["name"], a
    assert a.get("type") in ("standard", "enterprise"), a
    assert_ts(a.get("created_on"), "account.created_on")
    settings = a.get("settings")
    assert isinstance(settings, dict), a
    assert "enforce_twofactor" in settings and "abuse_contact_email" in settings, a


def account_policy(account_id: str, *group_ids: str, effect: str = "allow") -> Dict[str, Any]:
    return {
        "effect": effect,
        "permission_groups": [{"id": g} for g in group_ids],
        "resources": {f"com.cloudflare.api.account.{account_id}": "*"},
    }


def user_policy(user_id: str, *group_ids: str, effect: str = "allow") -> Dict[str, Any]:
    return {
        "effect": effect,
        "permission_groups": [{"id": g} for g in group_ids],
        "resources": {f"com.cloudflare.api.user.{user_id}": "*"},
    }


def sort_key_name(name: str, id_: str):
    return (name.lower(), id_)


def iter_unique(items: Iterable[Any], key: Callable[[Any], Any]) -> List[Any]:
    out = list(items)
    keys = [key(x) for x in out]
    assert len(keys) == len(set(keys)), f"duplicates while paginating: {sorted(k for k in keys if keys.count(k) > 1)}"
    return out


# --- IAM groups (resource groups, user groups, user-group members, policies) ---------------------

ERR_SCOPE_MISMATCH = 1006

# Local permission groups (docs/api-decisions.md: id derived from the role name)
PG_SUPER_ADMIN = derived_group_id("Super Administrator - All Privileges")
PG_ADMINISTRATOR = derived_group_id("Administrator")
PG_ADMIN_READ_ONLY = derived_group_id("Administrator Read Only")
# Token-catalog groups that member policies may also use (spec/api.md §5)
PG_ZONE_READ = "c8fed203ed3043cba015a93ad1616f1f"  # scope com.cloudflare.api.account.zone
PG_DNS_READ = "82e64a83756745bbbb1c9c2701bf816b"  # scope com.cloudflare.api.account.zone

RESOURCE_GROUP_META = {"key": "editable", "value": "true"}


def account_key(account_id: str) -> str:
    return f"com.cloudflare.api.account.{account_id}"


def zone_key(zone_id: str) -> str:
    return f"com.cloudflare.api.account.zone.{zone_id}"


def scope_obj(account_id: str, *object_keys: str) -> Dict[str, Any]:
    """A scope as the SDK sends it (one object)."""
    return {"key": account_key(account_id), "objects": [{"key": k} for k in object_keys]}


def group_policy(
    permission_groups: Iterable[str], resource_groups: Iterable[str], access: str = "allow", id: Optional[str] = None
) -> Dict[str, Any]:
    p: Dict[str, Any] = {
        "access": access,
        "permission_groups": [{"id": g} for g in permission_groups],
        "resource_groups": [{"id": r} for r in resource_groups],
    }
    if id is not None:
        p["id"] = id
    return p


def error_pointer(err: cloudflare.APIStatusError, code: int) -> Optional[str]:
    return (error_entry(err, code).get("source") or {}).get("pointer")


# The SDK this suite runs on (cloudflare==5.4.0 or 5.9.0): 5.7.0 changed a resource group's
# `scope` in responses from a one-element list to one object, and the server answers each SDK
# version in the shape its models declare (docs/api-decisions.md, "Scope shape").
SDK_VERSION = tuple(int(x) for x in re.findall(r"\d+", cloudflare.__version__)[:3])
SCOPE_AS_OBJECT = SDK_VERSION >= (5, 7, 0)


# `tokens.value.update` (roll) takes a `body` argument up to 5.7 and sends no body from 5.8 on; the
# server accepts both.
ROLL_BODY: Dict[str, Any] = {} if SDK_VERSION >= (5, 8, 0) else {"body": {}}


def one_scope(rg: Dict[str, Any]) -> Dict[str, Any]:
    """The scope of a raw resource group, checked to be in this SDK version's shape."""
    scope = rg.get("scope")
    if SCOPE_AS_OBJECT:
        assert isinstance(scope, dict), f"scope must be one object for SDK {cloudflare.__version__}: {rg!r}"
        return scope
    assert isinstance(scope, list) and len(scope) == 1, f"scope must be a one-element list: {rg!r}"
    return scope[0]


def shown_scope(scope: Dict[str, Any]) -> Any:
    """A scope as a response shows it to this SDK version."""
    return scope if SCOPE_AS_OBJECT else [scope]


def check_resource_group_shape(rg: Dict[str, Any], *, account_id: Optional[str] = None) -> None:
    assert_id(rg.get("id"), "resource_group.id")
    assert isinstance(rg.get("name"), str) and rg["name"], rg
    s = one_scope(rg)
    assert isinstance(s, dict) and isinstance(s.get("key"), str), rg
    if account_id is not None:
        assert s["key"] == account_key(account_id), rg
    objs = s.get("objects")
    assert isinstance(objs, list) and objs, rg
    for o in objs:
        assert isinstance(o, dict) and isinstance(o.get("key"), str) and o["key"], rg
    assert rg.get("meta") == RESOURCE_GROUP_META, rg


def scope_object_keys(rg: Dict[str, Any]) -> List[str]:
    return [o["key"] for o in one_scope(rg)["objects"]]


def check_expanded_policy(p: Dict[str, Any]) -> None:
    assert_id(p.get("id"), "policy.id")
    assert p.get("access") in ("allow", "deny"), p
    pgs = p.get("permission_groups")
    assert isinstance(pgs, list) and pgs, p
    for g in pgs:
        assert_id(g.get("id"), "policy.permission_group.id")
        assert isinstance(g.get("name"), str) and g["name"], f"permission group not expanded: {g!r}"
        assert isinstance(g.get("meta"), dict), f"permission group lacks meta: {g!r}"
    rgs = p.get("resource_groups")
    assert isinstance(rgs, list) and rgs, p
    for r in rgs:
        check_resource_group_shape(r)


def check_user_group_shape(g: Dict[str, Any]) -> None:
    assert_id(g.get("id"), "user_group.id")
    assert isinstance(g.get("name"), str) and g["name"], g
    assert_ts(g.get("created_on"), "user_group.created_on")
    assert_ts(g.get("modified_on"), "user_group.modified_on")
    assert g["modified_on"] >= g["created_on"], g
    assert isinstance(g.get("policies"), list), g
    for p in g["policies"]:
        check_expanded_policy(p)


def policy_ids_view(policies: List[Dict[str, Any]]) -> List[Any]:
    """(policy id, access, [permission group ids], [resource group ids]) in response order."""
    return [
        (p["id"], p["access"], [g["id"] for g in p["permission_groups"]], [r["id"] for r in p["resource_groups"]])
        for p in policies
    ]


def check_group_member_shape(m: Dict[str, Any]) -> None:
    """A user-group member in list/add/replace/remove answers: {id, email, status}."""
    assert_id(m.get("id"), "group_member.id")
    assert isinstance(m.get("email"), str) and "@" in m["email"], m
    assert m.get("status") in ("accepted", "pending"), m
