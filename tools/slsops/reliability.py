"""``nox -s reliability``: the figures that show nothing is lost and nobody is let in.

Against one stack (the given ``--stack``, else a local stack started for the run):

1. generated cases (``slsops.fuzz``): cases run, 5xx seen, answers not matching the document,
   entries read back;
2. fault campaigns (``slsops.campaign``) through the signed API while ``slsops local faults``
   injects DynamoDB throttling, errors and latency; then many clients ingesting one service in
   the same millisecond, and concurrent retries of one log_id: entries acknowledged vs found
   in the table, duplicates, 5xx other than a 503 with Retry-After;
3. the access matrix (``slsops.access_matrix``): unauthorised requests attempted vs let through.

It prints the figures, writes a report in the shared shape (checks ``REL-001``..``REL-006``)
and exits 1 on any loss, duplicate, let-through, unclean 5xx or fuzz failure. ``--short`` is
the form the main job (``nox -s suite``) runs.

Run: ``python -m slsops.reliability [--stack FILE] [--short] [--cases N] [--seed S]
[--format table|json|junit] [--output FILE]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.dynamodb.conditions import Key

from log_service import keys
from slsops import access_matrix, campaign, fuzz
from slsops.api_client import LogApiClient, assume_role
from slsops.checks.formats import FORMATS, emit
from slsops.checks.model import CheckResult, Severity, Status
from slsops.checks.report import Report
from slsops.errors import EXIT_USAGE, SlsopsError, UsageError
from slsops.local import fault_admin
from slsops.local.ephemeral import stack_for_run
from slsops.stack import Stack


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


class StackApi:
    """``campaign.ApiTarget`` over a stack: ingest role for POST, read role for GET."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.ingest = assume_role(stack, "ingest", session_name="slsops-reliability-ingest")
        self.read_creds = assume_role(stack, "read", session_name="slsops-reliability-read")
        self.writer = LogApiClient(stack, self.ingest)
        self.reader = LogApiClient(stack, self.read_creds)
        self.table = stack.resource("dynamodb").Table(str(stack["table_name"]))

    @staticmethod
    def _answer(response: Any) -> campaign.Answer:
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text[:300]}
        return campaign.Answer(response.status_code, body, dict(response.headers))

    def post(self, body: dict[str, Any]) -> campaign.Answer:
        return self._answer(self.writer.post_logs(body))

    def post_as_new_client(self, body: dict[str, Any]) -> campaign.Answer:
        """A POST from a client of its own (for concurrent senders: one session per thread)."""
        with LogApiClient(self.stack, self.ingest) as client:
            return self._answer(client.post_logs(body))

    def get(self, params: dict[str, str]) -> campaign.Answer:
        return self._answer(self.reader.get_recent(**params))

    def log_items(self, service_name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start = None
        for _ in range(10_000):
            kwargs = {"ExclusiveStartKey": start} if start else {}
            page = self.table.query(
                KeyConditionExpression=Key(keys.PARTITION_KEY).eq(service_name),
                ConsistentRead=True,
                **kwargs,
            )
            items.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return items


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


def _faults(api: StackApi, size: Size, seed: int, run_id: str) -> list[campaign.Tally]:
    endpoint = fault_admin.endpoint_of(api.stack)
    tallies = []
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
            without_faults=lambda: fault_admin.clear(endpoint),
        )
        tallies.append(result.tally)
    return tallies


def _result(check_id: str, title: str, ok: bool, detail: str, fix: str, evidence: dict):
    return CheckResult(
        id=check_id,
        title=title,
        status=Status.PASS if ok else Status.FAIL,
        severity=Severity.CRITICAL,
        detail=detail,
        remediation=fix,
        evidence=evidence,
    )


def measure(stack: Stack, size: Size, seed: int, max_fuzz_s: float) -> tuple[list, dict]:
    """Run the three parts; the REL- check results and the figures."""
    run_id = uuid.uuid4().hex[:6]
    print(f"reliability: {size.cases} generated cases ...", file=sys.stderr, flush=True)
    fuzzed = fuzz.run(stack, size.cases, seed, max_fuzz_s)
    api = StackApi(stack)
    tallies = _faults(api, size, seed, run_id) if stack.is_local else []
    tallies.append(_concurrency(api, size, run_id))
    matrix = access_matrix.probe(stack)

    acknowledged = sum(len(t.acknowledged) for t in tallies)
    found = sum(t.found for t in tallies)
    lost = [i for t in tallies for i in t.lost]
    duplicates = [i for t in tallies for i in t.duplicates]
    altered = [i for t in tallies for i in t.altered + t.unknown]
    unclean = sum(t.unclean_errors for t in tallies)
    statuses: Counter = Counter()
    for tally in tallies:
        statuses.update(tally.statuses)
    problems = [p for t in tallies for p in t.problems]
    figures = {
        "generated_cases": fuzzed.cases,
        "fuzz_5xx": fuzzed.server_errors,
        "fuzz_not_matching_document": fuzzed.nonconforming,
        "fuzz_read_back": fuzzed.readbacks,
        "fuzz_read_back_wrong": fuzzed.readback_failures,
        "fuzz_writes_on_4xx": fuzzed.writes_on_4xx,
        "fault_scenarios": list(size.scenarios) if stack.is_local else [],
        "faults_5xx": sum(t.server_errors for t in tallies),
        "faults_unclean_5xx": unclean,
        "acknowledged": acknowledged,
        "found": found,
        "lost": len(lost),
        "duplicates": len(duplicates),
        "unauthorised_attempted": len(matrix.unauthorised),
        "unauthorised_let_through": len(matrix.let_through),
        "authorised_refused": len(matrix.wrongly_refused),
    }
    checks = [
        _result(
            "REL-001",
            "Generated requests: no 5xx, answers match the document, 201s read back, 4xx wrote "
            "nothing",
            fuzzed.ok,
            f"{fuzzed.cases} cases, {fuzzed.server_errors} 5xx, {fuzzed.nonconforming} not "
            f"matching, {fuzzed.readback_failures} wrong read-backs",
            "Reproduce with python -m slsops.fuzz --stack FILE; fix the handler or the document.",
            fuzzed.as_dict(),
        ),
        _result(
            "REL-002",
            "Every acknowledged entry is stored",
            not lost,
            f"{acknowledged} acknowledged, {found} found, {len(lost)} lost",
            "An entry was acknowledged before its log item existed: see log_service.writer.",
            {"lost": lost[:20]},
        ),
        _result(
            "REL-003",
            "No entry is stored twice, none altered",
            not duplicates and not altered,
            f"{len(duplicates)} duplicates, {len(altered)} altered or unknown",
            "Writes must stay conditional on the idempotency marker (log_service.writer).",
            {"duplicates": duplicates[:20], "altered": altered[:20]},
        ),
        _result(
            "REL-004",
            "Under DynamoDB faults every 5xx is a 503 with Retry-After",
            unclean == 0 and not problems,
            f"{figures['faults_5xx']} 5xx, {unclean} unclean; answers {dict(statuses)}",
            "Map exhausted DynamoDB retries to 503 + Retry-After in the handler "
            "(runbooks/alarm-api-5xx.md).",
            {"problems": problems[:20]},
        ),
        _result(
            "REL-005",
            "No unauthorised request is let through",
            not matrix.let_through and not matrix.written_by_refused,
            f"{len(matrix.unauthorised)} attempted, {len(matrix.let_through)} let through, "
            f"{len(matrix.written_by_refused)} refused but written",
            "Restore AWS_IAM on every method and the roles' execute-api policies (infra/).",
            {"matrix": matrix.rows()},
        ),
        _result(
            "REL-006",
            "Every authorised request is served",
            not matrix.wrongly_refused,
            f"{len(matrix.wrongly_refused)} refused of "
            f"{len(matrix.attempts) - len(matrix.unauthorised)}",
            "Check the client roles' execute-api:Invoke policies (slsops roles).",
            {"refused": [a.__dict__ for a in matrix.wrongly_refused]},
        ),
    ]
    return checks, figures


def print_figures(figures: dict[str, Any], out: Any = sys.stderr) -> None:
    lines = [
        ("generated cases run", figures["generated_cases"]),
        ("5xx seen (generated cases)", figures["fuzz_5xx"]),
        ("answers not matching the document", figures["fuzz_not_matching_document"]),
        (
            "201 entries read back (wrong)",
            f"{figures['fuzz_read_back']} ({figures['fuzz_read_back_wrong']})",
        ),
        ("fault scenarios", ", ".join(figures["fault_scenarios"]) or "none (not a local stack)"),
        (
            "5xx under faults (unclean)",
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
        prog="python -m slsops.reliability",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", type=Path, help="stack file (default: start a local stack)")
    parser.add_argument("--short", action="store_true", help="the main job's short form")
    parser.add_argument("--cases", type=int, help="generated cases (default 300 short, 2000)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--format", dest="fmt", default="table", help="table, json or junit")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    size = SHORT if args.short else FULL
    try:
        if args.fmt not in FORMATS:
            raise UsageError(f"unknown --format {args.fmt!r}; choose one of {', '.join(FORMATS)}")
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
    emit(report, args.fmt, args.output)
    return report.exit_code()


if __name__ == "__main__":
    sys.exit(main())
