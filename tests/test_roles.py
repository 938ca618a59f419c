"""``slsops roles``: signing, the DynamoDB matrix, and proof on the local stack that it can fail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from aws_stub import AwsStub, Pages
from stack_breaks import (
    assert_only_failures,
    auth_iam,
    auth_none,
    broken,
    grant_read_put_item,
    grant_table_action,
    restore_full_invoke,
    restore_full_trust,
    restore_ingest_invoke,
    restore_read_invoke,
    restore_trust,
    revoke_extra_policy,
    revoke_full_invoke,
    revoke_ingest_invoke,
    revoke_read_invoke,
    revoke_read_put_item,
    run_cli,
    statuses,
    trust_back,
    trust_external_id_changed,
    trust_without_external_id,
    trust_without_external_id_of,
    widen_full_trust,
)

from slsops.checks.roles import CHECKS, dynamodb_matrix_rows
from slsops.contract.numbers import STALE_SIGNATURE_AGE
from slsops.deployment.api_client import (
    RoleCredentials,
    Signing,
    _SigV4,
    foreign_credentials,
)
from slsops.deployment.stack import Stack
from slsops.framework.model import CheckResult, Severity, Status

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


# Each break makes exactly these checks FAIL in a whole roles run.
BREAKS = [
    pytest.param(
        {"ROLE-021"},
        grant_read_put_item,
        revoke_read_put_item,
        id="read-role-gets-put-item",
        marks=pytest.mark.breaks("ROLE-021"),
    ),
    pytest.param(
        {"ROLE-005", "ROLE-030"},
        trust_without_external_id,
        restore_trust,
        id="read-trust-without-external-id",
        marks=pytest.mark.breaks("ROLE-005", "ROLE-030"),
    ),
    pytest.param(
        {"ROLE-030"},
        widen_full_trust,
        restore_full_trust,
        id="full-trust-any-principal",
        marks=pytest.mark.breaks("ROLE-030"),
    ),
    pytest.param(
        {"ROLE-010"},
        revoke_ingest_invoke,
        restore_ingest_invoke,
        id="ingest-role-cannot-invoke",
        marks=pytest.mark.breaks("ROLE-010"),
    ),
    pytest.param(
        {"ROLE-011"},
        revoke_read_invoke,
        restore_read_invoke,
        id="read-role-cannot-invoke",
        marks=pytest.mark.breaks("ROLE-011"),
    ),
    pytest.param(
        {"ROLE-011", "ROLE-013", "ROLE-014", "ROLE-015", "ROLE-016"},
        auth_none,
        auth_iam,
        id="post-auth-none",
        marks=pytest.mark.breaks("ROLE-011", "ROLE-013", "ROLE-014", "ROLE-015", "ROLE-016"),
    ),
]


@pytest.mark.stack
@pytest.mark.parametrize(("expected", "break_it", "revert"), BREAKS)
def test_each_break_fails_exactly_its_role_checks(
    local_stack: Stack, tmp_path: Path, expected: set[str], break_it: Any, revert: Any
) -> None:
    with broken(lambda: break_it(local_stack), lambda saved: revert(local_stack, saved)):
        report = assert_only_failures("roles", local_stack, tmp_path, expected)
    # FAIL with what was seen, not an ERROR (a check that could not run has no evidence).
    broken_checks = [c for c in report["checks"] if c["id"] in expected]
    verdicts = {c["id"]: (c["status"], c["detail"]) for c in broken_checks}
    assert all(c["evidence"] for c in broken_checks), verdicts
    assert {status for status, _ in verdicts.values()} == {"FAIL"}, verdicts
    assert_only_failures("roles", local_stack, tmp_path, set())


# Each break makes the named check FAIL with a detail holding the text; only it runs (the
# other checks that use the same role fail or err too, which is not what these show).
TARGETED = [
    pytest.param(
        "ROLE-001",
        "AssumeRole with the role's external id was refused (AccessDenied)",
        trust_external_id_changed("ingest"),
        trust_back,
        id="ingest-trust-wants-another-external-id",
        marks=pytest.mark.breaks("ROLE-001"),
    ),
    pytest.param(
        "ROLE-002",
        "AssumeRole with the role's external id was refused (AccessDenied)",
        trust_external_id_changed("read"),
        trust_back,
        id="read-trust-wants-another-external-id",
        marks=pytest.mark.breaks("ROLE-002"),
    ),
    pytest.param(
        "ROLE-003",
        "AssumeRole with the role's external id was refused (AccessDenied)",
        trust_external_id_changed("full"),
        trust_back,
        id="full-trust-wants-another-external-id",
        marks=pytest.mark.breaks("ROLE-003"),
    ),
    pytest.param(
        "ROLE-004",
        "assumable with wrong external id; assumable with no external id",
        trust_without_external_id_of("ingest"),
        trust_back,
        id="ingest-trust-without-external-id",
        marks=pytest.mark.breaks("ROLE-004"),
    ),
    pytest.param(
        "ROLE-006",
        "assumable with wrong external id; assumable with no external id",
        trust_without_external_id_of("full"),
        trust_back,
        id="full-trust-without-external-id",
        marks=pytest.mark.breaks("ROLE-006"),
    ),
    pytest.param(
        "ROLE-012",
        "POST /logs answered 403, expected 2xx",
        revoke_full_invoke,
        restore_full_invoke,
        id="full-role-cannot-invoke",
        marks=pytest.mark.breaks("ROLE-012"),
    ),
    pytest.param(
        "ROLE-020",
        "dynamodb:Scan: allow, expected deny",
        grant_table_action("ingest", "dynamodb:Scan"),
        revoke_extra_policy,
        id="ingest-role-may-scan",
        marks=pytest.mark.breaks("ROLE-020"),
    ),
    pytest.param(
        "ROLE-022",
        "dynamodb:DeleteItem: allow, expected deny",
        grant_table_action("full", "dynamodb:DeleteItem"),
        revoke_extra_policy,
        id="full-role-may-delete-items",
        marks=pytest.mark.breaks("ROLE-022"),
    ),
]


@pytest.mark.stack
@pytest.mark.parametrize(("check_id", "needle", "break_it", "revert"), TARGETED)
def test_each_targeted_break_fails_its_role_check(
    local_stack: Stack, tmp_path: Path, check_id: str, needle: str, break_it: Any, revert: Any
) -> None:
    with broken(lambda: break_it(local_stack), lambda saved: revert(local_stack, saved)):
        code, report = run_cli("roles", local_stack, tmp_path, "--only", check_id)
    [result] = report["checks"]
    assert code == 1 and result["status"] == "FAIL", result
    assert needle in result["detail"], result["detail"]
    _, report = run_cli("roles", local_stack, tmp_path, "--only", check_id)
    assert statuses(report, "PASS") == {check_id}


class _RecordingApi(BaseHTTPRequestHandler):
    """A stand-in API on loopback: answers every request with ``status`` and records headers."""

    status = 403
    seen: ClassVar[list[dict[str, str]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b'{"message": "Forbidden"}' if self.status == 403 else b'{"logs": []}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def recording_api() -> Any:
    _RecordingApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.breaks("ROLE-015", "ROLE-016")
@pytest.mark.parametrize("check_id", ["ROLE-015", "ROLE-016"])
def test_stale_and_unknown_key_signatures_are_checked_on_aws(
    recording_api: Any, monkeypatch: pytest.MonkeyPatch, check_id: str
) -> None:
    """On an AWS target both run (no SKIP): a gateway that answers 2xx fails them."""
    from slsops.checks import roles as role_module

    monkeypatch.setattr(role_module, "credentials_for", lambda ctx, role: CREDS)
    port = recording_api.server_address[1]
    stub = AwsStub({}, api_url=f"http://127.0.0.1:{port}/prod", region="eu-west-1")
    run = next(c for c in CHECKS if c.id == check_id).run
    _RecordingApi.status = 403
    assert run(stub).status is Status.PASS
    _RecordingApi.status = 200
    outcome = run(stub)
    assert outcome.status is Status.FAIL
    assert "POST /logs answered 200, expected 403" in outcome.detail
    authorizations = [h["authorization"] for h in _RecordingApi.seen]
    assert len(authorizations) == 4
    if check_id == "ROLE-015":
        assert all(f"Credential={CREDS.access_key}/" in a for a in authorizations)
        stamps = [
            datetime.strptime(h["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            for h in _RecordingApi.seen
        ]
        assert all(datetime.now(UTC) - s > timedelta(minutes=5) for s in stamps)
    else:
        assert not any(CREDS.access_key in a for a in authorizations)


@pytest.mark.breaks("ROLE-021")
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
