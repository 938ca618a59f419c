"""The release gate's verdict: each metric's breach fails the run, meeting every target passes.

Synthetic measurements only (no Locust here: it monkeypatches the process that imports it).
The real run is in test_load_run.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from slsops.checks.formats import render_json
from slsops.checks.model import Status
from slsops.errors import UsageError
from slsops.load import verdict
from slsops.load.verdict import KindStats, Measurements

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "loadtests" / "targets.toml"
sys.path.insert(0, str(ROOT / "loadtests"))

from content import check_page  # noqa: E402  (loadtests/ is not a package)

PROFILE = verdict.parse_profile(
    "gate",
    {
        "p50_ms": 100,
        "p99_ms": 500,
        "ingest_logs_per_s": 1000,
        "read_queries_per_s": 500,
        "max_error_ratio": 0.001,
        "burst_rps": 5000,
        "latency": {"ingest_batch": {"p50_ms": 150, "p95_ms": 400}},
    },
)


def healthy() -> Measurements:
    """A run that meets every target of PROFILE."""
    fast = KindStats(requests=30_000, failures=0, p50_ms=60, p95_ms=150, p99_ms=300)
    return Measurements(
        kinds={
            "ingest_single": fast,
            "ingest_batch": replace(fast, requests=2_000, p50_ms=140, p95_ms=390),
            "read_newest": fast,
            "read_service": fast,
        },
        # 100 s window: 120,000 entries = 1,200 logs/s; 60,000 reads = 600 queries/s.
        entries_stored=120_000,
        window_s=100.0,
        total_requests=92_000,
        total_failures=0,
        peak_rps=1_400,
    )


def exit_code(measured: Measurements, profile: verdict.Profile = PROFILE) -> int:
    rows = verdict.evaluate(measured, profile)
    report = verdict.to_report(rows, measured, profile, {"kind": "aws"}, datetime.now(UTC), 1.0)
    return report.exit_code()


def statuses(measured: Measurements) -> dict[str, Status]:
    return {row.check_id: row.status for row in verdict.evaluate(measured, PROFILE)}


def test_meeting_every_target_passes_with_exit_0() -> None:
    assert exit_code(healthy()) == 0
    assert set(statuses(healthy()).values()) == {Status.PASS}


def _slower(kind: str, **change: float) -> Measurements:
    m = healthy()
    return replace(m, kinds={**m.kinds, kind: replace(m.kinds[kind], **change)})


@pytest.mark.parametrize(
    ("kind", "change", "check_id"),
    [
        ("ingest_single", {"p50_ms": 101}, "LOAD-INGEST-SINGLE-P50"),
        ("ingest_single", {"p99_ms": 510}, "LOAD-INGEST-SINGLE-P99"),
        ("ingest_batch", {"p50_ms": 160}, "LOAD-INGEST-BATCH-P50"),
        ("ingest_batch", {"p95_ms": 410}, "LOAD-INGEST-BATCH-P95"),
        ("ingest_batch", {"p99_ms": 600}, "LOAD-INGEST-BATCH-P99"),
        ("read_newest", {"p50_ms": 120}, "LOAD-READ-NEWEST-P50"),
        ("read_newest", {"p99_ms": 1000}, "LOAD-READ-NEWEST-P99"),
        ("read_service", {"p50_ms": 101}, "LOAD-READ-SERVICE-P50"),
        ("read_service", {"p99_ms": 501}, "LOAD-READ-SERVICE-P99"),
    ],
)
def test_a_latency_breach_fails_only_its_check(kind: str, change: dict, check_id: str) -> None:
    measured = _slower(kind, **change)
    assert exit_code(measured) == 1
    failed = [cid for cid, s in statuses(measured).items() if s is Status.FAIL]
    assert failed == [check_id]


def test_p95_without_a_bound_is_reported_not_gated() -> None:
    measured = _slower("ingest_single", p95_ms=5000)
    rows = {r.check_id: r for r in verdict.evaluate(measured, PROFILE)}
    assert rows["LOAD-INGEST-SINGLE-P95"].status is Status.PASS
    assert rows["LOAD-INGEST-SINGLE-P95"].verdict == "info"
    assert exit_code(measured) == 0


def test_too_few_logs_per_second_is_a_breach() -> None:
    # 99,000 entries in 100 s = 990 logs/s < 1,000; entries count, not requests.
    measured = replace(healthy(), entries_stored=99_000)
    assert statuses(measured)["LOAD-INGEST-RATE"] is Status.FAIL
    assert exit_code(measured) == 1


def test_logs_per_second_counts_entries_not_requests() -> None:
    # Only 2,000 batch requests, but 100,000 entries stored: 1,000 logs/s meets the target.
    m = healthy()
    measured = replace(
        m,
        kinds={
            "ingest_batch": m.kinds["ingest_batch"],
            "read_newest": m.kinds["read_newest"],
            "read_service": m.kinds["read_service"],
        },
        entries_stored=100_000,
    )
    assert measured.logs_per_s == 1000
    assert statuses(measured)["LOAD-INGEST-RATE"] is Status.PASS


def test_too_few_queries_per_second_is_a_breach() -> None:
    m = healthy()
    slow_reads = replace(m.kinds["read_newest"], requests=10_000)
    measured = replace(m, kinds={**m.kinds, "read_newest": slow_reads})  # 400 queries/s
    assert statuses(measured)["LOAD-READ-RATE"] is Status.FAIL
    assert exit_code(measured) == 1


def test_failed_reads_do_not_count_as_queries() -> None:
    m = healthy()
    wrong = replace(m.kinds["read_service"], failures=20_000)  # 40,000 good reads: 400/s
    measured = replace(m, kinds={**m.kinds, "read_service": wrong})
    assert statuses(measured)["LOAD-READ-RATE"] is Status.FAIL


def test_error_ratio_above_target_is_a_breach() -> None:
    measured = replace(healthy(), total_failures=93)  # 0.101 % > 0.1 %
    assert statuses(measured)["LOAD-ERROR-RATIO"] is Status.FAIL
    assert exit_code(measured) == 1
    assert exit_code(replace(healthy(), total_failures=92)) == 0  # 0.09998 %


def test_a_single_failure_breaches_a_zero_error_profile() -> None:
    zero = replace(PROFILE, max_error_ratio=0.0)
    assert exit_code(replace(healthy(), total_failures=1), zero) == 1
    assert exit_code(healthy(), zero) == 0


def test_a_run_without_requests_fails() -> None:
    empty = Measurements(
        kinds={}, entries_stored=0, window_s=0.0, total_requests=0, total_failures=0
    )
    assert exit_code(empty) == 1


def test_rates_of_kinds_not_run_are_skipped_not_failed() -> None:
    m = healthy()
    reads_only = replace(
        m, kinds={k: v for k, v in m.kinds.items() if k.startswith("read")}, entries_stored=0
    )
    result = statuses(reads_only)
    assert result["LOAD-INGEST-RATE"] is Status.SKIP
    assert "LOAD-INGEST-SINGLE-P50" not in result
    assert exit_code(reads_only) == 0


def test_burst_is_reported_never_gated() -> None:
    measured = replace(healthy(), peak_rps=10)
    assert statuses(measured)["LOAD-BURST"] is Status.PASS
    assert exit_code(measured) == 0


def test_report_shape_table_and_resolution_note() -> None:
    measured = _slower("read_newest", p99_ms=900)
    rows = verdict.evaluate(measured, PROFILE)
    report = verdict.to_report(rows, measured, PROFILE, {"kind": "aws"}, datetime.now(UTC), 2.0)
    body = json.loads(render_json(report))
    assert body["command"] == "load"
    assert body["summary"]["fail"] == 1
    assert all(c["id"].startswith("LOAD-") for c in body["checks"])
    assert {"id", "title", "status", "severity", "detail", "evidence", "remediation"} <= set(
        body["checks"][0]
    )
    assert body["load"]["measurements"]["logs_per_s"] == 1200
    table = verdict.render_table(rows, measured, PROFILE)
    assert "BREACH" in table and "FAIL (1 breach)" in table
    assert "10 ms from 100 ms to 1 s" in table


def test_measure_reads_locust_stats_shape() -> None:
    """measure() reads RequestStats' attributes; a stand-in with the same names suffices."""

    def entry(n: int, fails: int, times: dict[int, int]) -> SimpleNamespace:
        def percentile(p: float) -> int:
            seen = 0
            for t in sorted(times):
                seen += times[t]
                if seen >= n * p:
                    return t
            return 0

        return SimpleNamespace(
            num_requests=n, num_failures=fails, get_response_time_percentile=percentile
        )

    single = entry(100, 1, {10: 50, 20: 49, 300: 1})
    stats = SimpleNamespace(
        entries={
            ("/logs (single)", "POST"): single,
            ("/logs/recent (all services)", "GET"): entry(0, 0, {}),
        },
        total=SimpleNamespace(
            num_requests=100,
            num_failures=1,
            start_time=1000.0,
            last_request_timestamp=1010.0,
            num_reqs_per_sec={1000: 7, 1001: 12},
        ),
    )
    measured = verdict.measure(stats, entries_stored=99)
    assert set(measured.kinds) == {"ingest_single"}  # kinds without requests are left out
    assert measured.kinds["ingest_single"].p50_ms == 10
    assert measured.kinds["ingest_single"].p99_ms == 20
    assert measured.window_s == 10.0 and measured.logs_per_s == 9.9 and measured.peak_rps == 12


def test_every_shipped_profile_parses() -> None:
    for name in ("aws", "local", "impossible"):
        profile = verdict.load_profile(TARGETS, name)
        assert profile.run["users"] >= 1
    aws = verdict.load_profile(TARGETS, "aws")
    assert (aws.latency["ingest_single"].p50_ms, aws.latency["read_service"].p99_ms) == (100, 500)
    assert aws.latency["read_newest"].p95_ms is None  # P95 reported, not gated
    assert (aws.ingest_logs_per_s, aws.read_queries_per_s, aws.max_error_ratio) == (
        1000,
        500,
        0.001,
    )
    assert verdict.load_profile(TARGETS, "local").max_error_ratio == 0.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"p50_ms": "fast"}, "must be a number"),
        ({"p99_ms": -1}, "must be a number"),
        ({"p50": 100}, "unknown keys"),
        ({"latency": {"ingest_fast": {"p50_ms": 1}}}, "unknown request kinds"),
    ],
)
def test_bad_profiles_are_usage_errors(table: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        verdict.parse_profile("bad", table)


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"no profile 'staging'.*aws"):
        verdict.load_profile(TARGETS, "staging")


# ------------------------------------------------------------------ content checks of reads
def _entry(ts: str, log_id: str, service: str = "svc", level: str = "ERROR") -> dict:
    return {"timestamp": ts, "log_id": log_id, "service_name": service, "level": level}


NEWEST_FIRST = [
    _entry("2026-01-01T00:00:03.000Z", "b"),
    _entry("2026-01-01T00:00:03.000Z", "a"),
    _entry("2026-01-01T00:00:01.000Z", "z"),
]


def test_a_right_page_passes() -> None:
    body = {"logs": NEWEST_FIRST, "count": 3, "next_token": None}
    assert (
        check_page(body, 3, service="svc", levels={"ERROR"}, since="2026-01-01T00:00:00.000Z")
        is None
    )


@pytest.mark.parametrize(
    ("body", "kwargs", "problem"),
    [
        ({"logs": NEWEST_FIRST[::-1], "count": 3}, {}, "not newest first"),
        ({"logs": NEWEST_FIRST, "count": 3}, {"limit": 2}, "for limit 2"),
        ({"logs": NEWEST_FIRST, "count": 2}, {}, "count 2 != 3"),
        ({"items": []}, {}, "no 'logs' list"),
        ({"logs": NEWEST_FIRST, "count": 3}, {"service": "other"}, "in a read of 'other'"),
        ({"logs": NEWEST_FIRST, "count": 3}, {"levels": {"WARN"}}, "outside filter"),
        ({"logs": NEWEST_FIRST, "count": 3}, {"since": "2026-01-01T00:00:02.000Z"}, "before"),
        (
            {"logs": NEWEST_FIRST, "count": 3},
            {"after": ("2026-01-01T00:00:02.000Z", "q")},
            "newer than the previous page",
        ),
    ],
)
def test_a_wrong_page_is_a_failure(body: dict, kwargs: dict, problem: str) -> None:
    limit = kwargs.pop("limit", 10)
    assert problem in (check_page(body, limit, **kwargs) or "")
