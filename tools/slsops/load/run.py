"""One bounded release-gate load run: stack (started if needed), Locust, verdict, exit code.

``nox -s load -- [options]`` and the main job (``nox -s suite``) call this module; it is a
plain process that starts Locust as a subprocess (Locust's gevent patches the process that
imports it), so it can also be used from tests and other commands.

    python -m slsops.load.run --profile local                 # starts and stops a local stack
    python -m slsops.load.run --profile aws --stack prod.json --processes 4

Without ``--stack`` it starts the local stack detached on free ports and always stops it
afterwards. A local stack is reached on loopback only. Outputs go to ``--results``
(default results/load/): Locust's CSV (``locust_*.csv``) and HTML (``report.html``) and the
verdict JSON (``verdict.json``, the shared report shape with LOAD- checks). The exit code is
the verdict's: 0 all targets met, 1 a breach or a gated target not measured (or Locust failed
to judge), 2 usage, 3 preflight. The preflight (credentials, both roles, the API) runs here,
before Locust starts, so it ends the run with exit 3 whatever the number of Locust processes;
a scenario selection that leaves gated targets unmeasured is printed before the run.
``--severity``/``--status`` narrow what ``verdict.json`` shows and ``--fail-on`` sets the exit
threshold, as on every ``slsops`` command; Ctrl-C exits 130 and SIGTERM 143, after the local
stack is stopped. The pieces: the run's shape (:mod:`.run_shape`), its stack
(:mod:`.target_stack`), Locust's command line (:mod:`.locust_command`), the filtered verdict
file (:mod:`.verdict_report`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from slsops.commands.common import ReportFilters
from slsops.deployment.stack import load_stack
from slsops.errors import EXIT_FAILED, EXIT_USAGE, SlsopsError, UsageError
from slsops.load import preflight, scenarios
from slsops.load.locust_command import STOP_TIMEOUT_S, locust_command, scenario_classes
from slsops.load.profile import Profile, load_profile
from slsops.load.run_shape import RunShape, locust_seconds, shape_from
from slsops.load.target_stack import check_loopback, local_stack_if_needed
from slsops.load.verdict import unmeasurable
from slsops.load.verdict_report import apply_filters
from slsops.report_arguments import add_report_filters, filters_from
from slsops.signals import run_main

REPO_ROOT = Path(__file__).resolve().parents[3]
LOADTESTS = REPO_ROOT / "loadtests"
DEFAULT_RESULTS = Path("results/load")
# Beyond run time and ramp-up: Locust's start, the stop timeout and writing the reports.
LOCUST_GRACE_S = 90


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one UsageError line (exit 2), not usage text."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(
        prog="nox -s load --",
        description="Run the Locust release gate and judge it against a profile of targets.",
    )
    parser.add_argument("--profile", default="local", help="profile in the targets file")
    parser.add_argument("--stack", type=Path, help="stack file; default: start a local stack")
    parser.add_argument("--users", type=int, help="concurrent users (profile's run.users)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second")
    parser.add_argument(
        "--run-time", help="measured time after the warm-up: 45s, 5m, 1h10m (run.run_time)"
    )
    parser.add_argument(
        "--warmup", type=float, help="seconds of warm-up before measuring (run.warmup_s)"
    )
    parser.add_argument("--task-rate", type=float, help="tasks/s per user; 0 = no wait")
    parser.add_argument("--batch-size", type=int, help="entries per batch request (1..100)")
    parser.add_argument("--read-pages", type=int, help="pages a per-service read follows (1..10)")
    parser.add_argument(
        "--processes", type=int, help="Locust worker processes on this machine (0 = one process)"
    )
    parser.add_argument("--tags", help="comma-separated task tags: ingest,read,single,batch,...")
    parser.add_argument(
        "--classes", help="comma-separated user classes, e.g. SingleIngestUser,NewestReadUser"
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="output folder")
    parser.add_argument("--targets", type=Path, default=LOADTESTS / "targets.toml")
    parser.add_argument("--locustfile", type=Path, default=LOADTESTS / "locustfile.py")
    add_report_filters(parser)
    return parser.parse_args(list(argv))


def announce_left_out(args: argparse.Namespace, shape: RunShape, profile: Profile) -> str:
    """Print the gated targets the scenario selection cannot measure; return the selection.

    The selection is what ``--tags``/``--classes`` narrowed (empty when the profile's own
    scenarios run); the verdict names it in each unmeasured target's FAIL.
    """
    kinds = scenarios.kinds_made(scenarios.user_classes(args.locustfile), shape.classes, shape.tags)
    selection = scenarios.selection_text(shape.classes, shape.tags)
    if not kinds:
        raise UsageError(f"the scenario selection {selection} makes no request")
    narrowed_by = selection if (args.tags or args.classes) else ""
    left = unmeasurable(profile, kinds)
    if left:
        who = f"the scenario selection {selection}" if narrowed_by else "the profile's scenarios"
        print(
            f"load: {who} make only {', '.join(sorted(kinds))} requests: gated targets of "
            f"profile {profile.name!r} left out, each FAILs as not measured: {', '.join(left)}",
            file=sys.stderr,
            flush=True,
        )
    return narrowed_by


def run_load(argv: Sequence[str]) -> int:
    """Run the gate; returns the exit code (raises SlsopsError for usage/preflight)."""
    args = parse_args(argv)
    filters = filters_from(args)
    for path, what in ((args.locustfile, "locustfile"), (args.targets, "targets file")):
        if not Path(path).is_file():
            raise UsageError(f"no {what} at {path}")
    profile = load_profile(args.targets, args.profile)
    shape = shape_from(args, profile.run)
    unknown = set(shape.classes) - scenario_classes(args.locustfile)
    if unknown:
        known = ", ".join(sorted(scenario_classes(args.locustfile)))
        raise UsageError(f"unknown user class {', '.join(sorted(unknown))}; classes: {known}")
    narrowed_by = announce_left_out(args, shape, profile)
    try:
        args.results.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file, or a folder inside one, or no permission
        raise UsageError(
            f"--results {args.results}: cannot make the folder: {exc.strerror}"
        ) from None
    verdict_path = args.results / "verdict.json"
    verdict_path.unlink(missing_ok=True)
    budget = locust_seconds(shape) + STOP_TIMEOUT_S + LOCUST_GRACE_S
    with local_stack_if_needed(args.stack) as stack_path:
        api_url = check_loopback(stack_path)
        preflight.check(load_stack(stack_path))
        command = locust_command(args, shape, stack_path, api_url, narrowed_by)
        print(
            f"load: profile {profile.name!r}, {shape.users} users, {shape.warmup_s:g} s warm-up "
            f"then {shape.run_time} measured, {shape.task_rate:g} tasks/s per user "
            f"-> {args.results}/",
            file=sys.stderr,
            flush=True,
        )
        started = time.monotonic()
        try:
            locust = subprocess.run(command, timeout=budget, check=False)  # noqa: S603  locust argv we build
        except subprocess.TimeoutExpired:
            print(f"load: Locust did not finish within {budget:.0f} s; stopped", file=sys.stderr)
            return EXIT_FAILED
    return _final_code(locust.returncode, verdict_path, time.monotonic() - started, filters)


def _final_code(
    locust_code: int, verdict_path: Path, elapsed: float, filters: ReportFilters
) -> int:
    if not verdict_path.is_file():
        print(
            f"load: Locust ended (exit {locust_code}, {elapsed:.0f} s) without a verdict",
            file=sys.stderr,
        )
        return locust_code if locust_code in (EXIT_USAGE, 3) else EXIT_FAILED
    try:
        summary = json.loads(verdict_path.read_text(encoding="utf-8"))["summary"]
        counts = {k: int(summary.get(k, 0)) for k in ("pass", "warn", "fail", "error")}
    except (ValueError, TypeError, KeyError, AttributeError):
        print(f"load: {verdict_path} is not a verdict (no summary)", file=sys.stderr)
        return EXIT_FAILED
    if not any(counts.values()):
        print(
            f"load: the verdict judged nothing (no check PASSed or FAILed) ({verdict_path})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    verdict_code = EXIT_FAILED if counts["fail"] or counts["error"] else 0
    if locust_code not in (0, verdict_code):
        print(
            f"load: Locust exited {locust_code} although the verdict says {verdict_code}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    code = apply_filters(verdict_path, filters)
    threshold = f"; exit {code} at --fail-on {filters.fail_on}" if code != verdict_code else ""
    print(
        f"load: verdict {'PASS' if verdict_code == 0 else 'FAIL'} ({verdict_path}){threshold}",
        file=sys.stderr,
    )
    return code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run_load(sys.argv[1:] if argv is None else argv)
    except SlsopsError as exc:
        print(f"load: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_main(main, "load")
