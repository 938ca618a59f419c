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

The views and how writes keep them current are ``sorted_views``; the key-condition window and
when the fast path may answer are ``query_window``. This module is the patch: the Query that
walks a view, the write hooks, install and uninstall.
"""

from __future__ import annotations

import threading
from typing import Any

from slsops.local.speed.projection import finish
from slsops.local.speed.query_window import (
    candidates,
    fast_path_plan,
    key_condition_matches,
    key_window,
    start_key,
)
from slsops.local.speed.sort_keys import native
from slsops.local.speed.sorted_views import (
    current_view,
    forget_all,
    partition_key,
    reindex,
    view_shape,
    views_of,
)

# moto refuses items above 405,000 bytes; below this a page cannot hit the 1 MB check again.
_MAX_ITEM_BYTES = 410_000

_INSTALL_LOCK = threading.Lock()
_originals: dict[str, Any] = {}


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
    plan = fast_path_plan(
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
        shape = view_shape(self, index_name)
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
    views = views_of(self)
    with views.lock:
        view = current_view(self, views, index_name)
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
            low, high = key_window(range_comparison, range_objs, part)
            window, after = candidates(
                partition, low, high, start_key(view, exclusive_start_key), forward
            )
            stopped = False
            for result in window:
                size = result.size()
                if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
                    last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
                    stopped = True
                    break
                if key_condition_matches(
                    result, range_comparison, range_objs, compare_attr, index_name
                ):
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

    results = finish(self, results, index_name, filter_expression, projection_expressions)
    return results, scanned_count, last_evaluated_key


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
        forget_all()
