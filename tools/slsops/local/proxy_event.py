"""The Lambda proxy integration (payload v1) as API Gateway REST builds and maps it.

``build_event`` turns an HTTP request into the event a Lambda behind an ``AWS_PROXY``
integration receives; ``map_response`` turns what the function returned into the HTTP answer,
or None when API Gateway would answer 502 (malformed proxy response).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class CallerIdentity:
    """``requestContext.identity`` of a signed call (all None for an unsigned one)."""

    account_id: str | None = None
    caller: str | None = None
    user: str | None = None
    user_arn: str | None = None
    access_key: str | None = None


@dataclass(frozen=True)
class RouteMatch:
    resource_id: str
    resource_path: str  # the template, e.g. /items/{id}
    path_parameters: dict[str, str]


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Single-value map (last value wins, as API Gateway does) and the multi-value map."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    return parse_qsl(raw_query, keep_blank_values=True)


def encode_body(body: bytes) -> tuple[str | None, bool]:
    """UTF-8 text passes as a string; anything else is base64 with isBase64Encoded true."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def build_event(
    *,
    method: str,
    path: str,
    raw_query: str,
    header_pairs: list[tuple[str, str]],
    body: bytes,
    route: RouteMatch,
    stage: str,
    stage_variables: dict[str, str],
    api_id: str,
    account_id: str,
    region: str,
    request_id: str,
    identity: CallerIdentity,
    source_ip: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The proxy v1 event; ``path`` is the resource path without the stage prefix."""
    now = time.time() if now is None else now
    headers, multi_headers = _multi(header_pairs)
    query, multi_query = _multi(parse_query(raw_query))
    text, is_b64 = encode_body(body)
    user_agent = next((v for k, v in header_pairs if k.lower() == "user-agent"), None)
    return {
        "resource": route.resource_path,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": route.path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "resourceId": route.resource_id,
            "resourcePath": route.resource_path,
            "httpMethod": method,
            "extendedRequestId": request_id[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage}{path}",
            "accountId": account_id,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": identity.account_id,
                "cognitoIdentityId": None,
                "caller": identity.caller,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": identity.access_key,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": identity.user_arn,
                "userAgent": user_agent,
                "user": identity.user,
            },
            "domainName": f"{api_id}.execute-api.{region}.amazonaws.com",
            "apiId": api_id,
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }


@dataclass(frozen=True)
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def map_response(result: Any) -> ProxyResponse | None:
    """Map the function's return value; None means API Gateway's 502 (malformed response)."""
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except ValueError:
            return None
    if not isinstance(result, dict):
        return None
    try:
        status = int(result.get("statusCode", 200))
    except (TypeError, ValueError):
        return None
    if not 100 <= status <= 599:
        return None
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        return None
    for name, values in multi.items():
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), str(value)))
    for name, value in single.items():
        if str(name).lower() not in {k.lower() for k in multi}:
            headers.append((str(name), str(value)))
    body = result.get("body")
    if body is None:
        raw = b""
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(str(body), validate=True)
        except ValueError:
            return None
    else:
        raw = str(body).encode("utf-8")
    return ProxyResponse(status, headers, raw)
