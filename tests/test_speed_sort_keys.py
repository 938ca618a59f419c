"""The local stack's faster sorting keeps moto's (DynamoDB's) order exactly."""

from __future__ import annotations

import random

from moto.dynamodb.models.dynamo_type import DynamoType

from slsops.local.speed import sort_keys as dynamodb_sort_keys


class FakeItem:
    def __init__(self, attrs):
        self.attrs = attrs


class FakeTable:
    """Just what ``sorted_items`` needs: moto's own attribute-order helper."""

    from moto.dynamodb.models.table import Table as _Table

    _generate_attr_to_sort_by = _Table._generate_attr_to_sort_by


def make_items(rng: random.Random, count: int) -> list[FakeItem]:
    items = []
    for _ in range(count):
        shard = rng.choice(["9", "10", "-1", "0.5", "100", "2e1"])
        items.append(
            FakeItem(
                {
                    "gsi_shard": DynamoType({"N": shard}),
                    "sk": DynamoType({"S": f"2026-01-0{rng.randrange(1, 9)}#{rng.random()}"}),
                    "service_name": DynamoType({"S": rng.choice(["b", "a", "B", "ä"])}),
                }
            )
        )
    return items


def order(sort, items):
    hash_attrs = ["gsi_shard", "service_name"]
    range_attrs = ["sk", "sk"]
    return [id(i) for i in sort(FakeTable(), hash_attrs, range_attrs, list(items))]


def test_native_keys_sort_like_moto_for_numbers_and_strings():

    original = dynamodb_sort_keys.original()
    items = make_items(random.Random(5), 400)
    assert order(dynamodb_sort_keys.sorted_items, items) == order(original, items)


def test_numbers_sort_by_value_not_by_text():
    assert dynamodb_sort_keys.native(DynamoType({"N": "9"})) < dynamodb_sort_keys.native(
        DynamoType({"N": "10"})
    )
    assert dynamodb_sort_keys.native(DynamoType({"S": "10"})) < dynamodb_sort_keys.native(
        DynamoType({"S": "9"})
    )
