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
"""

from __future__ import annotations

import argparse
import ast
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from slsops.errors import EXIT_FAILED, EXIT_USAGE, PreflightError, SlsopsError, UsageError
from slsops.load import preflight, scenarios
from slsops.load.verdict import Profile, load_profile, unmeasurable
from slsops.stack import load_stack

REPO_ROOT = Path(__file__).resolve().parents[3]
LOADTESTS = REPO_ROOT / "loadtests"
DEFAULT_RESULTS = Path("results/load")
LOCAL_UP_TIMEOUT_S = 240
LOCAL_DOWN_TIMEOUT_S = 120
# Beyond run time and ramp-up: Locust's start, the stop timeout and writing the reports.
LOCUST_GRACE_S = 90
STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class RunShape:
    """What one run does; the profile's ``run`` table fills what the command line leaves out."""

    users: int
    spawn_rate: float
    run_time: str
    warmup_s: float
    task_rate: float
    batch_size: int
    read_pages: int
    processes: int
    classes: tuple[str, ...]
    tags: tuple[str, ...]


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
    return parser.parse_args(list(argv))


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def run_seconds(text: str) -> int:
    """Locust's run-time syntax (``90``, ``45s``, ``5m``, ``1h30m``) in seconds."""
    text = str(text).strip()
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", text)
    if not text or not match:
        raise UsageError(f"--run-time {text!r} is not like 45s, 5m or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def shape_from(args: argparse.Namespace, profile_run: dict) -> RunShape:
    def pick(name: str, default: object) -> object:
        given = getattr(args, name)
        return given if given is not None else profile_run.get(name, default)

    shape = RunShape(
        users=int(pick("users", 10)),
        spawn_rate=float(pick("spawn_rate", 10)),
        run_time=str(pick("run_time", "45s")),
        warmup_s=float(
            args.warmup if args.warmup is not None else profile_run.get("warmup_s", 10.0)
        ),
        task_rate=float(pick("task_rate", 1.0)),
        batch_size=int(pick("batch_size", 25)),
        read_pages=int(pick("read_pages", 3)),
        processes=int(pick("processes", 0)),
        # Tags given on the command line choose among all classes, not the profile's.
        classes=_csv(args.classes) or (() if args.tags else tuple(profile_run.get("classes", ()))),
        tags=_csv(args.tags) or tuple(profile_run.get("tags", ())),
    )
    if shape.users < 1 or shape.spawn_rate <= 0:
        raise UsageError("--users must be >= 1 and --spawn-rate > 0")
    if not 1 <= shape.batch_size <= 100:
        raise UsageError(f"--batch-size must be 1..100, not {shape.batch_size}")
    if not 1 <= shape.read_pages <= 10:
        raise UsageError(f"--read-pages must be 1..10, not {shape.read_pages}")
    if shape.task_rate < 0 or shape.processes < -1 or shape.warmup_s < 0:
        raise UsageError("--task-rate and --warmup must be >= 0, --processes >= -1")
    if run_seconds(shape.run_time) < 1:
        raise UsageError("--run-time must be at least 1 s")
    return shape


def scenario_classes(locustfile: Path) -> set[str]:
    """User classes the locustfile defines (not abstract), read without importing Locust."""
    tree = ast.parse(Path(locustfile).read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not node.bases:
            continue
        abstract = any(
            isinstance(item, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "abstract" for t in item.targets)
            and isinstance(item.value, ast.Constant)
            and item.value.value is True
            for item in node.body
        )
        if not abstract:
            found.add(node.name)
    return found


def ramp_seconds(shape: RunShape) -> float:
    return shape.users / shape.spawn_rate


def locust_seconds(shape: RunShape) -> int:
    """Locust's --run-time: ramp-up and warm-up, then the measured run time."""
    extra = shape.warmup_s + ramp_seconds(shape) if shape.warmup_s > 0 else ramp_seconds(shape)
    return run_seconds(shape.run_time) + int(extra + 0.999)


def _is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_loopback(stack_path: Path) -> str:
    """The stack's API URL; a local stack must be on loopback (UsageError otherwise)."""
    stack = load_stack(stack_path)
    if stack.is_local:
        for what, url in (("api_url", stack.api_url), ("local_endpoint_url", stack.endpoint_url)):
            if not _is_loopback(url):
                raise UsageError(f"local stack {stack_path}: {what} {url} is not on loopback")
    return stack.api_url


def _slsops(*args: str) -> list[str]:
    return [sys.executable, "-m", "slsops.cli", *args]


@contextmanager
def local_stack_if_needed(stack: Path | None) -> Iterator[Path]:
    """Yield ``stack``, or a local stack started for this run and always stopped after it."""
    if stack is not None:
        yield stack
        return
    folder = Path(tempfile.mkdtemp(prefix="slsops-load-"))
    path = folder / "local.json"
    print(f"load: starting a local stack ({path})", file=sys.stderr, flush=True)
    try:
        up = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            _slsops(
                "local",
                "up",
                "--detach",
                "--stack",
                str(path),
                "--aws-port",
                "0",
                "--api-port",
                "0",
            ),
            timeout=LOCAL_UP_TIMEOUT_S,
            check=False,
        )
        if up.returncode != 0:
            raise PreflightError(f"`slsops local up` failed with exit code {up.returncode}")
        yield path
    finally:
        if path.exists():
            print("load: stopping the local stack", file=sys.stderr, flush=True)
            subprocess.run(  # noqa: S603  our own CLI, argv list, no shell
                _slsops("local", "down", "--stack", str(path)),
                timeout=LOCAL_DOWN_TIMEOUT_S,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


def locust_command(
    args: argparse.Namespace,
    shape: RunShape,
    stack_path: Path,
    api_url: str,
    narrowed_by: str = "",
) -> list[str]:
    results = args.results
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(args.locustfile),
        "--headless",
        "--only-summary",
        "--host",
        api_url,
        "--users",
        str(shape.users),
        "--spawn-rate",
        f"{shape.spawn_rate:g}",
        "--run-time",
        f"{locust_seconds(shape)}s",
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        # Locust's own rule (exit 1 on any failed request) is replaced by the verdict's.
        "--exit-code-on-error",
        "0",
        "--csv",
        str(results / "locust"),
        "--html",
        str(results / "report.html"),
        "--slsops-stack",
        str(stack_path),
        "--gate-profile",
        args.profile,
        "--gate-targets",
        str(args.targets),
        "--verdict-json",
        str(results / "verdict.json"),
        "--batch-size",
        str(shape.batch_size),
        "--task-rate",
        f"{shape.task_rate:g}",
        "--read-pages",
        str(shape.read_pages),
    ]
    # Rates and percentiles over the steady state: after the ramp-up and the warm-up.
    if shape.warmup_s > 0:
        command += ["--warmup", f"{shape.warmup_s:g}"]
    else:
        command += ["--reset-stats"]
    if shape.processes:
        command += ["--processes", str(shape.processes)]
    if narrowed_by:
        command += ["--gate-narrowed-by", narrowed_by]
    if shape.tags:
        command += ["--tags", *shape.tags]
    command += list(shape.classes)
    return command


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
    args.results.mkdir(parents=True, exist_ok=True)
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
    return _final_code(locust.returncode, verdict_path, time.monotonic() - started)


def _final_code(locust_code: int, verdict_path: Path, elapsed: float) -> int:
    if not verdict_path.is_file():
        print(
            f"load: Locust ended (exit {locust_code}, {elapsed:.0f} s) without a verdict",
            file=sys.stderr,
        )
        return locust_code if locust_code in (EXIT_USAGE, 3) else EXIT_FAILED
    summary = json.loads(verdict_path.read_text(encoding="utf-8"))["summary"]
    verdict_code = EXIT_FAILED if summary["fail"] or summary["error"] else 0
    if locust_code not in (0, verdict_code):
        print(
            f"load: Locust exited {locust_code} although the verdict says {verdict_code}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(
        f"load: verdict {'PASS' if verdict_code == 0 else 'FAIL'} ({verdict_path})", file=sys.stderr
    )
    return verdict_code


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM (a CI timeout, nox killed) unwinds like Ctrl-C: the local stack still stops."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        code = run_load(sys.argv[1:] if argv is None else argv)
    except SlsopsError as exc:
        print(f"load: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
