"""Newest-first reads: one service's partition, or a merge of the write-sharded index.

Across services, each of the S index shards is read newest first and the shards' heads are
merged, so the answer is exactly the newest N (ties broken by log_id, which is part of the
sort key). Every shard is first read with a page of N/S items, all in parallel. When the
merge drains shards, they are topped up together (in parallel) with pages of (N - taken)/S:
a shard that runs dry is usually short of only a few items. Simulated and measured, this
reads about 1.15 x N items for N = 100 and S = 8 rather than S x N, and never scans.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from log_service import keys, limits
from log_service.items import public_view


@dataclass(frozen=True)
class RecentQuery:
    service_name: str | None = None
    levels: tuple[str, ...] = ()
    since: str | None = None  # stored-form timestamp, inclusive
    until: str | None = None  # stored-form timestamp, inclusive
    limit: int = limits.DEFAULT_LIMIT
    cursor: str | None = None  # sort key of the last entry already returned (exclusive)


@dataclass
class Page:
    logs: list[dict[str, Any]]
    next_cursor: str | None
    items_read: int = 0
    queries: int = 0


@dataclass
class _Partition:
    """One newest-first stream of items (a service partition or an index shard)."""

    fetch: Callable[[int, dict | None], dict[str, Any]]
    buffer: deque = field(default_factory=deque)
    start_key: dict | None = None
    done: bool = False
    empty_fills: int = 0
    items_read: int = 0
    queries: int = 0

    def fill(self, size: int) -> None:
        # A filter that matches little: grow the page, so a sparse level costs few round trips.
        size = min(1000, size * 2**self.empty_fills)
        response = self.fetch(size, self.start_key)
        self.queries += 1
        self.items_read += int(response.get("ScannedCount", len(response.get("Items", []))))
        items = response.get("Items", [])
        self.empty_fills = 0 if items else min(self.empty_fills + 1, 10)
        self.buffer.extend(items)
        self.start_key = response.get("LastEvaluatedKey")
        self.done = self.start_key is None

    @property
    def drained(self) -> bool:
        return not self.buffer and not self.done


class LogReader:
    def __init__(
        self, table: Any, index_name: str, shard_count: int, pool: ThreadPoolExecutor | None = None
    ) -> None:
        self.table = table
        self.index_name = index_name
        self.shard_count = shard_count
        self.pool = pool

    def recent(self, query: RecentQuery) -> Page:
        partitions = self._partitions(query)
        logs: list[dict[str, Any]] = []
        size = 0
        last_sk: str | None = None
        more = False
        while True:
            if len(logs) >= query.limit or size >= limits.MAX_PAGE_BYTES:
                # Without reading further: a last page may come back empty.
                more = any(p.buffer or not p.done for p in partitions)
                break
            self._top_up(partitions, query.limit - len(logs))
            best = _newest_head(partitions)
            if best is None:
                break
            item = best.buffer.popleft()
            if query.cursor is not None and item[keys.SORT_KEY] >= query.cursor:
                continue  # the cursor entry itself (inclusive BETWEEN bound)
            view = public_view(item)
            size += len(json.dumps(view, ensure_ascii=False).encode("utf-8"))
            logs.append(view)
            last_sk = item[keys.SORT_KEY]
        return Page(
            logs=logs,
            next_cursor=last_sk if more else None,
            items_read=sum(p.items_read for p in partitions),
            queries=sum(p.queries for p in partitions),
        )

    def _top_up(self, partitions: list[_Partition], wanted: int) -> None:
        """Refill every drained stream, in parallel, with its share of ``wanted`` and margin."""
        while drained := [p for p in partitions if p.drained]:
            page = wanted + 1 if len(partitions) == 1 else shard_page(wanted, len(partitions))
            if self.pool is not None and len(drained) > 1:
                list(self.pool.map(_Partition.fill, drained, [page] * len(drained)))
            else:
                for partition in drained:
                    partition.fill(page)

    def _partitions(self, query: RecentQuery) -> list[_Partition]:
        level_filter = Attr("level").is_in(list(query.levels)) if query.levels else None
        if query.service_name is not None:
            key = Key(keys.PARTITION_KEY).eq(query.service_name)
            return [_Partition(self._fetcher(key, query, level_filter, index=None))]
        return [
            _Partition(
                self._fetcher(
                    Key(keys.INDEX_PARTITION_KEY).eq(shard),
                    query,
                    level_filter,
                    index=self.index_name,
                )
            )
            for shard in range(self.shard_count)
        ]

    def _fetcher(self, key, query: RecentQuery, level_filter, index):
        condition_on_sk = _sort_key_condition(query)

        def fetch(limit: int, start_key: dict | None) -> dict[str, Any]:
            key_condition = key & condition_on_sk if condition_on_sk is not None else key
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": key_condition,
                "ScanIndexForward": False,
                "Limit": limit,
            }
            if index:
                kwargs["IndexName"] = index
            if level_filter is not None:
                kwargs["FilterExpression"] = level_filter
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            return self.table.query(**kwargs)

        return fetch


def shard_page(wanted: int, shards: int) -> int:
    """Items to ask each shard for when the merge still wants ``wanted`` entries.

    Entries land on shards uniformly (a hash of the log id), so a shard's share of the newest
    ``wanted`` is binomial: mean wanted/S, spread sqrt(wanted (1/S)(1 - 1/S)). Asking for the
    mean alone drained about half the shards before the merge was done, and each drained shard
    cost another query in another round (newest 100 over 8 shards: ~14 queries in 2-3
    sequential rounds, ~1.2 x N items read). Two spreads of margin make one round nearly always
    enough (~8.1 queries, ~1.7 x N items read): fewer round trips (the latency) for items that
    cost little (a query's read units are its bytes rounded up to 4 KB, so small entries fill
    the rounding; `nox -s bench` prints both).
    """
    share = 1 / shards
    return math.ceil(wanted * share + 2 * math.sqrt(wanted * share * (1 - share))) + 1


def _sort_key_condition(query: RecentQuery):
    """Bounds on ``sk``; values go in as expression placeholders, never into the text."""
    low = keys.since_bound(query.since) if query.since else None
    high = keys.until_bound(query.until) if query.until else None
    exclusive = False
    if query.cursor is not None and (high is None or query.cursor < high):
        high, exclusive = query.cursor, True
    sk = Key(keys.SORT_KEY)
    if low is not None and high is not None:
        # BETWEEN is inclusive: the merge skips the cursor entry itself.
        return sk.between(low, high)
    if low is not None:
        return sk.gte(low)
    if high is not None:
        return sk.lt(high) if exclusive else sk.lte(high)
    return None


def _newest_head(partitions: list[_Partition]) -> _Partition | None:
    best, best_sk = None, None
    for partition in partitions:
        head = partition.buffer[0] if partition.buffer else None
        if head is not None and (best_sk is None or head[keys.SORT_KEY] > best_sk):
            best, best_sk = partition, head[keys.SORT_KEY]
    return best
