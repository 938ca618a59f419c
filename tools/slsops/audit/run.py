"""One audit of the log table: read every item once, judge it, then the rules across items.

Two sources feed the same judgement: a parallel scan of the live table (``run_audit``) and
the files of a point-in-time export (``slsops.audit.export``). Both hand pages of items in
DynamoDB's wire form to ``ItemJudge``, which applies the per-item rules (``rules``), counts,
and writes the item relation; the rules across items then run as SQL over that relation
(``relation``). Only the scan can compare the table with its index (AUD-016/017): an export
holds the table alone.

The result (``AuditResult``) is what the AUD-* checks read; violations are streamed to the
``--violations`` file as they are found, so the audit keeps only counts and a few sample keys
per kind in memory.
"""

from __future__ import annotations

import json
import os
import queue
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from log_service import keys
from slsops.audit import aggregate, relation
from slsops.audit.rules import (
    KINDS,
    RuleSettings,
    Violation,
    check_item,
    item_key,
    reserved_service,
    string,
)
from slsops.audit.scan import ScanStats, parallel_scan

SAMPLES_PER_KIND = 5
INDEX_SETTLE_SECONDS = 60
INDEX_SAMPLE_SIZE = 8
PAGES_IN_FLIGHT = 4  # pages read and not yet judged, at most (each at most 1 MB)


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
    # Only these kinds are recorded (``--only``); None records every kind.
    kinds: frozenset[str] | None = None
    settle_seconds: int = INDEX_SETTLE_SECONDS

    @property
    def cutoff(self) -> str:
        """Items ingested after this are still settling (index lag, in-flight writes)."""
        moment = datetime.fromtimestamp(self.rules.now - self.settle_seconds, UTC)
        return keys.format_timestamp(moment)


class ViolationLog:
    """Counts and sample keys per kind; every violation as one JSON line when a path is given.

    Kinds outside ``kinds`` are neither counted nor written, so ``--only AUD-003`` lists
    that check's violations alone.
    """

    def __init__(self, path: Path | None, kinds: frozenset[str] | None = None) -> None:
        self.path = path
        self.kinds = kinds
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, list[dict[str, str]]] = {k.name: [] for k in KINDS}
        self._lock = threading.Lock()
        self._handle = None
        self._tmp: str | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            self._handle = os.fdopen(fd, "w", encoding="utf-8")

    def wants(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def record(self, violations: list[Violation]) -> None:
        if not violations:
            return
        with self._lock:
            for violation in violations:
                if not self.wants(violation.kind):
                    continue
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
    source: str  # "scan" or "export"
    scan: ScanStats
    log_items: int
    markers: int
    violations: ViolationLog
    services: Counter[str]
    reserved: Counter[str]
    levels: Counter[str]
    days: Counter[str]
    table_shards: dict[int, int]
    index_shards: dict[int, int]
    index_sample: list[dict[str, str]]
    index_sample_missing: list[dict[str, str]]
    duplicate_log_ids: int
    expired_still_stored: int
    phases: dict[str, float] = field(default_factory=dict)
    source_detail: dict[str, Any] = field(default_factory=dict)

    @property
    def index_compared(self) -> int:
        """Settled items the index comparison covered (0: it compared nothing)."""
        return sum(self.table_shards.values()) + sum(self.index_shards.values())

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


class ItemJudge:
    """Everything a pass over the items accumulates, merged page by page under one lock.

    ``on_page`` may run in several threads at once (one per scan segment or export file).
    """

    def __init__(
        self,
        options: AuditOptions,
        log: ViolationLog,
        workdir: Path,
        *,
        tally_shards: bool,
        spool_relation: bool = True,
    ) -> None:
        self.options = options
        self.log = log
        self.tally_shards = tally_shards
        self.lock = threading.Lock()
        self.spool = relation.RelationSpool(workdir) if spool_relation else None
        self.services = aggregate.CappedCounter()
        self.reserved = aggregate.CappedCounter()
        self.levels = aggregate.CappedCounter()
        self.days = aggregate.CappedCounter()
        self.shards: dict[int, aggregate.ShardTally] = {}
        self.reservoir = aggregate.Reservoir(options.index_sample_size)
        self.items = 0
        self.log_items = 0
        self.markers = 0
        self.expired = 0
        self.cutoff = options.cutoff

    def on_page(self, items: list[dict[str, Any]]) -> None:
        rules = self.options.rules
        found: list[Violation] = []
        rows: list[list[Any]] = []
        services: Counter[str] = Counter()
        reserved: Counter[str] = Counter()
        levels: Counter[str] = Counter()
        days: Counter[str] = Counter()
        shards: dict[int, aggregate.ShardTally] = {}
        candidates: list[dict[str, str]] = []
        markers = expired = 0
        for item in items:
            own_service = reserved_service(item)
            if own_service is not None:
                reserved[own_service] += 1
            else:
                found.extend(check_item(item, rules))
            if self.spool is not None:
                row = relation.row_of(item)
                if row is not None:
                    rows.append(row)
            if self.tally_shards:
                self._tally(item, shards, candidates)
            partition = string(item, keys.PARTITION_KEY) or ""
            if partition.startswith(keys.MARKER_PREFIX):
                markers += 1
                continue
            if own_service is None:
                services[partition] += 1
            levels[string(item, "level") or "(none)"] += 1
            timestamp = string(item, "timestamp") or ""
            days[timestamp[:10] if keys.TIMESTAMP_PATTERN.match(timestamp) else "(unknown)"] += 1
            ttl = (item.get(keys.TTL_ATTRIBUTE) or {}).get("N")
            ttl_value = _as_int(ttl) if ttl is not None else None
            if ttl_value is not None and ttl_value <= rules.now:
                expired += 1
        self.log.record(found)
        if self.spool is not None:
            self.spool.add(rows)
        with self.lock:
            self.items += len(items)
            self.log_items += len(items) - markers
            self.markers += markers
            self.expired += expired
            self.services.merge(services)
            self.reserved.merge(reserved)
            self.levels.merge(levels)
            self.days.merge(days)
            for shard_number, tally in shards.items():
                self.shards.setdefault(shard_number, aggregate.ShardTally()).merge(tally)
            for candidate in candidates:
                self.reservoir.offer(candidate)
        self.options.advance(len(items))

    def _tally(
        self,
        item: dict[str, Any],
        shards: dict[int, aggregate.ShardTally],
        candidates: list[dict[str, str]],
    ) -> None:
        """Count a settled item under its gsi_shard (what the index must hold)."""
        shard = (item.get(keys.INDEX_PARTITION_KEY) or {}).get("N")
        sort_key = string(item, keys.SORT_KEY)
        ingested = string(item, "ingested_at")
        if shard is None or sort_key is None or ingested is None or ingested > self.cutoff:
            return
        shard_number = _as_int(shard)
        if shard_number is None:
            return
        shards.setdefault(shard_number, aggregate.ShardTally()).add(
            string(item, keys.PARTITION_KEY) or "", sort_key
        )
        candidates.append({**item_key(item), keys.INDEX_PARTITION_KEY: shard})

    def judge_rows(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Record the relation rules' rows (any engine); return how many log ids repeat."""
        repeated: set[str] = set()
        batch: list[Violation] = []
        for row in rows:
            found = relation.finding(row)
            if found.service and keys.is_reserved_service(found.service):
                continue
            if found.kind == "duplicate_log_id":
                repeated.add(str(found.extra.get("log_id")))
            batch.append(Violation(found.kind, found.key, found.detail, found.extra))
            if len(batch) >= 1000:
                self.log.record(batch)
                batch = []
        self.log.record(batch)
        return len(repeated)


def _as_int(text: str) -> int | None:
    """The integer a DynamoDB number holds, None for a fraction (the rules report those)."""
    try:
        return int(text)
    except ValueError:
        return None


def result_of(
    judge: ItemJudge,
    source: str,
    stats: ScanStats,
    duplicates: int,
    phases: dict[str, float],
    **index: Any,
) -> AuditResult:
    return AuditResult(
        source=source,
        scan=stats,
        log_items=judge.log_items,
        markers=judge.markers,
        violations=judge.log,
        services=judge.services.counts,
        reserved=judge.reserved.counts,
        levels=judge.levels.counts,
        days=judge.days.counts,
        table_shards=index.get("table_shards", {}),
        index_shards=index.get("index_shards", {}),
        index_sample=index.get("index_sample", []),
        index_sample_missing=index.get("index_sample_missing", []),
        duplicate_log_ids=duplicates,
        expired_still_stored=judge.expired,
        phases=phases,
        source_detail=index.get("source_detail", {}),
    )


class PagePipeline:
    """Judge pages in a thread of their own while the scan threads read the next ones.

    A scan thread hands its page over and asks for the next page at once, so reading and
    judging overlap instead of taking turns. The queue holds at most ``PAGES_IN_FLIGHT``
    pages: a scan that outpaces the judge waits, and memory stays bounded.
    """

    def __init__(self, on_page: Callable[[list[dict[str, Any]]], None]) -> None:
        self.on_page = on_page
        self.pages: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(PAGES_IN_FLIGHT)
        self.error: BaseException | None = None
        self.worker = threading.Thread(target=self._judge, name="audit-judge", daemon=True)
        self.worker.start()

    def _judge(self) -> None:
        while True:
            page = self.pages.get()
            if page is None:
                return
            if self.error is None:
                try:
                    self.on_page(page)
                except BaseException as exc:  # handed to the caller in submit/close
                    self.error = exc

    def submit(self, page: list[dict[str, Any]]) -> None:
        if self.error is not None:
            raise self.error
        self.pages.put(page)

    def close(self) -> None:
        """Wait until every page is judged; re-raise what judging raised."""
        self.pages.put(None)
        self.worker.join()
        if self.error is not None:
            raise self.error


def run_audit(client: Any, options: AuditOptions) -> AuditResult:
    """Scan, judge, and run the cross-item checks; the violations file is complete on return."""
    log = ViolationLog(options.violations_path, options.kinds)
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="slsops-audit-") as workdir:
        judge = ItemJudge(options, log, Path(workdir), tally_shards=True)
        try:
            stats, index = _scan_with_index(client, options, judge, phases)
            clock = time.perf_counter()
            con = relation.connect(Path(workdir))
            try:
                relation.load_spool(con, judge.spool)  # type: ignore[arg-type]
                duplicates = judge.judge_rows(
                    relation.run_rules_duckdb(con, options.rules.now, judge.cutoff)
                )
            finally:
                con.close()
            phases["relation_s"] = time.perf_counter() - clock
        except BaseException:
            if judge.spool is not None:
                judge.spool.close()
            log.close(keep=False)
            raise
    log.close(keep=True)
    return result_of(judge, "scan", stats, duplicates, {"scan_s": stats.seconds, **phases}, **index)


def _scan_with_index(
    client: Any, options: AuditOptions, judge: ItemJudge, phases: dict[str, float]
) -> tuple[ScanStats, dict[str, Any]]:
    """The table scan with the index read beside it, then the index comparison."""
    expected_shards = set(range(options.rules.shard_count))

    def tally_index(shards: set[int]) -> dict[int, aggregate.ShardTally]:
        return aggregate.tally_index_per_shard(
            client, options.table_name, options.index_name, shards, judge.cutoff, options.threads
        )

    # The index is read beside the table scan (the cutoff is fixed up front), so the
    # consistency check costs little wall time beyond the scan itself.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-tally") as background:
        clock = time.perf_counter()
        index_future = background.submit(tally_index, expected_shards)
        pipeline = PagePipeline(judge.on_page)
        try:
            stats = parallel_scan(
                client, options.table_name, options.segments, options.threads, pipeline.submit
            )
        finally:
            pipeline.close()
        index_shards = dict(index_future.result())
        phases["index_count_s"] = time.perf_counter() - clock
    unexpected = set(judge.shards) - expected_shards  # shards only bad items name
    if unexpected:
        index_shards.update(tally_index(unexpected))
    empty = aggregate.ShardTally()
    every_shard = sorted(set(index_shards) | set(judge.shards))
    table_tally = {s: judge.shards.get(s, empty) for s in every_shard}
    index_tally = {s: index_shards.get(s, empty) for s in every_shard}
    judge.log.record(
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
    clock = time.perf_counter()
    sample = judge.reservoir.sample
    missing = [
        s
        for s in sample
        if not aggregate.index_has_item(
            client,
            options.table_name,
            options.index_name,
            s[keys.INDEX_PARTITION_KEY],
            s[keys.SORT_KEY],
            s[keys.PARTITION_KEY],
        )
    ]
    phases["index_sample_s"] = time.perf_counter() - clock
    judge.log.record(
        [
            Violation(
                "index_sample_missing",
                {k: s[k] for k in (keys.PARTITION_KEY, keys.SORT_KEY)},
                f"not found in the index under gsi_shard {s[keys.INDEX_PARTITION_KEY]}",
            )
            for s in missing
        ]
    )
    return stats, {
        "table_shards": {s: t.count for s, t in table_tally.items()},
        "index_shards": {s: t.count for s, t in index_tally.items()},
        "index_sample": sample,
        "index_sample_missing": missing,
    }
