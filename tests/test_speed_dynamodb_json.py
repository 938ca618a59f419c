"""Differential test: DynamoDB response bodies from json.dumps equal moto's serializer's.

Items with every attribute type (binary and binary sets included, nested maps and lists) go
through the item operations with every ReturnValues and ReturnConsumedCapacity choice; each
response is written both ways and the parsed bodies, status and content type must be equal.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoResult
from moto_in_process import dynamodb_client

from slsops.local.speed import dynamodb_json

TABLE = "speed-json"


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch):
    dynamodb_json.install()
    original = dynamodb_json.PATCH.original
    stats: dict[str, Any] = {"fast": 0, "operations": set(), "mismatches": []}

    def both(self: DynamoResult, context: Any):
        fast = dynamodb_json.execute_result(self, context)
        slow = original(self, context)
        name = context.operation_model.name
        if name in dynamodb_json.FAST_OPERATIONS:
            stats["fast"] += 1
            stats["operations"].add(name)
        same = (fast[0], fast[1].get("Content-Type"), json.loads(fast[2])) == (
            slow[0],
            slow[1].get("Content-Type"),
            json.loads(slow[2]),
        )
        if not same:
            stats["mismatches"].append({"operation": name, "fast": fast, "slow": slow})
        return slow

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    with mock_aws():
        client = dynamodb_client()
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "B"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        yield client, stats


def _value(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "plain", "ünïcode ✓", 'quote " and \\ slash', "a" * 50])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1", "3.14", "1e10", "12345678901234567890123456789"])}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randrange(0, 9)))}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": sorted({f"s{rng.randrange(9)}" for _ in range(3)})}
    if kind == "NS":
        return {"NS": sorted({str(rng.randrange(-9, 9)) for _ in range(3)})}
    if kind == "BS":
        return {"BS": list({bytes([rng.randrange(256), 1]) for _ in range(3)})}
    if kind == "M":
        return {"M": {f"k{i}": _value(rng, depth + 1) for i in range(rng.randrange(0, 4))}}
    return {"L": [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]}


def _key(rng: random.Random) -> dict[str, Any]:
    return {"pk": {"S": f"p{rng.randrange(3)}"}, "sk": {"B": bytes([rng.randrange(6)])}}


def _item(rng: random.Random) -> dict[str, Any]:
    return {**_key(rng), **{f"a{i}": _value(rng) for i in range(rng.randrange(1, 6))}}


def _capacity(rng: random.Random) -> dict[str, str]:
    return {"ReturnConsumedCapacity": rng.choice(["NONE", "TOTAL", "INDEXES"])}


def _operation(client: Any, rng: random.Random) -> None:
    kind = rng.randrange(9)
    if kind == 0:
        client.put_item(
            TableName=TABLE,
            Item=_item(rng),
            ReturnValues=rng.choice(["NONE", "ALL_OLD"]),
            **_capacity(rng),
        )
    elif kind == 1:
        client.update_item(
            TableName=TABLE,
            Key=_key(rng),
            UpdateExpression="SET a9 = :v",
            ExpressionAttributeValues={":v": _value(rng)},
            ReturnValues=rng.choice(["NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"]),
            **_capacity(rng),
        )
    elif kind == 2:
        client.delete_item(
            TableName=TABLE,
            Key=_key(rng),
            ReturnValues=rng.choice(["NONE", "ALL_OLD"]),
            **_capacity(rng),
        )
    elif kind == 3:
        client.get_item(TableName=TABLE, Key=_key(rng), **_capacity(rng))
    elif kind == 4:
        drawn = [_key(rng) for _ in range(3)]
        keys = list({json.dumps(k, default=list): k for k in drawn}.values())
        client.batch_get_item(RequestItems={TABLE: {"Keys": keys}}, **_capacity(rng))
    elif kind == 5:
        client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"p{rng.randrange(3)}"}},
            Limit=rng.choice([1, 3, 50]),
            Select=rng.choice(["ALL_ATTRIBUTES", "COUNT"]),
            **_capacity(rng),
        )
    elif kind == 6:
        client.scan(TableName=TABLE, Limit=rng.choice([2, 100]), **_capacity(rng))
    elif kind == 7:
        client.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": _item(rng)}}]}, **_capacity(rng)
        )
    else:
        client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": _key(rng)}}])


def test_item_responses_have_the_same_body_as_moto_writes(compared) -> None:
    client, stats = compared
    rng = random.Random(4)
    for _ in range(300):
        _operation(client, rng)
    assert stats["mismatches"] == []
    assert stats["fast"] >= 200
    assert {"Query", "Scan", "GetItem", "PutItem", "UpdateItem", "BatchGetItem"} <= stats[
        "operations"
    ]


def test_values_json_cannot_write_go_to_moto() -> None:
    assert dynamodb_json.fast_body({"Items": [{"b": {"B": b"\x00\xff"}}]}) == (
        '{"Items": [{"b": {"B": "AP8="}}]}'
    )
    assert dynamodb_json.fast_body({"When": object()}) is None
    assert dynamodb_json.fast_body(["not", "a", "result"]) is None
