"""Drill tables and backups: how they are named, recorded, tagged and removed.

A drill table is ``<source>-drill-<UTC stamp>-<6 random hex digits>`` (two drills started in
one second get two names); drill backups are named the same way. The drill writes its intent
(the table or backup name) to a record file next to the stack file (``<stack dir>/drills.json``,
changed under an exclusive lock on ``drills.json.lock``, so drills running at the same time in
several processes lose no entry) *before* the call that creates it, and tags a table
``slsops:drill`` = ``<source>`` as soon as AWS lets it. ``slsops drill cleanup`` finds
leftovers by that record or that tag only, never by name: a table or backup a person made is
never touched, whatever its name. (DynamoDB backups carry no tags, so backups are found by
record only.) A recorded intent whose resource never appeared is forgotten once it is older
than ``INTENT_EXPIRY_S``: the create call was cut short before AWS took it.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from slsops import file_lock
from slsops.contract.numbers import INTENT_EXPIRY_S
from slsops.framework.formats import write_atomically

TAG_DRILL = "slsops:drill"
TAG_STARTED = "slsops:drill-started"
RECORD_NAME = "drills.json"
POLL_SECONDS = 2.0
DONE = frozenset({"deleted", "gone", "deleting", "never created"})


def drill_name(source: str, moment: datetime) -> str:
    return f"{source}-drill-{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def is_drill_name(name: str, source: str) -> bool:
    prefix = f"{source}-drill-"
    return name.startswith(prefix) and len(name) > len(prefix) and name != source


def drill_tags(source: str, started: str) -> list[dict[str, str]]:
    return [{"Key": TAG_DRILL, "Value": source}, {"Key": TAG_STARTED, "Value": started}]


class DrillRecord:
    """The record file of drill tables and backups not yet confirmed deleted."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, stack_path: Path) -> DrillRecord:
        return cls(Path(stack_path).parent / RECORD_NAME)

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return {
            "tables": dict(data.get("tables") or {}),
            "backups": dict(data.get("backups") or {}),
        }

    def _update(self, kind: str, name: str, entry: dict[str, Any] | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock.exclusive(self.path.with_name(self.path.name + ".lock")):
            data = self.load()
            if entry is None:
                data[kind].pop(name, None)
            else:
                data[kind][name] = {**data[kind].get(name, {}), **entry}
            write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def intend_table(self, name: str, source: str, started: str) -> None:
        """Before the restore call: the table may exist even if the call never returns."""
        self._update(
            "tables", name, {"source": source, "started_at": started, "recorded_at": time.time()}
        )

    def intend_backup(self, name: str, source: str, started: str) -> None:
        """Before CreateBackup; ``backup_created`` adds the ARN once AWS answered."""
        self._update(
            "backups", name, {"source": source, "started_at": started, "recorded_at": time.time()}
        )

    def backup_created(self, name: str, arn: str) -> None:
        self._update("backups", name, {"arn": arn})

    def forget_table(self, name: str) -> None:
        self._update("tables", name, None)

    def forget_backup(self, name: str) -> None:
        self._update("backups", name, None)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def tag_table(client: Any, arn: str, source: str, started: str, timeout: float = 60.0) -> bool:
    """Tag a drill table; retried while AWS still refuses it (table CREATING)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.tag_resource(ResourceArn=arn, Tags=drill_tags(source, started))
            return True
        except ClientError as exc:
            if _code(exc) not in ("ResourceInUseException", "ResourceNotFoundException"):
                raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)


def delete_drill_table(client: Any, name: str, source: str, wait_seconds: float = 600.0) -> str:
    """Delete a drill table once it can be deleted; say what happened.

    Waits (bounded) while the table is CREATING or UPDATING, as AWS refuses to delete it then.
    """
    if not is_drill_name(name, source):
        raise ValueError(f"refusing to delete {name!r}: not a drill table of {source!r}")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            status = client.describe_table(TableName=name)["Table"]["TableStatus"]
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return "gone"
            raise
        if status == "DELETING":
            return "deleting"
        if status in ("ACTIVE", "INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVED"):
            try:
                client.delete_table(TableName=name)
                return "deleted"
            except ClientError as exc:
                if _code(exc) == "ResourceNotFoundException":
                    return "gone"
                if _code(exc) != "ResourceInUseException":
                    raise
        if time.monotonic() >= deadline:
            return f"left in {status}: run `slsops drill cleanup` later"
        time.sleep(POLL_SECONDS)


def delete_backup(client: Any, arn: str) -> str:
    try:
        client.delete_backup(BackupArn=arn)
        return "deleted"
    except ClientError as exc:
        if _code(exc) in ("BackupNotFoundException", "ResourceNotFoundException"):
            return "gone"
        raise


def _table_exists(client: Any, name: str) -> bool:
    try:
        client.describe_table(TableName=name)
        return True
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return False
        raise


def _tagged_tables(client: Any, source: str) -> list[str]:
    """Tables carrying this source's drill tag (every table's tags are read, names ignored)."""
    names, start = [], None
    for _ in range(100_000):
        params: dict[str, Any] = {"ExclusiveStartTableName": start} if start else {}
        page = client.list_tables(**params)
        for name in page.get("TableNames", []):
            if name == source:
                continue
            try:
                arn = client.describe_table(TableName=name)["Table"]["TableArn"]
                tags = client.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
            except ClientError:
                continue
            if any(t.get("Key") == TAG_DRILL and t.get("Value") == source for t in tags):
                names.append(name)
        start = page.get("LastEvaluatedTableName")
        if not start:
            break
    return names


def _backup_named(client: Any, source: str, name: str) -> str | None:
    """The ARN of the backup of ``source`` whose name is exactly the recorded intent."""
    start = None
    for _ in range(100_000):
        params: dict[str, Any] = {"TableName": source, "BackupType": "USER"}
        if start:
            params["ExclusiveStartBackupArn"] = start
        page = client.list_backups(**params)
        for summary in page.get("BackupSummaries", []):
            if summary.get("BackupName") == name:
                return str(summary["BackupArn"])
        start = page.get("LastEvaluatedBackupArn")
        if not start:
            return None
    return None


def _expired_intent(entry: dict[str, Any]) -> bool:
    return time.time() - float(entry.get("recorded_at") or 0) > INTENT_EXPIRY_S


def leftovers(client: Any, source: str, record: DrillRecord) -> dict[str, dict[str, str]]:
    """What cleanup would act on: {"tables": {name: why}, "backups": {name: arn or why}}."""
    data = record.load()
    found: dict[str, dict[str, str]] = {"tables": {}, "backups": {}}
    for name, entry in data["tables"].items():
        if entry.get("source") == source:
            found["tables"][name] = "recorded"
    for name in _tagged_tables(client, source):
        found["tables"].setdefault(name, "tagged")
    for name, entry in data["backups"].items():
        if entry.get("source") == source:
            found["backups"][name] = entry.get("arn") or "recorded intent"
    return found


def cleanup(
    client: Any,
    source: str,
    record: DrillRecord,
    wait_seconds: float = 600.0,
    dry_run: bool = False,
) -> dict[str, dict[str, str]]:
    """Remove recorded or tagged drill tables and recorded drill backups of ``source``."""
    data = record.load()
    found = leftovers(client, source, record)
    outcome: dict[str, dict[str, str]] = {"tables": {}, "backups": {}}
    for name, why in sorted(found["tables"].items()):
        if not is_drill_name(name, source):
            outcome["tables"][name] = f"{why} but not named as a drill table: left alone"
            continue
        if dry_run:
            outcome["tables"][name] = f"would delete ({why})"
            continue
        entry = data["tables"].get(name, {})
        if why == "recorded" and not _table_exists(client, name) and not _expired_intent(entry):
            outcome["tables"][name] = "not created yet: run `slsops drill cleanup` again later"
            continue
        result = delete_drill_table(client, name, source, wait_seconds)
        if result == "gone" and why == "recorded":
            result = "never created" if _expired_intent(entry) else "gone"
        outcome["tables"][name] = result
        if result in DONE:
            record.forget_table(name)
    for name in sorted(found["backups"]):
        entry = data["backups"].get(name, {})
        arn = entry.get("arn") or _backup_named(client, source, name)
        label = arn or name
        if dry_run:
            outcome["backups"][label] = "would delete (recorded)" if arn else "recorded intent"
            continue
        if arn is None:
            result = "never created" if _expired_intent(entry) else "not created yet"
        else:
            result = delete_backup(client, arn)
        outcome["backups"][label] = result
        if result in DONE:
            record.forget_backup(name)
    return outcome
