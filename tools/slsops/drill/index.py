"""The restored index against the restored table, in bounded memory (DRL-006).

Reading a few sampled entries through the index let an index that lacks items, or holds
changed copies, pass. The index projects ALL attributes, so every item of the restored table
that carries the index's key attributes must be in the index, identical, and the index must
hold nothing else.

Pass 1 is the restored table's own tally (``compare.tally``): besides its figures it keeps,
per bucket of primary keys, the count and checksum (``item_hash``, sum mod 2^256) of the items
that carry the index keys, reusing the hash it computes anyway. The index is then scanned once
and its buckets are compared. After ``wait_active`` the restored table takes no writes, so they
must agree exactly; a scan of a global index is eventually consistent on AWS, so a mismatch is
re-scanned once after ``RESCAN_PAUSE_S`` before it counts. Pass 2 (only on a mismatch) scans
both again and keeps the hashes of the differing buckets' items alone, as many buckets as fit
in ``MAX_RESOLVED`` items, to name what the index lacks, holds changed, or holds alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slsops.audit.scan import parallel_scan
from slsops.drill.checksum import BUCKETS, MODULUS, bucket_of, hex_of, item_hash, primary_key

RESCAN_PAUSE_S = 5.0  # before the one re-scan of an index that disagreed
MAX_RESOLVED = 200_000  # items (table + index) held in pass 2 to name the differences
NAMED = 20  # keys named in the evidence per kind of difference
KINDS = ("missing", "differing", "index_only", "duplicated")


def key_names(description: dict[str, Any], index_name: str) -> tuple[str, ...] | None:
    """The index's key attributes from DescribeTable; None when the table has no such index."""
    for index in description.get("GlobalSecondaryIndexes") or []:
        if index.get("IndexName") == index_name:
            return tuple(k["AttributeName"] for k in index["KeySchema"])
    return None


@dataclass
class IndexTally:
    """Count and checksum, per bucket of primary keys, of the items the index must hold."""

    names: tuple[str, ...]  # the index's key attributes: an item without one is not indexed
    buckets: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in range(BUCKETS)])
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def carries(self, item: dict[str, Any]) -> bool:
        return all(name in item for name in self.names)

    def add(self, item: dict[str, Any], digest: int) -> None:
        """One item and its ``item_hash`` (callers hold whatever lock guards the tally)."""
        if self.carries(item):
            row = self.buckets[bucket_of(primary_key(item))]
            row[0] += 1
            row[1] = (row[1] + digest) % MODULUS

    def add_page(self, items: list[dict[str, Any]]) -> None:
        digests = [(item, item_hash(item)) for item in items]
        with self._lock:
            for item, digest in digests:
                self.add(item, digest)

    @property
    def count(self) -> int:
        return sum(row[0] for row in self.buckets)

    @property
    def checksum(self) -> int:
        return sum(row[1] for row in self.buckets) % MODULUS

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "checksum": hex_of(self.checksum)}


def differing(table: IndexTally, index: IndexTally) -> list[int]:
    return [b for b in range(BUCKETS) if table.buckets[b] != index.buckets[b]]


def scan_index(
    client: Any, table: str, index_name: str, names: tuple[str, ...], segments: int, threads: int
) -> IndexTally:
    """Tally what the index holds (a global index has no consistent read)."""
    tally = IndexTally(names)
    parallel_scan(client, table, segments, threads, tally.add_page, index_name=index_name)
    return tally


@dataclass
class Copies:
    """Pass 2: the hashes each side holds under a primary key of the differing buckets."""

    table: dict[str, int] = field(default_factory=dict)
    index: dict[str, list[int]] = field(default_factory=dict)  # a broken index may hold two

    def add(self, side: str, item: dict[str, Any]) -> None:
        key = primary_key(item)
        if side == "table":
            self.table[key] = item_hash(item)
        else:
            self.index.setdefault(key, []).append(item_hash(item))


def judge(copies: Copies) -> dict[str, list[str]]:
    """Each key of the resolved buckets: missing from the index, changed there, held by the
    index alone, or held by it more than once."""
    found: dict[str, list[str]] = {
        "missing": [],
        "differing": [],
        "index_only": [],
        "duplicated": [],
    }
    for key in sorted(set(copies.table) | set(copies.index)):
        table, index = copies.table.get(key), copies.index.get(key, [])
        if table is None:
            found["index_only"].append(key)
        elif not index:
            found["missing"].append(key)
        elif any(digest != table for digest in index):
            found["differing"].append(key)
        if len(index) > 1:
            found["duplicated"].append(key)
    return found


def _resolvable(table: IndexTally, index: IndexTally, buckets: list[int]) -> set[int]:
    """The differing buckets whose items fit in ``MAX_RESOLVED`` (each holds a difference)."""
    chosen, held = set(), 0
    for number in buckets:
        held += table.buckets[number][0] + index.buckets[number][0]
        if held > MAX_RESOLVED:
            break
        chosen.add(number)
    return chosen


def resolve(
    client: Any,
    table_name: str,
    index_name: str,
    names: tuple[str, ...],
    buckets: set[int],
    segments: int,
    threads: int,
) -> Copies:
    copies, lock, probe = Copies(), threading.Lock(), IndexTally(names)

    def keep(side: str) -> Callable[[list[dict[str, Any]]], None]:
        def on_page(items: list[dict[str, Any]]) -> None:
            with lock:
                for item in items:
                    if probe.carries(item) and bucket_of(primary_key(item)) in buckets:
                        copies.add(side, item)

        return on_page

    parallel_scan(client, table_name, segments, threads, keep("table"), consistent_read=True)
    parallel_scan(client, table_name, segments, threads, keep("index"), index_name=index_name)
    return copies


def compare_index(
    client: Any,
    table_name: str,
    index_name: str,
    table: IndexTally,
    segments: int,
    threads: int,
) -> dict[str, Any]:
    """The restored index against the restored table's tally; the record DRL-006 judges."""
    index = scan_index(client, table_name, index_name, table.names, segments, threads)
    scans = 1
    if differing(table, index):
        time.sleep(RESCAN_PAUSE_S)  # eventually consistent: one more look before judging
        index = scan_index(client, table_name, index_name, table.names, segments, threads)
        scans = 2
    buckets = differing(table, index)
    record: dict[str, Any] = {
        "index": index_name,
        "key_attributes": list(table.names),
        "table": table.as_dict(),
        "index_scan": index.as_dict(),
        "scans": scans,
        "differing_buckets": len(buckets),
        "resolved_buckets": 0,
    }
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    if buckets:
        chosen = _resolvable(table, index, buckets)
        copies = resolve(client, table_name, index_name, table.names, chosen, segments, threads)
        found = judge(copies)
        record["resolved_buckets"] = len(chosen)
    for kind, values in found.items():
        record[kind] = {"count": len(values), "keys": values[:NAMED]}
    return record
