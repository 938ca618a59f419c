"""The argparse mains that write reports (``python -m slsops.harness.reliability`` and
``python -m slsops.load.run``) take ``--severity``/``--status``/``--fail-on`` as every
``slsops`` command does, and end with 130 after Ctrl-C and 143 after SIGTERM, their clean-up
run first. No stack: the work each would do is replaced by a stand-in at its first step."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stack_outputs import stack_outputs

from slsops.commands.common import ReportFilters
from slsops.errors import UsageError
from slsops.framework.formats import render
from slsops.framework.model import CheckResult, Severity, Status
from slsops.harness import reliability
from slsops.load import run as load_run
from slsops.load import verdict
from slsops.load.measurements import KindStats, Measurements
from slsops.load.profile import parse_profile
from slsops.load.verdict_report import apply_filters

ROOT = Path(__file__).resolve().parents[1]


def _result(check_id: str, status: Status, severity: Severity) -> CheckResult:
    return CheckResult(check_id, check_id, status, severity, f"{check_id} detail", "fix it")


class _Stack:
    def target(self) -> dict[str, str]:
        return {"kind": "local"}


@pytest.fixture
def reliability_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reliability job with its measuring replaced: one critical PASS, one high FAIL."""
    started: list[str] = []

    @contextlib.contextmanager
    def stack_for_run(path: Path | None, purpose: str):
        started.append(purpose)
        yield _Stack()

    def measure(*_args: object) -> tuple[list[CheckResult], dict[str, object]]:
        results = [
            _result("REL-001", Status.PASS, Severity.CRITICAL),
            _result("REL-002", Status.FAIL, Severity.HIGH),
        ]
        return results, {"fault_scenarios": []}

    monkeypatch.setattr(reliability, "stack_for_run", stack_for_run)
    monkeypatch.setattr(reliability, "measure", measure)
    monkeypatch.setattr(reliability, "print_figures", lambda figures: None)
    return started


def test_reliability_refuses_a_report_over_its_stack_file(reliability_run, tmp_path):
    """`--output stack.json --stack stack.json` ran the whole job, then replaced the stack
    file with the report."""
    stack = tmp_path / "stack.json"
    stack.write_text("{}")
    code = reliability.main(["--stack", str(stack), "--output", str(stack), "--format", "json"])
    assert code == 2 and reliability_run == []
    assert stack.read_text() == "{}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-seconds", "nan"], "--max-seconds"),
        (["--max-seconds", "-1"], "--max-seconds"),
        (["--output", "NOTES/figures.json"], "is not a directory"),
        (["--output", "DIR"], "is a directory"),
        (["--output", "STACK"], "same file as --stack"),
    ],
)
def test_fuzz_refuses_bad_options_before_starting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    """Each was found only after the fuzz run (the figures lost) or not at all (NaN seconds:
    no deadline; -1: no case ran, and 'all held')."""
    from slsops.harness import fuzz

    started: list[str] = []

    @contextlib.contextmanager
    def stack_for_run(path: Path | None, purpose: str):
        started.append(purpose)
        yield _Stack()

    monkeypatch.setattr(fuzz, "stack_for_run", stack_for_run)
    monkeypatch.setattr(fuzz, "run", lambda *a: pytest.fail("the fuzz run started"))
    (tmp_path / "NOTES").write_text("a file")
    stack = tmp_path / "stack.json"
    stack.write_text("{}")
    paths = {"NOTES/figures.json": str(tmp_path / "NOTES" / "figures.json")}
    paths |= {"DIR": str(tmp_path), "STACK": str(stack)}
    code = fuzz.main(["--stack", str(stack), *[paths.get(a, a) for a in args]])
    assert code == 2 and started == []
    assert message in capsys.readouterr().err
    assert stack.read_text() == "{}"


def test_reliability_status_filter_narrows_the_report_not_the_exit(reliability_run, tmp_path):
    out = tmp_path / "report.json"
    code = reliability.main(["--format", "json", "--output", str(out), "--status", "FAIL"])
    body = json.loads(out.read_text(encoding="utf-8"))
    assert [c["id"] for c in body["checks"]] == ["REL-002"]
    assert body["summary"]["pass"] == 1 and body["summary"]["fail"] == 1
    assert body["shown"]["status"] == ["FAIL"]
    assert code == 1


def test_reliability_fail_on_sets_the_exit_threshold(reliability_run, tmp_path):
    out = tmp_path / "report.json"
    args = ["--format", "json", "--output", str(out)]
    assert reliability.main([*args, "--fail-on", "critical"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["fail_on"] == "critical"
    assert reliability.main([*args, "--fail-on", "high", "--severity", "critical,high"]) == 1


@pytest.mark.parametrize(
    "args", [["--fail-on", "urgent"], ["--status", "BROKEN"], ["--severity", "huge"]]
)
def test_reliability_bad_filter_exits_2_before_any_stack(reliability_run, args, capsys):
    assert reliability.main(args) == 2
    assert reliability_run == []
    assert "slsops reliability: error:" in capsys.readouterr().err


def test_reliability_output_directory_exits_2_before_any_stack(reliability_run, tmp_path):
    assert reliability.main(["--output", str(tmp_path)]) == 2
    assert reliability_run == []


def _run_interrupted(script: str, signum: int) -> subprocess.CompletedProcess[str]:
    """``script`` in a child process; its stand-in sends ``signum`` to the child itself."""
    code = textwrap.dedent(script).replace("SIGNUM", str(int(signum)))
    return subprocess.run(  # noqa: S603  our own interpreter, fixed script
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


RELIABILITY_INTERRUPTED = """
import contextlib, os, runpy, sys
from slsops.local import ephemeral

@contextlib.contextmanager
def stack_for_run(path, purpose):
    try:
        os.kill(os.getpid(), SIGNUM)
        yield
    finally:
        print("stand-in stack stopped", file=sys.stderr)

ephemeral.stack_for_run = stack_for_run
sys.argv = ["reliability", "--short"]
runpy.run_module("slsops.harness.reliability", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_reliability_interrupted_stops_its_stack_and_exits(signum, code):
    done = _run_interrupted(RELIABILITY_INTERRUPTED, signum)
    assert done.returncode == code, done.stderr
    assert "stand-in stack stopped" in done.stderr
    assert "Traceback" not in done.stderr


def _verdict_file(tmp_path: Path) -> Path:
    """A verdict the gate would write: every LOAD- check, the P99 of single ingests breached."""
    profile = parse_profile("t", {"p99_ms": 500, "max_error_ratio": 0.01})
    fast = KindStats(requests=1_000, failures=0, p50_ms=60, p95_ms=150, p99_ms=300)
    measured = Measurements(
        kinds={"ingest_single": replace(fast, p99_ms=900), "read_service": fast},
        entries_stored=1_000,
        window_s=10.0,
        total_requests=2_000,
        total_failures=0,
    )
    rows = verdict.evaluate(measured, profile)
    report = verdict.to_report(rows, measured, profile, {"kind": "aws"}, datetime.now(UTC), 1.0)
    path = tmp_path / "verdict.json"
    path.write_text(render(report, "json"), encoding="utf-8")
    return path


def test_load_verdict_without_filters_is_left_as_written(tmp_path):
    path = _verdict_file(tmp_path)
    written = path.read_text(encoding="utf-8")
    assert apply_filters(path, ReportFilters()) == 1
    assert path.read_text(encoding="utf-8") == written


def test_load_status_filter_narrows_the_verdict_not_the_exit(tmp_path):
    path = _verdict_file(tmp_path)
    before = json.loads(path.read_text(encoding="utf-8"))
    assert apply_filters(path, ReportFilters.of(status=["FAIL"])) == 1
    after = json.loads(path.read_text(encoding="utf-8"))
    failed = [c for c in before["checks"] if c["status"] == "FAIL"]
    assert "LOAD-INGEST-SINGLE-P99" in {c["id"] for c in failed}
    assert after["checks"] == failed and len(failed) < len(before["checks"])
    assert after["summary"] == before["summary"] and after["load"] == before["load"]


def test_load_fail_on_above_the_breach_exits_0_and_says_why(tmp_path, capsys):
    path = _verdict_file(tmp_path)  # every LOAD- check is HIGH
    filters = ReportFilters.of(fail_on="critical")
    assert load_run._final_code(1, path, 1.0, filters) == 0
    assert json.loads(path.read_text(encoding="utf-8"))["fail_on"] == "critical"
    assert "verdict FAIL" in capsys.readouterr().err
    assert load_run._final_code(1, _verdict_file(tmp_path), 1.0, ReportFilters()) == 1


@pytest.mark.parametrize("args", [["--fail-on", "urgent"], ["--status", "BROKEN"]])
def test_load_bad_filter_is_a_usage_error_before_the_run(args, tmp_path):
    with pytest.raises(UsageError):
        load_run.run_load(["--stack", str(tmp_path / "none.json"), *args])


LOAD_INTERRUPTED = """
import os, runpy, sys
from slsops.load import preflight

def check(stack):
    os.kill(os.getpid(), SIGNUM)

preflight.check = check
sys.argv = ["load", "--stack", STACK, "--results", RESULTS]
runpy.run_module("slsops.load.run", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_load_interrupted_in_its_preflight_exits(signum, code, tmp_path):
    outputs = stack_outputs(
        api_url="http://127.0.0.1:9/prod", local_endpoint_url="http://127.0.0.1:9"
    )
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps(outputs), encoding="utf-8")
    script = LOAD_INTERRUPTED.replace("STACK", repr(str(stack))).replace(
        "RESULTS", repr(str(tmp_path / "results"))
    )
    done = _run_interrupted(script, signum)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results" / "verdict.json").exists()
