"""What every report-producing command shares: its filters, its run, its exit, its help."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from slsops.errors import UsageError
from slsops.framework.formats import FORMATS, emit, refuse_directory
from slsops.framework.model import Check, CheckResult, Severity, Status
from slsops.framework.report import Report, ReportView
from slsops.framework.runner import plan, run_planned


def check_format(fmt: str) -> str:
    if fmt.lower() not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt.lower()


@dataclass(frozen=True)
class ReportFilters:
    """``--only``/``--skip`` (what runs), ``--severity``/``--status`` (what is shown) and
    ``--fail-on`` (what exits 1), as one value a command passes on."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    fail_on: str | None = None

    @classmethod
    def of(
        cls,
        only: Sequence[str] | None = None,
        skip: Sequence[str] | None = None,
        severity: Sequence[str] | None = None,
        status: Sequence[str] | None = None,
        fail_on: str | None = None,
    ) -> ReportFilters:
        return cls(
            tuple(only or ()),
            tuple(skip or ()),
            tuple(severity or ()),
            tuple(status or ()),
            fail_on,
        )

    def plan(self, checks: Sequence[Check]) -> list[tuple[Check, str | None]]:
        """The checks to report on, each with ``None`` or its ``--skip`` reason (exit 2 on a
        pattern that matches nothing, or when nothing is left to run)."""
        planned = plan(checks, self.only, self.skip)
        if all(reason is not None for _, reason in planned):
            raise UsageError("--only/--skip left no checks to run")
        return planned

    def view(self) -> ReportView:
        try:
            return ReportView(
                frozenset(Severity(s.lower()) for s in self.severities),
                frozenset(Status(s.upper()) for s in self.statuses),
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def threshold(self) -> Severity | None:
        if self.fail_on is None:
            return None
        try:
            return Severity(self.fail_on.lower())
        except ValueError:
            raise UsageError(f"unknown --fail-on {self.fail_on!r}") from None

    def applied_to(self, report: Report) -> Report:
        """``report`` with this view and exit threshold."""
        return replace(report, view=self.view(), fail_on=self.threshold())


def check_report_options(
    fmt: str, output: Path | None, filters: ReportFilters, checks: Sequence[Check] = ()
) -> str:
    """Refuse bad report options before any work (exit 2), ``--only``/``--skip`` patterns
    against ``checks`` included; returns the format in lower case."""
    fmt = check_format(fmt)
    refuse_directory(output)
    filters.view()
    filters.threshold()
    if checks:
        filters.plan(checks)
    return fmt


def refuse_same_file(paths: dict[str, Path | None]) -> None:
    """Exit 2 when two of a command's paths name one file (``-o`` over its own ``--stack``
    would replace the stack file with the report, ``--violations`` over ``-o`` lose one)."""
    seen: list[tuple[str, Path]] = []
    for option, path in paths.items():
        if path is None:
            continue
        for other_option, other in seen:
            if _same_file(path, other):
                raise UsageError(
                    f"{option} {path} is the same file as {other_option} {other}; give another path"
                )
        seen.append((option, path))


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them does not exist (yet)
        return one.resolve() == other.resolve()


def finish(report: Report, fmt: str, output: Path | None, filters: ReportFilters) -> None:
    """Emit ``report`` with the filters' view, then exit with its code."""
    report = filters.applied_to(report)
    emit(report, fmt, output)
    raise typer.Exit(report.exit_code())


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
    filters: ReportFilters | None = None,
) -> None:
    """Select, run and report ``checks``; exits the process with the report's code.

    ``filters`` carries every report option; ``only``/``skip`` alone still work for callers
    that have no other filter.
    """
    filters = filters or ReportFilters.of(only, skip)
    fmt = check_report_options(fmt, output, filters)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    planned = filters.plan(checks)
    results = run_planned(planned, context, target_kind=str(target.get("kind", "")))
    if after is not None:
        results = after(results)
    report = Report(command, target, started, time.perf_counter() - clock, results)
    finish(report, fmt, output, filters)


EXIT_CODES = (
    ("0", "no FAIL or ERROR (at or above --fail-on); WARN and SKIP allowed"),
    ("1", "a FAIL or ERROR (at or above --fail-on)"),
    ("2", "usage: bad option, a pattern matching no check, bad stack file"),
    ("3", "preflight: target unreachable or no credentials"),
    ("130/143", "interrupted (SIGINT/SIGTERM), after clean-up"),
)


def help_epilog(examples: Sequence[str], exit_codes: Sequence[tuple[str, str]] = EXIT_CODES) -> str:
    """A command's ``--help`` epilog: its examples, then its exit codes (kept as written)."""
    lines = ["Examples:", *(f"  {e}" for e in examples), "", "Exit codes:"]
    lines += [f"  {code:<8} {meaning}" for code, meaning in exit_codes]
    return "\b\n" + "\n".join(lines)


def report_epilog(examples: Sequence[str]) -> str:
    """The ``--help`` epilog of a report command: its examples, then the report exit codes."""
    return help_epilog(examples)
