"""Gap: moto's sts:AssumeRole ignores role trust policies; this middleware enforces them.

On AWS, AssumeRole succeeds only when the caller's signature is valid and the role's trust
policy admits the caller (with its conditions, such as ``sts:ExternalId``), combined with the
caller's identity policies as ``slsops.iam.evaluator.trust_allows`` describes. Moto 5.2.5 hands
out credentials for any role (even one that does not exist) to any caller, so the checks that
external ids and trusted principals are enforced could never fail locally.

This WSGI middleware sees every request before moto. For ``Action=AssumeRole`` it verifies the
SigV4 signature (service ``sts``, any region), resolves the caller from its access key in moto's
IAM/STS backends, loads the role's trust policy and evaluates it. A refusal is answered with
STS's XML error (``AccessDenied``, ``InvalidClientTokenId``, ``SignatureDoesNotMatch``...) so
boto3 raises the same ``ClientError`` as on AWS; anything else goes to moto unchanged.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

from moto.iam.models import iam_backends

from slsops.iam.evaluator import PolicyError, trust_allows
from slsops.local import sigv4

_STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
# API Gateway's error types (sigv4) -> STS's error codes for the same failure.
_STS_CODES = {
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "UnrecognizedClientException": "InvalidClientTokenId",
    "ExpiredTokenException": "ExpiredToken",
}
_STS_MESSAGES = {"MissingAuthenticationToken": "Request is missing Authentication Token"}


def sts_error(
    code: str, message: str, status: int = 403
) -> tuple[str, list[tuple[str, str]], bytes]:
    """STS's query-protocol error document (what botocore parses into a ClientError)."""
    body = (
        f'<ErrorResponse xmlns="{_STS_XMLNS}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    status_line = f"{status} {'Forbidden' if status == 403 else 'Bad Request'}"
    headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
    return status_line, headers, body


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the form body and put it back, so moto reads the same bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers.append((key.replace("_", "-").lower(), environ[key]))
    return headers


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(environ.get("PATH_INFO", "/"), safe="/~!$&'()*+,;=:@%")


def _find_role(role_arn: str) -> Any | None:
    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam":
        return None
    by_partition = dict.get(iam_backends, parts[4])  # never creates an account
    backend = dict.get(by_partition, parts[1]) if by_partition else None
    if backend is None:
        return None
    return next((r for r in list(backend.roles.values()) if r.arn == role_arn), None)


def check_assume_role(
    params: dict[str, str],
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    now: Callable[[], datetime] | None = None,
) -> tuple[str, str] | None:
    """None when AWS would let this AssumeRole through; else (STS error code, message)."""
    auth = sigv4.authenticate(
        method, raw_path, raw_query, list(headers), body, region=None, service="sts", now=now
    )
    if not auth.ok:
        code = _STS_CODES.get(auth.error_type, "AccessDenied")
        return code, _STS_MESSAGES.get(code, auth.message)
    principal = auth.principal
    assert principal is not None  # noqa: S101 - authenticate returns it whenever ok
    role_arn = params.get("RoleArn", "")
    denied = (
        "AccessDenied",
        f"User: {principal.arn} is not authorized to perform: sts:AssumeRole on resource: "
        f"{role_arn}",
    )
    role = _find_role(role_arn)
    if role is None:
        return denied  # AWS answers AccessDenied for a role that does not exist, too
    context = principal.request_context()
    for key, param in (
        ("sts:ExternalId", "ExternalId"),
        ("sts:RoleSessionName", "RoleSessionName"),
        ("sts:DurationSeconds", "DurationSeconds"),
    ):
        if params.get(param):
            context[key] = params[param]
    try:
        decision = trust_allows(
            role.assume_role_policy_document,
            principal.arn,
            principal.account_id,
            context,
            principal.policies,
            role.arn,
        )
    except PolicyError:
        return denied
    return None if decision.allowed else denied


def wrap(app: Any, now: Callable[[], datetime] | None = None) -> Any:
    """Enforce role trust policies on sts:AssumeRole in front of moto's WSGI ``app``."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        raw_query = environ.get("QUERY_STRING", "")
        content_type = environ.get("CONTENT_TYPE", "")
        body = (
            _read_body(environ)
            if content_type.startswith("application/x-www-form-urlencoded")
            else b""
        )
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if params.get("Action") != "AssumeRole":
            return app(environ, start_response)
        refusal = check_assume_role(
            params, method, _raw_path(environ), raw_query, _headers(environ), body, now
        )
        if refusal is None:
            return app(environ, start_response)
        status, headers, payload = sts_error(*refusal)
        start_response(status, headers)
        return [payload]

    return middleware
