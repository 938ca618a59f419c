"""The release gate's verdict: measured load-test numbers against a profile of targets.

Where the verdict is computed, and why: in the Locust process that holds the aggregated stats
(the master in distributed mode, the only process otherwise), from ``environment.stats`` in a
``quitting`` listener (see loadtests/gate.py). Three reasons: the number of log entries stored
(batch requests carry up to 100) and the content checks of reads exist only in that process;
the CSV Locust writes has no entry count; and the listener can set Locust's exit code itself.
This module takes plain numbers (:class:`Measurements`), so it imports no Locust (which
monkeypatches the process) and is unit-tested with synthetic stats.

Checks: every LOAD- id is written out in :data:`LATENCY_CHECK_IDS` and beside it, and
:data:`CHECKS` lists them for the catalogue (``slsops checks``). A target the profile sets is
gated: PASS when met, FAIL when breached, and FAIL when the run made no request of its kind
(not measured: a narrowed ``--tags``/``--classes`` selection is named as the cause). A metric
the profile leaves without a target is reported next to the checks, never a check itself.

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

from slsops.checks.model import Check, CheckResult, Outcome, Severity, Status, skipped
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
PERCENTILES = (("p50_ms", "P50"), ("p95_ms", "P95"), ("p99_ms", "P99"))

# Every LOAD- check id, written out: (request kind, percentile) -> id, then the run-wide ones.
LATENCY_CHECK_IDS: dict[tuple[str, str], str] = {
    ("ingest_single", "P50"): "LOAD-INGEST-SINGLE-P50",
    ("ingest_single", "P95"): "LOAD-INGEST-SINGLE-P95",
    ("ingest_single", "P99"): "LOAD-INGEST-SINGLE-P99",
    ("ingest_batch", "P50"): "LOAD-INGEST-BATCH-P50",
    ("ingest_batch", "P95"): "LOAD-INGEST-BATCH-P95",
    ("ingest_batch", "P99"): "LOAD-INGEST-BATCH-P99",
    ("read_newest", "P50"): "LOAD-READ-NEWEST-P50",
    ("read_newest", "P95"): "LOAD-READ-NEWEST-P95",
    ("read_newest", "P99"): "LOAD-READ-NEWEST-P99",
    ("read_service", "P50"): "LOAD-READ-SERVICE-P50",
    ("read_service", "P95"): "LOAD-READ-SERVICE-P95",
    ("read_service", "P99"): "LOAD-READ-SERVICE-P99",
}
INGEST_RATE_ID = "LOAD-INGEST-RATE"
READ_RATE_ID = "LOAD-READ-RATE"
BURST_ID = "LOAD-BURST"
ERROR_RATIO_ID = "LOAD-ERROR-RATIO"

DOC = "runbooks/pre-release-load-test.md"
_READS = "Locust's aggregated stats"


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
    ok = bound is None or value <= bound
    return Row(
        check_id,
        metric,
        _ms(bound),
        f"{value:g} ms",
        Status.PASS if ok else Status.FAIL,
        f"{percentile} of {kind.method} {kind.name} is {value:g} ms over "
        f"{stats.requests} requests" + ("" if bound is None else f" (target <= {bound:g} ms)"),
        evidence | {"measured_ms": value, "requests": stats.requests},
        _LATENCY_FIX,
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
    evidence = {
        "measured": round(value, 2),
        "target": bound,
        "window_s": round(run.measured.window_s, 3),
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
            _RATE_FIX,
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
        f"{metric}: {value:.1f} {unit} over {run.measured.window_s:.1f} s (target >= {bound:g})",
        evidence,
        _RATE_FIX,
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
            _ERROR_FIX,
        )
    return Row(
        ERROR_RATIO_ID,
        "error ratio (status + content)",
        f"<= {bound:.3%}",
        f"{ratio:.3%}",
        Status.PASS if ratio <= bound else Status.FAIL,
        f"error ratio: {measured.total_failures} of {measured.total_requests} requests failed "
        f"(status or content), {ratio:.3%}; target <= {bound:.3%}",
        evidence,
        _ERROR_FIX,
    )


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


def _catalogue() -> list[Check]:
    checks = [
        Check(
            check_id,
            f"{percentile} latency of {KINDS_BY_ID[kind_id].label} within the profile's bound",
            Severity.HIGH,
            _LATENCY_FIX,
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
            _RATE_FIX,
            "entries the generator saw stored (201/207 results) per second of the measured window",
        ),
        (
            READ_RATE_ID,
            "Successful reads per second reach the target",
            read_rate_row,
            _RATE_FIX,
            "successful GET /logs/recent requests over the measured window",
        ),
        (
            BURST_ID,
            "Peak requests per second (1-s window) reach the target",
            burst_row,
            _RATE_FIX,
            "requests per 1-s window (num_reqs_per_sec)",
        ),
        (
            ERROR_RATIO_ID,
            "Failed requests (status or content) within the error ratio",
            error_ratio_row,
            _ERROR_FIX,
            "failed requests (wrong status or wrong answer) / requests",
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
        f"Window {measured.window_s:.1f} s (measured after ramp-up and warm-up), "
        f"{measured.total_requests} requests, {measured.entries_stored} entries stored.\n"
        f"Percentile resolution: {PERCENTILE_RESOLUTION}.\n"
    )
