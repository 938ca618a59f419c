"""FN-010..012: what the functions may do, who may invoke them, and through which door only
(``slsops verify``).

Both are read as IAM and Lambda hold them, not as Terraform declares them: the execution role's
policies are evaluated with the project's IAM evaluator, and the function's resource policy is
parsed statement by statement, so a permission widened by hand fails here.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from slsops import contract
from slsops.checks.api import method_integration
from slsops.checks.function_versions import function_config, function_name
from slsops.checks.iam_roles import policies_of_role, role_name_from_arn
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared, problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check
from slsops.iam.documents import as_list
from slsops.iam.evaluator import evaluate

CHECKS: list[Check] = []
DOC = "runbooks/deployment-verification-failed.md"


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
        role_arn = function_config(ctx, key).get("Role") or ""
        expected[f"{key}.role"] = ctx.names.execution_role(key)
        actual[f"{key}.role"] = role_name_from_arn(role_arn)
        if actual[f"{key}.role"] != expected[f"{key}.role"]:
            continue  # another role: its policies are not the ones this check vouches for
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
    if isinstance(principal, str):  # "*", or an account as moto holds it
        return [], [principal]
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
            services, aws = _principals(statement)
            actions = {str(a).lower() for a in as_list(statement.get("Action"))}
            if statement.get("Effect") == "Allow" and actions & _INVOKE_ACTIONS:
                problems.append(
                    f"statement {statement.get('Sid') or '?'} lets "
                    f"{', '.join(services + aws) or 'another principal'} invoke "
                    f"{', '.join(str(r) for r in as_list(statement.get('Resource')))}"
                )
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
        function = function or function_name(ctx, spec.function)
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


@check(
    CHECKS,
    "FN-012",
    "No function URL: the API is each function's only door",
    Severity.CRITICAL,
    "Delete the function URL (aws lambda delete-function-url-config --function-name <name> "
    "[--qualifier <alias>]) and any lambda:InvokeFunctionUrl statement of the function's "
    "policy; the project has none (infra/lambda.tf).",
    reads="lambda:ListAliases; lambda:GetFunctionUrlConfig of each function and each alias",
    runs_on="both",
    doc=DOC,
)
def no_function_url(ctx: StackContext) -> Outcome:
    """A function URL reaches the handler past the API's AWS_IAM authorization, throttling
    and access logs; with AuthType NONE, anyone on the internet can write or read logs."""
    found: dict[str, dict[str, Any]] = {}
    looked_at: list[str] = []
    for key in contract.FUNCTIONS:
        name = function_name(ctx, key)
        pages = ctx.client("lambda").get_paginator("list_aliases").paginate(FunctionName=name)
        aliases = [alias["Name"] for page in pages for alias in page.get("Aliases", [])]
        for qualifier in (None, *aliases):
            label = name if qualifier is None else f"{name}:{qualifier}"
            looked_at.append(label)
            config = _url_config(ctx, name, qualifier)
            if config:  # keyed by the ARN the URL serves: one URL read twice is one URL
                found[str(config.get("FunctionArn") or label)] = {
                    "url": config.get("FunctionUrl"),
                    "auth_type": config.get("AuthType"),
                }
    problems = [
        f"{arn} has a function URL {url['url']} (AuthType {url['auth_type']})"
        for arn, url in sorted(found.items())
    ]
    return problems_outcome(
        problems,
        f"no function URL on {', '.join(looked_at)}",
        looked_at=looked_at,
        function_urls=found,
    )


def _url_config(ctx: StackContext, name: str, qualifier: str | None) -> dict[str, Any]:
    """The function URL's configuration ({} when there is none)."""
    extra = {} if qualifier is None else {"Qualifier": qualifier}
    try:
        return ctx.call("lambda", "get_function_url_config", FunctionName=name, **extra)
    except ctx.client("lambda").exceptions.ResourceNotFoundException:
        return {}
