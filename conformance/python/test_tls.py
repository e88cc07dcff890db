"""HTTPS without a proxy (`serve --tls-cert FILE --tls-key FILE`, docs/api-decisions.md "TLS"):
the official SDK works over HTTPS against a self-signed certificate it is told to trust; a
certificate replaced on disk is served to new connections within seconds (or at once on
SIGHUP) while an open connection keeps working."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx

from conftest import ServerProcess, bootstrap_db, database_url, drop_database, make_client


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A P-256 certificate for 127.0.0.1 and localhost, valid for a day (the `openssl` CLI)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


def served_fingerprint(addr: str) -> str:
    host, port = addr.rsplit(":", 1)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest()


def fingerprint(cert: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return hashlib.sha256(der).hexdigest()


def test_the_sdk_over_https_and_certificates_reload(tmp_path: Path) -> None:
    first_cert, first_key = self_signed(tmp_path, "first")
    second_cert, second_key = self_signed(tmp_path, "second")
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    live_cert.write_bytes(first_cert.read_bytes())
    live_key.write_bytes(first_key.read_bytes())
    db_url = database_url(tmp_path / "p.db")
    try:
        boot = bootstrap_db(db_url, account_name="Over TLS")
        server = ServerProcess(db_url, tmp_path / "server.log",
                               ["--tls-cert", str(live_cert), "--tls-key", str(live_key)]).start()
        try:
            assert server.scheme == "https" and server.base_url.startswith("https://")
            a = boot["account_id"]

            # Plain HTTP to the TLS port gets no API answer.
            try:
                r = httpx.get(f"http://{server.addr}/healthz", timeout=5)
                assert r.status_code != 200
            except httpx.HTTPError:
                pass
            # An untrusted certificate is refused by the SDK's default verification.
            untrusting = make_client(server.base_url, api_token=boot["api_token"])
            try:
                untrusting.accounts.get(account_id=a)
                raise AssertionError("a self-signed certificate must not be trusted by default")
            except Exception as e:  # cloudflare.APIConnectionError
                assert "Connection" in type(e).__name__, repr(e)

            # Trusting the first certificate: the SDK works over HTTPS, on one kept connection.
            http = httpx.Client(verify=ssl.create_default_context(cafile=str(first_cert)))
            sdk = make_client(server.base_url, api_token=boot["api_token"], http_client=http)
            assert sdk.accounts.get(account_id=a).id == a
            assert served_fingerprint(server.addr) == fingerprint(first_cert)

            # Replace the files: new connections get the second certificate within seconds...
            live_cert.write_bytes(second_cert.read_bytes())
            live_key.write_bytes(second_key.read_bytes())
            deadline = time.monotonic() + 10
            while served_fingerprint(server.addr) != fingerprint(second_cert):
                assert time.monotonic() < deadline, f"not reloaded; log: {server.log()}"
                time.sleep(0.2)
            # ...and the open connection was not dropped.
            assert sdk.accounts.get(account_id=a).id == a

            # SIGHUP reloads (back to the first pair). The files keep their modification times,
            # so the watcher cannot be what notices.
            for live, source in ((live_cert, first_cert), (live_key, first_key)):
                before = live.stat()
                live.write_bytes(source.read_bytes())
                os.utime(live, ns=(before.st_atime_ns, before.st_mtime_ns))
            time.sleep(2.5)
            assert served_fingerprint(server.addr) == fingerprint(second_cert), "unchanged stamps: no reload"
            assert server.proc is not None
            server.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 3
            while served_fingerprint(server.addr) != fingerprint(first_cert):
                assert time.monotonic() < deadline, f"SIGHUP did not reload; log: {server.log()}"
                time.sleep(0.1)
            fresh = make_client(server.base_url, api_token=boot["api_token"],
                                http_client=httpx.Client(verify=ssl.create_default_context(cafile=str(first_cert))))
            assert fresh.accounts.get(account_id=a).id == a
        finally:
            server.stop()
    finally:
        drop_database(db_url)
