"""The ``slsops`` command line: one module per command under ``slsops.commands``."""

from __future__ import annotations

import importlib
import sys

import typer

from slsops import __version__
from slsops.errors import EXIT_FAILED, EXIT_SIGINT, SlsopsError, Terminated
from slsops.redact import redact_text
from slsops.signals import raise_on_sigterm

# Each module defines ``register(app)``; the order is the order of ``slsops --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "slsops.commands.verify",
    "slsops.commands.roles",
    "slsops.commands.audit",
    "slsops.commands.drill",
    "slsops.commands.checks",
    "slsops.commands.local",
    "slsops.commands.faults",  # issue 8: `slsops local faults` (must follow local)
    "slsops.commands.doctor",
)

app = typer.Typer(
    name="slsops",
    help="Operations toolkit of the Simple Log Service: verify, roles, audit, drill, local stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"slsops {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Operations toolkit of the Simple Log Service."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point: errors become one line on stderr and a documented exit code.

    Ctrl-C exits 130 and SIGTERM 143, each after the command's ``finally`` blocks ran.
    """
    raise_on_sigterm()
    try:
        app(standalone_mode=True)
    except SlsopsError as exc:
        print(f"slsops: error: {redact_text(str(exc))}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Terminated as exc:
        print(f"slsops: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("slsops: interrupted", file=sys.stderr)
        sys.exit(EXIT_SIGINT)
    except Exception as exc:  # last resort: one line, never a traceback
        print(
            f"slsops: unexpected error: {redact_text(f'{type(exc).__name__}: {exc}')}",
            file=sys.stderr,
        )
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
