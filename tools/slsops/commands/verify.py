"""``slsops verify``: is the live deployment what the deployment contract says it must be?

Checks every resource family against ``slsops.contract`` and the stack outputs, then runs an
end-to-end smoke test through the API with the client roles. Exit 0 when nothing FAILs or
ERRORs, 1 otherwise, 2 on bad input, 3 when the target cannot be reached.
"""

from __future__ import annotations

import typer

from slsops.checks import (
    api,
    cloudwatch,
    config_rules,
    dynamodb,
    e2e,
    function_permissions,
    functions,
    iam_roles,
    kms,
)
from slsops.commands.common import ReportFilters, report_epilog
from slsops.commands.stack_report import run_stack_report
from slsops.framework.model import Check
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

FAMILIES = (
    api,
    functions,
    function_permissions,
    dynamodb,
    kms,
    iam_roles,
    cloudwatch,
    config_rules,
    e2e,
)


def verify_checks() -> list[Check]:
    """Every check of ``slsops verify``, family by family (the order of the report)."""
    return [c for family in FAMILIES for c in family.CHECKS]


def verify(
    stack: StackOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    severity: SeverityFilterOption = None,
    status: StatusFilterOption = None,
    fail_on: FailOnOption = None,
) -> None:
    """Compare the live deployment with the deployment contract, then smoke-test the API."""
    filters = ReportFilters.of(only, skip, severity, status, fail_on)
    run_stack_report("verify", verify_checks(), stack, fmt, output, filters)


EXAMPLES = (
    "slsops verify --stack deploy/outputs.json",
    "slsops verify --status FAIL --severity critical,high",
    "slsops verify --only 'DDB-*' --skip DDB-008 --format json -o verify.json",
    "slsops verify --fail-on high --format junit -o verify.xml",
)


def register(app: typer.Typer) -> None:
    app.command("verify", epilog=report_epilog(EXAMPLES))(verify)
