"""The toolkit under DynamoDB faults: a check whose AWS call failed is ERROR, never PASS.

``slsops local faults`` makes the embedded AWS fail the DynamoDB calls the commands make:

* every call failing: ``verify`` (DDB-*) and ``audit`` report ERROR for the checks that needed
  the table, exit 1, and print no traceback;
* a transient fault (the next four calls throttled): the clients' retries absorb it, the same
  checks pass as without faults (what is safe to retry is retried);
* the drill's reads of its restored table failing: its comparisons are ERROR, and the drill
  still deletes the table it created.

Faults are cleared after every test, whatever happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from slsops.local import fault_admin

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]
CLI = (sys.executable, "-m", "slsops.cli")


@pytest.fixture
def faults(local_stack):
    endpoint = fault_admin.endpoint_of(local_stack)
    fault_admin.clear(endpoint)
    yield lambda *rules, seed=1: fault_admin.set_plan(endpoint, {"seed": seed, "rules": rules})
    fault_admin.clear(endpoint)


def report_of(local_stack, tmp_path, *args, max_attempts=None):
    """Run a report command; ``max_attempts``: botocore's attempts per call (default: ours)."""
    output = tmp_path / "report.json"
    env = dict(os.environ)
    env.pop("AWS_MAX_ATTEMPTS", None)
    if max_attempts is not None:
        env["AWS_MAX_ATTEMPTS"] = str(max_attempts)
    done = subprocess.run(  # noqa: S603  our own CLI, argv list, no shell
        [*CLI, *args, "--stack", str(local_stack.path), "--format", "json", "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    report = json.loads(output.read_text())
    return done.returncode, {c["id"]: c for c in report["checks"]}


def statuses(checks):
    return {cid: c["status"] for cid, c in checks.items()}


def test_verify_reports_error_when_dynamodb_fails(local_stack, tmp_path, faults):
    faults({"operation": "*", "kind": "internal", "rate": 1})
    code, checks = report_of(local_stack, tmp_path, "verify", "--only", "DDB-*")
    assert code == 1
    table_checks = {cid: s for cid, s in statuses(checks).items() if s != "SKIP"}
    assert len(table_checks) >= 6
    assert set(table_checks.values()) == {"ERROR"}, table_checks
    assert all("InternalServerError" in checks[c]["detail"] for c in table_checks)


def test_verify_retries_transient_throttling(local_stack, tmp_path, faults):
    _, baseline = report_of(local_stack, tmp_path, "verify", "--only", "DDB-*")
    # Four throttles in a row at most: botocore's standard mode makes 5 attempts per call.
    faults({"operation": "*", "kind": "throttle", "rate": 1, "max": 4})
    _, under_faults = report_of(local_stack, tmp_path, "verify", "--only", "DDB-*")
    injected = fault_admin.show(fault_admin.endpoint_of(local_stack))["counters"]
    assert injected["total_injected"] == 4, injected
    assert statuses(under_faults) == statuses(baseline)


def test_audit_reports_error_when_the_scan_fails(local_stack, tmp_path, faults):
    faults({"operation": "Scan", "kind": "throttle", "rate": 1})
    # Two attempts per call (the variable is botocore's own): a throttled Scan is given up on
    # as surely as with five, in a fraction of the backoff.
    code, checks = report_of(local_stack, tmp_path, "audit", max_attempts=2)
    assert code == 1
    scanning = {cid: c for cid, c in checks.items() if "Scan" in c["detail"]}
    assert len(scanning) >= 5
    assert {c["status"] for c in scanning.values()} == {"ERROR"}
    assert not any(c["status"] == "PASS" and "Scan" in c["detail"] for c in checks.values())


def test_audit_retries_transient_throttling(local_stack, tmp_path, faults):
    _, baseline = report_of(local_stack, tmp_path, "audit")
    faults({"operation": "Scan", "kind": "throttle", "rate": 1, "max": 4})
    _, under_faults = report_of(local_stack, tmp_path, "audit")
    injected = fault_admin.show(fault_admin.endpoint_of(local_stack))["counters"]
    assert injected["total_injected"] == 4, injected
    assert statuses(under_faults) == statuses(baseline)


def _drill_tables(local_stack):
    names = local_stack.client("dynamodb").list_tables()["TableNames"]
    return [n for n in names if n != local_stack["table_name"]]


def test_drill_reports_error_and_still_cleans_up(local_stack, tmp_path, faults):
    assert _drill_tables(local_stack) == []
    restored = f"{local_stack['table_name']}-drill*"  # the drill's tables, not the source
    faults(
        {"operation": "Scan", "kind": "internal", "rate": 1, "table": restored},
        {"operation": "Query", "kind": "internal", "rate": 1, "table": restored},
    )
    code, checks = report_of(local_stack, tmp_path, "drill", "--mode", "pitr")
    assert code == 1
    compared = [checks[c] for c in ("DRL-004", "DRL-005") if c in checks]
    assert compared, sorted(checks)
    assert [c["status"] for c in compared] == ["ERROR"] * len(compared), compared
    assert _drill_tables(local_stack) == [], "the drill left its table behind"
    cleanup = [c for c in checks.values() if "removed" in c["title"].lower()]
    assert cleanup and cleanup[0]["status"] == "PASS", cleanup
