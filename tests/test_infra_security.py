"""One test per security property of infra/*.tf; each fails when its property is removed.

Read with python-hcl2 (tests/infra_hcl.py); no terraform binary needed.
"""

from __future__ import annotations

import json
import re

import pytest
from infra_hcl import Infra, comments, load_infra, statements

from slsops import contract

KMS_REF = "${aws_kms_key.main.arn}"
TOPIC_REF = "${aws_sns_topic.alarms.arn}"


@pytest.fixture(scope="module")
def infra() -> Infra:
    return load_infra()


def _actions(infra: Infra, statement: dict) -> list[str]:
    """A statement's actions, with local.client_roles / function_dynamodb lists expanded."""
    actions = statement.get("actions", [])
    if isinstance(actions, str):
        if "each.value.dynamodb_actions" in actions:
            roles = infra.resolve(infra.locals["client_roles"])
            return [a for role in roles.values() for a in role["dynamodb_actions"]]
        if "local.function_dynamodb" in actions:
            granted = infra.resolve(infra.locals["function_dynamodb"])
            return [a for fn in granted.values() for a in fn["actions"]]
        raise AssertionError(f"unexpected actions expression {actions}")
    return actions


def test_client_roles_grant_no_wildcard_actions_or_resources(infra: Infra) -> None:
    document = infra.policy_document("client")
    found = statements(document)
    assert found, "client policy has no statements"
    for statement in found:
        actions = _actions(infra, statement)
        assert actions, statement
        assert not [a for a in actions if "*" in a], actions
        resources = statement["resources"]
        resources = [resources] if isinstance(resources, str) else resources
        assert "*" not in resources
    assert infra.resource("aws_iam_role_policy", "client")["policy"] == (
        "${data.aws_iam_policy_document.client[each.key].json}"
    )
    roles = infra.resolve(infra.locals["client_roles"])
    for role in roles.values():
        for method in role["api_methods"]:
            assert "*" not in method


def test_client_roles_have_no_managed_policies_attached(infra: Infra) -> None:
    for name, attachment in infra.resources_of("aws_iam_role_policy_attachment").items():
        assert "aws_iam_role.client" not in json.dumps(attachment), name


def test_client_trust_requires_external_id(infra: Infra) -> None:
    found = statements(infra.policy_document("client_trust"))
    assert found
    for statement in found:
        conditions = statement.get("condition", [])
        assert any(
            c["test"] == "StringEquals"
            and c["variable"] == "sts:ExternalId"
            and c["values"] == ["${var.external_ids[each.key]}"]
            for c in conditions
        ), statement
    assert "default" not in infra.variables["external_ids"]
    role = infra.resource("aws_iam_role", "client")
    assert (
        role["assume_role_policy"] == "${data.aws_iam_policy_document.client_trust[each.key].json}"
    )


def test_client_trust_admits_only_the_configured_principals(infra: Infra) -> None:
    for statement in statements(infra.policy_document("client_trust")):
        principals = statement["principals"]
        assert [(p["type"], p["identifiers"]) for p in principals] == [
            ("AWS", "${local.trusted_principal_arns}")
        ]
        text = json.dumps(statement)
        for forbidden in contract.TRUST.forbidden_principals:
            assert f'"{forbidden}"' not in text
    assert "default" not in infra.variables["trusted_principal_arns"]
    # Configured principals, plus only the GitHub deploy role (the post-deploy gate).
    assert infra.locals["trusted_principal_arns"] == (
        "${concat(var.trusted_principal_arns, "
        '[for key, role in aws_iam_role.github : role.arn if key == "deploy"])}'
    )


def test_trusted_principal_validation_refuses_everyone(infra: Infra) -> None:
    """The variable's own regex (taken from variables.tf) refuses '*', roots and services."""
    conditions = " ".join(
        v["condition"] for v in infra.variables["trusted_principal_arns"]["validation"]
    )
    match = re.search(r'regex\("(?P<pattern>[^"]+)"', conditions)
    assert match, conditions
    pattern = re.compile(match.group("pattern").replace("\\\\", "\\"))
    assert pattern.match("arn:aws:iam::123456789012:user/alice")
    assert pattern.match("arn:aws:iam::123456789012:role/ci/deployer")
    for refused in (
        "*",
        "arn:aws:iam::123456789012:root",
        "123456789012",
        "lambda.amazonaws.com",
        "arn:aws:iam::*:role/x",
    ):
        assert not pattern.match(refused), refused


def test_every_log_group_is_encrypted_and_retained(infra: Infra) -> None:
    groups = infra.resources_of("aws_cloudwatch_log_group")
    assert set(groups) >= {"function", "api_access"}
    assert groups["function"]["for_each"] == "${local.functions}"
    for name, group in groups.items():
        assert group.get("kms_key_id") == KMS_REF, name
        retention = infra.resolve(group.get("retention_in_days"))
        assert isinstance(retention, int) and retention > 0, name


def test_every_alarm_notifies_the_topic_and_links_its_runbook(infra: Infra) -> None:
    alarms = infra.resources_of("aws_cloudwatch_metric_alarm")
    assert set(alarms) == {"lambda_error_rate", "dynamodb_throttles", "api_5xx"}
    runbooks = {spec.runbook for spec in contract.ALARMS.values()}
    for name, alarm in alarms.items():
        assert alarm.get("alarm_actions") == [TOPIC_REF], name
        links = re.findall(
            r"\$\{var\.runbook_base_url\}/([a-z0-9-]+\.md)", alarm["alarm_description"]
        )
        assert len(links) == 1 and links[0] in runbooks, (name, links)


def test_alarm_topic_is_encrypted_with_the_cmk(infra: Infra) -> None:
    assert infra.resource("aws_sns_topic", "alarms").get("kms_master_key_id") == KMS_REF


def test_table_has_cmk_encryption_pitr_and_deletion_protection(infra: Infra) -> None:
    table = infra.resource("aws_dynamodb_table", "logs")
    sse = table["server_side_encryption"][0]
    assert sse["enabled"] is True and sse["kms_key_arn"] == KMS_REF
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["deletion_protection_enabled"] == "${var.enable_deletion_protection}"
    assert infra.default("enable_deletion_protection") is True


def test_function_environment_is_encrypted_with_the_cmk(infra: Infra) -> None:
    assert infra.resource("aws_lambda_function", "fn").get("kms_key_arn") == KMS_REF


def test_execution_roles_have_no_wildcards_except_xray(infra: Infra) -> None:
    for statement in statements(infra.policy_document("lambda_exec")):
        actions = _actions(infra, statement)
        assert not [a for a in actions if "*" in a], actions
        if statement["resources"] == ["*"]:
            assert all(a.startswith("xray:") for a in actions), statement


def test_execution_trust_is_lambda_of_this_account_only(infra: Infra) -> None:
    statement = statements(infra.policy_document("lambda_trust"))[0]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]
    assert statement["condition"][0]["variable"] == "aws:SourceAccount"


def test_kms_key_policy_admits_no_anonymous_principal(infra: Infra) -> None:
    for statement in statements(infra.policy_document("kms")):
        for principal in statement["principals"]:
            identifiers = principal["identifiers"]
            identifiers = [identifiers] if isinstance(identifiers, str) else identifiers
            assert "*" not in identifiers, statement["sid"]
        if statement["sid"] == "StackRolesUseKeyThroughDynamoDB":
            variables = {c["variable"] for c in statement["condition"]}
            assert "kms:ViaService" in variables


def test_kms_key_rotates(infra: Infra) -> None:
    assert infra.resource("aws_kms_key", "main")["enable_key_rotation"] is True


def test_lambda_permissions_are_scoped_to_api_method_and_alias(infra: Infra) -> None:
    permission = infra.resource("aws_lambda_permission", "api")
    assert permission["source_arn"].startswith("${aws_api_gateway_rest_api.api.execution_arn}/")
    assert "*" not in permission["source_arn"]
    assert permission["qualifier"] == "${aws_lambda_alias.live[each.value.function].name}"


def test_infra_names_no_endpoints_or_credentials(infra: Infra) -> None:
    """The local stack adds those in *_override.tf copies; infra/ itself targets AWS."""
    for name, text in infra.texts.items():
        code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        for forbidden in ("endpoints", "127.0.0.1", "localhost", "access_key", "secret_key"):
            assert forbidden not in code, (name, forbidden)


def test_no_administrator_access_anywhere(infra: Infra) -> None:
    for name, text in infra.texts.items():
        assert "AdministratorAccess" not in text, name


def test_github_roles_have_no_wildcard_actions(infra: Infra) -> None:
    for name in ("github_read", "github_deploy"):
        for statement in statements(infra.policy_document(name)):
            assert statement["actions"], statement
            assert not [a for a in statement["actions"] if a == "*" or a.endswith(":*")], name


def test_github_roles_trust_only_this_repository(infra: Infra) -> None:
    trust = infra.policy_document("github_trust")
    assert "var.github_repository" in trust["for_each"]
    statement = statements(trust)[0]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    variables = {c["variable"]: c for c in statement["condition"]}
    assert variables["token.actions.githubusercontent.com:sub"]["test"] == "StringEquals"
    assert variables["token.actions.githubusercontent.com:sub"]["values"] == ["${each.value}"]
    assert variables["token.actions.githubusercontent.com:aud"]["values"] == ["sts.amazonaws.com"]


def test_every_checkov_skip_gives_a_reason(infra: Infra) -> None:
    blocks = list(infra.resources.values()) + list(infra.data.values())
    skips = [c for block in blocks for c in comments(block) if "checkov:skip" in c]
    assert skips
    for skip in skips:
        assert re.fullmatch(r"checkov:skip=CKV2?_AWS_\d+:.{15,}", skip.strip()), skip
