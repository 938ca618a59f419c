"""The REL- checks: what one reliability run measured (:class:`Measured`), judged.

The checks judge only the figures of :class:`Measured` (pure). A check that compared nothing
is no pass: REL-004 is SKIP where no DynamoDB fault was injected (a deployment on AWS), saying
so; REL-002/003/005/006 FAIL when there was nothing to count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from slsops.framework.model import (
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
from slsops.framework.runner import run_one
from slsops.harness import access_matrix
from slsops.harness.campaign import Tally
from slsops.harness.fuzz_figures import FuzzFigures


@dataclass(frozen=True)
class Measured:
    """What one reliability run saw; the REL- checks judge it and nothing else (pure).

    ``fault_tallies`` are the campaigns run under injected DynamoDB faults (none on AWS, where
    nothing can inject them), ``faults_injected`` how many faults the embedded AWS reports it
    injected, ``other_tallies`` the campaigns without faults (concurrent clients).
    """

    fuzzed: FuzzFigures
    fault_tallies: list[Tally]
    faults_injected: int
    other_tallies: list[Tally]
    matrix: access_matrix.MatrixResult

    @property
    def tallies(self) -> list[Tally]:
        return [*self.fault_tallies, *self.other_tallies]


CHECKS: list[Check] = []
DOC = "docs/reliability.md"


@check(
    CHECKS,
    "REL-001",
    "Generated requests: every case asked ran, no 5xx, answers match the document, 201s read "
    "back, 4xx wrote nothing",
    Severity.CRITICAL,
    "Reproduce with python -m slsops.harness.fuzz --stack FILE; fix the handler or the "
    "document. Too few cases: raise the time budget (--max-seconds) or ask fewer (--cases).",
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
    reads="the access matrix (slsops.harness.access_matrix): each role, unsigned, foreign and "
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
    return [run_one(rel, measured) for rel in CHECKS]
