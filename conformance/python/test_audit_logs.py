"""Audit log and change feed through the official SDK (cloudflare 5.4.0 and 5.9.0).

Contract (session 8, "Audit log and change feed"):
  - every successful write through the API or CLI records exactly one entry, in the write's
    transaction; a request refused with 403 records one entry with result failure; a write that
    fails otherwise (400/404/409) records nothing;
  - v1 `GET /accounts/{a}/audit_logs` (`client.audit_logs.list`, V4 page pagination) and
    v2 `GET /accounts/{a}/logs/audit` (`client.accounts.logs.audit.list`, cursor pagination on
    `result_info.cursors.after`; `since` and `before` required) show the same entries;
  - `GET /accounts/{a}/iam/changes` (no SDK method: the SDK's raw `client.get`) is the ascending
    feed of successful writes, resumable with `result_info.cursor`;
  - all three need `com.cloudflare.api.account.audit-log.read`; accounts never see each other's.

The SDK sends nested query params with dots and lists repeated (`action.type=create`,
`action_type.not=delete&action_type.not=view`). The SDK types v2 filters only as `{"not": [...]}`,
so positive filters (`actor_email=x`) go through `extra_query`; `raw_cf_ray_id` is the SDK's
`raw_cf_rayid` param.

These tests run on their own server (module scope): the audit log is the whole account's history,
so no other test file's writes may land in it. Tests that count entries do so in their own time
window (`since`/`before` taken from the local clock, the server's clock too).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from urllib.parse import unquote
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare

from conftest import Env, RequestRecorder, ServerProcess, bootstrap_db, database_url, drop_database, unique, unique_email
from enforcement_support import expect_denied, token_actor, user_actor
from helpers import (
    ERR_DUPLICATE,
    ERR_NOT_FOUND,
    ERR_VALIDATION,
    PG_ADMIN_READ_ONLY,
    ROLE_ADMIN_READ_ONLY,
    TPG_ACCOUNT_SETTINGS_READ,
    TPG_ACCOUNT_TOKENS_READ,
    account_policy,
    assert_envelope,
    assert_id,
    assert_ts,
    expect_error,
    group_policy,
    one_scope,
    scope_obj,
)

K_AUDIT = "com.cloudflare.api.account.audit-log.read"
K_MEMBER_CREATE = "com.cloudflare.api.account.member.create"
K_SSO_READ = "#sso_connector:read"
ROLE_AUDIT_LOGS_VIEWER = "9dfa4d1b73034f70ad896bf1c26d78f3"  # account_roles.json "Audit Logs Viewer"
ROLE_MINIMAL = "5c35d2bf3a545e6b7560b826c0d23c39"  # account_roles.json "Minimal Account Access"
ACCOUNT_NAME = "Audit Conformance"
LOCALHOST = "127.0.0.1"
UNIX_EPOCH_DAY = "2000-01-01"

UTC = timezone.utc


# --- time -----------------------------------------------------------------------------------------



ENTRY_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def assert_entry_id(value, what: str) -> None:
    """Audit entry ids are UUID-shaped, like Cloudflare's."""
    assert isinstance(value, str) and ENTRY_ID_RE.match(value), f"{what} is not UUID-shaped: {value!r}"

def now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """RFC 3339 UTC with microseconds and Z (the form the server writes)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(s: str) -> datetime:
    assert_ts(s)
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def far_future() -> str:
    return iso(now() + timedelta(days=1))


def midpoint(a: str, b: str) -> str:
    ta, tb = parse_ts(a), parse_ts(b)
    assert tb - ta >= timedelta(microseconds=2), f"entries too close to split: {a} {b}"
    return iso(ta + (tb - ta) / 2)


# --- calls ----------------------------------------------------------------------------------------


def v2_body(client: Cloudflare, a: str, since: str, before: str, **kw: Any) -> Dict[str, Any]:
    """One v2 page as the server sent it (through the SDK's own method)."""
    raw = client.accounts.logs.audit.with_raw_response.list(account_id=a, since=since, before=before, **kw)
    assert raw.status_code == 200, (raw.status_code, raw.http_response.text)
    body = raw.json()
    assert_envelope(body)
    assert isinstance(body["result"], list), body
    ri = body.get("result_info")
    assert isinstance(ri, dict), body
    assert ri.get("count") == len(body["result"]), ri
    assert isinstance(ri.get("cursor"), str), f"result_info.cursor must be a string: {ri!r}"
    assert isinstance(ri.get("cursors"), dict), f"result_info.cursors must be an object: {ri!r}"
    after = ri["cursors"].get("after")
    if after:
        assert ri["cursor"] == after, ri
    else:
        assert ri["cursor"] == "", f"the last page's cursor is empty: {ri!r}"
    return body


def v2_all(client: Cloudflare, a: str, since: str, before: str, **kw: Any) -> List[Dict[str, Any]]:
    """Every v2 entry of a window in one page (limit 1000): raw dicts."""
    kw.setdefault("limit", 1000)
    body = v2_body(client, a, since, before, **kw)
    assert not body["result_info"]["cursors"].get("after"), "expected one page"
    for e in body["result"]:
        check_v2_shape(e, a)
    return body["result"]


def v2_ids(client: Cloudflare, a: str, since: str, before: str, **kw: Any) -> List[str]:
    return [e["id"] for e in v2_all(client, a, since, before, **kw)]


def v1_body(client: Cloudflare, a: str, **kw: Any) -> Dict[str, Any]:
    raw = client.audit_logs.with_raw_response.list(account_id=a, **kw)
    assert raw.status_code == 200, (raw.status_code, raw.http_response.text)
    body = raw.json()
    assert_envelope(body, paginated=True)
    return body


def v1_all(client: Cloudflare, a: str, **kw: Any) -> List[Dict[str, Any]]:
    kw.setdefault("per_page", 1000)
    body = v1_body(client, a, **kw)
    ri = body["result_info"]
    assert ri["total_count"] == len(body["result"]), f"expected one page: {ri!r}"
    for e in body["result"]:
        check_v1_shape(e, a)
    return body["result"]


def v1_ids(client: Cloudflare, a: str, **kw: Any) -> List[str]:
    return [e["id"] for e in v1_all(client, a, **kw)]


def changes(client: Cloudflare, a: str, *, cursor: Optional[str] = None, limit: Optional[int] = None) -> Dict[str, Any]:
    """GET /accounts/{a}/iam/changes through the SDK's raw `get`; returns the whole envelope."""
    params: Dict[str, Any] = {}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    body = client.get(f"/accounts/{a}/iam/changes", cast_to=object, options={"params": params})
    assert_envelope(body)
    assert isinstance(body["result"], list), body
    ri = body.get("result_info")
    assert isinstance(ri, dict), body
    assert ri.get("count") == len(body["result"]), ri
    assert isinstance(ri.get("cursor"), str) and ri["cursor"], f"result_info.cursor: {ri!r}"
    assert isinstance(ri.get("has_more"), bool), ri
    for item in body["result"]:
        check_change_shape(item)
    return body


def changes_all(client: Cloudflare, a: str, cursor: Optional[str] = None, limit: int = 1000) -> Tuple[List[Dict[str, Any]], str]:
    """Follow the feed until has_more is false; returns (items, last cursor)."""
    items: List[Dict[str, Any]] = []
    for _ in range(1000):
        body = changes(client, a, cursor=cursor, limit=limit)
        items.extend(body["result"])
        cursor = body["result_info"]["cursor"]
        if not body["result_info"]["has_more"]:
            return items, cursor
        assert body["result"], "has_more with an empty page"
    raise AssertionError("the change feed did not end")


# --- shapes ---------------------------------------------------------------------------------------

ACTION_TYPES = ("create", "update", "delete")
RESOURCE_TYPES = (
    "account", "member", "membership", "user_group", "user_group_members", "resource_group", "token",
    "sso_connector", "oauth_client", "user",
)


def check_v2_actor(actor: Dict[str, Any]) -> None:
    assert isinstance(actor, dict), actor
    assert actor.get("type") in ("user", "account", "system"), actor
    if actor["type"] == "user":
        assert_id(actor.get("id"), "actor.id")
        assert isinstance(actor.get("email"), str) and "@" in actor["email"], actor
        assert actor.get("context") in ("api_key", "api_token"), actor
    if actor["type"] == "account":
        assert_id(actor.get("id"), "actor.id")
        assert actor.get("context") == "api_token", actor
        assert actor.get("token_id") == actor["id"], actor
    if actor["type"] == "system":
        assert actor.get("context") is None, f"the CLI has no credential context: {actor!r}"
    if actor.get("context") == "api_token":
        assert_id(actor.get("token_id"), "actor.token_id")
        assert isinstance(actor.get("token_name"), str) and actor["token_name"], actor
    else:
        assert actor.get("token_id") is None and actor.get("token_name") is None, actor


def check_v2_shape(e: Dict[str, Any], a: str) -> None:
    assert_entry_id(e.get("id"), "entry.id")
    acct = e.get("account")
    assert isinstance(acct, dict) and acct.get("id") == a, e
    assert isinstance(acct.get("name"), str) and acct["name"], e
    action = e.get("action")
    assert isinstance(action, dict), e
    assert action.get("result") in ("success", "failure"), e
    assert_ts(action.get("time"), "action.time")
    assert isinstance(action.get("description"), str) and action["description"], e
    if action["result"] == "success":
        assert action.get("type") in ACTION_TYPES, e
    else:
        assert action.get("type") in ACTION_TYPES + ("view",), e
    check_v2_actor(e.get("actor"))
    if e["actor"]["type"] != "system":  # the CLI has no HTTP request
        raw = e.get("raw")
        assert isinstance(raw, dict), e
        assert isinstance(raw.get("cf_ray_id"), str) and raw["cf_ray_id"], e
        assert raw.get("method") in ("GET", "POST", "PUT", "PATCH", "DELETE"), e
        assert isinstance(raw.get("status_code"), int), e
        assert isinstance(raw.get("uri"), str) and raw["uri"].startswith("/"), e
        assert isinstance(raw.get("user_agent"), str), e
    res = e.get("resource")
    assert isinstance(res, dict), e
    assert res.get("product") == "iam", e
    assert res.get("scope") in ("accounts", "memberships"), e
    assert res.get("request") is None, e
    value = res.get("value")
    assert isinstance(value, dict) and set(value) == {"before", "after"}, e
    assert res.get("response") == value["after"], "resource.response is the after value"
    if action["result"] == "success":
        assert res.get("type") in RESOURCE_TYPES, e
        assert isinstance(res.get("id"), str) and res["id"], e
    assert e.get("zone") is None, e
    check_no_secrets(value)


SECRET_KEYS = {"value", "secret", "client_secret", "api_key", "token_value"}


def check_no_secrets(v: Any, path: str = "") -> None:
    """Snapshots never hold secrets: no token value, key, OAuth secret, nor any hash of one."""
    if isinstance(v, dict):
        for k, x in v.items():
            where = f"{path}/{k}"
            assert k not in SECRET_KEYS and "hash" not in k.lower(), f"secret-like field {where} in a stored snapshot"
            check_no_secrets(x, where)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            check_no_secrets(x, f"{path}/{i}")


def check_v1_shape(e: Dict[str, Any], a: str) -> None:
    assert_entry_id(e.get("id"), "v1 entry.id")
    action = e.get("action")
    assert isinstance(action, dict) and isinstance(action.get("result"), bool), e
    assert action.get("type") in ACTION_TYPES + ("view",), e
    actor = e.get("actor")
    assert isinstance(actor, dict), e
    assert e.get("interface") in ("API", "CLI"), e
    if e["interface"] == "API":
        assert actor.get("type") in ("user", "admin"), e
        assert actor.get("ip") == LOCALHOST, e
    assert isinstance(e.get("metadata"), dict), e
    assert e.get("owner") == {"id": a}, e
    res = e.get("resource")
    assert isinstance(res, dict) and "type" in res, e
    assert_ts(e.get("when"), "when")
    for k in ("oldValue", "newValue"):
        if e.get(k) is not None:
            assert isinstance(e[k], str), f"{k} is JSON text: {e!r}"
            assert isinstance(json.loads(e[k]), dict), e


def check_change_shape(c: Dict[str, Any]) -> None:
    assert isinstance(c.get("cursor"), str) and c["cursor"], c
    assert_entry_id(c.get("id"), "change.id")
    assert_ts(c.get("time"), "change.time")
    assert c.get("action") in ACTION_TYPES, c
    res = c.get("resource")
    assert isinstance(res, dict) and res.get("type") in RESOURCE_TYPES and isinstance(res.get("id"), str), c
    check_v2_actor(c.get("actor"))
    assert "before" in c and "after" in c, c
    if c["action"] == "create":
        assert c["before"] is None and isinstance(c["after"], dict), c
    if c["action"] == "delete":
        assert isinstance(c["before"], dict) and c["after"] is None, c


def compact(d: Dict[str, Any]) -> Dict[str, Any]:
    """The object without null members (absent and null mean the same to the SDKs)."""
    return {k: v for k, v in d.items() if v is not None}


def sent(rec: RequestRecorder) -> List[str]:
    """The recorded requests' paths and queries, percent-decoded."""
    return [unquote(p) for p in rec.paths()]


def v1_values(e: Dict[str, Any]) -> Tuple[Any, Any]:
    old = e.get("oldValue")
    new = e.get("newValue")
    return (json.loads(old) if old is not None else None, json.loads(new) if new is not None else None)


# --- snapshots expected from write responses --------------------------------------------------------


def ug_snapshot(g: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": g["id"],
        "name": g["name"],
        "policies": [
            {
                "id": p["id"],
                "access": p["access"],
                "permission_groups": [x["id"] for x in p["permission_groups"]],
                "resource_groups": [x["id"] for x in p["resource_groups"]],
            }
            for p in g["policies"]
        ],
    }


def rg_snapshot(rg: Dict[str, Any]) -> Dict[str, Any]:
    s = one_scope(rg)
    return {"id": rg["id"], "name": rg["name"], "scope": {"key": s["key"], "objects": s["objects"]}}


def object_keys(objects: Any) -> List[str]:
    """A scope's objects as keys: the spec writes `objects: [...]` without saying whether the
    snapshot keeps `{key}` objects (the API's shape) or bare keys; both are accepted."""
    assert isinstance(objects, list), objects
    return [o["key"] if isinstance(o, dict) and set(o) == {"key"} else o for o in objects]


def check_rg_snapshot(snap: Any, expected: Dict[str, Any]) -> None:
    assert isinstance(snap, dict) and set(snap) == {"id", "name", "scope"}, snap
    assert (snap["id"], snap["name"]) == (expected["id"], expected["name"]), snap
    assert isinstance(snap["scope"], dict) and set(snap["scope"]) == {"key", "objects"}, snap
    assert snap["scope"]["key"] == expected["scope"]["key"], snap
    assert object_keys(snap["scope"]["objects"]) == object_keys(expected["scope"]["objects"]), snap


def token_snapshot(t: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": t["id"],
        "name": t["name"],
        "status": t["status"],
        "not_before": t.get("not_before"),
        "expires_on": t.get("expires_on"),
        "condition": t.get("condition"),
        "policies": [
            {
                "id": p["id"],
                "effect": p["effect"],
                "permission_groups": [x["id"] for x in p["permission_groups"]],
                "resources": p["resources"],
            }
            for p in t["policies"]
        ],
    }


def check_member_snapshot(snap: Any, m: Dict[str, Any]) -> None:
    assert isinstance(snap, dict), snap
    assert snap.get("id") == m["id"], snap
    assert snap.get("email") == m["email"], snap
    assert snap.get("user_id") == m["user"]["id"], snap
    assert snap.get("status") == m["status"], snap
    assert snap.get("roles") == [r["id"] for r in m["roles"]], snap
    assert snap.get("policies") in (None, []), f"a member with roles has no policies: {snap!r}"


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    env: Env
    op: Cloudflare  # the bootstrap account-owned token
    key: Cloudflare  # the bootstrap user (operator, Super Administrator) by email + global key
    token_name: str = ""
    _http: List[httpx.Client] = field(default_factory=list)

    @property
    def a(self) -> str:
        return self.env.account_id

    @property
    def boot(self) -> Dict[str, Any]:
        return self.env.boot

    def token(self, *pgs: str) -> Tuple[Any, Cloudflare]:
        t = self.op.accounts.tokens.create(account_id=self.a, name=unique("audit-token"), policies=[account_policy(self.a, *pgs)])
        return t, self.env.token_client(t.value)

    def member(self, roles: List[str]) -> Tuple[Dict[str, Any], Cloudflare, Any]:
        info, client = self.env.new_user_client(unique_email("audit"))
        m = self.op.accounts.members.create(account_id=self.a, email=info["email"], roles=roles, status="accepted")
        return info, client, m


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    db_url = database_url(tmp / "p.db")
    try:
        boot = bootstrap_db(db_url, account_name=ACCOUNT_NAME)
        server = ServerProcess(db_url, tmp / "server.log").start()
    except BaseException:
        drop_database(db_url)
        raise
    env = Env(server=server, db_url=db_url, boot=boot, base_url=server.base_url, tmp=tmp)
    w = World(env=env, op=env.token_client(boot["api_token"]), key=env.key_client(boot["email"], boot["api_key"]))
    w.token_name = w.op.accounts.tokens.get(boot["api_token_id"], account_id=w.a).name
    try:
        yield w
    finally:
        for c in w._http:
            c.close()
        for c in env._clients:
            try:
                c.close()
            except Exception:
                pass
        server.stop()
        drop_database(db_url)


# --- the scripted sequence --------------------------------------------------------------------------


@dataclass
class Write:
    label: str
    by: str  # "token" (the bootstrap account token) | "key" (the bootstrap user's global key)
    ray: str
    method: str
    uri: str  # path + query as sent
    status: int
    user_agent: str
    action: str
    rtype: str
    rid: str
    result: Any
    before: Any = None  # expected before snapshot (None for create)
    after: Any = None  # expected after snapshot (None for delete)
    check: Optional[Callable[[Any, Any], None]] = None  # replaces the before/after equality


@dataclass
class Script:
    since: str
    before: str
    writes: List[Write]
    group_id: str
    member_id: str
    token_id: str
    rg_id: str
    token_value: str

    def by_ray(self) -> Dict[str, Write]:
        return {w.ray: w for w in self.writes}


def record(label: str, by: str, action: str, rtype: str, raw: Any, rid: Optional[str] = None) -> Write:
    assert raw.status_code == 200, (label, raw.status_code, raw.http_response.text)
    body = raw.json()
    assert_envelope(body)
    ray = raw.headers.get("cf-ray")
    assert ray, f"{label}: no cf-ray header"
    assert raw.headers.get("x-request-id") == ray, label
    req = raw.http_request
    result = body["result"]
    return Write(
        label=label, by=by, ray=ray, method=req.method, uri=req.url.raw_path.decode(), status=raw.status_code,
        user_agent=req.headers.get("user-agent", ""), action=action, rtype=rtype,
        rid=rid if rid is not None else result["id"], result=result,
    )


@pytest.fixture(scope="module")
def script(world: World) -> Script:
    a, op, key = world.a, world.op, world.key
    member_user = world.env.user_key(unique_email("audit-member"))  # user-level: in no account's log
    since = iso(now())
    ws: List[Write] = []

    w = record("rg create", "key", "create", "resource_group",
               key.iam.resource_groups.with_raw_response.create(account_id=a, name=unique("audit-rg"), scope=scope_obj(a, "*")))
    w.check = lambda before, after, rg=rg_snapshot(w.result): (
        before is None or pytest.fail(f"create's before is null: {before!r}"), check_rg_snapshot(after, rg))
    ws.append(w)
    rg_id = w.result["id"]

    w = record("group create", "token", "create", "user_group",
               op.iam.user_groups.with_raw_response.create(account_id=a, name=unique("audit-group"),
                                                           policies=[group_policy([PG_ADMIN_READ_ONLY], [rg_id])]))
    w.after = ug_snapshot(w.result)
    assert w.after["policies"][0]["permission_groups"] == [PG_ADMIN_READ_ONLY]
    assert w.after["policies"][0]["resource_groups"] == [rg_id]
    ws.append(w)
    group_id = w.result["id"]
    created_group = w.after

    w = record("group rename", "token", "update", "user_group",
               op.iam.user_groups.with_raw_response.update(group_id, account_id=a, name=unique("audit-renamed")))
    w.before, w.after = created_group, ug_snapshot(w.result)
    assert w.after["policies"] == created_group["policies"] and w.after["name"] != created_group["name"]
    ws.append(w)
    renamed_group = w.after

    w = record("member create", "key", "create", "member",
               key.accounts.members.with_raw_response.create(account_id=a, email=member_user["email"],
                                                             roles=[ROLE_ADMIN_READ_ONLY], status="accepted"))
    member = w.result
    assert member["user"]["id"] == member_user["user_id"]
    w.check = lambda before, after, m=member: (before is None or pytest.fail(f"create's before is null: {before!r}"),
                                               check_member_snapshot(after, m))
    ws.append(w)

    w = record("group members add", "token", "update", "user_group_members",
               op.iam.user_groups.members.with_raw_response.create(group_id, account_id=a, members=[{"id": member["id"]}]),
               rid=group_id)

    def members_check(before: Any, after: Any, g: str = group_id, m: str = member["id"]) -> None:
        assert after == {"id": g, "members": [m]}, after
        assert before in (None, {"id": g, "members": []}), before

    w.check = members_check
    ws.append(w)

    condition = {"request_ip": {"in": ["10.0.0.0/8"], "not_in": ["10.1.0.0/16"]}}
    w = record("token create", "token", "create", "token",
               op.accounts.tokens.with_raw_response.create(account_id=a, name=unique("audit-made"),
                                                           policies=[account_policy(a, TPG_ACCOUNT_SETTINGS_READ)],
                                                           condition=condition))
    token_value = w.result["value"]
    w.after = token_snapshot(w.result)
    assert w.after["condition"] == condition, w.result
    ws.append(w)
    token_id = w.result["id"]
    created_token = w.after

    w = record("token update", "key", "update", "token",
               key.accounts.tokens.with_raw_response.update(token_id, account_id=a, name=unique("audit-updated"),
                                                            policies=[account_policy(a, TPG_ACCOUNT_SETTINGS_READ)],
                                                            status="disabled"))
    w.before, w.after = created_token, token_snapshot(w.result)
    assert w.after["status"] == "disabled" and w.after["name"] != created_token["name"]
    ws.append(w)
    updated_token = w.after

    w = record("token delete", "token", "delete", "token",
               op.accounts.tokens.with_raw_response.delete(token_id, account_id=a), rid=token_id)
    w.before = updated_token
    ws.append(w)

    w = record("group delete", "key", "delete", "user_group",
               key.iam.user_groups.with_raw_response.delete(group_id, account_id=a), rid=group_id)
    w.before = renamed_group
    ws.append(w)

    before = iso(now() + timedelta(milliseconds=1))
    assert len({w.ray for w in ws}) == len(ws), "each request has its own id"
    return Script(since=since, before=before, writes=ws, group_id=group_id, member_id=member["id"],
                  token_id=token_id, rg_id=rg_id, token_value=token_value)


def entries_by_ray(entries: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for e in entries:
        ray = e["raw"]["cf_ray_id"]
        assert ray not in out, f"two entries for one request {ray}: {out[ray]!r} and {e!r}"
        out[ray] = e
    return out


def check_values(w: Write, before: Any, after: Any) -> None:
    if w.check is not None:
        w.check(before, after)
    else:
        assert before == w.before, f"{w.label}: before {before!r} != {w.before!r}"
        assert after == w.after, f"{w.label}: after {after!r} != {w.after!r}"


# --- 1. the scripted writes in both APIs -----------------------------------------------------------


def test_v2_lists_every_scripted_write_once_with_actor_request_and_values(world: World, script: Script):
    a = world.a
    entries = v2_all(world.key, a, script.since, script.before)
    got = entries_by_ray(entries)
    assert set(got) == set(script.by_ray()), (
        f"v2 should hold exactly one entry per scripted write: missing {set(script.by_ray()) - set(got)}, "
        f"extra {[got[r] for r in set(got) - set(script.by_ray())]}"
    )
    assert len(entries) == len(script.writes)
    for w in script.writes:
        e = got[w.ray]
        assert e["account"] == {"id": a, "name": ACCOUNT_NAME}, e
        assert e["action"]["type"] == w.action or (w.rtype == "user_group_members" and e["action"]["type"] == "create"), (w.label, e)
        assert e["action"]["result"] == "success", (w.label, e)
        assert e["resource"]["type"] == w.rtype, (w.label, e)
        assert e["resource"]["id"] == w.rid, (w.label, e)
        assert e["resource"]["scope"] == "accounts", (w.label, e)
        assert e["raw"]["method"] == w.method, (w.label, e)
        assert e["raw"]["status_code"] == w.status, (w.label, e)
        assert e["raw"]["uri"] in (w.uri, w.uri.removeprefix("/client/v4")), (w.label, e["raw"]["uri"], w.uri)
        assert e["raw"]["user_agent"] == w.user_agent, (w.label, e)
        actor = e["actor"]
        assert actor.get("ip_address") == LOCALHOST, (w.label, actor)
        if w.by == "token":
            tid = world.boot["api_token_id"]
            assert actor.get("type") == "account", (w.label, actor)
            assert actor.get("id") == tid and actor.get("token_id") == tid, (w.label, actor)
            assert actor.get("token_name") == world.token_name, (w.label, actor)
            assert actor.get("context") == "api_token", (w.label, actor)
            assert actor.get("email") is None, (w.label, actor)
        else:
            assert actor.get("type") == "user", (w.label, actor)
            assert actor.get("id") == world.boot["user_id"], (w.label, actor)
            assert actor.get("email") == world.boot["email"], (w.label, actor)
            assert actor.get("context") == "api_key", (w.label, actor)
            assert actor.get("token_id") is None and actor.get("token_name") is None, (w.label, actor)
        value = e["resource"]["value"]
        check_values(w, value["before"], value["after"])
        assert e["resource"]["response"] == value["after"], w.label
        if w.action == "create":
            assert value["before"] is None, w.label
        if w.action == "delete":
            assert value["after"] is None and e["resource"]["response"] is None, w.label

    # the token's secret never reaches the log
    assert script.token_value not in json.dumps(entries)
    # token snapshots carry exactly the documented fields (no value, no hash)
    for w in script.writes:
        if w.rtype == "token":
            for snap in got[w.ray]["resource"]["value"].values():
                if snap is not None:
                    assert set(snap) == {"id", "name", "status", "not_before", "expires_on", "condition", "policies"}, snap

    # time order: default direction is desc, the writes happened in script order
    times = [parse_ts(got[w.ray]["action"]["time"]) for w in script.writes]
    assert times == sorted(times) and len(set(times)) == len(times), times
    assert [e["id"] for e in entries] == [got[w.ray]["id"] for w in reversed(script.writes)], "desc by default"

    # the SDK's own strict models accept every entry, and the model fields match the wire
    models = list(world.key.accounts.logs.audit.list(account_id=a, since=script.since, before=script.before))
    assert [m.id for m in models] == [e["id"] for e in entries]
    for m, e in zip(models, entries):
        assert m.raw.cf_rayid == e["raw"]["cf_ray_id"]
        assert m.actor.type == e["actor"]["type"] and m.actor.context == e["actor"]["context"]
        assert m.action.time == parse_ts(e["action"]["time"])
        assert m.resource.response == e["resource"]["response"]


def test_v1_lists_every_scripted_write_with_actor_and_json_text_values(world: World, script: Script):
    a = world.a
    v2 = {e["id"]: e for e in v2_all(world.key, a, script.since, script.before)}
    v1 = v1_all(world.op, a, since=script.since, before=script.before)
    assert {e["id"] for e in v1} == set(v2), "v1 and v2 show the same stored entries (same ids)"
    assert len(v1) == len(script.writes)
    rays = {v2[i]["raw"]["cf_ray_id"]: i for i in v2}
    by_id = {e["id"]: e for e in v1}
    for w in script.writes:
        e = by_id[rays[w.ray]]
        assert e["action"] == {"type": v2[e["id"]]["action"]["type"], "result": True}, (w.label, e)
        assert e["resource"] == {"id": w.rid, "type": w.rtype}, (w.label, e)
        assert e["interface"] == "API", (w.label, e)
        assert e["owner"] == {"id": a}
        assert e["when"] == v2[e["id"]]["action"]["time"], (w.label, e)
        meta = json.dumps(e["metadata"])
        assert w.ray in meta, f"{w.label}: v1 metadata names the request id: {e['metadata']!r}"
        actor = e["actor"]
        assert actor.get("ip") == LOCALHOST, (w.label, actor)
        if w.by == "token":
            assert actor.get("id") == world.boot["api_token_id"], (w.label, actor)
            assert actor.get("type") in ("user", "admin"), (w.label, actor)
            assert actor.get("email") is None, (w.label, actor)
            assert world.boot["api_token_id"] in meta and world.token_name in meta, (
                f"{w.label}: v1 metadata names the token: {e['metadata']!r}"
            )
        else:
            assert actor.get("id") == world.boot["user_id"], (w.label, actor)
            assert actor.get("email") == world.boot["email"], (w.label, actor)
            assert actor.get("type") == "user", (w.label, actor)
        old, new = v1_values(e)
        check_values(w, old, new)
        assert (old, new) == (v2[e["id"]]["resource"]["value"]["before"], v2[e["id"]]["resource"]["value"]["after"])
        if w.action == "create":
            assert e.get("oldValue") is None, (w.label, e)
        if w.action == "delete":
            assert e.get("newValue") is None, (w.label, e)
    assert script.token_value not in json.dumps(v1)

    # the SDK's strict models accept v1 entries (actor.type user|admin, when a datetime, values text)
    models = list(world.key.audit_logs.list(account_id=a, since=script.since, before=script.before))
    assert [m.id for m in models] == [e["id"] for e in v1]
    for m, e in zip(models, v1):
        assert m.when == parse_ts(e["when"])
        assert m.old_value == e.get("oldValue") and m.new_value == e.get("newValue")
        assert m.actor.email == e["actor"].get("email")


def test_cli_writes_are_recorded_as_the_system(world: World):
    """bootstrap (a CLI write) made the account: actor system, interface CLI, no credential."""
    a = world.a
    system = v2_all(world.key, a, UNIX_EPOCH_DAY, far_future(), extra_query={"actor_type": "system"})
    assert system, "bootstrap's writes are in the account's log"
    for e in system:
        assert e["actor"]["type"] == "system", e
        assert e["actor"].get("context") is None and e["actor"].get("email") is None, e
    made = [e for e in system if e["resource"]["type"] == "account" and e["resource"]["id"] == a]
    assert len(made) == 1 and made[0]["action"]["type"] == "create", system
    assert made[0]["resource"]["value"]["after"]["id"] == a
    assert made[0]["resource"]["value"]["after"]["name"] == ACCOUNT_NAME
    v1 = {e["id"]: e for e in v1_all(world.key, a, since=UNIX_EPOCH_DAY, before=far_future())}
    for e in system:
        assert v1[e["id"]]["interface"] == "CLI", v1[e["id"]]
    api = [e for e in v1.values() if e["id"] not in {x["id"] for x in system}]
    assert api and all(e["interface"] == "API" for e in api)
    # the SDK's strict models accept the CLI's entries too (v1 actor.type is user|admin|Cloudflare,
    # v2 actor.context one of the SDK's literals or null)
    v1_models = list(world.key.audit_logs.list(account_id=a, since=UNIX_EPOCH_DAY, before=far_future()))
    assert {m.id for m in v1_models} == set(v1)
    v2_models = list(world.key.accounts.logs.audit.list(account_id=a, since=UNIX_EPOCH_DAY, before=far_future()))
    assert {m.id for m in v2_models} >= {e["id"] for e in system}


# --- 2. failed writes record nothing ----------------------------------------------------------------


def test_failed_writes_leave_no_entry(world: World):
    a, op = world.a, world.op
    existing = op.iam.user_groups.create(account_id=a, name=unique("audit-dup"))
    rg = op.iam.resource_groups.create(account_id=a, name=unique("audit-fail-rg"), scope=scope_obj(a, "*"))
    _, start_cursor = changes_all(op, a)
    since = iso(now())

    failures = [
        expect_error(cloudflare.BadRequestError, 400, ERR_VALIDATION, lambda: op.iam.user_groups.create(
            account_id=a, name=unique("audit-bad-pg"), policies=[group_policy(["f" * 32], [rg.id])])),
        expect_error(cloudflare.ConflictError, 409, ERR_DUPLICATE, lambda: op.iam.user_groups.create(
            account_id=a, name=existing.name)),
        expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: op.accounts.tokens.update(
            "e" * 32, account_id=a, name="x", policies=[account_policy(a, TPG_ACCOUNT_SETTINGS_READ)])),
        expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: op.iam.user_groups.delete(
            "d" * 32, account_id=a)),
        expect_error(cloudflare.BadRequestError, 400, None, lambda: op.iam.resource_groups.create(
            account_id=a, name="", scope=scope_obj(a, "*"))),
    ]
    rays = [f.response.headers.get("cf-ray") for f in failures]
    assert all(rays) and len(set(rays)) == len(rays), rays
    before = far_future()

    assert v2_all(op, a, since, before) == [], "no entry for a failed write"
    assert v1_all(op, a, since=since, before=before) == []
    for ray in rays:
        assert v2_all(op, a, UNIX_EPOCH_DAY, before, extra_query={"raw_cf_ray_id": ray}) == [], ray
    assert v2_all(op, a, UNIX_EPOCH_DAY, before, resource_type={"not": ["account", "resource_group", "member"]},
                  extra_query={"raw_status_code": [400, 404, 409]}) == []
    assert changes(op, a, cursor=start_cursor)["result"] == []
    assert existing.name in [g.name for g in op.iam.user_groups.list(account_id=a)]

    # positive control: the next successful write is the one entry of the window
    raw = op.iam.user_groups.with_raw_response.create(account_id=a, name=unique("audit-ok"))
    made = raw.json()["result"]
    (entry,) = v2_all(op, a, since, far_future())
    assert entry["raw"]["cf_ray_id"] == raw.headers["cf-ray"]
    assert entry["resource"]["id"] == made["id"] and entry["action"]["type"] == "create"
    assert [e["id"] for e in v1_all(op, a, since=since, before=far_future())] == [entry["id"]]
    assert [c["id"] for c in changes(op, a, cursor=start_cursor)["result"]] == [entry["id"]]


# --- 3. refused requests are recorded as failures ---------------------------------------------------


def test_refused_requests_are_recorded_with_result_failure(world: World):
    a, op = world.a, world.op
    reader_t, reader = world.token(TPG_ACCOUNT_TOKENS_READ)
    info, person, member = world.member([ROLE_ADMIN_READ_ONLY])
    _, start_cursor = changes_all(op, a)
    since = iso(now())

    name = unique("audit-refused")
    expect_denied(lambda: reader.iam.user_groups.create(account_id=a, name=name), K_MEMBER_CREATE,
                  actor=token_actor(reader_t.id))
    expect_denied(lambda: reader.iam.sso.list(account_id=a), K_SSO_READ, actor=token_actor(reader_t.id))
    expect_denied(lambda: person.iam.user_groups.create(account_id=a, name=name), K_MEMBER_CREATE,
                  actor=user_actor(info["user_id"]))
    assert name not in [g.name for g in op.iam.user_groups.list(account_id=a)]
    before = far_future()

    entries = v2_all(op, a, since, before)
    assert len(entries) == 3, entries
    asc = list(reversed(entries))
    for e in entries:
        assert e["action"]["result"] == "failure", e
        assert e["raw"]["status_code"] == 403, e
        assert e["resource"]["value"] == {"before": None, "after": None}, e
        assert e["resource"]["response"] is None, e
    create_t, view_t, create_u = asc
    assert create_t["action"]["type"] == "create" and create_t["raw"]["method"] == "POST", create_t
    assert create_t["resource"]["type"] == "user_group", create_t
    assert view_t["action"]["type"] == "view" and view_t["raw"]["method"] == "GET", view_t
    assert view_t["resource"]["type"] == "sso_connector", view_t
    for e in (create_t, view_t):
        assert e["actor"]["type"] == "account" and e["actor"]["id"] == reader_t.id, e
        assert e["actor"]["token_id"] == reader_t.id and e["actor"]["token_name"] == reader_t.name, e
        assert e["actor"]["context"] == "api_token", e
    assert create_u["action"]["type"] == "create", create_u
    assert create_u["actor"]["type"] == "user" and create_u["actor"]["id"] == info["user_id"], create_u
    assert create_u["actor"]["email"] == info["email"] and create_u["actor"]["context"] == "api_key", create_u

    # filters by result: positive (extra_query) and the SDK's typed `.not`
    ids = {e["id"] for e in entries}
    assert set(v2_ids(op, a, UNIX_EPOCH_DAY, before, extra_query={"action_result": "failure"})) >= ids
    assert set(v2_ids(op, a, since, before, action_result={"not": ["success"]})) == ids
    assert v2_ids(op, a, since, before, action_result={"not": ["failure"]}) == []
    assert v2_ids(op, a, since, before, extra_query={"action_result": "success"}) == []

    # v1: action.result false, the attempted action
    v1 = {e["id"]: e for e in v1_all(op, a, since=since, before=before)}
    assert set(v1) == ids
    assert v1[create_t["id"]]["action"] == {"type": "create", "result": False}
    assert v1[view_t["id"]]["action"] == {"type": "view", "result": False}
    assert v1[create_u["id"]]["action"] == {"type": "create", "result": False}
    assert v1[create_u["id"]]["actor"]["email"] == info["email"]
    for e in v1.values():
        assert e.get("oldValue") is None and e.get("newValue") is None, e

    # the change feed carries successful writes only
    assert changes(op, a, cursor=start_cursor)["result"] == []


# --- 4. filters and paging --------------------------------------------------------------------------


def test_v1_filters(world: World, script: Script):
    a, c = world.a, world.key
    win = {"since": script.since, "before": script.before}
    everything = v1_all(c, a, **win)
    assert len(everything) == len(script.writes)
    by_ray = {e["raw"]["cf_ray_id"]: e["id"] for e in v2_all(c, a, script.since, script.before)}
    ids_of = lambda pred: {by_ray[w.ray] for w in script.writes if pred(w)}  # noqa: E731

    # actor.email (the SDK sends actor.email=...)
    rec = RequestRecorder()
    rc = world.env.key_client(world.boot["email"], world.boot["api_key"], http_client=rec.http_client())
    got = v1_ids(rc, a, actor={"email": world.boot["email"]}, **win)
    assert f"actor.email={world.boot['email']}" in sent(rec)[-1], sent(rec)
    assert set(got) == ids_of(lambda w: w.by == "key")
    assert v1_ids(c, a, actor={"email": "nobody@example.com"}, **win) == []
    # action.type
    got = v1_ids(rc, a, action={"type": "delete"}, **win)
    assert "action.type=delete" in sent(rec)[-1], sent(rec)
    assert set(got) == ids_of(lambda w: w.action == "delete") and len(got) == 2
    assert set(v1_ids(c, a, action={"type": "create"}, **win)) == {
        e["id"] for e in everything if e["action"]["type"] == "create"
    } >= ids_of(lambda w: w.action == "create")
    # actor.ip: an address or a CIDR
    assert len(v1_ids(c, a, actor={"ip": LOCALHOST}, **win)) == len(everything)
    assert len(v1_ids(c, a, actor={"ip": "127.0.0.0/8"}, **win)) == len(everything)
    assert v1_ids(c, a, actor={"ip": "10.0.0.0/8"}, **win) == []
    # id
    one = everything[3]["id"]
    assert v1_ids(c, a, id=one, **win) == [one]
    # zone.name: no entry has a zone
    assert v1_ids(c, a, zone={"name": "example.com"}, **win) == []
    # since / before between entries: exactly the writes in between
    e_times = {e["id"]: e["when"] for e in everything}
    seq = [by_ray[w.ray] for w in script.writes]
    lo, hi = midpoint(e_times[seq[2]], e_times[seq[3]]), midpoint(e_times[seq[5]], e_times[seq[6]])
    assert v1_ids(c, a, since=lo, before=hi) == list(reversed(seq[3:6]))
    assert v1_ids(c, a, since=lo, before=hi, direction="asc") == seq[3:6]
    # direction: desc by default, asc reverses
    desc = [e["id"] for e in everything]
    assert desc == list(reversed(seq)), "desc by default"
    assert v1_ids(c, a, direction="desc", **win) == desc
    assert v1_ids(c, a, direction="asc", **win) == seq
    # a date (not a date-time) is accepted
    today = now().date()
    assert set(seq) <= set(v1_ids(c, a, since=(today - timedelta(days=1)).isoformat(),
                                  before=(today + timedelta(days=1)).isoformat()))
    # hide_user_logs=false keeps everything; export is accepted either way and answers the same
    # JSON page (the SDK parses it as one; CSV is not served)
    assert v1_ids(c, a, hide_user_logs=False, **win) == desc
    assert v1_ids(c, a, export=False, **win) == desc
    assert v1_ids(c, a, export=True, **win) == desc
    expect_error(cloudflare.BadRequestError, 400, None, lambda: c.audit_logs.list(account_id=a, since="yesterday"))


def test_v1_page_pagination(world: World, script: Script):
    a = world.a
    win = {"since": script.since, "before": script.before}
    n = len(script.writes)
    desc = v1_ids(world.key, a, **win)
    assert len(desc) == n

    # default per_page 100
    ri = v1_body(world.key, a, **win)["result_info"]
    assert (ri["page"], ri["per_page"], ri["count"], ri["total_count"], ri["total_pages"]) == (1, 100, n, n, 1), ri

    # one page by hand
    ri = v1_body(world.key, a, page=2, per_page=2, **win)["result_info"]
    assert (ri["page"], ri["per_page"], ri["count"], ri["total_count"], ri["total_pages"]) == (
        2, 2, 2, n, math.ceil(n / 2)), ri
    past = v1_body(world.key, a, page=math.ceil(n / 2) + 1, per_page=2, **win)
    assert past["result"] == [] and past["result_info"]["count"] == 0

    # the SDK's auto-pagination: page after page until an empty one
    rec = RequestRecorder()
    rc = world.env.key_client(world.boot["email"], world.boot["api_key"], http_client=rec.http_client())
    walked = [e.id for e in rc.audit_logs.list(account_id=a, per_page=2, **win)]
    assert walked == desc, "auto-pagination walks every entry once, in order"
    assert len(rec.requests) == math.ceil(n / 2) + 1, rec.paths()
    walked_asc = [e.id for e in rc.audit_logs.list(account_id=a, per_page=4, direction="asc", **win)]
    assert walked_asc == list(reversed(desc))


def test_v2_since_and_before_are_required(world: World, script: Script):
    a, c = world.a, world.key
    for kw in ({"since": cloudflare.omit, "before": cloudflare.omit},
               {"since": script.since, "before": cloudflare.omit},
               {"since": cloudflare.omit, "before": script.before},
               {"since": "not a date", "before": script.before},
               {"since": script.since, "before": "2026-13-45"}):
        err = expect_error(cloudflare.BadRequestError, 400, None, lambda kw=kw: c.accounts.logs.audit.list(account_id=a, **kw))
        assert err.body["success"] is False and err.body["result"] is None, err.body
    # dates are accepted (UTC days)
    today = now().date()
    ids = v2_ids(c, a, (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat())
    assert set(v2_ids(c, a, script.since, script.before)) <= set(ids)


def test_v2_cursor_pagination_and_direction(world: World, script: Script):
    a = world.a
    n = len(script.writes)
    desc = v2_ids(world.key, a, script.since, script.before)
    assert len(desc) == n
    asc = v2_ids(world.key, a, script.since, script.before, direction="asc")
    assert asc == list(reversed(desc))
    assert v2_ids(world.key, a, script.since, script.before, direction="desc") == desc

    # default limit 100: one page here, no next cursor
    body = v2_body(world.key, a, script.since, script.before)
    assert [e["id"] for e in body["result"]] == desc and body["result_info"]["cursors"].get("after") is None

    # by hand: limit 2, follow cursors.after
    seen: List[str] = []
    cursor = None
    pages = 0
    while True:
        kw = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        body = v2_body(world.key, a, script.since, script.before, **kw)
        pages += 1
        assert 1 <= len(body["result"]) <= 2, body
        seen.extend(e["id"] for e in body["result"])
        cursor = body["result_info"]["cursors"].get("after")
        if not cursor:
            break
        assert len(body["result"]) == 2
    assert seen == desc and pages == math.ceil(n / 2)

    # the SDK's auto-pagination (cursor from result_info.cursors.after), both directions
    for direction, expected in (("desc", desc), ("asc", asc)):
        rec = RequestRecorder()
        rc = world.env.key_client(world.boot["email"], world.boot["api_key"], http_client=rec.http_client())
        walked = [e.id for e in rc.accounts.logs.audit.list(account_id=a, since=script.since, before=script.before,
                                                            limit=2, direction=direction)]
        assert walked == expected, direction
        assert len(rec.requests) == math.ceil(n / 2), rec.paths()
        assert all("cursor=" in p for p in rec.paths()[1:]), rec.paths()
        pager = rc.accounts.logs.audit.list(account_id=a, since=script.since, before=script.before, limit=3,
                                            direction=direction)
        pages_seen = [[e.id for e in p.result] for p in pager.iter_pages()]
        assert [len(p) for p in pages_seen] == [3] * (n // 3) + ([n % 3] if n % 3 else [])
        assert sum(pages_seen, []) == expected


def test_v2_filters(world: World, script: Script):
    a, c = world.a, world.op
    s, b = script.since, script.before
    entries = v2_all(c, a, s, b)
    ray_id = {e["raw"]["cf_ray_id"]: e["id"] for e in entries}
    ids_of = lambda pred: {ray_id[w.ray] for w in script.writes if pred(w)}  # noqa: E731
    all_ids = set(ray_id.values())
    by_type = lambda t: {e["id"] for e in entries if e["action"]["type"] == t}  # noqa: E731

    # typed `.not` filters (the SDK sends action_type.not=delete)
    rec = RequestRecorder()
    rc = world.env.token_client(world.boot["api_token"], http_client=rec.http_client())
    got = set(v2_ids(rc, a, s, b, action_type={"not": ["delete"]}))
    assert "action_type.not=delete" in sent(rec)[-1], sent(rec)
    assert got == all_ids - ids_of(lambda w: w.action == "delete") and len(got) == len(all_ids) - 2
    got = set(v2_ids(rc, a, s, b, action_type={"not": ["delete", "update"]}))
    assert sent(rec)[-1].count("action_type.not=") == 2, sent(rec)
    assert got == by_type("create") >= ids_of(lambda w: w.action == "create")
    assert set(v2_ids(c, a, s, b, actor_type={"not": ["account"]})) == ids_of(lambda w: w.by == "key")
    assert set(v2_ids(c, a, s, b, resource_type={"not": ["token", "user_group"]})) == ids_of(
        lambda w: w.rtype not in ("token", "user_group"))
    first = ray_id[script.writes[0].ray]
    assert set(v2_ids(c, a, s, b, id={"not": [first]})) == all_ids - {first}
    assert set(v2_ids(c, a, s, b, raw_cf_rayid={"not": [script.writes[0].ray]})) == all_ids - {first}
    assert set(v2_ids(c, a, s, b, zone_name={"not": ["example.com"]})) == all_ids
    assert set(v2_ids(c, a, s, b, actor_context={"not": ["api_token"]})) == ids_of(lambda w: w.by == "key")

    # positive filters (not typed by the SDK): extra_query, repeatable
    q = lambda **kw: set(v2_ids(c, a, s, b, extra_query=kw))  # noqa: E731
    assert q(actor_email=world.boot["email"]) == ids_of(lambda w: w.by == "key")
    assert q(actor_email="nobody@example.com") == set()
    assert q(action_type=["create", "delete"]) == by_type("create") | by_type("delete")
    assert q(resource_id=script.group_id) == ids_of(lambda w: w.rid == script.group_id)
    assert len(q(resource_id=script.group_id)) == 4
    assert q(resource_type="token") == ids_of(lambda w: w.rtype == "token")
    assert q(actor_token_id=world.boot["api_token_id"]) == ids_of(lambda w: w.by == "token")
    assert q(actor_token_name=world.token_name) == ids_of(lambda w: w.by == "token")
    assert q(actor_id=world.boot["user_id"]) == ids_of(lambda w: w.by == "key")
    assert q(actor_type="account") == ids_of(lambda w: w.by == "token")
    assert q(actor_context="api_key") == ids_of(lambda w: w.by == "key")
    assert q(actor_ip_address=LOCALHOST) == all_ids
    assert q(raw_method="DELETE") == ids_of(lambda w: w.method == "DELETE")
    assert q(raw_status_code=200) == all_ids
    assert q(raw_cf_ray_id=script.writes[2].ray) == {ray_id[script.writes[2].ray]}
    assert q(raw_cf_ray_id=[script.writes[2].ray, script.writes[5].ray]) == {
        ray_id[script.writes[2].ray], ray_id[script.writes[5].ray]}
    assert q(id=first) == {first}
    assert q(audit_log_id=first) == {first}
    assert q(action_result="success") == all_ids
    assert q(resource_product="iam") == all_ids
    assert q(resource_scope="accounts") == all_ids
    assert q(account_name=ACCOUNT_NAME) == all_ids
    assert q(account_name="Another") == set()
    assert q(zone_name="example.com") == set()
    assert q(zone_id="0" * 32) == set()
    # different fields combine with AND; positive and `.not` together
    assert q(resource_type="token", actor_email=world.boot["email"]) == ids_of(
        lambda w: w.rtype == "token" and w.by == "key")
    assert set(v2_ids(c, a, s, b, action_type={"not": ["update"]}, extra_query={"resource_type": "token"})) == ids_of(
        lambda w: w.rtype == "token" and w.action != "update")


def test_hide_user_logs_hides_membership_changes(world: World):
    """A user accepting an invitation is a `membership` entry (scope memberships) in the account's
    log; v1 hide_user_logs=true hides it."""
    a, op = world.a, world.op
    info, person = world.env.new_user_client(unique_email("audit-invitee"))
    since = iso(now())
    m = op.accounts.members.create(account_id=a, email=info["email"], roles=[ROLE_ADMIN_READ_ONLY])
    assert m.status == "pending"
    raw = person.memberships.with_raw_response.update(m.id, status="accepted")
    assert raw.status_code == 200
    before = far_future()

    entries = v2_all(op, a, since, before)
    assert len(entries) == 2, entries
    accepted, invited = entries
    assert invited["resource"]["type"] == "member" and invited["resource"]["id"] == m.id, invited
    assert accepted["raw"]["cf_ray_id"] == raw.headers["cf-ray"], accepted
    assert accepted["resource"]["type"] == "membership" and accepted["resource"]["id"] == m.id, accepted
    assert accepted["resource"]["scope"] == "memberships", accepted
    assert accepted["action"]["type"] == "update", accepted
    assert accepted["actor"]["type"] == "user" and accepted["actor"]["id"] == info["user_id"], accepted
    assert accepted["actor"]["email"] == info["email"] and accepted["actor"]["context"] == "api_key", accepted
    assert accepted["resource"]["value"]["before"]["status"] == "pending", accepted
    assert accepted["resource"]["value"]["after"]["status"] == "accepted", accepted

    assert v1_ids(op, a, since=since, before=before) == [accepted["id"], invited["id"]]
    assert v1_ids(op, a, since=since, before=before, hide_user_logs=True) == [invited["id"]]
    assert set(v2_ids(op, a, since, before, resource_scope={"not": ["memberships"]})) == {invited["id"]}


# --- 5. the change feed -----------------------------------------------------------------------------


def test_change_feed(world: World, script: Script):
    a, op = world.a, world.op
    everything, end = changes_all(op, a)
    assert everything, "the feed starts at the oldest kept entry"
    times = [parse_ts(x["time"]) for x in everything]
    assert times == sorted(times), "ascending"
    ids = [x["id"] for x in everything]
    assert len(set(ids)) == len(ids)

    # the same entries as v2's successful ones, in ascending order, with the same content
    v2_success = v2_all(op, a, UNIX_EPOCH_DAY, far_future(), direction="asc", extra_query={"action_result": "success"})
    assert ids == [e["id"] for e in v2_success]
    for x, e in zip(everything, v2_success):
        assert x["time"] == e["action"]["time"] and x["action"] == e["action"]["type"], (x, e)
        assert x["resource"] == {"type": e["resource"]["type"], "id": e["resource"]["id"]}, (x, e)
        assert compact(x["actor"]) == compact(e["actor"]), (x, e)
        assert {"before": x["before"], "after": x["after"]} == e["resource"]["value"], (x, e)
    failures = v2_ids(op, a, UNIX_EPOCH_DAY, far_future(), extra_query={"action_result": "failure"})
    assert not set(failures) & set(ids), "refused requests are not changes"

    # the scripted writes are there in order
    ray_id = {(e.get("raw") or {}).get("cf_ray_id"): e["id"] for e in v2_success}
    scripted = [ray_id[w.ray] for w in script.writes]
    pos = [ids.index(i) for i in scripted]
    assert pos == sorted(pos)

    # caught up: the same cursor back, nothing new
    body = changes(op, a, cursor=end)
    assert body["result"] == [] and body["result_info"]["cursor"] == end and body["result_info"]["has_more"] is False
    assert body["result_info"]["count"] == 0

    # paging with a small limit gives the same sequence
    paged: List[str] = []
    cursor: Optional[str] = None
    for _ in range(len(ids) + 2):
        body = changes(op, a, cursor=cursor, limit=2)
        assert len(body["result"]) <= 2
        paged.extend(x["id"] for x in body["result"])
        cursor = body["result_info"]["cursor"]
        if not body["result_info"]["has_more"]:
            break
        assert len(body["result"]) == 2, body
    assert paged == ids and cursor == end

    # each item's cursor resumes right after it
    assert [x["id"] for x in changes(op, a, cursor=everything[-2]["cursor"])["result"]] == [ids[-1]]
    assert changes(op, a, cursor=everything[-1]["cursor"])["result"] == []

    # a new write shows up after the last cursor, and only it
    raw = op.iam.resource_groups.with_raw_response.create(account_id=a, name=unique("audit-feed"), scope=scope_obj(a, "*"))
    rg = raw.json()["result"]
    body = changes(op, a, cursor=end)
    (item,) = body["result"]
    assert item["action"] == "create" and item["resource"] == {"type": "resource_group", "id": rg["id"]}
    assert item["before"] is None
    check_rg_snapshot(item["after"], rg_snapshot(rg))
    assert item["actor"]["type"] == "account" and item["actor"]["token_id"] == world.boot["api_token_id"]
    (entry,) = v2_all(op, a, UNIX_EPOCH_DAY, far_future(), extra_query={"raw_cf_ray_id": raw.headers["cf-ray"]})
    assert item["id"] == entry["id"]
    new_end = body["result_info"]["cursor"]
    assert new_end != end and body["result_info"]["has_more"] is False
    assert changes(op, a, cursor=new_end)["result"] == []
    assert changes(op, a, cursor=new_end)["result_info"]["cursor"] == new_end

    # default limit is 100: with fewer entries everything comes back at once
    body = changes(op, a)
    assert [x["id"] for x in body["result"]] == (ids + [item["id"]])[:100]
    assert body["result_info"]["has_more"] is (len(ids) + 1 > 100)


# --- 6. permission ----------------------------------------------------------------------------------


def test_reading_the_log_needs_the_audit_log_key(world: World, script: Script):
    a = world.a
    win = {"since": script.since, "before": script.before}
    expected = set(v2_ids(world.op, a, script.since, script.before))

    no_t, no = world.token(TPG_ACCOUNT_TOKENS_READ)
    who = token_actor(no_t.id)
    expect_denied(lambda: no.audit_logs.list(account_id=a), K_AUDIT, actor=who)
    expect_denied(lambda: no.accounts.logs.audit.list(account_id=a, **win), K_AUDIT, actor=who)
    expect_denied(lambda: no.get(f"/accounts/{a}/iam/changes", cast_to=object), K_AUDIT, actor=who)

    yes_t, yes = world.token(TPG_ACCOUNT_SETTINGS_READ)
    assert set(v1_ids(yes, a, **win)) == expected
    assert set(v2_ids(yes, a, script.since, script.before)) == expected
    assert changes(yes, a)["result"]

    # roles: Audit Logs Viewer and Administrator Read Only read it; Minimal Account Access does not
    viewer_info, viewer, _ = world.member([ROLE_AUDIT_LOGS_VIEWER])
    assert set(v1_ids(viewer, a, **win)) == expected
    assert set(v2_ids(viewer, a, script.since, script.before)) == expected
    assert changes(viewer, a)["result"]
    _, ro, _ = world.member([ROLE_ADMIN_READ_ONLY])
    assert set(v2_ids(ro, a, script.since, script.before)) == expected
    minimal_info, minimal, _ = world.member([ROLE_MINIMAL])
    expect_denied(lambda: minimal.audit_logs.list(account_id=a), K_AUDIT, actor=user_actor(minimal_info["user_id"]))
    expect_denied(lambda: minimal.accounts.logs.audit.list(account_id=a, **win), K_AUDIT,
                  actor=user_actor(minimal_info["user_id"]))
    expect_denied(lambda: minimal.get(f"/accounts/{a}/iam/changes", cast_to=object), K_AUDIT,
                  actor=user_actor(minimal_info["user_id"]))


# --- 7. isolation -----------------------------------------------------------------------------------


def test_accounts_never_see_each_others_logs(world: World):
    a, op = world.a, world.op
    b_info, b_user = world.env.new_user_client(unique_email("audit-other"), operator=True)
    b = b_user.accounts.create(name=unique("Audit Other")).id
    raw = b_user.iam.user_groups.with_raw_response.create(account_id=b, name=unique("audit-b-group"))
    b_group = raw.json()["result"]["id"]
    b_ray = raw.headers["cf-ray"]
    raw_a = op.iam.user_groups.with_raw_response.create(account_id=a, name=unique("audit-a-group"))
    a_ray = raw_a.headers["cf-ray"]
    forever = {"since": UNIX_EPOCH_DAY, "before": far_future()}

    # B's own log has B's write
    (in_b,) = v2_all(b_user, b, **forever, extra_query={"raw_cf_ray_id": b_ray})
    assert in_b["account"]["id"] == b and in_b["resource"]["id"] == b_group
    assert in_b["actor"]["email"] == b_info["email"] and in_b["action"]["result"] == "success"
    b_ids = set(v2_ids(b_user, b, **forever))
    assert in_b["id"] in b_ids
    assert a_ray not in json.dumps(v2_all(b_user, b, **forever))

    # B's entries never show in A's log, by any route
    def a_holds_nothing_of_b() -> None:
        a_v2 = v2_all(op, a, **forever)
        a_ids = {e["id"] for e in a_v2}
        assert a_ray in {(e.get("raw") or {}).get("cf_ray_id") for e in a_v2}
        assert not a_ids & b_ids, "no entry is in both accounts' logs"
        assert all(e["account"]["id"] == a for e in a_v2)
        assert v2_all(op, a, **forever, extra_query={"raw_cf_ray_id": b_ray}) == []
        assert v2_all(op, a, **forever, extra_query={"resource_id": [b, b_group]}) == []
        a_v1 = v1_all(op, a, **forever)
        assert {e["id"] for e in a_v1} == a_ids
        feed, _ = changes_all(op, a)
        assert not {x["id"] for x in feed} & b_ids
        assert not set(v2_ids(b_user, b, **forever)) & a_ids, "and A's entries never show in B's"
        assert v2_all(b_user, b, **forever, extra_query={"raw_cf_ray_id": a_ray}) == []

    a_holds_nothing_of_b()
    a_v2 = v2_all(op, a, **forever)
    assert b not in json.dumps(a_v2) and b_info["email"] not in json.dumps(a_v2) and b_ray not in json.dumps(a_v2)
    assert v2_all(op, a, **forever, extra_query={"actor_email": b_info["email"]}) == []
    assert v1_all(op, a, **forever, actor={"email": b_info["email"]}) == []

    # A's credentials cannot read B's log (403), whatever the endpoint
    _, viewer, _ = world.member([ROLE_AUDIT_LOGS_VIEWER])
    for client in (op, world.key, viewer):
        expect_error(cloudflare.PermissionDeniedError, 403, 10000, lambda c=client: c.audit_logs.list(account_id=b))
        expect_error(cloudflare.PermissionDeniedError, 403, 10000,
                     lambda c=client: c.accounts.logs.audit.list(account_id=b, **forever))
        expect_error(cloudflare.PermissionDeniedError, 403, 10000,
                     lambda c=client: c.get(f"/accounts/{b}/iam/changes", cast_to=object))
    # nor can B's user read A's
    expect_error(cloudflare.PermissionDeniedError, 403, 10000, lambda: b_user.audit_logs.list(account_id=a))
    expect_error(cloudflare.PermissionDeniedError, 403, 10000,
                 lambda: b_user.accounts.logs.audit.list(account_id=a, **forever))
    expect_error(cloudflare.PermissionDeniedError, 403, 10000,
                 lambda: b_user.get(f"/accounts/{a}/iam/changes", cast_to=object))

    # still nothing of B's in A's (refused attempts on A's paths, if recorded, are A's entries)
    b_ids = set(v2_ids(b_user, b, **forever))
    a_holds_nothing_of_b()
    for e in v2_all(op, a, **forever, extra_query={"actor_email": b_info["email"]}):
        assert e["action"]["result"] == "failure" and f"/accounts/{a}/" in e["raw"]["uri"], e


# --- 8. the request id ------------------------------------------------------------------------------


def test_the_response_cf_ray_is_the_entry_raw_cf_ray_id(world: World):
    a, op = world.a, world.op
    raw = op.iam.resource_groups.with_raw_response.create(account_id=a, name=unique("audit-ray"), scope=scope_obj(a, "*"))
    ray = raw.headers["cf-ray"]
    assert raw.headers["x-request-id"] == ray
    rg = raw.parse()
    (e,) = v2_all(op, a, UNIX_EPOCH_DAY, far_future(), extra_query={"raw_cf_ray_id": ray})
    assert e["raw"]["cf_ray_id"] == ray and e["resource"]["id"] == rg.id and e["raw"]["method"] == "POST"
    (m,) = [x for x in op.accounts.logs.audit.list(account_id=a, since=UNIX_EPOCH_DAY, before=far_future(),
                                                   extra_query={"raw_cf_ray_id": ray})]
    assert m.raw.cf_rayid == ray
    (v1,) = v1_all(op, a, id=e["id"], since=UNIX_EPOCH_DAY, before=far_future())
    assert ray in json.dumps(v1["metadata"])

    # a caller's X-Request-Id is the request id: it is what the entry records
    mine = f"audit-trace-{uuid.uuid4().hex}"
    raw = op.iam.resource_groups.with_raw_response.update(rg.id, account_id=a, name=unique("audit-ray2"),
                                                          extra_headers={"X-Request-Id": mine})
    assert raw.headers["cf-ray"] == mine
    (e,) = v2_all(op, a, UNIX_EPOCH_DAY, far_future(), extra_query={"raw_cf_ray_id": mine})
    assert e["action"]["type"] == "update" and e["resource"]["id"] == rg.id
    assert e["resource"]["value"]["before"]["name"] != e["resource"]["value"]["after"]["name"]

    # a refused request's id is recorded too
    _, no = world.token(TPG_ACCOUNT_TOKENS_READ)
    with pytest.raises(cloudflare.PermissionDeniedError) as info:
        no.iam.resource_groups.delete(rg.id, account_id=a)
    denied_ray = info.value.response.headers["cf-ray"]
    (d,) = v2_all(op, a, UNIX_EPOCH_DAY, far_future(), extra_query={"raw_cf_ray_id": denied_ray})
    assert d["action"]["result"] == "failure" and d["action"]["type"] == "delete", d
    assert d["raw"]["status_code"] == 403 and d["raw"]["method"] == "DELETE"
