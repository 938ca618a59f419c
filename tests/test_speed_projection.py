"""The direct projection gives what moto's ``Item.project`` gives, for every kind of value."""

from __future__ import annotations

import copy

import pytest
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from slsops.local.speed import projection

ITEM = {
    "service_name": {"S": "api"},
    "sk": {"S": "2026-01-01T00:00#01"},
    "message": {"S": ""},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "n": {"N": "1e1"},
    "tags": {"SS": ["b", "a"]},
    "blob": {"B": b"\x00\x01"},
    "meta": {"M": {"k": {"S": "v"}, "n": {"N": "1.50"}}},
    "list": {"L": [{"S": "x"}, {"N": "2"}]},
}
PATHS = [
    [["sk"]],
    [["service_name"], ["sk"], ["message"]],
    [["flag"], ["nothing"]],
    [["missing"]],
    [["sk"], ["sk"]],
    [["n"]],
    [["sk"], ["tags"]],
    [["blob"]],
    [["meta"]],
    [["meta", "k"]],
    [["list[1]"]],
    [["list"]],
]


def _item() -> Item:
    return Item(DynamoType(ITEM["service_name"]), DynamoType(ITEM["sk"]), ITEM)


@pytest.mark.parametrize("paths", PATHS, ids=lambda p: ",".join(".".join(x) for x in p))
def test_direct_projection_equals_moto(paths: list[list[str]]) -> None:
    item = _item()
    assert projection.project(item, paths).to_json() == item.project(paths).to_json()


def test_a_string_projection_is_built_directly_and_shares_nothing_mutable() -> None:
    """The fast path answers the audit's shape itself, with new attribute objects."""
    item = _item()
    projected = projection.project(item, [["service_name"], ["sk"]])
    assert projected.attrs["sk"] is not item.attrs["sk"]
    item.attrs["sk"] = DynamoType({"S": "changed"})
    assert projected.attrs["sk"].value == "2026-01-01T00:00#01"


def test_detached_answers_what_deepcopy_answers() -> None:
    item = _item()
    assert projection.detached(item).to_json() == copy.deepcopy(item).to_json()


def test_detached_item_does_not_follow_later_writes_to_the_stored_one() -> None:
    """Writes change the stored item's map and nested values in place; the copy keeps its own."""
    item = _item()
    before = copy.deepcopy(item).to_json()
    copied = projection.detached(item)
    item.attrs["meta"]["k"] = DynamoType({"S": "changed"})  # SET meta.k = ... (in place)
    item.attrs["list"].value.append(DynamoType({"S": "appended"}))  # list_append, in place
    item.attrs["tags"].value.append("c")
    item.attrs["sk"] = DynamoType({"S": "replaced"})  # SET sk = ...
    item.attrs["added"] = DynamoType({"S": "new"})  # SET added = ...
    del item.attrs["message"]  # REMOVE message
    assert copied.to_json() == before
