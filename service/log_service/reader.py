"""Newest-first reads: one service's partition, or a merge of the write-sharded index.

Across services, each of the S index shards is read newest first and the shards' heads are
merged, so the answer is exactly the newest N (ties broken by log_id, which is part of the
sort key). Each shard is first read with a page of N/S items (all shards in
parallel) and topped up with small pages only when the merge drains it, so a request reads
close to N items rather than S x N, and no request scans the table.
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
    first_page: int
    refill_page: int
    buffer: deque = field(default_factory=deque)
    start_key: dict | None = None
    started: bool = False
    done: bool = False
    items_read: int = 0
    queries: int = 0

    def fill(self) -> None:
        size = self.refill_page if self.started else self.first_page
        response = self.fetch(size, self.start_key)
        self.started = True
        self.queries += 1
        self.items_read += int(response.get("ScannedCount", len(response.get("Items", []))))
        self.buffer.extend(response.get("Items", []))
        self.start_key = response.get("LastEvaluatedKey")
        self.done = self.start_key is None

    def peek(self) -> dict[str, Any] | None:
        while not self.buffer and not self.done:
            self.fill()
        return self.buffer[0] if self.buffer else None


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
        if self.pool is not None and len(partitions) > 1:
            list(self.pool.map(lambda p: p.fill(), partitions))
        logs: list[dict[str, Any]] = []
        size = 0
        last_sk: str | None = None
        more = False
        while True:
            if len(logs) >= query.limit or size >= limits.MAX_PAGE_BYTES:
                # Without reading further: a last page may come back empty.
                more = any(p.buffer or not p.done for p in partitions)
                break
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

    def _partitions(self, query: RecentQuery) -> list[_Partition]:
        condition_on_sk = _sort_key_condition(query)
        level_filter = Attr("level").is_in(list(query.levels)) if query.levels else None
        if query.service_name is not None:
            key = Key(keys.PARTITION_KEY).eq(query.service_name)
            fetch = self._fetcher(key, condition_on_sk, level_filter, index=None)
            page = min(query.limit + 1, 1000)
            return [_Partition(fetch, page, page)]
        per_shard = query.limit / self.shard_count
        first = min(1000, math.ceil(per_shard))
        refill = min(1000, max(2, math.ceil(per_shard / 4)))
        return [
            _Partition(
                self._fetcher(
                    Key(keys.INDEX_PARTITION_KEY).eq(shard),
                    condition_on_sk,
                    level_filter,
                    index=self.index_name,
                ),
                first,
                refill,
            )
            for shard in range(self.shard_count)
        ]

    def _fetcher(self, key, condition_on_sk, level_filter, index):
        key_condition = key & condition_on_sk if condition_on_sk is not None else key

        def fetch(limit: int, start_key: dict | None) -> dict[str, Any]:
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
        head = partition.peek()
        if head is not None and (best_sk is None or head[keys.SORT_KEY] > best_sk):
            best, best_sk = partition, head[keys.SORT_KEY]
    return best
