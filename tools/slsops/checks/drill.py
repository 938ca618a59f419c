"""DRL-*: verdicts on one restore drill (``slsops.drill.restore.DrillResult``).

The drill runs first (its steps are sequential); these checks only judge its result, so they
are cheap and independent. A step that never ran makes the checks that need it FAIL with the
drill's error as the detail, or ERROR when that step was an AWS call that failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slsops.checks.model import (
    Check,
    Outcome,
    Severity,
    Status,
    check,
    expect,
    failed,
    passed,
    warned,
)
from slsops.drill.restore import RPO_OBJECTIVE_S, RTO_OBJECTIVE_S, DrillResult

CHECKS: list[Check] = []
RUNBOOK = "runbooks/restore-the-log-table.md"


@dataclass
class DrillContext:
    result: DrillResult
    stack: Any = None


def _missing(result: DrillResult, what: str) -> Outcome:
    detail = f"{what} not done: {result.error or 'an earlier step failed'}"
    if result.error_from_aws:
        return Outcome(Status.ERROR, detail)
    return failed(detail)


@check(
    CHECKS,
    "DRL-001",
    "Restore started",
    Severity.CRITICAL,
    f"Check PITR is enabled and the operator may restore (dynamodb:Restore*); see {RUNBOOK}.",
)
def restore_started(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if not r.restore_started:
        return failed(
            f"no restore: {r.restore_error or r.error or 'not reached'}",
            mode=r.mode,
            restore_point=r.restore_point,
        )
    return passed(
        f"{r.mode} restore into {r.drill_table} at {r.restore_point}",
        mode=r.mode,
        drill_table=r.drill_table,
        backup_arn=r.backup_arn,
        restore_point=r.restore_point,
        restorable_window=[r.earliest_restorable, r.latest_restorable],
    )


@check(
    CHECKS,
    "DRL-002",
    "Restored key schema and indexes equal the source's",
    Severity.HIGH,
    "A restore that drops or changes an index needs GlobalSecondaryIndexOverride; see the runbook.",
)
def schema_equal(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.schema_differences is None:
        return _missing(r, "schema comparison")
    return expect(
        not r.schema_differences,
        "keys, attribute definitions and indexes equal",
        "; ".join(r.schema_differences),
        differences=r.schema_differences,
    )


@check(
    CHECKS,
    "DRL-003",
    "Restored encryption is the source's (carried over)",
    Severity.HIGH,
    "Restore with SSESpecificationOverride naming the CMK; see the runbook.",
)
def encryption_equal(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if not r.encryption:
        return _missing(r, "encryption comparison")
    return expect(
        r.encryption["source"] == r.encryption["restored"],
        f"SSE {r.encryption['restored'].get('type')} with {r.encryption['restored'].get('key')}",
        f"source {r.encryption['source']} != restored {r.encryption['restored']}",
        **r.encryption,
    )


@check(
    CHECKS,
    "DRL-004",
    "Item count equals the source's at the restore point",
    Severity.CRITICAL,
    "Investigate before relying on the backups: compare the two tables' items (runbook).",
)
def count_equal(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.source is None or r.restored is None:
        return _missing(r, "count")
    return expect(
        r.source.count == r.restored.count,
        f"{r.restored.count} items in both",
        f"source {r.source.count} items, restored {r.restored.count}",
        source=r.source.count,
        restored=r.restored.count,
        predicate=r.predicate,
    )


@check(
    CHECKS,
    "DRL-005",
    "Checksum of canonical items equals the source's",
    Severity.CRITICAL,
    "The restored data differs from what the source held: investigate (runbook).",
)
def checksum_equal(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.source is None or r.restored is None:
        return _missing(r, "checksum")
    return expect(
        r.source.checksum == r.restored.checksum,
        f"checksum {r.restored.checksum_hex[:16]}... in both",
        f"source {r.source.checksum_hex[:16]}... != restored {r.restored.checksum_hex[:16]}...",
        source=r.source.checksum_hex,
        restored=r.restored.checksum_hex,
    )


@check(
    CHECKS,
    "DRL-006",
    "Sample read through the restored index",
    Severity.HIGH,
    "The restored index does not serve the items: wait for it to be ACTIVE, then see the runbook.",
)
def index_read(ctx: DrillContext) -> Outcome:
    r = ctx.result
    reads = r.index_reads
    if not reads:
        return _missing(r, "index read")
    if not reads["checked"]:
        return warned("no items under the predicate to read back", **reads)
    bad = reads["missing"] + reads["differing"]
    return expect(
        not bad,
        f"{reads['checked']} sampled items read back through the index, equal",
        f"{len(reads['missing'])} missing, {len(reads['differing'])} differing, e.g. {bad[:1]}",
        **reads,
    )


@check(
    CHECKS,
    "DRL-007",
    "Settings a restore does not carry over (the runbook re-applies them)",
    Severity.MEDIUM,
    f"After a real restore re-apply each listed setting ({RUNBOOK}, step 'Re-apply').",
)
def settings_not_carried(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if not r.not_carried_over:
        return _missing(r, "settings comparison")
    names = ", ".join(s["setting"] for s in r.not_carried_over)
    return warned(f"re-apply after a restore: {names}", settings=r.not_carried_over)


@check(
    CHECKS,
    "DRL-008",
    f"RTO (start to validated restore) within {RTO_OBJECTIVE_S / 3600:.0f} h",
    Severity.HIGH,
    "Restores take longer with table size: drill on a production-sized copy, revisit the RTO.",
)
def rto(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.rto_s is None:
        return _missing(r, "validated restore")
    return expect(
        r.rto_s <= RTO_OBJECTIVE_S,
        f"RTO {r.rto_s:.1f} s <= {RTO_OBJECTIVE_S:.0f} s",
        f"RTO {r.rto_s:.1f} s > {RTO_OBJECTIVE_S:.0f} s",
        rto_s=round(r.rto_s, 3),
        objective_s=RTO_OBJECTIVE_S,
        steps={s.name: round(s.duration_s, 3) for s in r.steps},
    )


@check(
    CHECKS,
    "DRL-009",
    f"RPO (now - latest restorable time) within {RPO_OBJECTIVE_S / 60:.0f} min",
    Severity.HIGH,
    "Enable point-in-time recovery on the table (infra/: point_in_time_recovery enabled).",
)
def rpo(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.rpo_s is None:
        return failed("no latest restorable time: point-in-time recovery is off")
    return expect(
        r.rpo_s <= RPO_OBJECTIVE_S,
        f"RPO {r.rpo_s:.1f} s <= {RPO_OBJECTIVE_S:.0f} s",
        f"RPO {r.rpo_s:.1f} s > {RPO_OBJECTIVE_S:.0f} s",
        rpo_s=round(r.rpo_s, 3),
        objective_s=RPO_OBJECTIVE_S,
        latest_restorable=r.latest_restorable,
    )


@check(
    CHECKS,
    "DRL-010",
    "Drill table and backup removed",
    Severity.MEDIUM,
    "Run `slsops drill cleanup` (removes tagged or recorded leftovers and drill backups).",
)
def cleaned_up(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.kept:
        return warned(f"{r.drill_table} kept as asked (--keep)", **r.cleanup)
    done = {"deleted", "gone", "deleting"}
    left = {k: v for k, v in r.cleanup.items() if v not in done}
    return expect(
        not left,
        "drill table and backup removed" if r.cleanup else "nothing was created",
        f"left behind: {left}",
        **r.cleanup,
    )


def evidence(result: DrillResult, verdicts: list[Any]) -> dict[str, Any]:
    """The auditor's record: the drill plus each check's verdict."""
    return {
        "drill": result.as_dict(),
        "verdicts": {v.id: {"status": str(v.status), "detail": v.detail} for v in verdicts},
    }
