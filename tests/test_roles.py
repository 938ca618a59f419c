"""``slsops roles``: signing, the DynamoDB matrix, and proof on the local stack that it can fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_stub import AwsStub, Pages
from stack_breaks import (
    assert_only_failures,
    auth_iam,
    auth_none,
    broken,
    grant_read_put_item,
    restore_full_trust,
    restore_ingest_invoke,
    restore_read_invoke,
    restore_trust,
    revoke_ingest_invoke,
    revoke_read_invoke,
    revoke_read_put_item,
    trust_without_external_id,
    widen_full_trust,
)

from slsops.api_client import (
    STALE_SIGNATURE_AGE,
    RoleCredentials,
    Signing,
    _SigV4,
    foreign_credentials,
)
from slsops.checks.model import CheckResult, Severity, Status
from slsops.checks.roles import CHECKS, dynamodb_matrix_rows
from slsops.stack import Stack

CREDS = RoleCredentials("ASIAEXAMPLEEXAMPLE01", "secret" * 6, "token-value")


def _signed(signing: Signing) -> requests.PreparedRequest:
    request = requests.Request(
        "POST", "http://127.0.0.1:1/prod/logs", data=b'{"message":"x"}'
    ).prepare()
    return _SigV4(CREDS, "eu-west-1", signing)(request)


def _signature(request: requests.PreparedRequest) -> str:
    return request.headers["Authorization"].rsplit("Signature=", 1)[1]


def test_valid_signature_scopes_execute_api_with_the_session_token() -> None:
    request = _signed(Signing.VALID)
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert (
        f"Credential={CREDS.access_key}/{today}/eu-west-1/execute-api/aws4_request"
        in (request.headers["Authorization"])
    )
    assert request.headers["x-amz-security-token"] == "token-value"
    assert len(_signature(request)) == 64


def test_stale_signature_is_dated_beyond_the_five_minute_window() -> None:
    request = _signed(Signing.STALE)
    stamp = datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    age = datetime.now(UTC) - stamp
    assert timedelta(minutes=5) < age <= STALE_SIGNATURE_AGE + timedelta(minutes=1)


def test_tampered_signature_differs_in_one_digit() -> None:
    valid, tampered = _signed(Signing.VALID), _signed(Signing.TAMPERED)
    a, b = _signature(valid), _signature(tampered)
    if valid.headers["x-amz-date"] == tampered.headers["x-amz-date"]:
        assert sum(x != y for x, y in zip(a, b, strict=True)) == 1
    assert a != b


def test_each_request_is_signed_anew() -> None:
    signer = _SigV4(CREDS, "eu-west-1", Signing.VALID)
    first = signer(requests.Request("GET", "http://127.0.0.1:1/prod/logs/recent").prepare())
    second = signer(
        requests.Request("GET", "http://127.0.0.1:1/prod/logs/recent?limit=2").prepare()
    )
    assert _signature(first) != _signature(second)


def test_foreign_credentials_are_new_each_time() -> None:
    assert foreign_credentials().access_key != foreign_credentials().access_key


def test_role_check_ids_are_unique_and_prefixed() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids)) and all(i.startswith("ROLE-") for i in ids)
    assert {"ROLE-013", "ROLE-014", "ROLE-015", "ROLE-016", "ROLE-030"} <= set(ids)


def _result(check_id: str, matrix: dict[str, Any]) -> CheckResult:
    return CheckResult(check_id, "t", Status.PASS, Severity.HIGH, "", "", {"matrix": matrix})


def test_matrix_rows_mark_what_differs_from_the_contract() -> None:
    cell_ok = {"expected": "deny", "actual": "deny"}
    cell_bad = {"expected": "deny", "actual": "allow"}
    results = [
        _result("ROLE-020", {"dynamodb:PutItem": cell_ok}),
        _result("ROLE-021", {"dynamodb:PutItem": cell_bad}),
    ]
    headers, rows = dynamodb_matrix_rows(results)
    assert headers == ["action", "ingest", "read"]
    assert rows[0] == ["dynamodb:PutItem", "deny", "allow (want deny)"]


# ------------------------------------------------------------------ against the local stack


@pytest.mark.stack
def test_clean_stack_passes_roles(local_stack: Stack, tmp_path: Path) -> None:
    report = assert_only_failures("roles", local_stack, tmp_path, set())
    by_id = {c["id"]: c for c in report["checks"]}
    assert "assumed-role/" in by_id["ROLE-001"]["evidence"]["identity"]["Arn"]
    assert by_id["ROLE-015"]["status"] == "PASS"  # the local stack can make stale signatures
    matrix = by_id["ROLE-022"]["evidence"]["matrix"]
    assert matrix["dynamodb:Scan"] == {"expected": "allow", "actual": "allow"}
    assert matrix["dynamodb:DeleteTable"] == {"expected": "deny", "actual": "deny"}


BREAKS = [
    ("read-role-gets-put-item", {"ROLE-021"}, grant_read_put_item, revoke_read_put_item),
    (
        "read-trust-without-external-id",
        {"ROLE-005", "ROLE-030"},
        trust_without_external_id,
        restore_trust,
    ),
    ("full-trust-any-principal", {"ROLE-030"}, widen_full_trust, restore_full_trust),
    ("ingest-role-cannot-invoke", {"ROLE-010"}, revoke_ingest_invoke, restore_ingest_invoke),
    ("read-role-cannot-invoke", {"ROLE-011"}, revoke_read_invoke, restore_read_invoke),
    (
        "post-auth-none",
        {"ROLE-011", "ROLE-013", "ROLE-014", "ROLE-015", "ROLE-016"},
        auth_none,
        auth_iam,
    ),
]


@pytest.mark.stack
@pytest.mark.parametrize(
    ("expected", "break_it", "revert"),
    [pytest.param(e, b, r, id=name) for name, e, b, r in BREAKS],
)
def test_each_break_fails_exactly_its_role_checks(
    local_stack: Stack, tmp_path: Path, expected: set[str], break_it: Any, revert: Any
) -> None:
    with broken(lambda: break_it(local_stack), lambda saved: revert(local_stack, saved)):
        report = assert_only_failures("roles", local_stack, tmp_path, expected)
    assert all(c["evidence"] for c in report["checks"] if c["id"] in expected)
    assert_only_failures("roles", local_stack, tmp_path, set())


def test_dynamodb_matrix_uses_simulate_principal_policy_on_aws() -> None:
    from slsops.checks.roles import CHECKS as ROLE_CHECKS

    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/simple-log-service-logs-prod"
    roles = {
        k: {"arn": f"arn:aws:iam::123456789012:role/r-{k}"} for k in ("ingest", "read", "full")
    }
    simulated = Pages(
        [
            {
                "EvaluationResults": [
                    {"EvalActionName": "dynamodb:PutItem", "EvalDecision": "allowed"},
                    {"EvalActionName": "dynamodb:Query", "EvalDecision": "implicitDeny"},
                ]
            }
        ]
    )
    stub = AwsStub({}, {"simulate_principal_policy": simulated}, table_arn=table, roles=roles)
    read_matrix = next(c for c in ROLE_CHECKS if c.id == "ROLE-021")
    outcome = read_matrix.run(stub)
    assert outcome.status is Status.FAIL
    assert outcome.evidence["method"] == "iam:SimulatePrincipalPolicy"
    assert outcome.evidence["matrix"]["dynamodb:PutItem"] == {"expected": "deny", "actual": "allow"}
    assert simulated.calls[0]["PolicySourceArn"] == roles["read"]["arn"]
    assert simulated.calls[0]["ResourceArns"] == [table]


def test_expired_and_foreign_credentials_skip_on_aws_with_the_reason() -> None:
    for check_id in ("ROLE-015", "ROLE-016"):
        outcome = next(c for c in CHECKS if c.id == check_id).run(AwsStub({}))
        assert outcome.status is Status.SKIP and "on AWS" in outcome.detail
