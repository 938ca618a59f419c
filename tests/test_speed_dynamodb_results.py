"""Differential test: the fast ``dynamo_to_dict`` equals moto's on random results."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from typing import Any

import pytest
from dynamo_values import random_wire_value
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.utilities import dynamo_to_dict as moto_dynamo_to_dict

from slsops.local.speed import dynamodb_results


def _wire(rng: random.Random) -> dict[str, Any]:
    return random_wire_value(rng, binary=(b"\x00\xff", "AP8="))


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
