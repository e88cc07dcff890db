"""Helpers for the policy-enforcement tests (test_enforcement.py).

Portcullis enforces every `/accounts/{a}/...` route's permission key (the route table in
crates/portcullis-api/src/routes.rs) with the policy engine: a denied request answers 403,
errors[0] = {code 10000, message "Authentication error", error_chain: [{code 10000, message
"Actor '<actor>' requires permission '<key>' to <action>: <reason>"}]}. The decision API
(`POST /accounts/{a}/iam/authorize`, `GET /accounts/{a}/members/{m}/effective_policies`) is a
Portcullis extension the SDK does not know, so it is called over raw HTTP here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

import httpx

import cloudflare
from cloudflare import Cloudflare

from conftest import Env, ServerProcess, bootstrap_db, database_url, drop_database, unique, unique_email
from helpers import (
    ERR_NOT_PERMITTED,
    account_key,
    account_policy,
    assert_envelope,
    assert_error_body,
    derived_group_id,
    expect_error,
)

# --- permission keys (crates/portcullis-core/data/permission_keys.json) ----------------------------

K_ACCOUNT_READ = "com.cloudflare.api.account.read"
K_ORG_READ = "#organization:read"
K_ORG_EDIT = "#organization:edit"
K_MEMBER_LIST = "com.cloudflare.api.account.member.list"  # list user groups (and their members)
K_MEMBER_READ = "com.cloudflare.api.account.member.read"
K_MEMBER_CREATE = "com.cloudflare.api.account.member.create"  # create user groups
K_MEMBER_UPDATE = "com.cloudflare.api.account.member.update"
K_PG_LIST = "com.cloudflare.api.iam.permission-group.list"
K_RG_LIST = "com.cloudflare.api.iam.resource-group.list"
K_RG_CREATE = "com.cloudflare.api.iam.resource-group.create"
K_TOKEN_LIST = "com.cloudflare.api.account.token.list"
K_TOKEN_CREATE = "com.cloudflare.api.account.token.create"
K_SSO_READ = "#sso_connector:read"
K_SSO_EDIT = "#sso_connector:edit"
K_AUTHORIZE = "com.cloudflare.api.iam.authorize"

# --- permission groups -----------------------------------------------------------------------------

# Local (role-derived) member permission groups: id = sha256("portcullis:permission_group:" + name)[:32]
PG_MINIMAL = derived_group_id("Minimal Account Access")
PG_ADMIN_RO = derived_group_id("Administrator Read Only")
PG_ADMIN = derived_group_id("Administrator")
PG_SUPER = derived_group_id("Super Administrator - All Privileges")

# Token catalog (crates/portcullis-core/data/permission_groups.json)
TPG_SETTINGS_READ = "c1fde68c7bcc44588cbb6ddbc16d6480"  # Account Settings Read
TPG_SETTINGS_WRITE = "1af1fa2adc104452b74a9a3364202f20"  # Account Settings Write
TPG_SSO_READ = "1d80f6f165ea47f2b55d4a393fd697de"  # SSO Connector Read
TPG_TOKENS_READ = "eb56a6953c034b9d97dd838155666f06"  # Account API Tokens Read

# Legacy roles (crates/portcullis-core/data/account_roles.json)
ROLE_SUPER_ADMIN = "33666b9c79b9a5273fc7344ff42f953d"
ROLE_ADMINISTRATOR = "05784afa30c1afe1440e79d9351c7430"
ROLE_ADMIN_READ_ONLY = "f2b20eaa1a5d4af42b53ac16238c99c7"


def user_actor(user_id: str) -> str:
    return f"com.cloudflare.api.user.{user_id}"


def token_actor(token_id: str) -> str:
    return f"com.cloudflare.api.token.{token_id}"


# --- denied requests -------------------------------------------------------------------------------


def expect_denied(
    fn: Callable[[], Any],
    key: str,
    *,
    actor: Optional[str] = None,
    reason: Optional[str] = None,
) -> str:
    """`fn` must fail with PermissionDeniedError 403 / 10000 "Authentication error" whose
    error_chain[0] names `key` (and `actor`, and contains `reason` when given). Returns that
    error_chain message."""
    err = expect_error(cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED, fn)
    entry = assert_error_body(err.body, ERR_NOT_PERMITTED)
    first = err.body["errors"][0]
    assert first["code"] == ERR_NOT_PERMITTED, err.body
    assert first["message"] == "Authentication error", err.body
    chain = first.get("error_chain")
    assert isinstance(chain, list) and chain, f"a denial must explain itself in error_chain: {err.body!r}"
    assert chain[0].get("code") == ERR_NOT_PERMITTED, chain
    msg = chain[0].get("message")
    assert isinstance(msg, str), chain
    who = re.escape(actor) if actor is not None else r"[^']+"
    pattern = rf"^Actor '{who}' requires permission '{re.escape(key)}' to \S.*: \S.*$"
    assert re.match(pattern, msg, re.S), f"error_chain[0].message {msg!r} does not match {pattern!r}"
    if reason is not None:
        assert reason in msg, f"{reason!r} not in {msg!r}"
    assert entry is not None
    return msg


def expect_not_in_account(fn: Callable[[], Any], *, actor: Optional[str] = None) -> str:
    """403 / 10000 for a caller that is no (accepted) member of the account."""
    err = expect_error(cloudflare.PermissionDeniedError, 403, ERR_NOT_PERMITTED, fn)
    first = err.body["errors"][0]
    assert first["code"] == ERR_NOT_PERMITTED and first["message"] == "Authentication error", err.body
    chain = first.get("error_chain") or []
    msg = chain[0]["message"] if chain else ""
    if actor is not None:
        assert actor in msg, f"{actor!r} not named in {err.body!r}"
    return msg


# --- the world: an own server, its operator, and helpers to make people ----------------------------


@dataclass
class Person:
    """A second user: their CLI output, email+key client and membership (None when not a member)."""

    info: Dict[str, Any]
    client: Cloudflare
    member: Any = None

    @property
    def user_id(self) -> str:
        return self.info["user_id"]

    @property
    def member_id(self) -> str:
        return self.member.id

    @property
    def actor(self) -> str:
        return user_actor(self.user_id)


@dataclass
class World:
    env: Env
    op: Cloudflare  # the bootstrap account-owned token (Super Administrator)
    rg_all: str = ""  # a resource group with objects [{"key": "*"}]
    _http: List[httpx.Client] = field(default_factory=list)

    @property
    def a(self) -> str:
        return self.env.account_id

    # people ----------------------------------------------------------------------------------

    def person(self, *, policies: Optional[List[Dict[str, Any]]] = None, roles: Optional[List[str]] = None,
               status: str = "accepted", member: bool = True) -> Person:
        info, client = self.env.new_user_client(unique_email("enf"))
        p = Person(info=info, client=client)
        if member:
            kwargs: Dict[str, Any] = {"account_id": self.a, "email": info["email"], "status": status}
            if roles is not None:
                kwargs["roles"] = roles
            else:
                kwargs["policies"] = policies if policies is not None else [self.allow(PG_MINIMAL)]
            p.member = self.op.accounts.members.create(**kwargs)
            assert p.member.status == status, p.member
            assert p.member.user.id == info["user_id"], "members.create must attach the existing user"
        return p

    # policies and groups ---------------------------------------------------------------------

    def allow(self, *pgs: str, rg: Optional[str] = None) -> Dict[str, Any]:
        return {"access": "allow", "permission_groups": [{"id": g} for g in pgs],
                "resource_groups": [{"id": rg or self.rg_all}]}

    def deny(self, *pgs: str, rg: Optional[str] = None) -> Dict[str, Any]:
        return {"access": "deny", "permission_groups": [{"id": g} for g in pgs],
                "resource_groups": [{"id": rg or self.rg_all}]}

    def group(self, name_prefix: str, policies: List[Dict[str, Any]], members: Iterable[Person] = ()) -> Any:
        g = self.op.iam.user_groups.create(account_id=self.a, name=unique(name_prefix), policies=policies)
        ms = [{"id": p.member_id} for p in members]
        if ms:
            self.op.iam.user_groups.members.create(g.id, account_id=self.a, members=ms)
        return g

    def join(self, group_id: str, *people: Person) -> None:
        self.op.iam.user_groups.members.create(group_id, account_id=self.a, members=[{"id": p.member_id} for p in people])

    def leave(self, group_id: str, person: Person) -> None:
        self.op.iam.user_groups.members.delete(person.member_id, account_id=self.a, user_group_id=group_id)

    def account_token(self, *pgs: str, effect: str = "allow", extra_policies: Iterable[Dict[str, Any]] = ()):
        """An account-owned token (made by the operator); returns (token object with .value, client)."""
        t = self.op.accounts.tokens.create(
            account_id=self.a, name=unique("enf-token"),
            policies=[account_policy(self.a, *pgs, effect=effect), *extra_policies],
        )
        return t, self.env.token_client(t.value)

    # decision API (raw HTTP) -------------------------------------------------------------------

    def _raw(self, token: Optional[str]) -> httpx.Client:
        c = httpx.Client(base_url=self.env.base_url, headers={"Authorization": f"Bearer {token or self.env.boot['api_token']}"},
                         timeout=30)
        self._http.append(c)
        return c

    def authorize_raw(self, principal: Dict[str, str], checks: List[Dict[str, Any]], *, token: Optional[str] = None) -> httpx.Response:
        return self._raw(token).post(f"/accounts/{self.a}/iam/authorize", json={"principal": principal, "checks": checks})

    def authorize(self, principal: Dict[str, str], checks: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        r = self.authorize_raw(principal, checks)
        assert r.status_code == 200, (r.status_code, r.text)
        result = assert_envelope(r.json())
        assert isinstance(result, list) and len(result) == len(checks), result
        return result

    def decide(self, principal: Dict[str, str], permission: str, resource: Optional[str] = None) -> Dict[str, Any]:
        check: Dict[str, Any] = {"permission": permission}
        if resource is not None:
            check["resource"] = resource
        (d,) = self.authorize(principal, [check])
        check_decision_shape(d)
        assert d["permission"] == permission, d
        assert d["resource"] == (resource or account_key(self.a)), d
        return d

    def effective_policies(self, member_id: str) -> Dict[str, Any]:
        r = self._raw(None).get(f"/accounts/{self.a}/members/{member_id}/effective_policies")
        assert r.status_code == 200, (r.status_code, r.text)
        return assert_envelope(r.json())

    def close(self) -> None:
        for c in self._http:
            c.close()


def start_world(tmp: Path) -> World:
    db_url = database_url(tmp / "p.db")
    try:
        boot = bootstrap_db(db_url)
        server = ServerProcess(db_url, tmp / "server.log").start()
    except BaseException:
        drop_database(db_url)
        raise
    env = Env(server=server, db_url=db_url, boot=boot, base_url=server.base_url, tmp=tmp)
    w = World(env=env, op=env.token_client(boot["api_token"]))
    w.rg_all = w.op.iam.resource_groups.create(
        account_id=w.a, name=unique("whole-account"), scope={"key": account_key(w.a), "objects": [{"key": "*"}]}
    ).id
    return w


def stop_world(w: World) -> None:
    w.close()
    for c in w.env._clients:
        try:
            c.close()
        except Exception:
            pass
    w.env.server.stop()
    drop_database(w.env.db_url)


# --- decision shapes -------------------------------------------------------------------------------


def check_source_shape(s: Dict[str, Any]) -> None:
    assert s.get("kind") in ("member", "user_group", "role", "token"), s
    if s["kind"] == "user_group":
        assert isinstance(s.get("user_group"), dict) and set(s["user_group"]) == {"id", "name"}, s
    if s["kind"] == "role":
        assert isinstance(s.get("role"), dict) and set(s["role"]) == {"id", "name"}, s
    if s["kind"] == "token":
        assert isinstance(s.get("token_id"), str), s


def check_decision_shape(d: Dict[str, Any]) -> None:
    assert set(d) == {"permission", "resource", "allowed", "decided_by", "reason"}, d
    assert isinstance(d["allowed"], bool), d
    assert isinstance(d["reason"], str) and d["reason"], d
    assert isinstance(d["decided_by"], list), d
    for b in d["decided_by"]:
        assert set(b) == {"policy_id", "access", "source"}, b
        assert b["access"] in ("allow", "deny"), b
        # the policies named are those that decided: denies when denied by policy, allows when allowed
        assert (b["access"] == "allow") == d["allowed"], d
        check_source_shape(b["source"])


def decided_by_view(d: Dict[str, Any]) -> List[Any]:
    """Sorted (policy id, access, source kind, user group id / role id / token id)."""
    out = []
    for b in d["decided_by"]:
        s = b["source"]
        ref = (s.get("user_group") or {}).get("id") or (s.get("role") or {}).get("id") or s.get("token_id")
        out.append((b["policy_id"], b["access"], s["kind"], ref))
    return sorted(out)


# --- probes: one SDK call per permission key (each call needs exactly that key) ---------------------


def probes(a: str) -> Dict[str, Callable[[Cloudflare], Any]]:
    """key -> a call through the SDK whose route requires exactly that key in account `a`.
    Writes create uniquely named objects (harmless when allowed)."""
    return {
        K_ACCOUNT_READ: lambda c: c.accounts.get(account_id=a),
        K_ORG_READ: lambda c: c.accounts.members.list(account_id=a),
        K_ORG_EDIT: lambda c: c.accounts.members.create(
            account_id=a, email=unique_email("probe"), roles=[ROLE_ADMIN_READ_ONLY]
        ),
        K_MEMBER_LIST: lambda c: c.iam.user_groups.list(account_id=a),
        K_MEMBER_CREATE: lambda c: c.iam.user_groups.create(account_id=a, name=unique("probe")),
        K_PG_LIST: lambda c: c.iam.permission_groups.list(account_id=a),
        K_RG_LIST: lambda c: c.iam.resource_groups.list(account_id=a),
        K_RG_CREATE: lambda c: c.iam.resource_groups.create(
            account_id=a, name=unique("probe"), scope={"key": account_key(a), "objects": [{"key": "*"}]}
        ),
        K_TOKEN_LIST: lambda c: c.accounts.tokens.list(account_id=a),
        K_TOKEN_CREATE: lambda c: c.accounts.tokens.create(
            account_id=a, name=unique("probe"), policies=[account_policy(a, TPG_SETTINGS_READ)]
        ),
        K_SSO_READ: lambda c: c.iam.sso.list(account_id=a),
        K_SSO_EDIT: lambda c: c.iam.sso.create(
            account_id=a, email_domain=f"{unique('probe')}.example.com", begin_verification=False
        ),
    }


def enforced(client: Cloudflare, a: str, key: str, *, actor: Optional[str] = None) -> bool:
    """True when the probe for `key` succeeds, False when it is denied naming `key`."""
    probe = probes(a)[key]

    def fn() -> Any:
        return probe(client)

    try:
        fn()
        return True
    except cloudflare.PermissionDeniedError:
        expect_denied(fn, key, actor=actor)  # the same call again: denied again, naming the key
        return False
