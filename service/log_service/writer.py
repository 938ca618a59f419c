"""Idempotent writes of log entries.

An entry is written in two Puts: first its idempotency marker (keyed by ``log_id``, see
``keys``; conditional), then the log item. A retry of the same ``log_id`` finds the marker
and is answered as a duplicate (same content) or a conflict (different content), also when
the server picked the timestamp. If a write stopped between the two Puts, the marker holds
everything needed to finish it (sort key, ingested_at, content hash), and the retry writes
the missing log item: an entry is acknowledged only after its log item exists.

Why not one TransactWriteItems: it costs twice the write units, and moto (the local stack's
DynamoDB) copies the whole table for every transaction. Cost per new entry of up to 1 KB:
1 WCU (marker) + 1 WCU (log item) + 1 WCU (index copy) = 3 WCU; a replay costs two
strongly consistent reads (2 RCU).

A batch claims every entry's marker with its own conditional Put, then writes the log items
of the claimed markers in ``BatchWriteItem`` calls of up to 25: 20 entries cost 20 Puts and one
batch call rather than 40 Puts (the same write units, half the round trips). The log item's
Put needs no condition: only the marker's owner, or a retry that found the marker and no log
item, writes it, and both write the same item.

Throttling and internal errors are retried with backoff, and so are the requests a
``BatchWriteItem`` hands back unprocessed; every marker Put is conditional and every log item
is the same on each try, so retrying after a write that did take effect stores nothing twice.
An entry whose log item could not be written is answered not_stored (retryable): its retry
finds the marker and finishes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from log_service import keys
from log_service.errors import ConflictError, Unavailable
from log_service.items import make_log_item, make_marker
from log_service.model import LogEntry
from log_service.retry import Backoff, is_retryable

BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem call, DynamoDB's limit
UNAVAILABLE_MESSAGE = "the log table is throttling or failing; retry later"

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
        claim = self._claim_marker(entry)
        if isinstance(claim, WriteResult):
            return claim
        self._put_if_absent(claim.item)  # already there only if a concurrent retry finished it
        return WriteResult(claim.log_id, STORED)

    def put_many(self, entries: Sequence[LogEntry]) -> list[WriteResult]:
        """Store entries (markers concurrently, then batched log items); none is dropped."""
        claims = self._map(self._claim, entries)
        claimed = [c for c in claims if isinstance(c, _Claimed)]
        unwritten = self._write_items([c.item for c in claimed])
        results: list[WriteResult] = []
        for claim in claims:
            if not isinstance(claim, _Claimed):
                results.append(claim)
            elif _item_key(claim.item) in unwritten:
                error = unwritten[_item_key(claim.item)]
                results.append(WriteResult(claim.log_id, NOT_STORED, error, retryable=True))
            else:
                results.append(WriteResult(claim.log_id, STORED))
        return results

    def _map(self, work: Callable[[LogEntry], Any], entries: Sequence[LogEntry]) -> list[Any]:
        if self.pool is None or len(entries) == 1:
            return [work(e) for e in entries]
        return list(self.pool.map(work, entries))

    def _claim_marker(self, entry: LogEntry) -> _Claimed | WriteResult:
        """Put the entry's marker: its log item is then ours to write; else a final result."""
        log_id = entry.log_id or keys.new_log_id()
        ingested_at = self.clock()
        item = make_log_item(
            entry, log_id, entry.timestamp or ingested_at, ingested_at, self.shard_count
        )
        marker = make_marker(entry, item) | {
            "write_id": secrets.token_hex(8),
            "ingested_at": ingested_at,
        }
        if self._put_if_absent(marker):
            return _Claimed(log_id, item)
        return self._resolve_existing(entry, marker)

    def _claim(self, entry: LogEntry) -> _Claimed | WriteResult:
        """``_claim_marker`` for one entry of a batch: every failure becomes its result."""
        try:
            return self._claim_marker(entry)
        except ConflictError as exc:
            return WriteResult(entry.log_id, NOT_STORED, exc.message)
        except Unavailable as exc:
            return WriteResult(entry.log_id, NOT_STORED, exc.message, retryable=True)
        except (ClientError, BotoCoreError) as exc:
            return WriteResult(entry.log_id, NOT_STORED, _describe(exc), retryable=True)

    def _write_items(self, items: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
        """BatchWriteItem every item; the keys of those not written, with the reason."""
        unwritten: dict[tuple[str, str], str] = {}
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            chunk = items[start : start + BATCH_WRITE_LIMIT]
            try:
                left = self._batch_write_until_done(chunk)
                reason = UNAVAILABLE_MESSAGE
            except Unavailable as exc:
                left, reason = chunk, exc.message
            except (ClientError, BotoCoreError) as exc:
                left, reason = chunk, _describe(exc)
            unwritten.update((_item_key(item), reason) for item in left)
        return unwritten

    def _batch_write_until_done(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One batch, then its unprocessed requests again with backoff; those still left."""
        requests = [{"PutRequest": {"Item": item}} for item in items]
        delays = self.backoff.delays()
        while True:
            call = partial(self.client.batch_write_item, RequestItems={self.table_name: requests})
            response = self._retrying(call)
            requests = response.get("UnprocessedItems", {}).get(self.table_name, [])
            if not requests:
                return []
            delay = next(delays, None)
            if delay is None:
                return [r["PutRequest"]["Item"] for r in requests]
            self.backoff.sleep(delay)

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
                raise Unavailable(UNAVAILABLE_MESSAGE)
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


@dataclass(frozen=True)
class _Claimed:
    """An entry whose marker this call wrote: its log item is still to be written."""

    log_id: str
    item: dict[str, Any]


def _item_key(item: dict[str, Any]) -> tuple[str, str]:
    return (item[keys.PARTITION_KEY], item[keys.SORT_KEY])


def _is_condition_failure(error: BaseException) -> bool:
    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return f"DynamoDB {error.response.get('Error', {}).get('Code', 'error')}"
    return f"DynamoDB unreachable ({type(error).__name__})"
