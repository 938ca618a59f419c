"""Judge pages of items as a pass reads them: per-item rules, counts, the item relation.

Both sources (the live scan and an export's files) hand pages of items in DynamoDB's wire form
to ``ItemJudge``; it applies the per-item rules, counts, tallies what the index must hold, and
spools the rows the rules across items (``relation``) then run over.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from log_service import keys
from slsops.audit import aggregate, relation
from slsops.audit.kinds import Violation
from slsops.audit.options import AuditOptions
from slsops.audit.result import AuditResult
from slsops.audit.rules import check_item
from slsops.audit.scan import ScanStats
from slsops.audit.stored_item import item_key, reserved_service, string
from slsops.audit.violation_log import ViolationLog


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
        content_compared=index.get("content_compared", 0),
        phases=phases,
        source_detail=index.get("source_detail", {}),
    )
