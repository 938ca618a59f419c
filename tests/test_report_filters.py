"""The report framework every command shares: selection, SKIP causes, views, exit threshold,
output formats, usage errors, signals and the suite's step rules. No stack needed: the checks
here are small functions with known outcomes, run through the same runner and report code
the commands use."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import typer
from stack_outputs import stack_outputs
from typer.testing import CliRunner

from slsops.cli import app
from slsops.commands.common import ReportFilters, run_report
from slsops.contract import LOCAL_GAPS
from slsops.errors import SlsopsError, Terminated, UsageError
from slsops.framework import formats
from slsops.framework.model import Check, CheckResult, Severity, Status, failed, passed, warned
from slsops.framework.report import Report, ReportView
from slsops.framework.runner import plan, run_planned
from slsops.harness import suite
from slsops.options import (
    SEVERITIES,
    FailOnOption,
    FormatOption,
    OnlyOption,
    OutputOption,
    SeverityFilterOption,
    SkipOption,
    StatusFilterOption,
)


def make(check_id: str, outcome, severity=Severity.MEDIUM, runs_on="both") -> Check:
    return Check(
        check_id, f"title of {check_id}", severity, "fix it", lambda _: outcome, "x", runs_on
    )


CHECKS = [
    make("API-001", passed("ok")),
    make("API-002", failed("method POST /logs has authorization NONE"), Severity.CRITICAL),
    make("DDB-001", failed("table name differs"), Severity.LOW),
    make("DDB-002", warned("close to the limit"), Severity.INFO),
    make("KMS-001", passed("rotation on"), Severity.HIGH),
]


def results(statuses_and_severities) -> list[CheckResult]:
    return [
        CheckResult(f"X-{n:03d}", "t", status, severity, "d", "r")
        for n, (status, severity) in enumerate(statuses_and_severities)
    ]


def report_of(found: list[CheckResult], **kwargs) -> Report:
    return Report("verify", {"kind": "local"}, datetime.now(UTC), 1.5, found, **kwargs)


# --- selection ------------------------------------------------------------------------------
def test_only_and_skip_match_ids_and_globs_in_any_case() -> None:
    planned = plan(CHECKS, only=["api-*", "ddb-001"], skip=["Api-002"])
    assert [(c.id, reason) for c, reason in planned] == [
        ("API-001", None),
        ("API-002", "skipped by --skip Api-002"),
        ("DDB-001", None),
    ]


def test_comma_separated_patterns_are_several_patterns() -> None:
    planned = plan(CHECKS, only=["API-001,kms-*"])
    assert [c.id for c, _ in planned] == ["API-001", "KMS-001"]


@pytest.mark.parametrize("option", ["only", "skip"])
def test_a_pattern_that_matches_nothing_is_a_usage_error_naming_it(option: str) -> None:
    with pytest.raises(UsageError, match=rf"--{option} API-9\*, nope matches no check id"):
        plan(CHECKS, **{option: ["API-9*", "nope", "ddb-*"]})


def test_skip_is_recorded_in_the_report_as_skip_with_its_pattern() -> None:
    found = run_planned(plan(CHECKS, skip=["ddb-*"]), None, target_kind="aws")
    by_id = {r.id: r for r in found}
    assert [r.id for r in found] == [c.id for c in CHECKS], "skipped checks stay in the report"
    assert by_id["DDB-001"].status is Status.SKIP
    assert by_id["DDB-001"].detail == "skipped by --skip ddb-*"
    assert by_id["API-002"].status is Status.FAIL


# --- SKIP because of the kind of deployment -------------------------------------------------
def test_aws_only_check_on_the_local_stack_skips_with_the_contract_reason() -> None:
    gap_id = next(iter(LOCAL_GAPS))
    aws_only = make(gap_id, failed("would fail"), runs_on="aws")
    local = run_planned([(aws_only, None)], None, target_kind="local")[0]
    assert local.status is Status.SKIP
    assert LOCAL_GAPS[gap_id] in local.detail
    on_aws = run_planned([(aws_only, None)], None, target_kind="aws")[0]
    assert on_aws.status is Status.FAIL, "on AWS the check runs and gives its own verdict"


def test_aws_only_check_without_a_contract_reason_is_an_error_not_a_skip() -> None:
    unexplained = make("ZZZ-999", passed("ok"), runs_on="aws")
    result = run_planned([(unexplained, None)], None, target_kind="local")[0]
    assert result.status is Status.ERROR
    assert "LOCAL_GAPS" in result.detail


def test_local_only_check_skips_on_aws_and_runs_locally() -> None:
    local_only = make("LOC-001", failed("broken"), runs_on="local")
    assert run_planned([(local_only, None)], None, "aws")[0].status is Status.SKIP
    assert run_planned([(local_only, None)], None, "local")[0].status is Status.FAIL


def test_suite_allowlist_holds_exactly_the_contract_local_gaps() -> None:
    assert {e["id"] for e in suite.load_allowlist()} == set(LOCAL_GAPS)


# --- view and exit threshold ----------------------------------------------------------------
def test_fail_on_is_the_exit_threshold() -> None:
    low_fail = report_of(results([(Status.FAIL, Severity.LOW), (Status.PASS, Severity.CRITICAL)]))
    assert low_fail.exit_code() == 1, "default: any FAIL exits 1"
    assert report_of(low_fail.results, fail_on=Severity.LOW).exit_code() == 1
    assert report_of(low_fail.results, fail_on=Severity.MEDIUM).exit_code() == 0
    high_error = report_of(results([(Status.ERROR, Severity.HIGH)]))
    assert report_of(high_error.results, fail_on=Severity.HIGH).exit_code() == 1
    assert report_of(high_error.results, fail_on=Severity.CRITICAL).exit_code() == 0
    warn_only = report_of(results([(Status.WARN, Severity.CRITICAL)]))
    assert report_of(warn_only.results, fail_on=Severity.INFO).exit_code() == 0


def test_severity_ranks_follow_the_declared_order() -> None:
    assert [s.value for s in sorted(Severity, key=lambda s: -s.rank)] == list(SEVERITIES)


def test_view_filters_what_is_shown_not_the_summary_or_exit() -> None:
    found = results(
        [(Status.FAIL, Severity.LOW), (Status.PASS, Severity.HIGH), (Status.FAIL, Severity.HIGH)]
    )
    view = ReportView(frozenset({Severity.HIGH}), frozenset({Status.PASS}))
    report = report_of(found, view=view)
    body = report.as_dict()
    assert [c["id"] for c in body["checks"]] == ["X-001"]
    assert body["summary"]["fail"] == 2 and body["shown"] == {
        "severity": ["high"],
        "status": ["PASS"],
    }
    assert report.exit_code() == 1, "a hidden FAIL still fails the run"


# --- formats --------------------------------------------------------------------------------
def ran_report(**kwargs) -> Report:
    found = run_planned(plan(CHECKS), None, "aws")
    return report_of(found, **kwargs)


def test_table_summary_names_the_failed_ids() -> None:
    text = formats.render(ran_report(), "table")
    assert text.rstrip().splitlines()[-1].endswith("failed: API-002, DDB-001")
    assert "\x1b[" not in text


def test_table_colours_status_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    for stream, coloured in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stdout", stream)
        formats.emit(ran_report(), "table", None)
        text = stream.getvalue()
        assert ("\x1b[31m\x1b[1mFAIL" in text) is coloured
        assert ("\x1b[32mPASS" in text) is coloured
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    monkeypatch.setattr(sys, "stdout", stream)
    formats.emit(ran_report(), "table", None)
    assert "\x1b[" not in stream.getvalue()


def test_csv_has_one_row_per_shown_check_with_evidence_as_json() -> None:
    evidence_check = make("FN-001", failed("memory 256, want 512", memory=256), Severity.HIGH)
    report = report_of(run_planned(plan([*CHECKS, evidence_check]), None, "aws"))
    report = report_of(report.results, view=ReportView(statuses=frozenset({Status.FAIL})))
    rows = list(csv.DictReader(io.StringIO(formats.render(report, "csv"))))
    assert [r["id"] for r in rows] == ["API-002", "DDB-001", "FN-001"]
    assert rows[0]["status"] == "FAIL" and rows[0]["severity"] == "critical"
    assert rows[0]["target_kind"] == "local"
    assert json.loads(rows[2]["evidence"]) == {"memory": 256}
    assert rows[0]["detail"] == "method POST /logs has authorization NONE"


def test_html_is_self_contained_and_escapes_every_value() -> None:
    nasty = make("XSS-001", failed("<script>alert(1)</script> & more"), Severity.HIGH)
    report = report_of(run_planned(plan([*CHECKS, nasty]), None, "aws"))
    page = formats.render(report, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    for external in ("http://", "https://", "<link", "src="):
        assert external not in page
    assert page.count("<tr><td>") == len(CHECKS) + 1
    assert 'class="status FAIL"' in page and "failed: API-002, DDB-001, XSS-001" in page


def test_one_junit_writer_for_reports_and_the_suite() -> None:
    report = ran_report(view=ReportView(statuses=frozenset({Status.FAIL, Status.WARN})))
    root = ET.fromstring(formats.render(report, "junit").split("\n", 1)[1])  # noqa: S314 we wrote it
    suite_element = root.find("testsuite")
    assert suite_element.get("tests") == "3" and suite_element.get("failures") == "2"
    assert [c.get("name").split()[0] for c in suite_element.iter("testcase")] == [
        "API-002",
        "DDB-001",
        "DDB-002",
    ]
    assert formats.junit_xml(report.as_dict()).count("<testcase") == 3
    assert not hasattr(suite, "junit_from_report")


def test_output_to_a_file_says_where_on_stderr(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sub" / "report.csv"
    formats.emit(ran_report(), "csv", out)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"wrote the csv report to {out}" in captured.err
    assert "failed: API-002, DDB-001" in captured.err
    assert out.read_text().startswith("command,target_kind")


def test_output_to_a_pipe_or_device_is_written_in_place(tmp_path: Path) -> None:
    """`-o /dev/stdout` (a FIFO here): the report was written to a temporary file beside it,
    then renamed over it, putting a regular file where the device or pipe was (as root,
    /dev/stdout itself) and leaving the reader with nothing."""
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a writer's open then succeeds
    try:
        formats.emit(ran_report(), "json", fifo)
        received = b""
        while chunk := os.read(reader, 65536):
            received += chunk
    except BlockingIOError:
        pass
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the pipe was replaced by a regular file"
    assert json.loads(received)["command"] == ran_report().command
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_violations_to_a_pipe_are_streamed_in_place(tmp_path: Path) -> None:
    """`audit --violations /dev/stdout` had the same rename over the device or pipe."""
    import stat

    from slsops.audit.kinds import KINDS, Violation
    from slsops.audit.violation_log import ViolationLog

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        log = ViolationLog(fifo)
        log.record([Violation(KINDS[0].name, {"service_name": "a", "sk": "b"}, "bad")])
        log.close()
        received = os.read(reader, 65536)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the pipe was replaced by a regular file"
    assert json.loads(received)["detail"] == "bad"
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


# --- the shared options on a command --------------------------------------------------------
def demo_app(calls: list[str] | None = None) -> typer.Typer:
    """A command declared like verify, over the known CHECKS (no stack to reach)."""
    demo = typer.Typer(pretty_exceptions_enable=False)
    calls = [] if calls is None else calls

    @demo.command()
    def report(
        fmt: FormatOption = "table",
        output: OutputOption = None,
        only: OnlyOption = None,
        skip: SkipOption = None,
        severity: SeverityFilterOption = None,
        status: StatusFilterOption = None,
        fail_on: FailOnOption = None,
    ) -> None:
        calls.append("report")
        filters = ReportFilters.of(only, skip, severity, status, fail_on)
        run_report("demo", {"kind": "aws"}, CHECKS, None, fmt, output, filters=filters)

    @demo.command()
    def other() -> None:
        """A second command, so `report` is a subcommand as in slsops."""

    return demo


class Done:
    """A CliRunner result with the exit code ``slsops.cli.main`` gives a SlsopsError."""

    def __init__(self, result) -> None:
        self.stdout, self.output = result.stdout, result.output
        self.exception = result.exception
        self.exit_code = result.exit_code
        if isinstance(result.exception, SlsopsError):
            self.exit_code = result.exception.exit_code
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception


def run(application: typer.Typer, *args: str) -> Done:
    return Done(CliRunner().invoke(application, list(args)))


def flat(text: str) -> str:
    """Text with rich's box drawing and line wrapping removed."""
    return " ".join(text.replace("│", " ").split())


def invoke(*args: str) -> Done:
    return run(demo_app(), "report", *args)


def test_cli_status_and_severity_filter_the_rows_not_the_exit() -> None:
    done = invoke("--status", "fail", "--severity", "CRITICAL,high", "-f", "json")
    assert done.exit_code == 1
    body = json.loads(done.stdout)
    assert [c["id"] for c in body["checks"]] == ["API-002"]
    assert body["summary"] == {"pass": 2, "fail": 2, "warn": 1, "skip": 0, "error": 0}


@pytest.mark.parametrize(
    ("fail_on", "code"), [("low", 1), ("LOW", 1), ("critical", 1), ("info", 1)]
)
def test_cli_fail_on_below_the_worst_failure_exits_1(fail_on: str, code: int) -> None:
    assert invoke("--fail-on", fail_on).exit_code == code


def test_cli_fail_on_above_every_failure_exits_0() -> None:
    done = invoke("--skip", "API-002", "--fail-on", "medium", "-f", "json")
    assert done.exit_code == 0, done.output
    skipped = [c for c in json.loads(done.stdout)["checks"] if c["status"] == "SKIP"]
    assert skipped[0]["detail"] == "skipped by --skip API-002"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "NOPE-*"], "--only NOPE-* matches no check id"),
        (["--skip", "api-00x"], "--skip api-00x matches no check id"),
        (["--format", "xml"], "'xml' is not one of"),
        (["--severity", "urgent"], "urgent is not one of"),
        (["--status", "BROKEN"], "BROKEN is not one of"),
        (["--fail-on", "severe"], "'severe' is not one of"),
    ],
)
def test_cli_usage_errors_exit_2(args: list[str], message: str) -> None:
    done = invoke(*args)
    assert done.exit_code == 2
    shown = flat(f"{done.output}{done.exception or ''}")
    assert message in shown, shown


def test_cli_output_pointing_at_a_directory_exits_2_before_any_work(tmp_path: Path) -> None:
    calls: list[str] = []
    done = run(demo_app(calls), "report", "-o", str(tmp_path))
    assert done.exit_code == 2 and calls == [], "refused while parsing, before the command ran"
    assert "is a directory" in flat(done.output)
    real = run(app, "verify", "--output", str(tmp_path), "--stack", "/nowhere")
    assert real.exit_code == 2
    assert "is a directory" in flat(real.output)


def test_cli_output_in_a_folder_that_is_a_file_exits_2_before_any_work(tmp_path: Path) -> None:
    """The report would fail to be written only after every check ran (exit 1, work lost)."""
    (tmp_path / "notes.txt").write_text("not a folder")
    calls: list[str] = []
    done = run(demo_app(calls), "report", "-o", str(tmp_path / "notes.txt" / "report.json"))
    assert done.exit_code == 2 and calls == [], "refused while parsing, before the command ran"
    assert "is not a directory" in flat(done.output)


def test_cli_output_in_a_folder_still_to_be_made_is_written(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "report.json"
    done = run(demo_app(), "report", "-f", "json", "-o", str(out))
    assert done.exit_code == 1
    assert json.loads(out.read_text())["command"] == "demo"


@pytest.mark.parametrize(
    ("command", "option"), [("audit", "--violations"), ("drill", "--evidence")]
)
def test_the_other_files_a_command_writes_are_checked_while_parsing(
    tmp_path: Path, command: str, option: str
) -> None:
    """A directory, or a folder that is a file, as --violations/--evidence failed only when
    the audit or the drill had finished (exit 1, the scan or the drill's evidence lost)."""
    done = run(app, command, option, str(tmp_path), "--stack", "/no/such/file")
    assert done.exit_code == 2 and "is a directory" in flat(done.output)
    (tmp_path / "notes.txt").write_text("not a folder")
    inside_a_file = str(tmp_path / "notes.txt" / "out.json")
    done = run(app, command, option, inside_a_file, "--stack", "/no/such/file")
    assert done.exit_code == 2 and "is not a directory" in flat(done.output)


@pytest.fixture
def reachable_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack file whose preflight passes (stubbed) and whose AWS calls fail at once."""
    from slsops.commands import audit, drill, stack_report

    for module in (stack_report, audit, drill):
        monkeypatch.setattr(module, "caller_identity", lambda _stack: {"Arn": "operator"})
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    stack = tmp_path / "stack.json"
    outputs = stack_outputs(
        local_endpoint_url=f"http://127.0.0.1:{port}",
        local_credentials={"access_key_id": "test", "secret_access_key": "test"},
    )
    stack.write_text(json.dumps(outputs))
    return stack


def test_a_report_over_its_own_stack_file_exits_2_and_keeps_the_stack_file(
    reachable_stack: Path,
) -> None:
    """`verify -o stack.json --stack stack.json` replaced the stack file with the report."""
    before = reachable_stack.read_text()
    args = ["--only", "DDB-001", "-f", "json", "-o", str(reachable_stack)]
    done = run(app, "verify", "--stack", str(reachable_stack), *args)
    assert done.exit_code == 2
    assert "same file as --stack" in str(done.exception)
    assert reachable_stack.read_text() == before


@pytest.mark.parametrize(
    ("command", "option"), [("audit", "--violations"), ("drill", "--evidence")]
)
def test_two_outputs_naming_one_file_exit_2(
    reachable_stack: Path, tmp_path: Path, command: str, option: str
) -> None:
    out = tmp_path / "out.json"
    done = run(app, command, "--stack", str(reachable_stack), "-o", str(out), option, str(out))
    assert done.exit_code == 2
    assert f"{option} {out} is the same file as --output" in str(done.exception)
    assert not out.exists()


def test_a_drill_report_over_the_drill_record_exits_2(reachable_stack: Path) -> None:
    record = reachable_stack.parent / "drills.json"
    done = run(app, "drill", "--stack", str(reachable_stack), "-o", str(record))
    assert done.exit_code == 2
    assert "same file as the drill record" in str(done.exception)


@pytest.mark.parametrize("command", ["verify", "roles", "audit", "drill"])
def test_real_commands_refuse_unmatched_patterns_before_reading_the_stack(command: str) -> None:
    done = run(app, command, "--only", "NOPE-1", "--stack", "/no/such/file")
    assert done.exit_code == 2
    assert "--only NOPE-1 matches no check id" in str(done.exception or done.output)


@pytest.mark.parametrize("command", ["verify", "roles", "audit", "drill", "checks"])
def test_every_report_command_help_has_examples_and_exit_codes(command: str) -> None:
    done = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "120"})
    assert done.exit_code == 0
    assert "Examples:" in done.output and "Exit codes:" in done.output
    assert f"slsops {command}" in done.output
    if command != "checks":
        for option in ("--only", "--skip", "--severity", "--status", "--fail-on", "--format"):
            assert option in done.output
        assert "csv" in done.output and "html" in done.output


# --- the suite ------------------------------------------------------------------------------
def test_suite_step_whose_module_is_missing_fails(tmp_path: Path) -> None:
    step = suite.Step("ghost", ("{python}", "-c", "pass"), "slsops.no_such_module")
    outcome = suite.run_step(step, tmp_path / "stack.json", tmp_path, [])
    assert outcome.status == "failed"
    assert "slsops.no_such_module cannot be imported" in outcome.note
    nested = suite.Step("ghost", ("{python}", "-c", "pass"), "no_such_package.module")
    assert suite.run_step(nested, tmp_path / "stack.json", tmp_path, []).status == "failed"


def _sleeper(name: str, seconds: float, code: int = 0, timeout_s: float = 60.0) -> suite.Step:
    script = f"import time, sys; time.sleep({seconds}); print('{name} done'); sys.exit({code})"
    argv = ("{python}", "-c", script)
    return suite.Step(name, argv, "slsops.harness.suite", report="", timeout_s=timeout_s)


def test_a_stage_runs_its_steps_at_the_same_time_each_timed_and_judged_alone(tmp_path: Path):
    steps = (_sleeper("slow", 1.5), _sleeper("quick", 0.2, code=1), _sleeper("hung", 60, 0, 1.0))
    began = time.monotonic()
    slow, quick, hung = suite.run_stage(steps, tmp_path / "stack.json", tmp_path, [])
    assert time.monotonic() - began < 5.0  # together, not one after another (62 s)
    assert (slow.status, slow.note) == ("ok", "slow done") and slow.seconds >= 1.5
    assert (quick.status, quick.exit_code) == ("failed", 1) and quick.seconds < 1.5
    assert hung.status == "error" and "timed out after 1 s" in hung.note


def _reporter(name: str, report: object, code: int = 0) -> suite.Step:
    """A step that writes ``report`` as its JSON report and exits ``code``."""
    text = json.dumps(report)
    script = (
        "import sys; from pathlib import Path; "
        f"Path(sys.argv[1]).write_text({text!r}); sys.exit({code})"
    )
    argv = ("{python}", "-c", script, "{results}/{name}.json")
    return suite.Step(name, argv, "slsops.harness.suite")


def _shaped(*statuses: str) -> dict:
    checks = [{"id": f"X-{i:03d}", "status": s} for i, s in enumerate(statuses)]
    counts = {k: sum(s.lower() == k for s in statuses) for k in ("pass", "fail", "warn", "skip")}
    return {
        "command": "x",
        "summary": counts | {"error": statuses.count("ERROR")},
        "checks": checks,
    }


def test_a_step_is_ok_only_when_its_exit_code_and_its_report_both_pass(tmp_path: Path) -> None:
    ok, exit_1 = suite.run_stage(
        (_reporter("ok", _shaped("PASS", "PASS")), _reporter("exit-1", _shaped("PASS"), 1)),
        tmp_path / "stack.json",
        tmp_path,
        [],
    )
    assert (ok.status, exit_1.status) == ("ok", "failed")


@pytest.mark.parametrize(
    ("report", "status", "note"),
    [
        # Exit 0 beside a report that FAILs: the printed verdict and the exit code disagree.
        (_shaped("PASS", "FAIL"), "failed", "exit 0 but the report has 1 FAIL/ERROR"),
        (_shaped("ERROR"), "failed", "exit 0 but the report has 1 FAIL/ERROR"),
        # A summary that hides a failing check it shows.
        (
            {"summary": {"pass": 1}, "checks": [{"id": "X-1", "status": "FAIL"}]},
            "failed",
            "exit 0 but the report has 1 FAIL/ERROR",
        ),
        # Nothing compared: no check at all, or only (allowlisted) SKIPs.
        ({"command": "x", "summary": {"pass": 0}, "checks": []}, "failed", "compared nothing"),
        (_shaped("SKIP"), "failed", "compared nothing"),
        # Not a report.
        ([], "error", "not a report"),
        (None, "error", "not a report"),
        ({"checks": "PASS"}, "error", "not a report"),
    ],
)
def test_a_step_that_exits_0_with_a_report_that_does_not_pass_fails(
    tmp_path: Path, report: object, status: str, note: str
) -> None:
    allowed = [{"id": "X-*", "reason": "every SKIP allowed: a SKIP alone is not the cause"}]
    outcome = suite.run_step(_reporter("step", report), tmp_path / "stack.json", tmp_path, allowed)
    assert (outcome.status, outcome.exit_code) == (status, 0)
    assert note in outcome.note, outcome.note


def test_suite_names_only_modules_that_exist() -> None:
    missing = {s.name: suite.missing_module(s.module) for s in suite.STEPS}
    assert {name: why for name, why in missing.items() if why} == {}


def _suite_without_a_stack(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """suite._cli replaced: `local up` fails at once (exit 2), nothing starts."""
    calls: list[str] = []

    def fake_cli(args, timeout_s, env=None):
        calls.append(" ".join(args[:2]))
        return subprocess.CompletedProcess(args, 2, "", "slsops: error: not started in tests\n")

    monkeypatch.setattr(suite, "_cli", fake_cli)
    return calls


def test_suite_refuses_to_empty_a_folder_it_did_not_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--results .` (or any folder of one's own) was deleted with everything in it."""
    calls = _suite_without_a_stack(monkeypatch)
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    with pytest.raises(SystemExit) as exited:
        suite.main(["--results", str(mine)])
    assert exited.value.code == 2 and calls == []
    assert (mine / "thesis.txt").read_text() == "years of work"
    taken = tmp_path / "a-file"
    taken.write_text("x")
    with pytest.raises(SystemExit) as exited:  # was a NotADirectoryError traceback
        suite.main(["--results", str(taken)])
    assert exited.value.code == 2 and taken.read_text() == "x"


def test_suite_empties_its_own_results_folder_and_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _suite_without_a_stack(monkeypatch)
    results = tmp_path / "results"
    assert suite.main(["--results", str(results)]) == 2  # local up failed: exit 2
    (results / "old-step.json").write_text("{}")
    assert suite.main(["--results", str(results)]) == 2
    assert not (results / "old-step.json").exists(), "its own folder is emptied"
    assert calls == ["local up", "local up"]


def test_suite_refuses_an_unknown_step_name() -> None:
    with pytest.raises(SystemExit) as exited:
        suite.main(["--only", "verfy"])
    assert exited.value.code == 2


# --- signals --------------------------------------------------------------------------------
SLEEPER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from slsops import cli

    marks = Path(sys.argv[1])

    @cli.app.command("sleep-for-test")
    def sleep_for_test() -> None:
        try:
            marks.joinpath("started").write_text("yes")
            time.sleep(60)
        finally:
            marks.joinpath("cleaned").write_text("yes")

    sys.argv = ["slsops", "sleep-for-test"]
    cli.main()
    """
)


def signal_once_started(script: Path, marks: Path, signum: int) -> tuple[int, str]:
    """Run ``script marks``, send ``signum`` once it wrote ``marks/started``; exit code, stderr."""
    process = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(script), str(marks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(300):
            if (marks / "started").exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert (marks / "started").exists(), process.communicate(timeout=5)
        os.kill(process.pid, signum)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, err


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_exits_with_its_code_after_clean_up(tmp_path: Path, signum: int, code: int) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    returncode, err = signal_once_started(script, tmp_path, signum)
    assert returncode == code, err
    assert (tmp_path / "cleaned").read_text() == "yes", "the command's finally block ran"
    assert "Traceback" not in err
    # One line says why (Ctrl-C exited 130 in silence: typer turns it into Exit(130)).
    assert err.splitlines() == [SIGNAL_LINES[signum]], err


SIGNAL_LINES = {
    signal.SIGINT: "slsops: interrupted",
    signal.SIGTERM: "slsops: terminated by signal 15",
}

SLOW_IMPORT = textwrap.dedent(
    """
    import importlib.abc, runpy, sys, time
    from pathlib import Path

    marks = Path(sys.argv[1])

    class Slow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "slsops.commands.doctor":  # the last command module cli.py loads
                marks.joinpath("started").write_text("yes")
                time.sleep(60)
            return None

    sys.meta_path.insert(0, Slow())
    sys.argv = ["slsops", "doctor"]
    runpy.run_module("slsops.cli", run_name="__main__", alter_sys=True)
    """
)


def test_ctrl_c_while_the_commands_load_is_one_line(tmp_path: Path) -> None:
    """Loading the commands takes a second or so (boto3, typer, rich); Ctrl-C then printed a
    traceback of the import."""
    script = tmp_path / "slow_import.py"
    script.write_text(SLOW_IMPORT)
    returncode, err = signal_once_started(script, tmp_path, signal.SIGINT)
    assert returncode == 130, err
    assert err.splitlines() == ["slsops: interrupted"], err


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_a_real_command_waits_on_the_target(
    tmp_path: Path, signum: int, code: int
) -> None:
    """`slsops verify` blocked in its preflight call (a loopback server that accepts and never
    answers) ends with 143 on SIGTERM, 130 on Ctrl-C, not with a traceback or the
    preflight's exit 3; one line on stderr says why."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        silent.settimeout(60)
        outputs = stack_outputs(
            local_endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            local_credentials={"access_key_id": "test", "secret_access_key": "test"},
        )
        stack = tmp_path / "stack.json"
        stack.write_text(json.dumps(outputs))
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "slsops.cli", "verify", "--stack", str(stack)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            connection, _ = silent.accept()
            with connection:
                os.kill(process.pid, signum)
                _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == code, err
    assert err.splitlines() == [SIGNAL_LINES[signum]], err


def test_a_suite_narrowed_by_only_says_which_steps_did_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``--only verify`` passing is not the suite passing: the verdict line, the table and
    summary.json name every step that did not run."""

    def fake_cli(
        args: list[str], timeout_s: float, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 0, "", "")

    def fake_stage(steps, stack, results, allowlist, values=None) -> list[suite.StepResult]:
        return [suite.StepResult(step.name, "ok", 0) for step in steps]

    monkeypatch.setattr(suite, "_cli", fake_cli)
    monkeypatch.setattr(suite, "run_stage", fake_stage)
    results = tmp_path / "results"
    assert suite.main(["--only", "verify", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    not_run = [s.name for s in suite.STEPS if s.name not in ("verify", "seed")]
    assert f"not run (--only): {', '.join(not_run)}" in out, out
    assert "suite: passed" not in out and "suite: partial" in out, out
    summary = json.loads((results / "summary.json").read_text())
    assert summary["passed"] is True and summary["complete"] is False
    assert summary["not_run"] == not_run
    assert suite.main(["--results", str(results)]) == 0
    assert "suite: passed" in capsys.readouterr().out
    assert json.loads((results / "summary.json").read_text())["complete"] is True


@pytest.mark.parametrize("interrupted", ["local up", "seed", "roles", "audit"])
def test_suite_stops_the_local_stack_when_terminated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupted: str
) -> None:
    """A signal while starting, or while a stage's steps run: the steps already started are
    stopped, then the stack, once."""
    calls: list[str] = []
    started: list[subprocess.Popen[bytes]] = []

    def fake_cli(
        args: list[str], timeout_s: float, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        calls.append(" ".join(args[:2]))
        if calls[-1] == interrupted:
            raise Terminated(signal.SIGTERM)
        return subprocess.CompletedProcess(args, 0, "", "")

    def fake_start(step: suite.Step, values: dict[str, str], results: Path) -> suite._Running:
        calls.append(step.name)
        if step.name == interrupted:
            raise Terminated(signal.SIGTERM)
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        started.append(sleeper)
        return suite._Running(step, sleeper, results / "x.log", results / "x.json", 0.0)

    monkeypatch.setattr(suite, "_cli", fake_cli)
    monkeypatch.setattr(suite, "_start", fake_start)
    try:
        with pytest.raises(Terminated):
            suite.main(["--results", str(tmp_path / "results")])
    finally:
        for sleeper in started:
            if sleeper.poll() is None:
                sleeper.kill()
                sleeper.wait()
                pytest.fail(f"a step's process outlived the suite: {sleeper.args}")
    assert calls[-1] == "local down" and calls.count("local down") == 1
    assert interrupted in calls


RUN_MAIN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from slsops.signals import run_main

    marks = Path(sys.argv[1])

    def main() -> int:
        try:
            marks.joinpath("started").write_text("yes")
            time.sleep(60)
            return 0
        finally:
            marks.joinpath("cleaned").write_text("yes")

    run_main(main, "job")
    """
)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_argparse_mains_end_like_the_cli(tmp_path: Path, signum: int, code: int) -> None:
    """The suite (and any ``main() -> int`` run through ``run_main``) cleans up and exits
    130/143 as ``slsops`` does."""
    path = tmp_path / "job.py"
    path.write_text(RUN_MAIN)
    returncode, err = signal_once_started(path, tmp_path, signum)
    assert returncode == code, err
    assert (tmp_path / "cleaned").exists()
