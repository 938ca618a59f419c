"""API-*: the REST API, its methods and integrations, the deployed stage (``slsops verify``).

Expected values come from ``slsops.contract`` (METHODS, STAGE) and the stack outputs (api_id,
stage_name, function names); nothing here is a constant of its own.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slsops import contract
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared, differences, problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check
from slsops.iam.documents import principals_beyond_account

CHECKS: list[Check] = []
DOC = "runbooks/deployment-verification-failed.md"

_FUNCTION_IN_URI = re.compile(r"/functions/(arn:[^/]+)/invocations")


def _api_id(ctx: StackContext) -> str:
    return str(ctx.stack["api_id"])


def _stage(ctx: StackContext) -> dict[str, Any]:
    return ctx.call(
        "apigateway", "get_stage", restApiId=_api_id(ctx), stageName=str(ctx.stack["stage_name"])
    )


def _resources_by_path(ctx: StackContext) -> dict[str, str]:
    answer = ctx.call("apigateway", "get_resources", restApiId=_api_id(ctx), limit=500)
    return {item["path"]: item["id"] for item in answer.get("items", [])}


def _extra_methods(ctx: StackContext) -> dict[str, dict[str, Any]]:
    """``METHOD /path`` -> the live method, for every method the contract does not have (an
    added route, or another verb on a contract resource)."""
    answer = ctx.call("apigateway", "get_resources", restApiId=_api_id(ctx), limit=500)
    extra: dict[str, dict[str, Any]] = {}
    for item in answer.get("items", []):
        for http_method in item.get("resourceMethods") or {}:
            if (http_method, item["path"]) in contract.ROUTES:
                continue
            extra[f"{http_method} {item['path']}"] = ctx.call(
                "apigateway",
                "get_method",
                restApiId=_api_id(ctx),
                resourceId=item["id"],
                httpMethod=http_method,
            )
    return extra


def _method(ctx: StackContext, spec: contract.MethodContract) -> dict[str, Any] | None:
    """The live method for ``spec`` (None when its resource or method does not exist)."""
    resource_id = _resources_by_path(ctx).get(spec.path)
    if resource_id is None:
        return None
    try:
        return ctx.call(
            "apigateway",
            "get_method",
            restApiId=_api_id(ctx),
            resourceId=resource_id,
            httpMethod=spec.http_method,
        )
    except ctx.client("apigateway").exceptions.NotFoundException:
        return None


def method_integration(
    ctx: StackContext, spec: contract.MethodContract
) -> tuple[dict[str, Any], str | None, str | None]:
    """The method's integration, the function name and the qualifier its URI invokes."""
    integration = (_method(ctx, spec) or {}).get("methodIntegration") or {}
    match = _FUNCTION_IN_URI.search(integration.get("uri") or "")
    parts = match.group(1).split(":") if match else []
    function = parts[6] if len(parts) > 6 else None
    qualifier = parts[7] if len(parts) > 7 else None
    return integration, function, qualifier


def _label(spec: contract.MethodContract) -> str:
    return f"{spec.http_method} {spec.path}"


@check(
    CHECKS,
    "API-001",
    "REST API exists with the contract's name and endpoint type",
    Severity.CRITICAL,
    "Apply infra/ (terraform apply) or point --stack at the right deployment's outputs.",
    reads="apigateway:GetRestApi (name, endpointConfiguration, policy)",
    runs_on="both",
    doc=DOC,
)
def rest_api(ctx: StackContext) -> Outcome:
    """Also its resource policy, if it has one: a statement admitting anyone (or another
    account) lets every AWS principal that signs its requests through AWS_IAM."""
    api = ctx.call("apigateway", "get_rest_api", restApiId=_api_id(ctx))
    types = api.get("endpointConfiguration", {}).get("types", [])
    expected = {"name": ctx.names.api, "endpoint_types": [contract.STAGE.endpoint_type]}
    actual = {"name": api.get("name"), "endpoint_types": types}
    policy = _resource_policy(api.get("policy"))
    account = str(ctx.stack.get("account_id") or "")
    problems = differences(expected, actual) + [
        f"resource policy statement {w} is admitted, beyond this account"
        for w in principals_beyond_account(policy, account)
    ]
    return problems_outcome(
        problems,
        f"REST API {api.get('name')} ({_api_id(ctx)}) is {', '.join(types)}",
        expected=expected,
        actual=actual,
        api_id=_api_id(ctx),
        resource_policy=policy or None,
    )


def _resource_policy(text: str | None) -> dict[str, Any]:
    """GetRestApi's ``policy``: JSON, which AWS answers with its quotes escaped (``\\"``)."""
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text.replace('\\"', '"'))


@check(
    CHECKS,
    "API-002",
    "Both methods require AWS_IAM authorization",
    Severity.CRITICAL,
    'Set authorization = "AWS_IAM" on the method in infra/api.tf, apply, and redeploy the stage.',
    reads="apigateway:GetResources, apigateway:GetMethod (authorizationType)",
    runs_on="both",
    doc=DOC,
)
def methods_use_iam(ctx: StackContext) -> Outcome:
    """The contract's methods, and no other: a method added by hand (an unauthenticated route
    next to the two) is a way in that the contract's two methods alone would not show."""
    expected, actual = {}, {}
    for spec in contract.METHODS:
        method = _method(ctx, spec)
        expected[_label(spec)] = spec.authorization
        actual[_label(spec)] = None if method is None else method.get("authorizationType")
    extra = {label: m.get("authorizationType") for label, m in _extra_methods(ctx).items()}
    problems = differences(expected, actual) + [
        f"method {label} is not in the contract (authorization {auth})"
        for label, auth in extra.items()
    ]
    return problems_outcome(
        problems,
        "every method requires AWS_IAM (SigV4) authorization",
        expected=expected,
        actual=actual,
        methods_not_in_contract=extra,
    )


@check(
    CHECKS,
    "API-003",
    "Methods are Lambda proxy integrations to the right function alias",
    Severity.CRITICAL,
    "Point each integration at its function's alias ARN (AWS_PROXY, POST) in infra/ and apply.",
    reads="apigateway:GetMethod (methodIntegration type, httpMethod, uri)",
    runs_on="both",
    doc=DOC,
)
def proxy_integrations(ctx: StackContext) -> Outcome:
    expected, actual = {}, {}
    for spec in contract.METHODS:
        fn = contract.FUNCTIONS[spec.function]
        name = ctx.names.function(spec.function)
        integration, function, qualifier = method_integration(ctx, spec)
        label = _label(spec)
        expected[f"{label}.type"] = spec.integration_type
        expected[f"{label}.http_method"] = "POST"
        expected[f"{label}.function"] = name
        expected[f"{label}.qualifier"] = fn.alias
        actual[f"{label}.type"] = integration.get("type")
        actual[f"{label}.http_method"] = integration.get("httpMethod")
        actual[f"{label}.function"] = function
        actual[f"{label}.qualifier"] = qualifier
    return compared(expected, actual, "each method invokes its function's alias via AWS_PROXY")


@check(
    CHECKS,
    "API-004",
    "The stage exists and serves a deployment",
    Severity.CRITICAL,
    "Create a deployment and point the stage at it (terraform apply redeploys on method changes).",
    reads="apigateway:GetStage (deploymentId), apigateway:GetDeployment, apigateway:GetMethod",
    runs_on="both",
    doc=DOC,
)
def stage_deployed(ctx: StackContext) -> Outcome:
    try:
        stage = _stage(ctx)
    except ctx.client("apigateway").exceptions.NotFoundException:
        return problems_outcome([f"stage {ctx.stack['stage_name']} does not exist"], "")
    deployment_id = stage.get("deploymentId")
    if not deployment_id:
        return problems_outcome([f"stage {stage.get('stageName')} has no deployment"], "")
    deployment = ctx.call(
        "apigateway", "get_deployment", restApiId=_api_id(ctx), deploymentId=deployment_id
    )
    missing = [_label(s) for s in contract.METHODS if _method(ctx, s) is None]
    problems = [f"method {m} does not exist" for m in missing]
    return problems_outcome(
        problems,
        f"stage {stage.get('stageName')} serves deployment {deployment_id}",
        stage=stage.get("stageName"),
        deployment_id=deployment_id,
        deployment_created=deployment.get("createdDate"),
        api_url=ctx.stack.get("api_url"),
    )


def _all_methods_setting(stage: dict[str, Any]) -> dict[str, Any]:
    return (stage.get("methodSettings") or {}).get("*/*") or {}


@check(
    CHECKS,
    "API-005",
    "Stage throttling (rate and burst) on every method",
    Severity.HIGH,
    "Set aws_api_gateway_method_settings for */* with the contract's rate and burst and apply.",
    reads="apigateway:GetStage (methodSettings */* throttling)",
    runs_on="both",
    doc=DOC,
)
def throttling(ctx: StackContext) -> Outcome:
    """``*/*`` and every per-method override that sets throttling: an override replaces the
    stage's limits for its method, so one set by hand would hide behind a right ``*/*``."""
    expected: dict[str, Any] = {}
    actual: dict[str, Any] = {}
    for key, settings in sorted((_stage(ctx).get("methodSettings") or {}).items()):
        if key != "*/*" and not {"throttlingRateLimit", "throttlingBurstLimit"} & set(settings):
            continue
        prefix = "" if key == "*/*" else f"{key}."
        rate = settings.get("throttlingRateLimit")
        expected[f"{prefix}rate_limit"] = float(contract.STAGE.throttling_rate_limit)
        expected[f"{prefix}burst_limit"] = contract.STAGE.throttling_burst_limit
        actual[f"{prefix}rate_limit"] = None if rate is None else float(rate)
        actual[f"{prefix}burst_limit"] = settings.get("throttlingBurstLimit")
    expected.setdefault("rate_limit", float(contract.STAGE.throttling_rate_limit))
    expected.setdefault("burst_limit", contract.STAGE.throttling_burst_limit)
    return compared(expected, actual, "every method is throttled at the contract's rate and burst")


@check(
    CHECKS,
    "API-006",
    "Access logging to the API's log group with its retention",
    Severity.HIGH,
    "Set the stage's access_log_settings to the API log group and its retention in infra/; apply.",
    reads="apigateway:GetStage (accessLogSettings), logs:DescribeLogGroups",
    runs_on="both",
    doc=DOC,
)
def access_logging(ctx: StackContext) -> Outcome:
    settings = _stage(ctx).get("accessLogSettings") or {}
    destination = settings.get("destinationArn") or ""
    group = destination.split(":log-group:", 1)[1].removesuffix(":*") if destination else None
    expected_group = ctx.names.api_access_log_group
    groups = ctx.call("logs", "describe_log_groups", logGroupNamePrefix=expected_group)
    found = next(
        (g for g in groups.get("logGroups", []) if g["logGroupName"] == expected_group), {}
    )
    return compared(
        {
            "destination_log_group": expected_group,
            "format_has_request_id": True,
            "log_group_exists": True,
            "retention_days": contract.STAGE.access_log_retention_days,
        },
        {
            "destination_log_group": group,
            "format_has_request_id": "$context.requestId" in (settings.get("format") or ""),
            "log_group_exists": bool(found),
            "retention_days": found.get("retentionInDays"),
        },
        f"access logs go to {expected_group}",
        format=settings.get("format"),
    )


@check(
    CHECKS,
    "API-007",
    "Request validation: POST body against the model, GET query parameters",
    Severity.MEDIUM,
    "Attach the request validator and model from service/openapi.json to each method; apply.",
    reads="apigateway:GetMethod (requestValidatorId, requestModels, requestParameters), "
    "apigateway:GetRequestValidator",
    runs_on="both",
    doc=DOC,
)
def request_validation(ctx: StackContext) -> Outcome:
    problems: list[str] = []
    evidence: dict[str, Any] = {}
    for spec in contract.METHODS:
        label = _label(spec)
        method = _method(ctx, spec)
        if method is None:
            problems.append(f"{label}: method does not exist")
            continue
        validator_id = method.get("requestValidatorId")
        validator: dict[str, Any] = {}
        if validator_id:
            validator = ctx.call(
                "apigateway",
                "get_request_validator",
                restApiId=_api_id(ctx),
                requestValidatorId=validator_id,
            )
        body, params = (
            validator.get("validateRequestBody"),
            validator.get("validateRequestParameters"),
        )
        evidence[label] = {
            "validator": validator.get("name"),
            "validate_body": body,
            "validate_parameters": params,
            "models": method.get("requestModels") or {},
        }
        if spec.validates_body and not body:
            problems.append(f"{label}: the request body is not validated")
        if spec.validates_body and "application/json" not in (method.get("requestModels") or {}):
            problems.append(f"{label}: no application/json request model")
        if spec.validates_parameters and not params:
            problems.append(f"{label}: query parameters are not validated")
        declared = method.get("requestParameters") or {}
        for name in spec.query_parameters:
            if f"method.request.querystring.{name}" not in declared:
                problems.append(f"{label}: query parameter {name} is not declared")
    return problems_outcome(problems, "each method validates what the contract says", **evidence)


@check(
    CHECKS,
    "API-008",
    "Stage tracing (X-Ray) and metrics enabled",
    Severity.LOW,
    "Set xray_tracing_enabled on the stage and metrics_enabled in the */* method settings; apply.",
    reads="apigateway:GetStage (tracingEnabled, methodSettings */* metricsEnabled)",
    runs_on="both",
    doc=DOC,
)
def stage_tracing_and_metrics(ctx: StackContext) -> Outcome:
    stage = _stage(ctx)
    return compared(
        {
            "xray_tracing": contract.STAGE.xray_tracing,
            "metrics_enabled": contract.STAGE.metrics_enabled,
        },
        {
            "xray_tracing": bool(stage.get("tracingEnabled")),
            "metrics_enabled": bool(_all_methods_setting(stage).get("metricsEnabled")),
        },
        "the stage traces with X-Ray and publishes per-method metrics",
    )


@check(
    CHECKS,
    "API-009",
    "The deployment the stage serves has AWS_IAM on both methods",
    Severity.CRITICAL,
    "Redeploy the stage (terraform apply, or aws apigateway create-deployment "
    "--rest-api-id <api_id> --stage-name <stage>) so it serves the current methods; remove a "
    "canary (aws apigateway update-stage ... --patch-operations op=remove,path=/canarySettings).",
    reads="apigateway:GetStage (deploymentId, canarySettings), apigateway:GetDeployment "
    "embed=apisummary of each deployment the stage serves",
    runs_on="both",
    doc=DOC,
)
def deployed_methods_use_iam(ctx: StackContext) -> Outcome:
    """What the stage serves, not what the API's configuration says (API-002): they differ
    when a method changed after the last deployment. A canary on the stage serves a share of
    the calls from another deployment: that one is judged too (the project has no canary)."""
    stage = _stage(ctx)
    served = {"stage": stage.get("deploymentId")}
    canary = stage.get("canarySettings") or {}
    if canary.get("deploymentId"):
        served[f"canary ({canary.get('percentTraffic', 0)}% of calls)"] = canary["deploymentId"]
    problems: list[str] = []
    evidence: dict[str, Any] = {}
    for role, deployment_id in served.items():
        found, evidence[role] = _deployment_problems(ctx, deployment_id)
        where = "" if role == "stage" else f"{role}, deployment {deployment_id}: "
        problems += [where + problem for problem in found]
    if canary:
        problems.append(
            f"the stage has a canary ({canary}): a share of the calls skips what the stage's "
            "deployment was verified for"
        )
    return problems_outcome(
        problems,
        f"deployment {served['stage']} serves AWS_IAM methods only",
        deployment_id=served["stage"],
        canary_settings=canary or None,
        **evidence["stage"],
        served=evidence,
    )


@check(
    CHECKS,
    "API-010",
    "The contract's stage is the API's only stage",
    Severity.HIGH,
    "Delete the other stages (aws apigateway delete-stage --rest-api-id <api_id> --stage-name "
    "<name>); the project serves one stage, from infra/.",
    reads="apigateway:GetStages (stageName, deploymentId)",
    runs_on="both",
    doc=DOC,
)
def only_the_contract_stage(ctx: StackContext) -> Outcome:
    """Another stage is another door: it serves whatever deployment it names (an old one
    with a method left open, a route since removed) without the contract stage's throttling,
    logs and checks, and API-004..009 judge the contract's stage only."""
    stages = ctx.call("apigateway", "get_stages", restApiId=_api_id(ctx)).get("item") or []
    contract_stage = str(ctx.stack["stage_name"])
    others = {
        str(s.get("stageName")): s.get("deploymentId")
        for s in stages
        if s.get("stageName") != contract_stage
    }
    problems = [
        f"stage {name} also serves deployment {deployment}" for name, deployment in others.items()
    ]
    return problems_outcome(
        problems,
        f"{contract_stage} is the API's only stage",
        stages=sorted(str(s.get("stageName")) for s in stages),
    )


def _deployment_problems(ctx: StackContext, deployment_id: Any) -> tuple[list[str], dict]:
    """What one deployment serves against the contract: (problems, evidence)."""
    deployment = ctx.call(
        "apigateway",
        "get_deployment",
        restApiId=_api_id(ctx),
        deploymentId=deployment_id,
        embed=["apisummary"],
    )
    summary = deployment.get("apiSummary") or {}
    expected, actual = {}, {}
    for spec in contract.METHODS:
        expected[_label(spec)] = spec.authorization
        actual[_label(spec)] = (
            (summary.get(spec.path) or {}).get(spec.http_method, {}).get("authorizationType")
        )
    extra = {
        f"{http_method} {path}": (method or {}).get("authorizationType")
        for path, methods in summary.items()
        for http_method, method in (methods or {}).items()
        if (http_method, path) not in contract.ROUTES
    }
    problems = differences(expected, actual) + [
        f"the deployment serves {label}, which is not in the contract (authorization {auth})"
        for label, auth in extra.items()
    ]
    return problems, {"expected": expected, "actual": actual, "methods_not_in_contract": extra}
