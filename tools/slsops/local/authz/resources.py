"""The resource ARNs (and request condition keys) IAM authorises an operation against.

AWS's Service Authorization Reference lists, per action, the resource types it checks. This
module derives them from the parameters moto parsed, for the services the project deploys
(STS, IAM, DynamoDB, KMS, Lambda, API Gateway, CloudWatch, Logs, SNS, Config, S3). An action that
names no resource (List*, Describe* without a name, CreateKey) is authorised against ``*``, as
on AWS. Several ARNs (a batch write over two tables) must each be allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.iam.models import iam_backends
from moto.kms.models import kms_backends

from slsops.local.authz.moto_call import MotoCall

Derived = tuple[list[str], dict[str, Any]]


def _iam_name_arn(call: MotoCall, account: str) -> list[str]:
    kinds = (
        ("RoleName", "role"),
        ("UserName", "user"),
        ("GroupName", "group"),
        ("InstanceProfileName", "instance-profile"),
    )
    for param, kind in kinds:
        name = call.param(param)
        if name:
            return [_iam_arn(account, kind, str(name))]
    for param in ("PolicyArn", "OpenIDConnectProviderArn", "SAMLProviderArn", "PolicySourceArn"):
        value = call.param(param)
        if value:
            return [str(value)]
    url = call.param("Url")
    if url and call.operation == "CreateOpenIDConnectProvider":
        host = str(url).split("://", 1)[-1]
        return [f"arn:aws:iam::{account}:oidc-provider/{host}"]
    name = call.param("PolicyName")
    if name and call.operation == "CreatePolicy":
        path = call.param("Path") or "/"
        return [f"arn:aws:iam::{account}:policy{path}{name}"]
    return ["*"]


def _iam_arn(account: str, kind: str, name: str) -> str:
    """The entity's ARN with its real path when it exists (AWS authorises the path too)."""
    backend = dict.get(dict.get(iam_backends, account) or {}, "aws")
    if backend is not None:
        table = {"role": "roles", "user": "users", "group": "groups"}.get(kind)
        entities = getattr(backend, table, {}) if table else {}
        for entity in list(entities.values()):
            if getattr(entity, "name", None) == name:
                return str(entity.arn)
    return f"arn:aws:iam::{account}:{kind}/{name}"


def _iam(call: MotoCall, region: str, account: str) -> Derived:
    context: dict[str, Any] = {}
    policy_arn = call.param("PolicyArn")
    if policy_arn and call.operation in ("AttachRolePolicy", "DetachRolePolicy"):
        context["iam:PolicyARN"] = str(policy_arn)
        role = call.param("RoleName")
        return [_iam_arn(account, "role", str(role))] if role else ["*"], context
    return _iam_name_arn(call, account), context


def _sts(call: MotoCall, region: str, account: str) -> Derived:
    role = call.param("RoleArn")
    return ([str(role)] if role else ["*"]), {}


def _table_arn(region: str, account: str, name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"


def _dynamodb(call: MotoCall, region: str, account: str) -> Derived:
    arns: list[str] = []
    for param in ("ResourceArn", "BackupArn", "TableArn", "SourceTableArn", "ExportArn"):
        value = call.param(param)
        if value:
            arns.append(str(value))
    name = call.param("TableName") or call.param("SourceTableName")
    if name:
        table = _table_arn(region, account, str(name))
        index = call.param("IndexName")
        arns.append(
            f"{table}/index/{index}" if index and call.operation in ("Query", "Scan") else table
        )
    items = call.param("RequestItems")
    if isinstance(items, dict):
        arns.extend(_table_arn(region, account, str(table)) for table in items)
    for entry in call.param("TransactItems") or []:
        if isinstance(entry, dict):
            for inner in entry.values():
                if isinstance(inner, dict) and inner.get("TableName"):
                    arns.append(_table_arn(region, account, str(inner["TableName"])))
    return (sorted(set(arns)) or ["*"]), {}


def _kms_key(region: str, account: str, key_id: str) -> tuple[str, list[str], dict[str, str]]:
    """The key's ARN, its aliases and tags (kms:ResourceAliases, aws:ResourceTag/...)."""
    backend = dict.get(dict.get(kms_backends, account) or {}, region)
    if backend is None:
        return f"arn:aws:kms:{region}:{account}:key/{key_id}", [], {}
    try:
        key = backend.describe_key(key_id)
    except Exception:
        return f"arn:aws:kms:{region}:{account}:key/{key_id}", [], {}
    aliases = list(getattr(key, "aliases", {}))
    try:
        tags = {t["TagKey"]: t["TagValue"] for t in backend.list_resource_tags(key.id)["Tags"]}
    except Exception:
        tags = {}
    return str(key.arn), aliases, tags


def _kms(call: MotoCall, region: str, account: str) -> Derived:
    context: dict[str, Any] = {}
    key_id = call.param("KeyId") or call.param("TargetKeyId")
    arns: list[str] = []
    if key_id:
        arn, aliases, tags = _kms_key(region, account, str(key_id))
        arns.append(arn)
        context["kms:ResourceAliases"] = aliases
        for tag, value in tags.items():
            context[f"aws:ResourceTag/{tag}"] = value
    alias = call.param("AliasName")
    if alias:
        arns.append(f"arn:aws:kms:{region}:{account}:{alias}")
    for tag in call.param("Tags") or []:
        if isinstance(tag, dict) and "TagKey" in tag:
            context[f"aws:RequestTag/{tag['TagKey']}"] = tag.get("TagValue", "")
    return (arns or ["*"]), context


def _lambda(call: MotoCall, region: str, account: str) -> Derived:
    name = call.param("FunctionName") or call.uri_param("function_name")
    if not name:
        return ["*"], {}
    name = str(name)
    base = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
    qualifier = call.param("Qualifier") or call.param("Name")
    if qualifier and call.operation in ("GetAlias", "UpdateAlias", "DeleteAlias"):
        return [f"{base}:{qualifier}"], {}
    return [base], {}


def _apigateway(call: MotoCall, region: str, account: str) -> Derived:
    return [f"arn:aws:apigateway:{region}::{call.path}"], {}


def _cloudwatch(call: MotoCall, region: str, account: str) -> Derived:
    names = call.param("AlarmNames") or (
        [call.param("AlarmName")] if call.param("AlarmName") else []
    )
    if names:
        return [f"arn:aws:cloudwatch:{region}:{account}:alarm:{n}" for n in names], {}
    dashboards = call.param("DashboardNames") or (
        [call.param("DashboardName")] if call.param("DashboardName") else []
    )
    if dashboards:
        return [f"arn:aws:cloudwatch::{account}:dashboard/{n}" for n in dashboards], {}
    arn = call.param("ResourceARN")
    return ([str(arn)] if arn else ["*"]), {}


def _logs(call: MotoCall, region: str, account: str) -> Derived:
    group = call.param("logGroupName")
    if group:
        return [f"arn:aws:logs:{region}:{account}:log-group:{group}:*"], {}
    arn = call.param("resourceArn") or call.param("logGroupIdentifier")
    if arn and str(arn).startswith("arn:"):
        return [str(arn)], {}
    return [f"arn:aws:logs:{region}:{account}:log-group:*"], {}


def _s3(call: MotoCall, region: str, account: str) -> Derived:
    """Path-style requests (the local endpoint is an IP): ``/bucket`` or ``/bucket/key``."""
    bucket, _, key = call.path.lstrip("/").partition("/")
    if not bucket:
        return ["*"], {}  # ListBuckets
    return ([f"arn:aws:s3:::{bucket}/{key}"] if key else [f"arn:aws:s3:::{bucket}"]), {}


def _sns(call: MotoCall, region: str, account: str) -> Derived:
    arn = call.param("TopicArn") or call.param("ResourceArn")
    if arn:
        return [str(arn)], {}
    name = call.param("Name")
    if name and call.operation == "CreateTopic":
        return [f"arn:aws:sns:{region}:{account}:{name}"], {}
    return ["*"], {}


_BY_SERVICE: dict[str, Callable[[MotoCall, str, str], Derived]] = {
    "iam": _iam,
    "sts": _sts,
    "dynamodb": _dynamodb,
    "kms": _kms,
    "lambda": _lambda,
    "apigateway": _apigateway,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
    "sns": _sns,
    "s3": _s3,
}


# A restore writes a new table: AWS authorises the restore action on the source (table or
# backup) and these data actions on the target table.
RESTORE_TARGET_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
_RESTORES = ("RestoreTableToPointInTime", "RestoreTableFromBackup")


def implied_requirements(call: MotoCall, region: str, account: str) -> list[tuple[str, str]]:
    """(action, resource) pairs AWS also authorises for this call beyond its own action."""
    if call.botocore_service != "dynamodb" or call.operation not in _RESTORES:
        return []
    target = call.param("TargetTableName")
    if not target:
        return []
    arn = _table_arn(region, account, str(target))
    return [(action, arn) for action in RESTORE_TARGET_ACTIONS]


def derive(call: MotoCall, region: str, account: str) -> Derived:
    """(resource ARNs, extra request context) for one parsed call."""
    handler = _BY_SERVICE.get(call.botocore_service)
    if handler is None:
        return ["*"], {}
    try:
        return handler(call, region, account)
    except Exception:
        return ["*"], {}
