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
