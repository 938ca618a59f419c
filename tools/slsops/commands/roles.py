"""``slsops roles``: do the client roles give exactly the access they should?

Assumes each role (right, wrong and no external id), drives the API with each role's
credentials, evaluates each role's DynamoDB permissions and reviews the trust policies. In table
format the DynamoDB matrix (action x role) is also printed on stderr.
"""

from __future__ import annotations

import sys

import typer
from tabulate import tabulate

from slsops.checks import roles as role_checks
from slsops.commands.common import ReportFilters, report_epilog
from slsops.commands.stack_report import run_stack_report
from slsops.framework.model import CheckResult
from slsops.options import (
    FailOnOption,
    FormatOption,
    OnlyOption,
    OutputOption,
    SeverityFilterOption,
    SkipOption,
    StackOption,
    StatusFilterOption,
)


def _print_matrix(results: list[CheckResult]) -> list[CheckResult]:
    headers, rows = role_checks.dynamodb_matrix_rows(results)
    if len(headers) > 1:
        print("DynamoDB permissions on the table (actual; want = contract):", file=sys.stderr)
        print(tabulate(rows, headers=headers), file=sys.stderr)
        print(file=sys.stderr)
    return results


def roles(
    stack: StackOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    severity: SeverityFilterOption = None,
    status: StatusFilterOption = None,
    fail_on: FailOnOption = None,
) -> None:
    """Check role assumption, the API access matrix, DynamoDB permissions and trust policies."""
    filters = ReportFilters.of(only, skip, severity, status, fail_on)
    run_stack_report(
        "roles", role_checks.CHECKS, stack, fmt, output, filters, after_table=_print_matrix
    )


EXAMPLES = (
    "slsops roles --stack deploy/outputs.json",
    "slsops roles --only 'role-0*' --status FAIL",
    "slsops roles --format html -o roles.html",
)


def register(app: typer.Typer) -> None:
    app.command("roles", epilog=report_epilog(EXAMPLES))(roles)
