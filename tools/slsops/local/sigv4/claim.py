"""What the client claims: who signed, for which scope and time, over which headers.

The claim comes from the ``Authorization`` header or, for a presigned URL, from the query
string; a claim that cannot even be read is refused here with API Gateway's message.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from slsops.local.sigv4.refusals import INCOMPLETE_QUERY, AuthResult, refuse

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_PRESIGNED_EXPIRES = 604800  # seven days, SigV4's ceiling for X-Amz-Expires
QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date")
QUERY_AUTH += ("X-Amz-SignedHeaders", "X-Amz-Expires")


@dataclass(frozen=True)
class Claim:
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


def credential_scope(credential: str) -> list[str] | AuthResult:
    parts = credential.split("/")
    if len(parts) != 5:
        return refuse(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential}'",
        )
    return parts


def signed_names(value: str) -> list[str]:
    return [name.strip().lower() for name in value.split(";") if name.strip()]


def header_claim(received: Mapping[str, list[str]]) -> Claim | AuthResult:
    algorithm, _, rest = received["authorization"][0].strip().partition(" ")
    signing_time = request_time(received)
    fields: dict[str, str] = {}
    for component in (part.strip() for part in rest.split(",")):
        if not component:
            continue
        if "=" not in component:
            digest = base64.b64encode(hashlib.sha256(component.encode()).digest()).decode()
            return refuse(
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
        return refuse("IncompleteSignatureException", " ".join(missing))
    if algorithm != ALGORITHM:
        return refuse(
            "IncompleteSignatureException",
            f"Unsupported AWS 'algorithm': '{algorithm}'. Supported: '{ALGORITHM}'.",
        )
    scope = credential_scope(fields["Credential"])
    if isinstance(scope, AuthResult):
        return scope
    assert signing_time is not None  # noqa: S101 - refused above otherwise
    token = (received.get("x-amz-security-token") or [None])[0]
    return Claim(
        *scope,
        signed_names(fields["SignedHeaders"]),
        fields["Signature"],
        *signing_time,
        token,
        None,
    )


def query_claim(params: Mapping[str, str]) -> Claim | AuthResult:
    if any(not params.get(name) for name in QUERY_AUTH):
        return refuse("IncompleteSignatureException", INCOMPLETE_QUERY)
    if params["X-Amz-Algorithm"] != ALGORITHM:
        return refuse(
            "IncompleteSignatureException",
            f"Unsupported AWS 'algorithm': '{params['X-Amz-Algorithm']}'. "
            f"Supported: '{ALGORITHM}'.",
        )
    amz_date = params["X-Amz-Date"]
    try:
        moment = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        return refuse("IncompleteSignatureException", INCOMPLETE_QUERY)
    if not 0 <= expires <= MAX_PRESIGNED_EXPIRES:
        return refuse(
            "AuthorizationQueryParametersError",
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}",
            status=400,
        )
    scope = credential_scope(params["X-Amz-Credential"])
    if isinstance(scope, AuthResult):
        return scope
    return Claim(
        *scope,
        signed_names(params["X-Amz-SignedHeaders"]),
        params["X-Amz-Signature"],
        moment,
        amz_date,
        params.get("X-Amz-Security-Token"),
        expires,
    )


def request_time(headers: Mapping[str, list[str]]) -> tuple[datetime, str] | None:
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
