"""The restore drill: timed steps from "what did the source hold" to "the copy is gone".

Steps: ``point`` (restore point and PITR window), ``record`` (source fingerprint),
``restore`` (start it: point in time, or on-demand backup then restore), ``wait`` (until the
table and its indexes are ACTIVE, with a timeout), ``validate`` (schema and indexes, count and
checksum, a sample read through the index), ``settings`` (what a restore does not carry over),
``cleanup`` (always, also on failure, timeout and Ctrl-C, unless ``--keep``). The source table
is only read: DescribeTable, DescribeContinuousBackups, Scan, and CreateBackup of it in backup
mode; the only deletes are of ``<source>-drill-*`` tables and drill backups.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from log_service import keys
from slsops.drill import cleanup as drill_cleanup
from slsops.drill.checksum import Fingerprint, Predicate, canonical_item, fingerprint
from slsops.errors import SlsopsError, UsageError

RTO_OBJECTIVE_S = 3600.0
RPO_OBJECTIVE_S = 300.0
DEFAULT_GUARD_S = 60.0
DEFAULT_TIMEOUT_S = 3600.0
POLL_SECONDS = 2.0

# Called with (client, drill table name) once the restored table is ACTIVE, before it is
# validated. Empty in normal runs; tests put fault injections here.
AFTER_RESTORE_HOOKS: list[Callable[[Any, str], None]] = []


class DrillFailed(Exception):
    """A step could not complete; the drill reports it and cleans up."""


@dataclass
class DrillOptions:
    mode: str  # "pitr" | "backup"
    restore_time: datetime | None
    timeout_s: float
    keep: bool
    guard_s: float
    segments: int
    threads: int
    index_name: str
    alarm_names: list[str] = field(default_factory=list)
    status: Callable[[str], None] = lambda _text: None


@dataclass
class Step:
    name: str
    started_at: str
    duration_s: float
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "ok": self.ok,
            "detail": self.detail,
        }


@dataclass
class DrillResult:
    mode: str
    source_table: str
    started_at: str
    drill_table: str | None = None
    backup_arn: str | None = None
    restore_point: str | None = None
    earliest_restorable: str | None = None
    latest_restorable: str | None = None
    predicate: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    source: Fingerprint | None = None
    restored: Fingerprint | None = None
    restore_started: bool = False
    restore_error: str | None = None
    schema_differences: list[str] | None = None
    encryption: dict[str, Any] = field(default_factory=dict)
    index_reads: dict[str, Any] = field(default_factory=dict)
    not_carried_over: list[dict[str, str]] = field(default_factory=list)
    rto_s: float | None = None
    rpo_s: float | None = None
    cleanup: dict[str, str] = field(default_factory=dict)
    kept: bool = False
    error: str | None = None
    # True when the step that stopped the drill was an AWS call that failed: the checks that
    # needed it report ERROR (could not tell), not FAIL (the restore was wrong).
    error_from_aws: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "source_table": self.source_table,
            "drill_table": self.drill_table,
            "backup_arn": self.backup_arn,
            "started_at": self.started_at,
            "restore_point": self.restore_point,
            "restorable_window": [self.earliest_restorable, self.latest_restorable],
            "predicate": self.predicate,
            "steps": [s.as_dict() for s in self.steps],
            "source": self.source.as_dict() if self.source else None,
            "restored": self.restored.as_dict() if self.restored else None,
            "schema_differences": self.schema_differences,
            "encryption": self.encryption,
            "index_reads": self.index_reads,
            "not_carried_over": self.not_carried_over,
            "rto_s": None if self.rto_s is None else round(self.rto_s, 3),
            "rpo_s": None if self.rpo_s is None else round(self.rpo_s, 3),
            "objectives": {"rto_s": RTO_OBJECTIVE_S, "rpo_s": RPO_OBJECTIVE_S},
            "cleanup": self.cleanup,
            "kept": self.kept,
            "error": self.error,
        }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_restore_time(text: str | None) -> datetime | None:
    """``--restore-time``: ISO 8601 (``Z`` or an offset; naive means UTC) or epoch seconds."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--restore-time {text!r} is not ISO 8601 (2026-01-31T12:00:00Z) or epoch seconds"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Timer:
    """Context manager that appends a timed Step to the result."""

    def __init__(self, result: DrillResult, name: str, status: Callable[[str], None]) -> None:
        self.result, self.name, self.status = result, name, status
        self.detail = ""

    def __enter__(self) -> _Timer:
        self.started_wall = datetime.now(UTC)
        self.started = time.perf_counter()
        self.status(f"drill: {self.name}")
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
        detail = self.detail if exc is None else f"{type(exc).__name__}: {exc}"
        self.result.steps.append(
            Step(
                self.name,
                iso(self.started_wall),
                time.perf_counter() - self.started,
                exc is None,
                detail,
            )
        )


def run_drill(
    client: Any, source: str, options: DrillOptions, record: drill_cleanup.DrillRecord
) -> DrillResult:
    """Run every step; the drill table (and backup) are removed at the end unless ``keep``."""
    started_wall = datetime.now(UTC)
    started = time.perf_counter()
    result = DrillResult(options.mode, source, iso(started_wall))
    now_epoch = int(started_wall.timestamp())
    try:
        with _Timer(result, "point", options.status) as step:
            point, source_desc = _restore_point(client, source, options, result, started_wall)
            step.detail = f"restore point {result.restore_point}"
        with _Timer(result, "record", options.status) as step:
            predicate = Predicate(
                keys.format_timestamp(point - timedelta(seconds=options.guard_s)), now_epoch
            )
            result.predicate = {
                "ingested_at_at_most": predicate.cutoff,
                "expires_at_after": now_epoch,
                "markers": "excluded",
            }
            result.source = fingerprint(
                client, source, predicate, options.segments, options.threads
            )
            step.detail = f"{result.source.count} items, checksum {result.source.checksum_hex[:16]}"
        with _Timer(result, "restore", options.status) as step:
            result.drill_table = drill_cleanup.drill_name(source, datetime.now(UTC))
            _start_restore(client, source, point, options, result, record, started)
            step.detail = f"restoring into {result.drill_table}"
        with _Timer(result, "wait", options.status) as step:
            restored_desc = _wait_active(client, result.drill_table, options, started)
            drill_cleanup.tag_table(
                client, restored_desc["TableArn"], source, result.started_at, timeout=30
            )
            step.detail = "table and indexes ACTIVE"
        for hook in AFTER_RESTORE_HOOKS:
            hook(client, result.drill_table)
        with _Timer(result, "validate", options.status) as step:
            restored_desc = client.describe_table(TableName=result.drill_table)["Table"]
            result.schema_differences = schema_differences(source_desc, restored_desc)
            result.encryption = {
                "source": _sse(source_desc),
                "restored": _sse(restored_desc),
            }
            result.restored = fingerprint(
                client, result.drill_table, predicate, options.segments, options.threads
            )
            result.index_reads = _index_reads(client, result.drill_table, options, result.source)
            result.rto_s = time.perf_counter() - started
            step.detail = (
                f"{result.restored.count} items, checksum {result.restored.checksum_hex[:16]}"
            )
        with _Timer(result, "settings", options.status) as step:
            result.not_carried_over = not_carried_over(
                client, source, source_desc, result.drill_table, restored_desc, options
            )
            step.detail = f"{len(result.not_carried_over)} settings to re-apply after a restore"
    except (SlsopsError, KeyboardInterrupt):
        raise
    except Exception as exc:  # any failed step: report it, then clean up
        result.error = f"{type(exc).__name__}: {exc}"
        result.error_from_aws = isinstance(exc, ClientError | BotoCoreError)
    finally:
        with _Timer(result, "cleanup", options.status) as step:
            _cleanup(client, source, options, result, record)
            step.detail = ", ".join(f"{k}: {v}" for k, v in result.cleanup.items()) or "nothing"
    return result


def _pitr_window(client: Any, source: str) -> tuple[datetime, datetime] | None:
    answer = client.describe_continuous_backups(TableName=source)
    pitr = (answer.get("ContinuousBackupsDescription") or {}).get(
        "PointInTimeRecoveryDescription"
    ) or {}
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        return None
    return pitr["EarliestRestorableDateTime"], pitr["LatestRestorableDateTime"]


def _restore_point(
    client: Any, source: str, options: DrillOptions, result: DrillResult, started: datetime
) -> tuple[datetime, dict[str, Any]]:
    source_desc = client.describe_table(TableName=source)["Table"]
    window = _pitr_window(client, source)
    if window is not None:
        earliest, latest = window
        result.earliest_restorable, result.latest_restorable = iso(earliest), iso(latest)
        result.rpo_s = max(0.0, (started - latest).total_seconds())
    if options.mode == "backup":
        if options.restore_time is not None:
            raise UsageError("--restore-time applies to --mode pitr only")
        point = started  # the backup is taken after the record: it holds at least this
    else:
        if window is None:
            raise DrillFailed(f"point-in-time recovery is not enabled on {source}")
        point = options.restore_time or window[1]
        if not window[0] <= point <= window[1]:
            raise UsageError(
                f"--restore-time {iso(point)} is outside the restorable window "
                f"[{iso(window[0])}, {iso(window[1])}]"
            )
    result.restore_point = iso(point)
    return point, source_desc


def _remaining(options: DrillOptions, started: float) -> float:
    return options.timeout_s - (time.perf_counter() - started)


def _start_restore(
    client: Any,
    source: str,
    point: datetime,
    options: DrillOptions,
    result: DrillResult,
    record: drill_cleanup.DrillRecord,
    started: float,
) -> None:
    name = result.drill_table or ""
    record.add_table(name, source, result.started_at)
    if options.mode == "pitr":
        try:
            client.restore_table_to_point_in_time(
                SourceTableName=source, TargetTableName=name, RestoreDateTime=point
            )
        except ClientError as exc:
            result.restore_error = str(exc)
            raise
        result.restore_started = True
        return
    backup = client.create_backup(TableName=source, BackupName=name)["BackupDetails"]
    result.backup_arn = backup["BackupArn"]
    record.add_backup(result.backup_arn, source, result.started_at)
    for _ in range(1_000_000):
        status = client.describe_backup(BackupArn=result.backup_arn)["BackupDescription"][
            "BackupDetails"
        ]["BackupStatus"]
        if status == "AVAILABLE":
            break
        if status != "CREATING" or _remaining(options, started) <= 0:
            raise DrillFailed(f"backup {result.backup_arn} is {status}, not AVAILABLE")
        options.status(f"drill: backup {status}")
        time.sleep(POLL_SECONDS)
    try:
        client.restore_table_from_backup(TargetTableName=name, BackupArn=result.backup_arn)
    except ClientError as exc:
        result.restore_error = str(exc)
        raise
    result.restore_started = True


def _wait_active(client: Any, name: str, options: DrillOptions, started: float) -> dict[str, Any]:
    for _ in range(1_000_000):
        table = client.describe_table(TableName=name)["Table"]
        statuses = [table["TableStatus"]] + [
            g.get("IndexStatus", "ACTIVE") for g in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(s == "ACTIVE" for s in statuses):
            return table
        if _remaining(options, started) <= 0:
            raise DrillFailed(
                f"timeout after {options.timeout_s:.0f} s: {name} is {table['TableStatus']}"
            )
        options.status(f"drill: waiting for {name} ({table['TableStatus']})")
        time.sleep(POLL_SECONDS)
    raise DrillFailed(f"{name} never became ACTIVE")


def _key_schema(desc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in desc.get("KeySchema", [])]


def _indexes(desc: dict[str, Any], field_name: str) -> dict[str, Any]:
    return {
        i["IndexName"]: {
            "keys": _key_schema(i),
            "projection": (i.get("Projection") or {}).get("ProjectionType"),
            "non_key": sorted((i.get("Projection") or {}).get("NonKeyAttributes", [])),
        }
        for i in desc.get(field_name, []) or []
    }


def schema_differences(source: dict[str, Any], restored: dict[str, Any]) -> list[str]:
    """What differs in keys, attribute definitions and indexes (empty when equal)."""
    differences = []
    if _key_schema(source) != _key_schema(restored):
        differences.append(f"key schema {_key_schema(source)} != {_key_schema(restored)}")

    def attributes(desc: dict[str, Any]) -> set[tuple[str, str]]:
        return {
            (a["AttributeName"], a["AttributeType"]) for a in desc.get("AttributeDefinitions", [])
        }

    if attributes(source) != attributes(restored):
        differences.append("attribute definitions differ")
    for field_name in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        want, got = _indexes(source, field_name), _indexes(restored, field_name)
        for name in sorted(set(want) | set(got)):
            if want.get(name) != got.get(name):
                differences.append(f"{field_name} {name}: {want.get(name)} != {got.get(name)}")
    return differences


def _sse(desc: dict[str, Any]) -> dict[str, Any]:
    sse = desc.get("SSEDescription") or {}
    return {
        "status": sse.get("Status"),
        "type": sse.get("SSEType"),
        "key": sse.get("KMSMasterKeyArn"),
    }


def _index_reads(
    client: Any, table: str, options: DrillOptions, source: Fingerprint | None
) -> dict[str, Any]:
    """Read the sampled source items back through the restored table's index."""
    sample = (source.sample if source else [])[:8]
    missing, differing = [], []
    for item in sample:
        shard = (item.get(keys.INDEX_PARTITION_KEY) or {}).get("N")
        sort_key = (item.get(keys.SORT_KEY) or {}).get("S")
        if shard is None or sort_key is None:
            continue
        page = client.query(
            TableName=table,
            IndexName=options.index_name,
            KeyConditionExpression="#p = :p AND #s = :s",
            ExpressionAttributeNames={"#p": keys.INDEX_PARTITION_KEY, "#s": keys.INDEX_SORT_KEY},
            ExpressionAttributeValues={":p": {"N": shard}, ":s": {"S": sort_key}},
        )
        partition = item[keys.PARTITION_KEY]["S"]
        found = [i for i in page.get("Items", []) if i[keys.PARTITION_KEY]["S"] == partition]
        key = f"{partition}/{sort_key}"
        if not found:
            missing.append(key)
        elif canonical_item(found[0]) != canonical_item(item):
            differing.append(key)
    return {"checked": len(sample), "missing": missing, "differing": differing}


# What AWS never carries over to a restored table, and how the runbook re-applies it.
ALWAYS_REAPPLY = (
    ("CloudWatch alarms", "alarms name the table: point them at the restored table (infra/ apply)"),
    ("Auto scaling", "re-register scalable targets and policies (on-demand tables: none)"),
    ("IAM policies", "policies name the table ARN: restore under the original name or update them"),
)


def not_carried_over(
    client: Any,
    source: str,
    source_desc: dict[str, Any],
    restored: str,
    restored_desc: dict[str, Any],
    options: DrillOptions,
) -> list[dict[str, str]]:
    """Settings the source has that the restored table lacks, and what re-applies them."""
    found: list[dict[str, str]] = []

    def pitr_status(name: str) -> str:
        try:
            return "ENABLED" if _pitr_window(client, name) else "DISABLED"
        except ClientError:  # not allowed to look: say it must be re-applied
            return "UNKNOWN"

    def ttl_of(name: str) -> dict[str, Any]:
        try:
            return client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        except ClientError:
            return {}

    if pitr_status(source) != "DISABLED" and pitr_status(restored) != "ENABLED":
        found.append(
            {
                "setting": "Point-in-time recovery",
                "reapply": f"aws dynamodb update-continuous-backups --table-name {restored} "
                "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
            }
        )
    if source_desc.get("DeletionProtectionEnabled") and not restored_desc.get(
        "DeletionProtectionEnabled"
    ):
        found.append(
            {
                "setting": "Deletion protection",
                "reapply": f"aws dynamodb update-table --table-name {restored} "
                "--deletion-protection-enabled",
            }
        )
    ttl_source, ttl_restored = ttl_of(source), ttl_of(restored)
    if ttl_source.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl_restored.get(
        "TimeToLiveStatus"
    ) not in ("ENABLED", "ENABLING"):
        found.append(
            {
                "setting": f"Time to live ({ttl_source.get('AttributeName')})",
                "reapply": f"aws dynamodb update-time-to-live --table-name {restored} "
                "--time-to-live-specification "
                f"Enabled=true,AttributeName={ttl_source.get('AttributeName')}",
            }
        )
    source_tags = _tags(client, source_desc["TableArn"])
    restored_tags = _tags(client, restored_desc["TableArn"])
    lost = {k: v for k, v in source_tags.items() if restored_tags.get(k) != v}
    if lost:
        found.append(
            {
                "setting": f"Tags ({', '.join(sorted(lost))})",
                "reapply": "aws dynamodb tag-resource --resource-arn <restored table ARN> --tags "
                + " ".join(f"Key={k},Value={v}" for k, v in sorted(lost.items())),
            }
        )
    stream = (source_desc.get("StreamSpecification") or {}).get("StreamEnabled")
    if stream and not (restored_desc.get("StreamSpecification") or {}).get("StreamEnabled"):
        view = source_desc["StreamSpecification"].get("StreamViewType", "NEW_AND_OLD_IMAGES")
        found.append(
            {
                "setting": "DynamoDB stream",
                "reapply": f"aws dynamodb update-table --table-name {restored} "
                f"--stream-specification StreamEnabled=true,StreamViewType={view}",
            }
        )
    alarms = ", ".join(options.alarm_names) or "the table's alarms"
    for setting, reapply in ALWAYS_REAPPLY:
        detail = f"{reapply} ({alarms})" if setting == "CloudWatch alarms" else reapply
        found.append({"setting": setting, "reapply": detail})
    return found


def _tags(client: Any, arn: str) -> dict[str, str]:
    try:
        tags = client.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
    except ClientError:
        return {}
    return {
        t["Key"]: t["Value"]
        for t in tags
        if t["Key"] not in (drill_cleanup.TAG_DRILL, drill_cleanup.TAG_STARTED)
    }


def _cleanup(
    client: Any,
    source: str,
    options: DrillOptions,
    result: DrillResult,
    record: drill_cleanup.DrillRecord,
) -> None:
    if options.keep:
        result.kept = True
        if result.drill_table:
            result.cleanup["table"] = "kept (--keep)"
        return
    if result.drill_table:
        try:
            outcome = drill_cleanup.delete_drill_table(
                client, result.drill_table, source, wait_seconds=min(600.0, options.timeout_s)
            )
        except Exception as exc:  # still recorded: `slsops drill cleanup` will retry
            outcome = f"not deleted ({type(exc).__name__}: {exc}); run `slsops drill cleanup`"
        result.cleanup["table"] = outcome
        if outcome in ("deleted", "gone", "deleting"):
            record.forget_table(result.drill_table)
    if result.backup_arn:
        try:
            result.cleanup["backup"] = drill_cleanup.delete_backup(client, result.backup_arn)
            record.forget_backup(result.backup_arn)
        except Exception as exc:
            result.cleanup["backup"] = (
                f"not deleted ({type(exc).__name__}); run `slsops drill cleanup`"
            )
