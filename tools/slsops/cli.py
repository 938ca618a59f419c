"""The ``slsops`` command line: one module per command under ``slsops.commands``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

import typer

from slsops import __version__
from slsops.errors import (
    EXIT_FAILED,
    EXIT_SIGINT,
    EXIT_USAGE,
    Interrupted,
    SlsopsError,
    Terminated,
)
from slsops.redact import redact_text
from slsops.signals import note_sigint, raise_on_sigterm, sigint_seen

# Each module defines ``register(app)``; the order is the order of ``slsops --help``. A command
# line loads only the module of the command it names (each costs imports: boto3, rich, ...).
COMMANDS: dict[str, tuple[str, ...]] = {
    "verify": ("slsops.commands.verify",),
    "roles": ("slsops.commands.roles",),
    "audit": ("slsops.commands.audit",),
    "drill": ("slsops.commands.drill",),
    "checks": ("slsops.commands.checks",),
    # `slsops local faults`: faults joins the local group, so it follows local
    "local": ("slsops.commands.local", "slsops.commands.faults"),
    "doctor": ("slsops.commands.doctor",),
}

_app = typer.Typer(
    name="slsops",
    help="Operations toolkit of the Simple Log Service: verify, roles, audit, drill, local stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_registered: list[str] = []


def _version(value: bool) -> None:
    if value:
        typer.echo(f"slsops {__version__}")
        raise typer.Exit(0)


@_app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Operations toolkit of the Simple Log Service."""


def _register(commands: Iterable[str]) -> typer.Typer:
    """The command line with ``commands`` (and any registered before) loaded."""
    try:
        for command in commands:
            for name in COMMANDS[command]:
                if name not in _registered:
                    importlib.import_module(name).register(_app)
                    _registered.append(name)
    except KeyboardInterrupt:  # Ctrl-C while the commands load: no traceback
        print("slsops: interrupted", file=sys.stderr)
        sys.exit(EXIT_SIGINT)
    return _app


def _for_arguments(arguments: list[str]) -> typer.Typer:
    """Only the command the arguments name; every command for the rest (``--help``, a typo:
    the list of commands must be whole)."""
    named = next((a for a in arguments if not a.startswith("-")), None)
    return _register([named] if named in COMMANDS else COMMANDS)


def __getattr__(name: str) -> typer.Typer:
    """``slsops.cli.app``: the whole command line (tests and other callers in process)."""
    if name == "app":
        return _register(COMMANDS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_line_error(exc: typer.TyperException) -> int:
    """Print a command-line error as one line (help for a bare group); return its exit code."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        typer.echo(ctx.get_help())
        return EXIT_USAGE
    where = f"{ctx.command_path}: " if ctx is not None else ""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    print(f"slsops: error: {where}{message} (see --help)", file=sys.stderr)
    return int(getattr(exc, "exit_code", EXIT_USAGE))


def main() -> None:
    """Entry point: errors become one line on stderr and a documented exit code.

    Ctrl-C exits 130 and SIGTERM 143, each after the command's ``finally`` blocks ran.
    """
    raise_on_sigterm()
    note_sigint()
    try:
        command_line = _for_arguments(sys.argv[1:])
        code = command_line(prog_name="slsops", standalone_mode=False) or 0
    except typer.Abort:  # the command line's own Ctrl-C (at a prompt)
        print("slsops: interrupted", file=sys.stderr)
        sys.exit(EXIT_SIGINT)
    except typer.TyperException as exc:  # a bad option or value: one line, not a boxed page
        sys.exit(_command_line_error(exc))
    except Interrupted as exc:
        print(f"slsops: {redact_text(str(exc))}", file=sys.stderr)
        sys.exit(exc.exit_code)
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
    if code == EXIT_SIGINT and sigint_seen():  # typer's silent Exit(130) for Ctrl-C
        print("slsops: interrupted", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
