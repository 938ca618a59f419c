"""``slsops audit``: read-only integrity audit of the log table.

Scans the table in parallel segments, judges every item (``audit/rules.py``), finds duplicate
log ids and index inconsistencies in bounded memory (``audit/aggregate.py``) and checks the
table settings as ``verify`` does. Exit 1 on any integrity violation (or failed setting),
0 otherwise, 2 on bad input, 3 when the target cannot be reached.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from tabulate import tabulate

from log_service import keys, limits
from slsops.audit import progress
from slsops.audit.rules import RuleSettings
from slsops.audit.run import INDEX_SAMPLE_SIZE, AuditOptions
from slsops.audit.scan import default_segments, default_threads
from slsops.checks.audit import CHECKS, AuditContext
from slsops.checks.formats import emit
from slsops.checks.report import Report
from slsops.checks.runner import run_checks, select
from slsops.commands.common import check_format
from slsops.errors import PreflightError, UsageError
from slsops.options import FormatOption, OnlyOption, OutputOption, SkipOption, StackOption
from slsops.preflight import caller_identity
from slsops.stack import Stack, load_stack


def describe_source(stack: Stack) -> dict:
    """DescribeTable of the stack's table; exit 3 when it cannot be read."""
    name = str(stack["table_name"])
    try:
        return stack.client("dynamodb").describe_table(TableName=name)["Table"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise PreflightError(f"cannot describe table {name}: {code}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot describe table {name}: {type(exc).__name__}") from None


def audit(
    stack: StackOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    segments: Annotated[
        int | None,
        typer.Option(
            "--segments",
            min=1,
            max=1_000_000,
            help="Parallel scan segments. Default: 1 per 50,000 items (DescribeTable "
            "ItemCount), at most 64.",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, max=64, help="Scan threads. Default: min(segments, 16)."),
    ] = None,
    violations: Annotated[
        Path | None,
        typer.Option("--violations", help="Write every violation here as JSON lines."),
    ] = None,
    max_retention_days: Annotated[
        int | None,
        typer.Option(
            "--max-retention-days",
            min=1,
            help="Longest allowed expires_at - ingested_at in days. Default: the ingest "
            f"function's RETENTION_DAYS, else {limits.DEFAULT_RETENTION_DAYS}.",
            show_default=False,
        ),
    ] = None,
    max_clock_skew: Annotated[
        int | None,
        typer.Option(
            "--max-clock-skew-seconds",
            min=0,
            help="Allowed timestamp - ingested_at. Default: the ingest function's "
            f"MAX_CLOCK_SKEW_SECONDS, else {limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS}.",
            show_default=False,
        ),
    ] = None,
    index_sample: Annotated[
        int,
        typer.Option("--index-sample", min=0, max=10_000, help="Items looked up in the index."),
    ] = INDEX_SAMPLE_SIZE,
) -> None:
    """Audit the stored data: per-item rules, duplicates, index consistency, table settings."""
    check_format(fmt)
    target = load_stack(stack)
    chosen = select(CHECKS, only or (), skip or ())
    if not chosen:
        raise UsageError("--only/--skip left no checks to run")
    caller_identity(target)
    table = describe_source(target)
    shard_count = _int_output(target, "shard_count", keys.DEFAULT_SHARD_COUNT)
    deployed = service_settings(target)
    retention = max_retention_days or deployed.get("RETENTION_DAYS", limits.DEFAULT_RETENTION_DAYS)
    skew = (
        max_clock_skew
        if max_clock_skew is not None
        else deployed.get("MAX_CLOCK_SKEW_SECONDS", limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS)
    )
    item_count = int(table.get("ItemCount") or 0)
    n_segments = segments or default_segments(item_count)
    show = progress.wanted(fmt)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with progress.item_progress(show, f"audit {target['table_name']}", item_count) as advance:
        options = AuditOptions(
            table_name=str(target["table_name"]),
            index_name=str(target.get("index_name") or keys.DEFAULT_INDEX_NAME),
            segments=n_segments,
            threads=threads or default_threads(n_segments),
            rules=RuleSettings(
                shard_count=shard_count,
                now=time.time(),
                max_retention_days=retention,
                max_clock_skew_seconds=skew,
            ),
            violations_path=violations,
            index_sample_size=index_sample,
            advance=advance,
        )
        context = AuditContext(target, options)
        results = run_checks(chosen, context)
    report = Report("audit", target.target(), started, time.perf_counter() - clock, results)
    scanned = context.scanned
    if scanned is not None:
        report.extra = {
            "table_name": options.table_name,
            "items_scanned": scanned.scan.items,
            "items_per_second": round(scanned.scan.items_per_second, 1),
            "violations": scanned.kind_summary(),
            "violations_file": str(violations) if violations else None,
        }
    emit(report, fmt, output)
    if fmt == "table" and scanned is not None:
        _print_violation_summary(scanned.kind_summary(), to_stdout=output is None)
    raise typer.Exit(report.exit_code())


def service_settings(stack: Stack) -> dict[str, int]:
    """RETENTION_DAYS and MAX_CLOCK_SKEW_SECONDS of the deployed ingest function, if readable.

    Best effort: without lambda:GetFunctionConfiguration (operator-audit.json does not grant
    it) or on the local stack without the function, the library defaults apply.
    """
    name = stack.get("ingest_function_name")
    if not name:
        return {}
    try:
        config = stack.client("lambda").get_function_configuration(FunctionName=str(name))
    except (ClientError, BotoCoreError):
        return {}
    variables = (config.get("Environment") or {}).get("Variables") or {}
    found = {}
    for key in ("RETENTION_DAYS", "MAX_CLOCK_SKEW_SECONDS"):
        try:
            found[key] = int(variables[key])
        except (KeyError, ValueError):
            continue
    return found


def _int_output(stack: Stack, name: str, default: int) -> int:
    try:
        return int(stack.get(name) or default)
    except (TypeError, ValueError):
        raise UsageError(f"stack output {name} is not an integer: {stack.get(name)!r}") from None


def _print_violation_summary(kinds: list[dict], to_stdout: bool) -> None:
    """The violation kinds with counts and sample keys (after the check table)."""
    stream = sys.stdout if to_stdout else sys.stderr
    if not kinds:
        print("\nno integrity violations", file=stream)
        return
    rows = [
        [
            k["check"],
            k["kind"],
            k["count"],
            "; ".join("/".join(v for v in key.values() if v) for key in k["sample_keys"][:3]),
        ]
        for k in kinds
    ]
    print(
        "\n" + tabulate(rows, headers=["check", "violation", "count", "sample keys"]), file=stream
    )


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
