"""Benchmark of ``slsops audit``: throughput against a plain parallel scan, and peak memory.

The embedded AWS (moto wrapped with the local stack's gaps) runs in a child process so that
tracemalloc in this process measures the client alone. On one table (10,000 entries = 20,000
items with their idempotency markers, by default) it measures, in the same run and with the
same segments and threads:

* a plain parallel scan that only counts items (the ceiling: what reading costs),
* the full audit (per-item rules, duplicate digests, counts, index counts and sample),

alternating the two ``--rounds`` times and taking each one's best; the ratio audit/plain is
the goal (>= 0.8). Peak memory of the audit is measured in a separate run under tracemalloc
(tracing slows Python down, so it is not timed) next to a plain scan's, at two table sizes
to show it does not grow with the table, and for the duplicate finder alone on ``--digests``
synthetic log ids.

    python bench/bench_audit.py [--entries 10000] [--segments N] [--rounds 2] [--output F]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from log_table_support import client, create_log_table, log_item, put_items  # noqa: E402
from tabulate import tabulate  # noqa: E402

from slsops.audit import aggregate  # noqa: E402
from slsops.audit.rules import RuleSettings  # noqa: E402
from slsops.audit.run import AuditOptions, run_audit  # noqa: E402
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
        rules=RuleSettings(shard_count=16, now=time.time()),
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


def duplicate_finder_peak(count: int) -> float:
    def run() -> None:
        finder = aggregate.DuplicateFinder()
        try:
            chunk = []
            for n in range(count):
                chunk.append(aggregate.log_id_digest(f"id-{n}"))
                if len(chunk) == 10_000:
                    finder.add_many(chunk)
                    chunk = []
            finder.add_many([*chunk, aggregate.log_id_digest("id-7")])
            _found, repeated = finder.duplicates()
            if repeated != 1:
                raise SystemExit(f"duplicate finder found {repeated} repeats, expected 1")
        finally:
            finder.close()

    return peak_of(run)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000, help="entries (2 items each)")
    parser.add_argument("--segments", type=int, default=0, help="0: as the audit picks")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--digests", type=int, default=1_000_000)
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
        items = int(ddb.describe_table(TableName=large)["Table"]["ItemCount"])
        segments = args.segments or max(2, default_segments(items))
        threads = default_threads(segments)

        plain_rates, audit_rates, scan_phase_rates, phases = [], [], [], []
        result = None
        for _ in range(max(1, args.rounds)):
            count, seconds = plain_scan(ddb, large, segments, threads)
            plain_rates.append(count / seconds)
            result, seconds = audit(ddb, large, segments, threads)
            audit_rates.append(result.scan.items / seconds)
            scan_phase_rates.append(result.scan.items_per_second)
            phases.append(result.phases)
        if result is None or sum(result.violations.counts.values()):
            raise SystemExit("the benchmark table should audit clean")

        peak_plain = peak_of(lambda: plain_scan(ddb, large, segments, threads))
        peak_large = peak_of(lambda: audit(ddb, large, segments, threads))
        peak_small = peak_of(lambda: audit(ddb, small, segments, threads))
        peak_digests = duplicate_finder_peak(args.digests)
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=30)

    plain, full, phase = max(plain_rates), max(audit_rates), max(scan_phase_rates)
    numbers = {
        "items": items,
        "segments": segments,
        "threads": threads,
        "seed_seconds": round(seeded_s, 1),
        "plain_scan_items_per_s": round(plain, 1),
        "audit_items_per_s": round(full, 1),
        "audit_scan_phase_items_per_s": round(phase, 1),
        "ratio_full_audit": round(full / plain, 3),
        "ratio_scan_phase": round(phase / plain, 3),
        "goal_ratio": 0.8,
        "audit_phase_seconds": {k: round(v, 2) for k, v in phases[-1].items()},
        "peak_mib_plain_scan": round(peak_plain, 2),
        "peak_mib_audit": round(peak_large, 2),
        "peak_mib_audit_half_table": round(peak_small, 2),
        "peak_mib_duplicate_finder": round(peak_digests, 2),
        "duplicate_finder_digests": args.digests,
    }
    rows = [
        ["plain parallel scan", f"{plain:,.0f} items/s", ""],
        ["audit, whole run", f"{full:,.0f} items/s", f"ratio {full / plain:.2f} (goal >= 0.8)"],
        ["audit, scan phase", f"{phase:,.0f} items/s", f"ratio {phase / plain:.2f}"],
        ["plain scan peak memory", f"{peak_plain:.1f} MiB", f"{items:,} items"],
        ["audit peak memory", f"{peak_large:.1f} MiB", f"{items:,} items"],
        ["audit peak memory", f"{peak_small:.1f} MiB", "half the entries"],
        ["duplicate finder peak", f"{peak_digests:.1f} MiB", f"{args.digests:,} log ids"],
    ]
    print(tabulate(rows, headers=["measure", "value", "note"]))
    print("audit phases (s):", json.dumps(numbers["audit_phase_seconds"]))
    print(f"({items:,} items, {segments} segments, {threads} threads, best of {args.rounds})")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
