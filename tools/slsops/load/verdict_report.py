"""The verdict file the gate wrote, read back so ``--severity``, ``--status`` and ``--fail-on``
apply to it as to every report.

The gate (loadtests/gate.py) writes every LOAD- result, inside Locust; the load command then
narrows what the file shows and judges the exit code by the threshold, so the file and the
exit code mean what they mean for ``slsops verify`` with the same options.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from slsops.commands.common import ReportFilters
from slsops.framework.formats import render, write_atomically
from slsops.framework.model import CheckResult, Severity, Status
from slsops.framework.report import Report

_SHAPE_KEYS = {"command", "target", "started_at", "duration_s", "summary", "checks", "shown"}


def _result(check: dict[str, Any]) -> CheckResult:
    return CheckResult(
        id=check["id"],
        title=check["title"],
        status=Status(check["status"]),
        severity=Severity(check["severity"]),
        detail=check["detail"],
        remediation=check["remediation"],
        evidence=check.get("evidence", {}),
    )


def read_report(path: Path) -> Report:
    """The report a verdict file holds (every result the gate wrote)."""
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    return Report(
        command=body["command"],
        target=body["target"],
        started_at=datetime.fromisoformat(body["started_at"]),
        duration_s=body["duration_s"],
        results=[_result(c) for c in body["checks"]],
        extra={k: v for k, v in body.items() if k not in _SHAPE_KEYS | {"fail_on"}},
    )


def apply_filters(path: Path, filters: ReportFilters) -> int:
    """Rewrite the verdict file with the filters' view and threshold (left as written when
    there are none); the exit code of the filtered report."""
    report = filters.applied_to(read_report(path))
    if report.view.narrowed or report.fail_on is not None:
        write_atomically(Path(path), render(report, "json"))
    return report.exit_code()
