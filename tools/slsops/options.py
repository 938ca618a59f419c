"""Options shared by every command (help text and environment-variable fallbacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
    str,
    typer.Option("--format", "-f", envvar="SLSOPS_FORMAT", help="table, json or junit"),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report here instead of stdout"),
]
OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="Run only checks whose id matches (glob, repeatable)"),
]
SkipOption = Annotated[
    list[str] | None,
    typer.Option("--skip", help="Skip checks whose id matches (glob, repeatable)"),
]
