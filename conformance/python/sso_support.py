"""SSO connector test support: the DNS fixture process, polling, connector shapes.

`portcullis-dns-fixture --listen 127.0.0.1:0 --records FILE` prints `listening on udp://IP:PORT` and
answers TXT queries from FILE (JSON, re-read on every query): `{"a.example": ["txt1", "txt2"]}`, or a
string value `"SERVFAIL"`, `"REFUSED"`, `"TIMEOUT"`; names absent from the file answer NXDOMAIN.
The SSO server runs with `--dns-server IP:PORT --sso-check-interval 1 --sso-verification-window W`.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from conftest import REPO_ROOT
from helpers import assert_id, assert_ts

DEFAULT_FIXTURE_BIN = REPO_ROOT / "target" / "debug" / "portcullis-dns-fixture"

# docs/api-decisions.md "SSO connectors": code = `cloudflare_dashboard_sso=<32 hex>`
SSO_CODE_RE = re.compile(r"^cloudflare_dashboard_sso=[0-9a-f]{32}$")
SSO_STATES = ("awaiting", "pending", "failed", "verified")

# The SSO server's flags (seconds). The window is short so `failed` can be observed.
CHECK_INTERVAL = 1
WINDOW = 4
# How long a test polls for the background verifier (interval 1 s ± 10 %).
POLL_TIMEOUT = 10.0


def fixture_binary() -> Path:
    path = Path(os.environ.get("PORTCULLIS_DNS_FIXTURE_BIN", str(DEFAULT_FIXTURE_BIN)))
    if not path.is_file():
        raise AssertionError(
            f"portcullis-dns-fixture not found at {path}; build it with "
            "`cargo build -p portcullis -p portcullis-dns` or set PORTCULLIS_DNS_FIXTURE_BIN"
        )
    return path


class DnsFixture:
    """One `portcullis-dns-fixture` process and its records file."""

    def __init__(self, directory: Path):
        self.records_path = Path(directory) / "dns-records.json"
        self.records: Dict[str, Union[List[str], str]] = {}
        self._write()
        self.proc: Optional[subprocess.Popen] = None
        self.addr: Optional[str] = None

    def start(self, timeout: float = 30.0) -> "DnsFixture":
        self.proc = subprocess.Popen(
            [str(fixture_binary()), "--listen", "127.0.0.1:0", "--records", str(self.records_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise AssertionError("portcullis-dns-fixture did not print `listening on udp://…`")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"portcullis-dns-fixture exited ({self.proc.wait()}) before listening")
            m = re.search(r"listening on udp://(\S+)", line)
            if m:
                self.addr = m.group(1)
                return self

    def server_args(self, window: int = WINDOW, interval: int = CHECK_INTERVAL) -> List[str]:
        assert self.addr, "DNS fixture not started"
        return [
            "--dns-server", self.addr,
            "--sso-check-interval", str(interval),
            "--sso-verification-window", str(window),
        ]

    def _write(self) -> None:
        # Atomic replace: the fixture re-reads the file on every query.
        tmp = self.records_path.with_name(f".{self.records_path.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps(self.records))
        os.replace(tmp, self.records_path)

    def set(self, name: str, value: Union[List[str], str]) -> None:
        """TXT strings (list) or "SERVFAIL" / "REFUSED" / "TIMEOUT" for `name`."""
        self.records[name] = value
        self._write()

    def publish(self, name: str, *texts: str) -> None:
        """Adds TXT records to `name` (keeping the ones already there)."""
        cur = self.records.get(name)
        self.records[name] = (list(cur) if isinstance(cur, list) else []) + list(texts)
        self._write()

    def remove(self, name: str) -> None:
        """`name` answers NXDOMAIN from now on."""
        self.records.pop(name, None)
        self._write()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def unique_domain(label: str = "sso") -> str:
    """A fresh domain under `.example` (never in the fixture unless a test puts it there)."""
    return f"{label}-{uuid.uuid4().hex[:12]}.example"


def check_connector_shape(c: Dict[str, Any]) -> None:
    """The raw JSON of one connector (seed "# SSO", docs/api-decisions.md)."""
    assert isinstance(c, dict), c
    assert_id(c.get("id"), "sso.id")
    assert_ts(c.get("created_on"), "sso.created_on")
    assert_ts(c.get("updated_on"), "sso.updated_on")
    assert c["updated_on"] >= c["created_on"], c
    assert isinstance(c.get("email_domain"), str) and c["email_domain"], c
    assert isinstance(c.get("enabled"), bool), c
    assert isinstance(c.get("use_fedramp_language"), bool), c
    v = c.get("verification")
    assert isinstance(v, dict), c
    assert isinstance(v.get("code"), str) and SSO_CODE_RE.match(v["code"]), f"verification.code: {v!r}"
    assert v.get("status") in SSO_STATES, v


def wait_for(fn: Callable[[], Any], pred: Callable[[Any], bool], timeout: float = POLL_TIMEOUT,
             interval: float = 0.2, what: str = "condition") -> Any:
    """Polls fn() until pred(value); returns the value, or fails with the last one."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if pred(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last value: {value!r}")
        time.sleep(interval)


def wait_status(client: Any, account_id: str, connector_id: str, status: str,
                timeout: float = POLL_TIMEOUT) -> Any:
    """Polls `iam.sso.get` until verification.status == status; returns the connector model."""
    return wait_for(
        lambda: client.iam.sso.get(connector_id, account_id=account_id),
        lambda c: c.verification.status == status,
        timeout=timeout,
        what=f"connector {connector_id} status {status!r}",
    )
