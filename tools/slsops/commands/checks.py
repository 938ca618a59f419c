"""``slsops checks``: the catalogue of every check the toolkit can report.

Lists each check's id, family, command, severity, title, what it reads, where it can give a
verdict (``aws``, ``local`` or ``both``) and the document that explains a failure. Needs no
stack: it reads the code, not a deployment.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer
from tabulate import tabulate

from slsops.errors import UsageError
from slsops.framework.catalogue import catalogue, families, of_family

EPILOG = """\b
Examples:
  slsops checks
  slsops checks --family DDB
  slsops checks --family roles --format json

Exit codes:
  0   the catalogue was printed
  1   a family's check list cannot be loaded (the message names it)
  2   usage: unknown --family or --format"""


def checks(
    fmt: Annotated[
        Literal["table", "json"],
        typer.Option("--format", "-f", case_sensitive=False, help="Output format."),
    ] = "table",
    family: Annotated[
        str | None,
        typer.Option(
            "--family",
            help="Only this family: an id prefix (DDB, ROLE, AUD, ...) or a command "
            "(verify, roles, audit, drill, load, reliability); any case.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List every check: id, family, severity, title, what it reads, where it runs, its doc."""
    entries = catalogue()
    if family is not None:
        chosen = of_family(entries, family)
        if not chosen:
            raise UsageError(
                f"unknown --family {family!r}; choose one of {', '.join(families(entries))}"
            )
        entries = chosen
    rows = [e.as_dict() for e in entries]
    if fmt.lower() == "json":
        typer.echo(json.dumps({"count": len(rows), "checks": rows}, indent=2))
        return
    columns = ("id", "family", "command", "severity", "runs_on", "title", "reads", "doc")
    widths = {"title": 50, "reads": 50}
    cells = [[_shorten(r[c], widths.get(c)) for c in columns] for r in rows]
    typer.echo(tabulate(cells, headers=columns))
    typer.echo(f"\n{len(rows)} checks")


def _shorten(text: str, width: int | None) -> str:
    """Long titles and reads cut to ``width`` in the table (JSON keeps them whole)."""
    line = " ".join(str(text).split())
    return line if width is None or len(line) <= width else line[: width - 1] + "…"


def register(app: typer.Typer) -> None:
    app.command("checks", epilog=EPILOG)(checks)
