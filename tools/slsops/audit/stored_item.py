"""The shape of a stored item (log item or idempotency marker) and how to read it in wire form.

Items are read in DynamoDB's wire form (``{"S": "..."}``, ``{"N": "..."}``) as the low-level
client returns them (and as an export's DynamoDB JSON holds them), so a wrong attribute *type*
is visible instead of being converted away.
"""

from __future__ import annotations

from typing import Any

from log_service import keys, model

LOG_ITEM_TYPES: dict[str, str] = {
    keys.PARTITION_KEY: "S",
    keys.SORT_KEY: "S",
    "log_id": "S",
    "timestamp": "S",
    "ingested_at": "S",
    "level": "S",
    "log_type": "S",
    "message": "S",
    keys.INDEX_PARTITION_KEY: "N",
    keys.TTL_ATTRIBUTE: "N",
}
OPTIONAL_TYPES: dict[str, str] = {"metadata": "S"}
MARKER_TYPES: dict[str, str] = {
    keys.PARTITION_KEY: "S",
    keys.SORT_KEY: "S",
    "log_id": "S",
    "entry_service": "S",
    "entry_sk": "S",
    "content_hash": "S",
    keys.TTL_ATTRIBUTE: "N",
}
# Written by log_service.writer beside the marker's own fields (older markers may lack them).
MARKER_OPTIONAL_TYPES: dict[str, str] = {
    "write_id": "S",
    "ingested_at": "S",
    "timestamp_supplied": "BOOL",
}
LOG_ITEM_ALL_TYPES = {**LOG_ITEM_TYPES, **OPTIONAL_TYPES}
MARKER_ALL_TYPES = {**MARKER_TYPES, **MARKER_OPTIONAL_TYPES}
LOG_ITEM_ATTRIBUTES = frozenset(LOG_ITEM_ALL_TYPES)
MARKER_ATTRIBUTES = frozenset(MARKER_ALL_TYPES)


def item_key(item: dict[str, Any]) -> dict[str, str]:
    """The primary key of an item as plain strings (for reports)."""
    return {
        name: str(next(iter(item[name].values()), "")) if isinstance(item.get(name), dict) else ""
        for name in (keys.PARTITION_KEY, keys.SORT_KEY)
    }


def string(item: dict[str, Any], name: str) -> str | None:
    """The attribute's value if it is a string (S), else None (absent or another type)."""
    try:
        return item[name]["S"]
    except (KeyError, TypeError):
        return None


def number(item: dict[str, Any], name: str) -> str | None:
    """The attribute's value if it is a number (N), else None."""
    try:
        return item[name]["N"]
    except (KeyError, TypeError):
        return None


def reserved_service(item: dict[str, Any]) -> str | None:
    """The toolkit's own service an item belongs to (never a violation), or None."""
    partition = string(item, keys.PARTITION_KEY) or ""
    service = (
        string(item, "entry_service") if partition.startswith(keys.MARKER_PREFIX) else partition
    )
    return service if service and keys.is_reserved_service(service) else None


def content_hash(item: dict[str, Any]) -> str | None:
    """The hash of a stored item's content as its marker records it (``model.content_hash``):
    a marker's recorded hash, a log item's recomputed from its fields; None when a field it
    needs is missing or not a string (AUD-001/002 report that)."""
    if keys.is_marker({keys.PARTITION_KEY: string(item, keys.PARTITION_KEY) or ""}):
        return string(item, "content_hash")
    fields = [string(item, name) for name in (keys.PARTITION_KEY, "level", "log_type", "message")]
    metadata = string(item, "metadata")
    if None in fields or ("metadata" in item and metadata is None):
        return None
    service, level, log_type, message = fields
    return model.content_hash(service, level, log_type, message, metadata)
