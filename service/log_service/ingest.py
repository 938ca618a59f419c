"""POST /logs: from a parsed body to a status and a response body (no AWS, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from log_service import limits
from log_service.errors import ApiError, PayloadTooLarge, Unavailable, ValidationError
from log_service.model import LogEntry, parse_entry
from log_service.settings import Settings
from log_service.writer import NOT_STORED, STORED, LogWriter, WriteResult

CREATED_MESSAGE = "Log entry created successfully"


def parse_batch(body: dict[str, Any], settings: Settings) -> list[LogEntry]:
    """Validate every entry before anything is written; 400 lists every bad entry."""
    raw_entries = body["logs"]
    extra = sorted(set(body) - {"logs"})
    if extra:
        raise ValidationError(extra[0], "a batch body holds only 'logs'")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise ValidationError("logs", "must be a non-empty array")
    if len(raw_entries) > limits.MAX_BATCH_ENTRIES:
        raise PayloadTooLarge(f"logs: at most {limits.MAX_BATCH_ENTRIES} entries per request")
    now = datetime.now(UTC)
    entries: list[LogEntry] = []
    details: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(parse_entry(raw, settings, now))
        except ValidationError as exc:
            details.append(
                {"index": index, "field": exc.field, "message": exc.details[0]["message"]}
            )
    if details:
        raise ApiError(
            f"{len(details)} of {len(raw_entries)} entries are invalid; nothing was stored", details
        )
    return entries


def store_single(body: dict[str, Any], writer: LogWriter, settings: Settings):
    entry = parse_entry(body, settings)
    result = writer.put(entry)
    return 201, {"message": CREATED_MESSAGE, "log_id": result.log_id}


def store_batch(body: dict[str, Any], writer: LogWriter, settings: Settings):
    entries = parse_batch(body, settings)
    results = writer.put_many(entries)
    body_out = {
        "message": _summary(results),
        "results": [_row(i, r) for i, r in enumerate(results)],
    }
    written = [r for r in results if r.status != NOT_STORED]
    if len(written) == len(results):
        return 201, body_out
    if not written and all(r.retryable for r in results):
        raise Unavailable(
            "no entry was stored: the log table is throttling or failing; retry later"
        )
    if not written:
        return 409, {"error": body_out["message"], "details": body_out["results"]}
    return 207, body_out


def handle_post(body: Any, writer: LogWriter, settings: Settings) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    if "logs" in body:
        return store_batch(body, writer, settings)
    return store_single(body, writer, settings)


def _row(index: int, result: WriteResult) -> dict[str, Any]:
    row: dict[str, Any] = {"index": index, "log_id": result.log_id, "status": result.status}
    if result.error:
        row["error"] = result.error
    return row


def _summary(results: list[WriteResult]) -> str:
    stored = sum(r.status == STORED for r in results)
    failed = sum(r.status == NOT_STORED for r in results)
    duplicates = len(results) - stored - failed
    return f"{stored} stored, {duplicates} duplicate, {failed} not stored"
