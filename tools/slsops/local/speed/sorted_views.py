"""Sorted views of a moto table: its partitions, and each queried index's, kept in query order.

Each view holds, per partition, a ``SortedKeyList`` ordered exactly as moto orders query
candidates, so a Query can bisect to its key-condition window (``query_window``). Views are
built lazily on the first Query of a table or index and kept current by the write hooks
(``reindex``), which re-read the live item under its key so concurrent writes converge on what
``Table.items`` holds. Code that edits ``Table.items`` directly on a table already queried must
call ``forget(table)``; a table object replaced as a whole (restores, rolled-back transactions)
starts with fresh views.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from sortedcontainers import SortedKeyList

from slsops.local.speed.sort_keys import native

_STATES_LOCK = threading.Lock()
_states: weakref.WeakKeyDictionary[Any, TableViews] = weakref.WeakKeyDictionary()


def partition_key(value: Any) -> tuple[str, Any]:
    """Identity of a hash key value, equal exactly when moto's ``DynamoType ==`` is."""
    return (value.type, native(value))


class SortedView:
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


class TableViews:
    """The views of one table and the lock that orders their updates and reads."""

    def __init__(self, table: Any):
        self.lock = threading.RLock()
        self.items_id = id(table.items)
        self.views: dict[str | None, SortedView] = {}

    def current(self, table: Any) -> bool:
        return self.items_id == id(table.items)

    def reset(self, table: Any) -> None:
        self.items_id = id(table.items)
        self.views.clear()


def key_in_table(table: Any, hash_key: Any, range_key: Any) -> tuple:
    """The item's primary key as the views index it (native values, comparable and hashable)."""
    return (partition_key(hash_key), native(range_key) if table.range_key_attr else None)


def live_items(table: Any) -> Iterator[Any]:
    """Every item ``Table.items`` holds now (a snapshot of the partitions, safe to iterate)."""
    for partition in list(table.items.values()):
        if table.range_key_attr:
            yield from list(partition.values())
        else:
            yield partition


def live_item(table: Any, hash_key: Any, range_key: Any) -> Any | None:
    """The item ``Table.items`` holds under this key now, or None."""
    partition = table.items.get(hash_key)
    if partition is None or not table.range_key_attr:
        return partition
    return partition.get(range_key)


def view_shape(table: Any, index_name: str | None) -> tuple[Any, str, list[str], list[str]] | None:
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


def views_of(table: Any) -> TableViews:
    """The views of ``table``, created empty on first use."""
    with _STATES_LOCK:
        views = _states.get(table)
        if views is None:
            views = _states[table] = TableViews(table)
        return views


def current_view(table: Any, views: TableViews, index_name: str | None) -> SortedView | None:
    """The current view for a query (built now if missing or outdated); caller holds the lock."""
    shape = view_shape(table, index_name)
    if shape is None:
        return None
    if not views.current(table):
        views.reset(table)
    view = views.views.get(index_name)
    if view is None or view.signature != shape[0]:
        view = SortedView(*shape)
        for item in live_items(table):
            view.put(key_in_table(table, item.hash_key, item.range_key), item)
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
        item = live_item(table, hash_key, range_key)
        table_key = key_in_table(table, hash_key, range_key)
        for view in views.views.values():
            view.put(table_key, item)


def forget(table: Any) -> None:
    """Drop a table's views (after editing ``Table.items`` directly)."""
    views = _states.get(table)
    if views is not None:
        with views.lock:
            views.reset(table)


def forget_all() -> None:
    """Drop every table's views (when the patch is removed)."""
    _states.clear()
