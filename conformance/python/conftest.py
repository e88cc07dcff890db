"""Session fixtures for the Portcullis official-SDK conformance suite (Python, cloudflare==5.4.0).

The suite runs the real server binary:
  1. `portcullis bootstrap` on a fresh SQLite database in a temp dir (prints one JSON object);
  2. `portcullis serve --listen 127.0.0.1:0` on that database, waiting for `listening on http://ADDR`;
  3. the SDK talks to `http://ADDR/client/v4`; the server gets SIGTERM at the end of the session.

Environment:
  PORTCULLIS_BIN                path of the server binary (default: <repo>/target/debug/portcullis).
  PORTCULLIS_TEST_BACKEND       `sqlite` (default) or `postgres`.
  PORTCULLIS_TEST_POSTGRES_URL  with `postgres`: postgres://USER@HOST:PORT/DB (required). Every server
                                instance (the session server, each own-database test) gets a fresh
                                schema `pt_<16 hex>` via `?options=-c%20search_path%3D<schema>`; the
                                schema is dropped at teardown (best effort, also on failure).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import httpx
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from cloudflare import Cloudflare  # noqa: E402

# conformance/python/conftest.py -> the repository root is two levels up.
REPO_ROOT = HERE.parents[1]
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "portcullis"

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CLI_TIMEOUT = 60.0

# Never let the developer's own Cloudflare credentials or base URL leak into the SDK clients.
for _var in (
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CLOUDFLARE_EMAIL",
    "CLOUDFLARE_API_USER_SERVICE_KEY",
    "CLOUDFLARE_BASE_URL",
    "CLOUDFLARE_CUSTOM_HEADERS",
):
    os.environ.pop(_var, None)


def server_binary() -> Path:
    path = Path(os.environ.get("PORTCULLIS_BIN", str(DEFAULT_BIN)))
    if not path.is_file():
        pytest.exit(
            f"portcullis binary not found at {path}; build it with `cargo build -p portcullis` "
            "or set PORTCULLIS_BIN",
            returncode=2,
        )
    return path


BACKEND_ENV = "PORTCULLIS_TEST_BACKEND"
POSTGRES_URL_ENV = "PORTCULLIS_TEST_POSTGRES_URL"

_backend: Optional[str] = None
_postgres_base: Optional[str] = None
# Schemas created by this session and not dropped yet (dropped at teardown / session end / exit).
_schemas: List[str] = []
# database_url(): resolved db path -> schema, so repeated calls (restarts) reuse the schema.
_schema_by_path: Dict[str, str] = {}
_SCHEMA_RE = re.compile(r"search_path%3D(pt_[0-9a-f]{16})")


def _psql(url: str, sql: str) -> subprocess.CompletedProcess:
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql is not installed (needed by the postgres test backend)")
    return subprocess.run(
        [psql, url, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def backend() -> str:
    """`sqlite` or `postgres`; with `postgres` the URL must be set and the server reachable."""
    global _backend, _postgres_base
    if _backend is not None:
        return _backend
    name = os.environ.get(BACKEND_ENV, "").strip() or "sqlite"
    if name == "sqlite":
        _backend = name
        return name
    if name != "postgres":
        pytest.exit(f"{BACKEND_ENV}={name!r}: expected `sqlite` or `postgres`", returncode=2)
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if not url:
        pytest.exit(
            f"{BACKEND_ENV}=postgres but {POSTGRES_URL_ENV} is not set "
            "(e.g. postgres://postgres@127.0.0.1:5432/test)",
            returncode=2,
        )
    try:
        proc = _psql(url, "select 1")
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        pytest.exit(f"PostgreSQL at {url} is unusable: {exc}", returncode=2)
    if proc.returncode != 0 or proc.stdout.strip() != "1":
        pytest.exit(
            f"PostgreSQL at {url} is unusable: psql exited {proc.returncode}: {proc.stderr.strip()}",
            returncode=2,
        )
    _postgres_base = url
    _backend = name
    return name


def new_schema_name() -> str:
    return f"pt_{secrets.token_hex(8)}"


def postgres_url_with_schema(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-c%20search_path%3D{schema}"


def schema_of(db_url: str) -> Optional[str]:
    m = _SCHEMA_RE.search(db_url)
    return m.group(1) if m else None


def drop_schema(schema: Optional[str]) -> None:
    """Best effort `drop schema if exists <schema> cascade`."""
    if not schema or _postgres_base is None or not re.fullmatch(r"pt_[0-9a-f]{16}", schema):
        return
    try:
        proc = _psql(_postgres_base, f"drop schema if exists {schema} cascade")
        if proc.returncode != 0:
            print(f"warning: could not drop schema {schema}: {proc.stderr.strip()}", file=sys.stderr)
    except Exception as exc:  # pragma: no cover - best effort
        print(f"warning: could not drop schema {schema}: {exc}", file=sys.stderr)
    if schema in _schemas:
        _schemas.remove(schema)


def drop_database(db_url: str) -> None:
    """Drops the harness schema behind `db_url` (no-op for SQLite URLs)."""
    drop_schema(schema_of(db_url))


def drop_databases_under(directory: Path) -> None:
    """Drops the schemas `database_url` handed out for paths inside `directory`."""
    root = str(Path(directory).resolve())
    for key, schema in list(_schema_by_path.items()):
        if key == root or key.startswith(root + os.sep):
            drop_schema(schema)
            del _schema_by_path[key]


def _drop_all_schemas() -> None:
    for schema in list(_schemas):
        drop_schema(schema)


atexit.register(_drop_all_schemas)


def database_url(db_path: Path) -> str:
    """The database of one server instance: the SQLite file `db_path`, or on the postgres backend a
    fresh schema (the same one for repeated calls with the same path, so restarts reuse it)."""
    if backend() == "sqlite":
        # db_path is absolute, so this gives sqlite:///abs/path/p.db
        return f"sqlite://{db_path}"
    key = str(Path(db_path).resolve())
    schema = _schema_by_path.get(key)
    if schema is None:
        schema = new_schema_name()
        _schema_by_path[key] = schema
        _schemas.append(schema)
    assert _postgres_base is not None
    return postgres_url_with_schema(_postgres_base, schema)


def sqlite_url(db_path: Path) -> str:
    """Kept for existing callers: the same as `database_url` (honours PORTCULLIS_TEST_BACKEND)."""
    return database_url(db_path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _drop_all_schemas()


def run_cli(*args: str) -> Dict[str, Any]:
    """Run a one-shot CLI command that prints exactly one JSON object on stdout."""
    cmd = [str(server_binary()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    out = proc.stdout.strip()
    try:
        value = json.loads(out)
    except json.JSONDecodeError as exc:  # pragma: no cover - diagnostic path
        raise AssertionError(f"{' '.join(cmd)} did not print one JSON object: {out!r}") from exc
    assert isinstance(value, dict), f"expected a JSON object, got {value!r}"
    return value


def bootstrap_db(db_url: str, account_name: str = "Conformance", email: str = "admin@example.com") -> Dict[str, Any]:
    data = run_cli(
        "bootstrap", "--database", db_url, "--account-name", account_name, "--email", email
    )
    for key in ("account_id", "user_id", "member_id", "email", "api_key", "api_token", "api_token_id"):
        assert key in data, f"bootstrap output lacks {key!r}: {data!r}"
    return data


class ServerProcess:
    """One `portcullis serve` process."""

    def __init__(self, db_url: str, log_path: Path, extra_args: Optional[List[str]] = None):
        self.db_url = db_url
        self.log_path = log_path
        # Extra `serve` flags (e.g. the SSO tests' `--dns-server … --sso-check-interval 1`).
        self.extra_args: List[str] = list(extra_args or [])
        self.proc: Optional[subprocess.Popen] = None
        self.addr: Optional[str] = None
        # `https` when the server was started with --tls-cert/--tls-key.
        self.scheme = "http"
        self.stdout_lines: List[str] = []
        self._reader: Optional[threading.Thread] = None

    @property
    def base_url(self) -> str:
        assert self.addr, "server not started"
        return f"{self.scheme}://{self.addr}/client/v4"

    @property
    def root_url(self) -> str:
        assert self.addr, "server not started"
        return f"{self.scheme}://{self.addr}"

    def start(self) -> "ServerProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(server_binary()), "serve", "--listen", "127.0.0.1:0", "--database", self.db_url, *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        log.close()
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self.stdout_lines.append(line)
                lines.put(line)
            lines.put(None)

        self._reader = threading.Thread(target=pump, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        prefix = "listening on "
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise AssertionError(f"server did not print {prefix!r} within {STARTUP_TIMEOUT}s; log: {self.log()}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                raise AssertionError(f"server exited ({code}) before listening; log: {self.log()}")
            line = line.strip()
            if line.startswith(prefix) and "://" in line:
                self.scheme, _, rest = line[len(prefix):].strip().partition("://")
                self.addr = rest.rstrip("/")
                return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "<no log>"

    def stop(self) -> Optional[int]:
        """SIGTERM and wait; returns the exit code, or None if it had to be killed."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def make_client(base_url: str, **kwargs: Any) -> Cloudflare:
    kwargs.setdefault("max_retries", 0)
    # Strict mode: every response must validate against the SDK's own models.
    kwargs.setdefault("_strict_response_validation", True)
    return Cloudflare(base_url=base_url, **kwargs)


class RequestRecorder:
    """httpx event hook recording every request the SDK sends."""

    def __init__(self) -> None:
        self.requests: List[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def http_client(self) -> httpx.Client:
        return httpx.Client(event_hooks={"request": [self]})

    def paths(self) -> List[str]:
        return [f"{r.method} {r.url.path}?{r.url.query.decode()}" for r in self.requests]


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Env:
    """Everything a test needs about the shared server."""

    server: ServerProcess
    db_url: str
    boot: Dict[str, Any]
    base_url: str
    tmp: Path
    _clients: List[Cloudflare] = field(default_factory=list)

    @property
    def account_id(self) -> str:
        return self.boot["account_id"]

    def client(self, **kwargs: Any) -> Cloudflare:
        c = make_client(self.base_url, **kwargs)
        self._clients.append(c)
        return c

    def token_client(self, token: str, **kwargs: Any) -> Cloudflare:
        return self.client(api_token=token, **kwargs)

    def key_client(self, email: str, key: str, **kwargs: Any) -> Cloudflare:
        return self.client(api_email=email, api_key=key, **kwargs)

    def user_key(self, email: str, operator: bool = False) -> Dict[str, Any]:
        args = ["user-key", "--database", self.db_url, "--email", email]
        if operator:
            args.append("--operator")
        data = run_cli(*args)
        for key in ("user_id", "email", "api_key"):
            assert key in data, f"user-key output lacks {key!r}: {data!r}"
        return data

    def new_user_client(self, email: Optional[str] = None, operator: bool = False, **kwargs: Any):
        """Create a user with a global key (no memberships); returns (user-key output, client)."""
        info = self.user_key(email or unique_email(), operator=operator)
        return info, self.key_client(info["email"], info["api_key"], **kwargs)


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("portcullis")
    db_url = database_url(tmp / "p.db")
    try:
        boot = bootstrap_db(db_url)
        server = ServerProcess(db_url, tmp / "server.log").start()
    except BaseException:
        drop_database(db_url)
        raise
    e = Env(server=server, db_url=db_url, boot=boot, base_url=server.base_url, tmp=tmp)
    try:
        yield e
    finally:
        for c in e._clients:
            try:
                c.close()
            except Exception:
                pass
        server.stop()
        drop_database(db_url)


@pytest.fixture(scope="session")
def boot(env: Env) -> Dict[str, Any]:
    return env.boot


@pytest.fixture(scope="session")
def base_url(env: Env) -> str:
    return env.base_url


@pytest.fixture(scope="session")
def account_id(env: Env) -> str:
    return env.account_id


@pytest.fixture(scope="session")
def token_client(env: Env) -> Cloudflare:
    """The bootstrap account-owned API token."""
    return env.token_client(env.boot["api_token"])


@pytest.fixture(scope="session")
def key_client(env: Env) -> Cloudflare:
    """The bootstrap user (operator, Super Administrator of the account) via email + global key."""
    return env.key_client(env.boot["email"], env.boot["api_key"])


@pytest.fixture
def recorder() -> RequestRecorder:
    return RequestRecorder()


@pytest.fixture
def fresh_server(tmp_path: Path):
    """Factory for tests that need their own database and server processes."""
    started: List[ServerProcess] = []

    def start(db_url: str, extra_args: Optional[List[str]] = None) -> ServerProcess:
        s = ServerProcess(db_url, tmp_path / f"server-{len(started)}.log", extra_args).start()
        started.append(s)
        return s

    try:
        yield start
    finally:
        for s in started:
            s.stop()
        # Own databases of this test: those its servers ran on, and any made under tmp_path
        # (also those only bootstrapped, or whose server failed to start).
        for db_url in {s.db_url for s in started}:
            drop_database(db_url)
        drop_databases_under(tmp_path)
