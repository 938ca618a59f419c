"""SigV4 verification as API Gateway does it, against what botocore and requests-aws4auth send.

No server: each test prepares a signed request with a real client library and feeds its parts
(method, raw path, raw query, headers including the Host the client would send, body) to the
verifier, with principals looked up from a small in-memory table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth

from slsops.local.identity import ASSUMED_ROLE, USER, Principal
from slsops.local.sigv4 import authenticate
from slsops.local.sigv4.canonical import canonical_query, canonical_uri
from slsops.local.sigv4.refusals import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    MISSING_TOKEN,
    SIGNATURE_MISMATCH,
    AuthResult,
    not_authorized,
)

REGION = "us-east-1"
BASE = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
USER_KEY = Principal(
    arn="arn:aws:iam::123456789012:user/alice",
    account_id="123456789012",
    kind=USER,
    access_key_id="AKIAEXAMPLEUSER00001",
    secret_access_key="user-secret-0000000000000000000000000001",
)
SESSION_KEY = Principal(
    arn="arn:aws:sts::123456789012:assumed-role/simple-log-service-ingest-prod/s1",
    account_id="123456789012",
    kind=ASSUMED_ROLE,
    access_key_id="ASIAEXAMPLESESSION01",
    secret_access_key="session-secret-00000000000000000000000001",
    session_token="FQoGZXIvYXdzEXAMPLETOKEN",
    expiration=datetime.now(UTC) + timedelta(hours=1),
)
PRINCIPALS = {p.access_key_id: p for p in (USER_KEY, SESSION_KEY)}
UNICODE_BODY = json.dumps({"message": "héllo wörld ✓ 日本", "level": "INFO"}, ensure_ascii=False)


def lookup(access_key_id: str) -> Principal | None:
    return PRINCIPALS.get(access_key_id)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}[parts.scheme]
    return parts.hostname if parts.port in (None, default) else f"{parts.hostname}:{parts.port}"


def parts_of(method: str, url: str, headers, body) -> dict:
    """What the server receives: raw path and query, the headers plus Host, the body bytes."""
    split = urlsplit(url)
    received = [(name, value) for name, value in headers.items()]
    if not any(name.lower() == "host" for name, _ in received):
        received.append(("Host", host_of(url)))
    raw_body = body.encode() if isinstance(body, str) else (body or b"")
    return {
        "method": method,
        "path": split.path,
        "query_pairs": split.query,
        "headers": received,
        "body": raw_body,
    }


def botocore_signed(
    method,
    url,
    body=b"",
    params=None,
    principal=USER_KEY,
    region=REGION,
    service="execute-api",
    headers=None,
) -> dict:
    credentials = Credentials(
        principal.access_key_id, principal.secret_access_key, principal.session_token
    )
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        params=params or {},
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    SigV4Auth(credentials, service, region).add_auth(request)
    prepared = request.prepare()
    return parts_of(method, prepared.url, prepared.headers, prepared.body)


def aws4auth_signed(
    method, url, body=None, params=None, principal=USER_KEY, region=REGION, service="execute-api"
) -> dict:
    auth = AWS4Auth(
        principal.access_key_id,
        principal.secret_access_key,
        region,
        service,
        session_token=principal.session_token,
    )
    prepared = requests.Request(
        method,
        url,
        data=body,
        params=params,
        auth=auth,
        headers={"Content-Type": "application/json"},
    ).prepare()
    return parts_of(method, prepared.url, prepared.headers, prepared.body)


def verify(parts: dict, now=None, region=REGION, service="execute-api") -> AuthResult:
    return authenticate(**parts, region=region, service=service, lookup_key=lookup, now=now)


def replace_header(parts: dict, name: str, value: str) -> dict:
    headers = [(k, v) for k, v in parts["headers"] if k.lower() != name.lower()]
    return {**parts, "headers": [*headers, (name, value)]}


def drop_header(parts: dict, name: str) -> dict:
    return {**parts, "headers": [(k, v) for k, v in parts["headers"] if k.lower() != name.lower()]}


# ------------------------------------------------------------------------- accepted requests

SIGNERS = {"botocore": botocore_signed, "requests-aws4auth": aws4auth_signed}
GOOD_REQUESTS = [
    ("POST unicode body", "POST", f"{BASE}/prod/logs", UNICODE_BODY, None),
    ("GET no query", "GET", f"{BASE}/prod/logs/recent", None, None),
    (
        "GET spaces and commas",
        "GET",
        f"{BASE}/prod/logs/recent",
        None,
        {"service_name": "billing api", "level": "ERROR,WARN", "since": "2026-11-23T00:00:00.000Z"},
    ),
    (
        "GET repeated and empty params",
        "GET",
        f"{BASE}/prod/logs/recent",
        None,
        [("level", "WARN"), ("level", "ERROR"), ("next_token", ""), ("a", "b+c/d")],
    ),
    (
        "GET unicode and reserved path",
        "GET",
        f"{BASE}/prod/logs/caf%C3%A9/a:b",
        None,
        {"q": "ünï ~*'()"},
    ),
    ("GET trailing slash", "GET", f"{BASE}/prod/logs/recent/", None, {"limit": "10"}),
]


@pytest.mark.parametrize("signer", SIGNERS.values(), ids=SIGNERS.keys())
@pytest.mark.parametrize(
    ("method", "url", "body", "params"),
    [c[1:] for c in GOOD_REQUESTS],
    ids=[c[0] for c in GOOD_REQUESTS],
)
def test_signed_requests_verify(signer, method, url, body, params):
    result = verify(signer(method, url, body=body, params=params))
    assert result.ok, (result.message, result.detail)
    assert result.principal == USER_KEY


@pytest.mark.parametrize("signer", SIGNERS.values(), ids=SIGNERS.keys())
def test_session_credentials_verify_with_their_token(signer):
    result = verify(signer("POST", f"{BASE}/prod/logs", body=UNICODE_BODY, principal=SESSION_KEY))
    assert result.ok, result.message
    assert result.principal.kind == ASSUMED_ROLE


def test_botocore_with_a_query_already_in_the_url():
    parts = botocore_signed("GET", f"{BASE}/prod/logs/recent?service_name=a%20b&level=ERROR%2CWARN")
    assert verify(parts).ok


def test_a_date_header_instead_of_x_amz_date():
    # Sign by hand with a Date header (RFC 1123), which SigV4 allows instead of X-Amz-Date.
    parts = botocore_signed("GET", f"{BASE}/prod/logs/recent")
    moment = datetime.strptime(dict(parts["headers"])["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    assert verify(parts, now=lambda: moment.replace(tzinfo=UTC)).ok
    dated = replace_header(drop_header(parts, "X-Amz-Date"), "Date", "not a date")
    result = verify(dated)
    assert result.error_type == "IncompleteSignatureException"
    assert "'X-Amz-Date' or a 'Date' header" in result.message


def test_canonical_forms_match_the_aws_rules():
    assert canonical_uri("/prod//logs/./x/../recent/") == "/prod/logs/recent/"
    assert canonical_uri("/prod/a%20b") == "/prod/a%2520b"  # encoded twice, as botocore does
    assert canonical_uri("") == "/"
    assert (
        canonical_query([("b", "2"), ("a", "x y"), ("a", ""), ("B", "1")]) == "B=1&a=&a=x%20y&b=2"
    )


# ------------------------------------------------------------------------- refused requests


def assert_refused(result: AuthResult, error_type: str, message: str) -> None:
    assert not result.ok
    assert result.status == 403
    assert result.error_type == error_type
    assert result.message.startswith(message), result.message
    assert json.loads(result.body()) == {"message": result.message}


def test_missing_authorization():
    parts = drop_header(botocore_signed("GET", f"{BASE}/prod/logs/recent"), "Authorization")
    assert_refused(verify(parts), "MissingAuthenticationTokenException", MISSING_TOKEN)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "AWS4-HMAC-SHA256 Signature=abc",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            "AWS4-HMAC-SHA256",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        ("Bearer abc.def", "Invalid key=value pair (missing equal-sign) in Authorization header"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20261123/us-east-1/execute-api, SignedHeaders=host, "
            "Signature=00",
            "Credential must have exactly 5 slash-delimited elements",
        ),
    ],
)
def test_malformed_authorization(header, expected):
    parts = replace_header(
        botocore_signed("GET", f"{BASE}/prod/logs/recent"), "Authorization", header
    )
    assert_refused(verify(parts), "IncompleteSignatureException", expected)


def test_host_must_be_signed():
    parts = botocore_signed("GET", f"{BASE}/prod/logs/recent")
    authorization = dict(parts["headers"])["Authorization"].replace(
        "SignedHeaders=content-type;host;", "SignedHeaders=content-type;"
    )
    result = verify(replace_header(parts, "Authorization", authorization))
    assert_refused(
        result, "IncompleteSignatureException", "'Host' or ':authority' must be a 'SignedHeader'"
    )


@pytest.mark.parametrize("signer", SIGNERS.values(), ids=SIGNERS.keys())
@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: {**p, "body": p["body"].replace(b"INFO", b"WARN")}, id="body"),
        pytest.param(lambda p: {**p, "path": "/prod/logs/other"}, id="path"),
        pytest.param(lambda p: {**p, "method": "PUT"}, id="method"),
        pytest.param(lambda p: {**p, "query_pairs": "limit=1000"}, id="query"),
        pytest.param(lambda p: replace_header(p, "Content-Type", "text/plain"), id="signed-header"),
        pytest.param(lambda p: replace_header(p, "Host", "evil.example.com"), id="host"),
    ],
)
def test_tampering_breaks_the_signature(signer, tamper):
    parts = signer("POST", f"{BASE}/prod/logs", body=UNICODE_BODY, params={"limit": "5"})
    assert verify(parts).ok
    result = verify(tamper(parts))
    assert_refused(result, "InvalidSignatureException", SIGNATURE_MISMATCH)
    assert result.message == SIGNATURE_MISMATCH
    assert "The Canonical String for this request should have been" in result.detail


def test_a_body_hash_header_cannot_vouch_for_another_body():
    parts = aws4auth_signed("POST", f"{BASE}/prod/logs", body=UNICODE_BODY)
    assert any(name.lower() == "x-amz-content-sha256" for name, _ in parts["headers"])
    result = verify({**parts, "body": b'{"message": "forged"}'})
    assert_refused(result, "InvalidSignatureException", SIGNATURE_MISMATCH)


def test_wrong_secret():
    impostor = Principal(**{**USER_KEY.__dict__, "secret_access_key": "not-the-secret"})
    result = verify(botocore_signed("GET", f"{BASE}/prod/logs/recent", principal=impostor))
    assert_refused(result, "InvalidSignatureException", SIGNATURE_MISMATCH)


def signing_time(parts: dict) -> datetime:
    stamp = dict((k.lower(), v) for k, v in parts["headers"])["x-amz-date"]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def test_signature_older_than_five_minutes_is_expired():
    parts = botocore_signed("GET", f"{BASE}/prod/logs/recent")
    signed_at = signing_time(parts)
    assert verify(parts, now=lambda: signed_at + timedelta(minutes=4, seconds=59)).ok
    later = signed_at + timedelta(minutes=6)
    result = verify(parts, now=lambda: later)
    stamp = signed_at.strftime("%Y%m%dT%H%M%SZ")
    limit = (later - timedelta(minutes=5)).strftime("%Y%m%dT%H%M%SZ")
    assert_refused(
        result,
        "InvalidSignatureException",
        f"Signature expired: {stamp} is now earlier than {limit} "
        f"({later.strftime('%Y%m%dT%H%M%SZ')} - 5 min.)",
    )


def test_signature_from_the_future_is_not_yet_current():
    parts = aws4auth_signed("GET", f"{BASE}/prod/logs/recent")
    earlier = signing_time(parts) - timedelta(minutes=6)
    result = verify(parts, now=lambda: earlier)
    assert_refused(result, "InvalidSignatureException", "Signature not yet current: ")


@pytest.mark.parametrize("signer", SIGNERS.values(), ids=SIGNERS.keys())
def test_wrong_region_in_scope(signer):
    result = verify(signer("GET", f"{BASE}/prod/logs/recent", region="eu-west-1"))
    assert_refused(
        result,
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    )


@pytest.mark.parametrize("signer", SIGNERS.values(), ids=SIGNERS.keys())
def test_wrong_service_in_scope(signer):
    result = verify(signer("GET", f"{BASE}/prod/logs/recent", service="lambda"))
    assert_refused(
        result,
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'execute-api'. ",
    )


def test_any_region_when_the_verifier_accepts_any():
    parts = botocore_signed(
        "POST",
        "http://127.0.0.1:4566/",
        body=b"Action=GetCallerIdentity",
        region="eu-west-1",
        service="sts",
    )
    assert verify(parts, region=None, service="sts").ok


def test_unknown_access_key():
    stranger = Principal(**{**USER_KEY.__dict__, "access_key_id": "AKIAUNKNOWN000000000"})
    result = verify(botocore_signed("GET", f"{BASE}/prod/logs/recent", principal=stranger))
    assert_refused(result, "UnrecognizedClientException", INVALID_TOKEN)


def test_session_credentials_need_their_token():
    parts = botocore_signed("GET", f"{BASE}/prod/logs/recent", principal=SESSION_KEY)
    assert_refused(
        verify(drop_header(parts, "X-Amz-Security-Token")),
        "UnrecognizedClientException",
        INVALID_TOKEN,
    )
    assert_refused(
        verify(replace_header(parts, "X-Amz-Security-Token", "forged")),
        "UnrecognizedClientException",
        INVALID_TOKEN,
    )


def test_expired_session_credentials():
    parts = aws4auth_signed("GET", f"{BASE}/prod/logs/recent", principal=SESSION_KEY)
    signed_at = signing_time(parts)
    expired = Principal(**{**SESSION_KEY.__dict__, "expiration": signed_at - timedelta(seconds=1)})
    result = authenticate(
        **parts, region=REGION, lookup_key=lambda _key: expired, now=lambda: signed_at
    )
    assert_refused(result, "ExpiredTokenException", EXPIRED_TOKEN)


def test_not_authorized_message():
    result = not_authorized(
        USER_KEY.arn,
        "execute-api:Invoke",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/logs/recent",
    )
    assert_refused(
        result,
        "AccessDeniedException",
        f"User: {USER_KEY.arn} is not authorized to perform: execute-api:Invoke on "
        "resource: arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/logs/recent",
    )
    assert not_authorized("a", "b", "c", explicit=True).message.endswith(" with an explicit deny")


# ------------------------------------------------------------------------- presigned URLs


def presigned(url, principal=USER_KEY, expires=300, params=None, region=REGION) -> dict:
    """A query-string (presigned) URL made by botocore's SigV4QueryAuth, as the server gets it."""
    credentials = Credentials(
        principal.access_key_id, principal.secret_access_key, principal.session_token
    )
    request = AWSRequest(method="GET", url=url, params=params or {})
    SigV4QueryAuth(credentials, "execute-api", region, expires=expires).add_auth(request)
    prepared = request.prepare()
    return parts_of("GET", prepared.url, {}, b"")


@pytest.mark.parametrize("principal", [USER_KEY, SESSION_KEY], ids=["user", "session"])
def test_presigned_urls_verify(principal):
    parts = presigned(
        f"{BASE}/prod/logs/recent", principal, params={"service_name": "a b", "level": "ERROR"}
    )
    assert "X-Amz-Signature=" in parts["query_pairs"]
    result = verify(parts)
    assert result.ok, (result.message, result.detail)
    assert result.principal == principal


def test_presigned_url_with_a_changed_parameter_is_refused():
    parts = presigned(f"{BASE}/prod/logs/recent", params={"service_name": "billing"})
    tampered = {**parts, "query_pairs": parts["query_pairs"].replace("billing", "payroll")}
    result = verify(tampered)
    assert not result.ok and result.message == SIGNATURE_MISMATCH


def test_presigned_url_expires_after_x_amz_expires():
    parts = presigned(f"{BASE}/prod/logs/recent", expires=60)
    later = datetime.now(UTC) + timedelta(seconds=120)
    result = verify(parts, now=later)
    assert (result.ok, result.error_type) == (False, "InvalidSignatureException")
    assert result.message.startswith("Signature expired")
    assert verify(parts, now=datetime.now(UTC) + timedelta(seconds=30)).ok


def test_presigned_url_missing_a_parameter_is_incomplete():
    parts = presigned(f"{BASE}/prod/logs/recent")
    pairs = [p for p in parse_qsl(parts["query_pairs"]) if p[0] != "X-Amz-Expires"]
    result = verify({**parts, "query_pairs": pairs})
    assert (result.ok, result.error_type) == (False, "IncompleteSignatureException")
    assert "X-Amz-Expires" in result.message


def test_presigned_url_longer_than_a_week_is_refused():
    parts = presigned(f"{BASE}/prod/logs/recent", expires=604801)
    result = verify(parts)
    assert (result.ok, result.status) == (False, 400)
    assert "604800" in result.message
