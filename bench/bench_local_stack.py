"""Reads on the local stack's embedded AWS: flat in the table's size, and against today's moto.

On the embedded AWS as ``slsops local up`` serves it (moto with the gaps and the speed patches,
over loopback HTTP), a table seeded with realistic log items and idempotency markers (written
as the service writes them) is read by the service's own ``LogReader``:

- newest-100 across services: one Limit query per index shard (SHARD_COUNT of them), merged;
- newest-100 of one service: one query on the table's partition.

Sizes 1k, 20k and 100k items are measured side by side in one run with the speed patch, and at
20k also without the speed patches (every module of ``slsops.local.speed`` but ``sort_keys``,
which the stack had before as a gap: moto's own Query, parser, dispatch and serializer). The goals
are printed as ratios: each read within 1.5x across sizes, and >= 20x faster than without the
patch at 20k. Every loop is bounded; nothing leaves loopback.

    python bench/bench_local_stack.py [--sizes 1000,20000,100000] [--reads 15] [--baseline-reads 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from boto3.dynamodb.types import TypeSerializer  # noqa: E402
from reader_variants import shares_without_margin  # noqa: E402
from tabulate import tabulate  # noqa: E402

from log_service import keys  # noqa: E402
from log_service.items import make_log_item, make_marker  # noqa: E402
from log_service.model import parse_entry  # noqa: E402
from log_service.reader import LogReader, RecentQuery  # noqa: E402
from log_service.settings import Settings  # noqa: E402
from slsops.local.aws_app import build_moto_app, serve_in_thread  # noqa: E402
from slsops.local.seed import make_entries  # noqa: E402
from slsops.local.speed import PATCHES, sort_keys  # noqa: E402

REGION, ACCOUNT = "us-east-1", "123456789012"
SERVICES = 12
SHARDS = keys.DEFAULT_SHARD_COUNT
FLAT_GOAL = 1.5
SPEED_GOAL = 20.0
# The speed patches the stack did not have before (speed.sort_keys it had, as a gap).
BASELINE_OFF = tuple(patch for patch in PATCHES if patch is not sort_keys)


def seed_table(endpoint: str, name: str, count: int) -> str:
    """Create the log table and put ``count`` log items (and their markers) straight into moto.

    Items are built by the service's own functions; they go into moto's backend directly
    (through ``Table.put_item``, which the patch hooks) because 100k HTTP writes would take
    minutes and the write path is not what this measures.
    """
    from moto.dynamodb.models import dynamodb_backends

    boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION).create_table(
        **keys.table_definition(name)
    )
    table = dynamodb_backends[ACCOUNT][REGION].get_table(name)
    settings = Settings(table_name=name, shard_count=SHARDS)
    serializer = TypeSerializer()
    now = datetime.now(UTC)
    busiest = ""
    per_service: dict[str, int] = {}
    for raw in make_entries(count, SERVICES, seed=count):
        entry = parse_entry(raw, settings, now=now)
        item = make_log_item(entry, raw["log_id"], raw["timestamp"], raw["timestamp"], SHARDS)
        for attrs in (item, make_marker(entry, item)):
            table.put_item({k: serializer.serialize(v) for k, v in attrs.items()})
        per_service[entry.service_name] = per_service.get(entry.service_name, 0) + 1
        busiest = max(per_service, key=per_service.__getitem__)
    return busiest


READS = {
    "newest-100, all services": lambda service: RecentQuery(None, (), None, None, 100),
    "newest-100, one service": lambda service: RecentQuery(service, (), None, None, 100),
}


def interleaved_reads(
    endpoint: str, tables: dict[int, tuple[str, str]], rounds: int
) -> dict[int, dict[str, tuple[float, float, int]]]:
    """(fastest, median) seconds per (size, read) and the entries returned.

    Sizes take turns in every round, so a busy moment on the shared machine hits every size
    alike; one warm-up round. The fastest read is the cost (other people's load only adds to
    it); the median is printed beside it.
    """
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION)
    times: dict[tuple[int, str], list[float]] = {}
    entries: dict[tuple[int, str], int] = {}
    with ThreadPoolExecutor(max_workers=16) as pool:
        readers = {
            size: LogReader(resource.Table(name), keys.DEFAULT_INDEX_NAME, SHARDS, pool=pool)
            for size, (name, _) in tables.items()
        }
        for round_number in range(rounds + 1):
            for size, (_, service) in tables.items():
                for read, query in READS.items():
                    started = time.perf_counter()
                    page = readers[size].recent(query(service))
                    if round_number:  # round 0 warms up
                        times.setdefault((size, read), []).append(time.perf_counter() - started)
                    entries[(size, read)] = len(page.logs)
    result: dict[int, dict[str, tuple[float, float, int]]] = {}
    for (size, read), samples in times.items():
        cost = (min(samples), statistics.median(samples), entries[(size, read)])
        result.setdefault(size, {})[read] = cost
    return result


def merge_margin_costs(endpoint: str, name: str, rounds: int) -> dict[str, tuple[float, float]]:
    """CPU ms (this process: the reader and the embedded AWS) and queries per newest-100
    read, with the reader's margin per shard and with each shard's share alone (the reader
    before), alternating in every round."""
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION)
    variants = {
        "share + margin (now)": contextlib.nullcontext,
        "share alone (before)": shares_without_margin,
    }
    cpu: dict[str, list[float]] = {label: [] for label in variants}
    queries: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=16) as pool:
        reader = LogReader(resource.Table(name), keys.DEFAULT_INDEX_NAME, SHARDS, pool=pool)
        for round_number in range(rounds + 1):
            for label, variant in variants.items():
                with variant():
                    started = time.process_time()
                    pages = [reader.recent(RecentQuery(limit=100)) for _ in range(10)]
                if round_number:  # round 0 warms up
                    cpu[label].append((time.process_time() - started) / 10 * 1000)
                queries[label] = statistics.mean(p.queries for p in pages)
    return {label: (statistics.median(cpu[label]), queries[label]) for label in variants}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,20000,100000")
    parser.add_argument("--reads", type=int, default=15)
    parser.add_argument("--baseline-reads", type=int, default=3)
    parser.add_argument("--baseline-size", type=int, default=20000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.baseline_size not in sizes:
        sizes.append(args.baseline_size)

    with serve_in_thread(build_moto_app()) as endpoint:
        tables = {}
        for size in sorted(sizes):
            started = time.perf_counter()
            name = f"bench-logs-{size}"
            tables[size] = (name, seed_table(endpoint, name, size))
            print(f"seeded {size} items in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        patched = interleaved_reads(endpoint, tables, args.reads)
        margin = merge_margin_costs(endpoint, tables[args.baseline_size][0], rounds=5)
        for patch in BASELINE_OFF:  # moto as the stack had it before the speed patches
            patch.uninstall()
        try:
            baseline_tables = {args.baseline_size: tables[args.baseline_size]}
            baseline = interleaved_reads(endpoint, baseline_tables, args.baseline_reads)
            baseline = baseline[args.baseline_size]
        finally:
            for patch in BASELINE_OFF:
                patch.install()

    reads = list(patched[sorted(sizes)[0]])
    rows = []
    verdicts = []
    for read in reads:
        fastest = [patched[size][read][0] for size in sorted(sizes)]
        spread = max(fastest) / min(fastest)
        before = baseline[read][0]
        speedup = before / patched[args.baseline_size][read][0]
        rows.append(
            [read]
            + [
                f"{f * 1000:.0f} ({patched[s][read][1] * 1000:.0f}) ms"
                for f, s in zip(fastest, sorted(sizes), strict=True)
            ]
            + [f"{spread:.2f}x", f"{before * 1000:.0f} ms", f"{speedup:.0f}x"]
        )
        verdicts.append(spread <= FLAT_GOAL and speedup >= SPEED_GOAL)
    headers = ["read: fastest (median)"] + [f"{s // 1000}k items" for s in sorted(sizes)]
    headers += ["max/min", f"before, {args.baseline_size // 1000}k", "speed-up"]
    print(tabulate(rows, headers=headers))
    print(
        f"goals: max/min <= {FLAT_GOAL}x across sizes, speed-up >= {SPEED_GOAL:.0f}x at "
        f"{args.baseline_size // 1000}k (fastest reads): {'met' if all(verdicts) else 'NOT met'}"
    )
    (now_cpu, now_queries), (before_cpu, before_queries) = margin.values()
    print(
        tabulate(
            [[label, f"{q:.1f}", f"{c:.1f} ms"] for label, (c, q) in margin.items()],
            headers=[
                f"newest-100 at {args.baseline_size // 1000}k: each shard asked for",
                "queries",
                "CPU per read (median of 5 rounds)",
            ],
        )
    )
    print(
        f"the margin: {before_queries / now_queries:.2f}x fewer queries, "
        f"{before_cpu / now_cpu:.2f}x less CPU per read"
    )
    entries = {read: patched[sorted(sizes)[-1]][read][2] for read in reads}
    print(f"entries per read at the largest size: {entries}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
