"""``slsops drill`` and ``slsops drill cleanup``: restore drills of the log table.

``drill`` restores the table (``--mode pitr`` to a point in time, ``--mode backup`` from a
fresh on-demand backup) into ``<table>-drill-<stamp>``, validates it against what the source
held at the point, reports RTO and RPO against the objectives, and deletes the copy at the
end (also on failure, timeout and Ctrl-C) unless ``--keep``. ``drill cleanup`` removes drill
tables and backups left behind. The source table is never modified.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from log_service import keys
from slsops.audit import progress
from slsops.audit.scan import default_segments, default_threads
from slsops.checks.drill import CHECKS, DrillContext, evidence
from slsops.checks.formats import emit, write_atomically
from slsops.checks.report import Report
from slsops.checks.runner import run_checks, select
from slsops.commands.audit import describe_source
from slsops.commands.common import check_format
from slsops.drill import cleanup as drill_cleanup
from slsops.drill.restore import (
    DEFAULT_GUARD_S,
    DEFAULT_TIMEOUT_S,
    DrillOptions,
    parse_restore_time,
    run_drill,
)
from slsops.errors import UsageError
from slsops.options import FormatOption, OnlyOption, OutputOption, SkipOption, StackOption
from slsops.preflight import caller_identity
from slsops.stack import load_stack

drill_app = typer.Typer(
    help="Restore drill of the log table (and `drill cleanup` for leftovers).",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)


@drill_app.callback(invoke_without_command=True)
def drill(
    ctx: typer.Context,
    stack: StackOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    mode: Annotated[
        str, typer.Option("--mode", help="pitr (point in time) or backup (on-demand backup).")
    ] = "pitr",
    restore_time: Annotated[
        str | None,
        typer.Option(
            "--restore-time",
            help="ISO 8601 or epoch seconds (pitr only). Default: the latest restorable time.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=1, help="Seconds the restore may take before it fails."),
    ] = DEFAULT_TIMEOUT_S,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the drill table (delete it with `drill cleanup`).")
    ] = False,
    evidence_path: Annotated[
        Path | None,
        typer.Option("--evidence", help="Write a JSON record of the drill here (for auditors)."),
    ] = None,
    guard_seconds: Annotated[
        float,
        typer.Option(
            "--guard-seconds",
            min=0,
            help="Compare only items ingested at least this long before the restore point.",
        ),
    ] = DEFAULT_GUARD_S,
    segments: Annotated[
        int | None,
        typer.Option("--segments", min=1, max=1_000_000, help="Parallel scan segments."),
    ] = None,
) -> None:
    """Restore the log table into a drill table, validate it, report RTO/RPO, delete it."""
    if ctx.invoked_subcommand is not None:
        return
    check_format(fmt)
    if mode not in ("pitr", "backup"):
        raise UsageError(f"unknown --mode {mode!r}; choose pitr or backup")
    point = parse_restore_time(restore_time)
    target = load_stack(stack)
    chosen = select(CHECKS, only or (), skip or ())
    if not chosen:
        raise UsageError("--only/--skip left no checks to run")
    caller_identity(target)
    table = describe_source(target)
    source = str(target["table_name"])
    client = target.client("dynamodb")
    n_segments = segments or default_segments(int(table.get("ItemCount") or 0))
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with progress.status(progress.wanted(fmt), "drill") as update:
        options = DrillOptions(
            mode=mode,
            restore_time=point,
            timeout_s=timeout,
            keep=keep,
            guard_s=guard_seconds,
            segments=n_segments,
            threads=default_threads(n_segments),
            index_name=str(target.get("index_name") or keys.DEFAULT_INDEX_NAME),
            alarm_names=list(target.get("alarm_names") or []),
            status=update,
        )
        result = run_drill(client, source, options, drill_cleanup.DrillRecord.beside(target.path))
    results = run_checks(chosen, DrillContext(result, target))
    report = Report("drill", target.target(), started, time.perf_counter() - clock, results)
    report.extra = {"drill": result.as_dict()}
    if evidence_path is not None:
        record = {
            "command": "drill",
            "target": target.target(),
            **evidence(result, results),
            "summary": report.summary(),
        }
        write_atomically(evidence_path, json.dumps(record, indent=2, default=str) + "\n")
    emit(report, fmt, output)
    raise typer.Exit(report.exit_code())


@drill_app.command("cleanup")
def cleanup(
    stack: StackOption = None,
    wait_seconds: Annotated[
        float,
        typer.Option("--wait", min=0, help="Seconds to wait for tables still CREATING."),
    ] = 600.0,
) -> None:
    """Delete leftover drill tables (tagged or recorded) and drill backups of the table."""
    target = load_stack(stack)
    caller_identity(target)
    source = str(target["table_name"])
    outcome = drill_cleanup.cleanup(
        target.client("dynamodb"),
        source,
        drill_cleanup.DrillRecord.beside(target.path),
        wait_seconds,
    )
    done = {"deleted", "gone", "deleting"}
    for kind in ("tables", "backups"):
        for name, state in outcome[kind].items():
            print(f"{kind[:-1]} {name}: {state}")
    if not outcome["tables"] and not outcome["backups"]:
        print(f"no drill tables or backups of {source} left")
    left = [n for kind in outcome.values() for n, s in kind.items() if s not in done]
    if left:
        print(f"slsops: {len(left)} left; run `slsops drill cleanup` again later", file=sys.stderr)
        raise typer.Exit(1)
    raise typer.Exit(0)


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill")
