"""Speed: write moto's DynamoDB item responses with ``json.dumps`` instead of its shape walker.

moto 5.2.5 serializes every response by walking the botocore output shape value by value
(``moto.core.serialize``); for a Query returning 100 log items that walk took about 90% of the
request (roughly 50,000 shape look-ups). DynamoDB's item operations answer plain JSON whose only
non-JSON values are binary attributes (raw bytes, sent base64-encoded), so for those operations
the same body comes from ``json.dumps`` with bytes base64-encoded. Anything else (other
operations, errors, values ``json`` cannot write such as datetimes) goes through moto's
serializer unchanged. ``tests/test_speed_dynamodb_json.py`` compares the two bodies.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from slsops.local.speed.attribute_patch import AttributePatch

# Operations whose output is items, keys, counts and consumed capacity: all plain JSON.
FAST_OPERATIONS = frozenset(
    {
        "Query",
        "Scan",
        "GetItem",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


class _NotPlainJSON(TypeError):
    """A value json cannot write as DynamoDB's wire format: let moto's serializer do it."""


def _encode_bytes(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise _NotPlainJSON(type(value).__name__)


def fast_body(result: Any, members: Any = None, pretty: bool = False) -> str | None:
    """The response body for ``result``, or None when moto's serializer must write it.

    Like moto's serializer, only the output shape's ``members`` are written (moto adds a few
    legacy keys, such as DeleteItem's ``ConsumedCapacityUnits``, that the shape drops).
    """
    if not isinstance(result, dict):
        return None
    if members is not None:
        result = {k: v for k, v in result.items() if k in members and v is not None}
    try:
        return json.dumps(result, default=_encode_bytes, indent=4 if pretty else None)
    except (_NotPlainJSON, ValueError):
        return None


def execute_result(self: Any, context: Any) -> Any:
    """``DynamoResult.execute_result``: json.dumps for item operations, moto's walk otherwise."""
    from moto import settings

    operation = context.operation_model
    service = operation.service_model
    if operation.name in FAST_OPERATIONS and service.protocol == "json":
        shape = operation.output_shape
        members = shape.members if shape is not None else {}
        body = fast_body(self.result, members, pretty=settings.PRETTIFY_RESPONSES)
        if body is not None:
            version = service.metadata.get("jsonVersion", "1.0")
            status = operation.http.get("responseCode", 200)
            return status, {"Content-Type": f"application/x-amz-json-{version}"}, body
    return PATCH.original(self, context)


PATCH = AttributePatch("moto.dynamodb.responses:DynamoResult", "execute_result", execute_result)
install, uninstall = PATCH.install, PATCH.uninstall
