"""Differential test: the fast ``dynamo_to_dict`` equals moto's on random results."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from typing import Any

import pytest
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.utilities import dynamo_to_dict as moto_dynamo_to_dict

from slsops.local.speed import dynamodb_results


def _wire(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kinds = ["S", "N", "BOOL", "NULL", "B", "SS", "NS", "BS"]
    if depth < 3:
        kinds += ["M", "L"]
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "x", "é", "a b"])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1.5", "1e3"])}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "B":
        return {"B": rng.choice([b"\x00\xff", "AP8="])}
    if kind == "SS":
        return {"SS": ["a", "b"]}
    if kind == "NS":
        return {"NS": ["1", "2"]}
    if kind == "BS":
        return {"BS": [b"\x01", "AQ=="]}
    if kind == "M":
        return {"M": {f"k{n}": _wire(rng, depth + 1) for n in range(rng.randrange(0, 3))}}
    return {"L": [_wire(rng, depth + 1) for _ in range(rng.randrange(0, 3))]}


class _HasJson:
    def to_json(self) -> dict[str, Any]:
        return {"Key": DynamoType({"S": "v"})}


@pytest.mark.parametrize("seed", range(5))
def test_random_results_convert_the_same(seed: int) -> None:
    rng = random.Random(seed)
    items = [
        Item(
            DynamoType({"S": "p"}),
            None,
            {"p": {"S": "p"}, **{f"a{n}": _wire(rng) for n in range(6)}},
        )
        for _ in range(40)
    ]
    result = {
        "Count": len(items),
        "Items": [item.attrs for item in items],
        "LastEvaluatedKey": {"p": {"S": "p"}},
        "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5},
        "Table": {"CreationDateTime": datetime.datetime(2026, 1, 1), "Size": Decimal("1.5")},
        "Other": _HasJson(),
        "Single": DynamoType(_wire(rng)),
    }
    assert dynamodb_results.dynamo_to_dict(result) == moto_dynamo_to_dict(result)


def test_install_routes_moto_responses_through_the_fast_conversion() -> None:
    from moto.dynamodb import responses

    dynamodb_results.install()
    try:
        assert responses.dynamo_to_dict is dynamodb_results.dynamo_to_dict
    finally:
        dynamodb_results.uninstall()
    assert responses.dynamo_to_dict is moto_dynamo_to_dict
    dynamodb_results.install()  # the rest of the session runs with every patch, as the stack does
