"""Runs checks concurrently and turns exceptions into ERROR results."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slsops.checks.model import Check, CheckResult, Status
from slsops.redact import redact_text


def select(
    checks: Iterable[Check], only: Sequence[str] = (), skip: Sequence[str] = ()
) -> list[Check]:
    """Checks whose id matches one of ``only`` (all when empty) and none of ``skip``."""

    def matches(check_id: str, patterns: Sequence[str]) -> bool:
        return any(fnmatch.fnmatchcase(check_id, p.strip()) for p in patterns if p.strip())

    chosen = [c for c in checks if not only or matches(c.id, only)]
    return [c for c in chosen if not matches(c.id, skip)]


def run_one(check: Check, context: Any) -> CheckResult:
    started = time.perf_counter()
    try:
        outcome = check.run(context)
        status, detail, evidence = outcome.status, outcome.detail, outcome.evidence
    except Exception as exc:  # a failed AWS call is an ERROR, never a PASS
        status = Status.ERROR
        detail = redact_text(f"{type(exc).__name__}: {exc}")
        evidence = {}
    return CheckResult(
        id=check.id,
        title=check.title,
        status=status,
        severity=check.severity,
        detail=detail,
        remediation=check.remediation,
        evidence=evidence,
        duration_s=round(time.perf_counter() - started, 3),
    )


def run_checks(checks: Sequence[Check], context: Any, workers: int = 8) -> list[CheckResult]:
    """Run independent checks in parallel; results keep the order of ``checks``."""
    if not checks:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(checks)))) as pool:
        return list(pool.map(lambda c: run_one(c, context), checks))
