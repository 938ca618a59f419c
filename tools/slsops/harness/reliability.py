"""``nox -s reliability``: the figures that show nothing is lost and nobody is let in.

Against one stack (the given ``--stack``, else a local stack started for the run):

1. generated cases (``slsops.harness.fuzz``): cases run, 5xx seen, answers not matching the
   document, entries read back;
2. fault campaigns (``slsops.harness.campaign``) through the signed API while ``slsops local
   faults`` injects DynamoDB throttling, errors and latency; then many clients ingesting one
   service in the same millisecond, and concurrent retries of one log_id: entries acknowledged
   vs found in the table, duplicates, 5xx other than a 503 with Retry-After;
3. the access matrix (``slsops.harness.access_matrix``): unauthorised requests attempted vs
   let through.

It prints the figures, writes a report in the shared shape (checks ``REL-001``..``REL-006``,
in :mod:`slsops.harness.reliability_checks`) and exits 1 on any loss, duplicate, let-through,
unclean 5xx or fuzz failure, and when fewer generated cases ran than were asked (a spent time
budget). ``--short`` is the form the main job (``nox -s suite``) runs. ``--severity``,
``--status`` and ``--fail-on`` narrow the report and set the exit threshold as on every
``slsops`` command; Ctrl-C exits 130 and SIGTERM 143, after the local stack is stopped.

Run: ``python -m slsops.harness.reliability [--stack FILE] [--short] [--cases N] [--seed S]
[--format table|json|junit|csv|html] [--output FILE] [--severity S] [--status S]
[--fail-on S]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slsops.commands.common import check_report_options, refuse_same_file
from slsops.deployment.stack import Stack
from slsops.errors import EXIT_USAGE, SlsopsError, UsageError
from slsops.framework.formats import emit
from slsops.framework.report import Report
from slsops.harness import access_matrix, campaign, fuzz
from slsops.harness.reliability_checks import Measured, judge
from slsops.harness.stack_api import StackApi
from slsops.local import fault_admin
from slsops.local.ephemeral import stack_for_run
from slsops.report_arguments import add_report_filters, filters_from
from slsops.signals import run_main


@dataclass(frozen=True)
class Size:
    cases: int
    scenarios: tuple[str, ...]
    singles: int
    batches: int
    batch_size: int
    reads: int
    same_millisecond: int
    same_log_id: int


SHORT = Size(300, ("throttle-before", "internal-after", "query-throttle"), 10, 2, 5, 6, 24, 8)
FULL = Size(2000, tuple(campaign.SCENARIOS), 20, 3, 10, 6, 64, 16)
MAX_FUZZ_SECONDS = {"short": 240.0, "full": 1200.0}


def _concurrency(api: StackApi, size: Size, run_id: str) -> campaign.Tally:
    """Many clients, one service, one millisecond; then concurrent retries of one log_id."""
    service = f"rel-tie-{run_id}"
    tally = campaign.Tally()
    entries = campaign.make_entries(service, f"tie-{run_id}", size.same_millisecond)
    for entry in entries:
        entry["timestamp"] = campaign.FIXED_TIMESTAMP
    retry_entry = {
        "service_name": service,
        "log_id": f"again-{run_id}",
        "level": "WARN",
        "message": "the same entry, sent by impatient clients",
    }
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(api.post_as_new_client, entries))
        retries = list(pool.map(api.post_as_new_client, [retry_entry] * size.same_log_id))
    probe = campaign.Campaign(api, service, tally)
    for entry, answer in zip(
        [*entries, *[retry_entry] * len(retries)], [*answers, *retries], strict=True
    ):
        tally.sent[entry["log_id"]] = entry
        probe.note(answer, "concurrent")
        if answer.status == 201:
            tally.acknowledged.add(entry["log_id"])
        elif answer.status != 503:
            tally.problems.append(f"concurrent {entry['log_id']}: {answer.status} {answer.body}")
    probe.count_table()
    return tally


def _faults(api: StackApi, size: Size, seed: int, run_id: str) -> tuple[list[campaign.Tally], int]:
    """Each fault scenario's campaign; and how many faults the embedded AWS injected."""
    endpoint = fault_admin.endpoint_of(api.stack)
    tallies = []
    counted: list[int] = []

    def clear_and_count() -> None:
        final = fault_admin.clear(endpoint).get("cleared", {})
        counted.append(int(final.get("counters", {}).get("total_injected", 0)))

    for name in size.scenarios:
        plan = {"seed": seed, "rules": campaign.SCENARIOS[name]}
        print(f"reliability: fault scenario {name} ...", file=sys.stderr, flush=True)

        result = campaign.run(
            api,
            service=f"rel-{name}-{run_id}",
            prefix=f"{name}-{run_id}",
            singles=size.singles,
            batches=size.batches,
            batch_size=size.batch_size,
            reads=size.reads,
            with_faults=lambda plan=plan: fault_admin.set_plan(endpoint, plan),
            without_faults=clear_and_count,
        )
        tallies.append(result.tally)
    return tallies, sum(counted)


def figures_of(m: Measured) -> dict[str, Any]:
    tallies = m.tallies
    return {
        "generated_cases": m.fuzzed.cases,
        "generated_cases_asked": m.fuzzed.asked,
        "fuzz_5xx": m.fuzzed.server_errors,
        "fuzz_not_matching_document": m.fuzzed.nonconforming,
        "fuzz_read_back": m.fuzzed.readbacks,
        "fuzz_read_back_wrong": m.fuzzed.readback_failures,
        "fuzz_writes_on_4xx": m.fuzzed.writes_on_4xx,
        "fault_scenarios": len(m.fault_tallies),
        "faults_injected": m.faults_injected,
        "faults_5xx": sum(t.server_errors for t in m.fault_tallies),
        "faults_unclean_5xx": sum(t.unclean_errors for t in tallies),
        "acknowledged": sum(len(t.acknowledged) for t in tallies),
        "found": sum(t.found for t in tallies),
        "lost": sum(len(t.lost) for t in tallies),
        "duplicates": sum(len(t.duplicates) for t in tallies),
        "unauthorised_attempted": len(m.matrix.unauthorised),
        "unauthorised_let_through": len(m.matrix.let_through),
        "authorised_refused": len(m.matrix.wrongly_refused),
    }


def measure(stack: Stack, size: Size, seed: int, max_fuzz_s: float) -> tuple[list, dict]:
    """Run the three parts; the REL- check results and the figures."""
    run_id = uuid.uuid4().hex[:6]
    print(f"reliability: {size.cases} generated cases ...", file=sys.stderr, flush=True)
    fuzzed = fuzz.run(stack, size.cases, seed, max_fuzz_s)
    api = StackApi(stack)
    fault_tallies, injected = _faults(api, size, seed, run_id) if stack.is_local else ([], 0)
    measured = Measured(
        fuzzed=fuzzed,
        fault_tallies=fault_tallies,
        faults_injected=injected,
        other_tallies=[_concurrency(api, size, run_id)],
        matrix=access_matrix.probe(stack),
    )
    figures = figures_of(measured)
    figures["fault_scenarios"] = list(size.scenarios) if stack.is_local else []
    return judge(measured), figures


def print_figures(figures: dict[str, Any], out: Any = sys.stderr) -> None:
    lines = [
        (
            "generated cases run (asked)",
            f"{figures['generated_cases']} ({figures['generated_cases_asked']})",
        ),
        ("5xx seen (generated cases)", figures["fuzz_5xx"]),
        ("answers not matching the document", figures["fuzz_not_matching_document"]),
        (
            "201 entries read back (wrong)",
            f"{figures['fuzz_read_back']} ({figures['fuzz_read_back_wrong']})",
        ),
        ("fault scenarios", ", ".join(figures["fault_scenarios"]) or "none (not a local stack)"),
        ("DynamoDB faults injected", figures["faults_injected"]),
        (
            "5xx under faults (unclean, all runs)",
            f"{figures['faults_5xx']} ({figures['faults_unclean_5xx']})",
        ),
        ("entries acknowledged vs found", f"{figures['acknowledged']} vs {figures['found']}"),
        ("lost", figures["lost"]),
        ("duplicates", figures["duplicates"]),
        (
            "unauthorised attempted vs let through",
            f"{figures['unauthorised_attempted']} vs {figures['unauthorised_let_through']}",
        ),
    ]
    print("reliability figures:", file=out)
    for label, value in lines:
        print(f"  {label:<40} {value}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m slsops.harness.reliability",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", type=Path, help="stack file (default: start a local stack)")
    parser.add_argument("--short", action="store_true", help="the main job's short form")
    parser.add_argument("--cases", type=int, help="generated cases (default 300 short, 2000)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--format", dest="fmt", default="table", help="table, json, junit, csv or html"
    )
    parser.add_argument("--output", type=Path)
    add_report_filters(parser)
    args = parser.parse_args(argv)
    size = SHORT if args.short else FULL
    try:
        filters = filters_from(args)
        fmt = check_report_options(args.fmt, args.output, filters)
        refuse_same_file({"--stack": args.stack, "--output": args.output})
        if args.cases is not None:
            if not 1 <= args.cases <= 1_000_000:
                raise UsageError("--cases must be 1..1000000")
            size = replace(size, cases=args.cases)
        started, clock = datetime.now(UTC), time.perf_counter()
        with stack_for_run(args.stack, "reliability") as stack:
            checks, figures = measure(
                stack, size, args.seed, MAX_FUZZ_SECONDS["short" if args.short else "full"]
            )
            target = stack.target()
    except SlsopsError as exc:
        print(f"slsops reliability: error: {exc}", file=sys.stderr)
        return exc.exit_code if exc.exit_code else EXIT_USAGE
    print_figures(figures)
    report = Report(
        "reliability",
        target,
        started,
        time.perf_counter() - clock,
        checks,
        extra={"figures": figures},
    )
    report = filters.applied_to(report)
    emit(report, fmt, args.output)
    return report.exit_code()


if __name__ == "__main__":
    run_main(main, "slsops reliability")
