"""What spans items and needs the live table, in bounded memory: index consistency, counts.

Duplicate log ids and the pairing of entries with their idempotency markers are SQL over the
item relation (``relation``); what stays here needs the live index or is a running count.

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

import hashlib
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from log_service import keys
from slsops.deployment import dynamo_pages

MAX_COUNT_KEYS = 10_000
KEY_SUM_MODULUS = 2**64
OTHER = "(other)"


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
        found = ShardTally()
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
            "ExpressionAttributeValues": {":g": {"N": str(shard)}, ":i": {"S": ingested_until}},
        }
        for page in dynamo_pages.pages(client.query, **params):
            for item in page.get("Items", []):
                found.add(item[keys.PARTITION_KEY]["S"], item[keys.SORT_KEY]["S"])
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
