"""Speed: moto's DynamoDB Query in O(log n + k) from sorted partitions that every write maintains.

moto 5.2.5 answers each Query by collecting every item of the table (``Table.all_items``),
sorting the matches and walking them from the start, so one Limit=100 Query costs O(n log n) in
the table's size (about 100 ms at 10k items, 1 s at 100k). This module keeps, per table, one
sorted view of the table's partitions and one per queried index, each a ``SortedKeyList`` per
partition ordered exactly as moto orders query candidates. A Query then bisects to its
key-condition window and walks only what it returns.

Semantics are moto's, not re-derived: the same candidates (index partitions hold the items that
carry the index's key attributes), the same order, the same loop over the window (Limit and
1 MB page checks, ``LastEvaluatedKey``, ``ScannedCount``), moto's own ``compare`` for the key
condition, then moto's projection, filter and projection steps. Anything the fast path does not
model (legacy ``QueryFilter``, multi-attribute index keys, invalid requests) is answered by
moto's own ``Table.query``. ``tests/test_speed_dynamodb_index.py`` compares the two on random
operations.

Views are built lazily on the first Query of a table or index and kept current by the write
paths: ``Table.put_item``, ``Table.delete_item`` and ``DynamoDBBackend.update_item`` (which
mutates items in place). Each write re-reads the live item under its key, so concurrent writes
converge on what ``Table.items`` holds. Code that edits ``Table.items`` directly on a table
already queried must call ``forget(table)``; a table object replaced as a whole (restores,
rolled-back transactions) starts with fresh views.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from sortedcontainers import SortedKeyList

from slsops.local.speed.sort_keys import native

# Above every native key element ((0..3, value) tuples): closes a window after a key prefix.
_HIGHEST = (99,)
# moto refuses items above 405,000 bytes; below this a page cannot hit the 1 MB check again.
_MAX_ITEM_BYTES = 410_000

_INSTALL_LOCK = threading.Lock()
_STATES_LOCK = threading.Lock()
_originals: dict[str, Any] = {}
_states: weakref.WeakKeyDictionary[Any, _TableViews] = weakref.WeakKeyDictionary()


def partition_key(value: Any) -> tuple[str, Any]:
    """Identity of a hash key value, equal exactly when moto's ``DynamoType ==`` is."""
    return (value.type, native(value))


class _View:
    """One sorted view: the table's partitions, or one index's partitions."""

    def __init__(self, signature: Any, hash_attr: str, required: list[str], sort_attrs: list[str]):
        self.signature = signature
        self.hash_attr = hash_attr
        self.required = required
        self.sort_attrs = sort_attrs
        self.partitions: dict[Any, SortedKeyList] = {}
        self.entries: dict[Any, tuple[Any, tuple[Any, Any]]] = {}

    def sort_key(self, item: Any) -> tuple:
        return tuple(native(item.attrs.get(name)) for name in self.sort_attrs)

    def put(self, table_key: Any, item: Any | None) -> None:
        """Make the view hold ``item`` (or nothing) under ``table_key``."""
        previous = self.entries.pop(table_key, None)
        if previous is not None:
            part_key, entry = previous
            partition = self.partitions[part_key]
            partition.remove(entry)
            if not partition:
                del self.partitions[part_key]
        if item is None or not all(item.attrs.get(name) for name in self.required):
            return
        part_key = partition_key(item.attrs[self.hash_attr])
        entry = (self.sort_key(item), item)
        partition = self.partitions.get(part_key)
        if partition is None:
            partition = self.partitions[part_key] = SortedKeyList(key=itemgetter(0))
        partition.add(entry)
        self.entries[table_key] = (part_key, entry)


class _TableViews:
    """The views of one table and the lock that orders their updates and reads."""

    def __init__(self, table: Any):
        self.lock = threading.RLock()
        self.items_id = id(table.items)
        self.views: dict[str | None, _View] = {}

    def current(self, table: Any) -> bool:
        return self.items_id == id(table.items)

    def reset(self, table: Any) -> None:
        self.items_id = id(table.items)
        self.views.clear()


def _table_key(table: Any, hash_key: Any, range_key: Any) -> tuple:
    return (partition_key(hash_key), native(range_key) if table.range_key_attr else None)


def _live_items(table: Any) -> Iterator[Any]:
    for partition in list(table.items.values()):
        if table.range_key_attr:
            yield from list(partition.values())
        else:
            yield partition


def _live_item(table: Any, hash_key: Any, range_key: Any) -> Any | None:
    partition = table.items.get(hash_key)
    if partition is None or not table.range_key_attr:
        return partition
    return partition.get(range_key)


def _view_shape(table: Any, index_name: str | None) -> tuple[Any, str, list[str], list[str]] | None:
    """(signature, hash attribute, required attributes, sort attributes), as moto queries."""
    if index_name is None:
        hash_attrs = [table.hash_key_attr]
        range_attrs: list[str | None] = [table.range_key_attr]
        signature = (None, table.hash_key_attr, table.range_key_attr)
        return (
            signature,
            table.hash_key_attr,
            [],
            table._generate_attr_to_sort_by(hash_attrs, range_attrs),
        )
    index = {i.name: i for i in table.all_indexes()}.get(index_name)
    if index is None:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if len(hashes) != 1 or len(ranges) > 1:
        return None
    if ranges:
        range_attrs = [ranges[0], table.range_key_attr]
    elif type(index).__name__ == "GlobalSecondaryIndex" and table.range_key_attr:
        range_attrs = [table.range_key_attr, table.range_key_attr]
    else:
        range_attrs = [table.hash_key_attr, table.range_key_attr]
    sort_attrs = table._generate_attr_to_sort_by([hashes[0], table.hash_key_attr], range_attrs)
    signature = (index_name, repr(index.schema), table.hash_key_attr, table.range_key_attr)
    return signature, hashes[0], [hashes[0], *ranges], sort_attrs


def _views_of(table: Any) -> _TableViews:
    with _STATES_LOCK:
        views = _states.get(table)
        if views is None:
            views = _states[table] = _TableViews(table)
        return views


def _view(table: Any, views: _TableViews, index_name: str | None) -> _View | None:
    """The current view for a query (built now if missing or outdated); caller holds the lock."""
    shape = _view_shape(table, index_name)
    if shape is None:
        return None
    if not views.current(table):
        views.reset(table)
    view = views.views.get(index_name)
    if view is None or view.signature != shape[0]:
        view = _View(*shape)
        for item in _live_items(table):
            view.put(_table_key(table, item.hash_key, item.range_key), item)
        views.views[index_name] = view
    return view


def reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    """Bring every built view of ``table`` in line with the live item under this key."""
    views = _states.get(table)
    if views is None:
        return
    with views.lock:
        if not views.current(table) or (table.range_key_attr and range_key is None):
            views.reset(table)  # a whole partition may have gone: rebuild on the next query
            return
        item = _live_item(table, hash_key, range_key)
        table_key = _table_key(table, hash_key, range_key)
        for view in views.views.values():
            view.put(table_key, item)


def forget(table: Any) -> None:
    """Drop a table's views (after editing ``Table.items`` directly)."""
    views = _states.get(table)
    if views is not None:
        with views.lock:
            views.reset(table)


# --- the query --------------------------------------------------------------------------------


def _window(op: str | None, values: list[Any], part: Any) -> tuple[tuple, tuple]:
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


def _plan(
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


def _start_key(view: _View, exclusive_start_key: dict[str, Any] | None) -> tuple | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if exclusive_start_key is None:
        return None
    return tuple(native(DynamoType(exclusive_start_key[name])) for name in view.sort_attrs)


def _candidates(
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


def query(
    self: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list | None = None,
    range_key_conditions: list | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Any], int, dict[str, Any] | None]:
    """moto's ``Table.query``, answered from the sorted views when the request allows."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    args = (hash_key, range_comparison, range_objs, limit, exclusive_start_key)
    args += (scan_index_forward, projection_expressions, index_name, consistent_read)
    plan = _plan(
        self,
        hash_key,
        range_comparison,
        range_objs,
        exclusive_start_key,
        index_name,
        consistent_read,
        hash_key_conditions,
        range_key_conditions,
        filter_kwargs,
    )
    if plan is not None and exclusive_start_key is not None:
        shape = _view_shape(self, index_name)
        if shape is None or any(name not in exclusive_start_key for name in shape[3]):
            plan = None
    if plan is None:
        return _originals["query"](
            self,
            *args,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )

    forward = scan_index_forward is not False
    compare_attr = plan["compare_attr"]
    results: list[Any] = []
    result_size = 0
    last_evaluated_key = None
    views = _views_of(self)
    with views.lock:
        view = _view(self, views, index_name)
        if view is None:  # the index changed under us: moto answers
            return _originals["query"](
                self,
                *args,
                filter_expression,
                hash_key_conditions=hash_key_conditions,
                range_key_conditions=range_key_conditions,
            )
        partition = view.partitions.get(partition_key(plan["hash_key"]))
        if partition is not None:
            part = native(plan["hash_key"])
            low, high = _window(range_comparison, range_objs, part)
            window, after = _candidates(
                partition, low, high, _start_key(view, exclusive_start_key), forward
            )
            stopped = False
            for result in window:
                size = result.size()
                if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
                    last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
                    stopped = True
                    break
                if _matches(result, range_comparison, range_objs, compare_attr, index_name):
                    results.append(result)
                    result_size += size
            if not stopped:
                # Items past the window never match; moto still ends the page on the first
                # one when Limit is reached, or on one that would cross 1 MB.
                for result in after:
                    if len(results) == limit or result_size + result.size() > RESULT_SIZE_LIMIT:
                        last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
                        break
                    if result_size + _MAX_ITEM_BYTES <= RESULT_SIZE_LIMIT:
                        break
    scanned_count = len(results)

    results = copy.deepcopy(results)
    if index_name:
        index = self.get_index(index_name)
        results = [index.project(r) for r in results]
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


def _matches(
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


# --- write hooks --------------------------------------------------------------------------------


def _put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
    item = _originals["put_item"](self, *args, **kwargs)
    reindex(self, item.hash_key, item.range_key)
    return item


def _delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
    try:
        return _originals["delete_item"](self, hash_key, range_key)
    finally:
        reindex(self, hash_key, range_key)


def _update_item(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any):
    try:
        return _originals["update_item"](backend, table_name, key, *args, **kwargs)
    finally:
        _reindex_key(backend, table_name, key)


def _reindex_key(backend: Any, table_name: str, key: dict[str, Any]) -> None:
    try:
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
    except Exception:  # moto already answered the request with its own error
        return
    reindex(table, hash_key, range_key)


def install() -> None:
    """Patch moto's ``Table`` and ``DynamoDBBackend`` (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _INSTALL_LOCK:
        if _originals:
            return
        _originals.update(
            query=Table.query,
            put_item=Table.put_item,
            delete_item=Table.delete_item,
            update_item=DynamoDBBackend.update_item,
        )
        Table.query = query  # type: ignore[method-assign]
        Table.put_item = _put_item  # type: ignore[method-assign]
        Table.delete_item = _delete_item  # type: ignore[method-assign]
        DynamoDBBackend.update_item = _update_item  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore moto's methods (differential tests run both)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _INSTALL_LOCK:
        if not _originals:
            return
        Table.query = _originals.pop("query")  # type: ignore[method-assign]
        Table.put_item = _originals.pop("put_item")  # type: ignore[method-assign]
        Table.delete_item = _originals.pop("delete_item")  # type: ignore[method-assign]
        DynamoDBBackend.update_item = _originals.pop("update_item")  # type: ignore[method-assign]
        _states.clear()
