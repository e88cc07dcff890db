#!/usr/bin/env python3
"""Schemathesis over Portcullis's own OpenAPI document, on one storage backend.

1. `portcullis bootstrap` on a fresh database (a SQLite file in a temp dir, or a fresh PostgreSQL
   schema `pt_<16 hex>` dropped at the end), then `portcullis serve --listen 127.0.0.1:0` with SSO
   lookups sent to `portcullis-dns-fixture` on loopback (every name NXDOMAIN).
2. Seeding: a user-owned token with every permission group (for /user/* and /accounts), and a
   "keep" and a "doomed" object of every kind, so that operations with ids in their paths reach
   real handlers: DELETE gets the doomed object, every other method the keep one.
3. Two `st run` passes (schemathesis, pinned in requirements.lock), fixed seed, at most
   --max-examples cases per operation and phase: coverage + fuzzing with those ids, then the
   stateful phase with only `{account_id}` fixed, so its links carry the ids it created.
   Generated strings sometimes come from a list of hostile values (U+0000, 15,000 characters...).
4. Prints `N passed, M failed` (one unit per API operation, plus `stateful`); exits 1 on any failure.

Environment: PORTCULLIS_BIN (default <repo>/target/debug/portcullis), PORTCULLIS_DNS_FIXTURE_BIN
(default: portcullis-dns-fixture beside it), PORTCULLIS_TEST_BACKEND (`sqlite` or `postgres`),
PORTCULLIS_TEST_POSTGRES_URL (needed for `postgres`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# Checks kept in CI: each fails only on a real defect (README.md says why the others are left out).
CI_CHECKS = [
    "not_a_server_error",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "unsupported_method",
    "allow_header_conformance",
    "cloudflare_envelope",  # hooks.py
]

# Mixed into generated strings: with probability 0.1 anywhere, 0.5 in HOSTILE_FIELDS (free text
# that reaches the database).
HOSTILE_STRINGS = [
    "\u0000",
    "nul\u0000inside",
    # Long, but inside hyper's request-target limit (65,534 bytes): longer targets are refused
    # by hyper's parser with a bare 414 before Portcullis sees them (docs/api-decisions.md).
    "x" * 15_000,
    "\u202eevil\u200b",
    "\t\r\n",
    "  padded  ",
    "🦀 ünïcødé",
    "'; drop table accounts; --",
    "../../etc/passwd",
    "%00%ff",
    "*",
    "-1",
    "1e309",
    "99999999999999999999999",
]
HOSTILE_FIELDS = ["query.name", "query.fuzzyName", "query.fuzzyEmail", "query.id", "query.label",
                  "query.scope", "body.name", "body.email", "body.email_domain"]

# The document gives these parameters no bounds or enums, so random values are nearly always
# rejected before a handler runs; mostly valid values (probability 0.9) let the rest reach it.
VALID_VALUES = {
    "query.page": [1, 2],
    "query.per_page": [1, 20, 50],
    "query.direction": ["asc", "desc"],
    "query.order": ["user.email", "user.first_name", "user.last_name", "status"],
    "query.status": ["accepted", "pending"],
}

# Warnings worth showing (not `dictionary_mismatch`: hostile strings never match the id patterns).
WARNINGS = ["missing_auth", "missing_test_data", "validation_mismatch", "unsupported_regex",
            "unresolvable_reference", "rate_limited"]


def log(msg: str) -> None:
    print(f"[schemathesis] {msg}", flush=True)


def toml_str(value: str) -> str:
    # A JSON string (non-ASCII kept as is, controls as \uXXXX) is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


class Api:
    """A tiny JSON client for seeding."""

    def __init__(self, root: str, headers: dict):
        self.root, self.headers = root, headers

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + "/client/v4" + path, data=data, method=method,
                                     headers={**self.headers, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())["result"]
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"seeding {method} {path}: {exc.code} {exc.read()[:500]!r}") from None


class Database:
    """A fresh SQLite file, or a fresh PostgreSQL schema that `drop()` removes."""

    def __init__(self, backend: str, tmp: Path):
        self.schema = None
        if backend == "sqlite":
            self.url = f"sqlite://{tmp / 'portcullis.db'}"
            return
        self.base = os.environ.get("PORTCULLIS_TEST_POSTGRES_URL", "").strip()
        if not self.base:
            sys.exit("the postgres backend needs PORTCULLIS_TEST_POSTGRES_URL")
        self.schema = f"pt_{secrets.token_hex(8)}"
        sep = "&" if "?" in self.base else "?"
        self.url = f"{self.base}{sep}options=-c%20search_path%3D{self.schema}"

    def drop(self) -> None:
        if self.schema is None:
            return
        proc = subprocess.run(
            ["psql", self.base, "-v", "ON_ERROR_STOP=1", "-Atc", f"drop schema if exists {self.schema} cascade"],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        if proc.returncode != 0:
            print(f"warning: could not drop schema {self.schema}: {proc.stderr.strip()}", file=sys.stderr)


def spawn(argv: list[str], prefix: str, stderr) -> tuple[subprocess.Popen, str]:
    """Starts a process and returns it with the rest of its first stdout line starting with `prefix`."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
            return proc, line.strip()[len(prefix):]
    raise RuntimeError(f"{argv[0]} exited ({proc.wait()}) before printing {prefix!r}")


def seed(root: str, boot: dict) -> dict:
    """Creates the fixtures; returns the user token and the keep/doomed id of every path parameter."""
    a, me = boot["account_id"], boot["user_id"]
    by_key = Api(root, {"X-Auth-Email": boot["email"], "X-Auth-Key": boot["api_key"]})
    by_token = Api(root, {"Authorization": f"Bearer {boot['api_token']}"})
    catalog = by_key.call("GET", "/user/tokens/permission_groups")

    def groups(scope):
        return [{"id": g["id"]} for g in catalog if g.get("scopes") == [scope]]

    account_policy = {"effect": "allow", "permission_groups": groups("com.cloudflare.api.account"),
                      "resources": {f"com.cloudflare.api.account.{a}": "*"}}
    user_policy = {"effect": "allow", "permission_groups": groups("com.cloudflare.api.user"),
                   "resources": {f"com.cloudflare.api.user.{me}": "*"}}
    user_token = by_key.call("POST", "/user/tokens", {"name": "schemathesis", "policies": [account_policy, user_policy]})
    small = [{**account_policy, "permission_groups": account_policy["permission_groups"][:1]}]
    pg = by_token.call("GET", f"/accounts/{a}/iam/permission_groups?per_page=1")[0]["id"]
    ids: dict = {"account_id": {"keep": a}, "permission_group_id": {"keep": pg}}
    # Operator power comes with the operator's key only (never a user-owned token).
    ids["account_id"]["doomed"] = by_key.call("POST", "/accounts", {"name": "schemathesis doomed"})["id"]
    for kind in ("keep", "doomed"):
        ids.setdefault("resource_group_id", {})[kind] = by_token.call("POST", f"/accounts/{a}/iam/resource_groups", {
            "name": f"schemathesis {kind}",
            "scope": {"key": f"com.cloudflare.api.account.{a}", "objects": [{"key": "*"}]}})["id"]
    policy = {"access": "allow", "permission_groups": [{"id": pg}],
              "resource_groups": [{"id": ids["resource_group_id"]["keep"]}]}  # the doomed one stays unused
    for kind in ("keep", "doomed"):
        name = f"schemathesis {kind}"
        ids.setdefault("user_group_id", {})[kind] = by_token.call(
            "POST", f"/accounts/{a}/iam/user_groups", {"name": name})["id"]
        ids.setdefault("member_id", {})[kind] = by_token.call("POST", f"/accounts/{a}/members", {
            "email": f"schemathesis-{kind}@example.com", "status": "accepted", "policies": [policy]})["id"]
        ids.setdefault("token_id", {})[kind] = by_token.call(
            "POST", f"/accounts/{a}/tokens", {"name": name, "policies": small})["id"]
        ids.setdefault("user_token_id", {})[kind] = by_key.call(
            "POST", "/user/tokens", {"name": name, "policies": small})["id"]
        ids.setdefault("sso_connector_id", {})[kind] = by_token.call("POST", f"/accounts/{a}/sso_connectors", {
            "email_domain": f"{kind}.schemathesis.example", "begin_verification": False})["id"]
        ids.setdefault("oauth_client_id", {})[kind] = by_token.call("POST", f"/accounts/{a}/oauth_clients", {
            "client_name": f"schemathesis {kind}", "grant_types": ["authorization_code"],
            "redirect_uris": ["https://schemathesis.example/cb"], "response_types": ["code"],
            "scopes": ["account.read"], "token_endpoint_auth_method": "client_secret_basic"})["client_id"]
    by_token.call("POST", f"/accounts/{a}/iam/user_groups/{ids['user_group_id']['keep']}/members",
                  [{"id": ids["member_id"]["keep"]}, {"id": ids["member_id"]["doomed"]}])
    # Roles are the catalog's (nothing to delete). Memberships are the caller's own: the bootstrap
    # user's in the account (kept), and one in an account of its own that it may leave (doomed:
    # another Super Administrator is added there first, so leaving is allowed).
    roles = by_token.call("GET", f"/accounts/{a}/roles")
    ids["role_id"] = {"keep": roles[0]["id"]}
    super_admin = next(r["id"] for r in roles if r["name"].startswith("Super Administrator"))
    other = by_key.call("POST", "/accounts", {"name": "schemathesis memberships"})["id"]
    by_key.call("POST", f"/accounts/{other}/members", {
        "email": "schemathesis-other-admin@example.com", "status": "accepted", "roles": [super_admin]})
    mine = by_key.call("GET", "/memberships?per_page=50")
    ids["membership_id"] = {
        "keep": boot["member_id"],
        "doomed": next(m["id"] for m in mine if m["account"]["id"] == other),
    }
    return {"user_token": user_token["value"], "account_token": boot["api_token"], "ids": ids,
            "email": boot["email"], "api_key": boot["api_key"]}


def operation_tables(schema: dict, seeded: dict, fixed_ids: bool) -> list[str]:
    """One [[operations]] table per operation that needs its credentials or path ids set.

    Creating and deleting accounts use the operator's key (operator power never comes with a
    token), the rest of /user/* and /accounts the user-owned token, everything else the bootstrap
    account token. Every operation names its own credential: headers set for all operations
    would be merged into these, and `Authorization` wins over the operator's key.
    With `fixed_ids`, each path id is a seeded object (DELETE: the doomed one, as the last id);
    otherwise only `{account_id}` is fixed, and DELETE /accounts/{account_id} is left out."""
    ids, tables = seeded["ids"], []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            op_id = op["operationId"]
            names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
            params = {}
            for i, name in enumerate(names):
                kind = "doomed" if method == "delete" and i == len(names) - 1 else "keep"
                key = "user_token_id" if name == "token_id" and path.startswith("/client/v4/user/") else name
                if fixed_ids or name == "account_id":
                    params[f"path.{name}"] = ids[key][kind] if fixed_ids else ids[key]["keep"]
            operator = (method == "post" and path == "/client/v4/accounts") or op_id == "accounts-delete"
            user = (path.startswith("/client/v4/user") or path == "/client/v4/accounts"
                    or path.startswith("/client/v4/memberships"))
            lines = ["[[operations]]", f"include-operation-id = {toml_str(op_id)}"]
            if op_id == "accounts-delete" and not fixed_ids:
                lines.append("enabled = false")
            if op_id == "portcullis-reset":
                # Served only with `serve --fixtures FILE --allow-reset` (this server has neither:
                # the path is not routed); fuzzing it would wipe the seeded state mid-run.
                # tests/http/state.rs covers it.
                lines.append("enabled = false")
            if operator:
                lines.append(f"headers = {{ \"X-Auth-Email\" = {toml_str(seeded['email'])}, "
                             f"\"X-Auth-Key\" = {toml_str(seeded['api_key'])} }}")
            elif user:
                lines.append(f"headers = {{ Authorization = {toml_str('Bearer ' + seeded['user_token'])} }}")
            else:
                lines.append(f"headers = {{ Authorization = {toml_str('Bearer ' + seeded['account_token'])} }}")
            if params:
                pairs = ", ".join(f"{toml_str(k)} = {toml_str(v)}" for k, v in params.items())
                lines.append(f"parameters = {{ {pairs} }}")
            if len(lines) > 2:
                tables.append("\n".join(lines))
    return tables


def write_config(path: Path, args, boot: dict, tables: list[str], report: Path) -> None:
    lines = [
        f"seed = {args.seed}",
        'hooks = "hooks"',
        "workers = 1",
        "request-timeout = 30",
        "continue-on-failure = true",  # one failure does not hide the next one in the same operation
        f"warnings = [{', '.join(toml_str(w) for w in WARNINGS)}]",
        "[generation]",
        f"max-examples = {args.max_examples}",
        "with-security-parameters = false",  # each operation's headers (below) are its credential
        'dictionaries.string = { dictionary = "hostile", probability = 0.1 }',
        "[dictionaries.hostile]",
        f"values = [{', '.join(toml_str(s) for s in HOSTILE_STRINGS)}]",
    ]
    for i, values in enumerate(VALID_VALUES.values()):
        lines += [f"[dictionaries.valid{i}]", f"values = [{', '.join(json.dumps(v) for v in values)}]"]
    lines.append("[parameters]")
    lines += [f'{toml_str(f)} = {{ dictionary = "hostile", probability = 0.5 }}' for f in HOSTILE_FIELDS]
    lines += [f'{toml_str(f)} = {{ dictionary = "valid{i}", probability = 0.9 }}' for i, f in enumerate(VALID_VALUES)]
    lines += ["[phases.stateful]", f"max-steps = {args.max_steps}", "[checks]"]
    if not args.all_checks:
        lines += ["enabled = false"] + [f"{name}.enabled = true" for name in CI_CHECKS]
    lines += ["[reports.ndjson]", "enabled = true", f"path = {toml_str(str(report))}", ""]
    path.write_text("\n".join(lines + tables) + "\n")


def run_st(argv: list[str], cwd: Path) -> int:
    """Runs schemathesis, echoing its output with over-long lines (15,000-character curl
    reproductions) cut to 2,000 characters."""
    proc = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(HERE)}, cwd=cwd, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    for line in proc.stdout:
        if len(line) > 2000:
            line = f"{line[:2000]}… ({len(line) - 2000} more characters)\n"
        print(line, end="", flush=True)
    return proc.wait()


def tally(report: Path) -> dict[str, str]:
    """`passed` or `failed` per unit (operation label, or `stateful`) from one run's NDJSON events."""
    status: dict[str, str] = {}
    for line in report.read_text().splitlines() if report.exists() else []:
        event = json.loads(line)
        if "NonFatalError" in event or "FatalError" in event:
            status["schemathesis error"] = "failed"
        done = event.get("ScenarioFinished")
        if done is None:
            continue
        unit = "stateful" if done["phase"] == "stateful" else done["recorder"]["label"]
        if done["status"] in ("failure", "error"):
            status[unit] = "failed"
        elif done["status"] == "success":
            status.setdefault(unit, "passed")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"],
                        default=os.environ.get("PORTCULLIS_TEST_BACKEND") or "sqlite")
    parser.add_argument("--max-examples", type=int, default=50, help="per operation and phase (default 50)")
    parser.add_argument("--max-steps", type=int, default=20, help="per stateful scenario (default 20)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--all-checks", action="store_true", help="every schemathesis check, not only the CI set")
    parser.add_argument("--keep", metavar="DIR", help="copy configs, reports and the server log to DIR")
    args = parser.parse_args()

    binary = os.environ.get("PORTCULLIS_BIN") or str(REPO / "target" / "debug" / "portcullis")
    fixture = os.environ.get("PORTCULLIS_DNS_FIXTURE_BIN") or str(Path(binary).with_name("portcullis-dns-fixture"))
    for what, exe in (("portcullis", binary), ("portcullis-dns-fixture", fixture)):
        if not Path(exe).is_file():
            sys.exit(f"{what} not found at {exe}: cargo build -p portcullis -p portcullis-dns")
    st = Path(sys.executable).with_name("st")
    tmp = Path(tempfile.mkdtemp(prefix="portcullis-st-"))
    db: Database | None = None
    procs: list[subprocess.Popen] = []
    started = time.monotonic()
    try:
        db = Database(args.backend, tmp)
        bootstrap = subprocess.run(
            [binary, "bootstrap", "--database", db.url, "--account-name", "Schemathesis",
             "--email", "schemathesis@example.com"], capture_output=True, text=True, timeout=60)
        if bootstrap.returncode != 0:
            raise RuntimeError(f"portcullis bootstrap exited {bootstrap.returncode}: {bootstrap.stderr}")
        boot = json.loads(bootstrap.stdout)
        (tmp / "dns.json").write_text("{}")
        dns, dns_addr = spawn([fixture, "--listen", "127.0.0.1:0", "--records", str(tmp / "dns.json")],
                              "listening on udp://", subprocess.DEVNULL)
        procs.append(dns)
        with open(tmp / "server.log", "wb") as server_log:
            server, addr = spawn([binary, "serve", "--listen", "127.0.0.1:0", "--database", db.url,
                                  "--dns-server", dns_addr], "listening on http://", server_log)
        procs.append(server)
        root = f"http://{addr}"
        with urllib.request.urlopen(root + "/client/v4/openapi.json", timeout=30) as resp:
            schema = json.loads(resp.read())
        seeded = seed(root, boot)
        log(f"{args.backend}: server at {root}, seed {args.seed}, {args.max_examples} examples per operation")
        status: dict[str, str] = {}
        for name, phases, fixed_ids in (("fuzz", "coverage,fuzzing", True), ("stateful", "stateful", False)):
            config, report = tmp / f"{name}.toml", tmp / f"{name}.ndjson"
            write_config(config, args, boot, operation_tables(schema, seeded, fixed_ids), report)
            code = run_st([str(st), "--no-color", "--config-file", str(config), "run", "--phases", phases,
                           "--url", root, root + "/client/v4/openapi.json"], cwd=tmp)
            found = tally(report)
            if code != 0 and "failed" not in found.values():
                found[f"st run --phases {phases} (exit {code})"] = "failed"
            for unit, result in found.items():
                status[unit] = "failed" if "failed" in (result, status.get(unit)) else result
        if server.poll() is not None:
            status["server exited"] = "failed"
        failed = sorted(unit for unit, s in status.items() if s == "failed")
        passed = sorted(unit for unit, s in status.items() if s == "passed")
        log(f"{args.backend}: {time.monotonic() - started:.0f}s; failed: {', '.join(failed) or 'none'}")
        print(f"{len(passed)} passed, {len(failed)} failed")
        return 1 if failed else 0
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if db is not None:
            db.drop()
        if args.keep:
            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
