"""SIGINT and SIGTERM end a command through its clean-up, with exit 130 and 143.

Python turns SIGINT into KeyboardInterrupt, so ``finally`` blocks run; SIGTERM would end the
process on the spot, leaving drill tables, local stacks and half-written files behind.
:func:`raise_on_sigterm` makes SIGTERM raise :class:`slsops.errors.Terminated` instead, in the
main thread, so both signals unwind the same way. ``slsops.cli.main`` installs it; a module
with a ``main() -> int`` of its own (the suite, the load gate, the reliability job) runs it
through :func:`run_main`.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

from slsops.errors import EXIT_SIGINT, Terminated


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """Unwind like Ctrl-C. A second SIGTERM during the clean-up is ignored, so the clean-up is
    not cut short (SIGKILL still ends the process)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(signum)


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises :class:`Terminated` in the main thread."""
    signal.signal(signal.SIGTERM, _terminate)


_sigint_seen = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Python's own SIGINT handler (KeyboardInterrupt), remembering that it ran."""
    global _sigint_seen
    _sigint_seen = True
    signal.default_int_handler(signum, frame)


def note_sigint() -> None:
    """From now on :func:`sigint_seen` tells whether Ctrl-C was pressed. typer turns the
    KeyboardInterrupt into a silent ``Exit(130)``; this is how ``main`` knows to say why."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)


def sigint_seen() -> bool:
    return _sigint_seen


def run_main(main: Callable[[], int], name: str = "slsops") -> NoReturn:
    """Run ``main`` and exit with its code; 130 after Ctrl-C, 143 after SIGTERM."""
    raise_on_sigterm()
    try:
        code = main()
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        code = EXIT_SIGINT
    except Terminated as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code)
