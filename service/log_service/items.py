"""DynamoDB items built from entries, and the public view of a stored item.

Items are plain Python dicts of the resource-level (``boto3.resource``) form; see
``keys`` for the layout. Audit, drill and benchmarks build items with these functions
too, so a stored item looks the same whoever wrote it.
"""

from __future__ import annotations

from typing import Any

from log_service import canonical, keys
from log_service.model import LogEntry


def make_log_item(
    entry: LogEntry, log_id: str, timestamp: str, ingested_at: str, shard_count: int
) -> dict[str, Any]:
    """The log item of ``entry`` (resolved ``log_id`` and ``timestamp``)."""
    item: dict[str, Any] = {
        keys.PARTITION_KEY: entry.service_name,
        keys.SORT_KEY: keys.sort_key(timestamp, log_id),
        "log_id": log_id,
        "timestamp": timestamp,
        "ingested_at": ingested_at,
        "level": entry.level,
        "log_type": entry.log_type,
        "message": entry.message,
        keys.INDEX_PARTITION_KEY: keys.shard_for(log_id, shard_count),
        keys.TTL_ATTRIBUTE: keys.expires_at(ingested_at, entry.retention_days),
    }
    if entry.metadata_json is not None:
        item["metadata"] = entry.metadata_json
    return item


def make_marker(entry: LogEntry, log_item: dict[str, Any]) -> dict[str, Any]:
    """The idempotency marker that points at ``log_item``."""
    return {
        **keys.marker_key(log_item["log_id"]),
        "log_id": log_item["log_id"],
        "entry_service": log_item[keys.PARTITION_KEY],
        "entry_sk": log_item[keys.SORT_KEY],
        "content_hash": entry.content_hash(),
        "timestamp_supplied": entry.timestamp is not None,
        keys.TTL_ATTRIBUTE: log_item[keys.TTL_ATTRIBUTE],
    }


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """What GET /logs/recent returns for a stored log item."""
    metadata = item.get("metadata")
    return {
        "log_id": item["log_id"],
        "service_name": item[keys.PARTITION_KEY],
        "timestamp": item["timestamp"],
        "ingested_at": item.get("ingested_at"),
        "level": item["level"],
        "log_type": item.get("log_type"),
        "message": item["message"],
        "metadata": canonical.loads_strict(metadata) if metadata is not None else None,
    }
