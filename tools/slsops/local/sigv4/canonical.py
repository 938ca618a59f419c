"""The canonical parts of a received request, in botocore's terms.

The canonical request, string to sign and signing key are botocore's own (``SigV4Auth``),
fed with what was received: the raw path (botocore's ``normalize_url_path``, then encoded once
more, as every service but S3 signs it), the decoded query pairs, and only the headers the
client named in ``SignedHeaders``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from hashlib import sha256
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from botocore.auth import EMPTY_SHA256_HASH, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

from slsops.local.identity import Principal

if TYPE_CHECKING:
    from slsops.local.sigv4.claim import Claim

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw query string into pairs, keeping blanks and repeats (``+`` is a space)."""
    return parse_qsl(raw_query, keep_blank_values=True)


def canonical_uri(raw_path: str) -> str:
    """The canonical path of every service but S3: botocore's normalisation, encoded once more."""
    return quote(normalize_url_path(raw_path), safe="/~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The canonical query string, as botocore builds it from decoded pairs."""
    return SigV4Auth(None, "", "").canonical_query_string(
        received_request("GET", "/", list(pairs), b"")
    )


def header_lists(headers: Headers) -> dict[str, list[str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    collected: dict[str, list[str]] = {}
    for name, value in items:
        collected.setdefault(name.strip().lower(), []).append(str(value))
    return collected


def received_request(
    method: str, raw_path: str, pairs: list[tuple[str, str]], body: bytes
) -> AWSRequest:
    """The received request in botocore's shape (plain http: the body is always hashed)."""
    request = AWSRequest(method=method.upper(), url=f"http://localhost{raw_path}", data=body)
    request.params = pairs
    return request


class ReceivedSigner(SigV4Auth):
    """botocore's SigV4 signer, limited to the headers the client named in ``SignedHeaders``."""

    def __init__(
        self, principal: Principal, claim: Claim, received: Mapping[str, list[str]]
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

    def payload(self, request: Any) -> str:
        """The body's SHA-256, as botocore's ``payload`` gives it for a plain-http request.

        botocore reads ``request.body``, which prepares the whole request (headers included)
        first; on the local stack that was the largest cost of verifying a signature.
        """
        body = request.data
        if isinstance(body, str):
            body = body.encode("utf-8")
        return sha256(body).hexdigest() if body else EMPTY_SHA256_HASH
