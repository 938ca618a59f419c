"""DynamoDB's own error answers, byte for byte, for the faults the middleware injects.

Errors are the JSON documents DynamoDB sends (``__type`` + ``message``, CRC32 header), so
botocore raises the same ``ClientError`` as on AWS.
"""

from __future__ import annotations

import json
import uuid
import zlib

_DDB = "com.amazonaws.dynamodb.v20120810#"
# kind -> (HTTP status line, __type, message), as DynamoDB answers them.
ERRORS = {
    "throttle": (
        "400 Bad Request",
        _DDB + "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    ),
    "throttling": (
        "400 Bad Request",
        "com.amazon.coral.availability#ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    "internal": ("500 Internal Server Error", _DDB + "InternalServerError", "Internal error"),
}


def error_response(kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """DynamoDB's JSON error for ``kind`` (status line, headers, body)."""
    status, error_type, message = ERRORS[kind]
    body = json.dumps({"__type": error_type, "message": message}).encode()
    return status, json_headers(body), body


def json_headers(body: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
        ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)),
    ]
