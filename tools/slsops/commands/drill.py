"""``slsops drill`` and ``slsops drill cleanup``: restore drills of the log table.

``drill`` writes canary entries around a restore point through the API, restores the table
(``--mode pitr`` to a point in time; ``--mode backup`` from a fresh on-demand backup, or from
an existing one with ``--backup-arn``) into ``<table>-drill-<stamp>-<hex>``, validates it against
what the source held at the point, judges RTO and RPO against the objectives, and deletes what
it created (also on failure, timeout, Ctrl-C and SIGTERM) unless ``--keep``. ``drill cleanup``
removes recorded or tagged leftovers. The source table is never modified.

Examples:
  slsops drill --stack prod.json --evidence drill-2026-01-31.json
  slsops drill --mode backup --backup-arn arn:aws:dynamodb:...:backup/01234 --keep
  slsops drill cleanup --dry-run

Exit codes: 0 no FAIL or ERROR; 1 a FAIL or ERROR; 2 usage or stack file; 3 preflight;
130 Ctrl-C and 143 SIGTERM, after cleanup and after writing the evidence (verdict aborted).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from log_service import keys
from slsops.audit import progress
from slsops.audit.scan import default_segments, default_threads
from slsops.checks.drill import CHECKS, DrillContext, evidence
from slsops.commands.audit import describe_source
from slsops.commands.common import (
    ReportFilters,
    check_report_options,
    refuse_same_file,
    report_epilog,
)
from slsops.contract import numbers
from slsops.deployment.preflight import caller_identity
from slsops.deployment.stack import Stack, default_stack_path, load_stack
from slsops.deployment.wire_items import wire_items
from slsops.drill import cleanup as drill_cleanup
from slsops.drill.canary import ApiCanaryWriter, CanaryWriter
from slsops.drill.restore import Drill
from slsops.drill.result import DrillOptions, DrillResult, parse_restore_time
from slsops.errors import Terminated, UsageError
from slsops.framework.formats import emit, write_atomically
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


class Mode(StrEnum):
    pitr = "pitr"
    backup = "backup"


def canary_writer(stack: Stack) -> CanaryWriter:
    """The write path of the canaries: the API, signed as the ingest role."""
    return ApiCanaryWriter(stack)


EXAMPLES = (
    "slsops drill --stack prod.json --evidence drill-evidence.json",
    "slsops drill --mode backup --format junit -o drill.xml",
    "slsops drill --skip DRL-008 --status FAIL",
    "slsops drill cleanup",
)

drill_app = typer.Typer(
    help="Restore drill of the log table (and `drill cleanup` for leftovers).",
    epilog=report_epilog(EXAMPLES),
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)


def _progress_wanted(fmt: str) -> bool:
    """A spinner on a terminal only: never in CI nor with --format json."""
    return progress.wanted(fmt) and not os.environ.get("CI")


def _write_evidence(
    path: Path | None, target: Stack, result: DrillResult, verdicts: list[Any], verdict: str
) -> None:
    if path is None:
        return
    record = {"command": "drill", "target": target.target(), **evidence(result, verdicts, verdict)}
    write_atomically(path, json.dumps(record, indent=2, default=str) + "\n")


@drill_app.callback(invoke_without_command=True)
def drill(
    ctx: typer.Context,
    stack: StackOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    severity: SeverityFilterOption = None,
    status: StatusFilterOption = None,
    fail_on: FailOnOption = None,
    mode: Annotated[
        Mode, typer.Option("--mode", help="pitr (point in time) or backup (on-demand backup).")
    ] = Mode.pitr,
    restore_time: Annotated[
        str | None,
        typer.Option(
            "--restore-time",
            help="ISO 8601 or epoch seconds (pitr only). Default: a point the drill sets "
            "between its canaries.",
            show_default=False,
        ),
    ] = None,
    backup_arn: Annotated[
        str | None,
        typer.Option(
            "--backup-arn",
            help="Drill the restore of this existing backup (--mode backup). Default: a fresh one.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1,
            max=numbers.MAX_TIMEOUT_S,
            help="Seconds the drill may wait before it fails (at most a day).",
        ),
    ] = numbers.DRILL_TIMEOUT_S,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the drill table and fresh backup (`drill cleanup`)."),
    ] = False,
    evidence_path: Annotated[
        Path | None,
        typer.Option(
            "--evidence",
            callback=writable_file,
            help="Write a JSON record of the drill here (for auditors).",
        ),
    ] = None,
    guard_seconds: Annotated[
        float,
        typer.Option(
            "--guard-seconds",
            min=0,
            help="Entries ingested this close to the point may be absent from the restore "
            "(counted); restored, they must be identical.",
        ),
    ] = numbers.DRILL_GUARD_S,
    segments: Annotated[
        int | None,
        typer.Option("--segments", min=1, max=1_000_000, help="Parallel scan segments."),
    ] = None,
) -> None:
    """Restore the log table into a drill table, validate it, judge RTO/RPO, delete it."""
    ctx.obj = {"stack": stack}
    if ctx.invoked_subcommand is not None:
        return
    filters = ReportFilters.of(only, skip, severity, status, fail_on)
    fmt = check_report_options(fmt, output, filters)
    stack_path = stack or default_stack_path()
    refuse_same_file(
        {
            "--stack": stack_path,
            "the drill record": drill_cleanup.DrillRecord.beside(stack_path).path,
            "--output": output,
            "--evidence": evidence_path,
        }
    )
    planned = filters.plan(CHECKS)
    if backup_arn is not None and mode is not Mode.backup:
        raise UsageError("--backup-arn applies to --mode backup only")
    point = parse_restore_time(restore_time)
    target = load_stack(stack)
    operator = caller_identity(target)
    table = describe_source(target)
    source = str(target["table_name"])
    client = target.client("dynamodb")
    n_segments = segments or default_segments(int(table.get("ItemCount") or 0))
    writer = canary_writer(target)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with progress.status(_progress_wanted(fmt), "drill") as update:
        options = DrillOptions(
            mode=str(mode),
            restore_time=point,
            timeout_s=timeout,
            keep=keep,
            guard_s=guard_seconds,
            segments=n_segments,
            threads=default_threads(n_segments),
            index_name=str(target.get("index_name") or keys.DEFAULT_INDEX_NAME),
            backup_arn=backup_arn,
            alarm_names=list(target.get("alarm_names") or []),
            status=update,
        )
        run = Drill(client, source, options, drill_cleanup.DrillRecord.beside(target.path), writer)
        run.result.identity = {
            "operator": operator.get("Arn"),
            "canary_writer": run.result.identity,
        }
        try:
            with wire_items(client):  # scans decoded by json alone, as the audit reads them
                result = run.run()
        except (KeyboardInterrupt, Terminated):
            _write_evidence(evidence_path, target, run.result, [], "aborted")
            raise
    results = run_planned(planned, DrillContext(result, target), target.target()["kind"])
    report = Report("drill", target.target(), started, time.perf_counter() - clock, results)
    report = filters.applied_to(report)
    report.extra = {"drill": result.as_dict()}
    verdict = "pass" if report.exit_code() == 0 else "fail"
    _write_evidence(evidence_path, target, result, results, verdict)
    emit(report, fmt, output)
    raise typer.Exit(report.exit_code())


@drill_app.command("cleanup")
def cleanup(
    ctx: typer.Context,
    stack: StackOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
    wait_seconds: Annotated[
        float,
        typer.Option("--wait", min=0, help="Seconds to wait for tables still CREATING."),
    ] = 600.0,
) -> None:
    """Delete drill tables and backups the drill recorded or tagged (never by name alone).

    Examples: slsops drill cleanup --dry-run; slsops drill --stack prod.json cleanup
    """
    target = load_stack(stack or (ctx.obj or {}).get("stack"))
    caller_identity(target)
    source = str(target["table_name"])
    outcome = drill_cleanup.cleanup(
        target.client("dynamodb"),
        source,
        drill_cleanup.DrillRecord.beside(target.path),
        wait_seconds,
        dry_run=dry_run,
    )
    for kind in ("tables", "backups"):
        for name, state in outcome[kind].items():
            print(f"{kind[:-1]} {name}: {state}")
    if not outcome["tables"] and not outcome["backups"]:
        print(f"no recorded or tagged drill tables or backups of {source} left")
    if dry_run:
        raise typer.Exit(0)
    left = [n for kind in outcome.values() for n, s in kind.items() if s not in drill_cleanup.DONE]
    if left:
        print(f"slsops: {len(left)} left; run `slsops drill cleanup` again later", file=sys.stderr)
        raise typer.Exit(1)
    raise typer.Exit(0)


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill")
