"""Locust event wiring of the release gate: options, stack, entry counting, verdict at exit.

Imported by locustfile.py; keeps Locust's event plumbing out of the user classes.

* Options (``locust --help`` lists them under "Simple Log Service"): the stack file, the
  profile of targets, where the verdict JSON goes, batch size, per-user pacing, pages to follow.
* Entries stored are counted here, since a batch request stores up to 100 entries and Locust
  counts requests. In distributed mode every worker sends its count with each stats report
  (``report_to_master``) and the master adds them up (``worker_report``), so the master's
  total matches its aggregated request stats.
* Exceptions of the users' tasks (``user_error``), requests left unanswered when Locust
  killed their user at the stop timeout (locustfile.py counts them: Locust records none), and
  the times of successful requests (a second ``RequestStats``: latency is judged over
  successes only) are counted the same way.
* Warm-up: ``--warmup S`` resets Locust's stats and the entry count S seconds after every
  user has started (on the master, whose stats are the aggregate), so cold starts and first
  connections stay out of the verdict; with ``--reset-stats`` instead, the reset happens as
  soon as every user has started.
* At exit (``quitting``), the process that holds the aggregated stats (the master, or the only
  process) computes the verdict (slsops.load.verdict), prints the table, writes the JSON and
  sets Locust's exit code: 1 on a breach, 0 otherwise.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent
from content import Acknowledged
from locust import events
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import RequestStats, StatsEntry
from signing import RoleCredentialCache

from slsops.contract import ROUTE_CLIENT_ROLES
from slsops.deployment.stack import Stack, load_stack
from slsops.errors import SlsopsError
from slsops.framework.formats import render, write_atomically
from slsops.load import verdict
from slsops.load.measurements import measure
from slsops.load.profile import load_profile
from slsops.load.verdict_table import render_table

log = logging.getLogger("slsops.load")
HERE = Path(__file__).resolve().parent
DEFAULT_TARGETS = HERE / "targets.toml"


class EntryCounter:
    """Log entries stored in this process since the last reset (thread- and greenlet-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._count += n

    def take(self) -> int:
        """The count so far, and zero it (what a worker sends with each report)."""
        with self._lock:
            n, self._count = self._count, 0
            return n

    def reset(self) -> None:
        self.take()

    @property
    def value(self) -> int:
        return self._count


class GateState:
    """What the users of this process share: the stack, credentials, options, counters."""

    stack: Stack | None = None
    credentials: RoleCredentialCache | None = None
    entries = EntryCounter()
    task_errors = EntryCounter()  # exceptions of the users' tasks since the last reset
    unanswered = EntryCounter()  # requests still waiting when Locust killed their user
    # Only the requests that succeeded (no exception): their times are the latency judged
    # (slsops.load.measurements.measure says why).
    successes = RequestStats(use_response_times_cache=False)
    acknowledged = Acknowledged()  # what this process saw stored: empty reads are checked by it
    batch_size = 25
    read_pages = 3
    started_at = datetime.now(UTC)
    test_started: float | None = None  # epoch time Locust started the test (test_start)


STATE = GateState()


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    group = parser.add_argument_group("Simple Log Service")
    group.add_argument(
        "--slsops-stack",
        default=os.environ.get("SLSOPS_STACK", ".slsops/local.json"),
        help="Stack file (terraform output -json, or the local stack's). Env SLSOPS_STACK.",
    )
    group.add_argument(
        "--gate-profile",
        default="",
        help="Profile of loadtests/targets.toml to judge the run by (empty: no verdict).",
    )
    group.add_argument("--gate-targets", default=str(DEFAULT_TARGETS), help="Targets file.")
    group.add_argument("--verdict-json", default="", help="Write the verdict JSON here.")
    group.add_argument(
        "--batch-size", type=int, default=25, help="Entries per batch request (1..100)."
    )
    group.add_argument(
        "--task-rate",
        type=float,
        default=0.0,
        help="Tasks per second per user (constant throughput); 0: no wait between tasks.",
    )
    group.add_argument(
        "--read-pages", type=int, default=3, help="Pages a per-service read follows (1..10)."
    )
    group.add_argument(
        "--gate-narrowed-by",
        default="",
        help="The scenario selection that narrowed the run (recorded in the verdict).",
    )
    group.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="Seconds after every user started before the stats (and entry count) are reset: "
        "cold starts and first connections stay out of the verdict. 0: no warm-up.",
    )


def _fail_fast(message: str, code: int) -> None:
    """Locust has no error exit from init; print one line and leave."""
    print(f"locustfile: error: {message}", file=sys.stderr)
    sys.exit(code)


def _classes_with_tags(classes: list[type], tags: set[str]) -> list[type]:
    """User classes with at least one task carrying one of ``tags``.

    Locust filters tasks by tag but keeps a class whose tasks were all filtered out and then
    fails to start it; selecting by tag here also selects the classes.
    """
    return [
        cls
        for cls in classes
        if any(getattr(task, "locust_tag_set", set()) & tags for task in cls.tasks)
    ]


@events.init.add_listener
def on_init(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:  # used as a library (the benchmark): nothing to set up
        return
    if not 1 <= options.batch_size <= 100:
        _fail_fast(f"--batch-size must be 1..100, not {options.batch_size}", 2)
    if not 1 <= options.read_pages <= 10:
        _fail_fast(f"--read-pages must be 1..10, not {options.read_pages}", 2)
    if options.task_rate < 0:
        _fail_fast("--task-rate must be >= 0", 2)
    STATE.batch_size = options.batch_size
    STATE.read_pages = options.read_pages
    try:
        STATE.stack = load_stack(Path(options.slsops_stack))
    except SlsopsError as exc:
        _fail_fast(str(exc), exc.exit_code)
    STATE.credentials = RoleCredentialCache(STATE.stack)
    if not environment.host:
        environment.host = STATE.stack.api_url
    if options.tags:
        chosen = _classes_with_tags(environment.user_classes, set(options.tags))
        if not chosen:
            _fail_fast(f"no user class has a task tagged {', '.join(options.tags)}", 2)
        environment.user_classes = chosen
    if options.task_rate > 0:
        from locust import constant_throughput

        for cls in environment.user_classes:
            cls.wait_time = constant_throughput(options.task_rate)
    if not isinstance(environment.runner, MasterRunner):
        _preflight_credentials()
    _wire_entry_counting(environment)
    STATE.started_at = datetime.now(UTC)


def _preflight_credentials() -> None:
    """Assume both roles once now, so a wrong external id stops the run with one line."""
    if STATE.credentials is None:
        return
    for role in ROUTE_CLIENT_ROLES.values():
        try:
            STATE.credentials.for_role(role)
        except Exception as exc:  # botocore raises many types; all mean "cannot sign"
            _fail_fast(f"cannot assume the {role} role: {type(exc).__name__}: {exc}", 3)


def _reset_counts() -> None:
    """With Locust's stats: the entry count, the task exceptions, the successes' times."""
    STATE.entries.reset()
    STATE.task_errors.reset()
    STATE.unanswered.reset()
    STATE.successes.reset_all()


def _wire_entry_counting(environment: Any) -> None:
    """Count entries stored, task exceptions and successful requests' times in each process,
    send them with every worker report, add them up on the master; reset them with the stats."""
    runner = environment.runner

    @environment.events.request.add_listener
    def time_success(
        request_type: str, name: str, response_time: Any, response_length: int, **kw: Any
    ) -> None:
        if kw.get("exception") is None:
            STATE.successes.log_request(request_type, name, response_time, response_length)

    @environment.events.user_error.add_listener
    def count_task_error(**_kw: Any) -> None:
        STATE.task_errors.add(1)

    if isinstance(runner, WorkerRunner):

        @environment.events.report_to_master.add_listener
        def send_entries(client_id: str, data: dict, **_kw: Any) -> None:
            data["slsops_entries_stored"] = STATE.entries.take()
            data["slsops_task_errors"] = STATE.task_errors.take()
            data["slsops_unanswered"] = STATE.unanswered.take()
            data["slsops_successes"] = [
                entry.get_stripped_report()  # serialised, then zeroed: a delta, as Locust's
                for entry in STATE.successes.entries.values()
                if entry.num_requests
            ]

    elif isinstance(runner, MasterRunner):

        @environment.events.worker_report.add_listener
        def add_entries(client_id: str, data: dict, **_kw: Any) -> None:
            STATE.entries.add(int(data.get("slsops_entries_stored", 0)))
            STATE.task_errors.add(int(data.get("slsops_task_errors", 0)))
            STATE.unanswered.add(int(data.get("slsops_unanswered", 0)))
            for report in data.get("slsops_successes", []):
                entry = StatsEntry.unserialize(report, STATE.successes)
                STATE.successes.entries[(entry.name, entry.method)].extend(entry)

    warmup = float(getattr(environment.parsed_options, "warmup", 0.0) or 0.0)

    @environment.events.spawning_complete.add_listener
    def reset_with_stats(user_count: int, **_kw: Any) -> None:
        if environment.reset_stats:  # Locust resets its stats now (--reset-stats)
            _reset_counts()
        if warmup > 0 and not isinstance(runner, WorkerRunner):
            gevent.spawn_later(warmup, end_warmup)

    def end_warmup() -> None:
        log.info("warm-up of %.0f s over: stats and entry count reset", warmup)
        environment.stats.reset_all()
        _reset_counts()


@events.test_start.add_listener
def note_test_start(environment: Any, **_kwargs: Any) -> None:
    """When the test started: with ``--run-time`` it is asked to end run_time s later."""
    STATE.test_started = time.time()


def _asked_end(options: Any, clock: float) -> float:
    """The epoch time the run was asked to end at: test start + ``--run-time``, or now when
    the run had no run time (it ran until stopped)."""
    run_time = getattr(options, "run_time", None)
    if run_time and STATE.test_started is not None:
        return STATE.test_started + float(run_time)
    return clock


@events.quitting.add_listener
def judge(environment: Any, **_kwargs: Any) -> None:
    """Compute, print and write the verdict where the aggregated stats are."""
    options = environment.parsed_options
    if options is None or not options.gate_profile:
        return
    if isinstance(environment.runner, WorkerRunner):
        return
    clock = time.time()
    try:
        profile = load_profile(Path(options.gate_targets), options.gate_profile)
    except SlsopsError as exc:
        print(f"locustfile: error: {exc}", file=sys.stderr)
        environment.process_exit_code = exc.exit_code
        return
    # Exceptions of the users' tasks (a content check that raised leaves its request out of
    # Locust's stats), counted since the stats reset: the runner's own ``exceptions`` table
    # covers the whole run, warm-up included.
    measured = measure(
        environment.stats,
        STATE.entries.value,
        STATE.task_errors.value,
        until=_asked_end(options, clock),
        successes=STATE.successes,
        unanswered=STATE.unanswered.value,
    )
    narrowed_by = options.gate_narrowed_by
    rows = verdict.evaluate(measured, profile, narrowed_by)
    target = STATE.stack.target() if STATE.stack else {"kind": "unknown"}
    duration = clock - STATE.started_at.timestamp()
    report = verdict.to_report(
        rows, measured, profile, target, STATE.started_at, duration, narrowed_by
    )
    print(render_table(rows, measured, profile, narrowed_by), flush=True)
    if options.verdict_json:
        write_atomically(Path(options.verdict_json), render(report, "json"))
    environment.process_exit_code = report.exit_code()
