"""Differential test: DynamoDB requests parse the same with and without the direct path."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from dynamo_values import random_wire_value
from moto.core.parse import JSONParser
from moto.core.utils import get_service_model

from slsops.local.speed import moto_request_parse


def _value(rng: random.Random) -> dict[str, Any]:
    return random_wire_value(rng, malformed=True)


def _item(rng: random.Random) -> dict[str, Any]:
    return {f"a{n}": _value(rng) for n in range(rng.randrange(1, 8))}


def _requests(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "PutItem",
            {
                "TableName": "t",
                "Item": _item(rng),
                "ConditionExpression": "a <> :v",
                "ExpressionAttributeValues": {":v": _value(rng)},
            },
        ),
        (
            "Query",
            {
                "TableName": "t",
                "KeyConditionExpression": "p = :p",
                "ExpressionAttributeValues": {":p": _value(rng)},
                "ExclusiveStartKey": _item(rng),
                "Limit": 5,
            },
        ),
        ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": _item(rng)}}]}}),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "t", "Item": _item(rng)}}]},
        ),
        (
            "UpdateItem",
            {
                "TableName": "t",
                "Key": _item(rng),
                "UpdateExpression": "SET a = :a",
                "ExpressionAttributeValues": {":a": _value(rng)},
            },
        ),
    ]


def _parse(operation: str, body: dict[str, Any]) -> Any:
    model = get_service_model("dynamodb").operation_model(operation)
    parser = JSONParser(model, map_type=dict)
    request = {
        "method": "POST",
        "values": {},
        "headers": {},
        "body": json.dumps(body).encode(),
        "url_path": "/",
        "url_params": {},
    }
    try:
        return ("ok", parser.parse(request))  # type: ignore[arg-type]
    except Exception as error:
        return ("error", type(error).__name__, str(error))


@pytest.mark.parametrize("seed", range(6))
def test_random_requests_parse_the_same(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        for operation, body in _requests(rng):
            moto_request_parse.uninstall()
            plain = _parse(operation, body)
            moto_request_parse.install()
            fast = _parse(operation, body)
            assert fast == plain, operation


def test_the_direct_path_answers_string_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: a string value is built by the patch, without moto's structure walk."""
    moto_request_parse.install()
    calls = []
    original = moto_request_parse.PATCH.original
    monkeypatch.setattr(
        moto_request_parse.PATCH, "_original", lambda *a: calls.append(a) or original(*a)
    )
    parsed = _parse("GetItem", {"TableName": "t", "Key": {"p": {"S": "x"}}})
    assert parsed == ("ok", {"TableName": "t", "Key": {"p": {"S": "x"}}})
    assert [c[1].name for c in calls] == ["GetItemInput"]
