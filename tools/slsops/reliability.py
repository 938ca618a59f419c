"""``nox -s reliability``: the figures that show nothing is lost and nobody is let in.

Against one stack (the given ``--stack``, else a local stack started for the run):

1. generated cases (``slsops.fuzz``): cases run, 5xx seen, answers not matching the document,
   entries read back;
2. fault campaigns (``slsops.campaign``) through the signed API while ``slsops local faults``
   injects DynamoDB throttling, errors and latency; then many clients ingesting one service in
   the same millisecond, and concurrent retries of one log_id: entries acknowledged vs found
   in the table, duplicates, 5xx other than a 503 with Retry-After;
3. the access matrix (``slsops.access_matrix``): unauthorised requests attempted vs let through.

It prints the figures, writes a report in the shared shape (checks ``REL-001``..``REL-006``,
registered in :data:`CHECKS`, which judge only the figures of :class:`Measured`) and exits 1 on
any loss, duplicate, let-through, unclean 5xx or fuzz failure, and when fewer generated cases
ran than were asked (a spent time budget). A check that compared nothing is no pass: REL-004
is SKIP where no DynamoDB fault was injected (a deployment on AWS), saying so; REL-002/003/
005/006 FAIL when there was nothing to count. ``--short`` is the form the main job
(``nox -s suite``) runs.

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
from slsops.checks.model import (
    Check,
    CheckResult,
    Outcome,
    Severity,
    Status,
    check,
    expect,
    failed,
    passed,
    skipped,
)
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


@dataclass(frozen=True)
class Measured:
    """What one reliability run saw; the REL- checks judge it and nothing else (pure).

    ``fault_tallies`` are the campaigns run under injected DynamoDB faults (none on AWS, where
    nothing can inject them), ``faults_injected`` how many faults the embedded AWS reports it
    injected, ``other_tallies`` the campaigns without faults (concurrent clients).
    """

    fuzzed: fuzz.FuzzFigures
    fault_tallies: list[campaign.Tally]
    faults_injected: int
    other_tallies: list[campaign.Tally]
    matrix: access_matrix.MatrixResult

    @property
    def tallies(self) -> list[campaign.Tally]:
        return [*self.fault_tallies, *self.other_tallies]


CHECKS: list[Check] = []
DOC = "docs/reliability.md"


@check(
    CHECKS,
    "REL-001",
    "Generated requests: every case asked ran, no 5xx, answers match the document, 201s read "
    "back, 4xx wrote nothing",
    Severity.CRITICAL,
    "Reproduce with python -m slsops.fuzz --stack FILE; fix the handler or the document. Too "
    "few cases: raise the time budget (--max-seconds) or ask fewer (--cases).",
    reads="the fuzz harness' figures: generated cases sent to POST /logs and GET /logs/recent "
    "(service/openapi.json), their answers, read-backs, markers of its own log_ids",
    runs_on="both",
    doc=DOC,
)
def generated_cases(m: Measured) -> Outcome:
    f = m.fuzzed
    counts = (
        f"{f.cases} of {f.asked} cases asked, {f.server_errors} 5xx, {f.nonconforming} not "
        f"matching, {f.readback_failures} wrong read-backs, {f.writes_on_4xx} writes on 4xx, "
        f"{f.stored_mismatch} stored entries not found once"
    )
    if f.cases < f.asked:
        return failed(
            f"only {f.cases} of the {f.asked} generated cases asked ran "
            f"({f.stop_reason or 'generation stopped early'}): a figure from fewer cases "
            f"than asked is no pass; {counts}",
            **f.as_dict(),
        )
    return Outcome(Status.PASS if f.ok else Status.FAIL, counts, f.as_dict())


@check(
    CHECKS,
    "REL-002",
    "Every acknowledged entry is stored",
    Severity.CRITICAL,
    "An entry was acknowledged before its log item existed: see log_service.writer.",
    reads="the campaigns' acknowledged log_ids (201, batch rows stored/duplicate) against a "
    "consistent Query of each campaign's service partition",
    runs_on="both",
    doc=DOC,
)
def nothing_lost(m: Measured) -> Outcome:
    acknowledged = sum(len(t.acknowledged) for t in m.tallies)
    found = sum(t.found for t in m.tallies)
    lost = [i for t in m.tallies for i in t.lost]
    if acknowledged == 0:
        return failed("no entry was acknowledged: the campaigns stored nothing to count")
    return expect(
        not lost,
        f"{acknowledged} acknowledged, {found} found, 0 lost",
        f"{acknowledged} acknowledged, {found} found, {len(lost)} lost: {', '.join(lost[:5])}",
        lost=lost[:20],
    )


@check(
    CHECKS,
    "REL-003",
    "No entry is stored twice, none altered",
    Severity.CRITICAL,
    "Writes must stay conditional on the idempotency marker (log_service.writer).",
    reads="log items of each campaign's service partition (consistent Query) against what "
    "the campaign sent",
    runs_on="both",
    doc=DOC,
)
def stored_once_unchanged(m: Measured) -> Outcome:
    found = sum(t.found for t in m.tallies)
    duplicates = [i for t in m.tallies for i in t.duplicates]
    altered = [i for t in m.tallies for i in t.altered + t.unknown]
    if found == 0:
        return failed("the campaigns' partitions hold no entry: nothing to compare")
    return expect(
        not duplicates and not altered,
        f"{found} entries found, 0 duplicates, 0 altered or unknown",
        f"{len(duplicates)} duplicates ({', '.join(duplicates[:5])}), {len(altered)} altered "
        f"or unknown ({', '.join(altered[:5])})",
        duplicates=duplicates[:20],
        altered=altered[:20],
    )


@check(
    CHECKS,
    "REL-004",
    "Under DynamoDB faults every 5xx is a 503 with Retry-After",
    Severity.CRITICAL,
    "Map exhausted DynamoDB retries to 503 + Retry-After in the handler "
    "(runbooks/alarm-api-5xx.md).",
    reads="the campaigns' answers (status, Retry-After) while the embedded AWS injects "
    "DynamoDB faults (slsops local faults), and its count of faults injected",
    runs_on="local",
    doc=DOC,
)
def clean_503_under_faults(m: Measured) -> Outcome:
    statuses: Counter = Counter()
    for tally in m.tallies:
        statuses.update(tally.statuses)
    server_errors = sum(t.server_errors for t in m.fault_tallies)
    unclean = sum(t.unclean_errors for t in m.tallies)
    problems = [p for t in m.tallies for p in t.problems]
    evidence = {
        "faults_injected": m.faults_injected,
        "answers": dict(statuses),
        "problems": problems[:20],
    }
    if unclean or problems:
        return failed(
            f"{unclean} unclean 5xx, {len(problems)} broken promises "
            f"({m.faults_injected} faults injected): {'; '.join(problems[:3])}",
            **evidence,
        )
    if m.faults_injected == 0:
        return skipped(
            "no DynamoDB fault was injected (fault injection exists only in the local "
            "stack's embedded AWS), so no answer under faults was seen",
            **evidence,
        )
    if server_errors == 0:
        return skipped(
            f"{m.faults_injected} faults injected, all absorbed by retries: no 5xx under "
            "faults to judge",
            **evidence,
        )
    return passed(
        f"{m.faults_injected} faults injected, {server_errors} 5xx, every one a 503 with "
        f"Retry-After; answers {dict(statuses)}",
        **evidence,
    )


@check(
    CHECKS,
    "REL-005",
    "No unauthorised request is let through",
    Severity.CRITICAL,
    "Restore AWS_IAM on every method and the roles' execute-api policies (infra/).",
    reads="the access matrix (slsops.access_matrix): each role, unsigned, foreign and "
    "expired credentials against both methods, and the markers of refused writes",
    runs_on="both",
    doc=DOC,
)
def nobody_let_in(m: Measured) -> Outcome:
    matrix = m.matrix
    if not matrix.unauthorised:
        return failed("the access matrix attempted no unauthorised request: nothing compared")
    let_through = [f"{a.role} {a.method} ({a.kind}): {a.status}" for a in matrix.let_through]
    return expect(
        not let_through and not matrix.written_by_refused,
        f"{len(matrix.unauthorised)} attempted, 0 let through, 0 refused but written",
        f"{len(matrix.unauthorised)} attempted, {len(let_through)} let through "
        f"({'; '.join(let_through[:5])}), {len(matrix.written_by_refused)} refused but written",
        matrix=matrix.rows(),
    )


@check(
    CHECKS,
    "REL-006",
    "Every authorised request is served",
    Severity.CRITICAL,
    "Check the client roles' execute-api:Invoke policies (slsops roles).",
    reads="the access matrix's authorised attempts (each role on the methods it may call)",
    runs_on="both",
    doc=DOC,
)
def authorised_served(m: Measured) -> Outcome:
    matrix = m.matrix
    authorised = len(matrix.attempts) - len(matrix.unauthorised)
    if authorised == 0:
        return failed("the access matrix attempted no authorised request: nothing compared")
    refused = [f"{a.role} {a.method} ({a.kind}): {a.status}" for a in matrix.wrongly_refused]
    return expect(
        not refused,
        f"0 refused of {authorised}",
        f"{len(refused)} refused of {authorised}: {'; '.join(refused[:5])}",
        refused=[a.__dict__ for a in matrix.wrongly_refused],
    )


def judge(measured: Measured) -> list[CheckResult]:
    """Every REL- check on one run's figures (an exception is an ERROR, never a PASS)."""
    results = []
    for rel in CHECKS:
        try:
            outcome = rel.run(measured)
        except Exception as exc:  # a bug in a check: reported, never a PASS
            outcome = Outcome(Status.ERROR, f"{type(exc).__name__}: {exc}")
        results.append(
            CheckResult(
                id=rel.id,
                title=rel.title,
                status=outcome.status,
                severity=rel.severity,
                detail=outcome.detail,
                remediation=rel.remediation,
                evidence=outcome.evidence,
            )
        )
    return results


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
