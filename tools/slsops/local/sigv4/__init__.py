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

The parts, in the order a request meets them: ``claim`` (read what the client claims),
``claim_checks`` (its scope and time), ``canonical`` (the request rebuilt in botocore's terms)
and ``refusals`` (API Gateway's answers). This module puts them together.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from slsops.local import identity
from slsops.local.identity import Principal
from slsops.local.sigv4.canonical import (
    Headers,
    ReceivedSigner,
    header_lists,
    parse_query,
    received_request,
)
from slsops.local.sigv4.claim import header_claim, query_claim
from slsops.local.sigv4.claim_checks import scope_refusal, time_refusal
from slsops.local.sigv4.refusals import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    MISSING_TOKEN,
    SIGNATURE_MISMATCH,
    AuthResult,
    not_authorized,
    refuse,
)

__all__ = ["AuthResult", "authenticate", "not_authorized"]

KeyLookup = Callable[[str], Principal | None]
Clock = Callable[[], datetime]
Query = str | Iterable[tuple[str, str]]


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
    received = header_lists(headers)
    pairs = parse_query(query_pairs) if isinstance(query_pairs, str) else list(query_pairs)
    if (received.get("authorization") or [""])[0].strip():
        claim = header_claim(received)
    elif any(name == "X-Amz-Algorithm" for name, _ in pairs):
        claim = query_claim(dict(pairs))
        pairs = [(name, value) for name, value in pairs if name != "X-Amz-Signature"]
    else:
        return refuse("MissingAuthenticationTokenException", MISSING_TOKEN)
    if isinstance(claim, AuthResult):
        return claim
    refusal = scope_refusal(claim, region, service) or time_refusal(claim, _current_time(now))
    if refusal is not None:
        return refusal

    current = _current_time(now)
    principal = (lookup_key or identity.resolve)(claim.access_key_id)
    if principal is None or claim.session_token != principal.session_token:
        return refuse("UnrecognizedClientException", INVALID_TOKEN)
    if principal.expiration is not None and current >= principal.expiration:
        return refuse("ExpiredTokenException", EXPIRED_TOKEN)

    raw_body = body.encode() if isinstance(body, str) else (body or b"")
    request = received_request(method, path or "/", pairs, raw_body)
    request.context["timestamp"] = claim.amz_date
    signer = ReceivedSigner(principal, claim, received)
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), claim.signature.encode("utf-8", "replace")):
        detail = (
            f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
            f"The String-to-Sign should have been\n'{string_to_sign}'\n"
        )
        return refuse("InvalidSignatureException", SIGNATURE_MISMATCH, detail=detail)
    return AuthResult(True, 200, "", principal)
