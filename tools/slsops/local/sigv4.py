"""Verify an incoming SigV4-signed request the way API Gateway (AWS_IAM) does, with its answers.

The canonical request is rebuilt from what was received: the method; the raw (still
percent-encoded) path with dot segments and repeated slashes removed and then URI-encoded once
more, as botocore and requests-aws4auth sign it for every service but S3; the query decoded and
re-encoded per RFC 3986 (``-_.~`` unreserved, space as ``%20``), sorted by name then value,
empty values kept as ``name=``; the headers named in ``SignedHeaders`` (values trimmed, inner
runs of spaces collapsed, repeated headers joined with ``,``); and the SHA-256 of the body as
received (an ``x-amz-content-sha256`` header that differs from the body is a mismatch, so a
tampered body is caught even when the header was left intact).

Each failure gives API Gateway's status, ``x-amzn-ErrorType`` and message; ``now`` is injectable
so expiry and clock skew can be tested.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote

from slsops.local import identity
from slsops.local.identity import Principal

ALGORITHM = "AWS4-HMAC-SHA256"
ALLOWED_SKEW = timedelta(minutes=5)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

MISSING_TOKEN = "Missing Authentication Token"  # noqa: S105 - a message, not a secret
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105  a message
EXPIRED_TOKEN = "The security token included in the request is expired"  # noqa: S105  a message

KeyLookup = Callable[[str], Principal | None]
Clock = Callable[[], datetime]
Headers = Mapping[str, str] | Iterable[tuple[str, str]]
Query = str | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class AuthResult:
    """Authenticated (``ok`` with the principal) or API Gateway's refusal (status, type, message).

    ``detail`` carries the canonical request and string to sign on a mismatch, for logs only.
    """

    ok: bool
    status: int = 200
    message: str = ""
    principal: Principal | None = None
    error_type: str = ""
    detail: str = ""

    def body(self) -> bytes:
        """API Gateway's JSON error body."""
        return json.dumps({"message": self.message}).encode()


def _refuse(error_type: str, message: str, status: int = 403, detail: str = "") -> AuthResult:
    return AuthResult(False, status, message, None, error_type, detail)


def not_authorized(
    principal_arn: str, action: str, resource_arn: str, explicit: bool = False
) -> AuthResult:
    """API Gateway's 403 when the signature is fine but no policy allows the call."""
    message = (
        f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource_arn}"
    )
    if explicit:
        message += " with an explicit deny"
    return _refuse("AccessDeniedException", message)


# --------------------------------------------------------------------------- canonical parts


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw query string into pairs, keeping blanks and repeats (``+`` is a space)."""
    return parse_qsl(raw_query, keep_blank_values=True)


def canonical_uri(raw_path: str) -> str:
    """botocore's canonical path: remove ``.``/``..`` and empty segments, then encode once more."""
    if not raw_path:
        return "/"
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    path = ("/" if raw_path.startswith("/") else "") + "/".join(segments)
    if raw_path.endswith("/") and segments:
        path += "/"
    return quote(path or "/", safe="/~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{key}={value}" for key, value in encoded)


def _header_lists(headers: Headers) -> dict[str, list[str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    collected: dict[str, list[str]] = {}
    for name, value in items:
        collected.setdefault(name.strip().lower(), []).append(str(value))
    return collected


def canonical_headers(received: Mapping[str, list[str]], signed: list[str]) -> str:
    lines = []
    for name in signed:
        values = received.get(name, [])
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
    return "".join(lines)


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


# --------------------------------------------------------------------------- the header


@dataclass(frozen=True)
class _Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: list[str]
    signature: str


def _parse_authorization(value: str, has_date: bool) -> _Authorization | AuthResult:
    algorithm, _, rest = value.strip().partition(" ")
    fields: dict[str, str] = {}
    for component in (part.strip() for part in rest.split(",")):
        if not component:
            continue
        if "=" not in component:
            digest = base64.b64encode(hashlib.sha256(component.encode()).digest()).decode()
            return _refuse(
                "IncompleteSignatureException",
                "Invalid key=value pair (missing equal-sign) in Authorization header "
                f"(hashed with SHA-256 and encoded with Base64): '{digest}'.",
            )
        key, _, item = component.partition("=")
        fields[key.strip()] = item.strip()
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if not has_date:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        return _refuse("IncompleteSignatureException", " ".join(missing))
    if algorithm != ALGORITHM:
        return _refuse(
            "IncompleteSignatureException",
            f"Unsupported AWS 'algorithm': '{algorithm}'. Supported: '{ALGORITHM}'.",
        )
    credential = fields["Credential"].split("/")
    if len(credential) != 5:
        return _refuse(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{fields['Credential']}'",
        )
    signed = [name.strip().lower() for name in fields["SignedHeaders"].split(";") if name]
    return _Authorization(*credential, signed, fields["Signature"])


def _request_time(headers: Mapping[str, list[str]]) -> tuple[datetime, str] | None:
    """The signing time from X-Amz-Date (ISO 8601 basic) or else Date (RFC 1123)."""
    if headers.get("x-amz-date"):
        text = headers["x-amz-date"][0].strip()
        try:
            moment = datetime.strptime(text, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return None
        return moment, text
    if headers.get("date"):
        try:
            moment = parsedate_to_datetime(headers["date"][0])
        except (TypeError, ValueError):
            return None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment, moment.astimezone(UTC).strftime(AMZ_DATE_FORMAT)
    return None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(AMZ_DATE_FORMAT)


# --------------------------------------------------------------------------- the verifier


def _current_time(now: Clock | datetime | float | None) -> datetime:
    """A callable, a datetime or epoch seconds: tests and the emulator inject the clock."""
    if callable(now):
        now = now()
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, int | float):
        return datetime.fromtimestamp(now, tz=UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def authenticate(
    method: str,
    path: str,
    query_pairs: Query,
    headers: Headers,
    body: bytes | str | None,
    region: str | None,
    service: str = "execute-api",
    lookup_key: KeyLookup | None = None,
    now: Clock | datetime | float | None = None,
) -> AuthResult:
    """Verify one request; ``ok`` carries the principal, otherwise API Gateway's 403.

    ``path`` is the raw request path as sent (percent-encoded, without the query); the query is
    given as decoded pairs or as the raw query string. ``region`` None accepts any region in the
    credential scope (STS). ``lookup_key`` resolves an access key id (default: the embedded
    AWS via ``slsops.local.identity.resolve``); ``now`` is the clock: a callable returning a
    datetime, a datetime, or epoch seconds (default: the system clock).
    """
    received = _header_lists(headers)
    authorization = (received.get("authorization") or [""])[0]
    if not authorization.strip():
        return _refuse("MissingAuthenticationTokenException", MISSING_TOKEN)
    signing_time = _request_time(received)
    parsed = _parse_authorization(authorization, signing_time is not None)
    if isinstance(parsed, AuthResult):
        return parsed
    assert signing_time is not None  # noqa: S101 - _parse_authorization refused otherwise
    moment, amz_date = signing_time

    if "host" not in parsed.signed_headers:
        return _refuse(
            "IncompleteSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    if parsed.date != amz_date[:8]:
        return _refuse(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            f"HTTP: '{parsed.date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    if region is not None and parsed.region != region:
        return _refuse(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{parsed.region}'. ",
        )
    if parsed.service != service:
        return _refuse(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'. ",
        )
    if parsed.terminator != "aws4_request":
        return _refuse(
            "InvalidSignatureException",
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{parsed.terminator}'. ",
        )

    current = _current_time(now)
    if moment < current - ALLOWED_SKEW:
        return _refuse(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than "
            f"{_stamp(current - ALLOWED_SKEW)} ({_stamp(current)} - 5 min.)",
        )
    if moment > current + ALLOWED_SKEW:
        return _refuse(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than "
            f"{_stamp(current + ALLOWED_SKEW)} ({_stamp(current)} + 5 min.)",
        )

    principal = (lookup_key or identity.resolve)(parsed.access_key_id)
    if principal is None:
        return _refuse("UnrecognizedClientException", INVALID_TOKEN)
    token = (received.get("x-amz-security-token") or [None])[0]
    if token != principal.session_token:
        return _refuse("UnrecognizedClientException", INVALID_TOKEN)
    if principal.expiration is not None and current >= principal.expiration:
        return _refuse("ExpiredTokenException", EXPIRED_TOKEN)

    raw_body = body.encode() if isinstance(body, str) else (body or b"")
    pairs = parse_query(query_pairs) if isinstance(query_pairs, str) else list(query_pairs)
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(pairs),
            canonical_headers(received, parsed.signed_headers),
            ";".join(parsed.signed_headers),
            hashlib.sha256(raw_body).hexdigest(),
        ]
    )
    scope = f"{parsed.date}/{parsed.region}/{parsed.service}/{parsed.terminator}"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = signing_key(principal.secret_access_key, parsed.date, parsed.region, parsed.service)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parsed.signature):
        detail = (
            f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
            f"The String-to-Sign should have been\n'{string_to_sign}'\n"
        )
        return _refuse("InvalidSignatureException", SIGNATURE_MISMATCH, detail=detail)
    return AuthResult(True, 200, "", principal)
