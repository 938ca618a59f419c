"""``slsops verify``: its building blocks, and proof on the local stack that every family can fail.

The stack tests break the local stack in one way with boto3, run ``slsops verify --format
json``, assert that exactly the expected check ids FAIL with exit code 1, and revert in a
``finally`` so the next test sees a clean stack.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_stub import AwsStub, Pages, stack_with
from stack_breaks import (
    DECOY_TABLE,
    access_log_retention,
    access_log_retention_back,
    alarm_actions_removed,
    alarm_threshold_raised,
    alarm_topic_subscribed_elsewhere,
    alarm_topic_subscription_removed,
    alias_back,
    alias_deleted,
    alias_on_latest,
    alias_restored,
    api_policy_open_to_everyone,
    api_policy_removed,
    assert_only_failures,
    auth_iam,
    auth_iam_not_deployed,
    auth_none,
    auth_none_not_deployed,
    aws,
    bad_release,
    bad_release_rolled_back,
    bad_release_unweighted,
    bad_release_weighted,
    billing_on_demand,
    billing_provisioned,
    body_validation_back,
    body_validation_off,
    broken,
    dashboard_back,
    dashboard_deleted,
    dashboard_without_read_function,
    decoy_table,
    delete_alarm,
    delete_config_rule,
    delete_read_method,
    deletion_protection_off,
    deletion_protection_on,
    drop_decoy_table,
    endpoint_variable_added,
    environment_back,
    environment_changed,
    extra_stage_removed,
    extra_stage_with_an_open_route,
    function_setting_back,
    function_url_closed,
    function_url_open,
    grant_read_function_delete_item,
    ingest_handler_changed,
    integration_back,
    integration_not_proxy,
    integration_unqualified,
    invoke_permission_for_another_account,
    invoke_permission_for_another_api,
    key_disabled,
    key_enabled,
    key_grant_revoked,
    key_granted_to_another_account,
    key_policy_back,
    key_policy_open_to_everyone,
    key_policy_without_services,
    layer_added,
    layers_removed,
    log_subscription_added,
    log_subscription_removed,
    long_sessions,
    long_sessions_back,
    memory,
    memory_back,
    ok_actions_removed,
    open_method_added,
    open_method_removed,
    pitr_off,
    pitr_on,
    post_throttle_override,
    post_throttle_override_back,
    read_function_on_another_role,
    read_function_role_back,
    read_role_back,
    read_role_deleted,
    read_timeout_changed,
    remove_invoke_permission,
    rename_api,
    rename_api_back,
    reserved_concurrency,
    reserved_concurrency_back,
    restore_alarm,
    restore_config_rule,
    restore_ingest_invoke,
    restore_invoke_permission,
    restore_read_invoke,
    restore_read_method,
    restore_trust,
    retention,
    retention_back,
    revoke_ingest_invoke,
    revoke_read_function_delete_item,
    revoke_read_invoke,
    rotation_off,
    rotation_on,
    run_cli,
    stack_pointing_at,
    stage_deleted,
    stage_restored,
    stage_tracing_off,
    stage_tracing_on,
    statuses,
    stream_off,
    stream_on,
    table_not_shared,
    table_shared_with_another_account,
    throttle,
    throttle_back,
    topic_deleted,
    topic_policy_back,
    topic_policy_open_to_everyone,
    topic_restored,
    trust_without_external_id,
    ttl_attribute_back,
    ttl_attribute_changed,
    ttl_off,
    ttl_on,
    unscoped_invoke_permission,
)
from stack_outputs import stack_outputs
from typer.testing import CliRunner

from slsops import contract
from slsops.checks.function_permissions import permission_problems
from slsops.checks.iam_roles import review_trust, trust_problems
from slsops.cli import app
from slsops.commands.verify import verify_checks
from slsops.deployment.stack import Stack
from slsops.deployment.verify_context import Lookups, deployment_names
from slsops.framework.compare import compared, differences
from slsops.framework.model import Status
from slsops.redact import fingerprint

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ building blocks (no stack)


def test_lookups_run_each_key_once_under_concurrency() -> None:
    lookups = Lookups()
    calls: list[int] = []
    gate = threading.Event()

    def slow() -> int:
        gate.wait(2)
        calls.append(1)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(lookups.get("k", slow))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert results == [42] * 8
    assert calls == [1]


def test_lookups_share_a_failure_with_every_caller() -> None:
    lookups = Lookups()
    attempts: list[int] = []

    def broken() -> None:
        attempts.append(1)
        raise RuntimeError("AccessDenied")

    for _ in range(3):
        with pytest.raises(RuntimeError, match="AccessDenied"):
            lookups.get("k", broken)
    assert attempts == [1]


def test_compared_names_every_differing_field() -> None:
    assert differences({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ["b: expected 2, found 3"]
    outcome = compared({"a": 1, "b": 2}, {"a": 0, "b": 2}, "ok")
    assert outcome.status is Status.FAIL
    assert outcome.evidence["mismatches"] == ["a: expected 1, found 0"]
    assert compared({"a": 1}, {"a": 1}, "ok").status is Status.PASS


def test_compared_with_nothing_expected_is_a_skip_not_a_pass() -> None:
    """A check whose loop found nothing to read (no function, no alarm) compared nothing."""
    outcome = compared({}, {}, "every alarm matches")
    assert outcome.status is Status.SKIP
    assert "nothing to compare" in outcome.detail


def test_deployment_names_follow_prefix_and_environment() -> None:
    names = deployment_names(stack_with(stage_name="staging", table_name="acme-logs-staging"))
    assert (names.prefix, names.environment) == ("acme", "staging")
    assert names.function("read") == "acme-read-recent-staging"
    assert deployment_names(stack_with(stage_name="prod", table_name="odd")) == contract.names()


def test_one_renamed_resource_cannot_vouch_for_its_own_name() -> None:
    """The prefix is what most outputs' names agree on, so DDB-001 compares a table named
    otherwise with the contract's name, not with itself."""
    names = deployment_names(
        stack_with(
            stage_name="prod",
            table_name="other-logs-prod",
            ingest_function_name="acme-ingest-prod",
            read_function_name="acme-read-recent-prod",
            dashboard_name="acme-prod",
            kms_alias="alias/acme-prod",
        )
    )
    assert names.table == "acme-logs-prod"


TRUSTED = ["arn:aws:iam::123456789012:user/operator"]
EXTERNAL_ID = "x" * 32


def _trust(principal: Any = None, condition: Any = "default", action: Any = "sts:AssumeRole"):
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal if principal is not None else {"AWS": TRUSTED},
        "Action": action,
    }
    if condition == "default":
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    elif condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_trust_review_accepts_the_contracts_policy() -> None:
    assert trust_problems(_trust(), EXTERNAL_ID, TRUSTED) == []


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        (_trust(condition=None), "no StringEquals sts:ExternalId condition"),
        (_trust(condition={"StringLike": {"sts:ExternalId": "*"}}), "no StringEquals"),
        (_trust(condition={"StringEquals": {"sts:ExternalId": "other"}}), "does not equal"),
        (_trust(principal="*"), "principal is '*'"),
        (_trust(principal={"AWS": "*"}), "trusts AWS *"),
        (_trust(principal={"AWS": "arn:aws:iam::999999999999:root"}), "not in trusted"),
        (_trust(principal={"Service": "lambda.amazonaws.com"}), "trusts Service"),
        (_trust(action=["sts:AssumeRole", "sts:TagSession"]), "allows sts:TagSession"),
    ],
)
def test_trust_review_finds_each_widening(document: dict, needle: str) -> None:
    problems = trust_problems(document, EXTERNAL_ID, TRUSTED)
    assert any(needle in p for p in problems), problems


def test_trust_review_treats_an_account_id_as_its_root() -> None:
    document = _trust(principal={"AWS": "123456789012"})
    assert trust_problems(document, EXTERNAL_ID, ["arn:aws:iam::123456789012:root"]) == []


def test_check_ids_are_unique_and_carry_a_family_prefix() -> None:
    ids = [c.id for c in verify_checks()]
    assert len(ids) == len(set(ids))
    prefixes = ("API-", "FN-", "DDB-", "KMS-", "IAM-", "CW-", "CFG-", "E2E-")
    assert all(i.startswith(prefixes) for i in ids)
    assert {i.split("-")[0] + "-" for i in ids} == set(prefixes)


def _slsops(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "slsops.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
        env=env,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_stack(tmp_path: Path, **extra: Any) -> Path:
    outputs = stack_outputs(**extra)
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["verify", "roles"])
def test_unreachable_endpoint_is_a_preflight_failure(tmp_path: Path, command: str) -> None:
    path = _write_stack(
        tmp_path,
        region="us-east-1",
        local_endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        local_credentials={"access_key_id": "AKIAEXAMPLE", "secret_access_key": "secret"},
    )
    result = _slsops(command, "--stack", str(path))
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot reach" in result.stderr
    assert result.stdout == ""


def test_no_credentials_is_a_preflight_failure(tmp_path: Path) -> None:
    """An AWS stack file and no credentials anywhere: exit 3 before any request is sent."""
    path = _write_stack(tmp_path, region="eu-west-1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "SLSOPS_STACK"}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = _slsops("verify", "--stack", str(path), env=env)
    assert result.returncode == 3, result.stderr
    assert "no AWS credentials" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--stack", "/nonexistent/stack.json"], "no stack file at"),
        (["verify", "--format", "xml", "--stack", "STACK"], "'xml' is not one of"),
        (["roles", "--format", "yaml", "--stack", "STACK"], "'yaml' is not one of"),
        (["verify", "--no-such-option"], "No such option: --no-such-option"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    path = _write_stack(tmp_path)
    result = _slsops(*[str(path) if a == "STACK" else a for a in args])
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["abc", "0", "-1", "\u00b2"])
def test_a_bad_max_attempts_variable_is_exit_2_with_one_line(tmp_path: Path, value: str) -> None:
    path = _write_stack(tmp_path)
    result = _slsops("verify", "--stack", str(path), env={**os.environ, "AWS_MAX_ATTEMPTS": value})
    assert result.returncode == 2, result.stderr
    assert "AWS_MAX_ATTEMPTS" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ against the local stack


@pytest.mark.stack
def test_clean_stack_passes_verify(local_stack: Stack, tmp_path: Path) -> None:
    report = assert_only_failures("verify", local_stack, tmp_path, set())
    skips = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "SKIP"}
    assert all(reason for reason in skips.values())
    e2e = {c["id"]: c["evidence"] for c in report["checks"] if c["id"].startswith("E2E-")}
    assert e2e["E2E-001"]["post_latency_ms"] > 0 and e2e["E2E-002"]["get_latency_ms"] > 0
    assert report["target"]["kind"] == "local"


@pytest.mark.stack
def test_table_and_junit_formats(local_stack: Stack, tmp_path: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["verify", "--stack", str(local_stack.path), "--only", "DDB-*"])
    assert table.exit_code == 0 and "DDB-006" in table.stdout and "verify: pass" in table.stdout
    out = tmp_path / "verify.xml"
    junit = runner.invoke(
        app,
        [
            "verify",
            "--stack",
            str(local_stack.path),
            "--only",
            "KMS-*",
            "--format",
            "junit",
            "--output",
            str(out),
        ],
    )
    assert junit.exit_code == 0
    assert out.read_text(encoding="utf-8").count("<testcase") == 5  # KMS-001..005


@pytest.mark.stack
def test_only_and_skip_select_checks(local_stack: Stack, tmp_path: Path) -> None:
    _, report = run_cli("verify", local_stack, tmp_path, "--only", "ddb-*", "--skip", "DDB-00[78]")
    assert [c["id"] for c in report["checks"]] == [f"DDB-{n:03}" for n in range(1, 11)]
    skipped = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "SKIP"}
    assert skipped == {i: "skipped by --skip DDB-00[78]" for i in ("DDB-007", "DDB-008")}


# Each break makes exactly these checks FAIL in a whole verify run.
BREAKS = [
    pytest.param(
        {"DDB-006"}, pitr_off, pitr_on, id="pitr-off", marks=pytest.mark.breaks("DDB-006")
    ),
    pytest.param({"DDB-004"}, ttl_off, ttl_on, id="ttl-off", marks=pytest.mark.breaks("DDB-004")),
    pytest.param(
        {"DDB-010"}, stream_on, stream_off, id="stream-on", marks=pytest.mark.breaks("DDB-010")
    ),
    pytest.param(
        {"KMS-005"},
        key_granted_to_another_account,
        key_grant_revoked,
        id="key-granted-to-another-account",
        marks=pytest.mark.breaks("KMS-005"),
    ),
    pytest.param(
        {"DDB-009"},
        table_shared_with_another_account,
        table_not_shared,
        id="table-shared-with-another-account",
        marks=pytest.mark.breaks("DDB-009"),
    ),
    pytest.param(
        {"API-006"},
        access_log_retention,
        access_log_retention_back,
        id="access-log-retention",
        marks=pytest.mark.breaks("API-006"),
    ),
    pytest.param(
        {"FN-004"},
        reserved_concurrency,
        reserved_concurrency_back,
        id="read-concurrency",
        marks=pytest.mark.breaks("FN-004"),
    ),
    pytest.param(
        {"FN-005"},
        environment_changed,
        environment_back,
        id="read-environment",
        marks=pytest.mark.breaks("FN-005"),
    ),
    pytest.param(
        {"CW-002"},
        alarm_threshold_raised,
        restore_alarm,
        id="api-5xx-threshold",
        marks=pytest.mark.breaks("CW-002"),
    ),
    pytest.param(
        {"IAM-003"},
        long_sessions,
        long_sessions_back,
        id="ingest-long-sessions",
        marks=pytest.mark.breaks("IAM-003"),
    ),
    pytest.param(
        {"DDB-007"},
        deletion_protection_off,
        deletion_protection_on,
        id="deletion-protection-off",
        marks=pytest.mark.breaks("DDB-007"),
    ),
    pytest.param(
        {"API-002", "API-009"},
        auth_none,
        auth_iam,
        id="post-auth-none",
        marks=pytest.mark.breaks("API-002", "API-009"),
    ),
    pytest.param(
        {"API-002"},
        auth_none_not_deployed,
        auth_iam_not_deployed,
        id="post-auth-none-not-deployed",
        marks=pytest.mark.breaks("API-002"),
    ),
    pytest.param(
        {"API-005"},
        throttle,
        throttle_back,
        id="throttle-rate",
        marks=pytest.mark.breaks("API-005"),
    ),
    pytest.param(
        {"FN-002"}, memory, memory_back, id="ingest-memory", marks=pytest.mark.breaks("FN-002")
    ),
    pytest.param(
        {"FN-006"},
        retention,
        retention_back,
        id="read-log-retention",
        marks=pytest.mark.breaks("FN-006"),
    ),
    pytest.param(
        {"FN-010"},
        grant_read_function_delete_item,
        revoke_read_function_delete_item,
        id="read-function-may-delete",
        marks=pytest.mark.breaks("FN-010"),
    ),
    pytest.param(
        {"KMS-002"},
        rotation_off,
        rotation_on,
        id="key-rotation-off",
        marks=pytest.mark.breaks("KMS-002"),
    ),
    pytest.param(
        {"CW-001"},
        delete_alarm,
        restore_alarm,
        id="api-5xx-alarm-deleted",
        marks=pytest.mark.breaks("CW-001"),
    ),
    pytest.param(
        {"IAM-002"},
        trust_without_external_id,
        restore_trust,
        id="read-trust-without-external-id",
        marks=pytest.mark.breaks("IAM-002"),
    ),
    pytest.param(
        {"CFG-001"},
        delete_config_rule,
        restore_config_rule,
        id="config-rule-deleted",
        marks=pytest.mark.breaks("CFG-001"),
    ),
    pytest.param(
        {"E2E-001", "E2E-002"},
        revoke_ingest_invoke,
        restore_ingest_invoke,
        id="ingest-role-cannot-invoke",
        marks=pytest.mark.breaks("E2E-001", "E2E-002"),
    ),
    pytest.param(
        {"E2E-002"},
        revoke_read_invoke,
        restore_read_invoke,
        id="read-role-cannot-invoke",
        marks=pytest.mark.breaks("E2E-002"),
    ),
]


@pytest.mark.stack
@pytest.mark.parametrize(("expected", "break_it", "revert"), BREAKS)
def test_each_break_fails_exactly_its_checks(
    local_stack: Stack,
    tmp_path: Path,
    expected: set[str],
    break_it: Callable[[Stack], Any],
    revert: Callable[[Stack, Any], None],
) -> None:
    with broken(lambda: break_it(local_stack), lambda saved: revert(local_stack, saved)):
        assert_only_failures("verify", local_stack, tmp_path, expected)
    # The revert restored what the check looks at.
    only = [arg for check_id in sorted(expected) for arg in ("--only", check_id)]
    _, report = run_cli("verify", local_stack, tmp_path, *only)
    assert statuses(report, "PASS") == expected


# Each break makes the named checks FAIL with a detail holding the text; only those checks run
# (other checks may fail too: the break matters only for what these read).
TARGETED = [
    pytest.param(
        {"API-001": "resource policy statement slsops-test-everyone: * is admitted"},
        api_policy_open_to_everyone,
        api_policy_removed,
        id="api-policy-open-to-everyone",
        marks=pytest.mark.breaks("API-001"),
    ),
    pytest.param(
        {"API-001": "name: expected 'simple-log-service-prod', found 'drifted'"},
        rename_api,
        rename_api_back,
        id="api-renamed",
        marks=pytest.mark.breaks("API-001"),
    ),
    pytest.param(
        {"API-003": "POST /logs.qualifier: expected 'live', found None"},
        integration_unqualified,
        integration_back,
        id="integration-invokes-latest",
        marks=pytest.mark.breaks("API-003"),
    ),
    pytest.param(
        {"API-003": "POST /logs.type: expected 'AWS_PROXY', found 'AWS'"},
        integration_not_proxy,
        integration_back,
        id="integration-not-proxy",
        marks=pytest.mark.breaks("API-003"),
    ),
    pytest.param(
        {"API-004": "method GET /logs/recent does not exist"},
        delete_read_method,
        restore_read_method,
        id="read-method-deleted",
        marks=pytest.mark.breaks("API-004"),
    ),
    pytest.param(
        {"API-007": "POST /logs: the request body is not validated"},
        body_validation_off,
        body_validation_back,
        id="body-validation-off",
        marks=pytest.mark.breaks("API-007"),
    ),
    pytest.param(
        {"API-008": "xray_tracing: expected True, found False"},
        stage_tracing_off,
        stage_tracing_on,
        id="stage-tracing-off",
        marks=pytest.mark.breaks("API-008"),
    ),
    pytest.param(
        {"FN-001": "ingest.handler: expected 'log_service.ingest_handler.handler'"},
        ingest_handler_changed,
        function_setting_back,
        id="ingest-handler",
        marks=pytest.mark.breaks("FN-001"),
    ),
    pytest.param(
        {"FN-003": "read.timeout_s: expected 30, found 3"},
        read_timeout_changed,
        function_setting_back,
        id="read-timeout",
        marks=pytest.mark.breaks("FN-003"),
    ),
    pytest.param(
        {"FN-008": "live points at '$LATEST', not a published version"},
        alias_on_latest,
        alias_back,
        id="alias-on-latest",
        marks=pytest.mark.breaks("FN-008"),
    ),
    pytest.param(
        {
            "FN-002": "ingest@live.memory_mb: expected 256, found 512",
            "FN-005": "ingest@live.POWERTOOLS_LOG_LEVEL: expected 'INFO', found 'DEBUG'",
        },
        bad_release,
        bad_release_rolled_back,
        id="bad-release-on-live-alias",
        marks=pytest.mark.breaks("FN-002", "FN-005"),
    ),
    pytest.param(
        {
            "FN-002": "ingest@live+v",
            "FN-005": "POWERTOOLS_LOG_LEVEL: expected 'INFO', found 'DEBUG'",
        },
        bad_release_weighted,
        bad_release_unweighted,
        id="bad-release-on-a-share-of-the-live-alias",
        marks=pytest.mark.breaks("FN-002", "FN-005"),
    ),
    pytest.param(
        {"FN-011": "no permission lets apigateway.amazonaws.com invoke"},
        remove_invoke_permission,
        restore_invoke_permission,
        id="invoke-permission-removed",
        marks=pytest.mark.breaks("FN-011"),
    ),
    pytest.param(
        {"FN-011": ":otherapi01/prod/POST/logs, not to this API"},
        invoke_permission_for_another_api,
        restore_invoke_permission,
        id="invoke-permission-for-another-api",
        marks=pytest.mark.breaks("FN-011"),
    ),
    pytest.param(
        {"FN-011": "has no AWS:SourceArn condition: any API in any account may invoke"},
        unscoped_invoke_permission,
        restore_invoke_permission,
        id="invoke-permission-unscoped",
        marks=pytest.mark.breaks("FN-011"),
    ),
    pytest.param(
        {"FN-011": "statement slsops-test-other-account lets 999999999999 invoke"},
        invoke_permission_for_another_account,
        restore_invoke_permission,
        id="invoke-permission-for-another-account",
        marks=pytest.mark.breaks("FN-011"),
    ),
    pytest.param(
        {"FN-012": "has a function URL http"},
        function_url_open,
        function_url_closed,
        id="function-url-open",
        marks=pytest.mark.breaks("FN-012"),
    ),
    pytest.param(
        {
            "FN-005": "ingest.variables_beyond_the_contract: expected [], found "
            "['AWS_ENDPOINT_URL_DYNAMODB']"
        },
        endpoint_variable_added,
        function_setting_back,
        id="environment-variable-beyond-the-contract",
        marks=pytest.mark.breaks("FN-005"),
    ),
    pytest.param(
        {"API-010": "stage debug also serves deployment"},
        extra_stage_with_an_open_route,
        extra_stage_removed,
        id="a-second-stage-serving-an-open-route",
        marks=pytest.mark.breaks("API-010"),
    ),
    pytest.param(
        {"CW-003": "also notifies https https://203.0.113.9/hook"},
        alarm_topic_subscribed_elsewhere,
        alarm_topic_subscription_removed,
        id="alarm-topic-subscribed-elsewhere",
        marks=pytest.mark.breaks("CW-003"),
    ),
    pytest.param(
        {"CW-005": "filter slsops-test-copy sends its events to arn:aws:lambda:"},
        log_subscription_added,
        log_subscription_removed,
        id="log-group-subscribed-elsewhere",
        marks=pytest.mark.breaks("CW-005"),
    ),
    pytest.param(
        {"FN-001": "read.layers: expected [], found ['arn:aws:lambda:"},
        layer_added,
        layers_removed,
        id="layer-added",
        marks=pytest.mark.breaks("FN-001"),
    ),
    pytest.param(
        {"FN-010": "read.role: expected 'simple-log-service-"},
        read_function_on_another_role,
        read_function_role_back,
        id="read-function-on-another-role",
        marks=pytest.mark.breaks("FN-010"),
    ),
    pytest.param(
        {
            "API-003": "POST /logs.qualifier: expected 'live', found None",
            "FN-011": "no permission lets apigateway.amazonaws.com invoke "
            "simple-log-service-ingest-prod for",
        },
        integration_unqualified,
        integration_back,
        id="integration-invokes-what-the-permission-does-not-cover",
        marks=pytest.mark.breaks("API-003", "FN-011"),
    ),
    pytest.param(
        {"DDB-003": "billing_mode: expected 'PAY_PER_REQUEST', found 'PROVISIONED'"},
        billing_provisioned,
        billing_on_demand,
        id="billing-provisioned",
        marks=pytest.mark.breaks("DDB-003"),
    ),
    pytest.param(
        {"KMS-001": "state: expected 'Enabled', found 'Disabled'"},
        key_disabled,
        key_enabled,
        id="key-disabled",
        marks=pytest.mark.breaks("KMS-001"),
    ),
    pytest.param(
        {"KMS-003": "alias alias/simple-log-service-prod does not exist"},
        alias_deleted,
        alias_restored,
        id="key-alias-deleted",
        marks=pytest.mark.breaks("KMS-003"),
    ),
    pytest.param(
        {"KMS-004": "no Allow statement for logs.us-east-1.amazonaws.com"},
        key_policy_without_services,
        key_policy_back,
        id="key-policy-without-services",
        marks=pytest.mark.breaks("KMS-004"),
    ),
    pytest.param(
        {"KMS-004": "statement slsops-test-everyone: * is admitted, beyond this account"},
        key_policy_open_to_everyone,
        key_policy_back,
        id="key-policy-open-to-everyone",
        marks=pytest.mark.breaks("KMS-004"),
    ),
    pytest.param(
        {"IAM-001": "read.name: expected 'simple-log-service-read-prod', found None"},
        read_role_deleted,
        read_role_back,
        id="read-role-deleted",
        marks=pytest.mark.breaks("IAM-001"),
    ),
    pytest.param(
        {"CW-003": "alarm simple-log-service-api-5xx-prod does not notify"},
        alarm_actions_removed,
        restore_alarm,
        id="alarm-actions-removed",
        marks=pytest.mark.breaks("CW-003"),
    ),
    pytest.param(
        {"CW-004": "does not show simple-log-service-read-recent-prod"},
        dashboard_without_read_function,
        dashboard_back,
        id="dashboard-lost-a-function",
        marks=pytest.mark.breaks("CW-004"),
    ),
    pytest.param(
        {"CW-004": "dashboard simple-log-service-prod does not exist"},
        dashboard_deleted,
        dashboard_back,
        id="dashboard-deleted",
        marks=pytest.mark.breaks("CW-004"),
    ),
    pytest.param(
        {"CW-003": "simple-log-service-alarms-prod when it recovers (OKActions)"},
        ok_actions_removed,
        restore_alarm,
        id="alarm-ok-actions-removed",
        marks=pytest.mark.breaks("CW-003"),
    ),
    pytest.param(
        {"CW-003": "topic policy statement slsops-test-everyone: * is admitted"},
        topic_policy_open_to_everyone,
        topic_policy_back,
        id="topic-policy-open-to-everyone",
        marks=pytest.mark.breaks("CW-003"),
    ),
    pytest.param(
        {"CW-003": "simple-log-service-alarms-prod does not exist"},
        topic_deleted,
        topic_restored,
        id="alarm-topic-deleted",
        marks=pytest.mark.breaks("CW-003"),
    ),
    pytest.param(
        {
            "API-002": "method ANY /logs/slsops-open is not in the contract (authorization NONE)",
            "API-009": "the deployment serves ANY /logs/slsops-open, which is not in the contract",
        },
        open_method_added,
        open_method_removed,
        id="unauthenticated-method-added",
        marks=pytest.mark.breaks("API-002", "API-009"),
    ),
    pytest.param(
        {"API-004": "stage prod does not exist"},
        stage_deleted,
        stage_restored,
        id="stage-deleted",
        marks=pytest.mark.breaks("API-004"),
    ),
    pytest.param(
        {"API-005": "POST.rate_limit: expected 10000.0, found 1.0"},
        post_throttle_override,
        post_throttle_override_back,
        id="method-throttling-override",
        marks=pytest.mark.breaks("API-005"),
    ),
]


def _only(check_ids: Any) -> list[str]:
    return [arg for check_id in sorted(check_ids) for arg in ("--only", check_id)]


@pytest.mark.stack
@pytest.mark.parametrize(("needles", "break_it", "revert"), TARGETED)
def test_each_targeted_break_fails_its_check_naming_the_cause(
    local_stack: Stack,
    tmp_path: Path,
    needles: dict[str, str],
    break_it: Callable[[Stack], Any],
    revert: Callable[[Stack, Any], None],
) -> None:
    with broken(lambda: break_it(local_stack), lambda saved: revert(local_stack, saved)):
        code, report = run_cli("verify", local_stack, tmp_path, *_only(needles))
    by_id = {c["id"]: c for c in report["checks"]}
    assert code == 1
    for check_id, needle in needles.items():
        assert by_id[check_id]["status"] == "FAIL", by_id[check_id]
        assert needle in by_id[check_id]["detail"], by_id[check_id]["detail"]
    code, report = run_cli("verify", local_stack, tmp_path, *_only(needles))
    assert statuses(report, "PASS") == set(needles), report["checks"]
    assert code == 0


@pytest.mark.stack
@pytest.mark.breaks("DDB-001", "DDB-002", "DDB-005")
def test_a_table_that_is_not_the_contracts_fails_the_table_checks(
    local_stack: Stack, tmp_path: Path
) -> None:
    """The stack file names another table (another name, keyed by ``id``, no index, no CMK):
    DDB-001 compares the name with the contract's, not with the stack file's own value."""
    with broken(lambda: decoy_table(local_stack), lambda s: drop_decoy_table(local_stack, s)):
        table = aws(local_stack, "dynamodb").describe_table(TableName=DECOY_TABLE)["Table"]
        arn = table["TableArn"]
        drifted = stack_pointing_at(local_stack, tmp_path, table_name=DECOY_TABLE, table_arn=arn)
        ids = ("DDB-001", "DDB-002", "DDB-005")
        code, report = run_cli("verify", drifted, tmp_path, *_only(ids))
    details = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "FAIL"}
    assert code == 1 and set(details) == set(ids), report["checks"]
    assert (
        "name: expected 'simple-log-service-logs-prod', found 'drifted-logs-prod'"
        in (details["DDB-001"])
    )
    assert "partition_key: expected 'service_name', found 'id'" in details["DDB-001"]
    assert "exists: expected True, found False" in details["DDB-002"]
    assert "status: expected 'ENABLED', found None" in details["DDB-005"]
    _, report = run_cli("verify", local_stack, tmp_path, *_only(ids))
    assert statuses(report, "PASS") == set(ids)


@pytest.mark.stack
@pytest.mark.breaks("DDB-004")
def test_ttl_is_compared_with_the_contracts_attribute(local_stack: Stack, tmp_path: Path) -> None:
    """TTL moved to another attribute and the stack file's ttl_attribute output with it: the
    items the service writes (expires_at) never expire, whatever the output says."""
    with broken(
        lambda: ttl_attribute_changed(local_stack),
        lambda saved: ttl_attribute_back(local_stack, saved),
    ):
        attribute = aws(local_stack, "dynamodb").describe_time_to_live(
            TableName=str(local_stack["table_name"])
        )["TimeToLiveDescription"]["AttributeName"]
        drifted = stack_pointing_at(local_stack, tmp_path, ttl_attribute=attribute)
        code, report = run_cli("verify", drifted, tmp_path, *_only(["DDB-004"]))
    details = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "FAIL"}
    assert code == 1 and "DDB-004" in details, report["checks"]
    assert f"attribute: expected 'expires_at', found '{attribute}'" in details["DDB-004"]


@pytest.mark.stack
def test_config_checks_ignore_the_deployments_own_switch(
    local_stack: Stack, tmp_path: Path
) -> None:
    """A stack file saying ``config_rules_enabled=false`` does not decide whether CFG-001 runs."""
    switched_off = stack_pointing_at(local_stack, tmp_path, config_rules_enabled=False)
    _, report = run_cli("verify", switched_off, tmp_path, "--only", "CFG-001")
    assert [(c["id"], c["status"]) for c in report["checks"]] == [("CFG-001", "PASS")]


@pytest.mark.stack
def test_reports_show_external_ids_as_fingerprints(local_stack: Stack, tmp_path: Path) -> None:
    external_ids = [str(r["external_id"]) for r in local_stack["roles"].values()]
    for command, check_id in (("verify", "IAM-002"), ("roles", "ROLE-030")):
        _, report = run_cli(command, local_stack, tmp_path, "--only", check_id)
        text = json.dumps(report)
        assert not [e for e in external_ids if e in text]
        assert f"sha256:{fingerprint(external_ids[0])}" in text


def test_the_document_lists_every_check() -> None:
    from slsops.checks.roles import CHECKS as ROLE_CHECKS

    text = (ROOT / "docs" / "verify-and-roles.md").read_text(encoding="utf-8")
    missing = [c.id for c in [*verify_checks(), *ROLE_CHECKS] if f"| {c.id} | " not in text]
    assert missing == []


# ------------------------------------------------------------------ AWS-only paths, on stubs


def _deployment(post_auth: str) -> dict:
    return {
        ("apigateway", "get_stage"): {"deploymentId": "d1"},
        ("apigateway", "get_deployment"): {
            "id": "d1",
            "apiSummary": {
                "/logs": {"POST": {"authorizationType": post_auth}},
                "/logs/recent": {"GET": {"authorizationType": "AWS_IAM"}},
            },
        },
    }


@pytest.mark.breaks("API-009")
def test_deployed_methods_check_reads_what_the_stage_serves() -> None:
    from slsops.checks.api import deployed_methods_use_iam

    assert deployed_methods_use_iam(AwsStub(_deployment("AWS_IAM"))).status is Status.PASS
    outcome = deployed_methods_use_iam(AwsStub(_deployment("NONE")))
    assert outcome.status is Status.FAIL and "POST /logs" in outcome.detail


@pytest.mark.breaks("DDB-008")
def test_contributor_insights_is_checked_on_aws() -> None:
    from slsops.checks.dynamodb import contributor_insights

    answer = {("dynamodb", "describe_contributor_insights"): {"ContributorInsightsStatus": "X"}}
    assert contributor_insights(AwsStub(answer, table_name="t")).status is Status.FAIL
    answer = {
        ("dynamodb", "describe_contributor_insights"): {"ContributorInsightsStatus": "ENABLED"}
    }
    assert contributor_insights(AwsStub(answer, table_name="t")).status is Status.PASS


@pytest.mark.breaks("CFG-002")
def test_recorder_check_needs_a_recording_recorder_on_aws() -> None:
    """Whatever the deployment's own ``config_rules_enabled`` output says."""
    from slsops.checks.config_rules import recorder

    key = ("config", "describe_configuration_recorder_status")
    idle = {key: {"ConfigurationRecordersStatus": [{"name": "r", "recording": False}]}}
    busy = {key: {"ConfigurationRecordersStatus": [{"name": "r", "recording": True}]}}
    for enabled in (True, False):
        outcome = recorder(AwsStub(idle, config_rules_enabled=enabled))
        assert outcome.status is Status.FAIL
        assert "no configuration recorder is recording" in outcome.detail
        assert recorder(AwsStub(busy, config_rules_enabled=enabled)).status is Status.PASS


KEY = "arn:aws:kms:eu-west-1:123456789012:key/project"
FUNCTIONS = {
    "ingest_function_name": "simple-log-service-ingest-prod",
    "read_function_name": "simple-log-service-read-recent-prod",
    "kms_key_arn": KEY,
}


def _function_stub(live_changes: dict[str, Any]) -> AwsStub:
    """Both functions as the contract wants them on $LATEST; ``live_changes`` on the version
    behind the alias (what API Gateway invokes)."""
    clean = {
        "Runtime": "python3.12",
        "Handler": "log_service.ingest_handler.handler",
        "TracingConfig": {"Mode": "Active"},
        "KMSKeyArn": KEY,
    }

    def configuration(FunctionName: str, Qualifier: str | None = None) -> dict:
        return {**clean, **live_changes} if Qualifier == "live" else clean

    answers = {
        ("lambda", "get_function_configuration"): configuration,
        ("lambda", "get_alias"): {"FunctionVersion": "1"},
    }
    return AwsStub(answers, **FUNCTIONS)


@pytest.mark.breaks("FN-007")
def test_tracing_check_reads_the_live_version() -> None:
    """moto 5.2.5 ignores TracingConfig in UpdateFunctionConfiguration: shown on the stub."""
    from slsops.checks.functions import tracing

    assert tracing(_function_stub({})).status is Status.PASS
    outcome = tracing(_function_stub({"TracingConfig": {"Mode": "PassThrough"}}))
    assert outcome.status is Status.FAIL
    assert "ingest@live.tracing_mode: expected 'Active', found 'PassThrough'" in outcome.detail


@pytest.mark.breaks("FN-006")
def test_log_group_check_reads_where_each_version_logs() -> None:
    """moto 5.2.5 ignores LoggingConfig: shown on the stub. A version logging to another group
    fails, though the function's own group is there with the right retention."""
    from slsops.checks.functions import log_groups

    def groups(logGroupNamePrefix: str) -> dict:
        retention = contract.FUNCTIONS["ingest"].log_retention_days
        group = {"logGroupName": logGroupNamePrefix, "retentionInDays": retention, "kmsKeyId": KEY}
        return {"logGroups": [group]}

    def stub(live_changes: dict) -> AwsStub:
        stub = _function_stub(live_changes)
        stub.answers[("logs", "describe_log_groups")] = groups
        return stub

    assert log_groups(stub({})).status is Status.PASS
    outcome = log_groups(stub({"LoggingConfig": {"LogGroup": "/elsewhere", "LogFormat": "JSON"}}))
    assert outcome.status is Status.FAIL
    assert (
        "ingest@live.logs_to: expected '/aws/lambda/simple-log-service-ingest-prod', "
        "found '/elsewhere'" in outcome.detail
    )
    own = {"LoggingConfig": {"LogGroup": "/aws/lambda/simple-log-service-ingest-prod"}}
    assert "ingest@live.logs_to" not in log_groups(stub(own)).detail


@pytest.mark.breaks("CW-005")
def test_log_subscription_check_skips_when_it_read_no_log_group() -> None:
    """A group that does not exist is FN-006's and API-006's finding; with none of them there,
    CW-005 compared nothing and says SKIP, not PASS."""
    from slsops.checks.cloudwatch import no_log_subscriptions

    logs = boto3.client(
        "logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    read: list[str] = []

    def absent(logGroupName: str) -> dict:
        read.append(logGroupName)
        raise logs.exceptions.ResourceNotFoundException(
            {"Error": {"Code": "ResourceNotFoundException"}}, "DescribeSubscriptionFilters"
        )

    def empty(logGroupName: str) -> dict:
        return {"subscriptionFilters": []}

    for answer, status in ((absent, Status.SKIP), (empty, Status.PASS)):
        stub = AwsStub({("logs", "describe_subscription_filters"): answer}, **FUNCTIONS)
        stub.client = lambda service: logs
        outcome = no_log_subscriptions(stub)
        assert outcome.status is status, outcome
    assert len(read) == 3  # both functions' groups and the API's


@pytest.mark.breaks("FN-009")
def test_environment_key_check_reads_the_live_version() -> None:
    """moto 5.2.5 ignores KMSKeyArn in UpdateFunctionConfiguration: shown on the stub."""
    from slsops.checks.functions import environment_cmk

    assert environment_cmk(_function_stub({})).status is Status.PASS
    other = "arn:aws:kms:eu-west-1:123456789012:key/other"
    outcome = environment_cmk(_function_stub({"KMSKeyArn": other}))
    assert outcome.status is Status.FAIL
    assert f"ingest@live.kms_key_arn: expected {KEY!r}, found {other!r}" in outcome.detail
    outcome = environment_cmk(_function_stub({"KMSKeyArn": None}))
    assert "read@live.kms_key_arn" in outcome.detail


API_PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/"
INVOCATION = f"{API_PREFIX}prod/POST/logs"
ALIAS_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:fn:live"


def _permission(resource: str = ALIAS_ARN, source: Any = INVOCATION, **extra: Any) -> dict:
    statement = {
        "Sid": "s1",
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": resource,
        **extra,
    }
    if source is not None:
        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": source}}
    return statement


def _permission_problems(*statements: dict) -> list[str]:
    return permission_problems(list(statements), "fn", "live", INVOCATION, API_PREFIX)


def test_invoke_permission_scoped_to_this_api_and_alias_passes() -> None:
    assert _permission_problems(_permission()) == []
    assert _permission_problems(_permission(source=f"{API_PREFIX}*/POST/logs")) == []


@pytest.mark.parametrize(
    ("statements", "needle"),
    [
        ((), "no permission lets apigateway.amazonaws.com invoke fn:live"),
        ((_permission(resource=ALIAS_ARN[: -len(":live")]),), "no permission lets"),
        ((_permission(source=f"{API_PREFIX}prod/GET/logs/recent"),), "no permission lets"),
        ((_permission(source=None),), "has no AWS:SourceArn condition"),
        (
            (_permission(source="arn:aws:execute-api:*:*:*/*/POST/logs"),),
            "is scoped to arn:aws:execute-api:*:*:*/*/POST/logs, not to this API",
        ),
        ((_permission(), _permission(Principal="*", Sid="any")), "lets any principal invoke"),
        ((_permission(Effect="Deny"),), "no permission lets"),
    ],
)
def test_invoke_permission_problems(statements: tuple, needle: str) -> None:
    problems = _permission_problems(*statements)
    assert any(needle in p for p in problems), problems


@pytest.mark.breaks("IAM-002")
def test_trust_review_evidence_shows_external_ids_as_fingerprints() -> None:
    secret = "s3cr3t-external-id-0123456789abcdef"
    trusted = ["arn:aws:iam::123456789012:user/operator"]
    roles = {
        k: {"arn": f"arn:aws:iam::123456789012:role/r-{k}", "external_id": secret}
        for k in ("ingest", "read", "full")
    }
    document = _trust(
        principal={"AWS": trusted}, condition={"StringEquals": {"sts:ExternalId": secret}}
    )
    role = {("iam", "get_role"): {"Role": {"AssumeRolePolicyDocument": document}}}
    outcome = review_trust(AwsStub(role, roles=roles, trusted_principal_arns=trusted))
    assert outcome.status is Status.PASS
    assert secret not in json.dumps(outcome.evidence) and secret not in outcome.detail
    assert outcome.evidence["read"]["external_id"] == f"sha256:{fingerprint(secret)}"
    condition = outcome.evidence["read"]["trust_policy"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"sts:ExternalId": f"sha256:{fingerprint(secret)}"}}
    wrong = _trust(principal={"AWS": trusted}, condition={"StringEquals": {"sts:ExternalId": "x"}})
    outcome = review_trust(
        AwsStub(
            {("iam", "get_role"): {"Role": {"AssumeRolePolicyDocument": wrong}}},
            roles=roles,
            trusted_principal_arns=trusted,
        )
    )
    assert (
        outcome.status is Status.FAIL and "does not equal the role's external id" in outcome.detail
    )
    assert secret not in json.dumps(outcome.evidence)


@pytest.mark.breaks("IAM-001")
def test_client_roles_are_compared_with_the_contracts_arns() -> None:
    """A role recreated under another path, and a stack file naming another role, both FAIL."""
    from slsops.checks.iam_roles import client_roles_exist

    account = "123456789012"
    names = contract.names()
    contract_arns = {
        k: f"arn:aws:iam::{account}:role/{names.client_role(k)}" for k in contract.CLIENT_ROLES
    }

    def get_role(RoleName: str) -> dict:
        path = "/drifted/" if RoleName == names.client_role("read") else "/"
        arn = f"arn:aws:iam::{account}:role{path}{RoleName}"
        return {"Role": {"RoleName": RoleName, "Arn": arn}}

    roles = {k: {"arn": arn} for k, arn in contract_arns.items()}
    roles["full"] = {"arn": f"arn:aws:iam::{account}:role/someone-elses-role"}
    outcome = client_roles_exist(
        AwsStub({("iam", "get_role"): get_role}, roles=roles, account_id=account)
    )
    assert outcome.status is Status.FAIL
    assert f"read.arn: expected {contract_arns['read']!r}, found " in outcome.detail
    assert "full.stack_output_arn: expected" in outcome.detail
    assert "ingest." not in outcome.detail


def test_alarm_definitions_compared_against_nothing_are_skip_not_pass() -> None:
    from slsops.checks.cloudwatch import alarm_thresholds

    no_alarms = {"describe_alarms": Pages([{"MetricAlarms": []}])}
    outcome = alarm_thresholds(AwsStub({}, no_alarms, alarm_names=[]))
    assert outcome.status is Status.SKIP
    assert "no definition was compared" in outcome.detail


def test_api_resource_policy_reads_aws_escaped_json() -> None:
    """AWS answers GetRestApi's policy with its quotes escaped; moto answers plain JSON."""
    from slsops.checks.api import _resource_policy

    plain = '{"Statement": [{"Effect": "Allow", "Principal": "*"}]}'
    assert _resource_policy(plain) == _resource_policy(plain.replace('"', '\\"'))
    assert _resource_policy(None) == {} == _resource_policy("")


def test_principals_beyond_account() -> None:
    from slsops.iam.documents import principals_beyond_account

    document = {
        "Statement": [
            {"Sid": "a", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}},
            {"Sid": "b", "Effect": "Allow", "Principal": {"AWS": ["111122223333", "*"]}},
            {"Sid": "c", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}},
            {"Sid": "d", "Effect": "Deny", "Principal": "*"},
            {"Sid": "e", "Effect": "Allow", "Principal": "arn:aws:iam::444455556666:role/x"},
        ]
    }
    assert principals_beyond_account(document, "111122223333") == [
        "b: *",
        "e: arn:aws:iam::444455556666:role/x",
    ]
    # An unknown account confines nothing: "::" is in every IAM ARN.
    assert principals_beyond_account(document, "") == [
        "a: arn:aws:iam::111122223333:root",
        "b: 111122223333",
        "b: *",
        "e: arn:aws:iam::444455556666:role/x",
    ]


def test_a_condition_pinning_the_account_confines_a_statement_for_anyone() -> None:
    """AWS's default SNS topic policy admits * under AWS:SourceOwner = the account: not wider."""
    from slsops.iam.documents import principals_beyond_account

    def anyone(condition):
        return {
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Condition": condition}]
        }

    mine, other = "111122223333", "444455556666"
    assert (
        principals_beyond_account(anyone({"StringEquals": {"AWS:SourceOwner": mine}}), mine) == []
    )
    assert (
        principals_beyond_account(anyone({"StringEquals": {"kms:CallerAccount": [mine]}}), mine)
        == []
    )
    for wider in (
        {"StringEquals": {"AWS:SourceOwner": other}},
        {"StringEquals": {"AWS:SourceOwner": [mine, other]}},
        {"StringLike": {"aws:SourceAccount": "*"}},
        {"StringEquals": {"aws:SourceVpc": "vpc-1"}},
        {"StringEquals": {"aws:SourceAccount": []}},
    ):
        assert principals_beyond_account(anyone(wider), mine) == ["0: *"], wider


def _served(authorization: str) -> dict:
    """A GetDeployment answer (embed=apisummary) serving both methods with one authorization."""
    return {
        "apiSummary": {
            spec.path: {spec.http_method: {"authorizationType": authorization}}
            for spec in contract.METHODS
        }
    }


def test_a_canary_on_the_stage_is_judged_with_the_deployment_it_serves() -> None:
    """A stage canary sends a share of the calls to another deployment: one whose methods
    are open FAILs API-009, and a canary at all is not the contract's. moto holds no canary
    settings (its stages drop them), so the answers are given here in AWS's shapes."""
    from types import SimpleNamespace

    from slsops.checks.api import deployed_methods_use_iam

    def context(stage: dict) -> SimpleNamespace:
        deployments = {"good": _served("AWS_IAM"), "open": _served("NONE")}

        def call(_service: str, operation: str, **params: Any) -> dict:
            return stage if operation == "get_stage" else deployments[params["deploymentId"]]

        return SimpleNamespace(stack={"api_id": "a1", "stage_name": "prod"}, call=call)

    clean = deployed_methods_use_iam(context({"deploymentId": "good"}))
    assert clean.status is Status.PASS, clean
    canary = {"deploymentId": "open", "percentTraffic": 10.0}
    found = deployed_methods_use_iam(context({"deploymentId": "good", "canarySettings": canary}))
    assert found.status is Status.FAIL, found
    assert "canary (10.0% of calls), deployment open: POST /logs: expected 'AWS_IAM'" in (
        found.detail
    ), found.detail
    same = {"deploymentId": "good", "percentTraffic": 5.0}
    found = deployed_methods_use_iam(context({"deploymentId": "good", "canarySettings": same}))
    assert found.status is Status.FAIL and "the stage has a canary" in found.detail, found
