"""The release gate's verdict: measured load-test numbers against a profile of targets.

Where the verdict is computed, and why: in the Locust process that holds the aggregated stats
(the master in distributed mode, the only process otherwise), from ``environment.stats`` in a
``quitting`` listener (see loadtests/gate.py). Three reasons: the number of log entries stored
(batch requests carry up to 100) and the content checks of reads exist only in that process;
the CSV Locust writes has no entry count; and the listener can set Locust's exit code itself.
This module takes plain numbers (:class:`Measurements`), so it imports no Locust (which
monkeypatches the process) and is unit-tested with synthetic stats.

Checks: every LOAD- id is written out in :mod:`slsops.load.check_ids`, and :data:`CHECKS`
lists them for the catalogue (``slsops checks``). A target the profile sets is gated: PASS
when met, FAIL when breached, and FAIL when the run made no request of its kind (not measured:
a narrowed ``--tags``/``--classes`` selection is named as the cause). A metric the profile
leaves without a target is reported next to the checks, never a check itself. LOAD-WINDOW is
gated whatever the profile (when the run was asked for a run time): a run whose requests
stopped well before the end asked measured less than it claims.

The pieces: what was measured (:mod:`.measurements`), the targets (:mod:`.profile`), one row
per metric (:mod:`.verdict_rows`), the operator's table (:mod:`.verdict_table`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slsops.framework.model import Check, CheckResult, Outcome, Severity, skipped
from slsops.framework.report import Report
from slsops.load.check_ids import (
    BURST_ID,
    ERROR_RATIO_ID,
    INGEST_RATE_ID,
    LATENCY_CHECK_IDS,
    READ_RATE_ID,
    WINDOW_ID,
)
from slsops.load.measurements import KINDS_BY_ID, PERCENTILE_RESOLUTION, Measurements, RequestKind
from slsops.load.profile import Profile
from slsops.load.verdict_rows import (
    ERROR_FIX,
    LATENCY_FIX,
    RATE_FIX,
    WINDOW_FIX,
    Row,
    Run,
    burst_row,
    error_ratio_row,
    ingest_rate_row,
    latency_row,
    read_rate_row,
    window_row,
)

DOC = "runbooks/pre-release-load-test.md"
_READS = "Locust's aggregated stats"


def _latency_judge(check_id: str, kind: RequestKind, percentile: str) -> Any:
    def judge(run: Run) -> Outcome:
        row = latency_row(check_id, kind, percentile, run)
        if row is None:
            return skipped(
                f"profile {run.profile.name!r} sets no {percentile} target for {kind.label} "
                "and the run made no such request"
            )
        return row.outcome(run.profile)

    return judge


def _whole_run_judge(build: Any) -> Any:
    return lambda run: build(run).outcome(run.profile)


def _window_judge(run: Run) -> Outcome:
    row = window_row(run)
    if row is None:
        return skipped("the run was asked for no run time (it ran until stopped): no window")
    return row.outcome(run.profile)


def _catalogue() -> list[Check]:
    checks = [
        Check(
            check_id,
            f"{percentile} latency of {KINDS_BY_ID[kind_id].label} within the profile's bound",
            Severity.HIGH,
            LATENCY_FIX,
            _latency_judge(check_id, KINDS_BY_ID[kind_id], percentile),
            reads=f"{_READS}: {percentile} of {KINDS_BY_ID[kind_id].method} "
            f"{KINDS_BY_ID[kind_id].name}; loadtests/targets.toml",
            runs_on="both",
            doc=DOC,
        )
        for (kind_id, percentile), check_id in LATENCY_CHECK_IDS.items()
    ]
    whole_run = (
        (
            INGEST_RATE_ID,
            "Log entries stored per second reach the target",
            ingest_rate_row,
            RATE_FIX,
            "entries the generator saw stored (201/207 results) per second of the measured window",
        ),
        (
            READ_RATE_ID,
            "Successful reads per second reach the target",
            read_rate_row,
            RATE_FIX,
            "successful GET /logs/recent requests over the measured window",
        ),
        (
            BURST_ID,
            "Peak requests per second (1-s window) reach the target",
            burst_row,
            RATE_FIX,
            "requests per 1-s window (num_reqs_per_sec)",
        ),
        (
            ERROR_RATIO_ID,
            "Failed requests (status or content) within the error ratio",
            error_ratio_row,
            ERROR_FIX,
            "failed requests (wrong status or wrong answer) and task exceptions / requests",
        ),
    )
    checks += [
        Check(
            check_id,
            title,
            Severity.HIGH,
            fix,
            _whole_run_judge(build),
            reads=f"{_READS}: {what}; loadtests/targets.toml",
            runs_on="both",
            doc=DOC,
        )
        for check_id, title, build, fix, what in whole_run
    ]
    checks.append(
        Check(
            WINDOW_ID,
            "The requests cover the measured time asked (the run did not stop early)",
            Severity.HIGH,
            WINDOW_FIX,
            _window_judge,
            reads=f"{_READS}: the last request's time against the stats reset and the end "
            "asked (--run-time)",
            runs_on="both",
            doc=DOC,
        )
    )
    return checks


CHECKS: list[Check] = _catalogue()


def evaluate(measured: Measurements, profile: Profile, narrowed_by: str = "") -> list[Row]:
    """Every metric of the run against the profile, in catalogue order.

    A row per gated target (a LOAD- check: PASS, FAIL, or FAIL as not measured) and per
    measured metric the profile does not gate (reported only).
    """
    run = Run(measured, profile, narrowed_by)
    rows = [
        latency_row(check_id, KINDS_BY_ID[kind_id], percentile, run)
        for (kind_id, percentile), check_id in LATENCY_CHECK_IDS.items()
    ]
    rows += [ingest_rate_row(run), read_rate_row(run), burst_row(run), error_ratio_row(run)]
    rows.append(window_row(run))
    return [row for row in rows if row is not None]


def left_out(rows: list[Row]) -> list[str]:
    """Gated targets the run did not measure."""
    return [row.check_id for row in rows if row.gated and row.not_measured]


def unmeasurable(profile: Profile, kinds: set[str]) -> list[str]:
    """Gated targets of ``profile`` that a run making only ``kinds`` of requests cannot measure.

    The same rule as :func:`evaluate`'s "not measured", known before the run from the
    scenario selection (slsops.load.scenarios), so the gate can name them up front.
    """
    ids = [
        check_id
        for (kind_id, percentile), check_id in LATENCY_CHECK_IDS.items()
        if getattr(profile.latency[kind_id], f"{percentile.lower()}_ms") is not None
        and kind_id not in kinds
    ]
    if profile.ingest_logs_per_s is not None and all(KINDS_BY_ID[k].is_read for k in kinds):
        ids.append(INGEST_RATE_ID)
    if profile.read_queries_per_s is not None and not any(KINDS_BY_ID[k].is_read for k in kinds):
        ids.append(READ_RATE_ID)
    if not kinds:
        ids += [BURST_ID] * (profile.burst_rps is not None) + [ERROR_RATIO_ID]
    return ids


def to_report(
    rows: list[Row],
    measured: Measurements,
    profile: Profile,
    target: dict[str, Any],
    started_at: datetime,
    duration_s: float,
    narrowed_by: str = "",
) -> Report:
    """The verdict in the shared report shape (command ``load``): one LOAD- check per gated
    target; metrics the profile does not gate are figures under ``load.reported``."""
    results = [
        CheckResult(
            id=row.check_id,
            title=row.metric,
            status=row.status,
            severity=Severity.HIGH,
            detail=row.detail,
            remediation=row.remediation,
            evidence=row.evidence | {"target_text": row.target, "measured_text": row.measured},
        )
        for row in rows
        if row.gated
    ]
    extra = {
        "load": {
            "profile": profile.name,
            "narrowed_by": narrowed_by,
            "left_out": left_out(rows),
            "percentile_resolution": PERCENTILE_RESOLUTION,
            "measurements": measured.as_dict(),
            "reported": [
                {"id": row.check_id, "metric": row.metric, "measured": row.measured}
                for row in rows
                if not row.gated
            ],
        }
    }
    return Report("load", target, started_at, duration_s, results, extra)
