"""SigV4 signing of the load generator's requests with the client roles' credentials.

* Credentials come from assuming the role the request needs (ingest role for POST /logs, read
  role for GET /logs/recent) with that role's external id, through STS on the stack's endpoint
  (the local stack's embedded AWS, or the regional STS of a deployment).
* One set of credentials per role per process, shared by that process's users: a thousand users
  must not mean a thousand AssumeRole calls (STS throttles). botocore's RefreshableCredentials
  re-assumes the role before expiry (advisory 15 min, mandatory 10 min before), under a lock.
* One signer per user. Each request is signed anew, just before it is sent, over the exact bytes
  sent: API Gateway refuses a signature older than 5 minutes and one over different bytes.
* The signing is botocore's SigV4 (not requests-aws4auth: Locust's FastHttpUser is not
  ``requests``): :func:`sign_v4` computes exactly what botocore's SigV4Auth computes (a test
  compares the two byte for byte) without botocore's generic request objects, which cost more
  per request than the rest of the request; bench/bench_generator.py shows both.

No Locust import here: the benchmark and the tests use this module in plain processes.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import SIGNED_HEADERS_BLACKLIST, SIGV4_TIMESTAMP, SigV4Auth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import RefreshableCredentials
from botocore.utils import normalize_url_path

from slsops.contract import ROUTE_CLIENT_ROLES

SERVICE = "execute-api"
# Each route is signed with its own client role (the contract says which).
ROLE_FOR_METHOD = ROUTE_CLIENT_ROLES
SESSION_SECONDS = 3600


def assume_role_fetcher(
    sts_client: Any, role_arn: str, external_id: str, session_name: str
) -> Callable[[], dict[str, str]]:
    """A function that assumes ``role_arn`` and returns botocore's credential metadata."""

    def fetch() -> dict[str, str]:
        answer = sts_client.assume_role(
            RoleArn=role_arn,
            RoleSessionName=session_name,
            ExternalId=external_id,
            DurationSeconds=SESSION_SECONDS,
        )["Credentials"]
        expiry = answer["Expiration"]
        if isinstance(expiry, datetime):
            expiry = expiry.astimezone(UTC).isoformat()
        return {
            "access_key": answer["AccessKeyId"],
            "secret_key": answer["SecretAccessKey"],
            "token": answer["SessionToken"],
            "expiry_time": expiry,
        }

    return fetch


def role_credentials(fetch: Callable[[], dict[str, str]]) -> RefreshableCredentials:
    """Credentials that call ``fetch`` now and again before they expire."""
    return RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )


class RoleCredentialCache:
    """One RefreshableCredentials per role in this process, built on first use."""

    def __init__(self, stack: Any) -> None:
        self._stack = stack
        self._lock = threading.Lock()
        self._by_role: dict[str, RefreshableCredentials] = {}

    def for_role(self, role: str) -> RefreshableCredentials:
        with self._lock:
            if role not in self._by_role:
                roles: Mapping[str, Mapping[str, str]] = self._stack["roles"]
                if role not in roles:
                    raise KeyError(f"stack file has no role {role!r} (roles: {sorted(roles)})")
                fetch = assume_role_fetcher(
                    self._stack.client("sts"),
                    roles[role]["arn"],
                    roles[role]["external_id"],
                    session_name=f"slsops-load-{role}-{os.getpid()}",
                )
                self._by_role[role] = role_credentials(fetch)
            return self._by_role[role]


@lru_cache(maxsize=32)
def _signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    """SigV4's derived key: the same for every request of one day (four HMACs saved each)."""
    key = hmac.new(f"AWS4{secret_key}".encode(), day.encode(), sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), sha256).digest()
    return key


@lru_cache(maxsize=256)
def _url_parts(url_without_query: str) -> tuple[str, str]:
    """(Host header value, canonical URI) of a URL, computed the way botocore does."""
    parts = urlsplit(url_without_query)
    path = quote(normalize_url_path(parts.path), safe="/~")
    return _host_from_url(url_without_query), path


def sign_v4(
    credentials: Any,
    region: str,
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    service: str = SERVICE,
) -> dict[str, str]:
    """SigV4 headers for one request: ``headers`` plus X-Amz-Date, the token, Authorization.

    The same algorithm and canonical form as botocore's SigV4Auth (header selection and
    trimming, path normalisation, query ordering; tests/test_load_run.py checks the output is
    identical), written without botocore's generic request machinery, which costs more than
    the rest of a load-test request (bench/bench_generator.py: ``locust-fast-botocore``).
    """
    base, _, query = url.partition("?")
    host, canonical_uri = _url_parts(base)
    timestamp = now.strftime(SIGV4_TIMESTAMP)
    day = timestamp[:8]
    signed = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    for name in SIGNED_HEADERS_BLACKLIST:
        signed.pop(name, None)
    signed.setdefault("host", host)
    signed["x-amz-date"] = timestamp
    token = credentials.token
    if token:
        signed["x-amz-security-token"] = token
    names = sorted(signed)
    canonical_query = ""
    if query:
        pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
        canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical_request = "\n".join(
        (
            method.upper(),
            canonical_uri,
            canonical_query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            sha256(body).hexdigest(),
        )
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = (
        f"AWS4-HMAC-SHA256\n{timestamp}\n{scope}\n"
        + sha256(canonical_request.encode("utf-8")).hexdigest()
    )
    key = _signing_key(credentials.secret_key, day, region, service)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), sha256).hexdigest()
    out = dict(headers)
    out["X-Amz-Date"] = timestamp
    if token:
        out["X-Amz-Security-Token"] = token
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


def sign_with_botocore(
    credentials: Any,
    region: str,
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime | None = None,
    service: str = SERVICE,
) -> dict[str, str]:
    """The reference: botocore's SigV4Auth on an AWSRequest (``now`` is botocore's clock)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


SIGNERS: dict[str, Callable[..., dict[str, str]]] = {
    "lean": sign_v4,
    "botocore": sign_with_botocore,
}


class RequestSigner:
    """Signs one request at a time for one user (never shared between users)."""

    def __init__(
        self,
        credentials_for_role: Callable[[str], Any],
        region: str,
        implementation: str = "lean",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._credentials_for_role = credentials_for_role
        self._region = region
        self._sign = SIGNERS[implementation]
        self._clock = clock

    def headers(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Headers to send with ``method url body``: the given ones plus the SigV4 ones.

        ``url`` must be the full URL exactly as sent, query string percent-encoded
        (see :func:`query_string`), since API Gateway signs its own canonical form of it.
        """
        frozen = self._credentials_for_role(ROLE_FOR_METHOD[method]).get_frozen_credentials()
        return self._sign(
            frozen, self._region, method, url, body or b"", headers or {}, self._clock()
        )


def query_string(params: Mapping[str, Any]) -> str:
    """``a=1&b=x%2Cy``: every reserved character percent-encoded, as SigV4 expects."""
    pairs = [
        f"{quote(str(k), safe='-_.~')}={quote(str(v), safe='-_.~')}"
        for k, v in params.items()
        if v is not None
    ]
    return "&".join(pairs)
