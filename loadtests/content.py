"""Content checks of GET /logs/recent and POST /logs answers: a wrong answer is a failure,
like a 5xx.

The answer shapes are the service's (service/log_service/): a single POST answers 201
``{"message": ..., "log_id": <the id sent>}`` (ingest.store_single); a batch answers one result
per entry (``index``, ``log_id``, ``status``) beside a ``message`` (ingest.store_batch); a read
answers ``{"logs": [...], "count": n, "next_token": <str or null>}`` (recent.handle_get), each
entry the public view of a stored item (items.public_view) with at least ``log_id``,
``service_name``, ``timestamp``, ``level`` (one of :data:`LEVELS`) and ``message`` as strings.
The service promises newest first (timestamp, then log_id, descending, as in the sort key),
``count`` equal to the entries returned and never above ``limit``, the service and levels asked
for, nothing before ``since``, and pages that continue where the previous one stopped.
A check never raises on a malformed answer: Locust reports neither success nor failure for a
request whose check raised, so the wrong answer would vanish from the error ratio.
An empty read is wrong too once this run has had entries acknowledged that the read must
include (:class:`Acknowledged`). No Locust import: the tests use it directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

# The levels the service stores (service/log_service/limits.py LEVELS; a test keeps them equal).
LEVELS = frozenset({"DEBUG", "INFO", "WARN", "ERROR"})
ENTRY_TEXT_FIELDS = ("log_id", "service_name", "timestamp", "level", "message")


def order_key(entry: dict) -> tuple[str, str]:
    """The service's order: timestamp, then log_id (as in the sort key)."""
    return (str(entry.get("timestamp", "")), str(entry.get("log_id", "")))


def check_page(
    body: Any,
    limit: int,
    after: tuple[str, str] | None = None,
    service: str | None = None,
    levels: set[str] | None = None,
    since: str | None = None,
) -> str | None:
    """Why a GET /logs/recent page is wrong, or None when it is right."""
    if not isinstance(body, dict) or not isinstance(body.get("logs"), list):
        return "body has no 'logs' list"
    logs = body["logs"]
    for entry in logs:
        if not isinstance(entry, dict):
            return f"{type(entry).__name__} in 'logs' is not a log entry"
        if not isinstance(entry.get("timestamp"), str) or not isinstance(entry.get("log_id"), str):
            return "entry without a timestamp and log_id"
        missing = [f for f in ENTRY_TEXT_FIELDS if not isinstance(entry.get(f), str)]
        if missing:
            return f"entry {entry['log_id']!r} without {', '.join(missing)} (strings)"
        if entry["level"] not in LEVELS:
            return f"entry {entry['log_id']!r} with level {entry['level']!r} (not one of LEVELS)"
    if "next_token" not in body or not isinstance(body["next_token"], str | None):
        return "body without a 'next_token' (a string or null)"
    if body.get("count") != len(logs):
        return f"count {body.get('count')!r} != {len(logs)} entries returned"
    if len(logs) > limit:
        return f"{len(logs)} entries returned for limit {limit}"
    keys = [order_key(e) for e in logs]
    if any(keys[i] < keys[i + 1] for i in range(len(keys) - 1)):
        return "entries are not newest first"
    if any(keys[i] == keys[i + 1] for i in range(len(keys) - 1)):
        return "an entry is repeated on the page"
    if after is not None and keys and keys[0] >= after:
        return "next page repeats or is newer than the previous page's last entry"
    for entry in logs:
        if service is not None and entry.get("service_name") != service:
            return f"entry of service {entry.get('service_name')!r} in a read of {service!r}"
        if levels is not None and entry.get("level") not in levels:
            return f"entry with level {entry.get('level')!r} outside filter {sorted(levels)}"
        if since is not None and str(entry.get("timestamp", "")) < since:
            return f"entry at {entry.get('timestamp')} before since={since}"
    return None


def single_problem(body: Any, sent_id: str) -> str | None:
    """Why a 201 answer to a single POST /logs is wrong (None: right): it names the entry
    sent (``log_id``) and says so (``message``)."""
    if not isinstance(body, dict):
        return "201 without a JSON object"
    if body.get("log_id") != sent_id:
        return "201 without the log_id sent"
    if not isinstance(body.get("message"), str) or not body["message"]:
        return "201 without a message"
    return None


def batch_outcome(body: Any, sent_ids: list[str]) -> tuple[int, str | None]:
    """The entries a 201/207 batch answer shows stored, and why it is wrong (None: right).

    The answer has one result per entry sent, in order (``index``, the ``log_id`` sent); only
    a result that is the entry sent and says ``stored`` counts. Anything else (a result for
    another entry, duplicate, not_stored) makes the request a failure.
    """
    size = len(sent_ids)
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or len(results) != size:
        return 0, f"without {size} results"
    mine = [
        isinstance(r, dict) and r.get("index") == i and r.get("log_id") == sent_ids[i]
        for i, r in enumerate(results)
    ]
    stored = sum(ok and r.get("status") == "stored" for ok, r in zip(mine, results, strict=True))
    if not all(mine):
        return stored, f"result {mine.index(False)} is not the entry sent at that index"
    if not isinstance(body.get("message"), str):
        return stored, "without a message"
    if stored != size:
        why = sorted({str(r.get("error")) for r in results if r.get("error")})
        return stored, f"{size - stored} of {size} not stored" + (
            f" ({'; '.join(why)})" if why else ""
        )
    return stored, None


# How long after an acknowledged write a read may still miss it. Both reads are eventually
# consistent on AWS (service/log_service/reader.py queries without ConsistentRead): the newest
# read across services goes through the write-sharded global secondary index, which DynamoDB
# updates asynchronously (usually within a second, longer under load): a few seconds; the
# per-service read queries the table itself, whose eventually consistent reads reflect a write
# "usually within a second": 2 s. The local stack (moto) is consistent at once.
NEWEST_READ_GRACE_S = 5.0
SERVICE_READ_GRACE_S = 2.0


@dataclass
class _Slot:
    """Entries acknowledged for one (service, level): how many, the first and the newest
    (entry timestamp, monotonic time of the acknowledgement)."""

    count: int
    first: tuple[str, float]
    newest: tuple[str, float]


class Acknowledged:
    """What this process saw stored, as little as the empty-read check needs.

    One slot per (service, level), so memory is bounded by the generator's services and the
    four levels whatever the run's length: the count, the first entry and the newest entry
    acknowledged (its timestamp and when the acknowledgement came). A read must not be empty
    when a slot it covers holds an entry acknowledged more than ``grace_s`` ago whose timestamp
    is within the read's ``since``; checking the first and the newest entry of a slot only
    misses some empty reads (never flags a right one).
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._slots: dict[tuple[str, str], _Slot] = {}

    def note(self, service: str, level: str, timestamp: str) -> None:
        """An entry the service acknowledged as stored (201, or ``stored`` in a batch)."""
        seen = (timestamp, self._clock())
        slot = self._slots.get((service, level))
        if slot is None:
            self._slots[(service, level)] = _Slot(1, seen, seen)
            return
        slot.count += 1
        if timestamp >= slot.newest[0]:
            slot.newest = seen

    def empty_problem(
        self,
        grace_s: float,
        service: str | None = None,
        levels: set[str] | None = None,
        since: str | None = None,
    ) -> str | None:
        """Why an empty first page of this read is wrong, or None when it may be empty."""
        now = self._clock()
        slots = [
            slot
            for (slot_service, level), slot in self._slots.items()
            if (service is None or slot_service == service) and (levels is None or level in levels)
        ]
        due = [
            acked
            for slot in slots
            for timestamp, acked in (slot.first, slot.newest)
            if now - acked > grace_s and (since is None or timestamp >= since)
        ]
        if not due:
            return None
        count = sum(slot.count for slot in slots)
        what = f"service {service!r}" if service is not None else "any service"
        if levels is not None:
            what += f" at level {'/'.join(sorted(levels))}"
        return (
            f"empty page, although this run had {count} entr{'y' if count == 1 else 'ies'} of "
            f"{what} acknowledged, the first {now - min(due):.1f} s ago (a read may lag "
            f"{grace_s:g} s)"
        )
