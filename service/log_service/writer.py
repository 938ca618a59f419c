"""Idempotent writes of log entries.

An entry is written in two conditional Puts: first its idempotency marker (keyed by
``log_id``, see ``keys``), then the log item. A retry of the same ``log_id`` finds the marker
and is answered as a duplicate (same content) or a conflict (different content), also when
the server picked the timestamp. If a write stopped between the two Puts, the marker holds
everything needed to finish it (sort key, ingested_at, content hash), and the retry writes
the missing log item: an entry is acknowledged only after its log item exists.

Why not one TransactWriteItems: it costs twice the write units, and moto (the local stack's
DynamoDB) copies the whole table for every transaction. Cost per new entry of up to 1 KB:
1 WCU (marker) + 1 WCU (log item) + 1 WCU (index copy) = 3 WCU; a replay costs two
strongly consistent reads (2 RCU).

Throttling and internal errors are retried with backoff; every Put is conditional, so
retrying after a write that did take effect stores nothing twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from log_service import keys
from log_service.errors import ConflictError, Unavailable
from log_service.items import make_log_item, make_marker
from log_service.model import LogEntry
from log_service.retry import Backoff, is_retryable

STORED = "stored"
DUPLICATE = "duplicate"
NOT_STORED = "not_stored"


@dataclass(frozen=True)
class WriteResult:
    """Per-entry outcome; ``error`` is set when ``status`` is not_stored."""

    log_id: str | None
    status: str
    error: str | None = None
    retryable: bool = False


class LogWriter:
    """Writes entries into the log table through a ``boto3.resource('dynamodb')`` client."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        shard_count: int,
        backoff: Backoff | None = None,
        clock: Callable[[], str] = keys.now_timestamp,
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.shard_count = shard_count
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.pool = pool

    def put(self, entry: LogEntry) -> WriteResult:
        """Store one entry; ConflictError for a reused log_id, Unavailable after retries."""
        log_id = entry.log_id or keys.new_log_id()
        ingested_at = self.clock()
        item = make_log_item(
            entry, log_id, entry.timestamp or ingested_at, ingested_at, self.shard_count
        )
        marker = make_marker(entry, item) | {
            "write_id": secrets.token_hex(8),
            "ingested_at": ingested_at,
        }
        if not self._put_if_absent(marker):
            return self._resolve_existing(entry, marker)
        self._put_if_absent(item)  # already there only if a concurrent retry finished it
        return WriteResult(log_id, STORED)

    def put_many(self, entries: Sequence[LogEntry]) -> list[WriteResult]:
        """Store entries concurrently; every entry gets a result, none is dropped."""

        def one(entry: LogEntry) -> WriteResult:
            try:
                return self.put(entry)
            except ConflictError as exc:
                return WriteResult(entry.log_id, NOT_STORED, exc.message)
            except Unavailable as exc:
                return WriteResult(entry.log_id, NOT_STORED, exc.message, retryable=True)
            except (ClientError, BotoCoreError) as exc:
                return WriteResult(entry.log_id, NOT_STORED, _describe(exc), retryable=True)

        if self.pool is None or len(entries) == 1:
            return [one(e) for e in entries]
        return list(self.pool.map(one, entries))

    def _retrying(self, call: Callable[[], Any]) -> Any:
        """Run ``call``, retrying throttling and internal errors; Unavailable when spent."""
        delays = self.backoff.delays()
        while True:
            try:
                return call()
            except (ClientError, BotoCoreError) as error:
                if _is_condition_failure(error) or not is_retryable(error):
                    raise
            delay = next(delays, None)
            if delay is None:
                raise Unavailable("the log table is throttling or failing; retry later")
            self.backoff.sleep(delay)

    def _put_if_absent(self, item: dict[str, Any]) -> bool:
        """Conditional Put; False when an item with that key exists already."""
        try:
            self._retrying(
                lambda: self.client.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#sk)",
                    ExpressionAttributeNames={"#sk": keys.SORT_KEY},
                )
            )
            return True
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._retrying(
            lambda: self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)
        )
        return response.get("Item")

    def _resolve_existing(self, entry: LogEntry, marker: dict[str, Any]) -> WriteResult:
        """The marker of this log_id exists: same content -> duplicate, else conflict."""
        log_id = marker["log_id"]
        stored = self._get(keys.marker_key(log_id))
        if stored is None:
            raise Unavailable("the entry changed while it was written; retry later")
        ours = stored.get("write_id") == marker["write_id"]
        stored_timestamp = str(stored.get("entry_sk", "")).partition("#")[0]
        same = stored.get("content_hash") == marker["content_hash"] and (
            entry.timestamp is None or entry.timestamp == stored_timestamp
        )
        if not (ours or same):
            raise ConflictError(f"log_id {log_id} is already stored with different content")
        item_key = {keys.PARTITION_KEY: stored["entry_service"], keys.SORT_KEY: stored["entry_sk"]}
        if self._get(item_key) is not None:
            return WriteResult(log_id, STORED if ours else DUPLICATE)
        # A previous attempt stopped after the marker: finish it exactly as it began.
        item = make_log_item(
            entry, log_id, stored_timestamp, str(stored["ingested_at"]), self.shard_count
        )
        self._put_if_absent(item)
        return WriteResult(log_id, STORED)


def _is_condition_failure(error: BaseException) -> bool:
    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return f"DynamoDB {error.response.get('Error', {}).get('Code', 'error')}"
    return f"DynamoDB unreachable ({type(error).__name__})"
