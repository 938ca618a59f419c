"""The operator policies in tools/slsops/policies/, checked with the project's IAM evaluator.

For each command: every action it calls is allowed on the resources it calls it on (concrete
ARNs of a default deployment), the source table can never be written, changed or deleted, and
verify/audit/roles are read-only. The AWS calls of ``slsops verify`` and ``slsops roles`` are
read from their source, so a new call without a policy line fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from slsops import contract
from slsops.iam.evaluator import evaluate

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "tools" / "slsops" / "policies"
REGION, ACCOUNT = "eu-west-1", "123456789012"
N = contract.names()

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{N.table}"
INDEX = f"{TABLE}/index/{contract.TABLE.index_name}"
DRILL = f"{TABLE}-drill-20260101T000000Z"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_CONTEXT = {"kms:ResourceAliases": [N.kms_alias]}
VIA_DYNAMODB = {**KEY_CONTEXT, "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
ROLES = {k: f"arn:aws:iam::{ACCOUNT}:role/{N.client_role(k)}" for k in contract.CLIENT_ROLES}
API = f"arn:aws:apigateway:{REGION}::/restapis/a1b2c3d4e5"


def function_arn(key: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{N.function(key)}"


def load(command: str) -> dict:
    return json.loads((POLICIES / f"operator-{command}.json").read_text(encoding="utf-8"))


# What each command calls: (IAM action, resource, request context).
NEEDS: dict[str, list[tuple[str, str, dict]]] = {
    "verify": [
        ("apigateway:GET", API, {}),
        ("apigateway:GET", f"{API}/resources", {}),
        ("apigateway:GET", f"{API}/resources/abc123/methods/POST", {}),
        ("apigateway:GET", f"{API}/stages/{N.environment}", {}),
        ("apigateway:GET", f"{API}/stages", {}),
        ("apigateway:GET", f"{API}/deployments/dep123", {}),
        ("apigateway:GET", f"{API}/requestvalidators/val123", {}),
        *[
            (action, arn, {})
            for key in contract.FUNCTIONS
            for action, arn in (
                ("lambda:GetFunctionConfiguration", function_arn(key)),
                ("lambda:GetFunctionConcurrency", function_arn(key)),
                ("lambda:GetAlias", f"{function_arn(key)}:{contract.FUNCTIONS[key].alias}"),
                ("lambda:GetPolicy", f"{function_arn(key)}:{contract.FUNCTIONS[key].alias}"),
                ("lambda:ListAliases", function_arn(key)),
                ("lambda:GetFunctionUrlConfig", function_arn(key)),
                (
                    "lambda:GetFunctionUrlConfig",
                    f"{function_arn(key)}:{contract.FUNCTIONS[key].alias}",
                ),
            )
        ],
        ("logs:DescribeLogGroups", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*", {}),
        (
            "logs:DescribeSubscriptionFilters",
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{N.function('ingest')}",
            {},
        ),
        ("dynamodb:DescribeTable", TABLE, {}),
        ("dynamodb:DescribeTimeToLive", TABLE, {}),
        ("dynamodb:DescribeContinuousBackups", TABLE, {}),
        ("dynamodb:DescribeContributorInsights", TABLE, {}),
        ("dynamodb:GetResourcePolicy", TABLE, {}),
        ("kms:DescribeKey", KEY, KEY_CONTEXT),
        ("kms:GetKeyRotationStatus", KEY, KEY_CONTEXT),
        ("kms:GetKeyPolicy", KEY, KEY_CONTEXT),
        ("kms:ListGrants", KEY, KEY_CONTEXT),
        ("kms:ListAliases", "*", {}),
        *[("iam:GetRole", arn, {}) for arn in ROLES.values()],
        *[
            (action, f"arn:aws:iam::{ACCOUNT}:role/{N.execution_role(key)}", {})
            for key in contract.FUNCTIONS
            for action in (
                "iam:ListRolePolicies",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
            )
        ],
        ("iam:GetPolicy", f"arn:aws:iam::{ACCOUNT}:policy/extra", {}),
        ("iam:GetPolicyVersion", "arn:aws:iam::aws:policy/ReadOnlyAccess", {}),
        *[
            ("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{a}", {})
            for a in contract.alarm_names(N)
        ],
        ("cloudwatch:GetDashboard", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{N.dashboard}", {}),
        ("sns:GetTopicAttributes", f"arn:aws:sns:{REGION}:{ACCOUNT}:{N.alarm_topic}", {}),
        ("sns:ListSubscriptionsByTopic", f"arn:aws:sns:{REGION}:{ACCOUNT}:{N.alarm_topic}", {}),
        ("config:DescribeConfigRules", "*", {}),
        ("config:DescribeConfigurationRecorderStatus", "*", {}),
        ("sts:AssumeRole", ROLES["ingest"], {}),
        ("sts:AssumeRole", ROLES["read"], {}),
    ],
    "roles": [
        *[("sts:AssumeRole", arn, {}) for arn in ROLES.values()],
        *[("iam:GetRole", arn, {}) for arn in ROLES.values()],
        *[("iam:SimulatePrincipalPolicy", arn, {}) for arn in ROLES.values()],
        # Where simulation is unavailable (the local stack) ROLE-020..022 read the policies.
        *[
            (action, arn, {})
            for arn in ROLES.values()
            for action in (
                "iam:ListRolePolicies",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
            )
        ],
        ("iam:GetPolicy", f"arn:aws:iam::{ACCOUNT}:policy/client-extra", {}),
        ("iam:GetPolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/client-extra", {}),
    ],
    "audit": [
        ("dynamodb:Scan", TABLE, {}),
        ("dynamodb:Scan", INDEX, {}),
        ("dynamodb:Query", TABLE, {}),
        ("dynamodb:Query", INDEX, {}),
        ("dynamodb:DescribeTable", TABLE, {}),
        ("dynamodb:DescribeTimeToLive", TABLE, {}),
        ("dynamodb:DescribeContinuousBackups", TABLE, {}),
        ("kms:Decrypt", KEY, VIA_DYNAMODB),
        *[("lambda:GetFunctionConfiguration", function_arn(k), {}) for k in contract.FUNCTIONS],
    ],
    "drill": [
        ("dynamodb:DescribeTable", TABLE, {}),
        ("dynamodb:DescribeContinuousBackups", TABLE, {}),
        ("dynamodb:DescribeTimeToLive", TABLE, {}),
        ("dynamodb:ListTagsOfResource", TABLE, {}),
        ("dynamodb:Scan", TABLE, {}),
        ("dynamodb:RestoreTableToPointInTime", TABLE, {}),
        ("dynamodb:CreateBackup", TABLE, {}),
        ("dynamodb:RestoreTableFromBackup", f"{TABLE}/backup/01234567890123-abcdefgh", {}),
        ("dynamodb:DeleteBackup", f"{TABLE}/backup/01234567890123-abcdefgh", {}),
        ("dynamodb:PutItem", DRILL, {}),
        ("dynamodb:BatchWriteItem", DRILL, {}),
        ("dynamodb:Scan", DRILL, {}),
        ("dynamodb:Query", f"{DRILL}/index/{contract.TABLE.index_name}", {}),
        ("dynamodb:DescribeTable", DRILL, {}),
        ("dynamodb:DeleteTable", DRILL, {}),
        ("dynamodb:TagResource", DRILL, {}),
        ("dynamodb:DescribeTimeToLive", DRILL, {}),
        ("dynamodb:ListTagsOfResource", DRILL, {}),
        ("dynamodb:DescribeBackup", f"{TABLE}/backup/01234567890123-abcdefgh", {}),
        ("dynamodb:ListTables", "*", {}),
        ("dynamodb:ListBackups", "*", {}),
        ("kms:CreateGrant", KEY, VIA_DYNAMODB),
        ("kms:Decrypt", KEY, VIA_DYNAMODB),
    ],
}

SOURCE_WRITES = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:RestoreTableToPointInTime",
]
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Scan", "Query", "Decrypt", "Simulate")


@pytest.mark.parametrize("command", sorted(NEEDS))
def test_every_needed_call_is_allowed(command: str) -> None:
    policy = load(command)
    denied = [
        f"{action} on {resource}: {decision.reason}"
        for action, resource, context in NEEDS[command]
        if not (decision := evaluate(policy, action, resource, context)).allowed
    ]
    assert denied == []


@pytest.mark.parametrize("command", sorted(NEEDS))
def test_source_table_cannot_be_changed(command: str) -> None:
    policy = load(command)
    writes = SOURCE_WRITES if command != "drill" else SOURCE_WRITES[:-1]
    allowed = [a for a in writes if evaluate(policy, a, TABLE).allowed]
    allowed += [a for a in writes if evaluate(policy, a, INDEX).allowed]
    assert allowed == []


def test_drill_restores_only_into_drill_tables() -> None:
    policy = load("drill")
    other = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/payments"
    assert not evaluate(policy, "dynamodb:DeleteTable", other).allowed
    assert not evaluate(policy, "dynamodb:PutItem", other).allowed
    assert evaluate(policy, "dynamodb:DeleteTable", DRILL).allowed


def test_key_use_is_limited_to_dynamodb_and_the_project_key() -> None:
    for command in ("audit", "drill"):
        policy = load(command)
        assert not evaluate(policy, "kms:Decrypt", KEY, KEY_CONTEXT).allowed  # not via DynamoDB
        other_key = {"kms:ResourceAliases": ["alias/other"], "kms:ViaService": "dynamodb.x"}
        assert not evaluate(policy, "kms:Decrypt", KEY, other_key).allowed


# `audit --from-export` starts a table export and has DynamoDB write it to the audit bucket:
# writes, but to the audit's own bucket only, never to the deployment.
EXPORT_WRITES = {
    "dynamodb:ExportTableToPointInTime",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:AbortMultipartUpload",
}


@pytest.mark.parametrize("command", ["verify", "audit", "roles"])
def test_read_only_commands_hold_no_write_action(command: str) -> None:
    writes = []
    for statement in load(command)["Statement"]:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            if action in ("apigateway:GET", "sts:AssumeRole"):
                continue
            if action.split(":", 1)[1].startswith(READ_ONLY_PREFIXES):
                continue
            if command == "audit" and action in EXPORT_WRITES:
                resources = statement["Resource"]
                assert all(
                    r.endswith(("-audit-exports", "-audit-exports/*", "-logs-prod", "/export/*"))
                    for r in ([resources] if isinstance(resources, str) else resources)
                ), statement
                continue
            writes.append(action)
    assert writes == []


def test_role_switching_is_limited_to_the_client_roles() -> None:
    other = f"arn:aws:iam::{ACCOUNT}:role/admin"
    for command in ("verify", "roles"):
        assert not evaluate(load(command), "sts:AssumeRole", other).allowed
    assert not evaluate(load("verify"), "sts:AssumeRole", ROLES["full"]).allowed


# ------------------------------------------------------------------ calls read from the code

_CAMEL = re.compile(r"_([a-z])")
_CALL = re.compile(r"\b(?:ctx|c)\.call\(\s*\"(\w+)\",\s*\"(\w+)\"")
# Paginated calls on the context's client: ``ctx.client("<service>").get_paginator("<op>")``.
_CONTEXT_PAGINATOR = re.compile(r"\bctx\.client\(\s*\"(\w+)\"\s*\)\.get_paginator\(\s*\"(\w+)\"")
# Direct client calls: ``<var>.<operation>(`` and ``<var>.get_paginator("<operation>")``.
_DIRECT = re.compile(r"\b(\w+)\.(?:get_paginator\(\s*\"(\w+)\"|(\w+)\()")
# Which AWS service each client variable holds, per module (``client`` differs by module).
CLIENT_VARIABLES = {
    "checks/cloudwatch.py": {"client": "cloudwatch"},
    "checks/config_rules.py": {"client": "config"},
    "checks/iam_roles.py": {"iam": "iam"},
}
IAM_SERVICE = {
    "apigateway": "apigateway",
    "lambda": "lambda",
    "logs": "logs",
    "dynamodb": "dynamodb",
    "kms": "kms",
    "iam": "iam",
    "cloudwatch": "cloudwatch",
    "sns": "sns",
    "config": "config",
    "sts": "sts",
}


def _iam_action(service: str, operation: str) -> str:
    if service == "apigateway":
        return "apigateway:GET"
    camel = _CAMEL.sub(lambda m: m.group(1).upper(), operation)
    return f"{IAM_SERVICE[service]}:{camel[0].upper()}{camel[1:]}"


def _called(modules: list[str]) -> set[str]:
    found: set[str] = set()
    for name in modules:
        text = (ROOT / "tools" / "slsops" / name).read_text(encoding="utf-8")
        found |= {_iam_action(s, op) for s, op in _CALL.findall(text)}
        found |= {_iam_action(s, op) for s, op in _CONTEXT_PAGINATOR.findall(text)}
        variables = CLIENT_VARIABLES.get(name, {})
        for var, paginated, operation in _DIRECT.findall(text):
            op = paginated or operation
            if var in variables and op not in ("get_paginator", "paginate"):
                found.add(_iam_action(variables[var], op))
    return found


def _policy_actions(command: str) -> set[str]:
    return {
        action
        for statement in load(command)["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }


def test_verify_policy_covers_every_call_in_the_checks() -> None:
    modules = [
        f"checks/{m}.py"
        for m in (
            "api",
            "functions",
            "function_versions",
            "function_permissions",
            "dynamodb",
            "kms",
            "iam_roles",
            "cloudwatch",
            "config_rules",
            "e2e",
        )
    ]
    called = _called(modules) | {"sts:AssumeRole"}  # api_client.assume_role (E2E)
    assert {
        "cloudwatch:DescribeAlarms",
        "config:DescribeConfigRules",
        "iam:GetRolePolicy",
        "lambda:ListAliases",
        "kms:ListGrants",
    } <= called, "the patterns no longer match the code"
    assert called - _policy_actions("verify") == set()
    needed = {action for action, _, _ in NEEDS["verify"]}
    assert called - needed == set(), "add the new call with its resource to NEEDS"


def test_roles_policy_covers_the_aws_path() -> None:
    text = (ROOT / "tools" / "slsops" / "checks" / "roles.py").read_text(encoding="utf-8")
    assert "simulate_principal_policy" in text
    assert _policy_actions("roles") >= {
        "sts:AssumeRole",
        "iam:GetRole",
        "iam:SimulatePrincipalPolicy",
    }


_AUDIT_DRILL_CALL = re.compile(r"(?:\bclient|\bstack\.client\(\"(\w+)\"\))\.([a-z_]+)\(")


def _calls_in(paths: list[Path]) -> set[str]:
    """IAM actions of ``client.<op>(`` (a DynamoDB client) and ``stack.client("svc").<op>(``."""
    found: set[str] = set()
    for path in paths:
        for service, operation in _AUDIT_DRILL_CALL.findall(path.read_text(encoding="utf-8")):
            if operation not in ("get_paginator", "exceptions", "close"):
                found.add(_iam_action(service or "dynamodb", operation))
    return found


@pytest.mark.parametrize("command", ["audit", "drill"])
def test_audit_and_drill_policies_cover_their_code(command: str) -> None:
    tools = ROOT / "tools" / "slsops"
    paths = [*(tools / command).glob("*.py"), tools / "commands" / f"{command}.py"]
    paths += [tools / "checks" / f"{command}.py"]
    if not all(p.exists() for p in paths[-2:]):
        pytest.skip(f"slsops {command} is not in this checkout")
    called = _calls_in([p for p in paths if p.exists()])
    assert called, "no calls found: the pattern no longer matches the code"
    assert called - _policy_actions(command) == set()
