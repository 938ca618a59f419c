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
from slsops.stack import Stack


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
    stack.client("dynamodb").update_continuous_backups(
        TableName=_table(stack),
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )


def pitr_on(stack: Stack, _saved: Any) -> None:
    stack.client("dynamodb").update_continuous_backups(
        TableName=_table(stack),
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def _method(stack: Stack, path: str, http_method: str) -> tuple[str, str]:
    client = stack.client("apigateway")
    api_id = str(stack["api_id"])
    items = client.get_resources(restApiId=api_id, limit=500)["items"]
    return api_id, next(i["id"] for i in items if i["path"] == path)


def _redeploy(stack: Stack) -> None:
    client = stack.client("apigateway")
    api_id = str(stack["api_id"])
    deployment = client.create_deployment(restApiId=api_id, description="slsops test")
    client.update_stage(
        restApiId=api_id,
        stageName=str(stack["stage_name"]),
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment["id"]}],
    )


def set_post_authorization(stack: Stack, value: str, redeploy: bool = True) -> None:
    """Re-put POST /logs with another authorization type, keep the rest, and redeploy.

    moto implements no UpdateMethod; PutMethod replaces the method (and drops its
    integration), so the method's other settings and its integration are put back as they were.
    """
    api_id, resource_id = _method(stack, "/logs", "POST")
    client = stack.client("apigateway")
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


def auth_none(stack: Stack) -> None:
    set_post_authorization(stack, "NONE")


def auth_none_not_deployed(stack: Stack) -> None:
    """The method changes but the stage still serves the old deployment (API-009 passes)."""
    set_post_authorization(stack, "NONE", redeploy=False)


def auth_iam_not_deployed(stack: Stack, _saved: Any) -> None:
    set_post_authorization(stack, "AWS_IAM", redeploy=False)


def auth_iam(stack: Stack, _saved: Any) -> None:
    set_post_authorization(stack, "AWS_IAM")


def memory(stack: Stack) -> int:
    name = str(stack["ingest_function_name"])
    client = stack.client("lambda")
    before = client.get_function_configuration(FunctionName=name)["MemorySize"]
    client.update_function_configuration(FunctionName=name, MemorySize=before + 256)
    return before


def memory_back(stack: Stack, before: int) -> None:
    stack.client("lambda").update_function_configuration(
        FunctionName=str(stack["ingest_function_name"]), MemorySize=before
    )


def retention(stack: Stack) -> int:
    group = f"/aws/lambda/{stack['read_function_name']}"
    logs = stack.client("logs")
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    logs.put_retention_policy(logGroupName=group, retentionInDays=14)
    return found["retentionInDays"]


def retention_back(stack: Stack, before: int) -> None:
    stack.client("logs").put_retention_policy(
        logGroupName=f"/aws/lambda/{stack['read_function_name']}", retentionInDays=before
    )


def rotation_off(stack: Stack) -> None:
    stack.client("kms").disable_key_rotation(KeyId=str(stack["kms_key_arn"]))


def rotation_on(stack: Stack, _saved: Any) -> None:
    stack.client("kms").enable_key_rotation(KeyId=str(stack["kms_key_arn"]))


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
    cloudwatch = stack.client("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    cloudwatch.delete_alarms(AlarmNames=[name])
    return {k: alarm[k] for k in ALARM_FIELDS if alarm.get(k) not in (None, [], "")}


def restore_alarm(stack: Stack, saved: dict) -> None:
    stack.client("cloudwatch").put_metric_alarm(**saved)


def _client_role_name(stack: Stack, key: str) -> str:
    return str(stack["roles"][key]["arn"]).rsplit("/", 1)[-1]


def trust_without_external_id(stack: Stack) -> Any:
    iam = stack.client("iam")
    name = _client_role_name(stack, "read")
    before = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    document = json.loads(json.dumps(before)) if isinstance(before, dict) else json.loads(before)
    for statement in document["Statement"]:
        statement.pop("Condition", None)
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))
    return before


def restore_trust(stack: Stack, before: Any) -> None:
    document = before if isinstance(before, str) else json.dumps(before)
    stack.client("iam").update_assume_role_policy(
        RoleName=_client_role_name(stack, "read"), PolicyDocument=document
    )


def revoke_invoke(stack: Stack, role: str) -> Any:
    """The client role loses its policy (execute-api:Invoke); returns the document."""
    iam = stack.client("iam")
    name = _client_role_name(stack, role)
    before = iam.get_role_policy(RoleName=name, PolicyName="least-privilege")["PolicyDocument"]
    iam.delete_role_policy(RoleName=name, PolicyName="least-privilege")
    return before


def restore_invoke(stack: Stack, role: str, before: Any) -> None:
    document = before if isinstance(before, str) else json.dumps(before)
    stack.client("iam").put_role_policy(
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
    config = stack.client("config")
    name = contract.names().config_rule("dynamodb_pitr")
    rule = config.describe_config_rules(ConfigRuleNames=[name])["ConfigRules"][0]
    config.delete_config_rule(ConfigRuleName=name)
    keep = ("ConfigRuleName", "Description", "Scope", "Source", "InputParameters")
    return {k: rule[k] for k in keep if rule.get(k)}


def restore_config_rule(stack: Stack, saved: dict) -> None:
    stack.client("config").put_config_rule(ConfigRule=saved)


def throttle(stack: Stack) -> None:
    patch_throttle(stack, "1")


def throttle_back(stack: Stack, _saved: Any) -> None:
    patch_throttle(stack, str(contract.STAGE.throttling_rate_limit))


def patch_throttle(stack: Stack, value: str) -> None:
    stack.client("apigateway").update_stage(
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
    stack.client("iam").put_role_policy(
        RoleName=_client_role_name(stack, "read"),
        PolicyName=EXTRA_POLICY,
        PolicyDocument=json.dumps(document),
    )


def revoke_read_put_item(stack: Stack, _saved: Any) -> None:
    stack.client("iam").delete_role_policy(
        RoleName=_client_role_name(stack, "read"), PolicyName=EXTRA_POLICY
    )


def widen_full_trust(stack: Stack) -> Any:
    """The full-access role trusts any AWS principal (the external id condition stays)."""
    iam = stack.client("iam")
    name = _client_role_name(stack, "full")
    before = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    document = json.loads(before) if isinstance(before, str) else json.loads(json.dumps(before))
    for statement in document["Statement"]:
        statement["Principal"] = {"AWS": "*"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))
    return before


def restore_full_trust(stack: Stack, before: Any) -> None:
    document = before if isinstance(before, str) else json.dumps(before)
    stack.client("iam").update_assume_role_policy(
        RoleName=_client_role_name(stack, "full"), PolicyDocument=document
    )


def _execution_role_name(stack: Stack, function_output: str) -> str:
    config = stack.client("lambda").get_function_configuration(
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
    stack.client("iam").put_role_policy(
        RoleName=name, PolicyName=EXTRA_POLICY, PolicyDocument=json.dumps(document)
    )
    return name


def revoke_read_function_delete_item(stack: Stack, name: str) -> None:
    stack.client("iam").delete_role_policy(RoleName=name, PolicyName=EXTRA_POLICY)


def deletion_protection_off(stack: Stack) -> None:
    stack.client("dynamodb").update_table(TableName=_table(stack), DeletionProtectionEnabled=False)


def deletion_protection_on(stack: Stack, _saved: Any) -> None:
    stack.client("dynamodb").update_table(TableName=_table(stack), DeletionProtectionEnabled=True)


def alarm_threshold_raised(stack: Stack) -> dict:
    """The API 5xx alarm fires only at 10x its threshold (put back from its description)."""
    name = contract.names().alarm("api_5xx")
    cloudwatch = stack.client("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    saved = {k: alarm[k] for k in ALARM_FIELDS if alarm.get(k) not in (None, [], "")}
    cloudwatch.put_metric_alarm(**{**saved, "Threshold": saved["Threshold"] * 10})
    return saved


def access_log_retention(stack: Stack) -> int:
    group = contract.names().api_access_log_group
    logs = stack.client("logs")
    before = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    return before


def access_log_retention_back(stack: Stack, before: int) -> None:
    stack.client("logs").put_retention_policy(
        logGroupName=contract.names().api_access_log_group, retentionInDays=before
    )


def reserved_concurrency(stack: Stack) -> int:
    name = str(stack["read_function_name"])
    client = stack.client("lambda")
    before = client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"]
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    return before


def reserved_concurrency_back(stack: Stack, before: int) -> None:
    stack.client("lambda").put_function_concurrency(
        FunctionName=str(stack["read_function_name"]), ReservedConcurrentExecutions=before
    )


def ttl_off(stack: Stack) -> None:
    stack.client("dynamodb").update_time_to_live(
        TableName=_table(stack),
        TimeToLiveSpecification={"Enabled": False, "AttributeName": str(stack["ttl_attribute"])},
    )


def ttl_on(stack: Stack, _saved: Any) -> None:
    stack.client("dynamodb").update_time_to_live(
        TableName=_table(stack),
        TimeToLiveSpecification={"Enabled": True, "AttributeName": str(stack["ttl_attribute"])},
    )


def environment_changed(stack: Stack) -> dict:
    """The read function logs at DEBUG (an environment value that differs from the contract)."""
    name = str(stack["read_function_name"])
    client = stack.client("lambda")
    before = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**before, "POWERTOOLS_LOG_LEVEL": "DEBUG"}}
    )
    return before


def environment_back(stack: Stack, before: dict) -> None:
    stack.client("lambda").update_function_configuration(
        FunctionName=str(stack["read_function_name"]), Environment={"Variables": before}
    )


def long_sessions(stack: Stack) -> int:
    iam = stack.client("iam")
    name = _client_role_name(stack, "ingest")
    before = iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"]
    iam.update_role(RoleName=name, MaxSessionDuration=43200)
    return before


def long_sessions_back(stack: Stack, before: int) -> None:
    stack.client("iam").update_role(
        RoleName=_client_role_name(stack, "ingest"), MaxSessionDuration=before
    )
