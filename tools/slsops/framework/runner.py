"""Runs checks concurrently and turns exceptions into ERROR results.

Which checks run is decided here, in one place, for every report command: ``--only`` and
``--skip`` (ids or globs, case-insensitive; a pattern that matches nothing is a usage error),
and the kind of deployment (a check registered ``runs_on="aws"`` is SKIP on the local stack with
the reason from ``contract.LOCAL_GAPS``). Those are the only two causes of a SKIP the runner
makes; anything else a check reports itself.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slsops.contract import LOCAL_GAPS
from slsops.errors import UsageError
from slsops.framework.model import Check, CheckResult, Status
from slsops.redact import redact_text

LOCAL_ONLY_REASON = "reads what only the local stack has (runs_on=local); not run on AWS"


def patterns(values: Iterable[str] | None) -> list[str]:
    """``--only``/``--skip`` values as single patterns: repeatable and comma-separated."""
    return [p.strip() for value in values or () for p in value.split(",") if p.strip()]


def matching(check_id: str, pattern: str) -> bool:
    """Whether ``check_id`` matches the id or glob ``pattern``, ignoring case."""
    return fnmatch.fnmatchcase(check_id.upper(), pattern.upper())


def first_match(check_id: str, wanted: Sequence[str]) -> str | None:
    return next((p for p in wanted if matching(check_id, p)), None)


def refuse_unmatched(checks: Sequence[Check], option: str, wanted: Sequence[str]) -> None:
    """Exit 2 naming every pattern that matches no check: a typo must not pass silently."""
    unmatched = [p for p in wanted if not any(matching(c.id, p) for c in checks)]
    if unmatched:
        raise UsageError(
            f"{option} {', '.join(unmatched)} matches no check id (`slsops checks` lists them)"
        )


def plan(
    checks: Iterable[Check], only: Iterable[str] | None = (), skip: Iterable[str] | None = ()
) -> list[tuple[Check, str | None]]:
    """Each check ``--only`` keeps, with ``None`` (run it) or why ``--skip`` left it out."""
    every = list(checks)
    only_patterns, skip_patterns = patterns(only), patterns(skip)
    refuse_unmatched(every, "--only", only_patterns)
    refuse_unmatched(every, "--skip", skip_patterns)
    planned: list[tuple[Check, str | None]] = []
    for c in every:
        if only_patterns and first_match(c.id, only_patterns) is None:
            continue
        pattern = first_match(c.id, skip_patterns)
        planned.append((c, None if pattern is None else f"skipped by --skip {pattern}"))
    return planned


def deployment_gap(check: Check, target_kind: str) -> str | None:
    """Why a deployment of ``target_kind`` cannot hold what ``check`` reads (None: it can)."""
    if check.runs_on == "aws" and target_kind == "local":
        if check.id not in LOCAL_GAPS:
            raise LookupError(
                f"{check.id} is registered runs_on='aws' but contract.LOCAL_GAPS gives no reason"
            )
        return f"the local stack cannot hold it: {LOCAL_GAPS[check.id]}"
    if check.runs_on == "local" and target_kind != "local":
        return LOCAL_ONLY_REASON
    return None


def result_of(
    check: Check,
    status: Status,
    detail: str,
    duration_s: float = 0.0,
    evidence: dict[str, Any] | None = None,
) -> CheckResult:
    """The check's metadata with one outcome: what every report format shows."""
    return CheckResult(
        id=check.id,
        title=check.title,
        status=status,
        severity=check.severity,
        detail=detail,
        remediation=check.remediation,
        evidence=evidence or {},
        duration_s=duration_s,
    )


def run_one(check: Check, context: Any) -> CheckResult:
    started = time.perf_counter()
    try:
        outcome = check.run(context)
        status, detail, evidence = outcome.status, outcome.detail, outcome.evidence
    except Exception as exc:  # a failed AWS call is an ERROR, never a PASS
        status = Status.ERROR
        detail = redact_text(f"{type(exc).__name__}: {exc}")
        evidence = {}
    took = round(time.perf_counter() - started, 3)
    return result_of(check, status, detail, took, evidence)


def run_checks(checks: Sequence[Check], context: Any, workers: int = 8) -> list[CheckResult]:
    """Run independent checks in parallel; results keep the order of ``checks``."""
    if not checks:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(checks)))) as pool:
        return list(pool.map(lambda c: run_one(c, context), checks))


def run_planned(
    planned: Sequence[tuple[Check, str | None]],
    context: Any,
    target_kind: str,
    workers: int = 8,
) -> list[CheckResult]:
    """Run what :func:`plan` kept; ``--skip`` and deployment gaps become SKIP results.

    Results keep the order of ``planned``, skipped checks included, so the report shows every
    check it was asked about and why one did not run.
    """
    decided: dict[int, CheckResult] = {}
    to_run: list[tuple[int, Check]] = []
    for position, (c, skip_reason) in enumerate(planned):
        if skip_reason is not None:
            by_option = {"skipped_by": "option"}
            decided[position] = result_of(c, Status.SKIP, skip_reason, evidence=by_option)
            continue
        try:
            gap = deployment_gap(c, target_kind)
        except LookupError as exc:
            decided[position] = result_of(c, Status.ERROR, str(exc))
            continue
        if gap is not None:
            by_kind = {"skipped_by": "deployment"}
            decided[position] = result_of(c, Status.SKIP, gap, evidence=by_kind)
        else:
            to_run.append((position, c))
    ran = run_checks([c for _, c in to_run], context, workers)
    decided.update({position: r for (position, _), r in zip(to_run, ran, strict=True)})
    return [decided[position] for position in range(len(planned))]
