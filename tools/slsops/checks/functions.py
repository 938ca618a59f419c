"""FN-001..009: the two Lambda functions' settings, aliases and log groups (``slsops verify``).

Each setting is compared on ``$LATEST`` and on the version behind the alias
(``function_versions``), so a bad release moved onto the alias fails as surely as drift on
``$LATEST``. A rolled-back alias (an older version with the contract's settings) passes. What
the functions may do and who may invoke them is ``function_permissions``.
"""

from __future__ import annotations

from typing import Any

from slsops import contract
from slsops.checks.function_versions import (
    function_log_group,
    function_name,
    function_versions,
    routed_versions,
)
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared, problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check

CHECKS: list[Check] = []
DOC = "runbooks/deployment-verification-failed.md"
READS_CONFIG = "lambda:GetFunctionConfiguration of $LATEST and of the alias (Qualifier=live)"


def _per_version(ctx: StackContext, field: str, read: Any, want: Any) -> Outcome:
    """Compare one setting of both functions, on $LATEST and on the alias's version:
    ``read(configuration)`` against ``want(spec)``."""
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        for label, config in function_versions(ctx, key).items():
            expected[f"{label}.{field}"] = want(spec)
            actual[f"{label}.{field}"] = read(config) if config else None
    return compared(expected, actual, f"both functions (and their aliases) have the {field}")


@check(
    CHECKS,
    "FN-001",
    "Functions' runtime, architecture, handler and layers",
    Severity.HIGH,
    "Set runtime, architectures and handler of the function in infra/lambda.tf and apply; "
    "remove any layer (the project ships none: a layer is code the handler may import, "
    "outside the reviewed zip).",
    reads=READS_CONFIG + " (Runtime, Architectures, Handler, Layers)",
    runs_on="both",
    doc=DOC,
)
def runtime(ctx: StackContext) -> Outcome:
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        for label, config in function_versions(ctx, key).items():
            expected.update(
                {
                    f"{label}.runtime": spec.runtime,
                    f"{label}.architecture": [spec.architecture],
                    f"{label}.handler": spec.handler,
                    f"{label}.layers": list(spec.layers),
                }
            )
            actual.update(
                {
                    f"{label}.runtime": config.get("Runtime"),
                    f"{label}.architecture": config.get("Architectures", ["x86_64"])
                    if config
                    else None,
                    f"{label}.handler": config.get("Handler"),
                    f"{label}.layers": [layer.get("Arn") for layer in config.get("Layers") or []]
                    if config
                    else None,
                }
            )
    return compared(
        expected, actual, "both functions run the contract's runtime and handler, no layer"
    )


@check(
    CHECKS,
    "FN-002",
    "Functions' memory size",
    Severity.MEDIUM,
    "Set memory_size of the function in infra/ to the contract's value and apply.",
    reads=READS_CONFIG + " (MemorySize)",
    runs_on="both",
    doc=DOC,
)
def memory(ctx: StackContext) -> Outcome:
    return _per_version(ctx, "memory_mb", lambda c: c.get("MemorySize"), lambda s: s.memory_mb)


@check(
    CHECKS,
    "FN-003",
    "Functions' timeout",
    Severity.MEDIUM,
    "Set timeout of the function in infra/ to the contract's value and apply.",
    reads=READS_CONFIG + " (Timeout)",
    runs_on="both",
    doc=DOC,
)
def timeout(ctx: StackContext) -> Outcome:
    return _per_version(ctx, "timeout_s", lambda c: c.get("Timeout"), lambda s: s.timeout_s)


@check(
    CHECKS,
    "FN-004",
    "Functions' reserved concurrency",
    Severity.MEDIUM,
    "Set reserved_concurrent_executions of the function in infra/ and apply.",
    reads="lambda:GetFunctionConcurrency (a function-wide setting)",
    runs_on="both",
    doc=DOC,
)
def reserved_concurrency(ctx: StackContext) -> Outcome:
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        answer = ctx.call(
            "lambda", "get_function_concurrency", FunctionName=function_name(ctx, key)
        )
        expected[f"{key}.reserved_concurrency"] = spec.reserved_concurrency
        actual[f"{key}.reserved_concurrency"] = answer.get("ReservedConcurrentExecutions")
    return compared(expected, actual, "both functions have the contract's reserved concurrency")


@check(
    CHECKS,
    "FN-005",
    "Functions' environment (table, index, limits, powertools), and nothing else",
    Severity.HIGH,
    "Set the function's environment variables in infra/ (table name from the table), remove "
    "any variable infra/ does not set, and apply.",
    reads=READS_CONFIG + " (Environment.Variables)",
    runs_on="both",
    doc=DOC,
)
def environment(ctx: StackContext) -> Outcome:
    """A variable beyond the contract's fails too: the runtime reads some itself
    (``AWS_ENDPOINT_URL_DYNAMODB`` sends every write elsewhere, ``AWS_LAMBDA_EXEC_WRAPPER`` and
    ``PYTHONPATH`` run other code), and infra/ sets none. Extra variables are named, never
    shown: a value may be a secret."""
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
        for label, config in function_versions(ctx, key).items():
            variables = (config.get("Environment") or {}).get("Variables") or {}
            for name, value in want.items():
                expected[f"{label}.{name}"] = value
                actual[f"{label}.{name}"] = variables.get(name)
            expected[f"{label}.variables_beyond_the_contract"] = []
            actual[f"{label}.variables_beyond_the_contract"] = sorted(set(variables) - set(want))
    return compared(
        expected, actual, "both functions carry the contract's environment and nothing else"
    )


@check(
    CHECKS,
    "FN-006",
    "Functions' log groups exist with the contract's retention, and the functions log there",
    Severity.MEDIUM,
    "Create /aws/lambda/<function> with retention_in_days from the contract (infra/) and apply; "
    "a function logging to another group: remove its logging_config log_group and apply.",
    reads="logs:DescribeLogGroups (/aws/lambda/<function>: retentionInDays, kmsKeyId); "
    + READS_CONFIG
    + " (LoggingConfig.LogGroup)",
    runs_on="both",
    doc=DOC,
)
def log_groups(ctx: StackContext) -> Outcome:
    """Also where each version sends its logs (``LoggingConfig.LogGroup``, default the
    function's own group): pointed at another group, the logs leave the group's retention and
    key, and this group stays right and empty."""
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        group = function_log_group(ctx, key)
        for label, config in function_versions(ctx, key).items():
            expected[f"{label}.logs_to"] = group
            actual[f"{label}.logs_to"] = (config.get("LoggingConfig") or {}).get(
                "LogGroup"
            ) or group
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
    reads=READS_CONFIG + " (TracingConfig.Mode)",
    runs_on="both",
    doc=DOC,
)
def tracing(ctx: StackContext) -> Outcome:
    return _per_version(
        ctx,
        "tracing_mode",
        lambda c: (c.get("TracingConfig") or {}).get("Mode"),
        lambda s: s.tracing_mode,
    )


@check(
    CHECKS,
    "FN-008",
    "Functions' alias points at a published version",
    Severity.HIGH,
    "Publish a version and point the alias at it (terraform apply does both).",
    reads="lambda:GetAlias (FunctionVersion, RoutingConfig)",
    runs_on="both",
    doc=DOC,
)
def aliases(ctx: StackContext) -> Outcome:
    problems: list[str] = []
    evidence: dict[str, Any] = {}
    for key, spec in contract.FUNCTIONS.items():
        name = function_name(ctx, key)
        try:
            alias = ctx.call("lambda", "get_alias", FunctionName=name, Name=spec.alias)
        except ctx.client("lambda").exceptions.ResourceNotFoundException:
            problems.append(f"{name}: no alias {spec.alias}")
            continue
        version = alias.get("FunctionVersion")
        weights = routed_versions(alias)
        evidence[f"{key}.{spec.alias}"] = version
        if weights:
            evidence[f"{key}.{spec.alias}.weights"] = weights
        for routed in (version, *weights):
            if not routed or routed == "$LATEST":
                how = "points at" if routed == version else "sends a share of calls to"
                problems.append(f"{name}:{spec.alias} {how} {routed!r}, not a published version")
    return problems_outcome(problems, "each alias points at a published version", **evidence)


@check(
    CHECKS,
    "FN-009",
    "Functions' environment encrypted with the project's CMK",
    Severity.MEDIUM,
    "Set kms_key_arn on the function to the project's key in infra/ and apply.",
    reads=READS_CONFIG + " (KMSKeyArn); the kms_key_arn output",
    runs_on="both",
    doc=DOC,
)
def environment_cmk(ctx: StackContext) -> Outcome:
    return _per_version(
        ctx,
        "kms_key_arn",
        lambda c: c.get("KMSKeyArn"),
        lambda s: str(ctx.stack["kms_key_arn"]) if s.environment_encrypted_with_cmk else None,
    )
