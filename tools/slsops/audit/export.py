"""``slsops audit --from-export``: audit a point-in-time export instead of the live table.

ExportTableToPointInTime writes the table to S3 as DynamoDB JSON (one ``{"Item": {...}}``
per line, gzip) without using read capacity. The export is then judged with the same rules
as the scan: each file's items go through the per-item rules (``rules.check_item``) and the
relation of items is built by an engine from the files, and the rules across items
(``relation.RELATION_RULES``) run over it as SQL:

* ``duckdb`` (default, one machine): the files are copied to a local work directory and
  DuckDB projects the relation with ``DUCKDB_PROJECTION``.
* ``athena`` (AWS): the export is registered as a table, the relation is a view
  (``athena.ATHENA_PROJECTION``), and Athena runs the same rule SQL (``slsops.audit.athena``),
  so the joins across items scale past this machine. The per-item rules are Python (the
  API's own functions, ``log_service.rules``) and still read every export file here: the
  per-item pass is bounded in memory but not in time by this machine.

Layout on S3: ``<prefix>/AWSDynamoDB/<export id>/data/*.json.gz`` and, on AWS,
``manifest-files.json`` naming the data files. moto writes the data file alone (named
``*.gz``) under another id, so without a manifest every data file under the run's own
prefix is read (each run exports under a fresh prefix, so no other export is mixed in).
"""

from __future__ import annotations

import gzip
import json
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slsops.audit import relation
from slsops.audit.item_judge import ItemJudge, result_of
from slsops.audit.options import AuditOptions
from slsops.audit.result import AuditResult
from slsops.audit.scan import ScanStats
from slsops.audit.violation_log import ViolationLog
from slsops.errors import SlsopsError

EXPORT_POLL_SECONDS = 5.0
EXPORT_TIMEOUT_SECONDS = 6 * 3600
LINES_PER_PAGE = 1000
ENGINES = ("duckdb", "athena")

# The item relation projected from an export's DynamoDB JSON lines; same columns as
# relation.COLUMNS. DuckDB reads the files itself; Athena reads the registered table.
# content_hash stays NULL: the log item's hash is model.content_hash (Python), which SQL
# would have to re-implement byte for byte; AUD-024 is SKIP on an export.
DUCKDB_PROJECTION = """
SELECT json_extract_string(Item, '$.service_name.S') AS pk,
       json_extract_string(Item, '$.sk.S') AS sk,
       json_extract_string(Item, '$.log_id.S') AS log_id,
       starts_with(COALESCE(json_extract_string(Item, '$.service_name.S'), ''), '#log_id#')
         AS is_marker,
       json_extract_string(Item, '$.entry_service.S') AS entry_service,
       json_extract_string(Item, '$.entry_sk.S') AS entry_sk,
       json_extract_string(Item, '$.ingested_at.S') AS ingested_at,
       TRY_CAST(json_extract_string(Item, '$.expires_at.N') AS DOUBLE) AS expires_at,
       CAST(NULL AS VARCHAR) AS content_hash
FROM read_json({files}, format = 'newline_delimited', columns = {{'Item': 'JSON'}},
               compression = 'gzip')
WHERE json_extract_string(Item, '$.service_name.S') IS NOT NULL
"""


class ExportError(SlsopsError):
    """The export could not be made or read (AWS refused, it failed, or timed out)."""

    exit_code = 1


@dataclass(frozen=True)
class ExportLocation:
    bucket: str
    prefix: str
    export_arn: str
    item_count: int
    billed_bytes: int
    seconds: float


def fresh_prefix(base: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{base.strip('/')}/slsops-audit-{stamp}-{secrets.token_hex(3)}".lstrip("/")


def export_table(
    ddb: Any,
    table_arn: str,
    bucket: str,
    prefix: str,
    *,
    poll_seconds: float = EXPORT_POLL_SECONDS,
    timeout_seconds: float = EXPORT_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> ExportLocation:
    """ExportTableToPointInTime (now) to ``s3://bucket/prefix`` and wait until it is done."""
    started = time.monotonic()
    description = ddb.export_table_to_point_in_time(
        TableArn=table_arn, S3Bucket=bucket, S3Prefix=prefix, ExportFormat="DYNAMODB_JSON"
    )["ExportDescription"]
    arn = description["ExportArn"]
    waited = 0.0
    for attempt in range(int(timeout_seconds / 0.25) + 1):
        status = description.get("ExportStatus")
        if status == "COMPLETED":
            return ExportLocation(
                bucket,
                prefix,
                arn,
                int(description.get("ItemCount") or 0),
                int(description.get("BilledSizeBytes") or 0),
                time.monotonic() - started,
            )
        if status == "FAILED":
            raise ExportError(
                f"export {arn} failed: {description.get('FailureCode')} "
                f"{description.get('FailureMessage')}"
            )
        if waited >= timeout_seconds:
            break
        # Short first waits (a small export is done in seconds), then every poll_seconds.
        delay = min(poll_seconds, 0.25 * 2**attempt)
        sleep(delay)
        waited += delay
        description = ddb.describe_export(ExportArn=arn)["ExportDescription"]
    raise ExportError(f"export {arn} did not complete within {timeout_seconds:.0f} s")


def data_keys(s3: Any, location: ExportLocation) -> list[str]:
    """The export's data files: from its manifest on AWS, by listing under moto."""
    export_id = location.export_arn.rsplit("/", 1)[-1]
    manifest = f"{location.prefix}/AWSDynamoDB/{export_id}/manifest-files.json"
    try:
        body = s3.get_object(Bucket=location.bucket, Key=manifest)["Body"].read()
    except s3.exceptions.NoSuchKey:
        body = None
    if body is not None:
        return [json.loads(line)["dataFileS3Key"] for line in body.decode().splitlines() if line]
    found: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=f"{location.prefix}/"):
        found += [
            obj["Key"]
            for obj in page.get("Contents", [])
            if "/data/" in obj["Key"] and obj["Key"].endswith(".gz")
        ]
    return sorted(found)


def download(s3: Any, location: ExportLocation, keys_: list[str], directory: Path) -> list[Path]:
    """Copy the data files to ``directory`` (disk, not memory) for the engine to read."""
    paths = []
    for n, key in enumerate(keys_):
        path = directory / f"part-{n:05d}.json.gz"
        s3.download_file(location.bucket, key, str(path))
        paths.append(path)
    return paths


def pages_of(path: Path) -> Iterator[list[dict[str, Any]]]:
    """The items of one export file in pages of ``LINES_PER_PAGE`` (wire form)."""
    page: list[dict[str, Any]] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            page.append(json.loads(line)["Item"])
            if len(page) >= LINES_PER_PAGE:
                yield page
                page = []
    if page:
        yield page


def judge_files(judge: ItemJudge, paths: list[Path], threads: int) -> ScanStats:
    """Every item of every file through the per-item rules, files in parallel."""
    stats = ScanStats()
    started = time.perf_counter()

    def one(path: Path) -> tuple[int, int]:
        items = pages = 0
        for page in pages_of(path):
            judge.on_page(page)
            items += len(page)
            pages += 1
        return items, pages

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(paths) or 1))) as pool:
        for items, pages in pool.map(one, paths):
            stats.items += items
            stats.pages += pages
    stats.seconds = time.perf_counter() - started
    return stats


def load_duckdb_relation(con: Any, paths: list[Path]) -> None:
    """CREATE TABLE items: DuckDB projects the relation straight from the export files."""
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
    con.execute("CREATE OR REPLACE TABLE items AS " + DUCKDB_PROJECTION.format(files=files))


def audit_export(
    ddb: Any,
    s3: Any,
    options: AuditOptions,
    *,
    table_arn: str,
    bucket: str,
    prefix: str,
    engine: str = "duckdb",
    athena: Any = None,
    export: Callable[..., ExportLocation] = export_table,
) -> AuditResult:
    """Export the table, then judge the export with ``engine``; same result shape as a scan."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    phases: dict[str, float] = {}
    location = export(ddb, table_arn, bucket, fresh_prefix(prefix))
    phases["export_s"] = location.seconds
    log = ViolationLog(options.violations_path, options.kinds)
    with tempfile.TemporaryDirectory(prefix="slsops-export-audit-") as workdir:
        work = Path(workdir)
        # The engine builds the relation from the files themselves: no spool.
        judge = ItemJudge(options, log, work, tally_shards=False, spool_relation=False)
        try:
            clock = time.perf_counter()
            keys_ = data_keys(s3, location)
            paths = download(s3, location, keys_, work)
            phases["download_s"] = time.perf_counter() - clock
            stats = judge_files(judge, paths, options.threads)
            phases["item_rules_s"] = stats.seconds
            clock = time.perf_counter()
            if engine == "duckdb":
                con = relation.connect(work)
                try:
                    load_duckdb_relation(con, paths)
                    duplicates = judge.judge_rows(
                        relation.run_rules_duckdb(con, options.rules.now, judge.cutoff)
                    )
                finally:
                    con.close()
            else:
                duplicates = judge.judge_rows(
                    athena.run_rules(location, options.rules.now, judge.cutoff)
                )
            phases["relation_s"] = time.perf_counter() - clock
        except BaseException:
            log.close(keep=False)
            raise
    log.close(keep=True)
    detail = {
        "engine": engine,
        "export_arn": location.export_arn,
        "s3": f"s3://{location.bucket}/{location.prefix}/",
        "data_files": len(keys_),
        "exported_items": location.item_count,
        "billed_bytes": location.billed_bytes,
    }
    return result_of(judge, "export", stats, duplicates, phases, source_detail=detail)
