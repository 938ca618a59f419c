"""Items of a DynamoDB Scan or Query straight from the response body, in wire form.

botocore parses a DynamoDB answer by walking the output shape value by value; for a page of
thousands of items that walk costs about five times the JSON decoding itself (the audit
benchmark measured 0.71 s against 0.13 s of client CPU for 20k items). Readers that want the
wire form anyway (``{"S": ...}``, as the audit and the drill judge items) can skip it: the
``before-parse`` event hands each successful Scan/Query body over before the parser runs, and
this module takes ``Items`` out of it (``json.loads``) so the parser walks only the rest (count,
``LastEvaluatedKey``, consumed capacity). The Items are the same, with one difference the
readers accept: a binary value stays base64 text, as in an export's DynamoDB JSON.

Signing, retries, throttling and errors stay botocore's: only status-200 bodies are touched.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

OPERATIONS = ("Scan", "Query")


def take_items(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """``before-parse`` handler: move ``Items`` from the body into the parsed response."""
    if response_dict.get("status_code") != 200:
        return
    try:
        body = json.loads(response_dict.get("body") or b"")
    except ValueError:  # not JSON: botocore's parser reports it as it always does
        return
    items = body.pop("Items", None) if isinstance(body, dict) else None
    if not isinstance(items, list):
        return
    response_dict["body"] = json.dumps(body).encode("utf-8")
    customized_response_dict["Items"] = items


@contextlib.contextmanager
def wire_items(client: Any) -> Iterator[Any]:
    """While inside, ``client``'s Scan and Query answers carry Items decoded by ``json`` alone.

    The handler is registered on this client's own event system and removed on exit, so other
    clients (and this one afterwards) parse as usual.
    """
    events = client.meta.events
    names = [f"before-parse.dynamodb.{operation}" for operation in OPERATIONS]
    for name in names:
        events.register(name, take_items, unique_id=f"slsops-wire-items-{name}")
    try:
        yield client
    finally:
        for name in names:
            events.unregister(name, unique_id=f"slsops-wire-items-{name}")
