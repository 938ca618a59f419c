"""``slsops local faults set|show|clear``: DynamoDB fault injection in the local stack.

Faults are off until ``set``; a plan is a seed plus rules, either given as ``--rule`` strings
(``OPERATION:KIND:RATE[:WHEN[:DELAY_MS]]``, e.g. ``PutItem:throttle:0.2``,
``PutItem:internal:0.1:after``, ``Query:latency:0.5:before:200``) or as a JSON file
(``--plan``, the admin path's document, which also takes ``table`` and ``max`` per rule).
Each subcommand prints the plan and its counters as JSON on stdout. See docs/local-stack.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from slsops.commands.common import help_epilog
from slsops.deployment.stack import load_stack
from slsops.errors import UsageError
from slsops.local import fault_admin
from slsops.local.gaps.fault_plan import KINDS, WHENS, dynamodb_operations
from slsops.options import StackOption

faults_app = typer.Typer(
    name="faults",
    help="Inject DynamoDB faults into the local stack (throttling, errors, latency, "
    "unprocessed batch items); off by default.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

RuleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--rule",
        help="OPERATION:KIND:RATE[:WHEN[:DELAY_MS]]; KIND one of "
        f"{', '.join(KINDS)}; WHEN before|after (repeatable)",
    ),
]


def parse_rule(text: str) -> dict[str, Any]:
    """One ``--rule`` string as the admin path's rule object (UsageError when malformed)."""
    parts = text.split(":")
    if not 3 <= len(parts) <= 5:
        raise UsageError(f"--rule {text!r}: expected OPERATION:KIND:RATE[:WHEN[:DELAY_MS]]")
    operation, kind, rate_text, *rest = parts
    if operation != "*" and operation not in dynamodb_operations():
        raise UsageError(f"--rule {text!r}: {operation!r} is not a DynamoDB operation name (nor *)")
    if kind not in KINDS:
        raise UsageError(f"--rule {text!r}: KIND must be one of {', '.join(KINDS)}")
    try:
        rate = float(rate_text)
    except ValueError:
        raise UsageError(f"--rule {text!r}: RATE must be a number from 0 to 1") from None
    rule: dict[str, Any] = {"operation": operation, "kind": kind, "rate": rate}
    if rest:
        if rest[0] not in WHENS:
            raise UsageError(f"--rule {text!r}: WHEN must be before or after")
        rule["when"] = rest[0]
    if len(rest) == 2:
        if not (rest[1].isascii() and rest[1].isdigit()):
            raise UsageError(f"--rule {text!r}: DELAY_MS must be a whole number")
        rule["delay_ms"] = int(rest[1])
    return rule


def _print(state: dict[str, Any]) -> None:
    typer.echo(json.dumps(state, indent=2, sort_keys=True))


@faults_app.command(
    "set",
    epilog=help_epilog(
        [
            "slsops local faults set --rule PutItem:throttle:0.2",
            "slsops local faults set --seed 7 --rule 'Query:latency:0.5:before:200'",
            "slsops local faults set --plan plan.json",
        ],
        [
            ("0", "done; the state is printed as JSON"),
            ("2", "a malformed rule or plan, or a stack that is not local"),
            ("3", "the embedded AWS is unreachable"),
        ],
    ),
)
def set_faults(
    stack: StackOption = None,
    rule: RuleOption = None,
    plan: Annotated[
        Path | None, typer.Option("--plan", help="JSON plan file {seed, rules: [...]}")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fault decisions")] = 0,
) -> None:
    """Replace the fault plan (counters restart from zero)."""
    if plan is not None and rule:
        raise UsageError("give either --plan or --rule, not both")
    if plan is not None:
        try:
            document = json.loads(plan.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--plan {plan}: not a readable JSON file: {exc}") from None
        if not isinstance(document, dict):  # null was sent as no body: an empty plan, exit 0
            raise UsageError(f"--plan {plan}: expected a JSON object {{seed, rules}}")
    elif rule:
        document = {"seed": seed, "rules": [parse_rule(r) for r in rule]}
    else:
        raise UsageError("nothing to set: give --rule (repeatable) or --plan FILE")
    _print(fault_admin.set_plan(fault_admin.endpoint_of(load_stack(stack)), document))


@faults_app.command(
    "show",
    epilog=help_epilog(
        ["slsops local faults show"],
        [
            ("0", "done; the state is printed as JSON"),
            ("2", "a malformed rule or plan, or a stack that is not local"),
            ("3", "the embedded AWS is unreachable"),
        ],
    ),
)
def show_faults(stack: StackOption = None) -> None:
    """Print the active plan and the faults injected so far."""
    _print(fault_admin.show(fault_admin.endpoint_of(load_stack(stack))))


@faults_app.command(
    "clear",
    epilog=help_epilog(
        ["slsops local faults clear"],
        [
            ("0", "done; the state is printed as JSON"),
            ("2", "a malformed rule or plan, or a stack that is not local"),
            ("3", "the embedded AWS is unreachable"),
        ],
    ),
)
def clear_faults(stack: StackOption = None) -> None:
    """Switch fault injection off; prints the cleared state and, under ``cleared``, the plan and
    counters as they were."""
    _print(fault_admin.clear(fault_admin.endpoint_of(load_stack(stack))))


def _local_group(app: typer.Typer) -> typer.Typer | None:
    for group in app.registered_groups:
        name = group.name or getattr(group.typer_instance.info, "name", None)
        if name == "local":
            return group.typer_instance
    return None


def register(app: typer.Typer) -> None:
    """Under ``slsops local`` when that group is registered first, else as ``slsops faults``."""
    local = _local_group(app)
    (local or app).add_typer(faults_app, name="faults")
