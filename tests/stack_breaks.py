"""Breaking the local stack in one way and putting it back (shared by the verify/roles tests).

Each break function changes one thing with boto3 and returns what its revert needs; reverts put
the stack back exactly. ``run_cli`` runs a command in process and returns its JSON report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from slsops import contract
from slsops.cli import app
from slsops.deployment.stack import Stack


def aws(stack: Stack, service: str) -> Any:
    """A client as the account's owner, to break and repair the deployment: the local stack's
    administrator when the stack file names one (its operator holds only the published,
    read-mostly policies), otherwise the stack's own credentials."""
    return stack.client(service, session=stack.admin_session)


def run_cli(command: str, stack: Stack, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    """Run ``slsops <command> --format json`` in process; (exit code, report)."""
    report = tmp_path / f"{command}-{time.monotonic_ns()}.json"
    result = CliRunner().invoke(
        app,
        [command, "--stack", str(stack.path), "--format", "json", "--output", str(report), *extra],
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(report.read_text(encoding="utf-8"))


def statuses(report: dict, status: str) -> set[str]:
    return {c["id"] for c in report["checks"] if c["status"] == status}


@contextmanager
def broken(break_it: Callable[[], Any], revert: Callable[[Any], None]) -> Iterator[None]:
    saved = break_it()
    try:
        yield
    finally:
        revert(saved)


def assert_only_failures(command: str, stack: Stack, tmp_path: Path, expected: set[str]) -> dict:
    code, report = run_cli(command, stack, tmp_path)
    failing = statuses(report, "FAIL") | statuses(report, "ERROR")
    details = {c["id"]: c["detail"] for c in report["checks"] if c["id"] in failing}
    assert failing == expected, details
    assert code == (1 if expected else 0)
    return report


# Each break: (name, expected failing ids, break(stack) -> saved, revert(stack, saved)).


def _table(stack: Stack) -> str:
    return str(stack["table_name"])


def pitr_off(stack: Stack) -> None:
    aws(stack, "dynamodb").update_continuous_backups(
        TableName=_table(stack),
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )


def table_shared_with_another_account(stack: Stack) -> str:
    """A resource policy on the table letting another account read it."""
    client = aws(stack, "dynamodb")
    arn = client.describe_table(TableName=_table(stack))["Table"]["TableArn"]
    statement = {
        "Sid": "slsops-test-share",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": ["dynamodb:Query", "dynamodb:Scan"],
        "Resource": arn,
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    client.put_resource_policy(ResourceArn=arn, Policy=json.dumps(policy))
    return arn


def stream_on(stack: Stack) -> None:
    aws(stack, "dynamodb").update_table(
        TableName=_table(stack),
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )


def stream_off(stack: Stack, _saved: Any) -> None:
    aws(stack, "dynamodb").update_table(
        TableName=_table(stack), StreamSpecification={"StreamEnabled": False}
    )


def table_not_shared(stack: Stack, arn: str) -> None:
    aws(stack, "dynamodb").delete_resource_policy(ResourceArn=arn)


def key_granted_to_another_account(stack: Stack) -> str:
    """A grant letting another account decrypt with the table's key."""
    grant = aws(stack, "kms").create_grant(
        KeyId=str(stack["kms_key_arn"]),
        GranteePrincipal="arn:aws:iam::999999999999:root",
        Operations=["Decrypt"],
    )
    return str(grant["GrantId"])


def key_grant_revoked(stack: Stack, grant_id: str) -> None:
    aws(stack, "kms").revoke_grant(KeyId=str(stack["kms_key_arn"]), GrantId=grant_id)


def pitr_on(stack: Stack, _saved: Any) -> None:
    aws(stack, "dynamodb").update_continuous_backups(
        TableName=_table(stack),
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def _method(stack: Stack, path: str, http_method: str) -> tuple[str, str]:
    client = aws(stack, "apigateway")
    api_id = str(stack["api_id"])
    items = client.get_resources(restApiId=api_id, limit=500)["items"]
    return api_id, next(i["id"] for i in items if i["path"] == path)


def _redeploy(stack: Stack) -> None:
    client = aws(stack, "apigateway")
    deployment = client.create_deployment(restApiId=str(stack["api_id"]), description="slsops test")
    point_stage_at(stack, deployment["id"])


def stage_deployment(stack: Stack) -> str:
    """The deployment the stage serves now (a revert points the stage back at it)."""
    stage = aws(stack, "apigateway").get_stage(
        restApiId=str(stack["api_id"]), stageName=str(stack["stage_name"])
    )
    return str(stage["deploymentId"])


def point_stage_at(stack: Stack, deployment_id: str) -> None:
    """Serve ``deployment_id`` on the stage: how a stage is rolled back on AWS too."""
    aws(stack, "apigateway").update_stage(
        restApiId=str(stack["api_id"]),
        stageName=str(stack["stage_name"]),
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment_id}],
    )


def set_post_authorization(stack: Stack, value: str, redeploy: bool = True) -> None:
    """Re-put POST /logs with another authorization type, keep the rest, and redeploy.

    moto implements no UpdateMethod; PutMethod replaces the method (and drops its
    integration), so the method's other settings and its integration are put back as they were.
    """
    api_id, resource_id = _method(stack, "/logs", "POST")
    client = aws(stack, "apigateway")
    where = {"restApiId": api_id, "resourceId": resource_id, "httpMethod": "POST"}
    method = client.get_method(**where)
    kept = ("requestParameters", "requestModels", "requestValidatorId")
    client.put_method(
        **where, authorizationType=value, **{k: method[k] for k in kept if method.get(k)}
    )
    integration = method["methodIntegration"]
    client.put_integration(
        **where,
        type=integration["type"],
        integrationHttpMethod=integration["httpMethod"],
        uri=integration["uri"],
        **(
            {"timeoutInMillis": integration["timeoutInMillis"]}
            if integration.get("timeoutInMillis")
            else {}
        ),
    )
    if redeploy:
        _redeploy(stack)


def auth_none(stack: Stack) -> str:
    """POST /logs without authorization, deployed; returns the deployment served before."""
    served = stage_deployment(stack)
    set_post_authorization(stack, "NONE")
    return served


def auth_none_not_deployed(stack: Stack) -> None:
    """The method changes but the stage still serves the old deployment (API-009 passes)."""
    set_post_authorization(stack, "NONE", redeploy=False)


def auth_iam_not_deployed(stack: Stack, _saved: Any) -> None:
    set_post_authorization(stack, "AWS_IAM", redeploy=False)


def auth_iam(stack: Stack, served: str) -> None:
    """The method back as Terraform made it, and the stage back on the deployment it served
    (a fresh deployment would be drift of its own: Terraform's state names the old one)."""
    set_post_authorization(stack, "AWS_IAM", redeploy=False)
    point_stage_at(stack, served)


def memory(stack: Stack) -> int:
    name = str(stack["ingest_function_name"])
    client = aws(stack, "lambda")
    before = client.get_function_configuration(FunctionName=name)["MemorySize"]
    client.update_function_configuration(FunctionName=name, MemorySize=before + 256)
    return before


def memory_back(stack: Stack, before: int) -> None:
    aws(stack, "lambda").update_function_configuration(
        FunctionName=str(stack["ingest_function_name"]), MemorySize=before
    )


def retention(stack: Stack) -> int:
    group = f"/aws/lambda/{stack['read_function_name']}"
    logs = aws(stack, "logs")
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    logs.put_retention_policy(logGroupName=group, retentionInDays=14)
    return found["retentionInDays"]


def retention_back(stack: Stack, before: int) -> None:
    aws(stack, "logs").put_retention_policy(
        logGroupName=f"/aws/lambda/{stack['read_function_name']}", retentionInDays=before
    )


def rotation_off(stack: Stack) -> None:
    aws(stack, "kms").disable_key_rotation(KeyId=str(stack["kms_key_arn"]))


def rotation_on(stack: Stack, _saved: Any) -> None:
    aws(stack, "kms").enable_key_rotation(KeyId=str(stack["kms_key_arn"]))


ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "Metrics",
)


def delete_alarm(stack: Stack) -> dict:
    name = contract.names().alarm("api_5xx")
    cloudwatch = aws(stack, "cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    cloudwatch.delete_alarms(AlarmNames=[name])
    return {k: alarm[k] for k in ALARM_FIELDS if alarm.get(k) not in (None, [], "")}


def restore_alarm(stack: Stack, saved: dict) -> None:
    aws(stack, "cloudwatch").put_metric_alarm(**saved)


def _client_role_name(stack: Stack, key: str) -> str:
    return str(stack["roles"][key]["arn"]).rsplit("/", 1)[-1]


def trust_without_external_id(stack: Stack) -> Any:
    iam = aws(stack, "iam")
    name = _client_role_name(stack, "read")
    before = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    document = json.loads(json.dumps(before)) if isinstance(before, dict) else json.loads(before)
    for statement in document["Statement"]:
        statement.pop("Condition", None)
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))
    return before


def restore_trust(stack: Stack, before: Any) -> None:
    document = before if isinstance(before, str) else json.dumps(before)
    aws(stack, "iam").update_assume_role_policy(
        RoleName=_client_role_name(stack, "read"), PolicyDocument=document
    )


def revoke_invoke(stack: Stack, role: str) -> Any:
    """The client role loses its policy (execute-api:Invoke); returns the document."""
    iam = aws(stack, "iam")
    name = _client_role_name(stack, role)
    before = iam.get_role_policy(RoleName=name, PolicyName="least-privilege")["PolicyDocument"]
    iam.delete_role_policy(RoleName=name, PolicyName="least-privilege")
    return before


def restore_invoke(stack: Stack, role: str, before: Any) -> None:
    document = before if isinstance(before, str) else json.dumps(before)
    aws(stack, "iam").put_role_policy(
        RoleName=_client_role_name(stack, role),
        PolicyName="least-privilege",
        PolicyDocument=document,
    )


def revoke_ingest_invoke(stack: Stack) -> Any:
    return revoke_invoke(stack, "ingest")


def restore_ingest_invoke(stack: Stack, before: Any) -> None:
    restore_invoke(stack, "ingest", before)


def revoke_read_invoke(stack: Stack) -> Any:
    return revoke_invoke(stack, "read")


def restore_read_invoke(stack: Stack, before: Any) -> None:
    restore_invoke(stack, "read", before)


def delete_config_rule(stack: Stack) -> dict:
    config = aws(stack, "config")
    name = contract.names().config_rule("dynamodb_pitr")
    rule = config.describe_config_rules(ConfigRuleNames=[name])["ConfigRules"][0]
    tags = config.list_tags_for_resource(ResourceArn=rule["ConfigRuleArn"])["Tags"]
    config.delete_config_rule(ConfigRuleName=name)
    keep = ("ConfigRuleName", "Description", "Scope", "Source", "InputParameters")
    return {"rule": {k: rule[k] for k in keep if rule.get(k)}, "tags": tags}


def restore_config_rule(stack: Stack, saved: dict) -> None:
    """The rule as it was, with its tags (a re-created rule without them is drift to plan)."""
    aws(stack, "config").put_config_rule(ConfigRule=saved["rule"], Tags=saved["tags"])


def throttle(stack: Stack) -> None:
    patch_throttle(stack, "1")


def throttle_back(stack: Stack, _saved: Any) -> None:
    patch_throttle(stack, str(contract.STAGE.throttling_rate_limit))


def patch_throttle(stack: Stack, value: str) -> None:
    aws(stack, "apigateway").update_stage(
        restApiId=str(stack["api_id"]),
        stageName=str(stack["stage_name"]),
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": value}],
    )


EXTRA_POLICY = "slsops-test-extra"


def grant_read_put_item(stack: Stack) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": str(stack["table_arn"])}
        ],
    }
    aws(stack, "iam").put_role_policy(
        RoleName=_client_role_name(stack, "read"),
        PolicyName=EXTRA_POLICY,
        PolicyDocument=json.dumps(document),
    )


def revoke_read_put_item(stack: Stack, _saved: Any) -> None:
    aws(stack, "iam").delete_role_policy(
        RoleName=_client_role_name(stack, "read"), PolicyName=EXTRA_POLICY
    )


def widen_full_trust(stack: Stack) -> Any:
    """The full-access role trusts any AWS principal (the external id condition stays)."""
    iam = aws(stack, "iam")
    name = _client_role_name(stack, "full")
    before = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    document = json.loads(before) if isinstance(before, str) else json.loads(json.dumps(before))
    for statement in document["Statement"]:
        statement["Principal"] = {"AWS": "*"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))
    return before


def restore_full_trust(stack: Stack, before: Any) -> None:
    document = before if isinstance(before, str) else json.dumps(before)
    aws(stack, "iam").update_assume_role_policy(
        RoleName=_client_role_name(stack, "full"), PolicyDocument=document
    )


def _execution_role_name(stack: Stack, function_output: str) -> str:
    config = aws(stack, "lambda").get_function_configuration(
        FunctionName=str(stack[function_output])
    )
    return config["Role"].rsplit("/", 1)[-1]


def grant_read_function_delete_item(stack: Stack) -> str:
    """The read function's execution role may also delete items (wider than its code needs)."""
    name = _execution_role_name(stack, "read_function_name")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "dynamodb:DeleteItem",
                "Resource": str(stack["table_arn"]),
            }
        ],
    }
    aws(stack, "iam").put_role_policy(
        RoleName=name, PolicyName=EXTRA_POLICY, PolicyDocument=json.dumps(document)
    )
    return name


def revoke_read_function_delete_item(stack: Stack, name: str) -> None:
    aws(stack, "iam").delete_role_policy(RoleName=name, PolicyName=EXTRA_POLICY)


def deletion_protection_off(stack: Stack) -> None:
    aws(stack, "dynamodb").update_table(TableName=_table(stack), DeletionProtectionEnabled=False)


def deletion_protection_on(stack: Stack, _saved: Any) -> None:
    aws(stack, "dynamodb").update_table(TableName=_table(stack), DeletionProtectionEnabled=True)


def alarm_threshold_raised(stack: Stack) -> dict:
    """The API 5xx alarm fires only at 10x its threshold (put back from its description)."""
    name = contract.names().alarm("api_5xx")
    cloudwatch = aws(stack, "cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    saved = {k: alarm[k] for k in ALARM_FIELDS if alarm.get(k) not in (None, [], "")}
    cloudwatch.put_metric_alarm(**{**saved, "Threshold": saved["Threshold"] * 10})
    return saved


def access_log_retention(stack: Stack) -> int:
    group = contract.names().api_access_log_group
    logs = aws(stack, "logs")
    before = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    return before


def access_log_retention_back(stack: Stack, before: int) -> None:
    aws(stack, "logs").put_retention_policy(
        logGroupName=contract.names().api_access_log_group, retentionInDays=before
    )


def reserved_concurrency(stack: Stack) -> int:
    name = str(stack["read_function_name"])
    client = aws(stack, "lambda")
    before = client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"]
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    return before


def reserved_concurrency_back(stack: Stack, before: int) -> None:
    aws(stack, "lambda").put_function_concurrency(
        FunctionName=str(stack["read_function_name"]), ReservedConcurrentExecutions=before
    )


def ttl_off(stack: Stack) -> None:
    aws(stack, "dynamodb").update_time_to_live(
        TableName=_table(stack),
        TimeToLiveSpecification={"Enabled": False, "AttributeName": str(stack["ttl_attribute"])},
    )


def ttl_on(stack: Stack, _saved: Any) -> None:
    aws(stack, "dynamodb").update_time_to_live(
        TableName=_table(stack),
        TimeToLiveSpecification={"Enabled": True, "AttributeName": str(stack["ttl_attribute"])},
    )


def environment_changed(stack: Stack) -> dict:
    """The read function logs at DEBUG (an environment value that differs from the contract)."""
    name = str(stack["read_function_name"])
    client = aws(stack, "lambda")
    before = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**before, "POWERTOOLS_LOG_LEVEL": "DEBUG"}}
    )
    return before


def environment_back(stack: Stack, before: dict) -> None:
    aws(stack, "lambda").update_function_configuration(
        FunctionName=str(stack["read_function_name"]), Environment={"Variables": before}
    )


def long_sessions(stack: Stack) -> dict:
    iam = aws(stack, "iam")
    name = _client_role_name(stack, "ingest")
    role = iam.get_role(RoleName=name)["Role"]
    # moto's UpdateRole clears a Description it is not given (AWS keeps it): pass it along.
    iam.update_role(RoleName=name, MaxSessionDuration=43200, Description=role["Description"])
    return {"MaxSessionDuration": role["MaxSessionDuration"], "Description": role["Description"]}


def long_sessions_back(stack: Stack, before: dict) -> None:
    aws(stack, "iam").update_role(RoleName=_client_role_name(stack, "ingest"), **before)


# ------------------------------------------------------------------ one break per check id
# Each breaks what its check reads, through the AWS APIs; the test runs that check (``--only``)
# and asserts FAIL with a detail naming the cause, then PASS after the revert.


def stack_pointing_at(stack: Stack, folder: Path, **outputs: Any) -> Stack:
    """A copy of the stack file with some outputs replaced (mode 0600: it holds credentials).

    Where the stack file names the local administrator, the copy's commands run as it: a
    resource the published operator policies do not name (a table called otherwise) would
    otherwise be AccessDenied before its check could compare anything.
    """
    from slsops.deployment.stack import load_stack

    document = json.loads(stack.path.read_text(encoding="utf-8"))
    admin = stack.get("local_admin_credentials")
    if admin:
        outputs.setdefault("local_credentials", {**(stack.get("local_credentials") or {}), **admin})
    for name, value in outputs.items():
        document[name] = {**document.get(name, {"type": "string"}), "value": value}
    path = folder / f"stack-{time.monotonic_ns()}.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_stack(path)


def _api(stack: Stack) -> tuple[Any, str]:
    return aws(stack, "apigateway"), str(stack["api_id"])


def rename_api(stack: Stack) -> str:
    client, api_id = _api(stack)
    before = client.get_rest_api(restApiId=api_id)["name"]
    client.update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "replace", "path": "/name", "value": "drifted"}]
    )
    return before


def rename_api_back(stack: Stack, before: str) -> None:
    client, api_id = _api(stack)
    client.update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "replace", "path": "/name", "value": before}]
    )


def put_method_back(stack: Stack, path: str, http_method: str, method: dict, **changes: Any):
    """Put a method (and its integration) back from its GetMethod answer, with ``changes`` to
    the integration (``uri``, ``type``) or ``authorizationType``. moto has no UpdateMethod and
    its PutMethod drops the integration, so both are put whole."""
    api_id, resource_id = _method(stack, path, http_method)
    client = aws(stack, "apigateway")
    where = {"restApiId": api_id, "resourceId": resource_id, "httpMethod": http_method}
    kept = ("requestParameters", "requestModels", "requestValidatorId")
    client.put_method(
        **where,
        authorizationType=changes.get("authorizationType", method["authorizationType"]),
        **{k: method[k] for k in kept if method.get(k)},
    )
    integration = method["methodIntegration"]
    client.put_integration(
        **where,
        type=changes.get("type", integration["type"]),
        integrationHttpMethod=integration["httpMethod"],
        uri=changes.get("uri", integration["uri"]),
        **(
            {"timeoutInMillis": integration["timeoutInMillis"]}
            if integration.get("timeoutInMillis")
            else {}
        ),
    )


def _get_method(stack: Stack, path: str, http_method: str) -> dict:
    api_id, resource_id = _method(stack, path, http_method)
    return aws(stack, "apigateway").get_method(
        restApiId=api_id, resourceId=resource_id, httpMethod=http_method
    )


def integration_changed(stack: Stack, **changes: Any) -> dict:
    """POST /logs's integration changed in place (the stage is not redeployed)."""
    method = _get_method(stack, "/logs", "POST")
    uri = method["methodIntegration"]["uri"]
    if changes.pop("unqualified", False):
        changes["uri"] = uri.replace(":live/invocations", "/invocations")
    put_method_back(stack, "/logs", "POST", method, **changes)
    return method


def integration_unqualified(stack: Stack) -> dict:
    """The integration invokes the function's $LATEST instead of its alias."""
    return integration_changed(stack, unqualified=True)


def integration_not_proxy(stack: Stack) -> dict:
    return integration_changed(stack, type="AWS")


def integration_back(stack: Stack, method: dict) -> None:
    put_method_back(stack, "/logs", "POST", method)


def delete_read_method(stack: Stack) -> dict:
    method = _get_method(stack, "/logs/recent", "GET")
    api_id, resource_id = _method(stack, "/logs/recent", "GET")
    aws(stack, "apigateway").delete_method(
        restApiId=api_id, resourceId=resource_id, httpMethod="GET"
    )
    return method


def restore_read_method(stack: Stack, method: dict) -> None:
    put_method_back(stack, "/logs/recent", "GET", method)


def body_validation_off(stack: Stack) -> tuple[str, str]:
    client, api_id = _api(stack)
    method = _get_method(stack, "/logs", "POST")
    validator = method["requestValidatorId"]
    client.update_request_validator(
        restApiId=api_id,
        requestValidatorId=validator,
        patchOperations=[{"op": "replace", "path": "/validateRequestBody", "value": "false"}],
    )
    return validator, "true"


def body_validation_back(stack: Stack, saved: tuple[str, str]) -> None:
    client, api_id = _api(stack)
    validator, value = saved
    client.update_request_validator(
        restApiId=api_id,
        requestValidatorId=validator,
        patchOperations=[{"op": "replace", "path": "/validateRequestBody", "value": value}],
    )


def _patch_stage(stack: Stack, path: str, value: str) -> None:
    client, api_id = _api(stack)
    client.update_stage(
        restApiId=api_id,
        stageName=str(stack["stage_name"]),
        patchOperations=[{"op": "replace", "path": path, "value": value}],
    )


def stage_tracing_off(stack: Stack) -> None:
    _patch_stage(stack, "/tracingEnabled", "false")


def stage_tracing_on(stack: Stack, _saved: Any) -> None:
    _patch_stage(stack, "/tracingEnabled", "true")


def _function_setting(output: str, **changes: Any) -> Callable[[Stack], dict]:
    """A break that changes ``$LATEST``'s configuration of one function; returns the old values."""

    def break_it(stack: Stack) -> dict:
        client = aws(stack, "lambda")
        name = str(stack[output])
        config = client.get_function_configuration(FunctionName=name)
        client.update_function_configuration(FunctionName=name, **changes)
        return {"FunctionName": name, **{k: config.get(k) for k in changes}}

    return break_it


def function_setting_back(stack: Stack, saved: dict) -> None:
    aws(stack, "lambda").update_function_configuration(**saved)


ingest_handler_changed = _function_setting(
    "ingest_function_name", Handler="log_service.elsewhere.handler"
)
read_timeout_changed = _function_setting("read_function_name", Timeout=3)
ingest_tracing_passthrough = _function_setting(
    "ingest_function_name", TracingConfig={"Mode": "PassThrough"}
)


def function_url_open(stack: Stack) -> str:
    """A function URL with AuthType NONE on the ingest function: a door past the API."""
    name = str(stack["ingest_function_name"])
    aws(stack, "lambda").create_function_url_config(FunctionName=name, AuthType="NONE")
    return name


def function_url_closed(stack: Stack, name: str) -> None:
    aws(stack, "lambda").delete_function_url_config(FunctionName=name)


def endpoint_variable_added(stack: Stack) -> dict:
    """An environment variable infra/ does not set, which the runtime's SDK reads itself:
    every DynamoDB call of the ingest function would go to another endpoint."""
    client = aws(stack, "lambda")
    name = str(stack["ingest_function_name"])
    variables = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    added = {**variables, "AWS_ENDPOINT_URL_DYNAMODB": "https://203.0.113.9"}
    client.update_function_configuration(FunctionName=name, Environment={"Variables": added})
    return {"FunctionName": name, "Environment": {"Variables": variables}}


def extra_stage_with_an_open_route(stack: Stack) -> str:
    """A second stage serving a deployment made while an unauthenticated route existed; the
    route is gone from the API since, so only what the other stage serves holds it."""
    client = aws(stack, "apigateway")
    api = str(stack["api_id"])
    resources = {r["path"]: r["id"] for r in client.get_resources(restApiId=api)["items"]}
    uri = client.get_integration(restApiId=api, resourceId=resources["/logs"], httpMethod="POST")
    opened = client.create_resource(restApiId=api, parentId=resources["/"], pathPart="open")
    client.put_method(
        restApiId=api, resourceId=opened["id"], httpMethod="POST", authorizationType="NONE"
    )
    client.put_integration(
        restApiId=api,
        resourceId=opened["id"],
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=uri["uri"],
    )
    deployment = client.create_deployment(restApiId=api)["id"]
    client.create_stage(restApiId=api, stageName="debug", deploymentId=deployment)
    client.delete_resource(restApiId=api, resourceId=opened["id"])
    return deployment


def extra_stage_removed(stack: Stack, deployment: str) -> None:
    client = aws(stack, "apigateway")
    client.delete_stage(restApiId=str(stack["api_id"]), stageName="debug")
    client.delete_deployment(restApiId=str(stack["api_id"]), deploymentId=deployment)


def log_subscription_added(stack: Stack) -> str:
    """The ingest function's log group streams its events to another function."""
    group = f"/aws/lambda/{stack['ingest_function_name']}"
    destination = aws(stack, "lambda").get_function_configuration(
        FunctionName=str(stack["read_function_name"])
    )["FunctionArn"]
    aws(stack, "logs").put_subscription_filter(
        logGroupName=group,
        filterName="slsops-test-copy",
        filterPattern="",
        destinationArn=destination,
    )
    return group


def log_subscription_removed(stack: Stack, group: str) -> None:
    aws(stack, "logs").delete_subscription_filter(logGroupName=group, filterName="slsops-test-copy")


def alarm_topic_subscribed_elsewhere(stack: Stack) -> str:
    """An HTTPS endpoint (not infra/'s e-mail) subscribed to the alarm topic."""
    return aws(stack, "sns").subscribe(
        TopicArn=str(stack["alarm_topic_arn"]),
        Protocol="https",
        Endpoint="https://203.0.113.9/hook",
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]


def alarm_topic_subscription_removed(stack: Stack, subscription: str) -> None:
    aws(stack, "sns").unsubscribe(SubscriptionArn=subscription)


def layer_added(stack: Stack) -> str:
    """A layer on the read function's $LATEST: code beside the reviewed zip."""
    import io
    import zipfile

    client = aws(stack, "lambda")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer_zip:
        layer_zip.writestr("python/log_service/__init__.py", "")
    layer = client.publish_layer_version(
        LayerName="slsops-test-layer", Content={"ZipFile": archive.getvalue()}
    )
    name = str(stack["read_function_name"])
    client.update_function_configuration(FunctionName=name, Layers=[layer["LayerVersionArn"]])
    return name


def layers_removed(stack: Stack, name: str) -> None:
    aws(stack, "lambda").update_function_configuration(FunctionName=name, Layers=[])


def alias_on_latest(stack: Stack) -> str:
    client = aws(stack, "lambda")
    name = str(stack["read_function_name"])
    before = client.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    client.update_alias(FunctionName=name, Name="live", FunctionVersion="$LATEST")
    return before


def alias_back(stack: Stack, version: str) -> None:
    aws(stack, "lambda").update_alias(
        FunctionName=str(stack["read_function_name"]), Name="live", FunctionVersion=version
    )


def environment_key_changed(stack: Stack) -> tuple[dict, str]:
    """The ingest function's environment is encrypted with another customer key."""
    kms = aws(stack, "kms")
    other = kms.create_key(Description="slsops test: not the project's key")["KeyMetadata"]["Arn"]
    saved = _function_setting("ingest_function_name", KMSKeyArn=other)(stack)
    return saved, other


def environment_key_back(stack: Stack, saved: tuple[dict, str]) -> None:
    settings, other = saved
    function_setting_back(stack, settings)
    # By key id: moto 5.2.5 answers 500 to ScheduleKeyDeletion with a key ARN.
    key_id = other.rsplit("/", 1)[-1]
    aws(stack, "kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def bad_release(stack: Stack) -> dict:
    """A version with another configuration is published and moved onto the live alias;
    ``$LATEST`` is put back at once, so only what the alias serves differs."""
    client = aws(stack, "lambda")
    name = str(stack["ingest_function_name"])
    before = client.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    config = client.get_function_configuration(FunctionName=name)
    variables = config["Environment"]["Variables"]
    client.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {**variables, "POWERTOOLS_LOG_LEVEL": "DEBUG"}},
        MemorySize=config["MemorySize"] * 2,
    )
    bad = client.publish_version(FunctionName=name, Description="slsops test: bad release")
    client.update_alias(FunctionName=name, Name="live", FunctionVersion=bad["Version"])
    client.update_function_configuration(
        FunctionName=name, Environment={"Variables": variables}, MemorySize=config["MemorySize"]
    )
    return {"name": name, "version": before, "bad": bad["Version"]}


def bad_release_weighted(stack: Stack) -> dict:
    """The bad release gets a tenth of the live alias's calls (a weighted alias, a canary
    release gone wrong); the alias's own version is unchanged."""
    saved = bad_release(stack)
    client = aws(stack, "lambda")
    client.update_alias(
        FunctionName=saved["name"],
        Name="live",
        FunctionVersion=saved["version"],
        RoutingConfig={"AdditionalVersionWeights": {saved["bad"]: 0.1}},
    )
    return saved


def bad_release_unweighted(stack: Stack, saved: dict) -> None:
    client = aws(stack, "lambda")
    client.update_alias(
        FunctionName=saved["name"], Name="live", RoutingConfig={"AdditionalVersionWeights": {}}
    )
    bad_release_rolled_back(stack, saved)


def bad_release_rolled_back(stack: Stack, saved: dict) -> None:
    client = aws(stack, "lambda")
    client.update_alias(FunctionName=saved["name"], Name="live", FunctionVersion=saved["version"])
    client.delete_function(FunctionName=saved["name"], Qualifier=saved["bad"])


def _invoke_statement(stack: Stack) -> tuple[str, dict]:
    name = str(stack["ingest_function_name"])
    policy = aws(stack, "lambda").get_policy(FunctionName=name, Qualifier="live")["Policy"]
    statement = next(
        s
        for s in json.loads(policy)["Statement"]
        if s.get("Principal", {}).get("Service") == "apigateway.amazonaws.com"
        and str(s.get("Resource", "")).endswith(":live")
    )
    return name, statement


def _add_invoke_permission(stack: Stack, name: str, sid: str, source_arn: str | None) -> None:
    aws(stack, "lambda").add_permission(
        FunctionName=name,
        Qualifier="live",
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        **({"SourceArn": source_arn} if source_arn else {}),
    )


def remove_invoke_permission(stack: Stack) -> dict:
    """API Gateway may no longer invoke the ingest alias (every POST fails on AWS)."""
    name, statement = _invoke_statement(stack)
    aws(stack, "lambda").remove_permission(
        FunctionName=name, StatementId=statement["Sid"], Qualifier="live"
    )
    return {"name": name, "statement": statement}


def invoke_permission_for_another_api(stack: Stack) -> dict:
    """The permission is put back scoped to another API's source ARN."""
    saved = remove_invoke_permission(stack)
    source = saved["statement"]["Condition"]["ArnLike"]["AWS:SourceArn"]
    other = source.replace(f":{stack['api_id']}/", ":otherapi01/")
    _add_invoke_permission(stack, saved["name"], saved["statement"]["Sid"], other)
    return {**saved, "replaced": True}


UNSCOPED_SID = "slsops-test-unscoped"


def unscoped_invoke_permission(stack: Stack) -> dict:
    """Beside the right permission, one that lets any API in any account invoke the alias."""
    name, _ = _invoke_statement(stack)
    _add_invoke_permission(stack, name, UNSCOPED_SID, None)
    return {"name": name, "extra": UNSCOPED_SID}


def restore_invoke_permission(stack: Stack, saved: dict) -> None:
    client = aws(stack, "lambda")
    if "extra" in saved:
        client.remove_permission(
            FunctionName=saved["name"], StatementId=saved["extra"], Qualifier="live"
        )
        return
    statement = saved["statement"]
    if saved.get("replaced"):
        client.remove_permission(
            FunctionName=saved["name"], StatementId=statement["Sid"], Qualifier="live"
        )
    source = statement["Condition"]["ArnLike"]["AWS:SourceArn"]
    _add_invoke_permission(stack, saved["name"], statement["Sid"], source)


DECOY_TABLE = "drifted-logs-prod"


def decoy_table(stack: Stack) -> str:
    """A table that is not the contract's: another name, keyed by ``id``, no index, no CMK."""
    client = aws(stack, "dynamodb")
    client.create_table(
        TableName=DECOY_TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client.describe_table(TableName=DECOY_TABLE)["Table"]["TableArn"]


def drop_decoy_table(stack: Stack, _saved: Any) -> None:
    aws(stack, "dynamodb").delete_table(TableName=DECOY_TABLE)


def billing_provisioned(stack: Stack) -> dict[str, int]:
    """Provisioned 5/5; returns the units the on-demand table reported before (0/0)."""
    client = aws(stack, "dynamodb")
    before = client.describe_table(TableName=_table(stack))["Table"]["ProvisionedThroughput"]
    client.update_table(
        TableName=_table(stack),
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    return {key: before[key] for key in ("ReadCapacityUnits", "WriteCapacityUnits")}


def billing_on_demand(stack: Stack, saved: dict[str, int]) -> None:
    """Back to on-demand, with the units the table reported before the break.

    moto 5.2.5 keeps the provisioned 5/5 when the mode goes back to PAY_PER_REQUEST (AWS
    reports 0/0 then), and Terraform refuses to plan a PAY_PER_REQUEST table with capacities:
    a later plan against the stack (tests/test_infra_plan.py, tests/test_deployer_stack.py)
    would fail. moto takes the units with the mode, so they are set back as they were (0 is
    below botocore's minimum of 1, hence a client that leaves the check to the server).
    """
    from botocore.config import Config

    from slsops.deployment.stack import boto_config

    client = stack.admin_session.client(
        "dynamodb",
        endpoint_url=stack.endpoint_url,
        config=boto_config().merge(Config(parameter_validation=False)),
    )
    client.update_table(
        TableName=_table(stack), BillingMode="PAY_PER_REQUEST", ProvisionedThroughput=saved
    )


def _key_id(stack: Stack) -> str:
    """The key's id: moto 5.2.5 answers 500 to some KMS calls given the key's ARN."""
    return str(stack["kms_key_arn"]).rsplit("/", 1)[-1]


def key_disabled(stack: Stack) -> None:
    aws(stack, "kms").disable_key(KeyId=_key_id(stack))


def key_enabled(stack: Stack, _saved: Any) -> None:
    aws(stack, "kms").enable_key(KeyId=_key_id(stack))


def alias_deleted(stack: Stack) -> str:
    alias = str(stack["kms_alias"])
    aws(stack, "kms").delete_alias(AliasName=alias)
    return alias


def alias_restored(stack: Stack, alias: str) -> None:
    aws(stack, "kms").create_alias(AliasName=alias, TargetKeyId=_key_id(stack))


def key_policy_without_services(stack: Stack) -> str:
    """The key policy loses its statements for the CloudWatch service principals."""
    kms = aws(stack, "kms")
    key = _key_id(stack)
    before = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    document = json.loads(before)
    document["Statement"] = [
        s
        for s in document["Statement"]
        if not (isinstance(s.get("Principal"), dict) and "Service" in s["Principal"])
    ]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(document))
    return before


def key_policy_back(stack: Stack, before: str) -> None:
    aws(stack, "kms").put_key_policy(KeyId=_key_id(stack), PolicyName="default", Policy=before)


def delete_role(stack: Stack, name: str) -> dict:
    """Delete a role with its policies; returns what :func:`create_role` needs to put it back."""
    iam = aws(stack, "iam")
    role = iam.get_role(RoleName=name)["Role"]
    inline = {
        p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
        for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
    }
    attached = [
        a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    ]
    for policy in inline:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for arn in attached:
        iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    iam.delete_role(RoleName=name)
    return {"role": role, "inline": inline, "attached": attached}


def create_role(stack: Stack, saved: dict) -> None:
    """Create a deleted role again: same name, path, trust, limits, tags and policies."""
    iam = aws(stack, "iam")
    role = saved["role"]
    name = role["RoleName"]
    trust = role["AssumeRolePolicyDocument"]
    iam.create_role(
        RoleName=name,
        Path=role.get("Path") or "/",
        AssumeRolePolicyDocument=trust if isinstance(trust, str) else json.dumps(trust),
        MaxSessionDuration=role["MaxSessionDuration"],
        **({"Description": role["Description"]} if role.get("Description") else {}),
        **({"Tags": role["Tags"]} if role.get("Tags") else {}),
    )
    for policy, document in saved["inline"].items():
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy,
            PolicyDocument=document if isinstance(document, str) else json.dumps(document),
        )
    for arn in saved["attached"]:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)


def read_role_deleted(stack: Stack) -> dict:
    """The read role is deleted (the stack file still names it)."""
    return delete_role(stack, _client_role_name(stack, "read"))


def read_role_back(stack: Stack, saved: dict) -> None:
    create_role(stack, saved)


def _api_5xx_alarm(stack: Stack) -> dict:
    name = contract.names().alarm("api_5xx")
    alarm = aws(stack, "cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return {k: alarm[k] for k in ALARM_FIELDS if alarm.get(k) not in (None, [], "")}


def alarm_actions_removed(stack: Stack) -> dict:
    saved = _api_5xx_alarm(stack)
    changed = {k: v for k, v in saved.items() if k not in ("AlarmActions", "OKActions")}
    aws(stack, "cloudwatch").put_metric_alarm(**changed)
    return saved


def dashboard_without_read_function(stack: Stack) -> str:
    cloudwatch = aws(stack, "cloudwatch")
    name = str(stack["dashboard_name"])
    before = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
    body = before.replace(str(stack["read_function_name"]), "some-other-function")
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=body)
    return before


def dashboard_back(stack: Stack, before: str) -> None:
    aws(stack, "cloudwatch").put_dashboard(
        DashboardName=str(stack["dashboard_name"]), DashboardBody=before
    )


def _trust_of(stack: Stack, role: str) -> tuple[str, dict, Any]:
    iam = aws(stack, "iam")
    name = _client_role_name(stack, role)
    before = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    document = json.loads(before) if isinstance(before, str) else json.loads(json.dumps(before))
    return name, document, before


def trust_external_id_changed(role: str) -> Callable[[Stack], tuple[str, Any]]:
    """The role's trust asks for another external id than the one its callers hold."""

    def break_it(stack: Stack) -> tuple[str, Any]:
        name, document, before = _trust_of(stack, role)
        for statement in document["Statement"]:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": "x" * 40}}
        aws(stack, "iam").update_assume_role_policy(
            RoleName=name, PolicyDocument=json.dumps(document)
        )
        return name, before

    return break_it


def trust_without_external_id_of(role: str) -> Callable[[Stack], tuple[str, Any]]:
    def break_it(stack: Stack) -> tuple[str, Any]:
        name, document, before = _trust_of(stack, role)
        for statement in document["Statement"]:
            statement.pop("Condition", None)
        aws(stack, "iam").update_assume_role_policy(
            RoleName=name, PolicyDocument=json.dumps(document)
        )
        return name, before

    return break_it


def trust_back(stack: Stack, saved: tuple[str, Any]) -> None:
    name, before = saved
    aws(stack, "iam").update_assume_role_policy(
        RoleName=name, PolicyDocument=before if isinstance(before, str) else json.dumps(before)
    )


def revoke_full_invoke(stack: Stack) -> Any:
    return revoke_invoke(stack, "full")


def restore_full_invoke(stack: Stack, before: Any) -> None:
    restore_invoke(stack, "full", before)


def grant_table_action(role: str, action: str) -> Callable[[Stack], str]:
    """The client role gets one more DynamoDB action on the table (an extra inline policy)."""

    def break_it(stack: Stack) -> str:
        name = _client_role_name(stack, role)
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": action, "Resource": str(stack["table_arn"])}
            ],
        }
        aws(stack, "iam").put_role_policy(
            RoleName=name, PolicyName=EXTRA_POLICY, PolicyDocument=json.dumps(document)
        )
        return name

    return break_it


def revoke_extra_policy(stack: Stack, name: str) -> None:
    aws(stack, "iam").delete_role_policy(RoleName=name, PolicyName=EXTRA_POLICY)


def _set_ttl(stack: Stack, attribute: str, enabled: bool) -> None:
    aws(stack, "dynamodb").update_time_to_live(
        TableName=_table(stack),
        TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attribute},
    )


def ttl_attribute_changed(stack: Stack) -> str:
    """TTL moves to another attribute (entries would never expire: none carries it)."""
    attribute = str(stack["ttl_attribute"])
    _set_ttl(stack, attribute, False)
    _set_ttl(stack, "expire_at", True)
    return attribute


def ttl_attribute_back(stack: Stack, attribute: str) -> None:
    _set_ttl(stack, "expire_at", False)
    _set_ttl(stack, attribute, True)


def open_method_added(stack: Stack) -> str:
    """An unauthenticated ``ANY /logs/<extra>`` resource next to the contract's two methods,
    deployed to the stage (a way in that the two methods' own settings would not show)."""
    client = aws(stack, "apigateway")
    api_id, parent = _method(stack, "/logs", "POST")
    resource = client.create_resource(restApiId=api_id, parentId=parent, pathPart="slsops-open")
    client.put_method(
        restApiId=api_id, resourceId=resource["id"], httpMethod="ANY", authorizationType="NONE"
    )
    client.put_integration(
        restApiId=api_id, resourceId=resource["id"], httpMethod="ANY", type="MOCK"
    )
    _redeploy(stack)
    return str(resource["id"])


def open_method_removed(stack: Stack, resource_id: str) -> None:
    aws(stack, "apigateway").delete_resource(restApiId=str(stack["api_id"]), resourceId=resource_id)
    _redeploy(stack)


def stage_deleted(stack: Stack) -> dict:
    client = aws(stack, "apigateway")
    stage = client.get_stage(restApiId=str(stack["api_id"]), stageName=str(stack["stage_name"]))
    client.delete_stage(restApiId=str(stack["api_id"]), stageName=str(stack["stage_name"]))
    return stage


def stage_restored(stack: Stack, stage: dict) -> None:
    """The stage again, on the same deployment, with its settings (throttling, metrics, access
    logs, tracing)."""
    client = aws(stack, "apigateway")
    client.create_stage(
        restApiId=str(stack["api_id"]),
        stageName=stage["stageName"],
        deploymentId=stage["deploymentId"],
        tracingEnabled=bool(stage.get("tracingEnabled")),
    )
    settings = (stage.get("methodSettings") or {}).get("*/*") or {}
    values = {
        "throttling/rateLimit": str(settings.get("throttlingRateLimit")),
        "throttling/burstLimit": str(settings.get("throttlingBurstLimit")),
        "metrics/enabled": str(bool(settings.get("metricsEnabled"))).lower(),
    }
    operations = [{"op": "replace", "path": f"/*/*/{k}", "value": v} for k, v in values.items()]
    logs = stage.get("accessLogSettings") or {}
    operations += [
        {"op": "replace", "path": f"/accessLogSettings/{key}", "value": logs[key]}
        for key in ("destinationArn", "format")
        if logs.get(key)
    ]
    client.update_stage(
        restApiId=str(stack["api_id"]), stageName=stage["stageName"], patchOperations=operations
    )


POST_OVERRIDE = "/~1logs/POST"  # the method settings' key of POST /logs, as a patch path


def _patch_post_throttle(stack: Stack, rate: str, burst: str) -> None:
    aws(stack, "apigateway").update_stage(
        restApiId=str(stack["api_id"]),
        stageName=str(stack["stage_name"]),
        patchOperations=[
            {"op": "replace", "path": f"{POST_OVERRIDE}/throttling/rateLimit", "value": rate},
            {"op": "replace", "path": f"{POST_OVERRIDE}/throttling/burstLimit", "value": burst},
        ],
    )


def post_throttle_override(stack: Stack) -> None:
    """A per-method override for POST /logs that throttles it at 1 request/s (``*/*`` stays)."""
    _patch_post_throttle(stack, "1", "1")


def post_throttle_override_back(stack: Stack, _saved: Any) -> None:
    """moto cannot remove a method's override: it goes back to the contract's limits."""
    _patch_post_throttle(
        stack,
        str(contract.STAGE.throttling_rate_limit),
        str(contract.STAGE.throttling_burst_limit),
    )


def key_policy_open_to_everyone(stack: Stack) -> str:
    """The key policy gains a statement that lets any principal anywhere use the key."""
    kms = aws(stack, "kms")
    before = kms.get_key_policy(KeyId=_key_id(stack), PolicyName="default")["Policy"]
    policy = json.loads(before)
    policy["Statement"].append(
        {
            "Sid": "slsops-test-everyone",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    kms.put_key_policy(KeyId=_key_id(stack), PolicyName="default", Policy=json.dumps(policy))
    return before


OTHER_ACCOUNT_SID = "slsops-test-other-account"


def invoke_permission_for_another_account(stack: Stack) -> dict:
    """Beside the right permission, one that lets another account invoke the ingest alias."""
    name, _ = _invoke_statement(stack)
    aws(stack, "lambda").add_permission(
        FunctionName=name,
        Qualifier="live",
        StatementId=OTHER_ACCOUNT_SID,
        Action="lambda:InvokeFunction",
        Principal="999999999999",
    )
    return {"name": name, "extra": OTHER_ACCOUNT_SID}


EXECUTION_ROLE_STAND_IN = "slsops-test-stand-in-execution-role"


def read_function_on_another_role(stack: Stack) -> str:
    """The read function runs as a role that is not the contract's execution role."""
    iam, client = aws(stack, "iam"), aws(stack, "lambda")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(
        RoleName=EXECUTION_ROLE_STAND_IN, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    name = str(stack["read_function_name"])
    before = client.get_function_configuration(FunctionName=name)["Role"]
    client.update_function_configuration(FunctionName=name, Role=arn)
    return before


def read_function_role_back(stack: Stack, before: str) -> None:
    aws(stack, "lambda").update_function_configuration(
        FunctionName=str(stack["read_function_name"]), Role=before
    )
    aws(stack, "iam").delete_role(RoleName=EXECUTION_ROLE_STAND_IN)


def ok_actions_removed(stack: Stack) -> dict:
    """The API 5xx alarm still pages, but no longer says when it recovers."""
    saved = _api_5xx_alarm(stack)
    aws(stack, "cloudwatch").put_metric_alarm(**{**saved, "OKActions": []})
    return saved


def _topic(stack: Stack) -> str:
    return str(stack["alarm_topic_arn"])


def topic_policy_open_to_everyone(stack: Stack) -> str:
    """The alarm topic's policy lets anyone publish to it and subscribe to it."""
    sns = aws(stack, "sns")
    before = sns.get_topic_attributes(TopicArn=_topic(stack))["Attributes"]["Policy"]
    policy = json.loads(before)
    policy["Statement"].append(
        {
            "Sid": "slsops-test-everyone",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:Publish", "SNS:Subscribe"],
            "Resource": _topic(stack),
        }
    )
    sns.set_topic_attributes(
        TopicArn=_topic(stack), AttributeName="Policy", AttributeValue=json.dumps(policy)
    )
    return before


def topic_policy_back(stack: Stack, before: str) -> None:
    aws(stack, "sns").set_topic_attributes(
        TopicArn=_topic(stack), AttributeName="Policy", AttributeValue=before
    )


def topic_deleted(stack: Stack) -> dict:
    sns = aws(stack, "sns")
    attributes = sns.get_topic_attributes(TopicArn=_topic(stack))["Attributes"]
    tags = sns.list_tags_for_resource(ResourceArn=_topic(stack)).get("Tags", [])
    sns.delete_topic(TopicArn=_topic(stack))
    keep = ("KmsMasterKeyId", "Policy", "DisplayName")
    return {"attributes": {k: attributes[k] for k in keep if attributes.get(k)}, "tags": tags}


def topic_restored(stack: Stack, saved: dict) -> None:
    aws(stack, "sns").create_topic(
        Name=_topic(stack).rsplit(":", 1)[-1],
        Attributes=saved["attributes"],
        **({"Tags": saved["tags"]} if saved["tags"] else {}),
    )


def dashboard_deleted(stack: Stack) -> str:
    cloudwatch = aws(stack, "cloudwatch")
    name = str(stack["dashboard_name"])
    before = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
    cloudwatch.delete_dashboards(DashboardNames=[name])
    return before


def api_policy_open_to_everyone(stack: Stack) -> None:
    """The REST API gets a resource policy that lets any principal invoke it."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "slsops-test-everyone",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "*",
            }
        ],
    }
    aws(stack, "apigateway").update_rest_api(
        restApiId=str(stack["api_id"]),
        patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(policy)}],
    )


def api_policy_removed(stack: Stack, _saved: Any) -> None:
    aws(stack, "apigateway").update_rest_api(
        restApiId=str(stack["api_id"]),
        patchOperations=[{"op": "replace", "path": "/policy", "value": ""}],
    )
