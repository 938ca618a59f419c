"""The release gate's verdict: measured load-test numbers against a profile of targets.

Where the verdict is computed, and why: in the Locust process that holds the aggregated stats
(the master in distributed mode, the only process otherwise), from ``environment.stats`` in a
``quitting`` listener (see loadtests/gate.py). Three reasons: the number of log entries stored
(batch requests carry up to 100) and the content checks of reads exist only in that process;
the CSV Locust writes has no entry count; and the listener can set Locust's exit code itself.
This module takes plain numbers (:class:`Measurements`), so it imports no Locust (which
monkeypatches the process) and is unit-tested with synthetic stats.

Percentile resolution: Locust buckets every response time before it computes percentiles:
to 1 ms below 100 ms, to 10 ms from 100 ms to 1 s, to 100 ms from 1 s to 10 s, to 1 s above
(``locust.stats.bucket_response_time``, round half to even). A percentile is a bucket's value,
so the true value can lie up to half a bucket above it (a P99 shown as 500 ms may be 504 ms).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tabulate import tabulate

from slsops.checks.model import CheckResult, Severity, Status
from slsops.checks.report import Report
from slsops.errors import UsageError

PERCENTILE_RESOLUTION = (
    "Locust buckets response times before computing percentiles: 1 ms below 100 ms, 10 ms "
    "from 100 ms to 1 s, 100 ms from 1 s to 10 s, 1 s above; a percentile shown as X may be "
    "up to half a bucket above X"
)


@dataclass(frozen=True)
class RequestKind:
    """One kind of request the generator makes, as it is named in Locust's stats."""

    id: str
    method: str
    name: str
    label: str

    @property
    def is_read(self) -> bool:
        return self.method == "GET"


INGEST_SINGLE = RequestKind("ingest_single", "POST", "/logs (single)", "ingest, single")
INGEST_BATCH = RequestKind("ingest_batch", "POST", "/logs (batch)", "ingest, batch")
READ_NEWEST = RequestKind("read_newest", "GET", "/logs/recent (all services)", "read, all services")
READ_SERVICE = RequestKind("read_service", "GET", "/logs/recent (one service)", "read, one service")
KINDS: tuple[RequestKind, ...] = (INGEST_SINGLE, INGEST_BATCH, READ_NEWEST, READ_SERVICE)
KINDS_BY_ID = {kind.id: kind for kind in KINDS}


# ----------------------------------------------------------------------------- measurements
@dataclass(frozen=True)
class KindStats:
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Measurements:
    """What one run measured, in plain numbers (from Locust's stats or made up by a test)."""

    kinds: dict[str, KindStats]
    entries_stored: int
    window_s: float
    total_requests: int
    total_failures: int
    peak_rps: int = 0

    @property
    def logs_per_s(self) -> float:
        return self.entries_stored / self.window_s if self.window_s > 0 else 0.0

    @property
    def queries_per_s(self) -> float:
        ok = sum(s.requests - s.failures for k, s in self.kinds.items() if KINDS_BY_ID[k].is_read)
        return ok / self.window_s if self.window_s > 0 else 0.0

    @property
    def error_ratio(self) -> float:
        if self.total_requests == 0:
            return 1.0 if self.total_failures else 0.0
        return self.total_failures / self.total_requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_s": round(self.window_s, 3),
            "entries_stored": self.entries_stored,
            "logs_per_s": round(self.logs_per_s, 2),
            "queries_per_s": round(self.queries_per_s, 2),
            "total_requests": self.total_requests,
            "total_failures": self.total_failures,
            "error_ratio": round(self.error_ratio, 6),
            "peak_rps": self.peak_rps,
            "kinds": {k: vars(s) for k, s in self.kinds.items()},
        }


def measure(stats: Any, entries_stored: int) -> Measurements:
    """Read Locust's aggregated ``RequestStats`` (duck-typed, so no Locust import here).

    The window is the one Locust uses for its own averages: from the (last) stats reset to the
    last request. Kinds that made no request are left out.
    """
    kinds: dict[str, KindStats] = {}
    for kind in KINDS:
        key = (kind.name, kind.method)
        if key not in stats.entries:  # indexing would create an empty entry
            continue
        entry = stats.entries[key]
        if entry.num_requests == 0:
            continue
        kinds[kind.id] = KindStats(
            requests=entry.num_requests,
            failures=entry.num_failures,
            p50_ms=entry.get_response_time_percentile(0.50),
            p95_ms=entry.get_response_time_percentile(0.95),
            p99_ms=entry.get_response_time_percentile(0.99),
        )
    total = stats.total
    window = 0.0
    if total.last_request_timestamp and total.start_time:
        window = max(0.0, total.last_request_timestamp - total.start_time)
    per_second = getattr(total, "num_reqs_per_sec", {}) or {}
    return Measurements(
        kinds=kinds,
        entries_stored=entries_stored,
        window_s=window,
        total_requests=total.num_requests,
        total_failures=total.num_failures,
        peak_rps=max(per_second.values(), default=0),
    )


# ----------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class LatencyTarget:
    """Upper bounds in ms; None means reported, not gated."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    latency: dict[str, LatencyTarget]
    ingest_logs_per_s: float | None
    read_queries_per_s: float | None
    max_error_ratio: float
    burst_rps: float | None = None
    run: dict[str, Any] = field(default_factory=dict)


_LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")
_PROFILE_KEYS = {
    "description",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "ingest_logs_per_s",
    "read_queries_per_s",
    "max_error_ratio",
    "burst_rps",
    "latency",
    "run",
}


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"{where} must be a number >= 0, not {value!r}")
    return float(value)


def parse_profile(name: str, table: dict[str, Any]) -> Profile:
    """Build a Profile from one ``[profiles.NAME]`` table; UsageError on anything unknown."""
    unknown = set(table) - _PROFILE_KEYS
    if unknown:
        raise UsageError(f"profile {name!r} has unknown keys: {', '.join(sorted(unknown))}")
    default = {k: _number(table.get(k), f"profiles.{name}.{k}") for k in _LATENCY_KEYS}
    latency = {}
    overrides = table.get("latency", {})
    bad_kinds = set(overrides) - set(KINDS_BY_ID)
    if bad_kinds:
        raise UsageError(
            f"profile {name!r} names unknown request kinds: {', '.join(sorted(bad_kinds))} "
            f"(kinds: {', '.join(KINDS_BY_ID)})"
        )
    for kind in KINDS:
        own = overrides.get(kind.id, {})
        merged = {
            k: _number(own[k], f"profiles.{name}.latency.{kind.id}.{k}") if k in own else v
            for k, v in default.items()
        }
        latency[kind.id] = LatencyTarget(**merged)
    max_error_ratio = _number(table.get("max_error_ratio", 0.0), f"profiles.{name}.max_error_ratio")
    return Profile(
        name=name,
        description=str(table.get("description", "")),
        latency=latency,
        ingest_logs_per_s=_number(table.get("ingest_logs_per_s"), f"profiles.{name}.ingest"),
        read_queries_per_s=_number(table.get("read_queries_per_s"), f"profiles.{name}.read"),
        max_error_ratio=max_error_ratio or 0.0,
        burst_rps=_number(table.get("burst_rps"), f"profiles.{name}.burst_rps"),
        run=dict(table.get("run", {})),
    )


def load_profile(path: Path, name: str) -> Profile:
    """Read ``[profiles.NAME]`` from the targets file (loadtests/targets.toml)."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read targets file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"targets file {path} is not valid TOML: {exc}") from None
    profiles = document.get("profiles", {})
    if name not in profiles:
        raise UsageError(
            f"no profile {name!r} in {path}; profiles: {', '.join(sorted(profiles)) or 'none'}"
        )
    return parse_profile(name, profiles[name])


# ----------------------------------------------------------------------------- verdict
@dataclass(frozen=True)
class Row:
    """One line of the verdict table, and the check it becomes in the report."""

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
    def verdict(self) -> str:
        if self.status is Status.PASS and not self.gated:
            return "info"
        return {Status.PASS: "pass", Status.FAIL: "BREACH", Status.SKIP: "skip"}.get(
            self.status, self.status.value
        )


_LATENCY_FIX = (
    "See runbooks/pre-release-load-test.md, 'Latency breach': check Lambda duration and "
    "throttles, DynamoDB latency and throttled requests, cold starts, then re-run."
)
_RATE_FIX = (
    "See runbooks/pre-release-load-test.md, 'Throughput breach': confirm the generator was not "
    "the limit (CPU, users, workers), then check API Gateway throttling and Lambda concurrency."
)
_ERROR_FIX = (
    "See runbooks/pre-release-load-test.md, 'Error breach': read the Failures section of the "
    "HTML report (status codes, wrong answers), then the functions' logs."
)


def _ms(value: float | None) -> str:
    return "reported" if value is None else f"<= {value:g} ms"


def _latency_rows(measured: Measurements, profile: Profile) -> list[Row]:
    rows = []
    for kind in KINDS:
        stats = measured.kinds.get(kind.id)
        if stats is None:
            continue
        target = profile.latency[kind.id]
        for key, label in (("p50_ms", "P50"), ("p95_ms", "P95"), ("p99_ms", "P99")):
            value = getattr(stats, key)
            bound = getattr(target, key)
            ok = bound is None or value <= bound
            rows.append(
                Row(
                    check_id=f"LOAD-{kind.id.upper().replace('_', '-')}-{label}",
                    metric=f"{label} {kind.label}",
                    target=_ms(bound),
                    measured=f"{value:g} ms",
                    status=Status.PASS if ok else Status.FAIL,
                    gated=bound is not None,
                    detail=(
                        f"{label} of {kind.method} {kind.name} is {value:g} ms "
                        f"over {stats.requests} requests"
                        + ("" if bound is None else f" (target <= {bound:g} ms)")
                    ),
                    evidence={
                        "kind": kind.id,
                        "percentile": label,
                        "measured_ms": value,
                        "target_ms": bound,
                        "requests": stats.requests,
                    },
                    remediation=_LATENCY_FIX,
                )
            )
    return rows


def _rate_row(
    check_id: str,
    metric: str,
    unit: str,
    value: float,
    bound: float | None,
    ran: bool,
    measured: Measurements,
) -> Row:
    evidence = {
        "measured": round(value, 2),
        "target": bound,
        "window_s": round(measured.window_s, 3),
    }
    if bound is None:
        status, target, detail = Status.PASS, "reported", f"{value:.1f} {unit} (not gated)"
    elif not ran:
        status, target = Status.SKIP, f">= {bound:g} {unit}"
        detail = f"this run made no requests that produce {unit} (scenario selection)"
    else:
        status = Status.PASS if value >= bound else Status.FAIL
        target = f">= {bound:g} {unit}"
        detail = f"{value:.1f} {unit} over {measured.window_s:.1f} s (target >= {bound:g})"
    return Row(
        check_id,
        metric,
        target,
        f"{value:.1f} {unit}",
        status,
        detail,
        evidence,
        _RATE_FIX,
        gated=bound is not None,
    )


def evaluate(measured: Measurements, profile: Profile) -> list[Row]:
    """Every metric of the run against the profile: one row (one LOAD- check) per metric."""
    rows = _latency_rows(measured, profile)
    ran_ingest = any(not KINDS_BY_ID[k].is_read for k in measured.kinds)
    ran_reads = any(KINDS_BY_ID[k].is_read for k in measured.kinds)
    rows.append(
        _rate_row(
            "LOAD-INGEST-RATE",
            "logs/s ingested (entries)",
            "logs/s",
            measured.logs_per_s,
            profile.ingest_logs_per_s,
            ran_ingest,
            measured,
        )
    )
    rows.append(
        _rate_row(
            "LOAD-READ-RATE",
            "queries/s (successful reads)",
            "queries/s",
            measured.queries_per_s,
            profile.read_queries_per_s,
            ran_reads,
            measured,
        )
    )
    burst = _rate_row(
        "LOAD-BURST",
        "peak requests/s (1-s window)",
        "requests/s",
        float(measured.peak_rps),
        None,
        True,
        measured,
    )
    if profile.burst_rps is not None:
        burst = Row(
            burst.check_id,
            burst.metric,
            f"reported ({profile.burst_rps:g} stated)",
            burst.measured,
            Status.PASS,
            f"peak {measured.peak_rps} requests/s; the stated burst of "
            f"{profile.burst_rps:g} requests/s is reported, not gated",
            burst.evidence | {"stated": profile.burst_rps},
            burst.remediation,
            gated=False,
        )
    rows.append(burst)
    ratio, bound = measured.error_ratio, profile.max_error_ratio
    if measured.total_requests == 0:
        status, detail = Status.FAIL, "the run made no requests at all"
    else:
        status = Status.PASS if ratio <= bound else Status.FAIL
        detail = (
            f"{measured.total_failures} of {measured.total_requests} requests failed "
            f"(status or content); target <= {bound:.3%}"
        )
    rows.append(
        Row(
            "LOAD-ERROR-RATIO",
            "error ratio (status + content)",
            f"<= {bound:.3%}",
            f"{ratio:.3%}",
            status,
            detail,
            {
                "failures": measured.total_failures,
                "requests": measured.total_requests,
                "measured": round(ratio, 6),
                "target": bound,
            },
            _ERROR_FIX,
        )
    )
    return rows


def to_report(
    rows: list[Row],
    measured: Measurements,
    profile: Profile,
    target: dict[str, Any],
    started_at: datetime,
    duration_s: float,
) -> Report:
    """The verdict in the shared report shape (command ``load``, one LOAD- check per metric)."""
    results = [
        CheckResult(
            id=row.check_id,
            title=row.metric,
            status=row.status,
            severity=Severity.HIGH if row.gated else Severity.INFO,
            detail=row.detail,
            remediation=row.remediation,
            evidence=row.evidence | {"target_text": row.target, "measured_text": row.measured},
        )
        for row in rows
    ]
    extra = {
        "load": {
            "profile": profile.name,
            "percentile_resolution": PERCENTILE_RESOLUTION,
            "measurements": measured.as_dict(),
        }
    }
    return Report("load", target, started_at, duration_s, results, extra)


def render_table(rows: list[Row], measured: Measurements, profile: Profile) -> str:
    """The table an operator reads at the end of a run."""
    table = tabulate(
        [[r.metric, r.target, r.measured, r.verdict] for r in rows],
        headers=["metric", "target", "measured", "verdict"],
    )
    breaches = sum(r.status is Status.FAIL for r in rows)
    outcome = "PASS" if breaches == 0 else f"FAIL ({breaches} breach{'es' * (breaches != 1)})"
    return (
        f"\nLoad verdict, profile {profile.name!r}: {outcome}\n{table}\n"
        f"Window {measured.window_s:.1f} s (measured after ramp-up and warm-up), "
        f"{measured.total_requests} requests, {measured.entries_stored} entries stored.\n"
        f"Percentile resolution: {PERCENTILE_RESOLUTION}.\n"
    )
