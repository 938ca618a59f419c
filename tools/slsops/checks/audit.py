"""AUD-*: integrity of the stored data (one check per violation kind) and the table settings.

The scan runs once, on first use, for all the item and cross-item checks (``AuditContext``);
``--only AUD-T*`` runs the table-setting checks without scanning. Table settings reuse the
``verify`` checks of ``checks/dynamodb.py`` so both commands judge them the same way.
"""

from __future__ import annotations

import threading
from typing import Any

from slsops.audit.rules import KINDS, Kind
from slsops.audit.run import AuditOptions, AuditResult, run_audit
from slsops.checks import dynamodb
from slsops.checks.model import Check, Outcome, Severity, check, failed, passed
from slsops.stack import Stack
from slsops.verify_context import StackContext

CHECKS: list[Check] = []


class AuditContext(StackContext):
    """A StackContext that also runs the scan once and hands its result to every check."""

    def __init__(self, stack: Stack, options: AuditOptions) -> None:
        super().__init__(stack)
        self.options = options
        self._result: AuditResult | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def result(self) -> AuditResult:
        with self._lock:
            if self._result is None and self._error is None:
                try:
                    self._result = run_audit(self.client("dynamodb"), self.options)
                except Exception as exc:  # every dependent check reports the same ERROR
                    self._error = exc
            if self._result is None:
                raise self._error or RuntimeError("the audit scan did not run")
            return self._result

    @property
    def scanned(self) -> AuditResult | None:
        """The result if the scan ran (for the report's extra fields)."""
        return self._result


def _kind_check(kind: Kind) -> None:
    def run(ctx: AuditContext) -> Outcome:
        result = ctx.result()
        count = result.violations.counts[kind.name]
        samples = result.violations.samples[kind.name]
        if not count:
            return passed(f"none in {result.scan.items} items", count=0)
        first = samples[0] if samples else {}
        shown = "/".join(v for v in first.values() if v)
        return failed(f"{count} violation(s), e.g. {shown}", count=count, sample_keys=samples)

    severity = Severity.HIGH if kind.name.startswith(("index", "duplicate")) else Severity.MEDIUM
    check(CHECKS, kind.check_id, kind.title, severity, kind.remediation)(run)


for _kind in KINDS:
    _kind_check(_kind)


@check(
    CHECKS,
    "AUD-020",
    "Items per service, level and day (information)",
    Severity.INFO,
    "Nothing to do; compare with the traffic you expect.",
)
def counts(ctx: AuditContext) -> Outcome:
    result = ctx.result()
    return passed(
        f"{result.log_items} log items, {result.markers} markers, {len(result.services)} "
        f"services, {result.scan.items_per_second:,.0f} items/s over {ctx.options.segments} "
        f"segment(s)",
        log_items=result.log_items,
        markers=result.markers,
        expired_not_yet_deleted=result.expired_still_stored,
        per_service=dict(result.services.most_common()),
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

    check(CHECKS, check_id, title, severity, fix)(run)


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
