"""Options shared by every command (help text and environment-variable fallbacks).

The report options are checked while the command line is parsed, so a bad value exits 2
before the command reads its stack or touches the target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

import typer

from slsops.framework.formats import FormatName, unwritable_reason
from slsops.framework.model import Status

SeverityName = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[str, ...] = get_args(SeverityName)
STATUSES = tuple(s.value for s in Status)


def writable_file(path: Path | None) -> Path | None:
    """Callback of a path the command writes: refused while parsing (exit 2), before any
    work, when it is a directory or its folder cannot be made or written."""
    problem = unwritable_reason(path)
    if problem:
        raise typer.BadParameter(f"{path} {problem}")
    return path


def _choices(allowed: tuple[str, ...]):
    """A callback accepting repeated and comma-separated values from ``allowed`` (any case)."""

    def check(values: list[str] | None) -> list[str] | None:
        if not values:
            return values
        chosen = [v.strip() for value in values for v in value.split(",") if v.strip()]
        lower = {a.lower(): a for a in allowed}
        unknown = [v for v in chosen if v.lower() not in lower]
        if unknown:
            raise typer.BadParameter(f"{', '.join(unknown)} is not one of {', '.join(allowed)}")
        return [lower[v.lower()] for v in chosen]

    return check


StackOption = Annotated[
    Path | None,
    typer.Option(
        "--stack",
        envvar="SLSOPS_STACK",
        help="Stack file (terraform output -json). Default: .slsops/local.json",
        show_default=False,
    ),
]
FormatOption = Annotated[
    FormatName,
    typer.Option(
        "--format",
        "-f",
        envvar="SLSOPS_FORMAT",
        case_sensitive=False,
        help="Report format.",
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        callback=writable_file,
        help="Write the report to this file instead of stdout (the path is printed on stderr).",
    ),
]
OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        help="Run only checks whose id matches (id or glob, any case; repeatable or "
        "comma-separated). A pattern that matches no check exits 2.",
    ),
]
SkipOption = Annotated[
    list[str] | None,
    typer.Option(
        "--skip",
        help="Do not run checks whose id matches (id or glob, any case; repeatable or "
        "comma-separated); the report lists them as SKIP. A pattern that matches no check "
        "exits 2.",
    ),
]
SeverityFilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--severity",
        metavar="LEVEL",
        callback=_choices(SEVERITIES),
        help=f"Show only checks of these severities ({', '.join(SEVERITIES)}; repeatable or "
        "comma-separated). Filters the report, not what runs: the summary and exit code "
        "count every check.",
    ),
]
StatusFilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        metavar="STATUS",
        callback=_choices(STATUSES),
        help=f"Show only checks with these statuses ({', '.join(STATUSES)}; e.g. --status FAIL). "
        "Filters the report, not what runs: the summary and exit code count every check.",
    ),
]
FailOnOption = Annotated[
    SeverityName | None,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        case_sensitive=False,
        help="Exit 1 only for a FAIL or ERROR of this severity or graver. Default: any FAIL "
        "or ERROR exits 1.",
        show_default=False,
    ),
]
