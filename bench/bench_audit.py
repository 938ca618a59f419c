"""Benchmark of ``slsops audit``: throughput against a plain parallel scan, and peak memory.

The embedded AWS (moto wrapped with the local stack's gaps) runs in a child process so that
tracemalloc in this process measures the client alone. On one table (10,000 entries = 20,000
items with their idempotency markers, by default) it measures, in the same run and with the
same segments and threads:

* a plain parallel scan that only counts items (the ceiling: what reading costs),
* the full audit (per-item rules, the item relation and its SQL rules in DuckDB, counts,
  index counts and sample),

alternating the two ``--rounds`` times and taking each one's best; the ratio audit/plain is
the goal (>= 0.8). It does so at the segments the audit picks from the table size (AWS
guidance: one per 2 GB) and at ``--segments`` (default 4). Peak Python memory of the audit is
measured in a separate run under tracemalloc (tracing slows Python down, so it is not timed)
next to a plain scan's, at two table sizes to show it does not grow with the table; DuckDB's
own memory is outside tracemalloc and capped by ``relation.MEMORY_LIMIT`` (it spills to
disk), and the process's peak RSS is printed too.

The audit reads the index beside the table scan (AUD-016/017). On AWS that read uses the
index's own capacity; here it is extra work for the same embedded-AWS process, which is the
bottleneck (about 3 s of its CPU for a scan of 20k items, against 0.7 s of client CPU). What
keeps the audit near the scan's pace: its pages are decoded by ``json`` alone
(``slsops.deployment.wire_items``: 0.13 s of client CPU instead of botocore's 0.71 s), the index
is read with half the scan's threads and only the keys it needs, and moto builds that projection
without deep-copying whole items (``slsops.local.speed.projection``: about 0.45 s of its CPU
for the index instead of about 1 s). ``audit phases`` shows where the time went.

    python bench/bench_audit.py [--entries 10000] [--segments 4] [--rounds 3] [--output F]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from log_table_support import (  # noqa: E402
    SHARD_COUNT,
    client,
    create_log_table,
    log_item,
    put_items,
)
from tabulate import tabulate  # noqa: E402

from slsops.audit import relation  # noqa: E402
from slsops.audit.options import AuditOptions  # noqa: E402
from slsops.audit.rules import RuleSettings  # noqa: E402
from slsops.audit.run import run_audit  # noqa: E402
from slsops.audit.scan import default_segments, default_threads, parallel_scan  # noqa: E402

SERVER = textwrap.dedent(
    """
    import sys, time
    from slsops.local.aws_app import build_moto_app, serve_in_thread
    with serve_in_thread(build_moto_app()) as url:
        print(url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin
    """
)
MIB = 1024 * 1024


def start_server() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = (process.stdout.readline() if process.stdout else "").strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"embedded AWS did not start: {url!r}")
    return process, url


def stop_server(process: subprocess.Popen) -> None:
    """Close its stdin (it exits), or kill it when it does not within 30 s."""
    if process.stdin:
        process.stdin.close()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def seed_table(endpoint: str, name: str, entries: int) -> None:
    create_log_table(endpoint, name)
    batch = []
    for n in range(entries):
        item, marker = log_item(service=f"svc-{n % 20}", level=("INFO", "WARN", "ERROR")[n % 3])
        batch += [item, marker]
        if len(batch) >= 2_000:
            put_items(endpoint, name, batch)
            batch = []
    put_items(endpoint, name, batch)


def plain_scan(ddb, table: str, segments: int, threads: int) -> tuple[int, float]:
    stats = parallel_scan(ddb, table, segments, threads, lambda _items: None)
    return stats.items, stats.seconds


def audit(ddb, table: str, segments: int, threads: int):
    options = AuditOptions(
        table_name=table,
        index_name="all-services-newest",
        segments=segments,
        threads=threads,
        rules=RuleSettings(shard_count=SHARD_COUNT, now=time.time()),
    )
    started = time.perf_counter()
    result = run_audit(ddb, options)
    return result, time.perf_counter() - started


def peak_of(run) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def compare(ddb, table: str, segments: int, threads: int, rounds: int) -> dict:
    """Plain scan and full audit alternated ``rounds`` times; each one's best rate."""
    plain_rates, audit_rates, scan_phase_rates, phases = [], [], [], []
    result = None
    for _ in range(max(1, rounds)):
        count, seconds = plain_scan(ddb, table, segments, threads)
        plain_rates.append(count / seconds)
        result, seconds = audit(ddb, table, segments, threads)
        audit_rates.append(result.scan.items / seconds)
        scan_phase_rates.append(result.scan.items_per_second)
        phases.append(result.phases)
    if result is None or sum(result.violations.counts.values()):
        raise SystemExit("the benchmark table should audit clean")
    plain, full, phase = max(plain_rates), max(audit_rates), max(scan_phase_rates)
    return {
        "segments": segments,
        "threads": threads,
        "plain_scan_items_per_s": round(plain, 1),
        "audit_items_per_s": round(full, 1),
        "audit_scan_phase_items_per_s": round(phase, 1),
        "ratio_full_audit": round(full / plain, 3),
        "ratio_scan_phase": round(phase / plain, 3),
        "audit_phase_seconds": {k: round(v, 2) for k, v in phases[-1].items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000, help="entries (2 items each)")
    parser.add_argument("--segments", type=int, default=4, help="the fixed segment count")
    parser.add_argument("--rounds", type=int, default=3, help="best of N (the machine is shared)")
    parser.add_argument("--output", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args()

    process, endpoint = start_server()
    try:
        ddb = client(endpoint, "dynamodb")
        small, large = "bench-audit-small", "bench-audit"
        t0 = time.perf_counter()
        seed_table(endpoint, large, args.entries)
        seed_table(endpoint, small, max(1, args.entries // 2))
        seeded_s = time.perf_counter() - t0
        described = ddb.describe_table(TableName=large)["Table"]
        items = int(described["ItemCount"])
        auto = default_segments(items, size_bytes=int(described.get("TableSizeBytes") or 0))
        runs = [compare(ddb, large, auto, default_threads(auto), args.rounds)]
        if args.segments != auto:
            fixed = args.segments
            runs.append(compare(ddb, large, fixed, default_threads(fixed), args.rounds))
        segments, threads = runs[0]["segments"], runs[0]["threads"]
        peak_plain = peak_of(lambda: plain_scan(ddb, large, segments, threads))
        peak_large = peak_of(lambda: audit(ddb, large, segments, threads))
        peak_small = peak_of(lambda: audit(ddb, small, segments, threads))
    finally:
        stop_server(process)

    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    numbers = {
        "items": items,
        "seed_seconds": round(seeded_s, 1),
        "goal_ratio": 0.8,
        "runs": runs,
        "peak_mib_plain_scan": round(peak_plain, 2),
        "peak_mib_audit": round(peak_large, 2),
        "peak_mib_audit_half_table": round(peak_small, 2),
        "duckdb_memory_limit": relation.MEMORY_LIMIT,
        "peak_rss_mib_process": round(rss_mib, 1),
    }
    rows = []
    for run in runs:
        label = f"{run['segments']} segment(s), {run['threads']} thread(s)"
        rows += [
            [f"plain parallel scan, {label}", f"{run['plain_scan_items_per_s']:,.0f} items/s", ""],
            [
                f"audit, whole run, {label}",
                f"{run['audit_items_per_s']:,.0f} items/s",
                f"ratio {run['ratio_full_audit']:.2f} (goal >= 0.8)",
            ],
            [
                f"audit, scan phase, {label}",
                f"{run['audit_scan_phase_items_per_s']:,.0f} items/s",
                f"ratio {run['ratio_scan_phase']:.2f}",
            ],
        ]
    rows += [
        ["plain scan peak memory (Python)", f"{peak_plain:.1f} MiB", f"{items:,} items"],
        ["audit peak memory (Python)", f"{peak_large:.1f} MiB", f"{items:,} items"],
        ["audit peak memory (Python)", f"{peak_small:.1f} MiB", "half the entries"],
        ["DuckDB memory limit", relation.MEMORY_LIMIT, "spills to disk beyond it"],
        ["process peak RSS", f"{rss_mib:.0f} MiB", "client side, whole benchmark"],
    ]
    print(tabulate(rows, headers=["measure", "value", "note"]))
    for run in runs:
        print(
            f"audit phases at {run['segments']} segment(s) (s):",
            json.dumps(run["audit_phase_seconds"]),
        )
    print(f"({items:,} items, segments chosen from the table size: {auto}; best of {args.rounds})")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
