"""The main job (``nox -s suite``): local stack, data, every toolkit command, one verdict.

1. ``slsops local up --detach`` on free ports (stack file ``results/suite/stack.json``), with
   the documented short PITR lag (``numbers.TEST_PITR_LAG_S``) unless
   ``SLSOPS_LOCAL_PITR_LAG_SECONDS`` is set: the PITR drill then waits seconds, not the
   five minutes AWS's restorable window trails by;
2. ``slsops local seed`` (a few thousand entries: moto's queries slow down with table size);
3. every step in ``STEPS``, each writing its report JSON and JUnit XML into
   ``results/suite/``; a step whose module cannot be found fails (a suite that silently runs
   fewer steps than it names would pass on a broken install);
4. ``slsops local down``, always (also after Ctrl-C, exit 130, and SIGTERM, exit 143);
5. one summary table; exit 1 if a step failed or a SKIP is not on the allowlist
   (``tools/slsops/skip_allowlist.toml``), 2 if the stack could not start for a missing
   prerequisite.

To add a step: append one ``Step`` line to ``STEPS`` (placeholders: ``{python}``, ``{stack}``,
``{results}``); ``report`` names the JSON the step writes (shared report shape).
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
REPORT_ARGS = ("--stack", "{stack}", "--format", "json", "--output", "{results}/{name}.json")


@dataclass(frozen=True)
class Step:
    """One command of the suite; it fails when ``module`` (what it runs) cannot be found."""

    name: str
    argv: tuple[str, ...]
    module: str
    report: str = "{results}/{name}.json"
    timeout_s: float = 900.0


def slsops(name: str, *args: str, module: str, timeout_s: float = 900.0) -> Step:
    return Step(
        name, ("{python}", "-m", "slsops.cli", *args, *REPORT_ARGS), module, timeout_s=timeout_s
    )


STEPS: list[Step] = [
    slsops("verify", "verify", module="slsops.commands.verify"),
    slsops("roles", "roles", module="slsops.commands.roles"),
    slsops("audit", "audit", module="slsops.commands.audit"),
    slsops("drill-pitr", "drill", "--mode", "pitr", module="slsops.commands.drill"),
    slsops("drill-backup", "drill", "--mode", "backup", module="slsops.commands.drill"),
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
    Step(  # the short form of nox -s reliability
        "reliability",
        ("{python}", "-m", "slsops.harness.reliability", "--short", *REPORT_ARGS),
        "slsops.harness.reliability",
    ),
]


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


def run_step(step: Step, stack: Path, results: Path, allowlist: list[dict[str, str]]) -> StepResult:
    missing = missing_module(step.module)
    if missing:
        return StepResult(step.name, "failed", note=missing)
    values = {
        "python": sys.executable,
        "stack": str(stack),
        "results": str(results),
        "name": step.name,
    }
    argv = [_fill(part, values) for part in step.argv]
    report_path = Path(_fill(step.report, values))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    _log(f"{step.name}: {' '.join(argv[1:])}")
    started = time.monotonic()
    log_path = results / f"{step.name}.log"
    with log_path.open("w") as log:
        try:
            done = subprocess.run(  # noqa: S603  step argv from STEPS, no shell
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                timeout=step.timeout_s,
                check=False,
            )
            code: int | None = done.returncode
        except subprocess.TimeoutExpired:
            code = None
    seconds = time.monotonic() - started
    if code is None:
        return StepResult(
            step.name,
            "error",
            None,
            seconds,
            note=f"timed out after {step.timeout_s:.0f} s (log: {log_path})",
        )
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
    report_path.with_suffix(".junit.xml").write_text(junit_xml(report), encoding="utf-8")
    skips = unlisted_skips(report, allowlist)
    status = "ok" if code == 0 and not skips else "failed"
    note = f"SKIP not on the allowlist: {', '.join(skips)}" if skips else ""
    return StepResult(step.name, status, code, seconds, report.get("summary", {}), skips, note)


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
    if results_dir.exists():
        shutil.rmtree(results_dir)
    results_dir.mkdir(parents=True)
    stack = results_dir / "stack.json"
    allowlist = load_allowlist()
    outcome: list[StepResult] = []
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
        started = time.monotonic()
        seeded = _cli(
            [
                "local",
                "seed",
                "--count",
                str(args.count),
                "--services",
                str(args.services),
                "--stack",
                str(stack),
            ],
            timeout_s=900,
        )
        (results_dir / "seed.log").write_text(seeded.stdout + seeded.stderr)
        outcome.append(
            StepResult(
                "seed",
                "ok" if seeded.returncode == 0 else "failed",
                seeded.returncode,
                time.monotonic() - started,
                note=(seeded.stdout.strip().splitlines() or [""])[-1][:100],
            )
        )
        for step in STEPS:
            if args.only and step.name not in args.only:
                continue
            outcome.append(run_step(step, stack, results_dir, allowlist))
            _log(f"{step.name}: {outcome[-1].status}")
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
                "failed_steps": failed,
                "seconds": time.monotonic() - clock,
                "steps": [r.__dict__ for r in outcome],
            },
            indent=2,
        )
        + "\n"
    )
    print(
        f"suite: {'FAILED: ' + ', '.join(failed) if failed else 'passed'} in "
        f"{time.monotonic() - clock:.0f} s (results in {results_dir})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    run_main(main, "suite")
