"""Drill tables and backups: how they are named, tagged, recorded and removed.

A drill table is ``<source>-drill-<UTC stamp>`` and carries the tag ``slsops:drill`` =
``<source>``; drill backups are named the same way. Each drill also writes what it created to
a record file next to the stack file (``<stack dir>/drills.json``), so ``slsops drill cleanup``
finds leftovers even after a crash, a Ctrl-C, or on AWS a table still CREATING when the drill
ended (it cannot be deleted before it is ACTIVE). Nothing here ever deletes a table whose name
is not ``<source>-drill-...``: the source table is never touched.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from slsops.checks.formats import write_atomically

TAG_DRILL = "slsops:drill"
TAG_STARTED = "slsops:drill-started"
RECORD_NAME = "drills.json"
POLL_SECONDS = 2.0

_record_lock = threading.Lock()


def drill_name(source: str, moment: datetime) -> str:
    return f"{source}-drill-{moment.strftime('%Y%m%dT%H%M%SZ')}"


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
        with _record_lock:
            data = self.load()
            if entry is None:
                data[kind].pop(name, None)
            else:
                data[kind][name] = entry
            write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def add_table(self, name: str, source: str, started: str) -> None:
        self._update("tables", name, {"source": source, "started_at": started})

    def add_backup(self, arn: str, source: str, started: str) -> None:
        self._update("backups", arn, {"source": source, "started_at": started})

    def forget_table(self, name: str) -> None:
        self._update("tables", name, None)

    def forget_backup(self, arn: str) -> None:
        self._update("backups", arn, None)


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


def _drill_tables(client: Any, source: str) -> list[str]:
    names, start = [], None
    for _ in range(100_000):
        params: dict[str, Any] = {"ExclusiveStartTableName": start} if start else {}
        page = client.list_tables(**params)
        names.extend(n for n in page.get("TableNames", []) if is_drill_name(n, source))
        start = page.get("LastEvaluatedTableName")
        if not start:
            break
    return names


def _tagged_for(client: Any, name: str, source: str) -> bool:
    try:
        arn = client.describe_table(TableName=name)["Table"]["TableArn"]
        tags = client.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
    except ClientError:
        return False
    return any(t.get("Key") == TAG_DRILL and t.get("Value") == source for t in tags)


def _drill_backups(client: Any, source: str) -> list[str]:
    arns, start = [], None
    for _ in range(100_000):
        params: dict[str, Any] = {"TableName": source, "BackupType": "USER"}
        if start:
            params["ExclusiveStartBackupArn"] = start
        page = client.list_backups(**params)
        arns.extend(
            b["BackupArn"]
            for b in page.get("BackupSummaries", [])
            if is_drill_name(b.get("BackupName", ""), source)
        )
        start = page.get("LastEvaluatedBackupArn")
        if not start:
            break
    return arns


def cleanup(client: Any, source: str, record: DrillRecord, wait_seconds: float = 600.0) -> dict:
    """Remove leftover drill tables (recorded, or named and tagged as such) and drill backups."""
    data = record.load()
    recorded = {n for n, e in data["tables"].items() if e.get("source") == source}
    tables = sorted(
        recorded | {n for n in _drill_tables(client, source) if _tagged_for(client, n, source)}
    )
    outcome: dict[str, dict[str, str]] = {"tables": {}, "backups": {}}
    for name in tables:
        if not is_drill_name(name, source):
            continue
        result = delete_drill_table(client, name, source, wait_seconds)
        outcome["tables"][name] = result
        if result in ("deleted", "gone", "deleting"):
            record.forget_table(name)
    backups = sorted(
        {a for a, e in data["backups"].items() if e.get("source") == source}
        | set(_drill_backups(client, source))
    )
    for arn in backups:
        outcome["backups"][arn] = delete_backup(client, arn)
        record.forget_backup(arn)
    return outcome
