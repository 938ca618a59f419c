"""FN-*: the two Lambda functions, their aliases, log groups and tracing (``slsops verify``)."""

from __future__ import annotations

from typing import Any

from slsops import contract
from slsops.checks.compare import compared, problems_outcome
from slsops.checks.iam_roles import policies_of_role, role_name_from_arn
from slsops.checks.model import Check, Outcome, Severity, check
from slsops.iam.evaluator import evaluate
from slsops.verify_context import StackContext

CHECKS: list[Check] = []


def _name(ctx: StackContext, key: str) -> str:
    return str(ctx.stack[f"{key}_function_name"])


def _config(ctx: StackContext, key: str) -> dict[str, Any]:
    return ctx.call("lambda", "get_function_configuration", FunctionName=_name(ctx, key))


def _per_function(ctx: StackContext, field: str, read: Any, want: Any) -> Outcome:
    """Compare one setting of both functions: ``read(config, key)`` against ``want(spec)``."""
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        expected[f"{key}.{field}"] = want(spec)
        actual[f"{key}.{field}"] = read(ctx, key)
    return compared(expected, actual, f"both functions have the contract's {field}")


@check(
    CHECKS,
    "FN-001",
    "Functions' runtime, architecture and handler",
    Severity.HIGH,
    "Set runtime, architectures and handler of the function in infra/lambda.tf and apply.",
)
def runtime(ctx: StackContext) -> Outcome:
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        config = _config(ctx, key)
        expected.update(
            {
                f"{key}.runtime": spec.runtime,
                f"{key}.architecture": [spec.architecture],
                f"{key}.handler": spec.handler,
            }
        )
        actual.update(
            {
                f"{key}.runtime": config.get("Runtime"),
                f"{key}.architecture": config.get("Architectures", ["x86_64"]),
                f"{key}.handler": config.get("Handler"),
            }
        )
    return compared(expected, actual, "both functions run the contract's runtime and handler")


@check(
    CHECKS,
    "FN-002",
    "Functions' memory size",
    Severity.MEDIUM,
    "Set memory_size of the function in infra/ to the contract's value and apply.",
)
def memory(ctx: StackContext) -> Outcome:
    return _per_function(
        ctx, "memory_mb", lambda c, k: _config(c, k).get("MemorySize"), lambda s: s.memory_mb
    )


@check(
    CHECKS,
    "FN-003",
    "Functions' timeout",
    Severity.MEDIUM,
    "Set timeout of the function in infra/ to the contract's value and apply.",
)
def timeout(ctx: StackContext) -> Outcome:
    return _per_function(
        ctx, "timeout_s", lambda c, k: _config(c, k).get("Timeout"), lambda s: s.timeout_s
    )


@check(
    CHECKS,
    "FN-004",
    "Functions' reserved concurrency",
    Severity.MEDIUM,
    "Set reserved_concurrent_executions of the function in infra/ and apply.",
)
def reserved_concurrency(ctx: StackContext) -> Outcome:
    def read(c: StackContext, key: str) -> Any:
        answer = c.call("lambda", "get_function_concurrency", FunctionName=_name(c, key))
        return answer.get("ReservedConcurrentExecutions")

    return _per_function(ctx, "reserved_concurrency", read, lambda s: s.reserved_concurrency)


@check(
    CHECKS,
    "FN-005",
    "Functions' environment (table, index, limits, powertools)",
    Severity.HIGH,
    "Set the function's environment variables in infra/ (table name from the table) and apply.",
)
def environment(ctx: StackContext) -> Outcome:
    want = contract.expected_environment(
        ctx.names,
        shard_count=int(ctx.stack.get("shard_count") or contract.TABLE.shard_count),
        retention_days=int(ctx.stack.get("retention_days") or contract.RETENTION_DAYS),
        max_clock_skew_seconds=int(
            ctx.stack.get("max_clock_skew_seconds") or contract.MAX_CLOCK_SKEW_SECONDS
        ),
    )
    want["DYNAMODB_TABLE_NAME"] = str(ctx.stack["table_name"])
    want["INDEX_NAME"] = str(ctx.stack["index_name"])
    expected, actual = {}, {}
    for key in contract.FUNCTIONS:
        variables = (_config(ctx, key).get("Environment") or {}).get("Variables") or {}
        for name, value in want.items():
            expected[f"{key}.{name}"] = value
            actual[f"{key}.{name}"] = variables.get(name)
    return compared(expected, actual, "both functions carry the contract's environment")


@check(
    CHECKS,
    "FN-006",
    "Functions' log groups exist with the contract's retention",
    Severity.MEDIUM,
    "Create /aws/lambda/<function> with retention_in_days from the contract (infra/) and apply.",
)
def log_groups(ctx: StackContext) -> Outcome:
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        group = f"/aws/lambda/{_name(ctx, key)}"
        answer = ctx.call("logs", "describe_log_groups", logGroupNamePrefix=group)
        found = next((g for g in answer.get("logGroups", []) if g["logGroupName"] == group), None)
        expected[f"{group}.exists"] = True
        actual[f"{group}.exists"] = found is not None
        expected[f"{group}.retention_days"] = spec.log_retention_days
        actual[f"{group}.retention_days"] = (found or {}).get("retentionInDays")
        if contract.MONITORING.log_groups_kms_encrypted:
            expected[f"{group}.kms_encrypted"] = True
            actual[f"{group}.kms_encrypted"] = bool((found or {}).get("kmsKeyId"))
    return compared(expected, actual, "both log groups exist with the contract's retention")


@check(
    CHECKS,
    "FN-007",
    "Functions' X-Ray tracing mode",
    Severity.LOW,
    'Set tracing_config { mode = "Active" } on the function in infra/ and apply.',
)
def tracing(ctx: StackContext) -> Outcome:
    return _per_function(
        ctx,
        "tracing_mode",
        lambda c, k: (_config(c, k).get("TracingConfig") or {}).get("Mode"),
        lambda s: s.tracing_mode,
    )


@check(
    CHECKS,
    "FN-008",
    "Functions' alias points at a published version",
    Severity.HIGH,
    "Publish a version and point the alias at it (terraform apply does both).",
)
def aliases(ctx: StackContext) -> Outcome:
    problems: list[str] = []
    evidence: dict[str, Any] = {}
    for key, spec in contract.FUNCTIONS.items():
        name = _name(ctx, key)
        try:
            alias = ctx.call("lambda", "get_alias", FunctionName=name, Name=spec.alias)
        except ctx.client("lambda").exceptions.ResourceNotFoundException:
            problems.append(f"{name}: no alias {spec.alias}")
            continue
        version = alias.get("FunctionVersion")
        evidence[f"{key}.{spec.alias}"] = version
        if not version or version == "$LATEST":
            problems.append(f"{name}:{spec.alias} points at {version!r}, not a published version")
    return problems_outcome(problems, "each alias points at a published version", **evidence)


@check(
    CHECKS,
    "FN-009",
    "Functions' environment encrypted with the project's CMK",
    Severity.MEDIUM,
    "Set kms_key_arn on the function to the project's key in infra/ and apply.",
)
def environment_cmk(ctx: StackContext) -> Outcome:
    return _per_function(
        ctx,
        "kms_key_arn",
        lambda c, k: _config(c, k).get("KMSKeyArn"),
        lambda s: str(ctx.stack["kms_key_arn"]) if s.environment_encrypted_with_cmk else None,
    )


# Data-plane actions probed on each execution role (what the code uses must be allowed, the rest
# denied): the contract's probe set plus the other item-level reads and writes.
EXECUTION_ROLE_PROBES = tuple(
    dict.fromkeys(
        (
            *contract.DYNAMODB_PROBE_ACTIONS,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
        )
    )
)


@check(
    CHECKS,
    "FN-010",
    "Execution roles grant exactly the DynamoDB actions the code uses",
    Severity.HIGH,
    "Restore the execution role's policy from infra/iam_lambda.tf (terraform apply); remove "
    "any extra policy attached to it.",
)
def execution_role_permissions(ctx: StackContext) -> Outcome:
    """Evaluated with the project's IAM evaluator on the role's policies as IAM holds them."""
    table = str(ctx.stack["table_arn"])
    index = f"{table}/index/{ctx.stack.get('index_name') or contract.TABLE.index_name}"
    expected: dict[str, str] = {}
    actual: dict[str, str] = {}
    for key, spec in contract.FUNCTIONS.items():
        role_arn = _config(ctx, key).get("Role") or ""
        policies = policies_of_role(ctx, role_name_from_arn(role_arn))
        for resource, label in ((table, "table"), (index, "index")):
            applies = label == "table" or spec.dynamodb_on_index
            for action in EXECUTION_ROLE_PROBES:
                field = f"{key}.{label}.{action}"
                want = applies and action in spec.dynamodb_actions
                expected[field] = "allow" if want else "deny"
                allowed = evaluate(policies, action, resource).allowed
                actual[field] = "allow" if allowed else "deny"
    return compared(expected, actual, "each function may do exactly what its code needs")
