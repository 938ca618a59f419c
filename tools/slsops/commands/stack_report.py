"""The body every report command on a deployment shares (``verify``, ``roles``).

Both commands do the same four things: check the report options before touching anything,
read the stack file, prove the credentials reach it (exit 3 otherwise), then run their checks
with a :class:`StackContext` and report. Only the command name, the checks and what ``roles``
prints beside its table differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from slsops.commands.common import (
    ReportFilters,
    check_report_options,
    refuse_same_file,
    run_report,
)
from slsops.deployment.preflight import caller_identity
from slsops.deployment.stack import default_stack_path, load_stack
from slsops.deployment.verify_context import StackContext
from slsops.framework.model import Check, CheckResult


def run_stack_report(
    command: str,
    checks: Sequence[Check],
    stack: Path | None,
    fmt: str,
    output: Path | None,
    filters: ReportFilters,
    *,
    after_table: Callable[[list[CheckResult]], list[CheckResult]] | None = None,
) -> None:
    """Run ``checks`` on the deployment of ``stack`` and report; exits with the report's code.

    ``after_table`` sees the results when the format is ``table`` (extra output on stderr).
    """
    fmt = check_report_options(fmt, output, filters, checks)
    refuse_same_file({"--stack": stack or default_stack_path(), "--output": output})
    target = load_stack(stack)
    caller_identity(target)
    run_report(
        command,
        target.target(),
        checks,
        StackContext(target),
        fmt,
        output,
        after=after_table if fmt == "table" else None,
        filters=filters,
    )
