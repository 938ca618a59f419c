"""Benchmark of the service's data model, side by side with the published designs.

Prints, on the same moto data (20,000 entries by default), items read per newest-100
request with and without service_name, writes per ingest including the index, the largest
share of index writes on one partition key, warm handler CPU per ingest excluding I/O, and
the cold import time of each handler module beyond boto3's own. The published designs are
measured on the same data: a GSI on one constant key ("newest 100" reads 100 items but every
index write lands on one key) and a single Scan page (cheap, but not the newest entries).

    python bench/bench_service.py [--entries 20000] [--shards 16]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from reader_variants import shares_without_margin  # noqa: E402
from tabulate import tabulate  # noqa: E402

from log_service import keys, limits  # noqa: E402
from log_service.model import parse_entry  # noqa: E402
from log_service.reader import LogReader, RecentQuery  # noqa: E402
from log_service.settings import Settings  # noqa: E402
from log_service.writer import LogWriter  # noqa: E402

N = 100
BATCH = 20  # entries per batch request in the load profiles


def seed(table, count: int, shards: int, services: int, rng: random.Random) -> list[dict]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items = []
    with table.batch_writer() as batch:
        for n in range(count):
            stamp = keys.format_timestamp(start + timedelta(milliseconds=rng.randrange(86_400_000)))
            log_id = f"{rng.getrandbits(64):016x}-{n}"
            item = {
                "service_name": f"service-{rng.randrange(services):02d}",
                "sk": keys.sort_key(stamp, log_id),
                "log_id": log_id,
                "timestamp": stamp,
                "ingested_at": stamp,
                "level": rng.choices(limits.LEVELS, weights=(10, 70, 15, 5))[0],
                "log_type": "application",
                "message": f"request {n} handled",
                "gsi_shard": keys.shard_for(log_id, shards),
                "expires_at": 2_000_000_000,
            }
            batch.put_item(Item=item)
            items.append(item)
    return items


def newest(items: list[dict], service: str | None = None) -> list[str]:
    chosen = [i for i in items if service is None or i["service_name"] == service]
    return [i["log_id"] for i in sorted(chosen, key=lambda i: i["sk"], reverse=True)[:N]]


class CountingClient:
    """Counts the write calls one ingest makes."""

    def __init__(self, inner):
        self.inner, self.puts, self.calls = inner, 0, 0

    def put_item(self, **kwargs):
        self.puts += 1
        self.calls += 1
        return self.inner.put_item(**kwargs)

    def batch_write_item(self, **kwargs):
        self.calls += 1
        return self.inner.batch_write_item(**kwargs)

    def get_item(self, **kwargs):
        return self.inner.get_item(**kwargs)


class NullClient:
    """Answers like DynamoDB without I/O, to time the handler's own CPU."""

    def put_item(self, **kwargs):
        return {}

    def get_item(self, **kwargs):
        return {}


def handler_cpu_per_ingest(iterations: int = 2000) -> float:
    """Warm CPU milliseconds per single-entry ingest through the real handler, no I/O."""
    import json

    from service_support import FakeContext, proxy_event

    from log_service import ingest_handler, runtime

    settings = Settings(table_name="bench", shard_count=16)
    runtime.settings.cache_clear()
    runtime.writer.cache_clear()
    null_writer = LogWriter(NullClient(), settings.table_name, settings.shard_count)
    original, original_settings = runtime.writer, runtime.settings
    runtime.writer = lambda: null_writer  # type: ignore[assignment]
    runtime.settings = lambda: settings  # type: ignore[assignment]
    sink = open(os.devnull, "w")  # noqa: SIM115  powertools logs and EMF go to stdout
    stdout = sys.stdout
    try:
        sys.stdout = sink
        body = {
            "service_name": "checkout",
            "level": "INFO",
            "message": "order placed",
            "metadata": {"order_id": 42, "amount": 19.99, "items": ["a", "b"]},
        }
        event = proxy_event("POST", "/logs", body=body)
        for _ in range(200):  # warm up
            ingest_handler.handler(event, FakeContext())
        started = time.process_time()
        for _ in range(iterations):
            response = ingest_handler.handler(event, FakeContext())
        elapsed = time.process_time() - started
    finally:
        sys.stdout = stdout
        sink.close()
        runtime.writer = original  # type: ignore[assignment]
        runtime.settings = original_settings  # type: ignore[assignment]
    assert response["statusCode"] == 201, json.loads(response["body"])
    return elapsed / iterations * 1000


def cold_import_ms(module: str, runs: int = 5) -> float:
    """Median wall time of importing ``module`` in a fresh interpreter."""
    code = (
        "import time; t=time.perf_counter(); import importlib; "
        f"importlib.import_module({module!r}); print((time.perf_counter()-t)*1000)"
    )
    samples = []
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603  fixed interpreter and code
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def batch_rows(client, shards: int, rng: random.Random, batches: int = 20) -> list[list]:
    """A batch of BATCH entries: put_many (one conditional put per marker, then the log items in
    BatchWriteItem calls) beside put() per entry (a marker and an item each), on the same moto
    table, alternating so both see the same table size. Calls per batch and moto time per batch.
    """
    settings = Settings(table_name="bench", shard_count=shards)
    times: dict[str, list[float]] = {"put_many": [], "put per entry": []}
    calls: dict[str, int] = {}
    for round_ in range(batches):
        for name in times if round_ % 2 else reversed(list(times)):
            counting = CountingClient(client)
            writer = LogWriter(counting, "bench", shards)
            entries = [
                parse_entry({"service_name": f"s{rng.randrange(20)}", "level": "INFO",
                             "message": f"m{n}"}, settings)
                for n in range(BATCH)
            ]  # fmt: skip
            started = time.perf_counter()
            if name == "put_many":
                results = writer.put_many(entries)
            else:
                results = [writer.put(entry) for entry in entries]
            times[name].append(time.perf_counter() - started)
            assert all(r.status == "stored" for r in results), results
            calls[name] = counting.calls
    many, single = (statistics.median(times[n]) * 1000 for n in ("put_many", "put per entry"))
    return [
        [f"DynamoDB calls per batch of {BATCH}", calls["put_many"],
         f"{calls['put per entry']} put per entry", "", ""],
        [f"moto ms per batch of {BATCH} (median)", f"{many:.1f}",
         f"{single / many:.2f}x faster than put per entry ({single:.1f})", "", ""],
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=keys.DEFAULT_SHARD_COUNT)
    parser.add_argument("--services", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(2026)
    rows = []
    with mock_aws():
        from service_support import create_table

        table = create_table("bench")
        started = time.perf_counter()
        items = seed(table, args.entries, args.shards, args.services, rng)
        print(
            f"seeded {len(items)} entries in {time.perf_counter() - started:.1f} s", file=sys.stderr
        )
        reader = LogReader(table, keys.DEFAULT_INDEX_NAME, args.shards)

        page = reader.recent(RecentQuery(limit=N))
        exact = [e["log_id"] for e in page.logs] == newest(items)
        with shares_without_margin():
            before = reader.recent(RecentQuery(limit=N))
        rows += [
            [
                "items read, newest 100 across services",
                page.items_read,
                f"{page.items_read / N:.2f} x N",
                "<= 2 x N",
                exact,
            ],
            [
                "queries, newest 100 across services",
                page.queries,
                f"{before.queries / page.queries:.2f}x fewer than without margin",
                f"<= {args.shards + 1} (one per shard)",
                exact,
            ],
            [
                "  without margin (share N/S only)",
                f"{before.queries} queries, {before.items_read} items",
                f"{before.items_read / N:.2f} x N",
                "the previous reader",
                [e["log_id"] for e in before.logs] == newest(items),
            ],
        ]
        page = reader.recent(RecentQuery(service_name="service-03", limit=N))
        exact_service = [e["log_id"] for e in page.logs] == newest(items, "service-03")
        rows.append(
            [
                "items read, newest 100 of one service",
                page.items_read,
                f"{page.items_read / N:.2f} x N",
                "<= 1.3 x N",
                exact_service,
            ]
        )

        scan = table.scan(Limit=N)
        scan_ids = [i["log_id"] for i in sorted(scan["Items"], key=lambda i: i["sk"], reverse=True)]
        overlap = len(set(scan_ids) & set(newest(items)))
        rows.append(
            [
                "published: one Scan page of 100",
                scan["ScannedCount"],
                f"{scan['ScannedCount'] / N:.2f} x N",
                "exact answer",
                f"{overlap}/100 of the true newest",
            ]
        )

        counting = CountingClient(boto3.resource("dynamodb").meta.client)
        writer = LogWriter(counting, "bench", args.shards)
        settings = Settings(table_name="bench", shard_count=args.shards)
        writer.put(parse_entry({"service_name": "s", "level": "INFO", "message": "m"}, settings))
        rows.append(
            [
                "writes per ingest (incl. index copy)",
                counting.puts + 1,
                "marker + item + index",
                "",
                "",
            ]
        )

        rows.extend(batch_rows(boto3.resource("dynamodb").meta.client, args.shards, rng))

    shares = Counter(i["gsi_shard"] for i in items)
    largest = max(shares.values()) / len(items)
    rows.append(
        [
            "largest index-key share",
            f"{largest:.4f}",
            f"{largest * args.shards:.2f} / S",
            "<= 1.2 / S",
            largest <= 1.2 / args.shards,
        ]
    )
    rows.append(
        [
            "published: constant-key GSI share",
            "1.0000",
            f"{args.shards:.2f} / S",
            "<= 1.2 / S",
            False,
        ]
    )

    cpu = handler_cpu_per_ingest()
    rows.append(
        ["warm handler CPU per ingest, no I/O", f"{cpu:.3f} ms", "", "<= 0.3 ms", cpu <= 0.3]
    )
    boto = cold_import_ms("boto3")
    for module in ("log_service.ingest_handler", "log_service.read_handler"):
        total = cold_import_ms(module)
        rows.append(
            [
                f"cold import {module}",
                f"{total:.0f} ms",
                f"{total - boto:.0f} ms beyond boto3 ({boto:.0f} ms)",
                "<= 150 ms beyond",
                total - boto <= 150,
            ]
        )
    print(tabulate(rows, headers=["measure", "value", "ratio", "goal", "met / exact"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
