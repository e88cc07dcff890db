#!/usr/bin/env python3
"""Runs the IAM tests that the `cloudflare==5.4.0` PyPI sdist ships against a Portcullis server.

What it does (see README.md beside this file):
  1. builds the venv `.venv` from `requirements.txt` (exact pins) if it is missing or stale;
  2. downloads the sdist with `pip download --no-deps --no-binary :all: cloudflare==5.4.0` into
     `.cache/`, checks its SHA-256 against SDIST_SHA256, and extracts only the tests it runs
     (plus tests/__init__.py, conftest.py and utils.py, which they import);
  3. for each phase, starts `portcullis serve --listen 127.0.0.1:0 --fixtures <file>
     --allow-reset` on a fresh SQLite database, runs pytest on the phase's tests with
     `sdk_suite_plugin` (reset before every test, prism skips removed, results to JSON), stops
     the server;
  4. prints passed / failed / skipped with a one-line reason per failure, checks the failures
     against `expected-failures.txt`, and exits 1 on a failure that is not listed there or on a
     listed test that passed.

Usage: python3 run.py [--binary PATH] [--run-unexplained-skips] [--phase NAME] [-v] [-- PYTEST ARGS]
       (PYTEST ARGS starting with tests/ narrow the run to those files or node ids)
Environment: PORTCULLIS_BIN (default <repo>/target/debug/portcullis). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "portcullis"

SDIST_NAME = "cloudflare-5.4.0"
SDIST_FILE = f"{SDIST_NAME}.tar.gz"
# SHA-256 of cloudflare-5.4.0.tar.gz as PyPI serves it (pinned; a different file is refused).
SDIST_SHA256 = "863f2a234a7d2cce9f7ff9c4ae0b7e62f39f58504494bc49d9023a213d29aceb"

CACHE = HERE / ".cache"
EXTRACTED = CACHE / SDIST_NAME
VENV = HERE / ".venv"
RESULTS = HERE / "results"
REQUIREMENTS = HERE / "requirements.txt"
EXPECTED = HERE / "expected-failures.txt"

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

# The tests the sdist's own test runner would run for the IAM surface Portcullis serves.
# Everything under tests/api_resources/{iam,accounts,user} and the root tests for accounts,
# memberships, the user and the audit log (v1, v2 and the user's); left out:
# accounts/test_subscriptions.py, user/billing, user/test_invites.py, user/test_organizations.py,
# user/test_subscriptions.py, user/test_tenants.py (endpoints Portcullis does not serve).
MAIN_TESTS = [
    "tests/api_resources/iam/test_oauth_clients.py",
    "tests/api_resources/iam/test_oauth_scopes.py",
    "tests/api_resources/iam/test_permission_groups.py",
    "tests/api_resources/iam/test_resource_groups.py",
    "tests/api_resources/iam/test_sso.py",
    "tests/api_resources/iam/test_user_groups.py",
    "tests/api_resources/iam/user_groups/test_members.py",
    "tests/api_resources/accounts/test_members.py",
    "tests/api_resources/accounts/test_roles.py",
    "tests/api_resources/accounts/test_tokens.py",
    "tests/api_resources/accounts/tokens/test_permission_groups.py",
    "tests/api_resources/accounts/tokens/test_value.py",
    "tests/api_resources/user/tokens/test_permission_groups.py",
    "tests/api_resources/test_accounts.py",
    "tests/api_resources/test_memberships.py",
    "tests/api_resources/test_user.py",
    "tests/api_resources/test_audit_logs.py",
    "tests/api_resources/accounts/logs/test_audit.py",
    "tests/api_resources/user/test_audit_logs.py",
]
# These name token ed17574386854bf78a67040be0a770b0 as a user token; MAIN_TESTS name it as an
# account token. One id cannot be both, so they run on their own fixtures.
USER_TOKEN_TESTS = [
    "tests/api_resources/user/test_tokens.py",
    "tests/api_resources/user/tokens/test_value.py",
]


@dataclass
class Phase:
    name: str
    fixtures: Path
    tests: List[str]


PHASES = [
    Phase("main", HERE / "fixtures.yaml", MAIN_TESTS),
    Phase("user-tokens", HERE / "fixtures-user-tokens.yaml", USER_TOKEN_TESTS),
]


def log(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- venv ---------------------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path:
    """The venv with the pinned requirements; rebuilt when requirements.txt changes."""
    stamp = VENV / ".requirements.sha256"
    want = sha256_file(REQUIREMENTS)
    if venv_python().is_file() and stamp.is_file() and stamp.read_text().strip() == want:
        return venv_python()
    if sys.version_info < (3, 10):
        sys.exit("run.py needs Python >= 3.10 to build its venv (the pins are for >= 3.10)")
    log(f"building {VENV.relative_to(HERE)} from requirements.txt")
    if not venv_python().is_file():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(REQUIREMENTS)],
        check=True,
    )
    stamp.write_text(want + "\n")
    return venv_python()


# --- sdist --------------------------------------------------------------------------------


def ensure_sdist(python: Path) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / SDIST_FILE
    if path.is_file() and sha256_file(path) == SDIST_SHA256:
        return path
    if path.exists():
        path.unlink()
    log(f"downloading {SDIST_FILE} (pip download --no-deps --no-binary :all:)")
    subprocess.run(
        [str(python), "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-binary", ":all:", f"cloudflare=={SDIST_NAME.split('-', 1)[1]}",
         "-d", str(CACHE)],
        check=True,
    )
    got = sha256_file(path)
    if got != SDIST_SHA256:
        path.unlink()
        sys.exit(f"{SDIST_FILE}: sha256 {got} is not the pinned {SDIST_SHA256}; refusing it")
    return path


def needed_files() -> List[str]:
    """Test files of every phase, the tests package's __init__.py files above them, and the
    helpers they import (tests/conftest.py, tests/utils.py)."""
    files = {"tests/__init__.py", "tests/conftest.py", "tests/utils.py"}
    for phase in PHASES:
        for test in phase.tests:
            files.add(test)
            parts = Path(test).parent.parts
            for i in range(1, len(parts) + 1):
                files.add(str(Path(*parts[:i]) / "__init__.py"))
    return sorted(files)


def extract_tests(sdist: Path) -> Path:
    if EXTRACTED.exists():
        shutil.rmtree(EXTRACTED)
    wanted = {f"{SDIST_NAME}/{f}": f for f in needed_files()}
    with tarfile.open(sdist, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
        missing = set(wanted) - {m.name for m in members}
        if missing:
            sys.exit(f"{SDIST_FILE} lacks {sorted(missing)}")
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(CACHE, members=members, **kwargs)  # type: ignore[arg-type]
    return EXTRACTED


# --- DNS ----------------------------------------------------------------------------------


class NxDomainDns:
    """A DNS server on 127.0.0.1 (UDP) that answers every query NXDOMAIN.

    iam.sso.create (begin_verification defaults to true) looks the domain's TXT record up before
    it answers. Pointed at this server, the lookup ends at once with "not there" (the connector
    stays pending), instead of asking the network or waiting for a resolver that does not answer
    (Portcullis waits 3 x 2 s for one, which made each create take 6 s)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "NxDomainDns":
        self._thread.start()
        return self

    @staticmethod
    def answer(query: bytes) -> Optional[bytes]:
        if len(query) < 12 or query[2] & 0x80:  # too short, or a response
            return None
        qdcount = int.from_bytes(query[4:6], "big")
        end = 12
        if qdcount:
            while end < len(query) and query[end] != 0:  # the first question's name
                end += 1 + query[end]
            end += 1 + 4  # the root label, QTYPE, QCLASS
            if end > len(query):
                return None
        flags = bytes([0x80 | (query[2] & 0x79), 0x80 | 3])  # QR, opcode, RD; RA, NXDOMAIN
        counts = (min(qdcount, 1)).to_bytes(2, "big") + bytes(6)
        return query[:2] + flags + counts + query[12:end]

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self.answer(data)
            if reply is not None:
                self.queries += 1
                self.sock.sendto(reply, peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


# --- server -------------------------------------------------------------------------------


class Server:
    def __init__(self, binary: Path, fixtures: Path, db_path: Path, log_path: Path, dns_port: int):
        self.dns_port = dns_port
        self.binary = binary
        self.fixtures = fixtures
        self.db_path = db_path
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self.addr: Optional[str] = None

    def args(self) -> List[str]:
        return [
            str(self.binary), "serve",
            "--listen", "127.0.0.1:0",
            "--database", f"sqlite://{self.db_path}",
            "--fixtures", str(self.fixtures),
            "--allow-reset",
            # iam.sso.create/begin_verification look the domain up at once: ask NxDomainDns.
            "--dns-server", f"127.0.0.1:{self.dns_port}",
            "--sso-check-interval", "3600",
        ]

    def start(self) -> "Server":
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.args(), stdout=subprocess.PIPE, stderr=logf, stdin=subprocess.DEVNULL,
            text=True, bufsize=1,
        )
        logf.close()
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        prefix = "listening on http://"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise RuntimeError(f"server did not print {prefix!r} within {STARTUP_TIMEOUT}s; log:\n{self.log()}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                raise RuntimeError(f"server exited ({code}) before listening; log:\n{self.log()}")
            line = line.strip()
            if line.startswith(prefix):
                self.addr = line[len(prefix):].strip().rstrip("/")
                return self

    @property
    def root_url(self) -> str:
        return f"http://{self.addr}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "<no log>"

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --- expected failures ----------------------------------------------------------------------


@dataclass
class Expectation:
    pattern: str
    reason: str
    regex: "re.Pattern[str]"
    line: int


def load_expected(path: Path) -> List[Expectation]:
    """`<node id pattern> | <reason>` per line; `*` in the pattern matches any text (nothing
    else is special, so `[loose]` is literal); `#` starts a comment line."""
    out: List[Expectation] = []
    if not path.is_file():
        return out
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition(" | ")
        if not sep or not reason.strip():
            sys.exit(f"{path.name}:{n}: expected `<node id pattern> | <reason>`")
        pattern = pattern.strip()
        regex = re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern) + r"\Z")
        out.append(Expectation(pattern, reason.strip(), regex, n))
    return out


def expectation_for(nodeid: str, expected: List[Expectation]) -> Optional[Expectation]:
    for e in expected:
        if e.regex.match(nodeid):
            return e
    return None


# --- running ----------------------------------------------------------------------------------


def run_phase(phase: Phase, python: Path, binary: Path, unskip: str, verbose: bool,
              extra: List[str]) -> Tuple[Dict[str, dict], List[dict], int]:
    RESULTS.mkdir(exist_ok=True)
    results_json = RESULTS / f"{phase.name}.json"
    pytest_log = RESULTS / f"{phase.name}-pytest.log"
    server_log = RESULTS / f"{phase.name}-server.log"
    for p in (results_json, pytest_log, server_log):
        if p.exists():
            p.unlink()
    with tempfile.TemporaryDirectory(prefix="portcullis-sdk-suite-") as tmp:
        dns = NxDomainDns().start()
        server = Server(binary, phase.fixtures, Path(tmp) / "p.db", server_log, dns.port)
        log(f"phase {phase.name}: portcullis serve --fixtures {phase.fixtures.name} --allow-reset")
        try:
            server.start()
        except BaseException:
            dns.stop()
            raise
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
            env.update(
                TEST_API_BASE_URL=f"{server.root_url}/client/v4",
                PORTCULLIS_SDK_SUITE_SERVER=server.root_url,
                PORTCULLIS_SDK_SUITE_RESULTS=str(results_json),
                PORTCULLIS_SDK_SUITE_UNSKIP=unskip,
                PYTHONPATH=os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])]),
                PYTHONDONTWRITEBYTECODE="1",
            )
            cmd = [
                str(python), "-m", "pytest", "-c", str(HERE / "pytest.ini"), "--rootdir", str(EXTRACTED),
                "-p", "sdk_suite_plugin", "-p", "no:cacheprovider", "-q", *phase.tests, *extra,
            ]
            log(f"phase {phase.name}: pytest on {len(phase.tests)} files against {server.root_url}/client/v4")
            with open(pytest_log, "w") as out:
                proc = subprocess.Popen(cmd, cwd=EXTRACTED, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
                assert proc.stdout
                last = ""
                for line in proc.stdout:
                    out.write(line)
                    if verbose:
                        sys.stdout.write(line)
                    if line.strip():
                        last = line.strip()
                code = proc.wait()
            log(f"phase {phase.name}: pytest exited {code}: {last}")
        finally:
            server.stop()
            dns.stop()
    if dns.queries:
        log(f"phase {phase.name}: the local DNS server answered {dns.queries} queries NXDOMAIN")
    if not results_json.is_file():
        print(f"pytest wrote no results; see {pytest_log}", file=sys.stderr)
        return {}, [], code or 2
    data = json.loads(results_json.read_text())
    return data["results"], data["unskipped"], code


def grouped(nodeids: List[str], results: Dict[str, dict]) -> List[Tuple[str, str]]:
    """One line per test function and reason: `file::Class::test[loose,strict]`."""
    groups: Dict[Tuple[str, str], List[str]] = {}
    for n in sorted(nodeids):
        m = re.fullmatch(r"(.*?)\[(.*)\]", n)
        base, param = (m.group(1), m.group(2)) if m else (n, "")
        r = results[n]
        reason = r["reason"] if r["when"] in ("call", "") else f"[{r['when']}] {r['reason']}"
        groups.setdefault((base, reason), []).append(param)
    return [(f"{base}[{','.join(p for p in params if p)}]" if any(params) else base, reason)
            for (base, reason), params in groups.items()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.environ.get("PORTCULLIS_BIN", str(DEFAULT_BIN)),
                    help="portcullis binary (env PORTCULLIS_BIN; default %(default)s)")
    ap.add_argument("--run-unexplained-skips", action="store_true",
                    help="also run the tests the sdist skips for reasons that do not mention prism "
                         "(\"TODO: investigate broken test\")")
    ap.add_argument("--phase", choices=[p.name for p in PHASES], action="append",
                    help="run only this phase (repeatable)")
    ap.add_argument("--fetch-only", action="store_true", help="build the venv, fetch and extract, then stop")
    ap.add_argument("-v", "--verbose", action="store_true", help="stream pytest's output")
    ap.add_argument("pytest_args", nargs="*",
                    help="extra pytest arguments (after --); arguments starting with tests/ (files, "
                         "directories, node ids) replace the phases' test lists")
    args = ap.parse_args()

    python = ensure_venv()
    sdist = ensure_sdist(python)
    extract_tests(sdist)
    log(f"{SDIST_FILE} sha256 ok; extracted {len(needed_files())} files to {EXTRACTED.relative_to(HERE)}")
    if args.fetch_only:
        return 0
    binary = Path(args.binary)
    if not binary.is_file():
        print(f"portcullis binary not found at {binary} (set PORTCULLIS_BIN or --binary)", file=sys.stderr)
        return 2
    expected = load_expected(EXPECTED)
    unskip = "." if args.run_unexplained_skips else "prism"

    results: Dict[str, dict] = {}
    unskipped: List[dict] = []
    bad_exit = False
    # Extra arguments naming tests (`tests/...`, node ids included) narrow each phase to those
    # of its files; the others are passed to pytest as they are.
    paths = [a for a in args.pytest_args if a.startswith("tests/")]
    options = [a for a in args.pytest_args if not a.startswith("tests/")]
    for phase in PHASES:
        if args.phase and phase.name not in args.phase:
            continue
        tests = phase.tests
        if paths:
            def ours(p: str) -> bool:
                f = p.split("::")[0].rstrip("/")
                return any(t == f or t.startswith(f + "/") for t in phase.tests)
            tests = [p for p in paths if ours(p)]
            if not tests:
                continue
        r, u, code = run_phase(Phase(phase.name, phase.fixtures, tests), python, binary, unskip,
                               args.verbose, options)
        results.update(r)
        unskipped.extend(u)
        if code not in (0, 1):  # 1 = some tests failed; anything else is a usage/collection error
            bad_exit = True

    passed = [n for n, r in results.items() if r["outcome"] == "passed"]
    failed = [n for n, r in results.items() if r["outcome"] == "failed"]
    skipped = [n for n, r in results.items() if r["outcome"] == "skipped"]
    expected_fail = [n for n in failed if expectation_for(n, expected)]
    unexpected_fail = [n for n in failed if not expectation_for(n, expected)]
    unexpected_pass = [n for n in passed if expectation_for(n, expected)]
    used = {expectation_for(n, expected).line for n in failed + passed if expectation_for(n, expected)}  # type: ignore[union-attr]

    print()
    print(f"Unskipped (prism-only skip marks removed): {len(unskipped)} tests; "
          f"reasons: {sorted({u['reason'] for u in unskipped})}")
    if skipped:
        print(f"\nSKIPPED ({len(skipped)}), by reason:")
        by_reason: Dict[str, int] = {}
        for n in skipped:
            by_reason[results[n]["reason"]] = by_reason.get(results[n]["reason"], 0) + 1
        for reason, count in sorted(by_reason.items()):
            print(f"  {count:4d}  {reason}")
    if expected_fail:
        print(f"\nEXPECTED FAILURES ({len(expected_fail)}; expected-failures.txt):")
        for name, reason in grouped(expected_fail, results):
            print(f"  xfail {name}: {reason}")
    if unexpected_fail:
        print(f"\nFAILED ({len(unexpected_fail)}, not in expected-failures.txt):")
        for name, reason in grouped(unexpected_fail, results):
            print(f"  FAIL {name}: {reason}")
    if unexpected_pass:
        print(f"\nUNEXPECTED PASSES ({len(unexpected_pass)}; listed in expected-failures.txt but passed):")
        for n in sorted(unexpected_pass):
            e = expectation_for(n, expected)
            print(f"  XPASS {n} (expected-failures.txt:{e.line if e else '?'})")
    stale = [e for e in expected if e.line not in used]
    if stale:
        print(f"\nexpected-failures.txt lines that matched no test that ran (skipped or deselected): "
              f"{[e.line for e in stale]}")
    print()
    print(f"expected failures: {len(expected_fail)}, unexpected failures: {len(unexpected_fail)}, "
          f"unexpected passes: {len(unexpected_pass)}")
    print(f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    if bad_exit or not results:
        print("pytest did not run normally (see results/*-pytest.log)", file=sys.stderr)
        return 2
    return 1 if unexpected_fail or unexpected_pass else 0


if __name__ == "__main__":
    sys.exit(main())
