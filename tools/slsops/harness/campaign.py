"""A fault campaign: ingest and read through the API under injected DynamoDB faults, then count.

Clients send their own ``log_id``. Every answer is classified: a single entry is acknowledged
by 201; a batch row by ``stored`` or ``duplicate``; a 503 must carry ``Retry-After``; any other
5xx is counted as unclean. Reads under faults must be 200 with entries that were really sent
(unchanged) or a clean 503. Unacknowledged entries are retried by the client (same log_id, same
content), first while the faults are still on, then once after they are cleared. At the end
the service's partition is read from the table (markers ignored): every acknowledged entry must
be there exactly once, no log_id twice, nothing that was never sent, every stored entry equal
to what was sent, and a read through the API lists exactly what the table holds.

The API is reached through an ``ApiTarget`` (the local stack's signed HTTP API in
``slsops.harness.stack_api``; the handlers in process in ``tests/test_reliability_faults.py``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from log_service import keys

FIXED_TIMESTAMP = "2026-01-02T03:04:05.678Z"  # many entries share this millisecond


def rule(operation: str, kind: str, rate: float, when: str = "before", **extra: Any) -> dict:
    """One fault rule as ``slsops local faults`` takes it."""
    return {"operation": operation, "kind": kind, "rate": rate, "when": when, **extra}


# Fault plans by name. "before" faults never took effect; "after" ones did, and the caller was
# told they failed (the case idempotent retries must survive). The service writes markers and
# single entries with PutItem and a batch's log items with BatchWriteItem, so both are faulted.
SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "throttle-before": [
        rule("PutItem", "throttle", 0.5),
        rule("GetItem", "throttle", 0.3),
        rule("BatchWriteItem", "unprocessed", 0.5),
    ],
    "throttling-all": [rule("*", "throttling", 0.4)],
    "internal-after": [
        rule("PutItem", "internal", 0.5, "after"),
        rule("BatchWriteItem", "internal", 0.5, "after"),
    ],
    "internal-mixed": [
        rule("PutItem", "internal", 0.3),
        rule("PutItem", "internal", 0.3, "after"),
        rule("Query", "internal", 0.4),
    ],
    "query-throttle": [rule("Query", "throttle", 0.8)],  # beyond the 3 tries of a read
    "slow": [rule("*", "latency", 0.5, delay_ms=30)],
}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower())


class ApiTarget(Protocol):
    def post(self, body: dict[str, Any]) -> Answer: ...
    def get(self, params: dict[str, str]) -> Answer: ...
    def log_items(self, service_name: str) -> list[dict[str, Any]]: ...


@dataclass
class Tally:
    """What a campaign saw; ``problems`` lists every broken promise (empty when all held)."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    statuses: Counter = field(default_factory=Counter)
    reads: Counter = field(default_factory=Counter)
    server_errors: int = 0  # any 5xx answer (503s included)
    unclean_errors: int = 0  # 5xx other than 503 with Retry-After
    found: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "entries_sent": len(self.sent),
            "acknowledged": len(self.acknowledged),
            "found": self.found,
            "lost": len(self.lost),
            "duplicates": len(self.duplicates),
            "unknown": len(self.unknown),
            "altered": len(self.altered),
            "server_errors": self.server_errors,
            "unclean_errors": self.unclean_errors,
            "statuses": dict(sorted(self.statuses.items())),
            "reads": dict(sorted(self.reads.items())),
            "problems": self.problems[:20],
        }


def make_entries(service: str, prefix: str, count: int) -> list[dict[str, Any]]:
    """Entries with client log_ids; every third shares one millisecond, metadata varied."""
    entries = []
    for n in range(count):
        entry: dict[str, Any] = {
            "service_name": service,
            "log_id": f"{prefix}-{n:04d}",
            "level": ("INFO", "WARN", "ERROR", "DEBUG")[n % 4],
            "message": f"campaign entry {n} of {prefix}",
            "metadata": {"n": n, "big": 1234567890123456789012345678901234567890, "x": 1.50},
        }
        if n % 3 == 0:
            entry["timestamp"] = FIXED_TIMESTAMP
        entries.append(entry)
    return entries


def same_entry(sent: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Does a stored log item (or a read-back view) hold exactly what the client sent?"""
    metadata = stored.get("metadata")
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    return (
        stored.get("log_id") == sent["log_id"]
        and stored.get("service_name") == sent["service_name"]
        and stored.get("level") == sent["level"]
        and stored.get("message") == sent["message"]
        and metadata == sent.get("metadata")
        and ("timestamp" not in sent or stored.get("timestamp") == sent["timestamp"])
    )


class Campaign:
    """One service's entries sent through ``target``; see the module docstring."""

    def __init__(self, target: ApiTarget, service: str, tally: Tally | None = None) -> None:
        self.target = target
        self.service = service
        self.tally = tally or Tally()

    def note(self, answer: Answer, what: str) -> None:
        """Count an answer; a 5xx other than a 503 with Retry-After is unclean."""
        self.tally.statuses[f"{what} {answer.status}"] += 1
        if answer.status >= 500:
            self.tally.server_errors += 1
            if answer.status != 503 or not answer.header("Retry-After"):
                self.tally.unclean_errors += 1
                self.tally.problems.append(f"{what}: unclean {answer.status}: {answer.body}")

    def send_single(self, entry: dict[str, Any]) -> bool:
        self.tally.sent[entry["log_id"]] = entry
        answer = self.target.post(entry)
        self.note(answer, "single")
        if answer.status == 201:
            if answer.body.get("log_id") != entry["log_id"]:
                self.tally.problems.append(f"201 for {entry['log_id']} names {answer.body}")
            self.tally.acknowledged.add(entry["log_id"])
            return True
        if answer.status < 500:
            self.tally.problems.append(f"single {entry['log_id']}: {answer.status} {answer.body}")
        return False

    def send_batch(self, entries: list[dict[str, Any]]) -> list[str]:
        """Send one batch; returns the log_ids the answer says were not stored."""
        for entry in entries:
            self.tally.sent[entry["log_id"]] = entry
        answer = self.target.post({"logs": entries})
        self.note(answer, "batch")
        ids = [e["log_id"] for e in entries]
        if answer.status == 503:
            return ids
        if answer.status not in (201, 207):
            if answer.status < 500:
                self.tally.problems.append(f"batch: {answer.status} {answer.body}")
            return ids
        rows = answer.body.get("results") or []
        if [r.get("index") for r in rows] != list(range(len(entries))):
            self.tally.problems.append(f"batch rows do not cover every entry: {rows}")
            return ids
        failed = []
        for row, log_id in zip(rows, ids, strict=True):
            if row.get("log_id") != log_id:
                self.tally.problems.append(f"batch row {row} is not {log_id}")
            if row.get("status") in ("stored", "duplicate"):
                self.tally.acknowledged.add(log_id)
            elif row.get("status") == "not_stored" and row.get("error"):
                failed.append(log_id)
            else:
                self.tally.problems.append(f"batch row without a valid status: {row}")
                failed.append(log_id)
        if answer.status == 201 and failed:
            self.tally.problems.append(f"201 although {failed} were not stored")
        if answer.status == 207 and not failed:
            self.tally.problems.append("207 although every entry was stored")
        return failed

    def read(self, limit: int = 1000) -> Answer:
        """One read of the service; a 200 must hold only real, unchanged entries."""
        answer = self.target.get({"service_name": self.service, "limit": str(limit)})
        self.note(answer, "read")
        self.tally.reads[str(answer.status)] += 1
        if answer.status == 200:
            for view in answer.body.get("logs", []):
                sent = self.tally.sent.get(view.get("log_id"))
                if sent is None or not same_entry(sent, view):
                    self.tally.problems.append(f"read returned a wrong entry: {view}")
        elif answer.status < 500:
            self.tally.problems.append(f"read: {answer.status} {answer.body}")
        return answer

    def retry_unacknowledged(self, rounds: int) -> None:
        """The client's retries: same log_id, same content, bounded rounds."""
        for _ in range(rounds):
            pending = [e for i, e in self.tally.sent.items() if i not in self.tally.acknowledged]
            if not pending:
                return
            for entry in pending:
                self.send_single(entry)

    def count_table(self) -> None:
        """Scan the service's log items (markers ignored) and count against what was sent."""
        items = [i for i in self.target.log_items(self.service) if not keys.is_marker(i)]
        seen = Counter(str(i.get("log_id")) for i in items)
        tally = self.tally
        tally.found += len(seen)
        tally.duplicates += [log_id for log_id, n in seen.items() if n > 1]
        tally.unknown += [log_id for log_id in seen if log_id not in tally.sent]
        tally.lost += sorted(tally.acknowledged - set(seen))
        for item in items:
            sent = tally.sent.get(str(item.get("log_id")))
            if sent is not None and not same_entry(sent, item):
                tally.altered.append(str(item.get("log_id")))


def run(
    target: ApiTarget,
    service: str,
    prefix: str,
    singles: int,
    batches: int,
    batch_size: int,
    reads: int,
    with_faults: Callable[[], Any],
    without_faults: Callable[[], Any],
    retry_rounds: int = 2,
) -> Campaign:
    """Send, read and retry under faults, then clear them, retry once more and count."""
    campaign = Campaign(target, service)
    entries = make_entries(service, prefix, singles + batches * batch_size)
    with_faults()
    try:
        for entry in entries[:singles]:
            campaign.send_single(entry)
        rest = entries[singles:]
        for start in range(0, len(rest), batch_size):
            campaign.send_batch(rest[start : start + batch_size])
        for _ in range(reads):
            campaign.read()
        campaign.retry_unacknowledged(retry_rounds)
    finally:
        without_faults()
    campaign.retry_unacknowledged(1)
    final = campaign.read()
    campaign.count_table()
    if final.status != 200:
        campaign.tally.problems.append(f"read without faults answered {final.status}")
    else:
        listed = {v.get("log_id") for v in final.body.get("logs", [])}
        if len(listed) != campaign.tally.found:
            campaign.tally.problems.append(
                f"read without faults lists {len(listed)} entries, the table holds "
                f"{campaign.tally.found}"
            )
    pending = set(campaign.tally.sent) - campaign.tally.acknowledged
    if pending:
        campaign.tally.problems.append(f"{len(pending)} entries never acknowledged: {pending}")
    return campaign
