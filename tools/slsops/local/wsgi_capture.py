"""WSGI plumbing the gap middlewares share: read a body moto reads again, hold moto's answer.

A gap often needs the request body before moto and moto's answer before the client: the body
is read once and put back (``read_body``; parsed once for all gaps: ``json_body``), and moto
is called with a ``start_response`` that captures instead of sending (``call``), so the
answer can be amended (``respond``). A gap that
reads moto's backends directly needs the account and region moto will use for the request
(``moto_account_and_region``).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_PARSED = "slsops.json_body"  # the environ key json_body keeps its parse under


def read_body(environ: dict[str, Any], limit: int | None = None) -> bytes:
    """Read the request body (at most ``limit`` bytes) and put it back for the next reader.

    A ``Content-Length`` that is missing, not a number or negative reads nothing: moto then
    answers the malformed request itself.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None:
        length = min(length, limit)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def json_body(environ: dict[str, Any]) -> Any:
    """The request body parsed as JSON, once per request however many gaps ask (a few ask
    of every DynamoDB write); None when it is not JSON, which moto answers itself. The gaps
    share the parsed object: they read it, never change it."""
    if _PARSED not in environ:
        try:
            environ[_PARSED] = json.loads(read_body(environ) or b"{}")
        except ValueError:
            environ[_PARSED] = None
    return environ[_PARSED]


def with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A copy of ``environ`` carrying another body (without the first body's parse)."""
    copy = {name: value for name, value in environ.items() if name != _PARSED}
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    return copy


def call(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run ``app`` and hold its answer back: (status line, headers, body)."""
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, list(headers)
        return lambda _data: None

    chunks = app(environ, capture)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return captured.get("status", "500 INTERNAL SERVER ERROR"), captured.get("headers", []), body


def respond(
    start_response: Callable[..., Any], status: str, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    """Send an answer, its ``Content-Length`` set to the body actually sent."""
    kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
    start_response(status, [*kept, ("Content-Length", str(len(body)))])
    return [body]


def moto_account_and_region(environ: dict[str, Any]) -> tuple[str, str]:
    """The account and region moto will use for this request (moto's own rules)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region = match.group(2) if match else "us-east-1"
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"], region
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"], region
    account = get_account_id_from(match.group(1)) if match else DEFAULT_ACCOUNT_ID
    return account, region
