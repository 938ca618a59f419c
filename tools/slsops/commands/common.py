"""What every report-producing command does at the end: emit, then exit with the code."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from slsops.checks.formats import FORMATS, emit
from slsops.checks.model import Check, CheckResult
from slsops.checks.report import Report
from slsops.checks.runner import run_checks, select
from slsops.errors import UsageError


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def run_report(
    command: str,
    target: dict[str, Any],
    checks: Sequence[Check],
    context: Any,
    fmt: str,
    output: Path | None,
    only: Sequence[str] | None = None,
    skip: Sequence[str] | None = None,
    after: Callable[[list[CheckResult]], list[CheckResult]] | None = None,
) -> None:
    """Select, run and report ``checks``; exits the process with the report's code."""
    check_format(fmt)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    chosen = select(checks, only or (), skip or ())
    if not chosen:
        raise UsageError("--only/--skip left no checks to run")
    results = run_checks(chosen, context)
    if after is not None:
        results = after(results)
    report = Report(command, target, started, time.perf_counter() - clock, results)
    emit(report, fmt, output)
    raise typer.Exit(report.exit_code())
