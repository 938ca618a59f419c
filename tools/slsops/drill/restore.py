"""The restore drill's steps, from "where is the point" to "the copy is gone".

Phases: ``point`` (the restore point and the PITR window), ``canaries`` (entries written
through the API around the point, see ``canary``), ``await-point`` (PITR only: until the
restorable window reaches the point), ``source-scan`` (what the source holds, reported apart
from the RTO), ``restore`` (the restore call, after recording the intent), ``wait`` (until
the table and its indexes are ACTIVE; tagged then), ``validate`` (schema, encryption, the bulk
comparison at the point, the canaries, the index against its table and reads through it),
``settings`` (what a restore does not carry over) and ``cleanup`` (always: on failure,
timeout, Ctrl-C and SIGTERM too, unless ``--keep``). RTO runs from the restore call to the
end of ``validate``; RPO is the incident time minus the restore point used. The source table
is only read (and written to through the API, under the drill's reserved service name); the
only deletes are of what this drill recorded before creating it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from log_service import keys, limits
from slsops.drill import canary, compare, settings, validation
from slsops.drill import cleanup as drill_cleanup
from slsops.drill.canary import Canaries, CanaryWriter
from slsops.drill.result import DrillOptions, DrillResult, Phase, iso
from slsops.errors import SlsopsError, Terminated, UsageError

POLL_SECONDS = 2.0
# After a restore call cut short, how long the drill looks for the table before leaving it
# to `slsops drill cleanup` (AWS creates it within seconds of accepting the call).
INTERRUPTED_GRACE_S = 10.0

# Called with (client, phase name, drill table or None) as each phase starts; tests pause or
# break the drill here. Empty in normal runs.
PHASE_HOOKS: list[Callable[[Any, str, str | None], None]] = []
# Called with (client, drill table) once the restored table is ACTIVE, before validation.
AFTER_RESTORE_HOOKS: list[Callable[[Any, str], None]] = []


class DrillFailed(Exception):
    """A step could not complete; the drill reports it and cleans up."""


class Drill:
    """One drill run: its client, options, record, canaries and result."""

    def __init__(
        self,
        client: Any,
        source: str,
        options: DrillOptions,
        record: drill_cleanup.DrillRecord,
        writer: CanaryWriter | None,
    ) -> None:
        self.client, self.source, self.options, self.record = client, source, options, record
        self.writer = writer
        self.started_wall = datetime.now(UTC)
        self.started = time.perf_counter()
        self.result = DrillResult(options.mode, source, iso(self.started_wall))
        self.result.objectives = options.objectives
        self.result.identity = getattr(writer, "identity", None)
        self.canaries = Canaries()
        self.restore_called = False

    def run(self) -> DrillResult:
        return _run(self)

    def phase(self, name: str) -> Phase:
        for hook in PHASE_HOOKS:
            hook(self.client, name, self.result.drill_table)
        return Phase(self.result, name, self.options.status)

    def remaining(self) -> float:
        return self.options.timeout_s - (time.perf_counter() - self.started)

    def pause(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    # --- phases ---------------------------------------------------------------------------

    def find_point(self) -> tuple[datetime | None, dict[str, Any]]:
        """The restore point when it is fixed up front (explicit time or existing backup)."""
        result, options = self.result, self.options
        source_desc = self.client.describe_table(TableName=self.source)["Table"]
        window = settings.pitr_window(self.client, self.source)
        if window is not None:
            result.earliest_restorable, result.latest_restorable = map(iso, window)
        if options.mode == "backup":
            if options.restore_time is not None:
                raise UsageError("--restore-time applies to --mode pitr only")
            if options.backup_arn is None:
                return None, source_desc
            backup = self.client.describe_backup(BackupArn=options.backup_arn)
            details = backup["BackupDescription"]["BackupDetails"]
            origin = backup["BackupDescription"]["SourceTableDetails"]["TableName"]
            if origin != self.source:
                raise UsageError(f"--backup-arn is a backup of {origin}, not of {self.source}")
            result.backup_arn, result.backup_origin = options.backup_arn, "existing"
            return details["BackupCreationDateTime"], source_desc
        if window is None:
            raise DrillFailed(f"point-in-time recovery is not enabled on {self.source}")
        point = options.restore_time
        if point is not None and not window[0] <= point <= window[1]:
            raise UsageError(
                f"--restore-time {iso(point)} is outside the restorable window "
                f"[{iso(window[0])}, {iso(window[1])}]"
            )
        return point, source_desc

    def write(self, phase: str, count: int) -> None:
        if self.writer is None:
            raise DrillFailed("no canary write path: the drill cannot prove its restore point")
        self.writer.write(self.canaries.entries(phase, count))

    def place_canaries(self, fixed_point: datetime | None) -> datetime:
        """Write the canaries around the point; return the point (and set the incident)."""
        gap = self.options.canary_gap_s
        if fixed_point is not None:  # the point is in the past: every canary is after it
            self.write("after", 1)
            point = fixed_point
        else:
            self.write("before", canary.BEFORE_COUNT)
            self.pause(gap)
            point = self.take_backup() if self.options.mode == "backup" else datetime.now(UTC)
            self.pause(gap)
            self.write("after", 1)
        self.result.restore_point = iso(point)
        self.result.incident_at = iso(datetime.now(UTC))
        self.result.rpo_s = (datetime.now(UTC) - point).total_seconds()
        return point

    def take_backup(self) -> datetime:
        result = self.result
        name = drill_cleanup.drill_name(self.source, datetime.now(UTC))
        self.record.intend_backup(name, self.source, result.started_at)
        backup = self.client.create_backup(TableName=self.source, BackupName=name)
        details = backup["BackupDetails"]
        result.backup_arn, result.backup_origin = details["BackupArn"], "fresh"
        self.record.backup_created(name, result.backup_arn)
        for _ in range(1_000_000):
            status = self.client.describe_backup(BackupArn=result.backup_arn)["BackupDescription"][
                "BackupDetails"
            ]["BackupStatus"]
            if status == "AVAILABLE":
                break
            if status != "CREATING" or self.remaining() <= 0:
                raise DrillFailed(f"backup {result.backup_arn} is {status}, not AVAILABLE")
            self.options.status(f"drill: backup {status}")
            self.pause(POLL_SECONDS)
        return details["BackupCreationDateTime"]

    def await_point(self, point: datetime) -> str:
        """PITR: wait until the latest restorable time reaches the point (bounded)."""
        for _ in range(1_000_000):
            window = settings.pitr_window(self.client, self.source)
            if window is None:
                raise DrillFailed(f"point-in-time recovery was turned off on {self.source}")
            self.result.latest_restorable = iso(window[1])
            if window[1] >= point:
                return f"latest restorable {iso(window[1])} reached the point"
            if self.remaining() <= 0:
                raise DrillFailed(f"timeout: latest restorable {iso(window[1])} < {iso(point)}")
            self.options.status(f"drill: waiting for the restorable window to reach {iso(point)}")
            self.pause(min(POLL_SECONDS, max(0.1, (point - window[1]).total_seconds())))
        raise DrillFailed("the restorable window never reached the point")

    def restore(self, point: datetime) -> None:
        result = self.result
        name = result.drill_table = drill_cleanup.drill_name(self.source, datetime.now(UTC))
        self.record.intend_table(name, self.source, result.started_at)
        self.restore_called = True
        try:
            if self.options.mode == "pitr":
                self.client.restore_table_to_point_in_time(
                    SourceTableName=self.source, TargetTableName=name, RestoreDateTime=point
                )
            else:
                self.client.restore_table_from_backup(
                    TargetTableName=name, BackupArn=result.backup_arn
                )
        except ClientError as exc:
            result.restore_error = str(exc)
            raise
        result.restore_started = True

    def wait_active(self) -> dict[str, Any]:
        name = self.result.drill_table
        for _ in range(1_000_000):
            table = self.client.describe_table(TableName=name)["Table"]
            statuses = [table["TableStatus"]] + [
                g.get("IndexStatus", "ACTIVE") for g in table.get("GlobalSecondaryIndexes", [])
            ]
            if all(s == "ACTIVE" for s in statuses):
                return table
            if self.remaining() <= 0:
                status = table["TableStatus"]
                raise DrillFailed(
                    f"timeout after {self.options.timeout_s:.0f} s: {name} is {status}"
                )
            self.options.status(f"drill: waiting for {name} ({table['TableStatus']})")
            self.pause(POLL_SECONDS)
        raise DrillFailed(f"{name} never became ACTIVE")


def run_drill(
    client: Any,
    source: str,
    options: DrillOptions,
    record: drill_cleanup.DrillRecord,
    writer: CanaryWriter | None = None,
) -> DrillResult:
    """Run every phase; what the drill created is removed at the end unless ``keep``."""
    return Drill(client, source, options, record, writer).run()


def _run(drill: Drill) -> DrillResult:
    """Every phase in order; cleanup always runs (``drill.result`` survives an interrupt)."""
    client, source, options, result = drill.client, drill.source, drill.options, drill.result
    try:
        with drill.phase("point") as step:
            fixed_point, source_desc = drill.find_point()
            step.detail = f"restore point {iso(fixed_point)}" if fixed_point else "set by canaries"
        with drill.phase("canaries") as step:
            point = drill.place_canaries(fixed_point)
            step.detail = (
                f"{len(drill.canaries.before)} before and {len(drill.canaries.after)} after "
                f"the point {result.restore_point}"
            )
        if options.mode == "pitr":
            with drill.phase("await-point") as step:
                step.detail = drill.await_point(point)
        window = compare.PointWindow(
            keys.format_timestamp(point - timedelta(seconds=options.guard_s)),
            keys.format_timestamp(point + timedelta(seconds=options.guard_s)),
            int(drill.started_wall.timestamp()),
            {
                **{log_id: "before" for log_id in drill.canaries.before},
                **{log_id: "after" for log_id in drill.canaries.after},
            },
            future_above=keys.format_timestamp(
                drill.started_wall
                + timedelta(seconds=options.timeout_s + limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS)
            ),
            # --restore-time or an existing backup: items may have been deleted since
            point_chosen_by_user=fixed_point is not None,
        )
        with drill.phase("source-scan") as step:
            scan_started = time.perf_counter()
            source_tally = compare.tally(client, source, window, options.segments, options.threads)
            result.source_scan_s = time.perf_counter() - scan_started
            step.detail = f"{source_tally.scanned} items scanned"
        with drill.phase("restore") as step:
            rto_started = time.perf_counter()
            drill.restore(point)
            step.detail = f"restoring into {result.drill_table}"
        with drill.phase("wait") as step:
            restored_desc = drill.wait_active()
            drill_cleanup.tag_table(
                client, restored_desc["TableArn"], source, result.started_at, timeout=30
            )
            step.detail = "table and indexes ACTIVE, tagged"
        for hook in AFTER_RESTORE_HOOKS:
            hook(client, result.drill_table)
        with drill.phase("validate") as step:
            restored_desc = validation.validate(
                client, result, drill.canaries, source_desc, source_tally, window, options
            )
            result.rto_s = time.perf_counter() - rto_started
            step.detail = f"{result.comparison['restored']['scanned']} items scanned"
        with drill.phase("settings") as step:
            result.not_carried_over = settings.not_carried_over(
                client, source, source_desc, result.drill_table, restored_desc, options.alarm_names
            )
            result.not_reapplicable = settings.not_reapplicable(source_desc, restored_desc)
            step.detail = f"{len(result.not_carried_over)} settings to re-apply after a restore"
    except KeyboardInterrupt:
        result.aborted_by = "SIGINT"
        raise
    except Terminated:
        result.aborted_by = "SIGTERM"
        raise
    except SlsopsError:
        raise
    except Exception as exc:  # any failed step: report it, then clean up
        result.error = f"{type(exc).__name__}: {exc}"
        result.error_from_aws = isinstance(exc, ClientError | BotoCoreError)
    finally:
        with Phase(result, "cleanup", options.status) as step:
            _cleanup(drill)
            step.detail = ", ".join(f"{k}: {v}" for k, v in result.cleanup.items()) or "nothing"
    return result


def _cleanup(drill: Drill) -> None:
    result, options, record = drill.result, drill.options, drill.record
    fresh_backup = result.backup_arn if result.backup_origin == "fresh" else None
    if options.keep:
        result.kept = [n for n in (result.drill_table, fresh_backup) if n]
        for name in result.kept:
            result.cleanup["table" if name == result.drill_table else "backup"] = "kept (--keep)"
        return
    if result.drill_table and drill.restore_called:
        if not result.restore_started:
            _await_interrupted_table(drill)
        try:
            outcome = drill_cleanup.delete_drill_table(
                drill.client,
                result.drill_table,
                drill.source,
                wait_seconds=min(600.0, options.timeout_s),
            )
            if outcome == "gone" and not result.restore_started:
                outcome = "not created yet: recorded for `slsops drill cleanup`"
        except Exception as exc:  # still recorded: `slsops drill cleanup` will retry
            outcome = f"not deleted ({type(exc).__name__}: {exc}); run `slsops drill cleanup`"
        result.cleanup["table"] = outcome
        if outcome in drill_cleanup.DONE:
            record.forget_table(result.drill_table)
    if fresh_backup:
        try:
            result.cleanup["backup"] = drill_cleanup.delete_backup(drill.client, fresh_backup)
            name = next(
                (n for n, e in record.load()["backups"].items() if e.get("arn") == fresh_backup),
                None,
            )
            if name:
                record.forget_backup(name)
        except Exception as exc:
            result.cleanup["backup"] = (
                f"not deleted ({type(exc).__name__}); run `slsops drill cleanup`"
            )


def _await_interrupted_table(drill: Drill) -> None:
    """The restore call was cut short: give AWS a moment to show the table it may have made."""
    deadline = time.monotonic() + INTERRUPTED_GRACE_S
    while time.monotonic() < deadline:
        try:
            drill.client.describe_table(TableName=drill.result.drill_table)
            return
        except ClientError:
            time.sleep(0.5)
