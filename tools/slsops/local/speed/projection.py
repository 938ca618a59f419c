"""Speed: the end of moto's Query (index projection, filter, projection) without copying twice.

moto 5.2.5 deep-copies every item a Query returns, then projects it: ``Item.project`` turns the
whole item into regular JSON, picks the named paths and serializes them back into a new item.
For a Query that names a few top-level attributes that is two full copies of each item to keep
a few strings (the audit's index tally spent about half of its moto time there).

Here the copy is made only where nothing else makes one: a projection (the index's KEYS_ONLY or
INCLUDE, or a ``ProjectionExpression``) already builds new items; otherwise each item gets its
own attribute map sharing the scalar values, which moto never changes in place (``detached``:
it halved moto's time for a newest-100 read of one service). A projection of top-level string,
boolean and null attributes, whose round trip through regular JSON is the identity, is built
directly; anything else (nested paths, list indexes, numbers, sets, binary, maps) goes
through moto's own ``Item.project``. ``tests/test_speed_dynamodb_index.py`` compares the answers
with moto's.
"""

from __future__ import annotations

import copy
import re
from typing import Any

# Imported once here, not per item: both functions below run for every item a Query returns.
from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

# Types whose value regular JSON gives back unchanged ({"S": v} -> v -> {"S": v}).
_IDENTITY_TYPES = frozenset({"S", "BOOL", "NULL"})
_LIST_INDEX = re.compile(r".+\[\d+\]$")


def project(item: Any, projection_expressions: list[list[str]]) -> Any:
    """``item.project(projection_expressions)``, built directly when that is the same."""
    attrs: dict[str, Any] = {}
    for path in projection_expressions:
        if len(path) != 1 or _LIST_INDEX.match(path[0]):
            return item.project(projection_expressions)
        value = item.attrs.get(path[0])
        if value is None:
            continue
        if value.type not in _IDENTITY_TYPES:
            return item.project(projection_expressions)
        attrs[path[0]] = {value.type: value.value}
    return Item(hash_key=item.hash_key, range_key=item.range_key, attrs=attrs)


def index_projection_copies(index: Any) -> bool:
    """Whether the index's projection builds new items (KEYS_ONLY, INCLUDE) or passes them."""
    projection_type = (index.projection or {}).get("ProjectionType")
    return projection_type in ("KEYS_ONLY", "INCLUDE")


def finish(
    table: Any,
    results: list[Any],
    index_name: str | None,
    filter_expression: Any,
    projection_expressions: list[list[str]] | None,
) -> list[Any]:
    """moto's steps after the key condition, in its order: index projection, filter, projection.

    The answer never shares values with the stored items: either a projection built it, or it is
    deep-copied as moto does.
    """
    built = False  # True once a projection made new items
    if index_name:
        index = table.get_index(index_name)
        results = [index.project(r) for r in results]
        built = index_projection_copies(index)
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [project(r, projection_expressions) for r in results]
        built = True
    return results if built else [detached(r) for r in results]


# Values moto never changes in place: every write of one makes a new DynamoType (only maps and
# lists have a __setitem__, which nested update expressions use).
_IMMUTABLE_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL"})


def detached(item: Any) -> Any:
    """What ``copy.deepcopy(item)`` answers, sharing only values no write changes in place.

    The attribute map is a new dict (a write adding or replacing an attribute changes the stored
    item's map, not this one); scalar values are shared, maps, lists and sets deep-copied.
    """
    result = Item.__new__(Item)
    result.hash_key, result.range_key = item.hash_key, item.range_key
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(attrs, item.attrs)
    for name, value in attrs.items():
        if value.type not in _IMMUTABLE_TYPES:
            dict.__setitem__(attrs, name, copy.deepcopy(value))
    result.attrs = attrs
    return result
