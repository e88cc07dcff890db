"""Schemathesis hooks for Portcullis: one custom check, `cloudflare_envelope`.

Every response under /client/v4 (and /healthz, /readyz) must be a Cloudflare v4 envelope:
`application/json`, an object with `success` (bool), `errors` (array), `messages` (array) and a
`result` key. A 2xx answer has `success: true`; any other status has `success: false` and at least
one error, each with an integer `code` and a string `message`. The documented success schema is
checked separately by schemathesis's own `response_schema_conformance`.
"""

from __future__ import annotations

import json

import schemathesis


def _header(response, name: str) -> str:
    value = response.headers.get(name) or [""]
    return value[0] if isinstance(value, list) else str(value)


@schemathesis.check
def cloudflare_envelope(ctx, response, case):
    status = response.status_code
    if case.path == "/client/v4/openapi.json" and status == 200:
        return None  # the document itself, documented as such (not an envelope)
    if case.path == "/metrics" and status == 200:
        # Prometheus's text exposition, documented with its own media type (not an envelope).
        if not _header(response, "content-type").startswith("application/openmetrics-text"):
            raise AssertionError("GET /metrics must answer application/openmetrics-text")
        if not response.text.rstrip().endswith("# EOF"):
            raise AssertionError("the OpenMetrics exposition must end with # EOF")
        return None
    content_type = _header(response, "content-type")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise AssertionError(
            f"{status} response is not a Cloudflare envelope: Content-Type {content_type!r} "
            f"(expected application/json), {len(response.content)} body bytes"
        )
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{status} response body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"{status} response body is not a JSON object")
    for key, kind in (("success", bool), ("errors", list), ("messages", list)):
        if not isinstance(body.get(key), kind):
            raise AssertionError(f"envelope key {key!r} is missing or not a {kind.__name__}")
    if "result" not in body:
        raise AssertionError("envelope has no 'result' key")
    if 200 <= status < 300:
        if body["success"] is not True:
            raise AssertionError(f"{status} response has success={body['success']!r}")
        return None
    if body["success"] is not False:
        raise AssertionError(f"{status} response has success={body['success']!r}")
    if not body["errors"]:
        raise AssertionError(f"{status} response has an empty 'errors' array")
    for item in body["errors"]:
        code = item.get("code") if isinstance(item, dict) else None
        message = item.get("message") if isinstance(item, dict) else None
        if type(code) is not int or not isinstance(message, str):
            raise AssertionError(f"{status} response has a malformed error item: {item!r}")
    return None
