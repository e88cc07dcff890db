"""Rate limiting (`serve --rate-limit N/SECONDS`, docs/api-decisions.md "Rate limiting"): the
official SDK's own retry on 429 (it honours `Retry-After`) turns a refused request into a
success, and the headers are Cloudflare's."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from conftest import ServerProcess, bootstrap_db, database_url, drop_database, make_client


def test_the_sdk_retries_a_429_and_succeeds(tmp_path: Path) -> None:
    db_url = database_url(tmp_path / "p.db")
    try:
        boot = bootstrap_db(db_url, account_name="Rate limited")
        server = ServerProcess(db_url, tmp_path / "server.log", ["--rate-limit", "4/2"]).start()
        try:
            statuses: list[int] = []
            http = httpx.Client(event_hooks={"response": [lambda r: statuses.append(r.status_code)]})
            a = boot["account_id"]
            impatient = make_client(server.base_url, api_token=boot["api_token"], http_client=http)
            patient = make_client(server.base_url, api_token=boot["api_token"], max_retries=3,
                                  http_client=http)
            for _ in range(4):
                impatient.accounts.get(account_id=a)
            assert statuses == [200] * 4

            # The fifth in the window is refused with Cloudflare's error and headers.
            raw = httpx.get(f"{server.base_url}/accounts/{a}",
                            headers={"Authorization": f"Bearer {boot['api_token']}"})
            assert raw.status_code == 429, raw.text
            body = raw.json()
            assert body["success"] is False and body["errors"][0]["code"] == 971, body
            assert 1 <= int(raw.headers["retry-after"]) <= 2
            assert raw.headers["ratelimit"].startswith('"default";r=0;t=')
            assert raw.headers["ratelimit-policy"] == '"default";q=4;w=2'

            # The SDK waits as told and its retry succeeds.
            statuses.clear()
            started = time.monotonic()
            account = patient.accounts.get(account_id=a)
            assert account is not None and account.id == a
            assert statuses[0] == 429 and statuses[-1] == 200, statuses
            assert time.monotonic() - started >= 0.5

            # A user is counted apart from the account token.
            user = make_client(server.base_url, api_email=boot["email"], api_key=boot["api_key"])
            assert user.accounts.get(account_id=a).id == a
        finally:
            server.stop()
    finally:
        drop_database(db_url)
