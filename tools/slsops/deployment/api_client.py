"""Calls to the log API the way a client does: assume a client role, then SigV4-signed HTTP.

Used by ``slsops verify`` (end-to-end smoke test), ``slsops roles`` (access matrix),
``slsops local seed`` and the tests. The same code serves AWS and the local stack: STS is
reached on the stack's endpoint, and requests go to the stack's ``api_url``.

Every request is signed anew (a fresh ``AWS4Auth`` per request, so the signature date is the
request's own), uses bounded timeouts and the client's own ``requests.Session`` (one client per
thread; sessions are not shared across threads). ``LogApiClient(stack, None)`` sends unsigned
requests; ``signing`` selects the deliberately broken signatures the access matrix needs.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError
from requests_aws4auth import AWS4Auth

from slsops.contract import ROLE_NAMES
from slsops.contract.numbers import STALE_SIGNATURE_AGE
from slsops.deployment.stack import Stack
from slsops.errors import SlsopsError, UsageError

# (connect, read) seconds: a hung endpoint must not hang a check.
DEFAULT_TIMEOUT = (3.05, 15.0)

_USE_STACK_EXTERNAL_ID = object()


class RoleAssumptionError(SlsopsError):
    """sts:AssumeRole was refused (``code`` is AWS's error code, e.g. ``AccessDenied``)."""

    def __init__(self, role: str, code: str, message: str) -> None:
        super().__init__(f"cannot assume the {role} role: {code}: {message}")
        self.role = role
        self.code = code


@dataclass(frozen=True)
class RoleCredentials:
    """Temporary credentials from sts:AssumeRole (botocore ``Credentials``-like attributes)."""

    access_key: str
    secret_key: str
    token: str | None
    expiration: datetime | None = None
    assumed_role_arn: str | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"RoleCredentials(assumed_role_arn={self.assumed_role_arn!r})"


def role_arn(stack: Stack, role: str) -> str:
    return str(_role_entry(stack, role)["arn"])


def role_external_id(stack: Stack, role: str) -> str | None:
    value = _role_entry(stack, role).get("external_id")
    return None if value in (None, "") else str(value)


def _role_entry(stack: Stack, role: str) -> dict[str, Any]:
    if role not in ROLE_NAMES:
        raise UsageError(f"unknown role {role!r}; choose one of {', '.join(ROLE_NAMES)}")
    roles = stack["roles"] or {}
    if role not in roles:
        raise UsageError(f"stack file {stack.path} has no role {role!r} in output 'roles'")
    return roles[role]


def assume_role(
    stack: Stack,
    role: str,
    external_id: Any = _USE_STACK_EXTERNAL_ID,
    session_name: str | None = None,
    duration_seconds: int = 900,
    sts_client: Any = None,
) -> RoleCredentials:
    """Assume the client role ``role`` (ingest, read, full) as the operator.

    ``external_id`` defaults to the stack's; pass ``None`` to send none, or any string to send
    that one. Raises :class:`RoleAssumptionError` when STS refuses.
    """
    if external_id is _USE_STACK_EXTERNAL_ID:
        external_id = role_external_id(stack, role)
    params: dict[str, Any] = {
        "RoleArn": role_arn(stack, role),
        "RoleSessionName": session_name or f"slsops-{role}-{uuid.uuid4().hex[:8]}",
        "DurationSeconds": duration_seconds,
    }
    if external_id is not None:
        params["ExternalId"] = external_id
    sts = sts_client or stack.client("sts")
    try:
        answer = sts.assume_role(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise RoleAssumptionError(
            role, error.get("Code", "ClientError"), error.get("Message", str(exc))
        ) from None
    except BotoCoreError as exc:
        raise RoleAssumptionError(role, type(exc).__name__, str(exc)) from None
    creds = answer["Credentials"]
    return RoleCredentials(
        access_key=creds["AccessKeyId"],
        secret_key=creds["SecretAccessKey"],
        token=creds.get("SessionToken"),
        expiration=creds.get("Expiration"),
        assumed_role_arn=answer.get("AssumedRoleUser", {}).get("Arn"),
    )


class Signing(StrEnum):
    """How a request is signed: properly, or broken in one way on purpose."""

    VALID = "valid"
    # Signature computed correctly but with an x-amz-date beyond the 5-minute window.
    STALE = "stale"
    # A correct signature with one hex digit changed.
    TAMPERED = "tampered"


class _SigV4(requests.auth.AuthBase):
    """SigV4 for execute-api, computed per request (fresh key, the request's own date)."""

    def __init__(self, credentials: Any, region: str, signing: Signing) -> None:
        self.credentials = credentials
        self.region = region
        self.signing = signing

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.signing is Signing.STALE:
            then = datetime.now(UTC) - STALE_SIGNATURE_AGE
            request.headers["x-amz-date"] = then.strftime("%Y%m%dT%H%M%SZ")
        auth = AWS4Auth(
            self.credentials.access_key,
            self.credentials.secret_key,
            self.region,
            "execute-api",
            session_token=getattr(self.credentials, "token", None),
        )
        request = auth(request)
        if self.signing is Signing.TAMPERED:
            request.headers["Authorization"] = _flip_last_signature_digit(
                request.headers["Authorization"]
            )
        return request


def _flip_last_signature_digit(authorization: str) -> str:
    match = re.search(r"Signature=([0-9a-f]+)$", authorization)
    if not match:
        return authorization + "0"
    sig = match.group(1)
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    return authorization[: match.start(1)] + flipped


class LogApiClient:
    """HTTP client of the log API for one set of credentials (None: unsigned requests)."""

    def __init__(
        self,
        stack: Stack,
        credentials: Any | None,
        *,
        signing: Signing = Signing.VALID,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = stack.api_url
        self.region = stack.region
        self.timeout = timeout
        self.auth = None if credentials is None else _SigV4(credentials, stack.region, signing)
        self.http = requests.Session()

    @classmethod
    def unsigned(cls, stack: Stack, **options: Any) -> LogApiClient:
        """A client that sends no signature at all (API Gateway must answer 403)."""
        return cls(stack, None, **options)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LogApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | list[Any] | bytes | str | None = None,
    ) -> requests.Response:
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if body is not None:
            if isinstance(body, bytes | str):
                data = body.encode("utf-8") if isinstance(body, str) else body
            else:
                data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        return self.http.request(
            method,
            f"{self.base_url}/{path.lstrip('/')}",
            params=params,
            data=data,
            headers=headers,
            auth=self.auth,
            timeout=self.timeout,
        )

    def post_logs(self, body: dict[str, Any] | list[Any] | bytes | str) -> requests.Response:
        """POST /logs with one entry, ``{"logs": [...]}`` or raw bytes."""
        return self.request("POST", "/logs", body=body)

    def get_recent(self, **params: Any) -> requests.Response:
        """GET /logs/recent with query parameters (None values are left out)."""
        query = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", "/logs/recent", params=query)


def foreign_credentials() -> RoleCredentials:
    """Credentials no account knows: an unknown access key (the API must answer 403)."""
    return RoleCredentials(
        access_key="AKIA" + uuid.uuid4().hex[:16].upper(),
        secret_key=uuid.uuid4().hex + uuid.uuid4().hex[:8],
        token=None,
    )
