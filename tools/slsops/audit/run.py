"""One audit of the log table: scan once, judge every item, then the cross-item checks.

The result (``AuditResult``) is what the AUD-* checks read; violations are streamed to the
``--violations`` file as they are found, so the audit keeps only counts and a few sample keys
per kind in memory.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from log_service import keys
from slsops.audit import aggregate
from slsops.audit.rules import KINDS, RuleSettings, Violation, check_item, item_key, string
from slsops.audit.scan import ScanStats, parallel_scan

SAMPLES_PER_KIND = 5
INDEX_SETTLE_SECONDS = 60
INDEX_SAMPLE_SIZE = 8


@dataclass
class AuditOptions:
    table_name: str
    index_name: str
    segments: int
    threads: int
    rules: RuleSettings
    violations_path: Path | None = None
    index_sample_size: int = INDEX_SAMPLE_SIZE
    advance: Callable[[int], None] = lambda _n: None


class ViolationLog:
    """Counts and sample keys per kind; every violation as one JSON line when a path is given."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, list[dict[str, str]]] = {k.name: [] for k in KINDS}
        self._lock = threading.Lock()
        self._handle = None
        self._tmp: str | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            self._handle = os.fdopen(fd, "w", encoding="utf-8")

    def record(self, violations: list[Violation]) -> None:
        if not violations:
            return
        with self._lock:
            for violation in violations:
                self.counts[violation.kind] += 1
                samples = self.samples[violation.kind]
                if len(samples) < SAMPLES_PER_KIND:
                    samples.append(violation.key)
                if self._handle is not None:
                    line = json.dumps(violation.as_dict(), ensure_ascii=False, sort_keys=True)
                    self._handle.write(line + "\n")

    def close(self, keep: bool = True) -> None:
        """Finish the file (atomically in place) or drop it."""
        if self._handle is None or self._tmp is None:
            return
        self._handle.close()
        self._handle = None
        if keep and self.path is not None:
            os.replace(self._tmp, self.path)
        else:
            Path(self._tmp).unlink(missing_ok=True)


@dataclass
class AuditResult:
    scan: ScanStats
    log_items: int
    markers: int
    violations: ViolationLog
    services: Counter[str]
    levels: Counter[str]
    days: Counter[str]
    table_shards: dict[int, int]
    index_shards: dict[int, int]
    index_sample: list[dict[str, str]]
    index_sample_missing: list[dict[str, str]]
    duplicate_log_ids: int
    expired_still_stored: int
    phases: dict[str, float] = field(default_factory=dict)

    def kind_summary(self) -> list[dict[str, Any]]:
        """Per kind with at least one violation: check id, count, sample keys."""
        return [
            {
                "check": k.check_id,
                "kind": k.name,
                "count": self.violations.counts[k.name],
                "sample_keys": self.violations.samples[k.name],
            }
            for k in KINDS
            if self.violations.counts[k.name]
        ]


class _Collector:
    """Everything the table scan accumulates, merged page by page under one lock."""

    def __init__(self, options: AuditOptions, log: ViolationLog) -> None:
        self.options = options
        self.log = log
        self.lock = threading.Lock()
        self.duplicates = aggregate.DuplicateFinder()
        self.services = aggregate.CappedCounter()
        self.levels = aggregate.CappedCounter()
        self.days = aggregate.CappedCounter()
        self.shards: dict[int, aggregate.ShardTally] = {}
        self.reservoir = aggregate.Reservoir(options.index_sample_size)
        self.log_items = 0
        self.markers = 0
        self.expired = 0
        # Items ingested after this are left out of the index comparison: they may still be
        # on their way into the index, or written after the index was counted.
        self.cutoff = keys.format_timestamp(
            datetime.fromtimestamp(options.rules.now - INDEX_SETTLE_SECONDS, UTC)
        )

    def on_page(self, items: list[dict[str, Any]]) -> None:
        rules = self.options.rules
        found: list[Violation] = []
        digests: list[int] = []
        services: Counter[str] = Counter()
        levels: Counter[str] = Counter()
        days: Counter[str] = Counter()
        shards: dict[int, aggregate.ShardTally] = {}
        candidates: list[dict[str, str]] = []
        markers = expired = 0
        for item in items:
            found.extend(check_item(item, rules))
            shard = (item.get(keys.INDEX_PARTITION_KEY) or {}).get("N")
            sort_key = string(item, keys.SORT_KEY)
            ingested = string(item, "ingested_at")
            settled = ingested is not None and ingested <= self.cutoff
            shard_number = _as_int(shard) if shard is not None else None
            if shard_number is not None and sort_key is not None and settled:
                shards.setdefault(shard_number, aggregate.ShardTally()).add(
                    string(item, keys.PARTITION_KEY) or "", sort_key
                )
                candidates.append({**item_key(item), keys.INDEX_PARTITION_KEY: shard})
            partition = string(item, keys.PARTITION_KEY) or ""
            if partition.startswith(keys.MARKER_PREFIX):
                markers += 1
                continue
            log_id = string(item, "log_id")
            if log_id is not None:
                digests.append(aggregate.log_id_digest(log_id))
            services[partition] += 1
            levels[string(item, "level") or "(none)"] += 1
            timestamp = string(item, "timestamp") or ""
            days[timestamp[:10] if keys.TIMESTAMP_PATTERN.match(timestamp) else "(unknown)"] += 1
            ttl = (item.get(keys.TTL_ATTRIBUTE) or {}).get("N")
            ttl_value = _as_int(ttl) if ttl is not None else None
            if ttl_value is not None and ttl_value <= rules.now:
                expired += 1
        self.log.record(found)
        self.duplicates.add_many(digests)
        with self.lock:
            self.log_items += len(items) - markers
            self.markers += markers
            self.expired += expired
            self.services.merge(services)
            self.levels.merge(levels)
            self.days.merge(days)
            for shard_number, tally in shards.items():
                self.shards.setdefault(shard_number, aggregate.ShardTally()).merge(tally)
            for candidate in candidates:
                self.reservoir.offer(candidate)
        self.options.advance(len(items))


def _as_int(text: str) -> int | None:
    """The integer a DynamoDB number holds, None for a fraction (the rules report those)."""
    try:
        return int(text)
    except ValueError:
        return None


def run_audit(client: Any, options: AuditOptions) -> AuditResult:
    """Scan, judge, and run the cross-item checks; the violations file is complete on return."""
    log = ViolationLog(options.violations_path)
    collector = _Collector(options, log)
    phases: dict[str, float] = {}
    try:
        expected_shards = set(range(options.rules.shard_count))

        def tally_index(shards: set[int]) -> dict[int, aggregate.ShardTally]:
            return aggregate.tally_index_per_shard(
                client,
                options.table_name,
                options.index_name,
                shards,
                collector.cutoff,
                options.threads,
            )

        # The index is read beside the table scan (the cutoff is fixed up front), so the
        # consistency check costs little wall time beyond the scan itself.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-tally") as background:
            clock = time.perf_counter()
            index_future = background.submit(tally_index, expected_shards)
            stats = parallel_scan(
                client, options.table_name, options.segments, options.threads, collector.on_page
            )
            index_shards = dict(index_future.result())
            phases["index_count_s"] = time.perf_counter() - clock
        unexpected = set(collector.shards) - expected_shards  # shards only bad items name
        if unexpected:
            index_shards.update(tally_index(unexpected))
        clock = time.perf_counter()
        duplicate_count = _follow_up_duplicates(client, options, collector, log)
        phases["duplicates_s"] = time.perf_counter() - clock
        empty = aggregate.ShardTally()
        every_shard = sorted(set(index_shards) | set(collector.shards))
        table_tally = {s: collector.shards.get(s, empty) for s in every_shard}
        index_tally = {s: index_shards.get(s, empty) for s in every_shard}
        log.record(
            [
                Violation(
                    "index_count_mismatch",
                    {keys.INDEX_PARTITION_KEY: str(s)},
                    f"shard {s}: table {table_tally[s].count} items, index "
                    f"{index_tally[s].count} items"
                    + ("" if table_tally[s].count != index_tally[s].count else ", other keys"),
                )
                for s in every_shard
                if table_tally[s] != index_tally[s]
            ]
        )
        table_shards = {s: t.count for s, t in table_tally.items()}
        index_counts = {s: t.count for s, t in index_tally.items()}
        clock = time.perf_counter()
        missing = [
            sample
            for sample in collector.reservoir.sample
            if not aggregate.index_has_item(
                client,
                options.table_name,
                options.index_name,
                sample[keys.INDEX_PARTITION_KEY],
                sample[keys.SORT_KEY],
                sample[keys.PARTITION_KEY],
            )
        ]
        phases["index_sample_s"] = time.perf_counter() - clock
        log.record(
            [
                Violation(
                    "index_sample_missing",
                    {k: s[k] for k in (keys.PARTITION_KEY, keys.SORT_KEY)},
                    f"not found in the index under gsi_shard {s[keys.INDEX_PARTITION_KEY]}",
                )
                for s in missing
            ]
        )
    except BaseException:
        log.close(keep=False)
        collector.duplicates.close()
        raise
    log.close(keep=True)
    collector.duplicates.close()
    return AuditResult(
        scan=stats,
        log_items=collector.log_items,
        markers=collector.markers,
        violations=log,
        services=collector.services.counts,
        levels=collector.levels.counts,
        days=collector.days.counts,
        table_shards=table_shards,
        index_shards=index_counts,
        index_sample=collector.reservoir.sample,
        index_sample_missing=missing,
        duplicate_log_ids=duplicate_count,
        expired_still_stored=collector.expired,
        phases={"scan_s": stats.seconds, **phases},
    )


def _follow_up_duplicates(
    client: Any, options: AuditOptions, collector: _Collector, log: ViolationLog
) -> int:
    """Second pass, only when digests repeat: the keys behind each repeated log id.

    Returns how many distinct log ids are stored more than once.
    """
    digests, _repeated = collector.duplicates.duplicates()
    if not digests:
        return 0
    holders: dict[str, list[dict[str, str]]] = {}
    lock = threading.Lock()

    def on_page(items: list[dict[str, Any]]) -> None:
        for item in items:
            log_id = string(item, "log_id")
            partition = string(item, keys.PARTITION_KEY) or ""
            if log_id is None or partition.startswith(keys.MARKER_PREFIX):
                continue
            if aggregate.log_id_digest(log_id) in digests:
                with lock:
                    holders.setdefault(log_id, []).append(item_key(item))

    parallel_scan(
        client,
        options.table_name,
        options.segments,
        options.threads,
        on_page,
        projection="#p, #s, log_id",
        names={"#p": keys.PARTITION_KEY, "#s": keys.SORT_KEY},
    )
    duplicates = {log_id: found for log_id, found in holders.items() if len(found) > 1}
    for log_id, found in sorted(duplicates.items()):
        log.record(
            [
                Violation("duplicate_log_id", key, f"log_id {log_id!r} stored {len(found)} times")
                for key in sorted(found, key=lambda k: (k[keys.PARTITION_KEY], k[keys.SORT_KEY]))
            ]
        )
    return len(duplicates)
