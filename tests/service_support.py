"""Helpers for the service tests: a moto table with the real key scheme, proxy events."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import boto3

from log_service import keys, runtime
from slsops.deployment import dynamo_pages

TABLE = "logs-test"
REGION = "us-east-1"


def create_table(name: str = TABLE) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(**keys.table_definition(name))
    return boto3.resource("dynamodb", region_name=REGION).Table(name)


def all_items(table: Any) -> list[dict[str, Any]]:
    return list(dynamo_pages.items(table.scan))


def log_items(table: Any) -> list[dict[str, Any]]:
    return [i for i in all_items(table) if not keys.is_marker(i)]


def reset_runtime() -> None:
    for cached in (runtime.settings, runtime.pool, runtime.writer, runtime.reader):
        cached.cache_clear()


class FakeContext:
    function_name = "test-fn"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def proxy_event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, list[str]] | None = None,
    raw_body: str | bytes | None = None,
) -> dict[str, Any]:
    """A Lambda proxy (v1) event as API Gateway builds it."""
    encoded = False
    if raw_body is not None:
        if isinstance(raw_body, bytes):
            text, encoded = base64.b64encode(raw_body).decode(), True
        else:
            text = raw_body
    else:
        text = None if body is None else json.dumps(body)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"content-type": ["application/json"]},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "resourcePath": path,
            "httpMethod": method,
            "stage": "prod",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def invoke(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}
