"""Verify an incoming SigV4-signed request the way API Gateway (AWS_IAM) does, with its answers.

The signature may come in the ``Authorization`` header or, for a presigned URL, in the query
string (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders``, ``X-Amz-Signature``, optionally ``X-Amz-Security-Token``).

The canonical request, string to sign and signing key are botocore's own (``SigV4Auth``), fed
with what was received: the raw path (botocore's ``normalize_url_path``, then encoded once
more, as every service but S3 signs it), the decoded query pairs (without ``X-Amz-Signature``),
only the headers named in ``SignedHeaders``, and the SHA-256 of the body as received: an
``x-amz-content-sha256`` header that differs from the body is a mismatch, so a tampered body is
caught even when the header was left intact.

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
from typing import Any
from urllib.parse import parse_qsl, quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

from slsops.local import identity
from slsops.local.identity import Principal

ALGORITHM = "AWS4-HMAC-SHA256"
ALLOWED_SKEW = timedelta(minutes=5)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_PRESIGNED_EXPIRES = 604800  # seven days, SigV4's ceiling for X-Amz-Expires

MISSING_TOKEN = "Missing Authentication Token"  # noqa: S105 - a message, not a secret
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105  a message
EXPIRED_TOKEN = "The security token included in the request is expired"  # noqa: S105  a message
INCOMPLETE_QUERY = (
    "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
    "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. "
    "Re-examine the query-string parameters."
)
_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date")
_QUERY_AUTH += ("X-Amz-SignedHeaders", "X-Amz-Expires")

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
    """The canonical path of every service but S3: botocore's normalisation, encoded once more."""
    return quote(normalize_url_path(raw_path), safe="/~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The canonical query string, as botocore builds it from decoded pairs."""
    return SigV4Auth(None, "", "").canonical_query_string(
        _received_request("GET", "/", list(pairs), b"")
    )


def _header_lists(headers: Headers) -> dict[str, list[str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    collected: dict[str, list[str]] = {}
    for name, value in items:
        collected.setdefault(name.strip().lower(), []).append(str(value))
    return collected


def _received_request(
    method: str, raw_path: str, pairs: list[tuple[str, str]], body: bytes
) -> AWSRequest:
    """The received request in botocore's shape (plain http: the body is always hashed)."""
    request = AWSRequest(method=method.upper(), url=f"http://localhost{raw_path}", data=body)
    request.params = pairs
    return request


class _ReceivedSigner(SigV4Auth):
    """botocore's SigV4 signer, limited to the headers the client named in ``SignedHeaders``."""

    def __init__(
        self, principal: Principal, claim: _Claim, received: Mapping[str, list[str]]
    ) -> None:
        credentials = Credentials(
            principal.access_key_id, principal.secret_access_key, principal.session_token
        )
        super().__init__(credentials, claim.service, claim.region)
        self._signed = claim.signed_headers
        self._received = received

    def headers_to_sign(self, request: Any) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self._signed:
            for value in self._received.get(name, []):
                chosen[name] = value
        return chosen


# --------------------------------------------------------------------------- the claim


@dataclass(frozen=True)
class _Claim:
    """What the client claims: who signed, for which scope and time, over which headers."""

    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: list[str]
    signature: str
    moment: datetime
    amz_date: str
    session_token: str | None
    expires: int | None  # presigned URLs only


def _scope(credential: str) -> list[str] | AuthResult:
    parts = credential.split("/")
    if len(parts) != 5:
        return _refuse(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential}'",
        )
    return parts


def _signed_names(value: str) -> list[str]:
    return [name.strip().lower() for name in value.split(";") if name.strip()]


def _header_claim(received: Mapping[str, list[str]]) -> _Claim | AuthResult:
    algorithm, _, rest = received["authorization"][0].strip().partition(" ")
    signing_time = _request_time(received)
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
    if signing_time is None:
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
    scope = _scope(fields["Credential"])
    if isinstance(scope, AuthResult):
        return scope
    assert signing_time is not None  # noqa: S101 - refused above otherwise
    token = (received.get("x-amz-security-token") or [None])[0]
    return _Claim(
        *scope,
        _signed_names(fields["SignedHeaders"]),
        fields["Signature"],
        *signing_time,
        token,
        None,
    )


def _query_claim(params: Mapping[str, str]) -> _Claim | AuthResult:
    if any(not params.get(name) for name in _QUERY_AUTH):
        return _refuse("IncompleteSignatureException", INCOMPLETE_QUERY)
    if params["X-Amz-Algorithm"] != ALGORITHM:
        return _refuse(
            "IncompleteSignatureException",
            f"Unsupported AWS 'algorithm': '{params['X-Amz-Algorithm']}'. "
            f"Supported: '{ALGORITHM}'.",
        )
    amz_date = params["X-Amz-Date"]
    try:
        moment = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        return _refuse("IncompleteSignatureException", INCOMPLETE_QUERY)
    if not 0 <= expires <= MAX_PRESIGNED_EXPIRES:
        return _refuse(
            "AuthorizationQueryParametersError",
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}",
            status=400,
        )
    scope = _scope(params["X-Amz-Credential"])
    if isinstance(scope, AuthResult):
        return scope
    return _Claim(
        *scope,
        _signed_names(params["X-Amz-SignedHeaders"]),
        params["X-Amz-Signature"],
        moment,
        amz_date,
        params.get("X-Amz-Security-Token"),
        expires,
    )


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


def _scope_refusal(claim: _Claim, region: str | None, service: str) -> AuthResult | None:
    if "host" not in claim.signed_headers:
        return _refuse(
            "IncompleteSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    if claim.date != claim.amz_date[:8]:
        return _refuse(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            f"HTTP: '{claim.date}' != '{claim.amz_date[:8]}', from '{claim.amz_date}'.",
        )
    if region is not None and claim.region != region:
        return _refuse(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{claim.region}'. ",
        )
    if claim.service != service:
        return _refuse(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'. ",
        )
    if claim.terminator != "aws4_request":
        return _refuse(
            "InvalidSignatureException",
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{claim.terminator}'. ",
        )
    return None


def _time_refusal(claim: _Claim, current: datetime) -> AuthResult | None:
    """Header signatures live 5 minutes either way; presigned URLs until X-Amz-Expires."""
    if claim.moment > current + ALLOWED_SKEW:
        return _refuse(
            "InvalidSignatureException",
            f"Signature not yet current: {claim.amz_date} is still later than "
            f"{_stamp(current + ALLOWED_SKEW)} ({_stamp(current)} + 5 min.)",
        )
    if claim.expires is not None:
        if current > claim.moment + timedelta(seconds=claim.expires):
            return _refuse(
                "InvalidSignatureException",
                f"Signature expired: {claim.amz_date} is now earlier than {_stamp(current)} "
                f"({claim.amz_date} + {claim.expires} sec.)",
            )
        return None
    if claim.moment < current - ALLOWED_SKEW:
        return _refuse(
            "InvalidSignatureException",
            f"Signature expired: {claim.amz_date} is now earlier than "
            f"{_stamp(current - ALLOWED_SKEW)} ({_stamp(current)} - 5 min.)",
        )
    return None


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
    pairs = parse_query(query_pairs) if isinstance(query_pairs, str) else list(query_pairs)
    if (received.get("authorization") or [""])[0].strip():
        claim = _header_claim(received)
    elif any(name == "X-Amz-Algorithm" for name, _ in pairs):
        claim = _query_claim(dict(pairs))
        pairs = [(name, value) for name, value in pairs if name != "X-Amz-Signature"]
    else:
        return _refuse("MissingAuthenticationTokenException", MISSING_TOKEN)
    if isinstance(claim, AuthResult):
        return claim
    refusal = _scope_refusal(claim, region, service) or _time_refusal(claim, _current_time(now))
    if refusal is not None:
        return refusal

    current = _current_time(now)
    principal = (lookup_key or identity.resolve)(claim.access_key_id)
    if principal is None or claim.session_token != principal.session_token:
        return _refuse("UnrecognizedClientException", INVALID_TOKEN)
    if principal.expiration is not None and current >= principal.expiration:
        return _refuse("ExpiredTokenException", EXPIRED_TOKEN)

    raw_body = body.encode() if isinstance(body, str) else (body or b"")
    request = _received_request(method, path or "/", pairs, raw_body)
    request.context["timestamp"] = claim.amz_date
    signer = _ReceivedSigner(principal, claim, received)
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), claim.signature.encode("utf-8", "replace")):
        detail = (
            f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
            f"The String-to-Sign should have been\n'{string_to_sign}'\n"
        )
        return _refuse("InvalidSignatureException", SIGNATURE_MISMATCH, detail=detail)
    return AuthResult(True, 200, "", principal)
