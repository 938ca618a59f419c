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

import pytest
from aws_stub import AwsStub, stack_with
from stack_breaks import (
    access_log_retention,
    access_log_retention_back,
    alarm_threshold_raised,
    assert_only_failures,
    auth_iam,
    auth_iam_not_deployed,
    auth_none,
    auth_none_not_deployed,
    broken,
    delete_alarm,
    delete_config_rule,
    deletion_protection_off,
    deletion_protection_on,
    environment_back,
    environment_changed,
    grant_read_function_delete_item,
    long_sessions,
    long_sessions_back,
    memory,
    memory_back,
    pitr_off,
    pitr_on,
    reserved_concurrency,
    reserved_concurrency_back,
    restore_alarm,
    restore_config_rule,
    restore_ingest_invoke,
    restore_read_invoke,
    restore_trust,
    retention,
    retention_back,
    revoke_ingest_invoke,
    revoke_read_function_delete_item,
    revoke_read_invoke,
    rotation_off,
    rotation_on,
    run_cli,
    statuses,
    throttle,
    throttle_back,
    trust_without_external_id,
    ttl_off,
    ttl_on,
)
from typer.testing import CliRunner

from slsops import contract
from slsops.checks.compare import compared, differences
from slsops.checks.iam_roles import trust_problems
from slsops.checks.model import Status
from slsops.cli import app
from slsops.commands.verify import verify_checks
from slsops.local.apply import LOCAL_FEATURE_FLAGS
from slsops.stack import REQUIRED_OUTPUTS, Stack
from slsops.verify_context import Lookups, deployment_names

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


def test_deployment_names_follow_prefix_and_environment() -> None:
    names = deployment_names(stack_with(stage_name="staging", table_name="acme-logs-staging"))
    assert (names.prefix, names.environment) == ("acme", "staging")
    assert names.function("read") == "acme-read-recent-staging"
    assert deployment_names(stack_with(stage_name="prod", table_name="odd")) == contract.names()


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
    outputs = {name: {"value": f"x-{name}"} for name in REQUIRED_OUTPUTS}
    outputs.update({k: {"value": v} for k, v in extra.items()})
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
        (["verify", "--format", "xml", "--stack", "STACK"], "unknown --format"),
        (["roles", "--format", "yaml", "--stack", "STACK"], "unknown --format"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    path = _write_stack(tmp_path)
    result = _slsops(*[str(path) if a == "STACK" else a for a in args])
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ against the local stack


@pytest.mark.stack
def test_clean_stack_passes_verify(local_stack: Stack, tmp_path: Path) -> None:
    started = time.monotonic()
    report = assert_only_failures("verify", local_stack, tmp_path, set())
    assert time.monotonic() - started < 30, "verify on the local stack must finish in seconds"
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
    assert out.read_text(encoding="utf-8").count("<testcase") == 4


@pytest.mark.stack
def test_only_and_skip_select_checks(local_stack: Stack, tmp_path: Path) -> None:
    _, report = run_cli("verify", local_stack, tmp_path, "--only", "ddb-*", "--skip", "DDB-00[78]")
    assert [c["id"] for c in report["checks"]] == [f"DDB-00{n}" for n in range(1, 9)]
    skipped = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "SKIP"}
    assert skipped == {i: "skipped by --skip DDB-00[78]" for i in ("DDB-007", "DDB-008")}


BREAKS = [
    ("pitr-off", {"DDB-006"}, pitr_off, pitr_on),
    ("ttl-off", {"DDB-004"}, ttl_off, ttl_on),
    ("access-log-retention", {"API-006"}, access_log_retention, access_log_retention_back),
    ("read-concurrency", {"FN-004"}, reserved_concurrency, reserved_concurrency_back),
    ("read-environment", {"FN-005"}, environment_changed, environment_back),
    ("api-5xx-threshold", {"CW-002"}, alarm_threshold_raised, restore_alarm),
    ("ingest-long-sessions", {"IAM-003"}, long_sessions, long_sessions_back),
    ("deletion-protection-off", {"DDB-007"}, deletion_protection_off, deletion_protection_on),
    ("post-auth-none", {"API-002", "API-009"}, auth_none, auth_iam),
    ("post-auth-none-not-deployed", {"API-002"}, auth_none_not_deployed, auth_iam_not_deployed),
    ("throttle-rate", {"API-005"}, throttle, throttle_back),
    ("ingest-memory", {"FN-002"}, memory, memory_back),
    ("read-log-retention", {"FN-006"}, retention, retention_back),
    (
        "read-function-may-delete",
        {"FN-010"},
        grant_read_function_delete_item,
        revoke_read_function_delete_item,
    ),
    ("key-rotation-off", {"KMS-002"}, rotation_off, rotation_on),
    ("api-5xx-alarm-deleted", {"CW-001"}, delete_alarm, restore_alarm),
    ("read-trust-without-external-id", {"IAM-002"}, trust_without_external_id, restore_trust),
    ("config-rule-deleted", {"CFG-001"}, delete_config_rule, restore_config_rule),
    (
        "ingest-role-cannot-invoke",
        {"E2E-001", "E2E-002"},
        revoke_ingest_invoke,
        restore_ingest_invoke,
    ),
    ("read-role-cannot-invoke", {"E2E-002"}, revoke_read_invoke, restore_read_invoke),
]


@pytest.mark.stack
@pytest.mark.parametrize(
    ("expected", "break_it", "revert"),
    [pytest.param(e, b, r, id=name) for name, e, b, r in BREAKS],
)
def test_each_break_fails_exactly_its_checks(
    local_stack: Stack,
    tmp_path: Path,
    expected: set[str],
    break_it: Callable[[Stack], Any],
    revert: Callable[[Stack, Any], None],
) -> None:
    if expected & {"CFG-001"} and not local_stack.get("config_rules_enabled"):
        pytest.skip("the local stack has no Config rules (config_rules_enabled=false)")
    if expected & {"DDB-007"} and LOCAL_FEATURE_FLAGS.get("enable_deletion_protection") is False:
        pytest.skip("the local stack is applied without deletion protection")
    with broken(lambda: break_it(local_stack), lambda saved: revert(local_stack, saved)):
        assert_only_failures("verify", local_stack, tmp_path, expected)
    # The revert restored what the check looks at.
    only = [arg for check_id in sorted(expected) for arg in ("--only", check_id)]
    _, report = run_cli("verify", local_stack, tmp_path, *only)
    assert statuses(report, "PASS") == expected


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


def test_deployed_methods_check_reads_what_the_stage_serves() -> None:
    from slsops.checks.api import deployed_methods_use_iam

    assert deployed_methods_use_iam(AwsStub(_deployment("AWS_IAM"))).status is Status.PASS
    outcome = deployed_methods_use_iam(AwsStub(_deployment("NONE")))
    assert outcome.status is Status.FAIL and "POST /logs" in outcome.detail


def test_contributor_insights_is_checked_on_aws() -> None:
    from slsops.checks.dynamodb import contributor_insights

    answer = {("dynamodb", "describe_contributor_insights"): {"ContributorInsightsStatus": "X"}}
    assert contributor_insights(AwsStub(answer, table_name="t")).status is Status.FAIL
    answer = {
        ("dynamodb", "describe_contributor_insights"): {"ContributorInsightsStatus": "ENABLED"}
    }
    assert contributor_insights(AwsStub(answer, table_name="t")).status is Status.PASS


def test_recorder_check_needs_a_recording_recorder_on_aws() -> None:
    from slsops.checks.config_rules import recorder

    key = ("config", "describe_configuration_recorder_status")
    idle = {key: {"ConfigurationRecordersStatus": [{"name": "r", "recording": False}]}}
    busy = {key: {"ConfigurationRecordersStatus": [{"name": "r", "recording": True}]}}
    assert recorder(AwsStub(idle, config_rules_enabled=True)).status is Status.FAIL
    assert recorder(AwsStub(busy, config_rules_enabled=True)).status is Status.PASS
    assert recorder(AwsStub(busy, config_rules_enabled=False)).status is Status.SKIP
