"""``slsops audit``: read-only integrity audit of the log table.

Scans the table in parallel segments (or, with ``--from-export``, a point-in-time export
judged by DuckDB or Athena), judges every item (``audit/rules.py``), runs the rules across
items as SQL (``audit/relation.py``), compares the index with the table, and checks the
table settings as ``verify`` does. Exit 1 on any integrity violation (or failed setting),
0 otherwise, 2 on bad input, 3 when the target cannot be reached.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from tabulate import tabulate

from log_service import keys, limits
from slsops.audit import export, progress
from slsops.audit.athena import AthenaRules
from slsops.audit.kinds import KINDS
from slsops.audit.options import INDEX_SAMPLE_SIZE, INDEX_SETTLE_SECONDS, AuditOptions
from slsops.audit.result import AuditResult
from slsops.audit.rules import RuleSettings
from slsops.audit.scan import MAX_THREADS, default_segments, default_threads
from slsops.checks.audit import CHECKS, AuditContext
from slsops.commands.common import (
    ReportFilters,
    check_report_options,
    refuse_same_file,
    report_epilog,
)
from slsops.deployment.preflight import caller_identity
from slsops.deployment.stack import Stack, default_stack_path, load_stack
from slsops.errors import PreflightError, UsageError
from slsops.framework.formats import emit
from slsops.framework.report import Report
from slsops.framework.runner import run_planned
from slsops.options import (
    FailOnOption,
    FormatOption,
    OnlyOption,
    OutputOption,
    SeverityFilterOption,
    SkipOption,
    StackOption,
    StatusFilterOption,
    writable_file,
)

# The export bucket's name must end in -audit-exports: operator-audit.json grants S3 on those.
LOCAL_EXPORT_BUCKET = "slsops-audit-exports"


def describe_source(stack: Stack) -> dict:
    """DescribeTable of the stack's table; exit 3 when it cannot be read, or when the table
    these credentials reach by that name is not the stack file's (``table_arn``: another
    account or region), whose verdict would be recorded as the deployment's."""
    name = str(stack["table_name"])
    try:
        table = stack.client("dynamodb").describe_table(TableName=name)["Table"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise PreflightError(f"cannot describe table {name}: {code}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot describe table {name}: {type(exc).__name__}") from None
    if table.get("TableArn") != stack["table_arn"]:
        raise PreflightError(
            f"the table {name} these credentials reach is {table.get('TableArn')}, not the "
            f"stack file's {stack['table_arn']}: another account or region (check "
            "AWS_PROFILE and the stack file)"
        )
    return table


def audit(
    stack: StackOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    severity: SeverityFilterOption = None,
    status: StatusFilterOption = None,
    fail_on: FailOnOption = None,
    segments: Annotated[
        int | None,
        typer.Option(
            "--segments",
            min=1,
            max=1_000_000,
            help="Parallel scan segments. Default: 1 per 2 GB of table (DescribeTable "
            "TableSizeBytes, or 1 KB per item when it reports none), at least 1, at most "
            "the threads.",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, max=64, help="Scan threads. Default: min(segments, 16)."),
    ] = None,
    violations: Annotated[
        Path | None,
        typer.Option(
            "--violations",
            callback=writable_file,
            help="Write every violation here as JSON lines.",
        ),
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
    settle_seconds: Annotated[
        int | None,
        typer.Option(
            "--settle-seconds",
            min=0,
            max=86_400,
            help="Items ingested this recently are left out of the index comparison and the "
            f"interrupted-write check (index lag, writes in flight). Default: "
            f"{INDEX_SETTLE_SECONDS} on AWS, 0 on the local stack (its index is updated with "
            "the write).",
            show_default=False,
        ),
    ] = None,
    from_export: Annotated[
        bool,
        typer.Option(
            "--from-export",
            help="Audit a point-in-time export (ExportTableToPointInTime: no read capacity) "
            "instead of scanning the live table. Needs PITR on the table.",
        ),
    ] = False,
    export_bucket: Annotated[
        str | None,
        typer.Option(
            "--export-bucket",
            help="S3 bucket for the export. Required on AWS; the local stack defaults to "
            f"{LOCAL_EXPORT_BUCKET!r} (created when missing).",
            show_default=False,
        ),
    ] = None,
    export_prefix: Annotated[
        str, typer.Option("--export-prefix", help="S3 prefix; each run adds its own folder.")
    ] = "slsops-audit",
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="Engine for the export: duckdb (this machine) or athena (AWS)."
        ),
    ] = "duckdb",
    athena_database: Annotated[
        str | None, typer.Option("--athena-database", help="Glue database for --engine athena.")
    ] = None,
    athena_output: Annotated[
        str | None,
        typer.Option("--athena-output", help="s3:// location for Athena query results."),
    ] = None,
    athena_workgroup: Annotated[
        str, typer.Option("--athena-workgroup", help="Athena workgroup.")
    ] = "primary",
) -> None:
    """Audit the stored data: per-item rules, duplicates, index consistency, table settings."""
    filters = ReportFilters.of(only, skip, severity, status, fail_on)
    fmt = check_report_options(fmt, output, filters)
    refuse_same_file(
        {"--stack": stack or default_stack_path(), "--output": output, "--violations": violations}
    )
    planned = filters.plan(CHECKS)
    if engine not in export.ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(export.ENGINES)}, not {engine!r}")
    if engine == "athena" and not from_export:
        raise UsageError("--engine athena needs --from-export")
    if engine == "athena" and not (athena_database and athena_output):
        raise UsageError("--engine athena needs --athena-database and --athena-output")
    target = load_stack(stack)
    if from_export and not export_bucket and not target.is_local:
        raise UsageError("--from-export on AWS needs --export-bucket")
    # Only the violations of the checks that run are listed (file, report and summary).
    running = {c.id for c, reason in planned if reason is None}
    kinds = frozenset(k.name for k in KINDS if k.check_id in running)
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
    n_segments = segments or default_segments(
        item_count, size_bytes=int(table.get("TableSizeBytes") or 0), workers=threads or MAX_THREADS
    )
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
            kinds=kinds,
            settle_seconds=_settle_seconds(settle_seconds, target),
        )
        runner = None
        if from_export:
            runner = _export_runner(
                target,
                table,
                bucket=export_bucket or LOCAL_EXPORT_BUCKET,
                prefix=export_prefix,
                engine=engine,
                athena=(athena_database, athena_output, athena_workgroup),
            )
        context = AuditContext(target, options, runner)
        results = run_planned(planned, context, target_kind=target.target()["kind"])
    report = Report("audit", target.target(), started, time.perf_counter() - clock, results)
    report = filters.applied_to(report)
    scanned = context.scanned
    if scanned is not None:
        report.extra = {
            "table_name": options.table_name,
            "source": scanned.source,
            "segments": n_segments if scanned.source == "scan" else None,
            "items_scanned": scanned.scan.items,
            "items_per_second": round(scanned.scan.items_per_second, 1),
            "violations": scanned.kind_summary(),
            "violations_file": str(violations) if violations else None,
        }
    emit(report, fmt, output)
    if fmt == "table" and scanned is not None:
        _print_violation_summary(scanned.kind_summary(), to_stdout=output is None)
    raise typer.Exit(report.exit_code())


def _export_runner(
    target: Stack,
    table: dict,
    *,
    bucket: str,
    prefix: str,
    engine: str,
    athena: tuple[str | None, str | None, str],
) -> Callable[[AuditContext], AuditResult]:
    """The audit of a fresh export of the table, for ``AuditContext``."""

    def run(ctx: AuditContext) -> AuditResult:
        s3 = ctx.client("s3")
        if target.is_local:
            _ensure_local_bucket(target, bucket)
        rules_on_athena = None
        if engine == "athena":
            database, output, workgroup = athena
            rules_on_athena = AthenaRules(
                ctx.client("athena"), str(database), str(output), workgroup
            )
        return export.audit_export(
            ctx.client("dynamodb"),
            s3,
            ctx.options,
            table_arn=str(table["TableArn"]),
            bucket=bucket,
            prefix=prefix,
            engine=engine,
            athena=rules_on_athena,
        )

    return run


def _ensure_local_bucket(stack: Stack, bucket: str) -> None:
    """The local stack's S3 gets the export bucket on first use, made by the stack's
    administrator as a person would make it on AWS (the operator may not create buckets)."""
    s3 = stack.client("s3", session=stack.admin_session)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


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


EXAMPLES = (
    "slsops audit --stack deploy/outputs.json",
    "slsops audit --only 'AUD-TABLE-*'",
    "slsops audit --violations violations.jsonl --format json -o audit.json",
    "slsops audit --fail-on high --status FAIL",
    "slsops audit --from-export --export-bucket my-audit-exports",
)


def register(app: typer.Typer) -> None:
    app.command("audit", epilog=report_epilog(EXAMPLES))(audit)


def _settle_seconds(given: int | None, stack: Stack) -> int:
    """``--settle-seconds`` as given, else 0 on the local stack (moto updates the index with
    the write, so nothing is in flight) and the index-lag allowance on AWS."""
    if given is not None:
        return given
    return 0 if stack.is_local else INDEX_SETTLE_SECONDS
