"""pytest plugin run.py loads (`-p sdk_suite_plugin`) into the cloudflare 5.4.0 sdist's tests.

1. Skips: the sdist marks tests `@pytest.mark.skip(reason=...)` where its Prism mock server could
   not serve them. Collection removes every `skip` mark whose reason matches
   PORTCULLIS_SDK_SUITE_UNSKIP (a regular expression, case-insensitive; run.py passes `prism`,
   or `.` with --run-unexplained-skips). Other skips stay and are reported with their reasons.
2. Reset: an autouse fixture sends `POST {server}/__portcullis/reset` with the fixtures'
   operator credential (X-Auth-Email / X-Auth-Key, the same the tests use) before every test and
   fails the test (an error in setup) unless the answer is 200.
3. Results: every test's outcome and a one-line reason are written as JSON to
   PORTCULLIS_SDK_SUITE_RESULTS when the session ends.

Environment: PORTCULLIS_SDK_SUITE_SERVER (root URL, e.g. http://127.0.0.1:PORT),
PORTCULLIS_SDK_SUITE_RESULTS, PORTCULLIS_SDK_SUITE_UNSKIP. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any, Dict, List

import pytest

RESET_EMAIL = "user@example.com"
RESET_KEY = "144c9defac04969c7bfad8efaa8ea194"

_results: Dict[str, Dict[str, Any]] = {}
_unskipped: List[Dict[str, str]] = []


def _unskip_pattern() -> "re.Pattern[str] | None":
    raw = os.environ.get("PORTCULLIS_SDK_SUITE_UNSKIP", "prism")
    if not raw:
        return None
    return re.compile(raw, re.IGNORECASE)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    pattern = _unskip_pattern()
    if pattern is None:
        return
    for item in items:
        kept = []
        for mark in item.own_markers:
            reason = mark.kwargs.get("reason", mark.args[0] if mark.args else "")
            if mark.name == "skip" and pattern.search(str(reason)):
                _unskipped.append({"nodeid": item.nodeid, "reason": str(reason)})
                continue
            kept.append(mark)
        item.own_markers[:] = kept


def _reset() -> None:
    server = os.environ.get("PORTCULLIS_SDK_SUITE_SERVER")
    if not server:
        pytest.fail("PORTCULLIS_SDK_SUITE_SERVER is not set (run the suite through run.py)", pytrace=False)
    req = urllib.request.Request(
        f"{server.rstrip('/')}/__portcullis/reset",
        method="POST",
        data=b"",
        headers={"X-Auth-Email": RESET_EMAIL, "X-Auth-Key": RESET_KEY},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    except OSError as err:
        pytest.fail(f"reset: POST /__portcullis/reset failed: {err}", pytrace=False)
    if status != 200:
        pytest.fail(
            f"reset: POST /__portcullis/reset answered {status}: {body[:400].decode('utf-8', 'replace')}",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _portcullis_reset() -> None:
    _reset()


def _one_line(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= 400 else line[:397] + "..."


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _results.setdefault(report.nodeid, {"outcome": "passed", "reason": "", "when": ""})
    if report.failed:
        if entry["outcome"] != "failed":
            entry.update(outcome="failed", reason=_one_line(report), when=report.when)
    elif report.skipped and entry["outcome"] == "passed":
        entry.update(outcome="skipped", reason=_one_line(report), when=report.when)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("PORTCULLIS_SDK_SUITE_RESULTS")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"results": _results, "unskipped": _unskipped}, f, indent=1, sort_keys=True)
