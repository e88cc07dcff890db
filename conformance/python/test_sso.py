"""`iam.sso.{create,get,list,update,delete,begin_verification}` with real DNS TXT verification.

docs/api-decisions.md "SSO connectors" (authoritative), spec/api.md §5 SSO, spec/sdk-clients.md
(list is a SinglePage, update is PATCH, begin_verification is a body-less POST answered with the whole
envelope), seed "# SSO". The module runs its own server against a `portcullis-dns-fixture`
(`--sso-check-interval 1 --sso-verification-window 4`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

import pytest

import cloudflare
from conftest import (
    RequestRecorder,
    ServerProcess,
    bootstrap_db,
    database_url,
    drop_database,
    make_client,
    unique,
)
from helpers import (
    ERR_DUPLICATE,
    ERR_NOT_FOUND,
    ERR_VALIDATION,
    assert_envelope,
    assert_json_content_type,
    error_entry,
    error_pointer,
    expect_error,
    raw_ok,
)
from sso_support import (
    POLL_TIMEOUT,
    SSO_CODE_RE,
    WINDOW,
    DnsFixture,
    check_connector_shape,
    unique_domain,
    wait_for,
    wait_status,
)


@dataclass
class SsoEnv:
    dns: DnsFixture
    server: ServerProcess
    db_url: str
    boot: Dict[str, Any]
    tmp: Path
    clients: List[cloudflare.Cloudflare] = field(default_factory=list)

    @property
    def account_id(self) -> str:
        return self.boot["account_id"]

    def client(self, **kwargs: Any) -> cloudflare.Cloudflare:
        """The bootstrap user (an operator, Super Administrator of the bootstrap account)."""
        kwargs.setdefault("api_email", self.boot["email"])
        kwargs.setdefault("api_key", self.boot["api_key"])
        c = make_client(self.server.base_url, **kwargs)
        self.clients.append(c)
        return c

    def token_client(self, **kwargs: Any) -> cloudflare.Cloudflare:
        """The bootstrap account-owned API token."""
        c = make_client(self.server.base_url, api_token=self.boot["api_token"], **kwargs)
        self.clients.append(c)
        return c


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("portcullis-sso")
    dns = DnsFixture(tmp).start()
    db_url = database_url(tmp / "sso.db")
    try:
        boot = bootstrap_db(db_url, account_name="SSO", email="sso-admin@example.com")
        server = ServerProcess(db_url, tmp / "server.log", dns.server_args()).start()
    except BaseException:
        dns.stop()
        drop_database(db_url)
        raise
    e = SsoEnv(dns=dns, server=server, db_url=db_url, boot=boot, tmp=tmp)
    try:
        yield e
    finally:
        for c in e.clients:
            try:
                c.close()
            except Exception:
                pass
        server.stop()
        dns.stop()
        drop_database(db_url)


@pytest.fixture(scope="module")
def cf(sso: SsoEnv) -> cloudflare.Cloudflare:
    return sso.client()


def raw_connector(client: cloudflare.Cloudflare, account_id: str, connector_id: str) -> Dict[str, Any]:
    c = raw_ok(client.iam.sso.with_raw_response.get(connector_id, account_id=account_id))
    check_connector_shape(c)
    return c


def without(d: Dict[str, Any], *keys: str) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def check_begin_envelope(resp: Any) -> None:
    """The SDK returns the whole envelope: success True, no errors, one message with code 1000."""
    assert resp.success is True, resp
    assert resp.errors == [], resp.errors
    assert len(resp.messages) == 1, f"expected one message saying what the lookup found: {resp.messages!r}"
    assert resp.messages[0].code == 1000, resp.messages
    assert isinstance(resp.messages[0].message, str) and resp.messages[0].message, resp.messages


def begin_raw(client: cloudflare.Cloudflare, account_id: str, connector_id: str) -> Dict[str, Any]:
    """POST begin_verification through the SDK's raw response; checks the envelope, returns `result`."""
    raw = client.iam.sso.with_raw_response.begin_verification(connector_id, account_id=account_id)
    assert raw.status_code == 200, (raw.status_code, raw.http_response.text)
    assert_json_content_type(raw.headers)
    body = raw.json()
    result = assert_envelope(body)
    msgs = body["messages"]
    assert len(msgs) == 1 and msgs[0].get("code") == 1000 and isinstance(msgs[0].get("message"), str), body
    check_connector_shape(result)
    assert result["id"] == connector_id, result
    check_begin_envelope(raw.parse())
    return result


# --- create / shape / get ------------------------------------------------------------------------


def test_create_default_begins_verification_and_is_pending(sso, cf):
    a = sso.account_id
    domain = unique_domain("pending")  # no TXT record: NXDOMAIN
    raw = cf.iam.sso.with_raw_response.create(account_id=a, email_domain=domain)
    c = raw_ok(raw)
    check_connector_shape(c)
    assert c["email_domain"] == domain
    assert c["enabled"] is False
    assert c["use_fedramp_language"] is False
    assert c["verification"]["status"] == "pending", c
    assert c["created_on"] == c["updated_on"] or c["updated_on"] >= c["created_on"]

    # The SDK model carries the same values.
    model = raw.parse()
    assert model.id == c["id"] and model.email_domain == domain
    assert model.verification.status == "pending"
    assert SSO_CODE_RE.match(model.verification.code)

    got = raw_connector(cf, a, c["id"])
    # A background check may touch updated_on while the connector is pending; nothing else changes.
    assert without(got, "updated_on") == without(c, "updated_on")
    assert got["verification"]["status"] == "pending"
    assert cf.iam.sso.get(c["id"], account_id=a).email_domain == domain


def test_create_without_beginning_is_awaiting_and_never_checked(sso, cf):
    a = sso.account_id
    domain = unique_domain("awaiting")
    c = raw_ok(cf.iam.sso.with_raw_response.create(account_id=a, email_domain=domain, begin_verification=False))
    check_connector_shape(c)
    assert c["verification"]["status"] == "awaiting", c
    assert c["enabled"] is False and c["use_fedramp_language"] is False
    # Even with the record published, the background verifier leaves an awaiting connector alone.
    sso.dns.set(domain, [c["verification"]["code"]])
    time.sleep(2.5)
    assert raw_connector(cf, a, c["id"]) == c, "an awaiting connector must not change by itself"


def test_codes_are_distinct_per_connector(sso, cf):
    a = sso.account_id
    codes = {
        cf.iam.sso.create(account_id=a, email_domain=unique_domain("code"), begin_verification=False).verification.code
        for _ in range(3)
    }
    assert len(codes) == 3, codes
    for code in codes:
        assert SSO_CODE_RE.match(code), code


def test_create_with_use_fedramp_language_and_update_it(sso, cf):
    a = sso.account_id
    domain = unique_domain("fedramp")
    c = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False, use_fedramp_language=True)
    assert c.use_fedramp_language is True
    assert c.verification.status == "awaiting"
    before = raw_connector(cf, a, c.id)
    assert before["use_fedramp_language"] is True

    upd = cf.iam.sso.update(c.id, account_id=a, use_fedramp_language=False)
    assert upd.use_fedramp_language is False and upd.enabled is False
    assert upd.verification.status == "awaiting"
    after = raw_connector(cf, a, c.id)
    assert after["use_fedramp_language"] is False
    assert after["updated_on"] >= before["updated_on"]
    assert without(after, "updated_on", "use_fedramp_language") == without(before, "updated_on", "use_fedramp_language")

    # `{}` changes nothing.
    rec = RequestRecorder()
    rc = sso.client(http_client=rec.http_client())
    same = raw_ok(rc.iam.sso.with_raw_response.update(c.id, account_id=a))
    assert [r.method for r in rec.requests] == ["PATCH"], rec.paths()
    assert rec.requests[0].url.path.endswith(f"/accounts/{a}/sso_connectors/{c.id}")
    assert same == after
    assert raw_connector(cf, a, c.id) == after


def test_get_unknown_connector_is_not_found(sso, cf):
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: cf.iam.sso.get("0" * 32, account_id=sso.account_id),
    )


# --- domain normalization and validation ---------------------------------------------------------


def test_domain_is_trimmed_lowercased_and_trailing_dot_dropped(sso, cf):
    base = unique_domain("mixed")
    c = cf.iam.sso.create(
        account_id=sso.account_id, email_domain=f"  {base.upper()}.  ", begin_verification=False
    )
    assert c.email_domain == base


def test_idna_domain_is_stored_as_punycode(sso, cf):
    a = sso.account_id
    sub = unique_domain("idna")  # idna-<hex>.example
    c = cf.iam.sso.create(account_id=a, email_domain=f"bücher.{sub}", begin_verification=False)
    assert c.email_domain == f"xn--bcher-kva.{sub}"
    assert raw_connector(cf, a, c.id)["email_domain"] == f"xn--bcher-kva.{sub}"
    # Upper case IDNA and the punycode form name the same domain: duplicates.
    for again in (f"Bücher.{sub}", f"xn--bcher-kva.{sub}"):
        expect_error(
            cloudflare.ConflictError, 409, ERR_DUPLICATE,
            lambda: cf.iam.sso.create(account_id=a, email_domain=again, begin_verification=False),
        )


def test_the_brief_idna_example(sso, cf):
    """`bücher.example` → `xn--bcher-kva.example` (docs/api-decisions.md) in a fresh account."""
    acct = cf.accounts.create(name=unique("SSO IDNA"))
    try:
        c = cf.iam.sso.create(account_id=acct.id, email_domain="Bücher.example", begin_verification=False)
        assert c.email_domain == "xn--bcher-kva.example"
    finally:
        cf.accounts.delete(account_id=acct.id)


def test_label_and_length_limits_are_accepted(sso, cf):
    a = sso.account_id
    label63 = "a" * 51 + unique_domain("x").split(".")[0][-12:]
    assert len(label63) == 63
    c = cf.iam.sso.create(account_id=a, email_domain=f"{label63}.example", begin_verification=False)
    assert c.email_domain == f"{label63}.example"
    # exactly 253 characters
    head = unique_domain("len").split(".")[0]  # len-<12 hex>
    labels = [head + "a" * (63 - len(head)), "b" * 63, "c" * 63]
    name = ".".join(labels)
    name = name + "." + "d" * (253 - len(name) - 1)
    assert len(name) == 253
    c = cf.iam.sso.create(account_id=a, email_domain=name, begin_verification=False)
    assert c.email_domain == name
    # digits and inner hyphens are fine; a numeric label that is not the last one too
    d = "123." + unique_domain("x-y")
    c = cf.iam.sso.create(account_id=a, email_domain=d, begin_verification=False)
    assert c.email_domain == d


INVALID_DOMAINS = [
    "",
    "   ",
    "localhost",  # one label
    "-lead.example",
    "trail-.example",
    "a..example",
    ".example",
    "under_score.example",
    "space in.example",
    "example.123",  # numeric last label
    "1.2.3.4",
    "a" * 64 + ".example",  # label too long
    ".".join(["a" * 63] * 4),  # 255 characters
    "http://x.example",
    "x.example/path",
    "*.example",
    "user@x.example",
]


@pytest.mark.parametrize("domain", INVALID_DOMAINS, ids=lambda d: repr(d)[:30])
def test_invalid_domain_is_rejected_with_pointer(sso, cf, domain):
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: cf.iam.sso.create(account_id=sso.account_id, email_domain=domain, begin_verification=False),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/email_domain", err.body


# --- duplicates -----------------------------------------------------------------------------------


def test_duplicate_domain_is_a_conflict_not_retried_and_checked_before_dns(sso, cf):
    a = sso.account_id
    domain = unique_domain("dup")
    first = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
    # A DNS lookup of this name would now hang until the resolver's timeout.
    sso.dns.set(domain, "TIMEOUT")
    rec = RequestRecorder()
    retrying = sso.client(max_retries=2, http_client=rec.http_client())
    for again in (domain, f" {domain.upper()}. "):
        rec.requests.clear()
        started = time.monotonic()
        err = expect_error(
            cloudflare.ConflictError, 409, ERR_DUPLICATE,
            lambda: retrying.iam.sso.create(account_id=a, email_domain=again),
        )
        elapsed = time.monotonic() - started
        assert len(rec.requests) == 1, f"a permanent 409 must not be retried: {rec.paths()}"
        assert err.response.headers.get("x-should-retry") == "false"
        assert elapsed < 1.0, f"took {elapsed:.2f}s: the duplicate check must come before any DNS lookup"
    # Nothing changed on the first connector.
    assert cf.iam.sso.get(first.id, account_id=a).verification.status == "awaiting"


# --- list -----------------------------------------------------------------------------------------


def test_list_is_one_single_page_of_all_connectors_ordered_by_domain(sso, cf):
    acct = cf.accounts.create(name=unique("SSO list"))
    try:
        a = acct.id
        assert list(cf.iam.sso.list(account_id=a)) == []
        stem = unique_domain("list").split(".")[0]
        names = [f"m.{stem}.example", f"b.{stem}.example", f"z.{stem}.example", f"bücher.{stem}.example",
                 f"a.{stem}.example", f"{stem}.example"]
        made = [cf.iam.sso.create(account_id=a, email_domain=n, begin_verification=False) for n in names]
        expected_domains = sorted(c.email_domain for c in made)

        rec = RequestRecorder()
        rc = sso.client(http_client=rec.http_client())
        page = rc.iam.sso.list(account_id=a)
        items = list(page)
        assert len(rec.requests) == 1, f"a SinglePage list makes exactly one request: {rec.paths()}"
        req = rec.requests[0]
        assert req.method == "GET" and req.url.path.endswith(f"/accounts/{a}/sso_connectors"), rec.paths()
        assert b"page" not in req.url.query, rec.paths()
        assert [c.email_domain for c in items] == expected_domains
        assert sorted(c.id for c in items) == sorted(c.id for c in made)

        raw = rc.iam.sso.with_raw_response.list(account_id=a)
        result = raw_ok(raw)
        assert isinstance(result, list)
        assert [c["email_domain"] for c in result] == expected_domains
        for c in result:
            check_connector_shape(c)
            assert c == raw_connector(cf, a, c["id"]), "list and get show the same connector"
        # The bootstrap account's list does not show this account's connectors.
        other = {c.id for c in cf.iam.sso.list(account_id=sso.account_id)}
        assert not other & {c.id for c in made}
    finally:
        cf.accounts.delete(account_id=acct.id)


def test_token_client_lists_and_gets(sso, cf):
    a = sso.account_id
    c = cf.iam.sso.create(account_id=a, email_domain=unique_domain("tok"), begin_verification=False)
    tc = sso.token_client()
    assert c.id in [x.id for x in tc.iam.sso.list(account_id=a)]
    assert tc.iam.sso.get(c.id, account_id=a).email_domain == c.email_domain


# --- enabling before verification ----------------------------------------------------------------


def test_enable_before_verification_is_rejected_with_pointer(sso, cf):
    a = sso.account_id
    awaiting = cf.iam.sso.create(account_id=a, email_domain=unique_domain("en-await"), begin_verification=False)
    pending = cf.iam.sso.create(account_id=a, email_domain=unique_domain("en-pend"))
    assert pending.verification.status == "pending"
    for c, state in ((awaiting, "awaiting"), (pending, "pending")):
        err = expect_error(
            cloudflare.BadRequestError, 400, ERR_VALIDATION,
            lambda: cf.iam.sso.update(c.id, account_id=a, enabled=True),
        )
        assert error_pointer(err, ERR_VALIDATION) == "/enabled", err.body
        assert state in error_entry(err, ERR_VALIDATION)["message"], f"the message names the state {state!r}: {err.body}"
        got = cf.iam.sso.get(c.id, account_id=a)
        assert got.enabled is False and got.verification.status == state
        # Disabling is always allowed.
        off = cf.iam.sso.update(c.id, account_id=a, enabled=False)
        assert off.enabled is False and off.verification.status == state


# --- the verification story -----------------------------------------------------------------------


def test_full_story_awaiting_begin_publish_background_verified_enable(sso, cf):
    a = sso.account_id
    domain = unique_domain("story")
    c = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
    assert c.verification.status == "awaiting"
    code = c.verification.code

    rec = RequestRecorder()
    rc = sso.client(http_client=rec.http_client())
    resp = rc.iam.sso.begin_verification(c.id, account_id=a)
    # The SDK hands back the whole envelope (not unwrapped).
    check_begin_envelope(resp)
    assert len(rec.requests) == 1, rec.paths()
    req = rec.requests[0]
    assert req.method == "POST", rec.paths()
    assert req.url.path.endswith(f"/accounts/{a}/sso_connectors/{c.id}/begin_verification"), rec.paths()
    assert req.content == b"", "begin_verification sends no body"
    pending = cf.iam.sso.get(c.id, account_id=a)
    assert pending.verification.status == "pending"
    assert pending.verification.code == code, "beginning again keeps the code"

    # The envelope also carries the connector as `result` (docs/api-decisions.md).
    result = begin_raw(cf, a, c.id)
    assert result["verification"]["status"] == "pending"

    # Publish the record (next to an unrelated one); the background verifier finds it by itself.
    sso.dns.set(domain, ["v=spf1 -all", code])
    started = time.monotonic()
    verified = wait_status(cf, a, c.id, "verified")
    assert time.monotonic() - started < POLL_TIMEOUT
    assert verified.enabled is False
    assert verified.verification.code == code

    before = raw_connector(cf, a, c.id)
    on = cf.iam.sso.update(c.id, account_id=a, enabled=True)
    assert on.enabled is True and on.verification.status == "verified"
    after = raw_connector(cf, a, c.id)
    assert after["enabled"] is True
    assert after["updated_on"] >= before["updated_on"]

    # begin_verification on a verified connector keeps it verified (and enabled) ...
    result = begin_raw(cf, a, c.id)
    assert result["verification"]["status"] == "verified" and result["enabled"] is True
    # ... even when the record is gone.
    sso.dns.remove(domain)
    resp = cf.iam.sso.begin_verification(c.id, account_id=a)
    check_begin_envelope(resp)
    got = cf.iam.sso.get(c.id, account_id=a)
    assert got.verification.status == "verified" and got.enabled is True
    # Disabling is always allowed.
    assert cf.iam.sso.update(c.id, account_id=a, enabled=False).enabled is False


def test_begin_verification_finds_a_published_record_at_once(sso, cf):
    a = sso.account_id
    domain = unique_domain("atonce")
    c = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
    # Surrounding white space is ignored.
    sso.dns.set(domain, [f"  {c.verification.code} "])
    result = begin_raw(cf, a, c.id)
    assert result["verification"]["status"] == "verified", result
    assert cf.iam.sso.get(c.id, account_id=a).verification.status == "verified"


def test_record_on_a_subdomain_or_with_another_code_does_not_verify(sso, cf):
    a = sso.account_id
    domain = unique_domain("sub")
    c = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
    other = cf.iam.sso.create(account_id=a, email_domain=unique_domain("other"), begin_verification=False)
    sso.dns.set(f"_cf-sso.{domain}", [c.verification.code])
    sso.dns.set(domain, [other.verification.code, c.verification.code + "x"])
    result = begin_raw(cf, a, c.id)
    assert result["verification"]["status"] == "pending", result


def test_missing_record_fails_after_the_window_while_dns_trouble_stays_pending(sso, cf):
    a = sso.account_id
    nx = unique_domain("nx")  # NXDOMAIN
    wrong = unique_domain("wrong")  # TXT records, none equal to the code
    servfail = unique_domain("servfail")
    refused = unique_domain("refused")
    sso.dns.set(wrong, ["cloudflare_dashboard_sso=" + "0" * 32, "hello"])
    sso.dns.set(servfail, "SERVFAIL")
    sso.dns.set(refused, "REFUSED")

    started = time.monotonic()
    made = {d: cf.iam.sso.create(account_id=a, email_domain=d) for d in (nx, wrong, servfail, refused)}
    for d, c in made.items():
        assert c.verification.status == "pending", (d, c)

    for d in (nx, wrong):
        failed = wait_status(cf, a, made[d].id, "failed", timeout=WINDOW + POLL_TIMEOUT)
        elapsed = time.monotonic() - started
        assert elapsed >= WINDOW - 0.3, f"{d} failed after {elapsed:.1f}s, before the {WINDOW}s window was over"
        assert failed.enabled is False

    # DNS trouble alone never fails a connector, past the window too.
    time.sleep(max(0.0, started + WINDOW + 2.5 - time.monotonic()))
    for d in (servfail, refused):
        got = cf.iam.sso.get(made[d].id, account_id=a)
        assert got.verification.status == "pending", f"{d}: {got.verification.status} after the window"

    # A failed connector cannot be enabled.
    err = expect_error(
        cloudflare.BadRequestError, 400, ERR_VALIDATION,
        lambda: cf.iam.sso.update(made[nx].id, account_id=a, enabled=True),
    )
    assert error_pointer(err, ERR_VALIDATION) == "/enabled"
    assert "failed" in error_entry(err, ERR_VALIDATION)["message"], err.body

    # Beginning again: pending with a new window; publishing then verifies it in the background.
    result = begin_raw(cf, a, made[nx].id)
    assert result["verification"]["status"] == "pending", result
    restarted = time.monotonic()
    time.sleep(1.5)
    assert cf.iam.sso.get(made[nx].id, account_id=a).verification.status == "pending"
    sso.dns.set(nx, [made[nx].verification.code])
    wait_status(cf, a, made[nx].id, "verified")
    assert time.monotonic() - restarted < WINDOW + POLL_TIMEOUT

    # The SERVFAIL domain recovers: begin_verification finds the record at once.
    sso.dns.set(servfail, [made[servfail].verification.code])
    assert begin_raw(cf, a, made[servfail].id)["verification"]["status"] == "verified"


# --- enabled domains across accounts --------------------------------------------------------------


def verify_now(sso: SsoEnv, client: cloudflare.Cloudflare, account_id: str, connector: Any) -> None:
    sso.dns.publish(connector.email_domain, connector.verification.code)
    assert begin_raw(client, account_id, connector.id)["verification"]["status"] == "verified"


def test_same_domain_enabled_in_two_accounts_is_a_conflict(sso, cf):
    a = sso.account_id
    domain = unique_domain("shared")
    other = cf.accounts.create(name=unique("SSO second"))
    try:
        b = other.id
        ca = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
        cb = cf.iam.sso.create(account_id=b, email_domain=domain, begin_verification=False)
        assert ca.verification.code != cb.verification.code
        # Connectors are per account: the other account's id is not found here.
        expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: cf.iam.sso.get(ca.id, account_id=b))
        verify_now(sso, cf, a, ca)
        verify_now(sso, cf, b, cb)
        assert cf.iam.sso.update(ca.id, account_id=a, enabled=True).enabled is True

        rec = RequestRecorder()
        retrying = sso.client(max_retries=2, http_client=rec.http_client())
        err = expect_error(
            cloudflare.ConflictError, 409, ERR_DUPLICATE,
            lambda: retrying.iam.sso.update(cb.id, account_id=b, enabled=True),
        )
        assert len(rec.requests) == 1, f"a permanent 409 must not be retried: {rec.paths()}"
        assert err.response.headers.get("x-should-retry") == "false"
        assert cf.iam.sso.get(cb.id, account_id=b).enabled is False

        # Disable in the first account; then the second may enable, and the first no longer can.
        assert cf.iam.sso.update(ca.id, account_id=a, enabled=False).enabled is False
        assert cf.iam.sso.update(cb.id, account_id=b, enabled=True).enabled is True
        expect_error(
            cloudflare.ConflictError, 409, ERR_DUPLICATE,
            lambda: cf.iam.sso.update(ca.id, account_id=a, enabled=True),
        )
        # Keeping it enabled (enabled: true again) in the account that has it is fine.
        assert cf.iam.sso.update(cb.id, account_id=b, enabled=True).enabled is True
    finally:
        cf.accounts.delete(account_id=other.id)
    # The second account is gone with its connector: the domain can be enabled here again.
    assert cf.iam.sso.update(ca.id, account_id=a, enabled=True).enabled is True


# --- delete ---------------------------------------------------------------------------------------


def test_delete_then_get_is_not_found(sso, cf):
    a = sso.account_id
    domain = unique_domain("del")
    c = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
    raw = cf.iam.sso.with_raw_response.delete(c.id, account_id=a)
    assert raw_ok(raw) == {"id": c.id}
    assert raw.parse().id == c.id
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: cf.iam.sso.get(c.id, account_id=a))
    expect_error(cloudflare.NotFoundError, 404, ERR_NOT_FOUND, lambda: cf.iam.sso.delete(c.id, account_id=a))
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: cf.iam.sso.update(c.id, account_id=a, enabled=False),
    )
    expect_error(
        cloudflare.NotFoundError, 404, ERR_NOT_FOUND,
        lambda: cf.iam.sso.begin_verification(c.id, account_id=a),
    )
    assert c.id not in [x.id for x in cf.iam.sso.list(account_id=a)]
    # The domain is free again: a new connector with a new id and code.
    again = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
    assert again.id != c.id and again.verification.code != c.verification.code


def test_delete_an_enabled_connector_frees_the_domain_for_other_accounts(sso, cf):
    a = sso.account_id
    domain = unique_domain("del-en")
    other = cf.accounts.create(name=unique("SSO del"))
    try:
        ca = cf.iam.sso.create(account_id=a, email_domain=domain, begin_verification=False)
        cb = cf.iam.sso.create(account_id=other.id, email_domain=domain, begin_verification=False)
        verify_now(sso, cf, a, ca)
        verify_now(sso, cf, other.id, cb)
        cf.iam.sso.update(ca.id, account_id=a, enabled=True)
        assert cf.iam.sso.delete(ca.id, account_id=a).id == ca.id
        assert cf.iam.sso.update(cb.id, account_id=other.id, enabled=True).enabled is True
    finally:
        cf.accounts.delete(account_id=other.id)


# --- restart --------------------------------------------------------------------------------------


def test_restart_keeps_connectors_and_pending_ones_are_still_checked(sso, tmp_path, fresh_server):
    db_url = database_url(tmp_path / "p.db")
    boot = bootstrap_db(db_url, account_name="SSO restart", email="sso-restart@example.com")
    a = boot["account_id"]
    # A long window: the pending connector must still be pending after the restart.
    args = sso.dns.server_args(window=600)
    first = fresh_server(db_url, args)
    c1 = make_client(first.base_url, api_email=boot["email"], api_key=boot["api_key"])
    try:
        awaiting = c1.iam.sso.create(account_id=a, email_domain=unique_domain("r-await"), begin_verification=False,
                                     use_fedramp_language=True)
        enabled = c1.iam.sso.create(account_id=a, email_domain=unique_domain("r-on"), begin_verification=False)
        verify_now(sso, c1, a, enabled)
        c1.iam.sso.update(enabled.id, account_id=a, enabled=True)
        pending = c1.iam.sso.create(account_id=a, email_domain=unique_domain("r-pend"))
        assert pending.verification.status == "pending"
        stable = {c.id: raw_connector(c1, a, c.id) for c in (awaiting, enabled)}
        pending_before = raw_connector(c1, a, pending.id)
        listed_before = [c["id"] for c in raw_ok(c1.iam.sso.with_raw_response.list(account_id=a))]
    finally:
        c1.close()
    assert first.stop() is not None, "server did not exit within the timeout after SIGTERM"

    # Published while the server is down: found by the restarted server's background verifier.
    sso.dns.set(pending.email_domain, [pending.verification.code])
    second = fresh_server(db_url, args)
    c2 = make_client(second.base_url, api_email=boot["email"], api_key=boot["api_key"])
    try:
        for cid, before in stable.items():
            assert raw_connector(c2, a, cid) == before
        assert [c["id"] for c in raw_ok(c2.iam.sso.with_raw_response.list(account_id=a))] == listed_before
        verified = wait_status(c2, a, pending.id, "verified")
        assert verified.verification.code == pending_before["verification"]["code"]
        after = raw_connector(c2, a, pending.id)
        assert without(after, "updated_on", "verification") == without(pending_before, "updated_on", "verification")
        # Enabled connectors still block the domain after a restart.
        err = expect_error(
            cloudflare.ConflictError, 409, ERR_DUPLICATE,
            lambda: c2.iam.sso.create(account_id=a, email_domain=enabled.email_domain),
        )
        assert err.response.headers.get("x-should-retry") == "false"
    finally:
        c2.close()
