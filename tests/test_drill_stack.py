"""slsops drill on the local stack: canaries through the API, signed as the ingest role.

The in-process drill tests write canaries with the ingest code directly; this one drives the
real write path (API Gateway emulator, SigV4 as the ingest role, the ingest Lambda) and the
local stack's PITR emulation with the documented short test lag.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from log_service import keys

pytestmark = pytest.mark.stack


def test_a_pitr_drill_on_the_local_stack_passes_through_the_api(local_stack, tmp_path):
    report_path, evidence_path = tmp_path / "report.json", tmp_path / "evidence.json"
    done = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "slsops.cli",
            "drill",
            "--stack",
            str(local_stack.path),
            "--guard-seconds",
            "0.5",
            "--format",
            "json",
            "--output",
            str(report_path),
            "--evidence",
            str(evidence_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(report_path.read_text())
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert done.returncode == 0, (done.stderr[-2000:], report["drill"]["error"], statuses)
    assert statuses.pop("DRL-007") == "WARN"
    assert set(statuses.values()) <= {"PASS", "SKIP"}, statuses
    assert statuses["DRL-011"] == "PASS" and statuses["DRL-004"] == "PASS"
    evidence = json.loads(evidence_path.read_text())
    drill = evidence["drill"]
    assert ":assumed-role/" in drill["identity"]["canary_writer"]
    assert drill["canaries"]["service_name"] == keys.DRILL_SERVICE
    assert [c["entry"] for c in drill["canaries"]["canaries"]] == ["identical"] * 3 + ["absent"]
    external_ids = [r.get("external_id") for r in (local_stack["roles"] or {}).values()]
    text = evidence_path.read_text()
    assert not [e for e in external_ids if e and e in text], "an external id leaked"
    names = local_stack.client("dynamodb").list_tables()["TableNames"]
    assert not [n for n in names if n.startswith(f"{local_stack['table_name']}-drill-")]
