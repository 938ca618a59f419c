"""What spans items, in bounded memory: duplicate log ids, index consistency, counts.

Duplicate log ids (``DuplicateFinder``): per log item the audit holds one 8-byte digest
(blake2b-64 of the log id) in a fixed buffer of ``BUFFER_DIGESTS`` (2 MiB). A full buffer is
sorted and spilled to a temporary file as a sorted run (8 bytes per item on disk); at the end
the runs are merged (at most ``MERGE_FAN_IN`` files open at once, 64 KiB read buffer each)
and equal neighbours are duplicates. Memory is therefore bounded whatever the table size:
the buffer, the transient list while sorting it (~40 bytes per buffered digest, ~10 MiB), and
the merge buffers (~2 MiB); disk use is 8 bytes per log item. Two different log ids share a
digest with probability about n^2 / 2^65 (1e-7 at 2 million items); a second pass reads the
items behind each repeated digest and compares real log ids, so a digest collision is never
reported as a duplicate.

Index consistency: the table scan tallies, per ``gsi_shard`` value, the items the index must
hold (every item with a numeric ``gsi_shard`` and a string ``sk``: the index is sparse): their
count and the sum of 8-byte digests of their primary keys (``ShardTally``, 16 bytes per shard,
whatever the table size). After the scan each shard of the index is read with ``Query``
(keys only) and tallied the same way; equal tallies mean the index holds exactly the table's
items, not just as many. A reservoir sample of table items is also looked up in the index by
key (the read path the service uses). On a live table both
sides count only items ingested a minute or more before the audit started (``ingested_at``),
so writes during the audit and index propagation lag cause no false mismatch; an item that
TTL deletes during the audit can still show as a difference of one.

Counts per service, level and day: one counter per distinct (service, level, day), capped at
``MAX_COUNT_KEYS`` keys; beyond that the rest is counted under ``"(other)"``.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
import random
import tempfile
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from log_service import keys

BUFFER_DIGESTS = 262_144  # 2 MiB of 8-byte digests before a spill
MERGE_FAN_IN = 32
READ_CHUNK = 8_192  # digests per read while merging (64 KiB)
MAX_REPORTED_DUPLICATES = 10_000  # digests followed up in the second pass
MAX_COUNT_KEYS = 10_000
KEY_SUM_MODULUS = 2**64
OTHER = "(other)"


def log_id_digest(log_id: str) -> int:
    """The 8-byte digest held per log item for duplicate detection."""
    digest = hashlib.blake2b(log_id.encode("utf-8"), digest_size=8, person=b"slsops-dup")
    return int.from_bytes(digest.digest(), "big")


def _write_run(values: Iterable[int], directory: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix="run-", suffix=".u64")
    with os.fdopen(fd, "wb") as handle:
        chunk = array("Q")
        for value in values:
            chunk.append(value)
            if len(chunk) >= READ_CHUNK:
                chunk.tofile(handle)
                chunk = array("Q")
        chunk.tofile(handle)
    return Path(name)


def _read_run(path: Path) -> Iterator[int]:
    with path.open("rb") as handle:
        while True:
            chunk = array("Q")
            with contextlib.suppress(EOFError):  # the last chunk is shorter
                chunk.fromfile(handle, READ_CHUNK)
            if not chunk:
                return
            yield from chunk


class DuplicateFinder:
    """Repeated 64-bit digests among everything added, in bounded memory (see module doc)."""

    def __init__(self, buffer_digests: int = BUFFER_DIGESTS) -> None:
        self.buffer_digests = buffer_digests
        self.buffer = array("Q")
        self.runs: list[Path] = []
        self.added = 0
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def add_many(self, digests: Iterable[int]) -> None:
        with self._lock:
            for digest in digests:
                self.buffer.append(digest)
                self.added += 1
                if len(self.buffer) >= self.buffer_digests:
                    self._spill()

    def _spill(self) -> None:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="slsops-audit-")
        self.runs.append(_write_run(sorted(self.buffer), Path(self._tmp.name)))
        self.buffer = array("Q")

    def duplicates(self, limit: int = MAX_REPORTED_DUPLICATES) -> tuple[set[int], int]:
        """(up to ``limit`` repeated digests, how many distinct digests repeat in all)."""
        with self._lock:
            runs = list(self.runs)
            directory = Path(self._tmp.name) if self._tmp else None
            while len(runs) > MERGE_FAN_IN and directory is not None:
                group, runs = runs[:MERGE_FAN_IN], runs[MERGE_FAN_IN:]
                runs.append(_write_run(heapq.merge(*(_read_run(p) for p in group)), directory))
                for path in group:
                    path.unlink(missing_ok=True)
            self.runs = runs
            merged = heapq.merge(sorted(self.buffer), *(_read_run(p) for p in runs))
            found: set[int] = set()
            repeated = 0
            previous: int | None = None
            counted: int | None = None
            for value in merged:
                if value == previous and value != counted:
                    repeated += 1
                    counted = value
                    if len(found) < limit:
                        found.add(value)
                previous = value
            return found, repeated

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self.runs = []
        self.buffer = array("Q")


class Reservoir:
    """A uniform random sample of ``size`` values from a stream (Algorithm R)."""

    def __init__(self, size: int, seed: int | None = None) -> None:
        self.size = size
        self.seen = 0
        self.sample: list[Any] = []
        self._random = random.Random(seed)  # noqa: S311 - sampling, not security

    def offer(self, value: Any) -> None:
        self.seen += 1
        if len(self.sample) < self.size:
            self.sample.append(value)
        else:
            slot = self._random.randrange(self.seen)
            if slot < self.size:
                self.sample[slot] = value


class CappedCounter:
    """A Counter that keeps at most ``cap`` keys; later new keys count under ``(other)``."""

    def __init__(self, cap: int = MAX_COUNT_KEYS) -> None:
        self.cap = cap
        self.counts: Counter[str] = Counter()

    def add(self, key: str, amount: int = 1) -> None:
        if key in self.counts or len(self.counts) < self.cap:
            self.counts[key] += amount
        else:
            self.counts[OTHER] += amount

    def merge(self, other: Counter[str]) -> None:
        for key, amount in other.items():
            self.add(key, amount)


def key_digest(partition: str, sort_key: str) -> int:
    """64-bit digest of an item's primary key; summed per shard into a key-set fingerprint."""
    text = f"{partition}\x00{sort_key}".encode()
    return int.from_bytes(
        hashlib.blake2b(text, digest_size=8, person=b"slsops-key").digest(), "big"
    )


@dataclass
class ShardTally:
    """Items of one index partition: how many, and the sum of their key digests mod 2^64.

    Two tallies are equal when the item sets are (bar a 2^-64 chance): a missing, extra or
    swapped item changes the sum even when the count stays the same.
    """

    count: int = 0
    keys_sum: int = 0

    def add(self, partition: str, sort_key: str) -> None:
        self.count += 1
        self.keys_sum = (self.keys_sum + key_digest(partition, sort_key)) % KEY_SUM_MODULUS

    def merge(self, other: ShardTally) -> None:
        self.count += other.count
        self.keys_sum = (self.keys_sum + other.keys_sum) % KEY_SUM_MODULUS


def tally_index_per_shard(
    client: Any,
    table_name: str,
    index_name: str,
    shards: Iterable[int],
    ingested_until: str,
    threads: int = 8,
) -> dict[int, ShardTally]:
    """Per shard, the index's items ingested at or before ``ingested_until`` (keys only)."""
    from concurrent.futures import ThreadPoolExecutor

    def tally(shard: int) -> tuple[int, ShardTally]:
        found, start = ShardTally(), None
        for _ in range(10_000_000):
            params: dict[str, Any] = {
                "TableName": table_name,
                "IndexName": index_name,
                "KeyConditionExpression": "#g = :g",
                "FilterExpression": "#i <= :i",
                "ProjectionExpression": "#p, #s",
                "ExpressionAttributeNames": {
                    "#g": keys.INDEX_PARTITION_KEY,
                    "#i": "ingested_at",
                    "#p": keys.PARTITION_KEY,
                    "#s": keys.SORT_KEY,
                },
                "ExpressionAttributeValues": {
                    ":g": {"N": str(shard)},
                    ":i": {"S": ingested_until},
                },
            }
            if start:
                params["ExclusiveStartKey"] = start
            page = client.query(**params)
            for item in page.get("Items", []):
                found.add(item[keys.PARTITION_KEY]["S"], item[keys.SORT_KEY]["S"])
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return shard, found

    shard_list = sorted(set(shards))
    if not shard_list:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(shard_list)))) as pool:
        return dict(pool.map(tally, shard_list))


def index_has_item(
    client: Any, table_name: str, index_name: str, shard: str, sort_key: str, partition: str
) -> bool:
    """True when the index holds the item (gsi_shard, sk) of partition ``partition``."""
    page = client.query(
        TableName=table_name,
        IndexName=index_name,
        KeyConditionExpression="#p = :p AND #s = :s",
        ExpressionAttributeNames={"#p": keys.INDEX_PARTITION_KEY, "#s": keys.INDEX_SORT_KEY},
        ExpressionAttributeValues={":p": {"N": shard}, ":s": {"S": sort_key}},
    )
    return any(
        (item.get(keys.PARTITION_KEY) or {}).get("S") == partition for item in page.get("Items", [])
    )
