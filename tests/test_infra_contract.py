"""infra/*.tf declares exactly what tools/slsops/contract/ says (with the variables' defaults).

Change a value in one place without the other and one of these tests fails. The HCL is read
with python-hcl2 (tests/infra_hcl.py); no terraform binary is needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from infra_hcl import Infra, load_infra, statements

from slsops import contract
from slsops.deployment.stack import REQUIRED_OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
NAMES = contract.names()


@pytest.fixture(scope="module")
def infra() -> Infra:
    return load_infra()


def _one(blocks: list[dict]) -> dict:
    assert len(blocks) == 1, blocks
    return blocks[0]


# --- names and outputs -------------------------------------------------------------------------


def test_variable_defaults_are_the_contract_names(infra: Infra) -> None:
    assert infra.default("name_prefix") == contract.DEFAULT_NAME_PREFIX
    assert infra.default("environment") == contract.DEFAULT_ENVIRONMENT


def test_resource_names_follow_the_contract(infra: Infra) -> None:
    r = infra.resolve
    assert r(infra.resource("aws_dynamodb_table", "logs")["name"]) == NAMES.table
    assert r(infra.resource("aws_api_gateway_rest_api", "api")["name"]) == NAMES.api
    assert r(infra.resource("aws_kms_alias", "main")["name"]) == NAMES.kms_alias
    assert r(infra.resource("aws_sns_topic", "alarms")["name"]) == NAMES.alarm_topic
    dashboard = infra.resource("aws_cloudwatch_dashboard", "main")["dashboard_name"]
    assert r(dashboard) == NAMES.dashboard
    assert r(infra.resource("aws_cloudwatch_log_group", "api_access")["name"]) == (
        NAMES.api_access_log_group
    )
    functions = r(infra.locals["functions"])
    assert {k: f["function_name"] for k, f in functions.items()} == {
        k: NAMES.function(k) for k in contract.FUNCTIONS
    }
    roles = r(infra.locals["client_roles"])
    role_name = infra.resource("aws_iam_role", "client")["name"]
    rendered = {
        k: role_name.replace("${each.value.name_middle}", roles[k]["name_middle"]) for k in roles
    }
    assert {k: r(v) for k, v in rendered.items()} == {
        k: NAMES.client_role(k) for k in contract.CLIENT_ROLES
    }
    exec_name = infra.resource("aws_iam_role", "lambda_exec")["name"]
    assert {
        k: r(exec_name.replace("${each.value.name_middle}", functions[k]["name_middle"]))
        for k in functions
    } == {k: NAMES.execution_role(k) for k in contract.FUNCTIONS}
    assert r(infra.locals["alarm_names"]) == {k: NAMES.alarm(k) for k in contract.ALARMS}


def test_outputs_are_exactly_the_interface_names(infra: Infra) -> None:
    assert set(infra.outputs) == set(REQUIRED_OUTPUTS)


def test_alarm_names_output_is_in_contract_order(infra: Infra) -> None:
    resource_of = {
        "ingest_error_rate": 'aws_cloudwatch_metric_alarm.lambda_error_rate["ingest_error_rate"]',
        "read_error_rate": 'aws_cloudwatch_metric_alarm.lambda_error_rate["read_error_rate"]',
        "dynamodb_throttles": "aws_cloudwatch_metric_alarm.dynamodb_throttles",
        "api_5xx": "aws_cloudwatch_metric_alarm.api_5xx",
    }
    expected = [f"${{{resource_of[key]}.alarm_name}}" for key in contract.ALARMS]
    assert infra.outputs["alarm_names"]["value"] == expected


# --- DynamoDB ------------------------------------------------------------------------------------


def test_table_matches_contract(infra: Infra) -> None:
    table = infra.resource("aws_dynamodb_table", "logs")
    t = contract.TABLE
    assert table["hash_key"] == t.partition_key
    assert table["range_key"] == t.sort_key
    assert table["billing_mode"] == t.billing_mode
    attributes = {a["name"]: a["type"] for a in table["attribute"]}
    assert attributes == {
        t.partition_key: t.partition_key_type,
        t.sort_key: t.sort_key_type,
        t.index_partition_key: t.index_partition_key_type,
    }
    index = _one(table["global_secondary_index"])
    assert infra.resolve(index["name"]) == t.index_name
    assert (index["hash_key"], index["range_key"]) == (t.index_partition_key, t.index_sort_key)
    assert index["projection_type"] == t.index_projection
    ttl = _one(table["ttl"])
    assert infra.resolve(ttl["attribute_name"]) == t.ttl_attribute
    assert ttl["enabled"] is True
    sse = _one(table["server_side_encryption"])
    assert sse["enabled"] is t.sse_kms_cmk
    assert sse["kms_key_arn"] == "${aws_kms_key.main.arn}"
    assert _one(table["point_in_time_recovery"])["enabled"] is t.point_in_time_recovery
    assert table["deletion_protection_enabled"] == "${var.enable_deletion_protection}"
    assert infra.default("enable_deletion_protection") is t.deletion_protection
    assert infra.default("enable_contributor_insights") is t.contributor_insights
    assert infra.default("shard_count") == t.shard_count


def test_table_facts_in_outputs_come_from_the_table(infra: Infra) -> None:
    assert infra.resolve(infra.outputs["index_name"]["value"]) == contract.TABLE.index_name
    assert infra.outputs["shard_count"]["value"] == "${var.shard_count}"


# --- KMS -----------------------------------------------------------------------------------------


def test_kms_key_matches_contract(infra: Infra) -> None:
    key = infra.resource("aws_kms_key", "main")
    assert key["enable_key_rotation"] is contract.KMS.rotation_enabled
    assert key["deletion_window_in_days"] == contract.KMS.deletion_window_days
    assert key["key_usage"] == contract.KMS.key_usage
    assert key["customer_master_key_spec"] == contract.KMS.key_spec
    services = set()
    for statement in statements(infra.policy_document("kms")):
        for principal in statement.get("principals", []):
            if principal["type"] == "Service":
                services.update(infra.resolve(principal["identifiers"]))
    services = {re.sub(r"\$\{[^}]*region[^}]*\}", "{region}", s) for s in services}
    # The Config recorder's delivery (only when var.enable_config_recorder) is the one extra.
    assert services == set(contract.KMS.service_principals) | {"config.amazonaws.com"}


# --- Lambda --------------------------------------------------------------------------------------


def test_functions_match_contract(infra: Infra) -> None:
    fn = infra.resource("aws_lambda_function", "fn")
    functions = infra.resolve(infra.locals["functions"])
    assert set(functions) == set(contract.FUNCTIONS)
    for key, spec in contract.FUNCTIONS.items():
        assert functions[key]["handler"] == spec.handler
        assert functions[key]["name_middle"] == spec.name_middle
        assert infra.resolve(fn["runtime"]) == spec.runtime
        assert infra.resolve(fn["architectures"]) == [spec.architecture]
        assert infra.resolve(fn["memory_size"]) == spec.memory_mb
        assert infra.resolve(fn["timeout"]) == spec.timeout_s
        assert infra.resolve(fn["reserved_concurrent_executions"]) == spec.reserved_concurrency
        assert infra.resolve(_one(fn["tracing_config"])["mode"]) == spec.tracing_mode
        assert infra.resolve(infra.locals["lambda_alias_name"]) == spec.alias
        assert infra.default("log_retention_days") == spec.log_retention_days
    assert fn["publish"] is True
    assert (fn["kms_key_arn"] == "${aws_kms_key.main.arn}") is all(
        spec.environment_encrypted_with_cmk for spec in contract.FUNCTIONS.values()
    )


def test_function_environment_matches_contract(infra: Infra) -> None:
    fn = infra.resource("aws_lambda_function", "fn")
    assert _one(fn["environment"])["variables"] == "${local.lambda_environment}"
    environment = infra.resolve(infra.locals["lambda_environment"])
    assert tuple(sorted(environment)) == tuple(sorted(contract.ENVIRONMENT_VARIABLES))
    assert environment == contract.expected_environment(NAMES)
    assert infra.default("retention_days") == contract.RETENTION_DAYS
    assert infra.default("max_clock_skew_seconds") == contract.MAX_CLOCK_SKEW_SECONDS
    assert infra.default("powertools_log_level") == contract.POWERTOOLS_LOG_LEVEL


def test_api_invokes_the_alias(infra: Infra) -> None:
    for method in contract.METHODS:
        name = "post_logs" if method.http_method == "POST" else "get_recent"
        integration = infra.resource("aws_api_gateway_integration", name)
        assert integration["uri"] == f'${{aws_lambda_alias.live["{method.function}"].invoke_arn}}'


def test_execution_roles_grant_exactly_the_contract_actions(infra: Infra) -> None:
    granted = infra.resolve(infra.locals["function_dynamodb"])
    assert set(granted) == set(contract.FUNCTIONS)
    for key, spec in contract.FUNCTIONS.items():
        assert sorted(granted[key]["actions"]) == sorted(spec.dynamodb_actions)
        assert granted[key]["on_index"] is spec.dynamodb_on_index
    document = infra.policy_document("lambda_exec")
    dynamo = [s for s in statements(document) if "dynamodb" in json.dumps(s.get("actions"))]
    assert [s["actions"] for s in dynamo] == ["${local.function_dynamodb[each.key].actions}"]
    kms = [s for s in statements(document) if "kms:" in json.dumps(s.get("actions"))]
    assert sorted(_one(kms)["actions"]) == sorted(contract.FUNCTIONS["ingest"].kms_actions)


# --- API Gateway ---------------------------------------------------------------------------------


def test_methods_match_contract(infra: Infra) -> None:
    methods = infra.resolve(infra.locals["api_methods"])
    assert sorted((m["http_method"], m["path"], m["function"]) for m in methods.values()) == sorted(
        (m.http_method, m.path, m.function) for m in contract.METHODS
    )
    validators = infra.resources_of("aws_api_gateway_request_validator")
    for name, method in methods.items():
        spec = next(m for m in contract.METHODS if m.http_method == method["http_method"])
        resource = infra.resource("aws_api_gateway_method", name)
        integration = infra.resource("aws_api_gateway_integration", name)
        assert resource["http_method"] == spec.http_method
        assert infra.resolve(resource["authorization"]) == spec.authorization
        assert infra.resolve(integration["type"]) == spec.integration_type
        validator_name = resource["request_validator_id"].split(".")[1]
        validator = validators[validator_name]
        assert validator["validate_request_body"] is spec.validates_body
        assert validator["validate_request_parameters"] is spec.validates_parameters


def test_get_parameters_come_from_the_api_document(infra: Infra) -> None:
    document = json.loads((ROOT / "service" / "openapi.json").read_text())
    declared = [
        p["name"]
        for p in document["paths"]["/logs/recent"]["get"]["parameters"]
        if p["in"] == "query"
    ]
    spec = next(m for m in contract.METHODS if m.path == "/logs/recent")
    assert tuple(declared) == spec.query_parameters
    assert (
        infra.resource("aws_api_gateway_method", "get_recent")["request_parameters"]
        == "${local.recent_query_parameters}"
    )


def test_stage_matches_contract(infra: Infra) -> None:
    s = contract.STAGE
    api = infra.resource("aws_api_gateway_rest_api", "api")
    assert _one(api["endpoint_configuration"])["types"] == [s.endpoint_type]
    stage = infra.resource("aws_api_gateway_stage", "api")
    assert stage["xray_tracing_enabled"] is s.xray_tracing
    assert stage["stage_name"] == "${var.environment}"
    settings = _one(infra.resource("aws_api_gateway_method_settings", "all")["settings"])
    assert infra.resolve(settings["throttling_rate_limit"]) == s.throttling_rate_limit
    assert infra.resolve(settings["throttling_burst_limit"]) == s.throttling_burst_limit
    assert settings["metrics_enabled"] is s.metrics_enabled
    assert infra.resource("aws_api_gateway_method_settings", "all")["method_path"] == "*/*"
    log_group = infra.resource("aws_cloudwatch_log_group", "api_access")
    assert infra.resolve(log_group["retention_in_days"]) == s.access_log_retention_days


# --- client roles --------------------------------------------------------------------------------


def test_client_roles_match_contract(infra: Infra) -> None:
    roles = infra.resolve(infra.locals["client_roles"])
    assert set(roles) == set(contract.CLIENT_ROLES)
    for key, spec in contract.CLIENT_ROLES.items():
        assert roles[key]["name_middle"] == spec.name_middle
        assert sorted(roles[key]["api_methods"]) == sorted(f"{m}{p}" for m, p in spec.api_methods)
        assert sorted(roles[key]["dynamodb_actions"]) == sorted(spec.dynamodb_actions)
        for action in contract.DYNAMODB_PROBE_ACTIONS:
            assert (action in roles[key]["dynamodb_actions"]) is spec.allows_dynamodb(action)
    role = infra.resource("aws_iam_role", "client")
    assert role["max_session_duration"] == contract.TRUST.max_session_duration_s


def test_each_route_is_signed_with_a_role_that_may_call_only_it() -> None:
    """The load generator and the fuzzer sign a route with its ``client_role``: that role must
    be allowed the route, and nothing else (least privilege), and every role must be known."""
    for method in contract.METHODS:
        assert set(method.roles) <= set(contract.CLIENT_ROLES), method.label
        assert method.client_role in method.roles, method.label
        route = (method.http_method, method.path)
        assert contract.CLIENT_ROLES[method.client_role].api_methods == (route,), method.label


def test_client_trust_matches_contract(infra: Infra) -> None:
    statement = _one(statements(infra.policy_document("client_trust")))
    assert statement["effect"] == "Allow"
    assert statement["actions"] == [contract.TRUST.action]
    condition = _one(statement["condition"])
    assert condition["test"] == contract.TRUST.external_id_condition_operator
    assert condition["variable"] == contract.TRUST.external_id_condition_key
    assert condition["values"] == ["${var.external_ids[each.key]}"]
    conditions = [v["condition"] for v in infra.variables["external_ids"]["validation"]]
    assert any(f"length(id) >= {contract.TRUST.external_id_min_length}" in c for c in conditions)


# --- alarms --------------------------------------------------------------------------------------


def _metric_queries(alarm: dict) -> list[dict]:
    found = list(alarm.get("metric_query", []))
    for dynamic in alarm.get("dynamic", []):
        found.extend(dynamic.get("metric_query", {}).get("content", []))
    return found


def _check_common(infra: Infra, alarm: dict, spec: contract.AlarmContract) -> None:
    topic = ["${aws_sns_topic.alarms.arn}"]
    assert alarm["alarm_actions"] == topic
    assert (alarm.get("ok_actions") == topic) is contract.MONITORING.alarms_notify_ok
    assert infra.resolve(alarm["threshold"]) == spec.threshold
    assert alarm["comparison_operator"] == spec.comparison
    assert alarm["evaluation_periods"] == spec.evaluation_periods
    assert alarm["treat_missing_data"] == spec.treat_missing_data
    assert f"${{var.runbook_base_url}}/{spec.runbook}" in alarm["alarm_description"]


def test_lambda_error_rate_alarms_match_contract(infra: Infra) -> None:
    alarm = infra.resource("aws_cloudwatch_metric_alarm", "lambda_error_rate")
    assert infra.resolve(infra.locals["error_rate_alarms"]) == contract.ALARM_FUNCTION
    for key in contract.ALARM_FUNCTION:
        spec = contract.ALARMS[key]
        _check_common(infra, alarm, spec)
        queries = _metric_queries(alarm)
        expression = _one([q for q in queries if "expression" in q])
        assert expression["expression"] == spec.expression
        assert expression["return_data"] is True
        metrics = [_one(q["metric"]) for q in queries if "metric" in q]
        assert sorted(m["metric_name"] for m in metrics) == sorted(spec.metrics)
        for query, metric in zip([q for q in queries if "metric" in q], metrics, strict=True):
            assert query["id"] == metric["metric_name"].lower()
            assert metric["namespace"] == spec.namespace
            assert metric["stat"] == spec.statistic
            assert infra.resolve(metric["period"]) == spec.period_s


def test_dynamodb_throttle_alarm_matches_contract(infra: Infra) -> None:
    spec = contract.ALARMS["dynamodb_throttles"]
    alarm = infra.resource("aws_cloudwatch_metric_alarm", "dynamodb_throttles")
    _check_common(infra, alarm, spec)
    queries = _metric_queries(alarm)
    assert _one([q for q in queries if "expression" in q])["expression"] == spec.expression
    metric = _one(_one([q for q in queries if "metric" in q])["metric"])
    assert (metric["namespace"], metric["metric_name"]) == (spec.namespace, spec.metrics[0])
    assert metric["stat"] == spec.statistic
    assert infra.resolve(metric["period"]) == spec.period_s
    operations = infra.resolve(infra.locals["dynamodb_throttle_operations"])
    assert sorted(operations) == sorted(spec.dimension_values)


def test_api_5xx_alarm_matches_contract(infra: Infra) -> None:
    spec = contract.ALARMS["api_5xx"]
    alarm = infra.resource("aws_cloudwatch_metric_alarm", "api_5xx")
    _check_common(infra, alarm, spec)
    assert (alarm["namespace"], alarm["metric_name"]) == (spec.namespace, spec.metrics[0])
    assert alarm["statistic"] == spec.statistic
    assert infra.resolve(alarm["period"]) == spec.period_s


# --- Config --------------------------------------------------------------------------------------


def test_config_rules_match_contract(infra: Infra) -> None:
    rules = infra.resolve(infra.locals["config_rules"])
    assert {k: (r["name_middle"], r["identifier"]) for k, r in rules.items()} == {
        k: (c.name_middle, c.source_identifier) for k, c in contract.CONFIG_RULES.items()
    }
    assert infra.default("enable_config_rules") is True
