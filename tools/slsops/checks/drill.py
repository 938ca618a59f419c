"""DRL-*: verdicts on one restore drill (``slsops.drill.result.DrillResult``).

The drill runs first (its steps are sequential); these checks only judge its result, so they
are cheap and independent. A step that never ran makes the checks that need it FAIL with the
drill's error as the detail, or ERROR when that step was an AWS call that failed. A check
that had nothing to compare is SKIP with the reason, never PASS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slsops.contract.numbers import OBJECTIVES
from slsops.drill.cleanup import DONE
from slsops.drill.result import DrillResult
from slsops.framework.model import (
    Check,
    Outcome,
    Severity,
    Status,
    check,
    expect,
    failed,
    passed,
    skipped,
    warned,
)

CHECKS: list[Check] = []
RUNBOOK = "runbooks/restore-the-log-table.md"
READS_RESULT = "the drill's result: "


@dataclass
class DrillContext:
    result: DrillResult
    stack: Any = None


def _missing(result: DrillResult, what: str) -> Outcome:
    detail = f"{what} not done: {result.error or result.aborted_by or 'an earlier step failed'}"
    if result.error_from_aws:
        return Outcome(Status.ERROR, detail)
    return failed(detail)


def _within(value: float, objective: float, tolerance: float, what: str, **ev: Any) -> Outcome:
    """PASS within the objective, WARN within its tolerance band, FAIL beyond."""
    ev.update(objective_s=objective, tolerance_s=tolerance)
    if value <= objective:
        return passed(f"{what} {value:.1f} s <= {objective:.0f} s", **ev)
    detail = f"{what} {value:.1f} s > {objective:.0f} s"
    if value <= objective + tolerance:
        return warned(f"{detail}, within the {tolerance:.0f} s tolerance", **ev)
    return failed(f"{detail} + {tolerance:.0f} s", **ev)


@check(
    CHECKS,
    "DRL-001",
    "Restore started",
    Severity.CRITICAL,
    f"Check PITR is enabled and the operator may restore (dynamodb:Restore*); see {RUNBOOK}.",
    reads=READS_RESULT + "RestoreTableToPointInTime / RestoreTableFromBackup answer",
    doc=RUNBOOK,
)
def restore_started(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if not r.restore_started:
        return failed(
            f"no restore: {r.restore_error or r.error or r.aborted_by or 'not reached'}",
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
    reads=READS_RESULT + "DescribeTable of the source and of the restored table",
    doc=RUNBOOK,
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
    reads=READS_RESULT + "SSEDescription of the source and of the restored table",
    doc=RUNBOOK,
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


def _compared(r: DrillResult, what: str) -> Outcome | None:
    """None when the comparison looked for something the source held before the point;
    else its verdict (the drill's error, or SKIP)."""
    if r.comparison is None:
        return _missing(r, what)
    if not r.comparison["compared"]["held_before"]:
        return skipped(
            f"the source held no entry or marker ingested before the point - guard "
            f"({r.comparison['before_at_most']}): nothing to compare",
            **r.comparison["source"],
        )
    return None


@check(
    CHECKS,
    "DRL-004",
    "Every entry and marker the source held at the point is restored",
    Severity.CRITICAL,
    "Investigate before relying on the backups: compare the two tables' items (runbook).",
    reads=READS_RESULT + "Scan of the source and of the restored table (entries and markers)",
    doc=RUNBOOK,
)
def complete(ctx: DrillContext) -> Outcome:
    r = ctx.result
    verdict = _compared(r, "comparison")
    if verdict is not None:
        return verdict
    c = r.comparison or {}
    missing, markers = c["missing"], c["missing_markers"]
    lost = c["lost_since"]
    evidence = {
        "source": c["source"],
        "restored": c["restored"],
        "missing": missing,
        "missing_markers": markers,
        "lost_since": lost,
        "compared": c["compared"],
        "unplaced": c["unplaced"],
        "restore_only": c["restore_only"],  # judged by DRL-005
    }
    if missing["count"] or markers["count"]:
        return failed(
            f"{missing['count']} entries and {markers['count']} markers the source held at the "
            f"point are not restored, e.g. {(missing['keys'] + markers['keys'])[:1]}",
            **evidence,
        )
    if c["unplaced"]["count"]:
        return warned(
            f"{c['unplaced']['count']} entries of the source are not restored and their "
            "ingested_at (missing or in the future) cannot place them around the point: "
            f"lost, or written after it? Check them by hand, e.g. {c['unplaced']['keys'][:1]}",
            **evidence,
        )
    return passed(
        f"{c['source']['before']} entries before the point restored with their markers; "
        f"{lost['ttl_expired']} entries and markers TTL-expired since, explained",
        **evidence,
    )


def _restore_only(c: dict[str, Any], evidence: dict[str, Any]) -> Outcome | None:
    """Items the restore holds and the source does not now (TTL-expired ones aside).

    The service never deletes: when the drill placed the point seconds ago, nothing but the
    restore can have put them there (FAIL). Since a point the user chose, an operator may
    have deleted them (duplicates, say): WARN naming them, for a person to check."""
    extra = c["restore_only"]
    if not extra["count"]:
        return None
    evidence = {**evidence, "restore_only": extra, "point_chosen_by": c["point_chosen_by"]}
    if c["point_chosen_by"] != "user":
        return failed(
            f"{extra['count']} entries or markers are held by the restore, not by the source: "
            "the drill placed the point seconds ago and the service never deletes, so the "
            f"restore holds items the source never had, e.g. {extra['keys'][:3]}",
            **evidence,
        )
    return warned(
        f"{extra['count']} entries or markers are held by the restore, not by the source now: "
        "deleted since the point, or not in the source at the point - check the deletions "
        f"log / CloudTrail, e.g. {extra['keys'][:3]}",
        **evidence,
    )


@check(
    CHECKS,
    "DRL-005",
    "Restored entries and markers are identical to the source's (checksums)",
    Severity.CRITICAL,
    "The restored data differs from what the source held: investigate (runbook). Items held "
    "by the restore alone: with a point the drill placed, the restore made them up; with a "
    "point you chose, check the deletions log / CloudTrail for each named key.",
    reads=READS_RESULT + "canonical item checksums of both tables (Scan)",
    doc=RUNBOOK,
)
def identical(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.comparison is None:
        return _missing(r, "checksum")
    c = r.comparison
    differing, markers = c["differing"], c["differing_markers"]
    source_sum = c["source"]["checksum_before"]
    restored_sum = c["restored_checksum_before_less_lost"]
    evidence = {"source": source_sum, "restored_less_lost": restored_sum, **c["compared"]}
    extra = _restore_only(c, evidence)
    if extra is not None and extra.status is Status.FAIL:
        return extra
    nothing = _compared(r, "checksum")
    if nothing is None and not c["compared"]["in_both"]:
        nothing = skipped(
            "no entry or marker from before the point is in both tables: nothing to compare "
            "(DRL-004 names what is missing)",
            **evidence,
        )
    if nothing is not None:
        return extra or nothing  # what the restore alone holds is still named
    if differing["count"] or markers["count"]:
        return failed(
            f"{differing['count']} entries and {markers['count']} markers differ from the "
            f"source's, e.g. {(differing['keys'] + markers['keys'])[:1]}",
            differing=differing,
            differing_markers=markers,
            **evidence,
        )
    if source_sum != restored_sum and not c["missing"]["count"]:
        return failed(f"source {source_sum[:16]}... != restored {restored_sum[:16]}...", **evidence)
    if extra is not None:
        return extra
    return passed(
        f"checksum {source_sum[:16]}... in both (entries TTL-expired since subtracted)", **evidence
    )


def _index_differences(contents: dict[str, Any]) -> str:
    """What differs between the restored index and table, counts first, a few keys named."""
    kinds = {
        "missing": "missing from the index",
        "differing": "differing",
        "index_only": "held by the index alone",
        "duplicated": "held twice by the index",
    }
    named = [f"{contents[k]['count']} {text}" for k, text in kinds.items() if contents[k]["count"]]
    examples = [key for k in kinds for key in contents[k]["keys"]][:3]
    table, index = contents["table"], contents["index_scan"]
    text = (
        f"index {contents['index']} holds {index['count']} items, the table {table['count']} "
        f"carrying its keys; {contents['differing_buckets']} buckets differ"
    )
    if named:
        return f"{text}: {', '.join(named)}, e.g. {examples}"
    resolved = f"{contents['resolved_buckets']} of them resolved"
    return f"{text} (none named, {resolved}: the index changed between scans?)"


@check(
    CHECKS,
    "DRL-006",
    "Restored index holds exactly the table's items; reads served",
    Severity.HIGH,
    "The restored index does not hold what its table holds, or does not serve reads: re-run "
    "the drill; if it persists, serve from no restored table before its index is rebuilt "
    "(delete and re-create it) and open a support case with the evidence (runbook).",
    reads=READS_RESULT + "Scan of the restored table and of its all-services index (checksums); "
    "Query of sampled source entries through the index",
    doc=RUNBOOK,
)
def index_read(ctx: DrillContext) -> Outcome:
    """Every restored item carrying the index keys is in the index, identical (projection
    ALL), and nothing else is; sampled source entries are read back with the read API's
    query. A few sampled reads alone passed an index lacking items or holding changed ones."""
    r = ctx.result
    contents, reads = r.index_contents, r.index_reads
    if not contents:
        return _missing(r, "index comparison")
    if "error" in contents:
        return failed(contents["error"], **contents)
    evidence = {**contents, "sample_reads": reads}
    if contents["differing_buckets"]:
        return failed(_index_differences(contents), **evidence)
    bad = reads["missing"] + reads["differing"]
    if bad:
        return failed(
            f"sampled reads through the index: {len(reads['missing'])} missing, "
            f"{len(reads['differing'])} differing, e.g. {bad[:1]}",
            **evidence,
        )
    count = contents["table"]["count"]
    if not count:
        return skipped(
            "the restored table holds no item carrying the index keys "
            f"({', '.join(contents['key_attributes'])}) and the index is empty: nothing compared",
            **evidence,
        )
    return passed(
        f"{count} items in the index, identical to the table's (checksum "
        f"{contents['table']['checksum'][:16]}...); {reads['checked']} sampled reads equal",
        **evidence,
    )


@check(
    CHECKS,
    "DRL-007",
    "Settings a restore does not carry over have a re-apply step",
    Severity.MEDIUM,
    f"After a real restore re-apply each listed setting ({RUNBOOK}, step 'Re-apply'); a setting "
    "with no step (billing mode, table class) must be set on the restored table by hand.",
    reads=READS_RESULT + "DescribeTable, DescribeContinuousBackups, DescribeTimeToLive, tags",
    doc=RUNBOOK,
)
def settings_not_carried(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.not_reapplicable is None:
        return _missing(r, "settings comparison")
    if r.not_reapplicable:
        return failed(
            "differs and no runbook step re-applies it: " + "; ".join(r.not_reapplicable),
            not_reapplicable=r.not_reapplicable,
            settings=r.not_carried_over,
        )
    names = ", ".join(s["setting"] for s in r.not_carried_over)
    return warned(f"re-apply after a restore: {names}", settings=r.not_carried_over)


@check(
    CHECKS,
    "DRL-008",
    f"RTO (restore call to validated table) within {OBJECTIVES.rto_s / 3600:.0f} h",
    Severity.HIGH,
    "Restores take longer with table size: drill on a production-sized copy, revisit the RTO.",
    reads=READS_RESULT + "time from the restore call to the end of validation",
    doc=RUNBOOK,
)
def rto(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.rto_s is None:
        return _missing(r, "validated restore")
    goals = r.objectives
    return _within(
        r.rto_s,
        goals.rto_s,
        goals.rto_tolerance_s,
        "RTO",
        rto_s=round(r.rto_s, 3),
        source_scan_s=None if r.source_scan_s is None else round(r.source_scan_s, 3),
        steps={s.name: round(s.duration_s, 3) for s in r.steps},
    )


@check(
    CHECKS,
    "DRL-009",
    f"RPO (incident - restore point used) within {OBJECTIVES.rpo_s / 60:.0f} min",
    Severity.HIGH,
    "Restore to a later point (PITR restores to any second up to ~5 min ago), or take backups "
    "more often; a backup older than the RPO cannot meet it.",
    reads=READS_RESULT + "restore point used and the simulated incident time",
    doc=RUNBOOK,
)
def rpo(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.rpo_s is None:
        return _missing(r, "restore point")
    goals = r.objectives
    return _within(
        r.rpo_s,
        goals.rpo_s,
        goals.rpo_tolerance_s,
        "RPO",
        rpo_s=round(r.rpo_s, 3),
        restore_point=r.restore_point,
        incident_at=r.incident_at,
    )


@check(
    CHECKS,
    "DRL-010",
    "Drill table and backup removed",
    Severity.MEDIUM,
    "Run `slsops drill cleanup` (removes recorded or tagged leftovers and recorded backups).",
    reads=READS_RESULT + "DeleteTable / DeleteBackup answers",
    doc=RUNBOOK,
)
def cleaned_up(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.kept:
        return warned(f"kept as asked (--keep): {', '.join(r.kept)}", kept=r.kept, **r.cleanup)
    left = {k: v for k, v in r.cleanup.items() if v not in DONE}
    if not r.cleanup:
        return skipped("the drill created no table and no backup")
    return expect(not left, "drill table and backup removed", f"left behind: {left}", **r.cleanup)


@check(
    CHECKS,
    "DRL-011",
    "Canaries: the restored table holds exactly their before-state",
    Severity.CRITICAL,
    "The restore did not go to the point asked for (a copy of now, or another time): "
    "check the restore call's time and the PITR window (runbook).",
    reads=READS_RESULT + "Query of each canary entry and marker in both tables",
    doc=RUNBOOK,
)
def canaries(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if not r.canaries:
        return _missing(r, "canary comparison")
    rows = r.canaries["canaries"]
    if not rows:
        return skipped("no canary was written", **r.canaries)
    before = sum(1 for c in rows if c["phase"] == "before")
    return expect(
        not r.canaries["problems"],
        f"{before} before-canaries restored identical, {len(rows) - before} after-canaries absent",
        "; ".join(r.canaries["problems"][:3]),
        **r.canaries,
    )


@check(
    CHECKS,
    "DRL-012",
    "Nothing ingested after the point is in the restored table",
    Severity.CRITICAL,
    "The restore holds entries from after its point: it is not a point-in-time restore (runbook).",
    reads=READS_RESULT + "Scan of both tables (entries ingested after point + guard)",
    doc=RUNBOOK,
)
def nothing_after(ctx: DrillContext) -> Outcome:
    r = ctx.result
    if r.comparison is None:
        return _missing(r, "comparison")
    c = r.comparison
    after = c["after_point"]
    if after["count"]:
        return failed(
            f"{after['count']} entries or markers ingested after {c['after_above']} are restored, "
            f"e.g. {after['keys'][:1]}",
            after_point=after,
        )
    if not c["source"]["after"]:
        return skipped(
            f"the source holds no entry ingested after the point + guard ({c['after_above']}); "
            "the canaries (DRL-011) judge the point",
        )
    return passed(
        f"none of the source's {c['source']['after']} later entries is restored",
        source_after=c["source"]["after"],
    )


def evidence(result: DrillResult, verdicts: list[Any], verdict: str) -> dict[str, Any]:
    """The auditor's record: the drill, each check's verdict and the drill's overall verdict."""
    return {
        "verdict": verdict,
        "drill": result.as_dict(),
        "verdicts": {v.id: {"status": str(v.status), "detail": v.detail} for v in verdicts},
    }
