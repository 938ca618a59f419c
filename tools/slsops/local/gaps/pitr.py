"""Gap: moto's point-in-time recovery and backup restores differ from AWS; this makes them match.

moto 5.2.5's RestoreTableToPointInTime copies the source table as it is *now*, accepts any
restore time, never advances LatestRestorableDateTime, and (like RestoreTableFromBackup) drops
the table's SSE and billing mode. A restore drill that passes on that proves nothing, so this
middleware, which runs in the same process as moto, reads and writes moto's DynamoDB backend
directly (``moto.dynamodb.models.dynamodb_backends``) to give AWS's behaviour:

* **Journal.** Every table with PITR enabled has a journal: a baseline copy of its items taken
  when PITR is enabled (or when the journal first sees the table), then, after each successful
  write call (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems), the new
  version of each key the call named (``None`` for a deleted item), stamped with the time the
  write finished (``pitr_journal``). Writes run in parallel; each table's journal orders its
  own observations, which is all a restore of that table needs.
* **Restore to a point.** RestoreTableToPointInTime replays the journal up to the restore time
  into the new table, so writes and deletes after the point are absent from it. A time outside
  [EarliestRestorableDateTime, LatestRestorableDateTime] is refused with DynamoDB's
  ``InvalidRestoreTimeException``; a source without PITR with
  ``PointInTimeRecoveryUnavailableException``.
* **Latest restorable time** is ``now - lag``. The lag defaults to AWS's (about 5 minutes,
  ``slsops.contract.numbers.PITR_LAG_S``); ``SLSOPS_LOCAL_PITR_LAG_SECONDS`` sets a shorter one for
  tests and quick drills (the tests use ``numbers.TEST_PITR_LAG_S``).
  DescribeContinuousBackups reports the earliest (PITR enable time) and latest times.
* **Encryption and billing mode** of the source (or of the backup) are copied to the restored
  table, as AWS does, unless the request carries ``SSESpecificationOverride`` /
  ``BillingModeOverride``. Indexes: moto already copies them. Index, throughput and
  local-index overrides are not applied (the toolkit does not use them).

Not journaled (documented limits): PartiQL writes (ExecuteStatement and friends) and writes
that bypass HTTP by calling moto's backend directly; the journal lives in memory for the life
of the process (under 1 KB per journaled write of a log item: items are kept pickled) and
is dropped when PITR is disabled or the table is deleted or re-created.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from slsops.contract import numbers
from slsops.local import wsgi_capture
from slsops.local.gaps.pitr_journal import (
    TARGET_PREFIX,
    WRITE_OPERATIONS,
    PitrJournals,
    dynamodb_backend,
    key_from_request,
    plain_table_name,
    replace_items,
    table_named,
    touched_keys,
)

LAG_ENV = numbers.PITR_LAG_ENV
DEFAULT_LAG_SECONDS = numbers.PITR_LAG_S


def lag_seconds() -> float:
    """How far the local latest restorable time trails the clock."""
    try:
        return max(0.0, float(os.environ.get(LAG_ENV, DEFAULT_LAG_SECONDS)))
    except ValueError:
        return DEFAULT_LAG_SECONDS


JOURNALS = PitrJournals()


def wrap(app: Any) -> Any:
    """WSGI middleware around moto's app closing the PITR/restore gap (see module docstring)."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIX):
            return app(environ, start_response)
        operation = target[len(TARGET_PREFIX) :]
        request = wsgi_capture.json_body(environ)
        if request is None:
            return app(environ, start_response)
        account, region = wsgi_capture.moto_account_and_region(environ)
        handler = _HANDLERS.get(operation)
        if handler is None:
            return app(environ, start_response)
        return handler(app, environ, start_response, request, account, region)

    return middleware


# --- per-operation handling ---------------------------------------------------------------


def _handle_write(app, environ, start_response, request, account, region):  # type: ignore[no-untyped-def]
    """Forward a write; on success record what every key it named holds now."""
    operation = environ["HTTP_X_AMZ_TARGET"][len(TARGET_PREFIX) :]
    backend = dynamodb_backend(account, region)
    touched = touched_keys(operation, request)
    journaled = {}
    # Baselines are taken before the write so that they hold the pre-write state.
    for table_name in {name for name, _ in touched}:
        table = table_named(backend, table_name)
        if table is not None and _pitr_enabled(table):
            journaled[table_name] = (table, JOURNALS.ensure((account, region, table.name), table))
    status, headers, chunks = _call(app, environ)
    if status.startswith("200") and journaled:
        by_table: dict[str, list[Any]] = {}
        for table_name, raw_key in touched:
            if table_name in journaled:
                key = key_from_request(journaled[table_name][0], raw_key)
                if key is not None:
                    by_table.setdefault(table_name, []).append(key)
        for table_name, item_keys in by_table.items():
            table, journal = journaled[table_name]
            journal.observe(table, item_keys)
    start_response(status, headers)
    return chunks


def _handle_update_continuous_backups(app, environ, start_response, request, account, region):  # type: ignore[no-untyped-def]
    """Enabling PITR starts a journal at that moment; disabling it forgets the history."""
    status, headers, chunks = _call(app, environ)
    if status.startswith("200"):
        table = table_named(dynamodb_backend(account, region), request.get("TableName", ""))
        if table is not None:
            where = (account, region, table.name)
            if _pitr_enabled(table):
                JOURNALS.ensure(where, table)
            else:
                JOURNALS.drop(where)
            chunks = [_json_bytes(_describe_backups(table))]
            headers = _with_length(headers, chunks[0])
    start_response(status, headers)
    return chunks


def _handle_describe_continuous_backups(app, environ, start_response, request, account, region):  # type: ignore[no-untyped-def]
    table = table_named(dynamodb_backend(account, region), request.get("TableName", ""))
    if table is not None and _pitr_enabled(table):
        JOURNALS.ensure((account, region, table.name), table)
        _advance_latest(table)
    return app(environ, start_response)


def _handle_table_lifecycle(app, environ, start_response, request, account, region):  # type: ignore[no-untyped-def]
    """CreateTable/DeleteTable: a table name's history does not survive its table."""
    status, headers, chunks = _call(app, environ)
    if status.startswith("200"):
        JOURNALS.drop((account, region, plain_table_name(request.get("TableName", ""))))
    start_response(status, headers)
    return chunks


def _handle_restore_pitr(app, environ, start_response, request, account, region):  # type: ignore[no-untyped-def]
    """Refuse times outside the window; replay the journal to the point into the new table."""
    backend = dynamodb_backend(account, region)
    source_name = request.get("SourceTableName") or plain_table_name(
        request.get("SourceTableArn", "")
    )
    source = table_named(backend, source_name)
    if source is None:
        return app(environ, start_response)  # moto answers SourceTableNotFoundException
    if not _pitr_enabled(source):
        return _error(
            start_response,
            "PointInTimeRecoveryUnavailableException",
            f"Point in time recovery is not enabled for table '{source.name}'",
        )
    journal = JOURNALS.ensure((account, region, source.name), source)
    earliest, latest = _advance_latest(source)
    if request.get("UseLatestRestorableTime"):
        point = latest
    elif request.get("RestoreDateTime") is not None:
        point = float(request["RestoreDateTime"])
    else:
        return _error(
            start_response,
            "ValidationException",
            "Either RestoreDateTime or UseLatestRestorableTime must be specified",
        )
    if not earliest <= point <= latest:
        return _error(
            start_response,
            "InvalidRestoreTimeException",
            f"Restore time {_iso(point)} is not within the restorable window "
            f"[{_iso(earliest)}, {_iso(latest)}] of table '{source.name}'",
        )
    status, headers, chunks = _call(app, environ)
    if not status.startswith("200"):
        start_response(status, headers)
        return chunks
    restored = table_named(backend, request["TargetTableName"])
    replace_items(restored, journal.state_at(point))
    restored.restore_date_time = datetime.fromtimestamp(point, UTC)
    _carry_settings(restored, source, request)
    body = _json_bytes(restored.describe())
    start_response(status, _with_length(headers, body))
    return [body]


def _handle_restore_backup(app, environ, start_response, request, account, region):  # type: ignore[no-untyped-def]
    """moto keeps the backup's items and indexes but drops its SSE and billing mode."""
    status, headers, chunks = _call(app, environ)
    if status.startswith("200"):
        backend = dynamodb_backend(account, region)
        restored = table_named(backend, request["TargetTableName"])
        backup = backend.backups.get(request.get("BackupArn", ""))
        if restored is not None and backup is not None:
            _carry_settings(restored, backup.table, request)
            chunks = [_json_bytes(restored.describe())]
            headers = _with_length(headers, chunks[0])
    start_response(status, headers)
    return chunks


_HANDLERS = {
    **{op: _handle_write for op in WRITE_OPERATIONS},
    "UpdateContinuousBackups": _handle_update_continuous_backups,
    "DescribeContinuousBackups": _handle_describe_continuous_backups,
    "CreateTable": _handle_table_lifecycle,
    "DeleteTable": _handle_table_lifecycle,
    "RestoreTableToPointInTime": _handle_restore_pitr,
    "RestoreTableFromBackup": _handle_restore_backup,
}


# --- moto backend access ------------------------------------------------------------------


def _pitr_enabled(table: Any) -> bool:
    pitr = table.continuous_backups.get("PointInTimeRecoveryDescription", {})
    return pitr.get("PointInTimeRecoveryStatus") == "ENABLED"


def _advance_latest(table: Any) -> tuple[float, float]:
    """Set LatestRestorableDateTime to now - lag (never before the earliest); return both."""
    pitr = table.continuous_backups["PointInTimeRecoveryDescription"]
    earliest = float(pitr.get("EarliestRestorableDateTime") or time.time())
    latest = max(earliest, time.time() - lag_seconds())
    pitr["LatestRestorableDateTime"] = latest
    return earliest, latest


def _describe_backups(table: Any) -> dict[str, Any]:
    if _pitr_enabled(table):
        _advance_latest(table)
    return {"ContinuousBackupsDescription": table.continuous_backups}


def _carry_settings(restored: Any, source: Any, request: dict[str, Any]) -> None:
    """Copy what AWS carries over from the source (or backup): SSE and billing mode."""
    override = request.get("SSESpecificationOverride")
    if override:
        restored.sse_specification = dict(override)
        if override.get("Enabled") and "KMSMasterKeyId" not in override:
            restored.sse_specification["KMSMasterKeyId"] = restored._get_default_encryption_key(
                restored.account_id, restored.region_name
            )
    else:
        restored.sse_specification = copy.deepcopy(source.sse_specification)
    restored.billing_mode = request.get("BillingModeOverride") or source.billing_mode


# --- WSGI plumbing --------------------------------------------------------------------------


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Run the inner app to completion; its status, headers and body (as WSGI chunks)."""
    status, headers, body = wsgi_capture.call(app, environ)
    return status, headers, [body]


def _with_length(headers: list[tuple[str, str]], body: bytes) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "x-amz-crc32")]
    return [*kept, ("Content-Length", str(len(body)))]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _error(start_response: Callable[..., Any], code: str, message: str) -> list[bytes]:
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
    ).encode("utf-8")
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
