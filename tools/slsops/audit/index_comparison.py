"""The scan with the index read beside it, then the table and the index compared (AUD-016/017).

Only the live scan can compare: an export holds the table alone. The index is counted per
shard while the table is scanned, then a sample of settled table items is looked up through
the index; each disagreement is recorded as a violation.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from log_service import keys
from slsops.audit import aggregate
from slsops.audit.item_judge import ItemJudge
from slsops.audit.kinds import Violation
from slsops.audit.options import AuditOptions
from slsops.audit.page_pipeline import PagePipeline
from slsops.audit.scan import ScanStats, parallel_scan


def index_threads(scan_threads: int) -> int:
    """Threads for the index read: half the scan's, as the index holds about half the items
    (log entries, not their markers). More only compete with the scan for the same server."""
    return max(1, scan_threads // 2)


def scan_with_index(
    client: Any, options: AuditOptions, judge: ItemJudge, phases: dict[str, float]
) -> tuple[ScanStats, dict[str, Any]]:
    """The table scan with the index read beside it, then the index comparison."""
    expected_shards = set(range(options.rules.shard_count))

    def tally_index(shards: set[int]) -> dict[int, aggregate.ShardTally]:
        return aggregate.tally_index_per_shard(
            client,
            options.table_name,
            options.index_name,
            shards,
            judge.cutoff,
            index_threads(options.threads),
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
