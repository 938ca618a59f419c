"""What a table holds, as a count and an order-independent checksum of canonical items.

The same predicate selects items on the source and on the restored table: log items (not
idempotency markers) with ``ingested_at <= point - guard`` and ``expires_at > now``. The guard
covers writes whose ``ingested_at`` was stamped before the point but that reached the table
after it; ``now`` is fixed once per drill so TTL deletions (AWS deletes expired items up to
days late) cause no false mismatch.

Canonical item: the item in DynamoDB's wire form, sets sorted, binary as base64, rendered as
JSON with sorted keys and no spaces. Checksum: the sum of the items' SHA-256 values modulo
2^256, so the order of a parallel scan does not matter and a duplicated item changes it
(a XOR would cancel two equal items).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from log_service import keys
from slsops.audit.aggregate import Reservoir
from slsops.audit.scan import parallel_scan

MODULUS = 2**256
SAMPLE_SIZE = 8


@dataclass(frozen=True)
class Predicate:
    """Which items a drill compares: written before ``cutoff`` and not expired at ``now``."""

    cutoff: str  # stored-timestamp form; string order is time order
    now: int  # epoch seconds

    def selects(self, item: dict[str, Any]) -> bool:
        partition = (item.get(keys.PARTITION_KEY) or {}).get("S", "")
        if partition.startswith(keys.MARKER_PREFIX):
            return False
        ingested = (item.get("ingested_at") or {}).get("S")
        expires = (item.get(keys.TTL_ATTRIBUTE) or {}).get("N")
        if ingested is None or ingested > self.cutoff:
            return False
        try:
            return expires is None or float(expires) > self.now
        except ValueError:
            return True  # a malformed TTL is never deleted by DynamoDB: it is data


def _canonical_value(value: dict[str, Any]) -> Any:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {kind: sorted(base64.b64encode(v).decode("ascii") for v in inner)}
    if kind in ("SS", "NS"):
        return {kind: sorted(inner)}
    if kind == "L":
        return {kind: [_canonical_value(v) for v in inner]}
    if kind == "M":
        return {kind: {k: _canonical_value(v) for k, v in inner.items()}}
    return {kind: inner}


def canonical_item(item: dict[str, Any]) -> str:
    """One stable text per item content, whatever the attribute or set order."""
    body = {name: _canonical_value(value) for name, value in item.items()}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def item_hash(item: dict[str, Any]) -> int:
    return int.from_bytes(hashlib.sha256(canonical_item(item).encode("utf-8")).digest(), "big")


@dataclass
class Fingerprint:
    """Count and checksum of the selected items, plus a few of their keys for index reads."""

    count: int = 0
    checksum: int = 0
    scanned: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def checksum_hex(self) -> str:
        return f"{self.checksum:064x}"

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "checksum": self.checksum_hex, "scanned": self.scanned}


def fingerprint(
    client: Any,
    table_name: str,
    predicate: Predicate,
    segments: int = 4,
    threads: int = 4,
    advance: Any = None,
) -> Fingerprint:
    """Scan ``table_name`` (strongly consistent reads) and fingerprint the selected items."""
    result = Fingerprint()
    lock = threading.Lock()
    reservoir = Reservoir(SAMPLE_SIZE, seed=7)

    def on_page(items: list[dict[str, Any]]) -> None:
        count = total = 0
        chosen = []
        for item in items:
            if predicate.selects(item):
                count += 1
                total += item_hash(item)
                chosen.append(item)
        with lock:
            result.count += count
            result.checksum = (result.checksum + total) % MODULUS
            result.scanned += len(items)
            for item in chosen:
                reservoir.offer(item)
        if advance is not None:
            advance(len(items))

    parallel_scan(client, table_name, segments, threads, on_page, consistent_read=True)
    result.sample = reservoir.sample
    return result
