"""The verdict's rows: each metric of a run against its profile's target (pure).

A gated row is a LOAD- check (PASS, FAIL, or FAIL as not measured); a row the profile does
not gate is reported beside the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slsops.framework.model import Outcome, Status, skipped
from slsops.load.check_ids import (
    BURST_ID,
    ERROR_RATIO_ID,
    INGEST_RATE_ID,
    READ_RATE_ID,
    WINDOW_ID,
)
from slsops.load.measurements import KINDS_BY_ID, WINDOW_COVERAGE, Measurements, RequestKind
from slsops.load.profile import Profile


@dataclass(frozen=True)
class Run:
    """What a verdict judges: the measurements, the profile, and how the scenarios were narrowed.

    ``narrowed_by`` is the scenario selection given on the command line (``--tags read``),
    empty when the profile's own scenarios ran; it names why a gated target went unmeasured.
    """

    measured: Measurements
    profile: Profile
    narrowed_by: str = ""


@dataclass(frozen=True)
class Row:
    """One line of the verdict table; a gated row is a check in the report."""

    check_id: str
    metric: str
    target: str
    measured: str
    status: Status
    detail: str
    evidence: dict[str, Any]
    remediation: str
    gated: bool = True

    @property
    def not_measured(self) -> bool:
        return bool(self.evidence.get("not_measured"))

    @property
    def verdict(self) -> str:
        if not self.gated:
            return "info"
        if self.not_measured:
            return "NOT MEASURED"
        return {Status.PASS: "pass", Status.FAIL: "BREACH"}.get(self.status, self.status.value)

    def outcome(self, profile: Profile) -> Outcome:
        """The row as a check outcome; a metric the profile does not gate compared nothing."""
        if not self.gated:
            return skipped(
                f"profile {profile.name!r} sets no target for {self.metric}: reported "
                f"({self.measured}), not gated",
                **self.evidence,
            )
        return Outcome(self.status, self.detail, self.evidence)


LATENCY_FIX = (
    "See runbooks/pre-release-load-test.md, 'Latency breach': check Lambda duration and "
    "throttles, DynamoDB latency and throttled requests, cold starts, then re-run."
)
RATE_FIX = (
    "See runbooks/pre-release-load-test.md, 'Throughput breach': confirm the generator was not "
    "the limit (CPU, users, workers), then check API Gateway throttling and Lambda concurrency."
)
ERROR_FIX = (
    "See runbooks/pre-release-load-test.md, 'Error breach': read the Failures section of the "
    "HTML report (status codes, wrong answers), then the functions' logs."
)
WINDOW_FIX = (
    "See runbooks/pre-release-load-test.md, 'The run ended early': read Locust's log for an "
    "interruption, lost workers or users that stopped, then re-run to the end."
)
_UNMEASURED_FIX = (
    "Run the scenarios that make these requests (drop --tags/--classes, or choose a profile "
    "that gates only what the selection measures)."
)


def _ms(value: float | None) -> str:
    return "reported" if value is None else f"<= {value:g} ms"


def _unmeasured(what: str, run: Run) -> str:
    why = (
        f"the scenario selection {run.narrowed_by} leaves it out"
        if run.narrowed_by
        else "the scenarios made none in the measured window"
    )
    return f"not measured: the run made no {what} ({why}); a gated target must be measured"


def latency_row(check_id: str, kind: RequestKind, percentile: str, run: Run) -> Row | None:
    """One percentile of one request kind; None when neither gated nor measured."""
    key = f"{percentile.lower()}_ms"
    bound = getattr(run.profile.latency[kind.id], key)
    stats = run.measured.kinds.get(kind.id)
    metric = f"{percentile} {kind.label}"
    evidence: dict[str, Any] = {"kind": kind.id, "percentile": percentile, "target_ms": bound}
    if stats is None:
        if bound is None:
            return None
        return Row(
            check_id,
            metric,
            _ms(bound),
            "not measured",
            Status.FAIL,
            _unmeasured(f"{kind.method} {kind.name} request", run),
            evidence | {"not_measured": True, "requests": 0},
            _UNMEASURED_FIX,
        )
    value = getattr(stats, key)
    ok_count = stats.successes_timed
    evidence |= {
        "requests": stats.requests,
        "failures": stats.failures,
        "successes_timed": ok_count,
        "failures_timed": stats.failures_timed,
    }
    if ok_count <= 0:
        return Row(
            check_id,
            metric,
            _ms(bound),
            "no success",
            Status.FAIL,
            f"{percentile} of {kind.method} {kind.name}: none of its {stats.requests} requests "
            "succeeded, so there is no latency to judge (failures' times are not a latency)",
            evidence,
            ERROR_FIX,
            gated=bound is not None,
        )
    if stats.failures_timed and bound is not None:
        return Row(
            check_id,
            metric,
            _ms(bound),
            f"{value:g} ms (with failures)",
            Status.FAIL,
            f"{percentile} of {kind.method} {kind.name} is {value:g} ms over {stats.requests} "
            f"requests, {stats.failures_timed} of them failed: failures' times would lower it, "
            "so it is not judged",
            evidence | {"measured_ms": value},
            ERROR_FIX,
        )
    excluded = f" ({stats.failures} failed excluded)" if stats.failures else ""
    ok = bound is None or value <= bound
    return Row(
        check_id,
        metric,
        _ms(bound),
        f"{value:g} ms",
        Status.PASS if ok else Status.FAIL,
        f"{percentile} of {kind.method} {kind.name} is {value:g} ms over "
        f"{ok_count} successful requests{excluded}"
        + ("" if bound is None else f" (target <= {bound:g} ms)"),
        evidence | {"measured_ms": value},
        LATENCY_FIX,
        gated=bound is not None,
    )


def _rate_row(
    check_id: str,
    metric: str,
    unit: str,
    value: float,
    bound: float | None,
    measured_what: str | None,
    run: Run,
) -> Row:
    """A rate that must reach ``bound``; ``measured_what`` is None when the run measured it,
    else what the run made none of."""
    measured = run.measured
    evidence = {
        "measured": round(value, 2),
        "target": bound,
        "window_s": round(measured.window_s, 3),
        "asked_window_s": round(measured.asked_window_s, 3),
    }
    if bound is None:
        return Row(
            check_id,
            metric,
            "reported",
            f"{value:.1f} {unit}",
            Status.PASS,
            f"{metric}: {value:.1f} {unit} (not gated)",
            evidence,
            RATE_FIX,
            gated=False,
        )
    target = f">= {bound:g} {unit}"
    if measured_what is not None:
        return Row(
            check_id,
            metric,
            target,
            "not measured",
            Status.FAIL,
            f"{metric}: {_unmeasured(measured_what, run)}",
            evidence | {"not_measured": True},
            _UNMEASURED_FIX,
        )
    return Row(
        check_id,
        metric,
        target,
        f"{value:.1f} {unit}",
        Status.PASS if value >= bound else Status.FAIL,
        f"{metric}: {value:.1f} {unit} over {measured.rate_window_s:.1f} s (target >= {bound:g})"
        + (_early(measured) if check_id != BURST_ID else ""),
        evidence,
        RATE_FIX,
    )


def _early(measured: Measurements) -> str:
    """Why a rate is over more time than its requests span: the run stopped early."""
    short = measured.asked_window_s - measured.window_s
    if short <= (1 - WINDOW_COVERAGE) * measured.asked_window_s:
        return ""
    return (
        f"; the requests ended {short:.1f} s early (last one {measured.window_s:.1f} s into the "
        f"{measured.asked_window_s:.1f} s asked): rates are over the time asked"
    )


def ingest_rate_row(run: Run) -> Row:
    ran = any(not KINDS_BY_ID[k].is_read for k in run.measured.kinds)
    return _rate_row(
        INGEST_RATE_ID,
        "logs/s ingested (entries)",
        "logs/s",
        run.measured.logs_per_s,
        run.profile.ingest_logs_per_s,
        None if ran else "POST /logs request",
        run,
    )


def read_rate_row(run: Run) -> Row:
    ran = any(KINDS_BY_ID[k].is_read for k in run.measured.kinds)
    return _rate_row(
        READ_RATE_ID,
        "queries/s (successful reads)",
        "queries/s",
        run.measured.queries_per_s,
        run.profile.read_queries_per_s,
        None if ran else "GET /logs/recent request",
        run,
    )


def burst_row(run: Run) -> Row:
    return _rate_row(
        BURST_ID,
        "peak requests/s (1-s window)",
        "requests/s",
        float(run.measured.peak_rps),
        run.profile.burst_rps,
        None if run.measured.total_requests else "request",
        run,
    )


def error_ratio_row(run: Run) -> Row:
    measured, bound = run.measured, run.profile.max_error_ratio
    ratio = measured.error_ratio
    evidence = {
        "failures": measured.total_failures,
        "requests": measured.total_requests,
        "task_errors": measured.task_errors,
        "unanswered": measured.unanswered,
        "measured": round(ratio, 6),
        "target": bound,
    }
    if measured.total_requests == 0:
        return Row(
            ERROR_RATIO_ID,
            "error ratio (status + content)",
            f"<= {bound:.3%}",
            "no requests",
            Status.FAIL,
            "error ratio: not measured: the run made no requests at all",
            evidence | {"not_measured": True},
            ERROR_FIX,
        )
    raised = (
        f", and the generator's tasks raised {measured.task_errors} exception"
        f"{'s' * (measured.task_errors != 1)} (counted as failed requests: a check that raised "
        "left its request unjudged)"
        if measured.task_errors
        else ""
    )
    if measured.unanswered:
        raised += (
            f", and {measured.unanswered} request{'s' * (measured.unanswered != 1)} got no "
            "answer before Locust stopped waiting (counted as failed requests: a hung request "
            "is never recorded by Locust)"
        )
    return Row(
        ERROR_RATIO_ID,
        "error ratio (status + content)",
        f"<= {bound:.3%}",
        f"{ratio:.3%}",
        Status.PASS if ratio <= bound else Status.FAIL,
        f"error ratio: {measured.total_failures} of {measured.total_requests} requests failed "
        f"(status or content){raised}, {ratio:.3%}; target <= {bound:.3%}"
        + _most_frequent(measured),
        evidence | {"failures_seen": [vars(f) for f in measured.failures_seen]},
        ERROR_FIX,
    )


def _most_frequent(measured: Measurements) -> str:
    """What the failures were: the most frequent ones (the failures CSV lists them all)."""
    if not measured.failures_seen:
        return ""
    named = "; ".join(f"{f.what} ({f.occurrences}x)" for f in measured.failures_seen)
    others = measured.failure_kinds - len(measured.failures_seen)
    more = f"; {others} other kind{'s' * (others != 1)} in locust_failures.csv" if others else ""
    return f". Most frequent: {named}{more}"


def window_row(run: Run) -> Row | None:
    """Did the requests cover the measured time asked (at least WINDOW_COVERAGE of it)?

    Gated whatever the profile: a run that stopped early measured less than it was asked to,
    whether or not the profile sets a rate (the rates already count the missing time as
    nothing). None when the run was asked for no run time (it ran until stopped): there is no
    asked time to cover.
    """
    measured = run.measured
    coverage = measured.window_coverage
    if coverage is None:
        return None
    asked = measured.asked_window_s
    ok = coverage >= WINDOW_COVERAGE
    end = (
        f"the last request came {measured.window_s:.1f} s into it"
        if measured.total_requests
        else "no request was made in it"
    )
    return Row(
        WINDOW_ID,
        "measured window (requests cover the time asked)",
        f">= {WINDOW_COVERAGE:.0%} of {asked:.1f} s",
        f"{measured.window_s:.1f} s ({min(coverage, 9.99):.0%})",
        Status.PASS if ok else Status.FAIL,
        f"measured window: {asked:.1f} s asked, {end} ({coverage:.0%}; target >= "
        f"{WINDOW_COVERAGE:.0%})"
        + ("" if ok else f": the run ended {asked - measured.window_s:.1f} s early"),
        {
            "window_s": round(measured.window_s, 3),
            "asked_window_s": round(asked, 3),
            "coverage": round(coverage, 4),
            "target": WINDOW_COVERAGE,
            "requests": measured.total_requests,
        },
        WINDOW_FIX,
    )
