"""Generated bodies made acceptable where the document is looser than the handler.

The document cannot constrain the patterns of service_name and log_id, the level set or the
clock window; a "repaired" case keeps the generated message, log type and metadata and fixes
the rest, so the storage round trip sees generated content, not only 400s.
"""

from __future__ import annotations

import uuid
from typing import Any

from log_service.limits import LEVELS

_ENTRY_FIELDS = ("message", "log_type", "metadata")


def _clean_text(value: Any, fallback: str, limit: int) -> str:
    text = value if isinstance(value, str) else fallback
    text = text.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")[:limit]
    return text if text.strip() else fallback


def repair_entry(raw: Any, salt: int) -> Any:
    """One generated entry made acceptable where the document is looser than the handler."""
    raw = raw if isinstance(raw, dict) else {}
    entry = {k: v for k, v in raw.items() if k in _ENTRY_FIELDS}
    # A partition of its own per entry: moto's query cost grows with the partition read.
    kept = "".join(c for c in str(raw.get("service_name", "")) if c.isascii() and c.isalnum())
    entry["service_name"] = f"fz-{kept[:20] or 'svc'}-{uuid.uuid4().hex[:8]}"
    entry["level"] = LEVELS[salt % len(LEVELS)]
    entry["message"] = _clean_text(raw.get("message"), "generated", 16_384)
    entry["log_type"] = _clean_text(raw.get("log_type"), "application", 64)
    entry["log_id"] = f"fz-{uuid.uuid4().hex}"
    if not isinstance(entry.get("metadata"), dict):
        entry.pop("metadata", None)
    entry.pop("timestamp", None)
    if salt % 3 == 0:
        entry["timestamp"] = "2026-01-01T00:00:00.000Z"
    entry["retention_days"] = 1
    return entry


def repair_body(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("logs"), list):
        logs = [repair_entry(e, n) for n, e in enumerate(body["logs"][:100])]
        return {"logs": logs or [repair_entry({}, 0)]}
    return repair_entry(body if isinstance(body, dict) else {}, 0)


def entries_of(body: dict[str, Any] | None) -> list[Any]:
    if body is None:
        return []
    if isinstance(body.get("logs"), list):
        return body["logs"]
    return [body]
