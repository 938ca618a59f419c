"""The verdict as the operator reads it at the end of a run: one table, then the outcome."""

from __future__ import annotations

from tabulate import tabulate

from slsops.framework.model import Status
from slsops.load.measurements import PERCENTILE_RESOLUTION, Measurements
from slsops.load.profile import Profile
from slsops.load.verdict import left_out
from slsops.load.verdict_rows import Row


def render_table(
    rows: list[Row], measured: Measurements, profile: Profile, narrowed_by: str = ""
) -> str:
    """The table an operator reads at the end of a run."""
    table = tabulate(
        [[r.metric, r.target, r.measured, r.verdict] for r in rows],
        headers=["metric", "target", "measured", "verdict"],
    )
    missing = left_out(rows)
    breaches = sum(r.status is Status.FAIL for r in rows) - len(missing)
    problems = []
    if breaches:
        problems.append(f"{breaches} breach{'es' * (breaches != 1)}")
    if missing:
        problems.append(f"{len(missing)} not measured")
    outcome = f"FAIL ({', '.join(problems)})" if problems else "PASS"
    unmeasured = ""
    if missing:
        cause = f"the scenario selection {narrowed_by}" if narrowed_by else "the run"
        unmeasured = f"Gated targets {cause} left unmeasured: {', '.join(missing)}.\n"
    return (
        f"\nLoad verdict, profile {profile.name!r}: {outcome}\n{table}\n{unmeasured}"
        f"Window {measured.window_s:.1f} s{_asked(measured)} (measured after ramp-up and "
        "warm-up), "
        f"{measured.total_requests} requests, {measured.entries_stored} entries stored.\n"
        f"{_failures(measured)}"
        f"Percentile resolution: {PERCENTILE_RESOLUTION}.\n"
    )


def _failures(measured: Measurements) -> str:
    """The most frequent failures, one a line (locust_failures.csv lists every one)."""
    if not measured.failures_seen:
        return ""
    lines = "".join(f"  {f.occurrences}x {f.what}\n" for f in measured.failures_seen)
    return f"Most frequent failures (of {measured.failure_kinds} kinds):\n{lines}"


def _asked(measured: Measurements) -> str:
    if not measured.asked_window_s:
        return ""
    return f" of {measured.asked_window_s:.1f} s asked (rates over {measured.rate_window_s:.1f} s)"
