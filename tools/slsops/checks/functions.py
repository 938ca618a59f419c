"""FN-*: the two Lambda functions, their aliases, log groups and tracing (``slsops verify``).

A function's settings are compared twice: as ``$LATEST`` holds them (what the next publish
ships) and as the version behind the alias holds them (what API Gateway invokes, labelled
``<key>@<alias>``), so a bad release moved onto the alias fails as surely as drift on
``$LATEST``. A rolled-back alias (an older version with the contract's settings) passes.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from slsops import contract
from slsops.checks.api import method_integration
from slsops.checks.compare import compared, problems_outcome
from slsops.checks.iam_roles import as_list, policies_of_role, role_name_from_arn
from slsops.checks.model import Check, Outcome, Severity, check
from slsops.iam.evaluator import evaluate
from slsops.verify_context import StackContext

CHECKS: list[Check] = []
DOC = "runbooks/deployment-verification-failed.md"
READS_CONFIG = "lambda:GetFunctionConfiguration of $LATEST and of the alias (Qualifier=live)"


def _name(ctx: StackContext, key: str) -> str:
    return str(ctx.stack[f"{key}_function_name"])


def _config(ctx: StackContext, key: str) -> dict[str, Any]:
    return ctx.call("lambda", "get_function_configuration", FunctionName=_name(ctx, key))


def _live_config(ctx: StackContext, key: str) -> dict[str, Any]:
    """The configuration of the version the alias points at ({} when there is no alias)."""
    alias = contract.FUNCTIONS[key].alias
    try:
        return ctx.call(
            "lambda", "get_function_configuration", FunctionName=_name(ctx, key), Qualifier=alias
        )
    except ctx.client("lambda").exceptions.ResourceNotFoundException:
        return {}


def _versions(ctx: StackContext, key: str) -> dict[str, dict[str, Any]]:
    """``{"<key>": $LATEST's configuration, "<key>@<alias>": the live version's}``."""
    alias = contract.FUNCTIONS[key].alias
    return {key: _config(ctx, key), f"{key}@{alias}": _live_config(ctx, key)}


def _per_version(ctx: StackContext, field: str, read: Any, want: Any) -> Outcome:
    """Compare one setting of both functions, on $LATEST and on the alias's version:
    ``read(configuration)`` against ``want(spec)``."""
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        for label, config in _versions(ctx, key).items():
            expected[f"{label}.{field}"] = want(spec)
            actual[f"{label}.{field}"] = read(config) if config else None
    return compared(expected, actual, f"both functions (and their aliases) have the {field}")


@check(
    CHECKS,
    "FN-001",
    "Functions' runtime, architecture and handler",
    Severity.HIGH,
    "Set runtime, architectures and handler of the function in infra/lambda.tf and apply.",
    reads=READS_CONFIG + " (Runtime, Architectures, Handler)",
    runs_on="both",
    doc=DOC,
)
def runtime(ctx: StackContext) -> Outcome:
    expected, actual = {}, {}
    for key, spec in contract.FUNCTIONS.items():
        for label, config in _versions(ctx, key).items():
            expected.update(
                {
                    f"{label}.runtime": spec.runtime,
                    f"{label}.architecture": [spec.architecture],
                    f"{label}.handler": spec.handler,
                }
            )
            actual.update(
                {
                    f"{label}.runtime": config.get("Runtime"),
                    f"{label}.architecture": config.get("Architectures", ["x86_64"])
                    if config
                    else None,
                    f"{label}.handler": config.get("Handler"),
                }
            )
    return compared(expected, actual, "both functions run the contract's runtime and handler")


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
        answer = ctx.call("lambda", "get_function_concurrency", FunctionName=_name(ctx, key))
        expected[f"{key}.reserved_concurrency"] = spec.reserved_concurrency
        actual[f"{key}.reserved_concurrency"] = answer.get("ReservedConcurrentExecutions")
    return compared(expected, actual, "both functions have the contract's reserved concurrency")


@check(
    CHECKS,
    "FN-005",
    "Functions' environment (table, index, limits, powertools)",
    Severity.HIGH,
    "Set the function's environment variables in infra/ (table name from the table) and apply.",
    reads=READS_CONFIG + " (Environment.Variables)",
    runs_on="both",
    doc=DOC,
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
        for label, config in _versions(ctx, key).items():
            variables = (config.get("Environment") or {}).get("Variables") or {}
            for name, value in want.items():
                expected[f"{label}.{name}"] = value
                actual[f"{label}.{name}"] = variables.get(name)
    return compared(expected, actual, "both functions carry the contract's environment")


@check(
    CHECKS,
    "FN-006",
    "Functions' log groups exist with the contract's retention",
    Severity.MEDIUM,
    "Create /aws/lambda/<function> with retention_in_days from the contract (infra/) and apply.",
    reads="logs:DescribeLogGroups (/aws/lambda/<function>: retentionInDays, kmsKeyId)",
    runs_on="both",
    doc=DOC,
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
    reads="lambda:GetAlias (FunctionVersion)",
    runs_on="both",
    doc=DOC,
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
    reads="lambda:GetFunctionConfiguration (Role); iam:ListRolePolicies, iam:GetRolePolicy, "
    "iam:ListAttachedRolePolicies, iam:GetPolicyVersion of the execution role",
    runs_on="both",
    doc=DOC,
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


API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
_INVOKE_ACTIONS = {"lambda:invokefunction", "lambda:*", "*"}
_SOURCE_ARN_OPERATORS = {"arnlike", "arnequals", "stringlike", "stringequals"}


def _source_arns(statement: dict[str, Any]) -> list[str] | None:
    """The ``AWS:SourceArn`` values a statement is conditioned on (None: no such condition)."""
    for operator, keys in (statement.get("Condition") or {}).items():
        if operator.lower() not in _SOURCE_ARN_OPERATORS or not isinstance(keys, dict):
            continue
        for key, values in keys.items():
            if key.lower() == "aws:sourcearn":
                return [str(v) for v in as_list(values)]
    return None


def _principals(statement: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(service principals, AWS principals) of a statement; ``"*"`` counts as AWS ``*``."""
    principal = statement.get("Principal")
    if principal == "*":
        return [], ["*"]
    if not isinstance(principal, dict):
        return [], []
    return [str(p) for p in as_list(principal.get("Service"))], [
        str(p) for p in as_list(principal.get("AWS"))
    ]


def _admits_api_gateway(statement: dict[str, Any]) -> bool:
    """An Allow statement that lets API Gateway (or anyone) invoke the function."""
    if statement.get("Effect") != "Allow":
        return False
    actions = {str(a).lower() for a in as_list(statement.get("Action"))}
    services, aws = _principals(statement)
    return bool(actions & _INVOKE_ACTIONS) and (API_GATEWAY_PRINCIPAL in services or "*" in aws)


def _policy_statements(ctx: StackContext, function: str, qualifier: str | None) -> list[dict]:
    params: dict[str, Any] = {"FunctionName": function}
    if qualifier:
        params["Qualifier"] = qualifier
    try:
        answer = ctx.call("lambda", "get_policy", **params)
    except ctx.client("lambda").exceptions.ResourceNotFoundException:
        return []
    return as_list(json.loads(answer.get("Policy") or "{}").get("Statement"))


def permission_problems(
    statements: list[dict[str, Any]],
    function: str,
    qualifier: str | None,
    invocation_arn: str,
    api_prefix: str,
) -> list[str]:
    """What is wrong with the resource policy that lets API Gateway invoke ``function:qualifier``
    for ``invocation_arn`` (``arn:...:execute-api:<region>:<account>:<api>/<stage>/<VERB><path>``):
    no statement grants it, or a statement admitting API Gateway is wider than this API."""
    target = f":function:{function}:{qualifier}" if qualifier else f":function:{function}"
    problems: list[str] = []
    grants = []
    for statement in statements:
        if not _admits_api_gateway(statement):
            continue
        sid = statement.get("Sid") or "?"
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        on_target = any(r.endswith(target) for r in resources)
        sources = _source_arns(statement)
        if "*" in _principals(statement)[1]:
            problems.append(f"statement {sid} lets any principal invoke {', '.join(resources)}")
        if sources is None:
            problems.append(
                f"statement {sid} has no AWS:SourceArn condition: any API in any account may "
                f"invoke {', '.join(resources)}"
            )
        else:
            wider = [s for s in sources if not s.startswith(api_prefix)]
            problems += [f"statement {sid} is scoped to {s}, not to this API" for s in wider]
        if on_target and (
            sources is None or any(fnmatch.fnmatchcase(invocation_arn, s) for s in sources)
        ):
            grants.append(sid)
    if not grants:
        problems.insert(
            0,
            f"no permission lets {API_GATEWAY_PRINCIPAL} invoke {function}"
            f"{':' + qualifier if qualifier else ''} for {invocation_arn}",
        )
    return problems


@check(
    CHECKS,
    "FN-011",
    "API Gateway may invoke each function's alias, from this API only",
    Severity.CRITICAL,
    "Restore the aws_lambda_permission from infra/apigateway.tf (principal "
    "apigateway.amazonaws.com, qualifier = the alias, source_arn = "
    "<execution_arn>/<stage>/<METHOD><path>) with terraform apply.",
    reads="apigateway:GetMethod (the integration URI's function and qualifier); "
    "lambda:GetPolicy of that function and qualifier",
    runs_on="both",
    doc=DOC,
)
def api_invoke_permission(ctx: StackContext) -> Outcome:
    """Without this permission every request through the API fails on AWS (API Gateway answers
    500) while the rest of the configuration looks right."""
    region, account = ctx.stack.region, str(ctx.stack.get("account_id") or "")
    partition = str(ctx.stack.get("table_arn") or "arn:aws").split(":")[1]
    api_prefix = f"arn:{partition}:execute-api:{region}:{account}:{ctx.stack['api_id']}/"
    problems: list[str] = []
    evidence: dict[str, Any] = {}
    for spec in contract.METHODS:
        label = f"{spec.http_method} {spec.path}"
        _, function, qualifier = method_integration(ctx, spec)
        function = function or _name(ctx, spec.function)
        invocation = f"{api_prefix}{ctx.stack['stage_name']}/{spec.http_method}{spec.path}"
        statements = _policy_statements(ctx, function, qualifier)
        found = permission_problems(statements, function, qualifier, invocation, api_prefix)
        problems += [f"{label}: {p}" for p in found]
        evidence[label] = {
            "function": function,
            "qualifier": qualifier,
            "invocation_arn": invocation,
            "statements": [
                {
                    "sid": s.get("Sid"),
                    "resource": s.get("Resource"),
                    "source_arn": _source_arns(s),
                }
                for s in statements
                if _admits_api_gateway(s)
            ],
        }
    return problems_outcome(
        problems, "API Gateway may invoke each alias, from this API's methods only", **evidence
    )
