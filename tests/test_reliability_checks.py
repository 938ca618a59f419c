"""The REL- checks on made-up figures: each fails on the figures that breach it, never passes
on figures that compared nothing, and REL-004 skips where no fault was injected.

The figures are what ``slsops.harness.reliability.measure`` collects from a run (fuzz figures, fault
and concurrency campaign tallies, the access matrix); the checks judge only them, so each
breach is written here as the figures a broken service or a cut-short run produces.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from slsops.framework.model import Status
from slsops.harness import reliability_checks
from slsops.harness.access_matrix import Attempt, MatrixResult
from slsops.harness.campaign import Tally
from slsops.harness.fuzz_figures import FuzzFigures

ROOT = Path(__file__).resolve().parents[1]


def fuzzed(**change) -> FuzzFigures:
    figures = FuzzFigures(asked=300, cases=300, stored_entries=120, readbacks=90)
    for name, value in change.items():
        setattr(figures, name, value)
    return figures


def tally(n: int = 10, **change) -> Tally:
    """A campaign that sent, had acknowledged and found ``n`` entries."""
    ids = [f"e-{i}" for i in range(n)]
    result = Tally(
        sent={i: {"log_id": i} for i in ids},
        acknowledged=set(ids),
        found=n,
        server_errors=2,
    )
    result.statuses.update({"single 201": n, "read 503": 2})
    for name, value in change.items():
        setattr(result, name, value)
    return result


def matrix(let_through: bool = False, refused: bool = False, written: bool = False):
    attempts = [
        Attempt("ingest", "POST", "role", "allow", 500 if refused else 201),
        Attempt("read", "GET", "role", "allow", 200),
        Attempt("read", "POST", "role", "deny", 201 if let_through else 403),
        Attempt("none", "GET", "unsigned", "deny", 403),
    ]
    return MatrixResult(attempts, ["log-x"] if written else [])


def healthy() -> reliability_checks.Measured:
    return reliability_checks.Measured(
        fuzzed=fuzzed(),
        fault_tallies=[tally(), tally()],
        faults_injected=37,
        other_tallies=[tally(24, server_errors=0)],
        matrix=matrix(),
    )


def judged(measured: reliability_checks.Measured) -> dict[str, object]:
    return {r.id: r for r in reliability_checks.judge(measured)}


def test_a_healthy_run_passes_every_check() -> None:
    results = judged(healthy())
    assert {r.status for r in results.values()} == {Status.PASS}, results
    assert sorted(results) == [f"REL-00{n}" for n in range(1, 7)]


BREACHES = {
    "REL-001": [
        ("server errors", {"fuzzed": fuzzed(server_errors=1)}, "1 5xx"),
        ("not matching", {"fuzzed": fuzzed(nonconforming=2)}, "2 not matching"),
        ("wrong read-back", {"fuzzed": fuzzed(readback_failures=1)}, "1 wrong read-backs"),
        ("write on 4xx", {"fuzzed": fuzzed(writes_on_4xx=1)}, "1 writes on 4xx"),
        ("stored not found", {"fuzzed": fuzzed(stored_mismatch=1)}, "1 stored entries not"),
        (
            "time budget spent, zero cases",
            {"fuzzed": fuzzed(cases=0, stop_reason="time budget spent during POST /logs")},
            "only 0 of the 300 generated cases asked ran (time budget spent",
        ),
        ("fewer cases", {"fuzzed": fuzzed(cases=299)}, "only 299 of the 300"),
    ],
    "REL-002": [
        ("lost", {"fault_tallies": [tally(lost=["e-3"]), tally()]}, "1 lost: e-3"),
        (
            "nothing acknowledged",
            {
                "fault_tallies": [tally(acknowledged=set())],
                "other_tallies": [tally(acknowledged=set())],
            },
            "no entry was acknowledged",
        ),
    ],
    "REL-003": [
        ("duplicate", {"other_tallies": [tally(duplicates=["e-1"])]}, "1 duplicates (e-1)"),
        ("altered", {"fault_tallies": [tally(altered=["e-2"])]}, "1 altered or unknown (e-2)"),
        ("unknown", {"fault_tallies": [tally(unknown=["zz"])]}, "altered or unknown (zz)"),
    ],
    "REL-004": [
        (
            "a 500 under faults",
            {"fault_tallies": [tally(unclean_errors=1, problems=["single: unclean 500: {}"])]},
            "1 unclean 5xx",
        ),
        (
            "an unclean 5xx where nothing was injected is not hidden by a skip",
            {
                "faults_injected": 0,
                "fault_tallies": [],
                "other_tallies": [tally(unclean_errors=1, problems=["concurrent: 502"])],
            },
            "1 unclean 5xx",
        ),
    ],
    "REL-005": [
        ("let through", {"matrix": matrix(let_through=True)}, "1 let through (read POST"),
        ("written", {"matrix": matrix(written=True)}, "1 refused but written"),
        (
            "nothing attempted",
            {"matrix": MatrixResult([a for a in matrix().attempts if a.expected == "allow"])},
            "attempted no unauthorised",
        ),
    ],
    "REL-006": [
        ("refused", {"matrix": matrix(refused=True)}, "1 refused of 2: ingest POST"),
        (
            "nothing attempted",
            {"matrix": MatrixResult([Attempt("x", "GET", "unsigned", "deny", 403)])},
            "attempted no authorised",
        ),
    ],
}


@pytest.mark.breaks("REL-001", "REL-002", "REL-003", "REL-004", "REL-005", "REL-006")
@pytest.mark.parametrize(
    ("check_id", "change", "named"),
    [
        pytest.param(cid, change, named, id=f"{cid}-{label}")
        for cid, cases in BREACHES.items()
        for label, change, named in cases
    ],
)
def test_each_rel_check_fails_on_the_figures_that_breach_it(check_id, change, named) -> None:
    results = judged(replace(healthy(), **change))
    failing = {cid for cid, r in results.items() if r.status is not Status.PASS}
    assert failing == {check_id}, {cid: (r.status, r.detail) for cid, r in results.items()}
    assert results[check_id].status is Status.FAIL
    assert named in results[check_id].detail, results[check_id].detail


def test_every_rel_check_has_breaching_figures() -> None:
    assert set(BREACHES) == {c.id for c in reliability_checks.CHECKS}


def test_rel_004_skips_and_says_so_when_no_fault_was_injected() -> None:
    on_aws = replace(healthy(), fault_tallies=[], faults_injected=0)
    result = judged(on_aws)["REL-004"]
    assert result.status is Status.SKIP
    assert "no DynamoDB fault was injected" in result.detail
    # Scenarios ran but the embedded AWS injected nothing: still nothing under faults to judge.
    silent = replace(healthy(), faults_injected=0)
    assert judged(silent)["REL-004"].status is Status.SKIP


def test_rel_004_skips_when_every_fault_was_absorbed() -> None:
    absorbed = replace(healthy(), fault_tallies=[tally(server_errors=0)])
    result = judged(absorbed)["REL-004"]
    assert result.status is Status.SKIP and "absorbed by retries" in result.detail


def test_rel_001_detail_gives_the_count_asked_and_generated() -> None:
    result = judged(replace(healthy(), fuzzed=fuzzed(cases=0)))["REL-001"]
    assert result.status is Status.FAIL
    assert "0 of the 300" in result.detail
    assert (result.evidence["cases"], result.evidence["asked"]) == (0, 300)


def test_a_check_that_raises_is_an_error_not_a_pass() -> None:
    broken = replace(healthy(), matrix=None)
    results = judged(broken)
    assert results["REL-005"].status is Status.ERROR
    assert results["REL-001"].status is Status.PASS


def test_the_catalogue_lists_every_rel_check_with_a_literal_id() -> None:
    source = (ROOT / "tools" / "slsops" / "harness" / "reliability_checks.py").read_text(
        encoding="utf-8"
    )
    assert [c.id for c in reliability_checks.CHECKS] == [f"REL-00{n}" for n in range(1, 7)]
    for check in reliability_checks.CHECKS:
        assert f'"{check.id}"' in source
        assert check.reads and check.family == "REL" and (ROOT / check.doc).is_file()
    runs_on = {c.id: c.runs_on for c in reliability_checks.CHECKS}
    assert runs_on.pop("REL-004") == "local"  # only the local stack can inject faults
    assert set(runs_on.values()) == {"both"}
