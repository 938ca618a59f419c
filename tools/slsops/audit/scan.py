"""Parallel segmented scan: each thread reads its segments page by page.

Memory is bounded by threads x one page (DynamoDB pages are at most 1 MB): a page is handed
to ``on_page`` in the thread that read it and dropped before the next one is fetched.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slsops.deployment import dynamo_pages

MAX_SEGMENTS = 1_000_000  # DynamoDB's own limit on TotalSegments
BYTES_PER_SEGMENT = 2 * 1024**3  # AWS guidance: about one segment per 2 GB of table
ASSUMED_ITEM_BYTES = 1024  # when DescribeTable reports no size (moto reports 0)
MAX_THREADS = 16
MAX_PAGES_PER_SEGMENT = 10_000_000  # a bound on every loop; a segment never has this many

Page = list[dict[str, Any]]


def default_segments(
    item_count: int = 0, *, size_bytes: int = 0, workers: int = MAX_THREADS
) -> int:
    """Segments for a table of ``size_bytes`` (DescribeTable's TableSizeBytes).

    One per 2 GB as AWS suggests, at least 1, at most ``workers`` (more segments than
    threads only queue). A table that reports no size is sized at 1 KB per item.
    """
    size = size_bytes if size_bytes > 0 else max(item_count, 0) * ASSUMED_ITEM_BYTES
    return max(1, min(max(workers, 1), math.ceil(size / BYTES_PER_SEGMENT)))


def default_threads(segments: int) -> int:
    return max(1, min(segments, MAX_THREADS))


@dataclass
class ScanStats:
    items: int = 0
    pages: int = 0
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0


def parallel_scan(
    client: Any,
    table_name: str,
    segments: int,
    threads: int,
    on_page: Callable[[Page], None],
    *,
    index_name: str | None = None,
    projection: str | None = None,
    names: dict[str, str] | None = None,
    consistent_read: bool = False,
) -> ScanStats:
    """Scan every segment of the table (or index), calling ``on_page(items)`` per page.

    The first exception of any segment stops the other segments at their next page and is
    re-raised here.
    """
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ValueError(f"segments must be 1 .. {MAX_SEGMENTS}")
    stats = ScanStats()
    lock = threading.Lock()
    stop = threading.Event()
    base: dict[str, Any] = {"TableName": table_name, "TotalSegments": segments}
    if index_name:
        base["IndexName"] = index_name
    if projection:
        base["ProjectionExpression"] = projection
    if names:
        base["ExpressionAttributeNames"] = names
    if consistent_read:
        base["ConsistentRead"] = True

    def scan_segment(segment: int) -> None:
        try:
            for page in dynamo_pages.pages(
                client.scan, MAX_PAGES_PER_SEGMENT, **base, Segment=segment
            ):
                items = page.get("Items", [])
                on_page(items)
                with lock:
                    stats.items += len(items)
                    stats.pages += 1
                if stop.is_set():  # another segment failed: stop at this page
                    return
        except BaseException:
            stop.set()
            raise

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, min(threads, segments))) as pool:
        futures = [pool.submit(scan_segment, s) for s in range(segments)]
        for future in futures:
            future.result()
    stats.seconds = time.perf_counter() - started
    return stats
