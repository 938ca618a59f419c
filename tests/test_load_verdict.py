"""The release gate's verdict: each metric's breach fails the run, meeting every target passes.

Synthetic measurements only (no Locust here: it monkeypatches the process that imports it).
The real run is in test_load_run.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from slsops.errors import UsageError
from slsops.framework.formats import render_json
from slsops.framework.model import Status
from slsops.load import verdict
from slsops.load.check_ids import LATENCY_CHECK_IDS
from slsops.load.measurements import KindStats, Measurements, measure
from slsops.load.profile import Profile, load_profile, parse_profile
from slsops.load.verdict_rows import Run
from slsops.load.verdict_table import render_table

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "loadtests" / "targets.toml"
sys.path.insert(0, str(ROOT / "loadtests"))

import content  # noqa: E402  (loadtests/ is not a package)
from content import batch_outcome, check_page  # noqa: E402

PROFILE = parse_profile(
    "gate",
    {
        "p50_ms": 100,
        "p99_ms": 500,
        "ingest_logs_per_s": 1000,
        "read_queries_per_s": 500,
        "max_error_ratio": 0.001,
        "latency": {"ingest_batch": {"p50_ms": 150, "p95_ms": 400}},
    },
)
# Every metric gated: each LOAD- check can be breached.
GATE_ALL = parse_profile(
    "all",
    {
        "p50_ms": 100,
        "p95_ms": 300,
        "p99_ms": 500,
        "ingest_logs_per_s": 1000,
        "read_queries_per_s": 500,
        "max_error_ratio": 0.001,
        "burst_rps": 1000,
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
        asked_window_s=100.0,
    )


def exit_code(measured: Measurements, profile: Profile = PROFILE) -> int:
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
    assert not rows["LOAD-INGEST-SINGLE-P95"].gated
    assert rows["LOAD-INGEST-SINGLE-P95"].verdict == "info"
    assert exit_code(measured) == 0


def _breach(check_id: str) -> Measurements:
    """healthy() with the one metric of ``check_id`` just past GATE_ALL's target."""
    m = healthy()
    for (kind, percentile), latency_id in LATENCY_CHECK_IDS.items():
        if latency_id == check_id:
            bound = getattr(GATE_ALL.latency[kind], f"{percentile.lower()}_ms")
            return _slower(kind, **{f"{percentile.lower()}_ms": bound + 1})
    return {
        "LOAD-INGEST-RATE": replace(m, entries_stored=99_000),  # 990 logs/s < 1,000
        "LOAD-READ-RATE": replace(  # 400 queries/s < 500
            m, kinds={**m.kinds, "read_newest": replace(m.kinds["read_newest"], requests=10_000)}
        ),
        "LOAD-BURST": replace(m, peak_rps=999),
        "LOAD-ERROR-RATIO": replace(m, total_failures=93),  # 0.101 % > 0.1 %
        # The requests stopped 11 s before the 100 s asked; the rates (over the 100 s) still
        # meet their targets.
        "LOAD-WINDOW": replace(m, window_s=89.0),
    }[check_id]


_NAMES = {
    "LOAD-INGEST-RATE": "logs/s",
    "LOAD-READ-RATE": "queries/s",
    "LOAD-BURST": "requests/s",
    "LOAD-ERROR-RATIO": "error ratio",
    "LOAD-WINDOW": "measured window",
}


@pytest.mark.breaks(
    "LOAD-INGEST-SINGLE-P50",
    "LOAD-INGEST-SINGLE-P95",
    "LOAD-INGEST-SINGLE-P99",
    "LOAD-INGEST-BATCH-P50",
    "LOAD-INGEST-BATCH-P95",
    "LOAD-INGEST-BATCH-P99",
    "LOAD-READ-NEWEST-P50",
    "LOAD-READ-NEWEST-P95",
    "LOAD-READ-NEWEST-P99",
    "LOAD-READ-SERVICE-P50",
    "LOAD-READ-SERVICE-P95",
    "LOAD-READ-SERVICE-P99",
    "LOAD-INGEST-RATE",
    "LOAD-READ-RATE",
    "LOAD-BURST",
    "LOAD-ERROR-RATIO",
    "LOAD-WINDOW",
)
@pytest.mark.parametrize("check_id", [c.id for c in verdict.CHECKS])
def test_each_load_check_fails_when_its_target_is_breached(check_id: str) -> None:
    assert exit_code(healthy(), GATE_ALL) == 0
    measured = _breach(check_id)
    rows = {r.check_id: r for r in verdict.evaluate(measured, GATE_ALL)}
    failed = [cid for cid, r in rows.items() if r.status is Status.FAIL]
    assert failed == [check_id]
    detail = rows[check_id].detail
    name = _NAMES.get(check_id) or check_id.rsplit("-", 1)[1]  # P50, P95, P99
    assert name in detail and "not measured" not in detail, detail
    outcome = next(c for c in verdict.CHECKS if c.id == check_id).run(Run(measured, GATE_ALL))
    assert (outcome.status, outcome.detail) == (Status.FAIL, detail)
    assert exit_code(measured, GATE_ALL) == 1


def test_the_catalogue_lists_every_load_check_with_a_literal_id() -> None:
    source = (ROOT / "tools" / "slsops" / "load" / "check_ids.py").read_text(encoding="utf-8")
    ids = [c.id for c in verdict.CHECKS]
    assert len(ids) == len(set(ids)) == 17
    marked = test_each_load_check_fails_when_its_target_is_breached.pytestmark
    assert set(next(m.args for m in marked if m.name == "breaks")) == set(ids)
    for check in verdict.CHECKS:
        assert f'"{check.id}"' in source, check.id
        assert check.reads and check.doc == "runbooks/pre-release-load-test.md"
        assert check.runs_on == "both" and check.family == "LOAD"
        assert (ROOT / check.doc).is_file()
    produced = {r.check_id for r in verdict.evaluate(healthy(), GATE_ALL)}
    assert produced == set(ids)


def test_a_check_the_profile_does_not_gate_skips_with_the_reason() -> None:
    check = next(c for c in verdict.CHECKS if c.id == "LOAD-BURST")
    outcome = check.run(Run(healthy(), PROFILE))
    assert outcome.status is Status.SKIP
    assert "sets no target" in outcome.detail


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


def _reads_only() -> Measurements:
    m = healthy()
    return replace(
        m, kinds={k: v for k, v in m.kinds.items() if k.startswith("read")}, entries_stored=0
    )


@pytest.mark.breaks("LOAD-INGEST-RATE", "LOAD-INGEST-SINGLE-P50", "LOAD-INGEST-BATCH-P99")
def test_gated_targets_a_narrowed_run_did_not_measure_fail_the_gate() -> None:
    rows = {r.check_id: r for r in verdict.evaluate(_reads_only(), PROFILE, "--tags read")}
    left = {
        "LOAD-INGEST-RATE",
        "LOAD-INGEST-SINGLE-P50",
        "LOAD-INGEST-SINGLE-P99",
        "LOAD-INGEST-BATCH-P50",
        "LOAD-INGEST-BATCH-P95",
        "LOAD-INGEST-BATCH-P99",
    }
    assert {cid for cid, r in rows.items() if r.status is Status.FAIL} == left
    for check_id in left:
        assert rows[check_id].verdict == "NOT MEASURED"
        assert "not measured" in rows[check_id].detail
        assert "--tags read leaves it out" in rows[check_id].detail, rows[check_id].detail
    assert "POST /logs (single)" in rows["LOAD-INGEST-SINGLE-P50"].detail
    assert exit_code(_reads_only()) == 1
    report = verdict.to_report(
        list(rows.values()),
        _reads_only(),
        PROFILE,
        {"kind": "aws"},
        datetime.now(UTC),
        1.0,
        "--tags read",
    )
    assert sorted(report.extra["load"]["left_out"]) == sorted(left)
    assert report.extra["load"]["narrowed_by"] == "--tags read"
    table = render_table(list(rows.values()), _reads_only(), PROFILE, "--tags read")
    assert "6 not measured" in table and "--tags read left unmeasured" in table
    assert "LOAD-INGEST-RATE" in table


def test_an_ungated_metric_not_measured_is_not_a_check() -> None:
    only_gated_reads = parse_profile(
        "reads",
        {
            "read_queries_per_s": 1,
            "latency": {"read_newest": {"p50_ms": 100}, "read_service": {"p50_ms": 100}},
        },
    )
    rows = verdict.evaluate(_reads_only(), only_gated_reads)
    assert not verdict.left_out(rows)
    report = verdict.to_report(
        rows, _reads_only(), only_gated_reads, {"kind": "aws"}, datetime.now(UTC), 1.0
    )
    ids = {c.id for c in report.results}
    assert ids == {
        "LOAD-READ-NEWEST-P50",
        "LOAD-READ-SERVICE-P50",
        "LOAD-READ-RATE",
        "LOAD-ERROR-RATIO",
        "LOAD-WINDOW",
    }
    reported = {r["id"] for r in report.extra["load"]["reported"]}
    assert {"LOAD-READ-NEWEST-P99", "LOAD-INGEST-RATE", "LOAD-BURST"} <= reported
    assert report.exit_code() == 0


def test_what_a_selection_leaves_out_is_known_before_the_run() -> None:
    """unmeasurable() (before the run) names exactly what evaluate() fails as not measured."""
    m = healthy()
    for kinds in ({"read_newest", "read_service"}, {"ingest_single"}, {"read_service"}, set()):
        measured = replace(m, kinds={k: v for k, v in m.kinds.items() if k in kinds})
        if not kinds:
            measured = replace(measured, total_requests=0, entries_stored=0, peak_rps=0)
        rows = verdict.evaluate(measured, GATE_ALL)
        assert sorted(verdict.unmeasurable(GATE_ALL, kinds)) == sorted(verdict.left_out(rows))


def test_burst_is_gated_only_when_the_profile_sets_it() -> None:
    measured = replace(healthy(), peak_rps=10)
    assert "LOAD-BURST" not in {
        c.id
        for c in verdict.to_report(
            verdict.evaluate(measured, PROFILE), measured, PROFILE, {}, datetime.now(UTC), 1
        ).results
    }
    assert exit_code(measured) == 0
    assert exit_code(measured, GATE_ALL) == 1


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
    table = render_table(rows, measured, PROFILE)
    assert "BREACH" in table and "FAIL (1 breach)" in table
    assert "10 ms from 100 ms to 1 s" in table


def _stats_entry(n: int, fails: int, times: dict[int, int]) -> SimpleNamespace:
    """A StatsEntry stand-in: counts and a histogram of response times (ms -> requests)."""

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


def test_measure_reads_locust_stats_shape() -> None:
    """measure() reads RequestStats' attributes; a stand-in with the same names suffices."""

    single = _stats_entry(100, 1, {10: 50, 20: 49, 300: 1})
    stats = SimpleNamespace(
        entries={
            ("/logs (single)", "POST"): single,
            ("/logs/recent (all services)", "GET"): _stats_entry(0, 0, {}),
        },
        total=SimpleNamespace(
            num_requests=100,
            num_failures=1,
            start_time=1000.0,
            last_request_timestamp=1010.0,
            num_reqs_per_sec={1000: 7, 1001: 12},
        ),
    )
    measured = measure(stats, entries_stored=99)
    assert set(measured.kinds) == {"ingest_single"}  # kinds without requests are left out
    assert measured.kinds["ingest_single"].p50_ms == 10
    assert measured.kinds["ingest_single"].p99_ms == 20
    assert measured.window_s == 10.0 and measured.logs_per_s == 9.9 and measured.peak_rps == 12


def test_latency_is_judged_over_successful_requests_only() -> None:
    """Locust logs every request's time, failed or not: 60 fast failures (a 2 ms 503) among
    100 single ingests made the P50 2 ms although every success took 300 ms. The percentiles
    come from the successes' histogram the gate keeps; the counts from Locust's stats."""
    key = ("/logs (single)", "POST")
    everything = _stats_entry(100, 60, {2: 60, 300: 40})
    stats = SimpleNamespace(
        entries={key: everything},
        total=SimpleNamespace(
            num_requests=100, num_failures=60, start_time=1000.0, last_request_timestamp=1100.0
        ),
    )
    successes = SimpleNamespace(entries={key: _stats_entry(40, 0, {300: 40})})
    measured = measure(stats, 40, successes=successes)
    single = measured.kinds["ingest_single"]
    assert (single.requests, single.failures, single.p50_ms, single.timed) == (100, 60, 300, 40)
    row = {r.check_id: r for r in verdict.evaluate(measured, PROFILE)}["LOAD-INGEST-SINGLE-P50"]
    assert row.status is Status.FAIL and "300 ms over 40 successful requests" in row.detail
    assert "(60 failed excluded)" in row.detail, row.detail
    # Locust's own percentiles (no successes' histogram): the failures are in them, so a gated
    # latency FAILs rather than passing on the failures' times.
    locust_only = measure(stats, 40)
    assert locust_only.kinds["ingest_single"].p50_ms == 2
    rows = {r.check_id: r for r in verdict.evaluate(locust_only, PROFILE)}
    assert rows["LOAD-INGEST-SINGLE-P50"].status is Status.FAIL
    assert "60 of them failed" in rows["LOAD-INGEST-SINGLE-P50"].detail
    # Every request failed: no latency to judge, a FAIL (never a 0 ms PASS).
    none_ok = measure(stats, 0, successes=SimpleNamespace(entries={}))
    row = {r.check_id: r for r in verdict.evaluate(none_ok, PROFILE)}["LOAD-INGEST-SINGLE-P99"]
    assert row.status is Status.FAIL and "no latency to judge" in row.detail


def test_every_shipped_profile_parses() -> None:
    for name in ("aws", "local", "impossible"):
        profile = load_profile(TARGETS, name)
        assert profile.run["users"] >= 1
    aws = load_profile(TARGETS, "aws")
    assert (aws.latency["ingest_single"].p50_ms, aws.latency["read_service"].p99_ms) == (100, 500)
    assert aws.latency["read_newest"].p95_ms is None  # P95 reported, not gated
    assert (aws.ingest_logs_per_s, aws.read_queries_per_s, aws.max_error_ratio) == (
        1000,
        500,
        0.001,
    )
    assert load_profile(TARGETS, "local").max_error_ratio == 0.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"p50_ms": "fast"}, "must be a number"),
        ({"p99_ms": -1}, "must be a number"),
        ({"p50": 100}, "unknown keys"),
        ({"latency": {"ingest_fast": {"p50_ms": 1}}}, "unknown request kinds"),
        # A target that is not a number every measurement can be compared with: inf gates
        # nothing (every latency is <= inf), nan fails everything without saying why.
        ({"p99_ms": float("inf")}, "finite"),
        ({"p50_ms": float("nan")}, "finite"),
        ({"ingest_logs_per_s": float("nan")}, "finite"),
        ({"read_queries_per_s": float("inf")}, "finite"),
        ({"max_error_ratio": float("inf")}, "finite"),
        ({"max_error_ratio": 1.5}, "0 to 1"),
        # A mistyped key in a per-kind table was ignored: the default bound applied instead.
        ({"latency": {"read_newest": {"p99": 800}}}, "unknown keys"),
        ({"latency": {"read_newest": 800}}, "must be a table"),
        ({"latency": 5}, "must be a table"),
        ({"run": "fast"}, "must be a table"),
        ({"run": {"user": 200}}, "run has unknown keys: user"),
    ],
)
def test_bad_profiles_are_usage_errors(table: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_profile("bad", table)


def test_a_profile_that_is_not_a_table_is_a_usage_error(tmp_path: Path) -> None:
    targets = tmp_path / "targets.toml"
    targets.write_text("[profiles]\naws = 5\n", encoding="utf-8")
    with pytest.raises(UsageError, match="must be a table"):
        load_profile(targets, "aws")
    targets.write_text("profiles = 5\n", encoding="utf-8")
    with pytest.raises(UsageError, match="must be a table"):
        load_profile(targets, "aws")


AWS_TARGETS = {
    "p50_ms": 100,
    "p99_ms": 500,
    "ingest_logs_per_s": 1000,
    "read_queries_per_s": 500,
    "max_error_ratio": 0.001,
}


@pytest.mark.parametrize("deleted", sorted(AWS_TARGETS))
def test_the_release_profile_must_set_every_architecture_target(deleted: str) -> None:
    """A target deleted from the aws profile was "reported, not gated": the release gate
    PASSed without judging it. Now the profile is refused (usage, exit 2), naming the target."""
    table = {k: v for k, v in AWS_TARGETS.items() if k != deleted}
    with pytest.raises(UsageError, match=rf"'aws' is the release gate.*leaves out: {deleted}$"):
        parse_profile("aws", table)
    parse_profile("staging", table)  # other profiles may leave targets out
    assert parse_profile("aws", AWS_TARGETS).latency["read_newest"].p99_ms == 500


def test_the_release_profile_may_set_latency_per_kind_but_for_every_kind() -> None:
    per_kind = {k: {"p99_ms": 400} for k in ("ingest_single", "ingest_batch", "read_newest")}
    table = {k: v for k, v in AWS_TARGETS.items() if k != "p99_ms"} | {"latency": per_kind}
    with pytest.raises(UsageError, match=r"leaves out: latency\.read_service\.p99_ms$"):
        parse_profile("aws", table)
    per_kind["read_service"] = {"p99_ms": 450}
    assert parse_profile("aws", table).latency["read_service"].p99_ms == 450


def test_a_release_profile_without_a_target_exits_2_with_one_line(tmp_path: Path) -> None:
    targets = tmp_path / "targets.toml"
    lines = [f"{k} = {v}" for k, v in AWS_TARGETS.items() if k != "read_queries_per_s"]
    targets.write_text("[profiles.aws]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(  # noqa: S603  our own CLI, argv list
        [
            sys.executable,
            "-m",
            "slsops.load.run",
            "--profile",
            "aws",
            "--targets",
            str(targets),
            "--stack",  # never a local stack: without the check the run stops at the stack file
            str(tmp_path / "none.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "leaves out: read_queries_per_s" in done.stderr


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"no profile 'staging'.*aws"):
        load_profile(TARGETS, "staging")


# ------------------------------------------------------------------ content checks of reads
def _entry(ts: str, log_id: str, service: str = "svc", level: str = "ERROR") -> dict:
    """An entry as the service's public view has it (log_service.items.public_view)."""
    return {
        "log_id": log_id,
        "service_name": service,
        "timestamp": ts,
        "ingested_at": ts,
        "level": level,
        "log_type": "application",
        "message": "m",
        "metadata": None,
    }


NEWEST_FIRST = [
    _entry("2026-01-01T00:00:03.000Z", "b"),
    _entry("2026-01-01T00:00:03.000Z", "a"),
    _entry("2026-01-01T00:00:01.000Z", "z"),
]


PAGE = {"logs": NEWEST_FIRST, "count": 3, "next_token": None}


def test_a_right_page_passes() -> None:
    body = PAGE
    assert (
        check_page(body, 3, service="svc", levels={"ERROR"}, since="2026-01-01T00:00:00.000Z")
        is None
    )


@pytest.mark.parametrize(
    ("body", "kwargs", "problem"),
    [
        ({"logs": NEWEST_FIRST[::-1], "count": 3, "next_token": None}, {}, "not newest first"),
        (PAGE, {"limit": 2}, "for limit 2"),
        ({"logs": NEWEST_FIRST, "count": 2, "next_token": None}, {}, "count 2 != 3"),
        ({"items": []}, {}, "no 'logs' list"),
        (PAGE, {"service": "other"}, "in a read of 'other'"),
        (PAGE, {"levels": {"WARN"}}, "outside filter"),
        (PAGE, {"since": "2026-01-01T00:00:02.000Z"}, "before"),
        (
            PAGE,
            {"after": ("2026-01-01T00:00:02.000Z", "q")},
            "newer than the previous page",
        ),
    ],
)
def test_a_wrong_page_is_a_failure(body: dict, kwargs: dict, problem: str) -> None:
    limit = kwargs.pop("limit", 10)
    assert problem in (check_page(body, limit, **kwargs) or "")


@pytest.mark.parametrize(
    ("logs", "problem"),
    [
        (["not an entry"], "not a log entry"),
        ([None], "not a log entry"),
        ([{}], "without a timestamp and log_id"),
        ([{"timestamp": "2026-01-01T00:00:03.000Z"}], "without a timestamp and log_id"),
        ([NEWEST_FIRST[0], NEWEST_FIRST[0]], "repeated"),
    ],
)
def test_a_malformed_or_repeated_entry_is_a_failure_not_an_exception(
    logs: list, problem: str
) -> None:
    """A check that raises leaves the request unreported by Locust (neither success nor
    failure): a wrong answer would vanish from the error ratio. Every wrong page is a problem."""
    body = {"logs": logs, "count": len(logs), "next_token": None}
    assert problem in (check_page(body, 10, service="svc", levels={"ERROR"}) or "")
    assert problem in (check_page(body, 10) or "")


def _without(field: str) -> list[dict]:
    return [{k: v for k, v in NEWEST_FIRST[0].items() if k != field}]


@pytest.mark.parametrize(
    ("logs", "problem"),
    [
        # A newest read (no service or level asked) accepted entries without either.
        (_without("service_name"), "without service_name"),
        (_without("level"), "without level"),
        (_without("message"), "without message"),
        ([{**NEWEST_FIRST[0], "level": "SEVERE"}], "with level 'SEVERE'"),
        ([{**NEWEST_FIRST[0], "service_name": 7}], "without service_name"),
    ],
)
def test_an_entry_not_in_the_services_shape_is_a_failure_in_every_read(
    logs: list, problem: str
) -> None:
    body = {"logs": logs, "count": 1, "next_token": None}
    assert problem in (check_page(body, 10) or "")


@pytest.mark.parametrize(
    "body",
    [
        {"logs": [], "count": 0},  # no next_token at all
        {"logs": [], "count": 0, "next_token": 5},
    ],
)
def test_a_read_answer_without_next_token_is_a_failure(body: dict) -> None:
    assert "next_token" in (check_page(body, 10) or "")
    assert check_page({**body, "next_token": "abc"}, 10) is None


def test_the_content_checks_know_the_services_levels() -> None:
    from log_service.limits import LEVELS

    assert set(LEVELS) == content.LEVELS


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"message": "Log entry created successfully", "log_id": "x"}, "without the log_id sent"),
        ({"log_id": "id-0"}, "without a message"),
        ({"message": "", "log_id": "id-0"}, "without a message"),
        (["id-0"], "without a JSON object"),
        (None, "without a JSON object"),
    ],
)
def test_a_wrong_single_ingest_answer_is_a_failure(body: object, problem: str) -> None:
    assert problem in (content.single_problem(body, "id-0") or "")
    assert content.single_problem({"message": "ok", "log_id": "id-0"}, "id-0") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


T0 = "2026-01-01T00:00:00.000Z"


def test_an_empty_read_after_acknowledged_entries_is_a_failure() -> None:
    """A read service that always answered an empty list passed every content check and
    counted toward queries/s. Once this run has had entries acknowledged that a read must
    include, for longer than the read may lag, an empty first page is a wrong answer."""
    clock = FakeClock()
    acked = content.Acknowledged(clock)
    assert acked.empty_problem(5.0) is None  # nothing stored yet: empty is right
    acked.note("svc-a", "ERROR", T0)
    acked.note("svc-a", "INFO", T0)
    assert acked.empty_problem(5.0) is None  # within the grace (the index may lag)
    assert acked.empty_problem(2.0, "svc-a") is None
    clock.now += 2.5
    assert acked.empty_problem(5.0) is None  # the newest read's index: 5 s
    problem = acked.empty_problem(2.0, "svc-a")  # the table itself: 2 s
    assert problem and "2 entries of service 'svc-a' acknowledged" in problem, problem
    clock.now += 3
    problem = acked.empty_problem(5.0)
    assert problem and "empty page" in problem and "any service" in problem, problem
    # What the read asks for decides: another service, another level, a later since.
    assert acked.empty_problem(2.0, "svc-b") is None
    assert acked.empty_problem(2.0, "svc-a", {"WARN"}) is None
    assert "1 entry of service 'svc-a' at level DEBUG/ERROR" in (
        acked.empty_problem(2.0, "svc-a", {"ERROR", "DEBUG"}) or ""
    )
    assert acked.empty_problem(2.0, "svc-a", None, "2026-01-01T00:00:01.000Z") is None


def test_the_empty_read_check_remembers_the_newest_entry_of_a_slot() -> None:
    """Bounded memory (one slot per service and level), yet a later entry within ``since``
    still makes an empty read wrong when the first one is older than ``since``."""
    clock = FakeClock()
    acked = content.Acknowledged(clock)
    for second in range(1000):
        acked.note("svc", "INFO", f"2026-01-01T00:{second // 60:02d}:{second % 60:02d}.000Z")
    assert len(acked._slots) == 1
    clock.now += 3
    since = "2026-01-01T00:16:00.000Z"  # after the first entry, before the newest
    problem = acked.empty_problem(2.0, "svc", None, since)
    assert problem and "1000 entries" in problem, problem


# ------------------------------------------------------------------ content checks of batches
SENT = ["id-0", "id-1", "id-2"]


def _results(*statuses: str, ids: list[str] = SENT) -> dict:
    rows = [{"index": i, "log_id": ids[i], "status": s} for i, s in enumerate(statuses)]
    return {"message": "stored", "results": rows}


def test_a_batch_answer_with_every_entry_stored_passes() -> None:
    assert batch_outcome(_results("stored", "stored", "stored"), SENT) == (3, None)


@pytest.mark.parametrize(
    ("body", "stored", "problem"),
    [
        (_results("stored", "not_stored", "stored"), 2, "1 of 3 not stored"),
        (_results("stored", "duplicate", "stored"), 2, "1 of 3 not stored"),
        (["stored", "stored", "stored"], 0, "without 3 results"),
        (None, 0, "without 3 results"),
        ({"results": "stored"}, 0, "without 3 results"),
        (_results("stored", "stored"), 0, "without 3 results"),
        # Stored, says the answer, but not the entries sent: another request's, or reordered.
        (_results("stored", "stored", "stored", ids=["id-0", "id-1", "x"]), 2, "not the entry"),
        (_results("stored", "stored", "stored", ids=["id-1", "id-0", "id-2"]), 1, "not the entry"),
        ({"results": [{"index": 0, "log_id": "id-0", "status": "stored"}, 1, 2]}, 1, "not the"),
        ({"results": _results("stored", "stored", "stored")["results"]}, 3, "without a message"),
    ],
)
def test_a_wrong_batch_answer_is_a_failure_and_counts_only_its_stored_entries(
    body: object, stored: int, problem: str
) -> None:
    """A 201/207 whose results do not account for every entry sent is a wrong answer, counted
    as a failure; the entries it does show stored still count for logs/s."""
    count, why = batch_outcome(body, SENT)
    assert count == stored
    assert problem in (why or ""), why


# ------------------------------------------------------------------ exceptions in the tasks
def test_exceptions_in_the_generators_tasks_count_as_failures() -> None:
    """A task that raised made a request Locust reported as neither success nor failure (a
    check that raised), or none at all: each one is a failure in the error ratio."""
    measured = replace(healthy(), task_errors=1)
    zero = replace(PROFILE, max_error_ratio=0.0)
    assert exit_code(healthy(), zero) == 0
    assert exit_code(measured, zero) == 1
    row = {r.check_id: r for r in verdict.evaluate(measured, zero)}["LOAD-ERROR-RATIO"]
    assert row.status is Status.FAIL and "1 exception" in row.detail, row.detail
    assert row.evidence["task_errors"] == 1
    # Against 0.1 %: 92 failures pass, 92 failures and 1 exception of 92,000 + 1 do not.
    assert exit_code(replace(healthy(), total_failures=92)) == 0
    assert exit_code(replace(healthy(), total_failures=92, task_errors=1)) == 1


def test_requests_left_unanswered_at_the_stop_count_as_failures() -> None:
    """Locust records nothing of a request its user was killed waiting for: the gate counts
    them, and each is a failure in the error ratio, named in the detail."""
    zero = replace(PROFILE, max_error_ratio=0.0)
    measured = replace(healthy(), unanswered=2)
    assert exit_code(measured, zero) == 1
    row = {r.check_id: r for r in verdict.evaluate(measured, zero)}["LOAD-ERROR-RATIO"]
    assert row.status is Status.FAIL and "2 requests got no answer" in row.detail, row.detail
    assert row.evidence["unanswered"] == 2
    assert measured.as_dict()["unanswered"] == 2
    assert measured.error_ratio == 2 / (healthy().total_requests + 2)


def test_measure_reads_the_runners_exception_count() -> None:
    entry = SimpleNamespace(
        num_requests=10, num_failures=0, get_response_time_percentile=lambda p: 5
    )
    stats = SimpleNamespace(
        entries={("/logs (single)", "POST"): entry},
        total=SimpleNamespace(
            num_requests=10, num_failures=0, start_time=1.0, last_request_timestamp=2.0
        ),
    )
    assert measure(stats, 10).task_errors == 0
    measured = measure(stats, 10, task_errors=3)
    assert measured.task_errors == 3 and measured.as_dict()["task_errors"] == 3
    assert measured.error_ratio == 3 / 13
    assert measure(stats, 10, unanswered=2).error_ratio == 2 / 12


def test_the_error_ratio_names_the_most_frequent_failures() -> None:
    """The verdict says what failed, not only how often: Locust's errors table (one entry per
    request name and reason), the most frequent first, the rest counted."""

    def error(name: str, why: str, occurrences: int, method: str = "GET") -> SimpleNamespace:
        return SimpleNamespace(
            method=method,
            name=name,
            error=why,
            occurrences=occurrences,
            to_name=lambda: f"{method} {name}: {why}",
        )

    newest = "/logs/recent (all services)"
    stats = SimpleNamespace(
        entries={(newest, "GET"): _stats_entry(100, 60, {5: 100})},
        total=SimpleNamespace(
            num_requests=100, num_failures=60, start_time=1.0, last_request_timestamp=11.0
        ),
        errors={
            "a": error(newest, "entries are not newest first", 41),
            "b": error(newest, "status 500: Internal server error", 12),
            "c": error("/logs (batch)", "201: without 10 results", 5, "POST"),
            "d": error(newest, "x" * 400, 2),
        },
    )
    measured = measure(stats, 0)
    assert [f.occurrences for f in measured.failures_seen] == [41, 12, 5]
    assert measured.failure_kinds == 4
    row = {r.check_id: r for r in verdict.evaluate(measured, PROFILE)}["LOAD-ERROR-RATIO"]
    assert row.status is Status.FAIL
    assert (
        "Most frequent: GET /logs/recent (all services): entries are not newest first (41x); "
        "GET /logs/recent (all services): status 500: Internal server error (12x); "
        "POST /logs (batch): 201: without 10 results (5x); 1 other kind in locust_failures.csv"
    ) in row.detail, row.detail
    assert row.evidence["failures_seen"][0] == {
        "what": "GET /logs/recent (all services): entries are not newest first",
        "occurrences": 41,
    }
    assert measured.as_dict()["failure_kinds"] == 4
    table = render_table(verdict.evaluate(measured, PROFILE), measured, PROFILE)
    assert "Most frequent failures (of 4 kinds):" in table
    assert "  41x GET /logs/recent (all services): entries are not newest first" in table
    # Long reasons are cut; a stats object without to_name (or without errors) still works.
    stats.errors = {"d": SimpleNamespace(method="GET", name=newest, error="y" * 400, occurrences=1)}
    only = measure(stats, 0).failures_seen[0]
    assert only.what.startswith(f"GET {newest}: yyy") and len(only.what) == 300
    del stats.errors
    assert measure(stats, 0).failures_seen == () and "Most frequent" not in (
        {r.check_id: r for r in verdict.evaluate(measure(stats, 0), PROFILE)}[
            "LOAD-ERROR-RATIO"
        ].detail
    )


# ------------------------------------------------------------------ a run that ended early
def test_rates_are_over_the_time_asked_when_the_requests_stopped_early() -> None:
    """100 s asked; the requests stopped after 20 s (workers lost, Locust interrupted): the
    20 s held 6,000 logs/s, but the run did not sustain 1,000 logs/s over what was asked."""
    early = replace(healthy(), window_s=20.0, asked_window_s=100.0)
    assert early.logs_per_s == 1_200 and early.queries_per_s == 600  # over 100 s, not 20 s
    starved = replace(early, entries_stored=20_000)  # 1,000 logs/s for 20 s, then nothing
    rows = {r.check_id: r for r in verdict.evaluate(starved, PROFILE)}
    assert rows["LOAD-INGEST-RATE"].status is Status.FAIL
    assert "ended 80.0 s early" in rows["LOAD-INGEST-RATE"].detail, rows["LOAD-INGEST-RATE"].detail
    assert rows["LOAD-INGEST-RATE"].evidence["asked_window_s"] == 100.0
    assert exit_code(starved) == 1
    # The requests went on to the end (or past it, stopping users): the window they span.
    assert replace(healthy(), asked_window_s=99.0).logs_per_s == 1_200
    assert (
        "early"
        not in {r.check_id: r for r in verdict.evaluate(healthy(), PROFILE)}[
            "LOAD-INGEST-RATE"
        ].detail
    )


@pytest.mark.breaks("LOAD-WINDOW")
def test_a_run_that_stopped_early_fails_a_profile_without_rate_targets() -> None:
    """Only the rates noticed an early stop: a profile that gates latency and errors alone
    PASSed a run whose requests ended after 20 s of the 100 s asked."""
    latency_only = parse_profile("latency", {"p50_ms": 150, "p99_ms": 500})
    early = replace(healthy(), window_s=20.0)
    rows = {r.check_id: r for r in verdict.evaluate(early, latency_only)}
    assert rows["LOAD-WINDOW"].status is Status.FAIL and rows["LOAD-WINDOW"].gated
    detail = rows["LOAD-WINDOW"].detail
    assert "100.0 s asked" in detail and "20.0 s into it" in detail and "80.0 s early" in detail
    assert exit_code(early, latency_only) == 1
    assert exit_code(healthy(), latency_only) == 0
    assert "FAIL (1 breach)" in render_table(list(rows.values()), early, latency_only)
    # 90 % of the time asked is enough (the last request of a low-rate run comes a little
    # before the end); no request at all in the time asked fails.
    assert exit_code(replace(healthy(), window_s=90.0), latency_only) == 0
    nothing = replace(healthy(), window_s=0.0, total_requests=0, kinds={}, entries_stored=0)
    row = {r.check_id: r for r in verdict.evaluate(nothing, latency_only)}["LOAD-WINDOW"]
    assert row.status is Status.FAIL and "no request was made" in row.detail


def test_a_run_asked_for_no_run_time_has_no_window_check() -> None:
    unbounded = replace(healthy(), asked_window_s=0.0)
    assert "LOAD-WINDOW" not in {r.check_id for r in verdict.evaluate(unbounded, PROFILE)}
    check = next(c for c in verdict.CHECKS if c.id == "LOAD-WINDOW")
    outcome = check.run(Run(unbounded, PROFILE))
    assert outcome.status is Status.SKIP and "no run time" in outcome.detail


def test_a_burst_of_requests_in_a_tiny_window_is_not_a_high_rate() -> None:
    """One batch of 100 entries 1 ms after the reset was 100,000 logs/s over the window from
    the reset to the last request; over the 100 s asked it is 1 log/s."""
    blip = replace(healthy(), entries_stored=100, window_s=0.001, asked_window_s=100.0)
    assert blip.logs_per_s == 1.0
    assert statuses(blip)["LOAD-INGEST-RATE"] is Status.FAIL


def test_measure_takes_the_asked_window_from_the_scheduled_end() -> None:
    entry = SimpleNamespace(
        num_requests=10, num_failures=0, get_response_time_percentile=lambda p: 5
    )
    stats = SimpleNamespace(
        entries={("/logs (single)", "POST"): entry},
        total=SimpleNamespace(
            num_requests=10, num_failures=0, start_time=1000.0, last_request_timestamp=1010.0
        ),
    )
    assert measure(stats, 500).asked_window_s == 0.0  # unknown: the window alone
    assert measure(stats, 500).logs_per_s == 50.0
    measured = measure(stats, 500, until=1100.0)
    assert (measured.window_s, measured.asked_window_s, measured.logs_per_s) == (10, 100, 5.0)
    assert measured.as_dict()["asked_window_s"] == 100.0
