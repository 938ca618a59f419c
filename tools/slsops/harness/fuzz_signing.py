"""How the fuzz harness signs and encodes a generated request so the gateway can verify it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import requests


class BotocoreSigV4(requests.auth.AuthBase):
    """SigV4 (execute-api) by botocore over the prepared request's exact bytes and headers.

    botocore rather than requests-aws4auth: generated header values (unbalanced quotes...)
    make the latter's whitespace normalisation raise.
    """

    def __init__(self, credentials: Any, region: str) -> None:
        from botocore.credentials import Credentials

        self.credentials = Credentials(
            credentials.access_key, credentials.secret_key, credentials.token
        )
        self.region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
            request.body = body
        aws = AWSRequest(
            method=request.method, url=request.url, data=body, headers=dict(request.headers)
        )
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws.headers:
                request.headers[name] = aws.headers[name]
        return request


def canonical_query(params: dict[str, Any] | None) -> str:
    """``?a=b`` encoded as SigV4 canonicalises it (RFC 3986, space as %20), "" when empty.

    requests would encode a space as ``+``; a signature over that does not verify, on AWS
    either (see docs/local-stack.md), so the query is encoded here and sent as is.
    """
    pairs = []
    for name, value in (params or {}).items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is not None:
                pairs.append((str(name), str(one)))
    if not pairs:
        return ""
    return "?" + urlencode(pairs, quote_via=quote, safe="-_.~")
