"""Where in a sorted view a Query's answer lies, and whether the fast path may answer at all.

The bounds are a superset of what the key condition matches; each candidate is still tested
with moto's own ``DynamoType.compare`` (``key_condition_matches``), so the window only decides
what is walked, never what is returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedKeyList

from slsops.local.speed.sort_keys import native
from slsops.local.speed.sorted_views import SortedView

# Above every native key element ((0..3, value) tuples): closes a window after a key prefix.
_HIGHEST = (99,)


def key_window(op: str | None, values: list[Any], part: Any) -> tuple[tuple, tuple]:
    """Key bounds [low, high) holding every item the key condition can match (a superset)."""
    low: tuple = (part,)
    high: tuple = (part, _HIGHEST)
    if not op:
        return low, high
    first = native(values[0]) if values else None
    if op in ("=", "EQ"):
        return (part, first), (part, first, _HIGHEST)
    if op in ("<", "LT"):
        return low, (part, first)
    if op in ("<=", "LE"):
        return low, (part, first, _HIGHEST)
    if op in (">", "GT"):
        return (part, first, _HIGHEST), high
    if op in (">=", "GE"):
        return (part, first), high
    if op == "BETWEEN" and len(values) == 2:
        return (part, first), (part, native(values[1]), _HIGHEST)
    if op == "BEGINS_WITH" and values and values[0].type == "S":
        prefix = values[0].value
        if prefix and ord(prefix[-1]) < 0x10FFFF:
            successor = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            return (part, (2, prefix)), (part, (2, successor))
        return (part, (2, prefix)), high
    return low, high


def fast_path_plan(
    table: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    exclusive_start_key: dict[str, Any] | None,
    index_name: str | None,
    consistent_read: bool,
    hash_key_conditions: list | None,
    range_key_conditions: list | None,
    filter_kwargs: dict[str, Any],
) -> dict[str, Any] | None:
    """What the fast path needs, or None when moto's own query must answer."""
    if filter_kwargs or len(range_key_conditions or []) > 1:
        return None
    if bool(range_comparison) != bool(range_key_conditions):
        return None
    range_attr = range_key_conditions[0][0] if range_key_conditions else None
    if index_name is None:
        if hash_key is None:
            return None
        if range_attr is not None and range_attr != table.range_key_attr:
            return None
        compare_attr = range_attr
    else:
        index = {i.name: i for i in table.all_indexes()}.get(index_name)
        if index is None or (consistent_read and index in table.global_indexes):
            return None
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        if len(hashes) != 1 or len(ranges) > 1 or len(hash_key_conditions or []) != 1:
            return None
        if hash_key_conditions[0][0] != hashes[0]:
            return None
        if range_attr is not None and (not ranges or range_attr != ranges[0]):
            return None
        hash_key = hash_key_conditions[0][1]
        compare_attr = range_attr
    if any(getattr(v, "type", None) not in ("S", "N", "B") for v in range_objs):
        return None
    return {"hash_key": hash_key, "compare_attr": compare_attr}


def start_key(view: SortedView, exclusive_start_key: dict[str, Any] | None) -> tuple | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if exclusive_start_key is None:
        return None
    return tuple(native(DynamoType(exclusive_start_key[name])) for name in view.sort_attrs)


def candidates(
    partition: SortedKeyList, low: tuple, high: tuple, start: tuple | None, forward: bool
) -> tuple[Iterator[Any], Iterator[Any]]:
    """(the window in query order after the start key, what follows the window in that order)."""
    lo = partition.bisect_key_left(low)
    hi = max(lo, partition.bisect_key_left(high))
    if forward:
        first = 0 if start is None else partition.bisect_key_right(start)
        window = partition.islice(max(lo, first), hi)
        after = partition.islice(max(hi, first), len(partition))
    else:
        last = len(partition) if start is None else partition.bisect_key_left(start)
        window = partition.islice(lo, max(lo, min(hi, last)), reverse=True)
        after = partition.islice(0, min(lo, last), reverse=True)
    return (entry[1] for entry in window), (entry[1] for entry in after)


def key_condition_matches(
    item: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    compare_attr: str | None,
    index_name: str | None,
) -> bool:
    """moto's key-condition test for one candidate (its own ``DynamoType.compare``)."""
    if not range_comparison:
        return True
    value = item.attrs.get(compare_attr) if compare_attr else None
    if value:
        return bool(value.compare(range_comparison, range_objs))
    if not index_name:
        return bool(item.range_key.compare(range_comparison, range_objs))
    return False
