"""Canonical items and their hashes: an order-independent checksum of what a table holds, and
the buckets of keys the drill keeps its tallies in (the comparison and the index check alike).

Canonical item: the item in DynamoDB's wire form, sets sorted, binary as base64, rendered as
JSON with sorted keys and no spaces. A binary value may come as bytes (botocore's parser) or
already as base64 text (the wire form the drill's scans read, ``slsops.deployment.wire_items``):
both render the same. A checksum is the sum of the items' SHA-256 values modulo
2^256, so the order of a parallel scan does not matter and a duplicated item changes it (a XOR
would cancel two equal items); a sum also lets the drill subtract the items it explained.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from typing import Any

from log_service import keys

MODULUS = 2**256
BUCKETS = 1024  # tallies are kept per bucket of keys, so a difference is found in one bucket


def _base64(value: bytes | str) -> str:
    return value if isinstance(value, str) else base64.b64encode(value).decode("ascii")


def _canonical_value(value: dict[str, Any]) -> Any:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: _base64(inner)}
    if kind == "BS":
        return {kind: sorted(_base64(v) for v in inner)}
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


def hex_of(checksum: int) -> str:
    return f"{checksum % MODULUS:064x}"


def primary_key(item: dict[str, Any]) -> str:
    """``partition/sort`` of a log table item."""
    partition = (item.get(keys.PARTITION_KEY) or {}).get("S")
    return f"{partition}/{(item.get(keys.SORT_KEY) or {}).get('S')}"


def bucket_of(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) % BUCKETS
