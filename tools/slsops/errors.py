"""Errors that end a command with a documented exit code and one readable line."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PREFLIGHT = 3


class SlsopsError(Exception):
    """Base class: ``exit_code`` is what the process returns, ``str(exc)`` the one line."""

    exit_code = EXIT_FAILED


class UsageError(SlsopsError):
    """Bad options, a missing or malformed stack file, a missing prerequisite (exit 2)."""

    exit_code = EXIT_USAGE


class PreflightError(SlsopsError):
    """The target cannot be reached or no credentials are available (exit 3)."""

    exit_code = EXIT_PREFLIGHT


EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Interrupted(SlsopsError):
    """Ctrl-C, with what was done about it (``slsops: <message>``, exit 130)."""

    exit_code = EXIT_SIGINT


class Terminated(BaseException):
    """Raised in the main thread when the process gets SIGTERM, so ``finally`` blocks and
    context managers clean up before ``slsops`` exits 143.

    A BaseException, like KeyboardInterrupt: a check's ``except Exception`` must not turn it
    into an ERROR result. A command with clean-up of its own catches it (or uses ``finally``)
    and re-raises.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
