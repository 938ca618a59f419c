"""The main job (``nox -s suite``): local stack, data, every toolkit command, one verdict.

1. ``slsops local up --detach`` on free ports (stack file ``results/suite/stack.json``), with
   the documented short PITR lag (``numbers.TEST_PITR_LAG_S``) unless
   ``SLSOPS_LOCAL_PITR_LAG_SECONDS`` is set: the PITR drill then waits seconds, not the
   five minutes AWS's restorable window trails by;
2. the stages of ``STAGES`` in order; the steps of one stage run at the same time, each a
   process of its own (the seed writes a few thousand entries while ``verify`` and ``roles``,
   which need no data, read the deployment). Each report step writes its JSON and JUnit XML
   into ``results/suite/``; a step whose module cannot be found fails (a suite that silently
   runs fewer steps than it names would pass on a broken install);
3. ``slsops local down``, always (also after Ctrl-C, exit 130, and SIGTERM, exit 143; steps
   still running are stopped first);
4. one summary table; exit 1 if a step failed or a SKIP is not on the allowlist
   (``tools/slsops/skip_allowlist.toml``), 2 if the stack could not start for a missing
   prerequisite. A report step passes only when its exit code is 0 and its report agrees:
   no FAIL or ERROR in it, and at least one check that compared something (not only SKIPs);
   a missing or malformed report is an error. With ``--only``, the verdict is "partial" and
   names the steps that did not run (``summary.json``: ``complete`` false, ``not_run``).

To add a step: add one ``Step`` to a stage of ``STAGES``, or a stage of its own when it must
not share the stack with others (placeholders: ``{python}``, ``{stack}``, ``{results}``,
``{count}``, ``{services}``); ``report`` names the JSON the step writes (shared report shape),
"" for a step judged by its exit code alone.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from slsops.contract import numbers
from slsops.framework.formats import junit_xml
from slsops.signals import run_main

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_RESULTS = ROOT / "results" / "suite"
ALLOWLIST = Path(__file__).resolve().parents[1] / "skip_allowlist.toml"
STOP_GRACE_S = 10.0  # a step stopped by the suite gets this long to clean up
POLL_S = 0.2  # how often a stage looks for steps that ended
REPORT_ARGS = ("--stack", "{stack}", "--format", "json", "--output", "{results}/{name}.json")


@dataclass(frozen=True)
class Step:
    """One command of the suite; it fails when ``module`` (what it runs) cannot be found."""

    name: str
    argv: tuple[str, ...]
    module: str
    report: str = "{results}/{name}.json"
    timeout_s: float = 900.0
    always: bool = False  # runs whatever ``--only`` names (the data the other steps read)


def slsops(name: str, *args: str, module: str, timeout_s: float = 900.0) -> Step:
    return Step(
        name, ("{python}", "-m", "slsops.cli", *args, *REPORT_ARGS), module, timeout_s=timeout_s
    )


SEED = Step(
    "seed",
    ("{python}", "-m", "slsops.cli", "local", "seed", "--count", "{count}",
     "--services", "{services}", "--stack", "{stack}"),
    "slsops.local.seed",
    report="",
    always=True,
)  # fmt: skip

# Stages run in order; the steps of one stage run at the same time.
STAGES: list[tuple[Step, ...]] = [
    # verify and roles read what the deployment is, not its data: beside the seed.
    (
        SEED,
        slsops("verify", "verify", module="slsops.commands.verify"),
        slsops("roles", "roles", module="slsops.commands.roles"),
    ),
    # The seeded entries: the audit reads them while both drills write their canaries through
    # the API and restore copies (live traffic to both, as on a deployment in use).
    (
        slsops("audit", "audit", module="slsops.commands.audit"),
        slsops("drill-pitr", "drill", "--mode", "pitr", module="slsops.commands.drill"),
        slsops("drill-backup", "drill", "--mode", "backup", module="slsops.commands.drill"),
    ),
    (  # alone: it measures latency
        Step(
            "load",
            (
                "{python}",
                "-m",
                "slsops.load.run",
                "--profile",
                "local",
                "--stack",
                "{stack}",
                "--results",
                "{results}/load",
            ),
            "slsops.load.run",
            report="{results}/load/verdict.json",
            timeout_s=1200.0,
        ),
    ),
    (  # alone: it injects faults. The short form of nox -s reliability.
        Step(
            "reliability",
            ("{python}", "-m", "slsops.harness.reliability", "--short", *REPORT_ARGS),
            "slsops.harness.reliability",
        ),
    ),
]
STEPS: list[Step] = [step for stage in STAGES for step in stage]


@dataclass
class StepResult:
    name: str
    status: str  # ok, failed, error
    exit_code: int | None = None
    seconds: float = 0.0
    summary: dict[str, int] = field(default_factory=dict)
    unlisted_skips: list[str] = field(default_factory=list)
    note: str = ""


def load_allowlist(path: Path = ALLOWLIST) -> list[dict[str, str]]:
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("skip", [])
    for entry in entries:
        if not entry.get("id") or not entry.get("reason"):
            raise ValueError(f"{path}: every [[skip]] needs an id and a reason: {entry}")
    return entries


def unlisted_skips(report: dict[str, Any], allowlist: list[dict[str, str]]) -> list[str]:
    """Ids of SKIP checks that no allowlist pattern covers."""
    skipped = [c.get("id", "?") for c in report.get("checks", []) if c.get("status") == "SKIP"]
    return [
        cid
        for cid in skipped
        if not any(fnmatch.fnmatchcase(cid, entry["id"]) for entry in allowlist)
    ]


def missing_module(module: str) -> str:
    """Why ``module`` cannot be imported ("" when it can be found)."""
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        return f"module {module} cannot be imported: {type(exc).__name__}: {exc}"
    return "" if found is not None else f"module {module} cannot be imported: not found"


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _log(message: str) -> None:
    print(f"suite: {message}", file=sys.stderr, flush=True)


@dataclass
class _Running:
    """A step's process while it runs."""

    step: Step
    process: subprocess.Popen[bytes]
    log_path: Path
    report_path: Path | None  # None: judged by its exit code alone
    started: float


def _start(step: Step, values: dict[str, str], results: Path) -> _Running:
    values = {**values, "name": step.name}
    argv = [_fill(part, values) for part in step.argv]
    report_path = Path(_fill(step.report, values)) if step.report else None
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
    _log(f"{step.name}: {' '.join(argv[1:])}")
    log_path = results / f"{step.name}.log"
    with log_path.open("w") as log:  # the child holds its own copy of the descriptor
        process = subprocess.Popen(  # noqa: S603  step argv from STAGES, no shell
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
    return _Running(step, process, log_path, report_path, time.monotonic())


def _late(running: _Running) -> bool:
    return time.monotonic() - running.started > running.step.timeout_s


def _finish(running: _Running, allowlist: list[dict[str, str]]) -> StepResult:
    """The result of a step that ended, or that ran past its timeout (then stopped)."""
    step, log_path, report_path = running.step, running.log_path, running.report_path
    code = running.process.poll()
    if code is None:
        _stop([running])
    seconds = time.monotonic() - running.started
    if code is None:
        return StepResult(
            step.name,
            "error",
            None,
            seconds,
            note=f"timed out after {step.timeout_s:.0f} s (log: {log_path})",
        )
    if report_path is None:  # judged by its exit code; its last line says what it did
        lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        status = "ok" if code == 0 else "failed"
        return StepResult(step.name, status, code, seconds, note=(lines or [""])[-1][:100])
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return StepResult(
            step.name,
            "error",
            code,
            seconds,
            note=f"no report JSON at {report_path} (log: {log_path})",
        )
    if not _is_report(report):
        return StepResult(
            step.name,
            "error",
            code,
            seconds,
            note=f"{report_path} is not a report (summary and checks) (log: {log_path})",
        )
    report_path.with_suffix(".junit.xml").write_text(junit_xml(report), encoding="utf-8")
    skips = unlisted_skips(report, allowlist)
    problem = report_problem(report, code)
    status = "ok" if code == 0 and not skips and not problem else "failed"
    note = "; ".join(
        ([f"SKIP not on the allowlist: {', '.join(skips)}"] if skips else [])
        + [problem] * bool(problem)
    )
    return StepResult(step.name, status, code, seconds, report["summary"], skips, note)


def _is_report(report: Any) -> bool:
    return (
        isinstance(report, dict)
        and isinstance(report.get("summary"), dict)
        and isinstance(report.get("checks"), list)
        and all(isinstance(c, dict) for c in report["checks"])
    )


def report_problem(report: dict[str, Any], code: int) -> str:
    """Why a step's report does not pass although its exit code may ("" when it does).

    The report and the exit code must agree: a FAIL or ERROR in the summary or among the
    checks shown fails the step whatever its exit code (no step runs with ``--fail-on``), and
    a report in which no check compared anything (no result, or only SKIPs) is no PASS.
    """
    summary = report["summary"]
    shown = [c.get("status") for c in report["checks"]]
    failing = max(
        int(summary.get("fail", 0)) + int(summary.get("error", 0)),
        sum(status in ("FAIL", "ERROR") for status in shown),
    )
    if failing:
        return f"exit {code} but the report has {failing} FAIL/ERROR" if code == 0 else ""
    compared = sum(int(summary.get(k, 0)) for k in ("pass", "warn")) + sum(
        status in ("PASS", "WARN") for status in shown
    )
    if not compared:
        return "the report compared nothing (no PASS, WARN, FAIL or ERROR)"
    return ""


def _stop(running: list[_Running]) -> None:
    """Terminate steps still running (SIGTERM, then SIGKILL after a grace period)."""
    for each in running:
        if each.process.poll() is None:
            each.process.terminate()
    for each in running:
        try:
            each.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            each.process.kill()
            each.process.wait()


def run_stage(
    steps: tuple[Step, ...] | list[Step],
    stack: Path,
    results: Path,
    allowlist: list[dict[str, str]],
    values: dict[str, str] | None = None,
) -> list[StepResult]:
    """Run ``steps`` at the same time; their results in the steps' order."""
    values = {
        "python": sys.executable,
        "stack": str(stack),
        "results": str(results),
        **(values or {}),
    }
    outcome: dict[str, StepResult] = {}
    running: list[_Running] = []
    try:
        for step in steps:
            missing = missing_module(step.module)
            if missing:
                outcome[step.name] = StepResult(step.name, "failed", note=missing)
            else:
                running.append(_start(step, values, results))
        pending = list(running)
        while pending:  # each step's seconds end when it does, not when the stage does
            for each in [p for p in pending if p.process.poll() is not None or _late(p)]:
                outcome[each.step.name] = _finish(each, allowlist)
                _log(f"{each.step.name}: {outcome[each.step.name].status}")
                pending.remove(each)
            if pending:
                time.sleep(POLL_S)
    finally:
        _stop(running)  # interrupted (Ctrl-C, SIGTERM): no step outlives the suite
    return [outcome[step.name] for step in steps]


def run_step(step: Step, stack: Path, results: Path, allowlist: list[dict[str, str]]) -> StepResult:
    """One step on its own (a stage of one)."""
    return run_stage([step], stack, results, allowlist)[0]


def _cli(
    args: list[str], timeout_s: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  our own CLI, argv list, no shell
        [sys.executable, "-m", "slsops.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def print_summary(results: list[StepResult], out: Any = sys.stdout) -> None:
    rows = []
    for r in results:
        counts = " ".join(f"{k} {v}" for k, v in r.summary.items() if v) or "-"
        rows.append(
            [
                r.name,
                r.status,
                "" if r.exit_code is None else r.exit_code,
                f"{r.seconds:.1f}",
                counts,
                r.note,
            ]
        )
    print(tabulate(rows, headers=["step", "status", "exit", "seconds", "checks", "note"]), file=out)


RESULTS_MARK = ".slsops-suite"
"""The file that marks a results folder as the suite's own: only such a folder (or the
default one, or an empty one) is emptied at the start of a run."""


def _unusable_results(path: Path) -> str | None:
    """Why ``path`` must not be emptied and used as the results folder (None: it may)."""
    if path.exists() and not path.is_dir():
        return "is not a folder"
    if not path.is_dir() or path == DEFAULT_RESULTS.resolve() or (path / RESULTS_MARK).is_file():
        return None
    if any(path.iterdir()):
        return (
            "holds files the suite did not write, and each run empties its results folder; "
            "give a new or empty folder"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slsops.harness.suite", description=__doc__)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--count", type=int, default=3000, help="entries to seed")
    parser.add_argument("--services", type=int, default=8)
    parser.add_argument("--only", action="append", help="run only these steps (repeatable)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or ()) - {step.name for step in STEPS})
    if unknown:
        parser.error(f"--only {', '.join(unknown)}: no such step")
    results_dir: Path = args.results.resolve()
    problem = _unusable_results(results_dir)
    if problem:
        parser.error(f"--results {args.results}: {problem}")
    if results_dir.exists():
        shutil.rmtree(results_dir)
    results_dir.mkdir(parents=True)
    (results_dir / RESULTS_MARK).write_text("made by the suite; emptied at its next run\n")
    stack = results_dir / "stack.json"
    allowlist = load_allowlist()
    outcome: list[StepResult] = []
    not_run = [s.name for s in STEPS if args.only and not s.always and s.name not in args.only]
    clock = time.monotonic()

    _log("starting the local stack")
    started = time.monotonic()
    ports = ["--aws-port", "0", "--api-port", "0"]
    try:
        up = _cli(
            ["local", "up", "--detach", *ports, "--stack", str(stack)],
            timeout_s=900,
            env={numbers.PITR_LAG_ENV: str(numbers.TEST_PITR_LAG_S)} | dict(os.environ),
        )
    except BaseException:  # interrupted while starting: stop what may have started
        _cli(["local", "down", "--stack", str(stack)], timeout_s=120)
        raise
    (results_dir / "local-up.log").write_text(up.stdout + up.stderr)
    if up.returncode != 0:
        line = (up.stderr.strip().splitlines() or ["local up failed"])[-1]
        print(line, file=sys.stderr)
        return 2 if up.returncode == 2 else 1
    try:
        outcome.append(StepResult("local up", "ok", 0, time.monotonic() - started))
        values = {"count": str(args.count), "services": str(args.services)}
        for stage in STAGES:
            chosen = [s for s in stage if s.always or not args.only or s.name in args.only]
            if chosen:
                outcome += run_stage(chosen, stack, results_dir, allowlist, values)
        outcome += [StepResult(name, "not run", note="--only") for name in not_run]
    finally:
        started = time.monotonic()
        down = _cli(["local", "down", "--stack", str(stack)], timeout_s=120)
        outcome.append(
            StepResult(
                "local down",
                "ok" if down.returncode == 0 else "failed",
                down.returncode,
                time.monotonic() - started,
            )
        )
    print_summary(outcome)
    failed = [r.name for r in outcome if r.status in ("failed", "error")]
    (results_dir / "summary.json").write_text(
        json.dumps(
            {
                "passed": not failed,
                "complete": not not_run,
                "failed_steps": failed,
                "not_run": not_run,
                "seconds": time.monotonic() - clock,
                "steps": [r.__dict__ for r in outcome],
            },
            indent=2,
        )
        + "\n"
    )
    verdict = "partial: the steps run passed" if not_run else "passed"
    print(
        f"suite: {'FAILED: ' + ', '.join(failed) if failed else verdict} in "
        f"{time.monotonic() - clock:.0f} s (results in {results_dir})"
        + (f"; not run (--only): {', '.join(not_run)}" if not_run else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    run_main(main, "suite")
