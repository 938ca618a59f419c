"""What a load run measured, in plain numbers, and the request kinds it is counted by.

:func:`measure` reads Locust's aggregated stats duck-typed, so this module imports no Locust
(which monkeypatches the process) and is unit-tested with synthetic stats.

Percentile resolution: Locust buckets every response time before it computes percentiles:
to 1 ms below 100 ms, to 10 ms from 100 ms to 1 s, to 100 ms from 1 s to 10 s, to 1 s above
(``locust.stats.bucket_response_time``, round half to even). A percentile is a bucket's value,
so the true value can lie up to half a bucket above it (a P99 shown as 500 ms may be 504 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PERCENTILE_RESOLUTION = (
    "Locust buckets response times before computing percentiles: 1 ms below 100 ms, 10 ms "
    "from 100 ms to 1 s, 100 ms from 1 s to 10 s, 1 s above; a percentile shown as X may be "
    "up to half a bucket above X"
)


# The share of the measured time asked for that the requests must cover (LOAD-WINDOW): a run
# whose last request came earlier stopped early (Locust interrupted, workers lost, users hung).
WINDOW_COVERAGE = 0.9
# The failures the verdict names (the most frequent; Locust's failures CSV and HTML report list
# every one), each cut to this many characters.
FAILURES_NAMED = 3
FAILURE_TEXT_MAX = 300


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


@dataclass(frozen=True)
class KindStats:
    """One request kind: requests, failures, and percentiles of the response times.

    ``timed``: the requests the percentiles are over; None means every successful one
    (``requests - failures``). ``failures_timed``: failed requests whose times are in the
    percentiles (Locust's own percentiles count them): a latency check judges nothing it
    cannot separate from failures (see :func:`measure`).
    """

    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    timed: int | None = None
    failures_timed: int = 0

    @property
    def successes_timed(self) -> int:
        timed = self.requests - self.failures if self.timed is None else self.timed
        return timed - self.failures_timed


@dataclass(frozen=True)
class FailureSeen:
    """One kind of failure Locust recorded: the request and why it failed (``GET /logs/recent
    (all services): entries are not newest first``), and how often."""

    what: str
    occurrences: int


@dataclass(frozen=True)
class Measurements:
    """What one run measured, in plain numbers (from Locust's stats or made up by a test).

    ``task_errors``: exceptions the generator's tasks raised. Locust reports a request whose
    check raised as neither success nor failure, so each one counts as a failed request.
    ``unanswered``: requests still waiting for an answer when Locust stopped their user at
    the end of the stop timeout; Locust records them nowhere, so each counts as a failed
    request too (a service that hangs must not pass for one that answers).

    ``window_s`` runs from the stats reset to the last request; ``asked_window_s`` from the
    reset to the end Locust was asked to stop at (0: unknown). Rates are over the longer of
    the two: a run whose requests stopped early (workers lost, Locust interrupted) did not
    sustain its rate over the time asked, and a few requests just after the reset are not a
    high rate.
    """

    kinds: dict[str, KindStats]
    entries_stored: int
    window_s: float
    total_requests: int
    total_failures: int
    peak_rps: int = 0
    task_errors: int = 0
    asked_window_s: float = 0.0
    # The most frequent failures (FAILURES_NAMED of them) and how many kinds there were.
    failures_seen: tuple[FailureSeen, ...] = ()
    failure_kinds: int = 0
    unanswered: int = 0

    @property
    def rate_window_s(self) -> float:
        """What the rates are over: the window, or the time asked when that is longer."""
        return max(self.window_s, self.asked_window_s)

    @property
    def window_coverage(self) -> float | None:
        """The share of the time asked the requests covered; None when no time was asked."""
        if self.asked_window_s <= 0:
            return None
        return self.window_s / self.asked_window_s

    @property
    def logs_per_s(self) -> float:
        window = self.rate_window_s
        return self.entries_stored / window if window > 0 else 0.0

    @property
    def queries_per_s(self) -> float:
        ok = sum(s.requests - s.failures for k, s in self.kinds.items() if KINDS_BY_ID[k].is_read)
        window = self.rate_window_s
        return ok / window if window > 0 else 0.0

    @property
    def error_ratio(self) -> float:
        """(Failed requests + task exceptions + unanswered requests) / (requests + task
        exceptions + unanswered requests)."""
        unrecorded = self.task_errors + self.unanswered
        failed = self.total_failures + unrecorded
        if self.total_requests + unrecorded == 0:
            return 1.0 if failed else 0.0
        return failed / (self.total_requests + unrecorded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_s": round(self.window_s, 3),
            "asked_window_s": round(self.asked_window_s, 3),
            "entries_stored": self.entries_stored,
            "logs_per_s": round(self.logs_per_s, 2),
            "queries_per_s": round(self.queries_per_s, 2),
            "total_requests": self.total_requests,
            "total_failures": self.total_failures,
            "task_errors": self.task_errors,
            "unanswered": self.unanswered,
            "error_ratio": round(self.error_ratio, 6),
            "peak_rps": self.peak_rps,
            "failures_seen": [vars(f) for f in self.failures_seen],
            "failure_kinds": self.failure_kinds,
            "kinds": {
                k: vars(s) | {"successes_timed": s.successes_timed} for k, s in self.kinds.items()
            },
        }


def measure(
    stats: Any,
    entries_stored: int,
    task_errors: int = 0,
    until: float | None = None,
    successes: Any = None,
    unanswered: int = 0,
) -> Measurements:
    """Read Locust's aggregated ``RequestStats`` (duck-typed, so no Locust import here).

    The window is the one Locust uses for its own averages: from the (last) stats reset to the
    last request. Kinds that made no request are left out. ``task_errors``: the exceptions the
    users' tasks raised in the measured window. ``until``: the epoch time the run was asked to
    end at (test start + ``--run-time``), which sets ``asked_window_s``. ``unanswered``: the
    requests Locust killed unanswered at the stop timeout.

    Latency is judged over successful requests only. Locust logs every request's time in its
    stats, failed or not (``runners.Runner``'s ``on_request`` calls ``log_request`` before
    ``log_error``), so a fast 4xx/5xx or a fast empty answer would lower the percentiles. The
    gate keeps a second ``RequestStats`` into which only requests without an exception are
    logged (loadtests/gate.py; aggregated from workers like Locust's own), and passes it as
    ``successes``: the percentiles come from it, the counts from ``stats``. Without it the
    percentiles are Locust's, and ``failures_timed`` says how many failures they include, which
    fails a gated latency check rather than judging it (verdict_rows.latency_row).

    What failed: Locust's ``stats.errors`` (one entry per request name and reason, reset with
    the stats, aggregated on the master), the FAILURES_NAMED most frequent, so the verdict
    names the problem (``entries are not newest first``) and not only the ratio.
    """
    kinds: dict[str, KindStats] = {}
    for kind in KINDS:
        key = (kind.name, kind.method)
        if key not in stats.entries:  # indexing would create an empty entry
            continue
        entry = stats.entries[key]
        if entry.num_requests == 0:
            continue
        if successes is None:
            timed, failures_timed, source = entry.num_requests, entry.num_failures, entry
        else:
            source = successes.entries.get(key)  # .get: indexing would create an entry
            timed = source.num_requests if source is not None else 0
            failures_timed = 0
        kinds[kind.id] = KindStats(
            requests=entry.num_requests,
            failures=entry.num_failures,
            p50_ms=source.get_response_time_percentile(0.50) if timed else 0,
            p95_ms=source.get_response_time_percentile(0.95) if timed else 0,
            p99_ms=source.get_response_time_percentile(0.99) if timed else 0,
            timed=timed,
            failures_timed=failures_timed,
        )
    total = stats.total
    window = 0.0
    if total.last_request_timestamp and total.start_time:
        window = max(0.0, total.last_request_timestamp - total.start_time)
    asked = max(0.0, until - total.start_time) if until and total.start_time else 0.0
    per_second = getattr(total, "num_reqs_per_sec", {}) or {}
    seen = sorted(
        (
            FailureSeen(_failure_text(error), int(error.occurrences))
            for error in (getattr(stats, "errors", None) or {}).values()
        ),
        key=lambda f: (-f.occurrences, f.what),
    )
    return Measurements(
        kinds=kinds,
        entries_stored=entries_stored,
        window_s=window,
        total_requests=total.num_requests,
        total_failures=total.num_failures,
        peak_rps=max(per_second.values(), default=0),
        task_errors=task_errors,
        unanswered=unanswered,
        asked_window_s=asked,
        failures_seen=tuple(seen[:FAILURES_NAMED]),
        failure_kinds=len(seen),
    )


def _failure_text(error: Any) -> str:
    """``METHOD name: why`` of one of Locust's StatsError (its own ``to_name``, which unwraps
    a content check's CatchResponseError), cut to FAILURE_TEXT_MAX characters."""
    to_name = getattr(error, "to_name", None)
    text = to_name() if callable(to_name) else f"{error.method} {error.name}: {error.error}"
    return text if len(text) <= FAILURE_TEXT_MAX else text[: FAILURE_TEXT_MAX - 3] + "..."
