"""AUD-*: integrity of the stored data (one check per violation kind) and the table settings.

The audit (a scan of the live table, or an export's files) runs once, on first use, for all
the item and cross-item checks (``AuditContext``); ``--only AUD-T*`` runs the table-setting
checks without reading items. Table settings reuse the ``verify`` checks of
``checks/dynamodb.py`` so both commands judge them the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from slsops.audit.kinds import KINDS, Kind
from slsops.audit.options import AuditOptions
from slsops.audit.result import AuditResult
from slsops.audit.run import run_audit
from slsops.checks import dynamodb
from slsops.deployment.stack import Stack
from slsops.deployment.verify_context import StackContext
from slsops.framework.model import (
    Check,
    Outcome,
    Severity,
    check,
    failed,
    passed,
    skipped,
    warned,
)

CHECKS: list[Check] = []


class AuditContext(StackContext):
    """A StackContext that also runs the scan once and hands its result to every check."""

    def __init__(
        self,
        stack: Stack,
        options: AuditOptions,
        runner: Callable[[AuditContext], AuditResult] | None = None,
    ) -> None:
        super().__init__(stack)
        self.options = options
        self.runner = runner or (lambda ctx: run_audit(ctx.client("dynamodb"), ctx.options))
        self._result: AuditResult | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def result(self) -> AuditResult:
        with self._lock:
            if self._result is None and self._error is None:
                try:
                    self._result = self.runner(self)
                except Exception as exc:  # every dependent check reports the same ERROR
                    self._error = exc
            if self._result is None:
                raise self._error or RuntimeError("the audit scan did not run")
            return self._result

    @property
    def scanned(self) -> AuditResult | None:
        """The result if the scan ran (for the report's extra fields)."""
        return self._result


DOC = "runbooks/integrity-audit-found-violations.md"
READS_ITEMS = (
    "dynamodb:Scan of the table (or the files of ExportTableToPointInTime with --from-export)"
)
READS_INDEX = "dynamodb:Query of each gsi_shard of the all-services index, beside the table scan"


def _index_not_compared(kind: Kind, result: AuditResult, settle: int) -> str | None:
    """Why an index check compared nothing, or None when it compared something."""
    if result.source != "scan":
        return "an export holds the table, not its index: run the scan audit for AUD-016/017"
    if kind.name == "index_count_mismatch" and not result.index_compared:
        return (
            f"no item was ingested more than {settle} s before the audit started "
            f"({result.scan.items} items read): nothing settled to compare with the index"
        )
    if kind.name == "index_sample_missing" and not result.index_sample:
        return (
            f"no settled item to sample (none ingested more than {settle} s "
            f"before the audit, {result.scan.items} items read)"
        )
    return None


def _content_not_compared(result: AuditResult) -> str | None:
    """Why the content check compared nothing, or None when it compared something."""
    if result.source != "scan":
        return (
            "an export's engine does not recompute the log items' content hashes: run the "
            "scan audit for AUD-024"
        )
    if not result.content_compared:
        return (
            f"no marker with a content hash points at an existing log item "
            f"({result.scan.items} items read): no content to compare"
        )
    return None


def _kind_check(kind: Kind) -> None:
    def run(ctx: AuditContext) -> Outcome:
        result = ctx.result()
        if not result.scan.items:
            return skipped(f"the {result.source} read no item: nothing to judge")
        if kind.index:
            reason = _index_not_compared(kind, result, ctx.options.settle_seconds)
            if reason:
                return skipped(reason)
        if kind.content:
            reason = _content_not_compared(result)
            if reason:
                return skipped(reason)
        count = result.violations.counts[kind.name]
        samples = result.violations.samples[kind.name]
        if not count:
            if kind.index and kind.name == "index_count_mismatch":
                settled = sum(result.table_shards.values())
                return passed(
                    f"{settled} settled items, index and table agree on every shard", count=0
                )
            if kind.index:
                return passed(f"{len(result.index_sample)} sampled items found", count=0)
            if kind.content:
                return passed(
                    f"{result.content_compared} log items hold the content their marker recorded",
                    count=0,
                )
            return passed(f"none in {result.scan.items} items", count=0)
        first = samples[0] if samples else {}
        shown = "/".join(v for v in first.values() if v)
        verdict = warned if kind.warn else failed
        return verdict(f"{count} violation(s), e.g. {shown}", count=count, sample_keys=samples)

    if kind.warn:
        severity = Severity.LOW
    elif kind.name.startswith(
        ("index", "duplicate", "entry_without", "entry_lost", "marker_points", "content_hash")
    ):
        severity = Severity.HIGH
    else:
        severity = Severity.MEDIUM
    check(
        CHECKS,
        kind.check_id,
        kind.title,
        severity,
        kind.remediation,
        reads=READS_INDEX if kind.index else READS_ITEMS,
        runs_on="both",
        doc=DOC,
    )(run)


for _kind in KINDS:
    _kind_check(_kind)


@check(
    CHECKS,
    "AUD-020",
    "Items per service, level and day (information)",
    Severity.INFO,
    "Nothing to do; compare with the traffic you expect.",
    reads=READS_ITEMS,
    runs_on="both",
    doc=DOC,
)
def counts(ctx: AuditContext) -> Outcome:
    result = ctx.result()
    if not result.scan.items:
        return skipped(f"the {result.source} read no item: nothing to count")
    reserved = sum(result.reserved.values())
    return passed(
        f"{result.log_items} log items, {result.markers} markers, {len(result.services)} "
        f"services ({reserved} items of the toolkit's reserved services apart), "
        f"{result.scan.items_per_second:,.0f} items/s from the {result.source}",
        source=result.source,
        source_detail=result.source_detail,
        log_items=result.log_items,
        markers=result.markers,
        expired_not_yet_deleted=result.expired_still_stored,
        per_service=dict(result.services.most_common()),
        reserved_per_service=dict(result.reserved.most_common()),
        per_level=dict(sorted(result.levels.items())),
        per_day=dict(sorted(result.days.items())),
        table_per_shard={str(k): v for k, v in sorted(result.table_shards.items())},
        index_per_shard={str(k): v for k, v in sorted(result.index_shards.items())},
        seconds={k: round(v, 3) for k, v in result.phases.items()},
        segments=ctx.options.segments,
        threads=ctx.options.threads,
        shard_count=ctx.options.rules.shard_count,
        max_retention_days=ctx.options.rules.max_retention_days,
        max_clock_skew_seconds=ctx.options.rules.max_clock_skew_seconds,
    )


def _table_setting(check_id: str, title: str, severity: Severity, verify_check: Any, fix: str):
    """An AUD-TABLE-* check that runs the named verify (DDB-*) check."""

    def run(ctx: AuditContext) -> Outcome:
        return verify_check(ctx)

    check(
        CHECKS,
        check_id,
        title,
        severity,
        fix,
        reads="dynamodb:DescribeTable, DescribeContinuousBackups, DescribeTimeToLive",
        runs_on="both",
        doc=DOC,
    )(run)


_table_setting(
    "AUD-TABLE-SSE",
    "Table encrypted with the project's customer-managed key",
    Severity.CRITICAL,
    dynamodb.sse,
    "Set server_side_encryption with the CMK in infra/ and apply (same as DDB-005).",
)
_table_setting(
    "AUD-TABLE-PITR",
    "Point-in-time recovery enabled",
    Severity.CRITICAL,
    dynamodb.pitr,
    "aws dynamodb update-continuous-backups --table-name <table> "
    "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
)
_table_setting(
    "AUD-TABLE-DELETION-PROTECTION",
    "Deletion protection enabled",
    Severity.HIGH,
    dynamodb.deletion_protection,
    "aws dynamodb update-table --table-name <table> --deletion-protection-enabled",
)
_table_setting(
    "AUD-TABLE-TTL",
    "Time to live enabled on expires_at",
    Severity.HIGH,
    dynamodb.ttl,
    "aws dynamodb update-time-to-live --table-name <table> "
    "--time-to-live-specification Enabled=true,AttributeName=expires_at",
)
