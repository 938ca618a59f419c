"""Canary entries that prove a restore went to the point it claims, not to "now" or elsewhere.

The drill writes entries of its own under the reserved service ``slsops-drill``
(``log_service.keys.DRILL_SERVICE``) through the real write path: ``POST /logs`` signed as the
ingest role. Some are written before the restore point and one after it; the restored table
must hold exactly the first ones (entry and idempotency marker, identical to the source's) and
neither the entry nor the marker of the last one. A copy of the table as it is now holds the
after-canary; a restore to an earlier time lacks the before-canaries. Entries cannot be changed
or deleted through the API (a replay with other content is refused), so there is no change of
an existing entry to make after the point. Canaries expire after one day (``retention_days``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from log_service import keys
from slsops.drill.checksum import item_hash

BEFORE_COUNT = 3
RETENTION_DAYS = 1
NO_CHANGE_REASON = "none made: the API cannot change or delete a stored entry"


class CanaryWriteFailed(Exception):
    """The write path refused a canary: the drill cannot prove its point."""


class CanaryWriter(Protocol):
    """Writes canary entries through a write path; ``identity`` names who wrote them."""

    identity: str

    def write(self, entries: list[dict[str, Any]]) -> None: ...


class ApiCanaryWriter:
    """``POST /logs`` signed as the ingest role (the path every client's write takes)."""

    def __init__(self, stack: Any) -> None:
        from slsops.deployment.api_client import LogApiClient, assume_role

        credentials = assume_role(stack, "ingest", session_name="slsops-drill")
        self.identity = str(credentials.assumed_role_arn or "ingest role")
        self.api = LogApiClient(stack, credentials)

    def write(self, entries: list[dict[str, Any]]) -> None:
        response = self.api.post_logs({"logs": entries})
        if response.status_code != 201:
            raise CanaryWriteFailed(
                f"POST /logs answered {response.status_code}: {response.text[:200]}"
            )


@dataclass
class Canaries:
    """The drill's canaries: log ids before and after the point."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)

    def entries(self, phase: str, count: int) -> list[dict[str, Any]]:
        ids = [f"drill-{self.run_id}-{phase}-{i}" for i in range(count)]
        getattr(self, phase).extend(ids)
        return [
            {
                "service_name": keys.DRILL_SERVICE,
                "level": "INFO",
                "message": f"restore drill canary ({phase} the restore point)",
                "log_id": log_id,
                "retention_days": RETENTION_DAYS,
                "metadata": {"drill": self.run_id, "phase": phase},
            }
            for log_id in ids
        ]


def _one(client: Any, table: str, partition: str, sort_key: str) -> Any:
    """The item under (partition, sort key), or None: a strongly consistent Query (the drill
    policy grants Query, not GetItem, on the source)."""
    page = client.query(
        TableName=table,
        KeyConditionExpression="#p = :p AND #s = :s",
        ExpressionAttributeNames={"#p": keys.PARTITION_KEY, "#s": keys.SORT_KEY},
        ExpressionAttributeValues={":p": {"S": partition}, ":s": {"S": sort_key}},
        ConsistentRead=True,
    )
    found = page.get("Items") or []
    return found[0] if found else None


def _entry_and_marker(client: Any, table: str, log_id: str) -> tuple[Any, Any]:
    """(entry, marker) of ``log_id`` in ``table`` (None where absent)."""
    marker_key = keys.marker_key(log_id)
    marker = _one(client, table, marker_key[keys.PARTITION_KEY], marker_key[keys.SORT_KEY])
    if marker is None:
        page = client.query(
            TableName=table,
            KeyConditionExpression="#p = :p",
            FilterExpression="log_id = :id",
            ExpressionAttributeNames={"#p": keys.PARTITION_KEY},
            ExpressionAttributeValues={":p": {"S": keys.DRILL_SERVICE}, ":id": {"S": log_id}},
            ConsistentRead=True,
        )
        found = page.get("Items") or []
        return (found[0] if found else None), None
    entry = _one(client, table, marker["entry_service"]["S"], marker["entry_sk"]["S"])
    return entry, marker


def _state(item: Any, reference: Any) -> str:
    if item is None:
        return "absent"
    if reference is None:
        return "present"
    return "identical" if item_hash(item) == item_hash(reference) else "differs"


def verify(client: Any, source: str, restored: str, canaries: Canaries) -> dict[str, Any]:
    """Compare each canary in the restored table with the source's copy of it."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for phase, log_ids in (("before", canaries.before), ("after", canaries.after)):
        for log_id in log_ids:
            entry_s, marker_s = _entry_and_marker(client, source, log_id)
            entry_r, marker_r = _entry_and_marker(client, restored, log_id)
            row = {
                "log_id": log_id,
                "phase": phase,
                "source": "present" if entry_s and marker_s else "incomplete",
                "entry": _state(entry_r, entry_s),
                "marker": _state(marker_r, marker_s),
            }
            rows.append(row)
            if phase == "before":
                for part in ("entry", "marker"):
                    if row[part] != "identical":
                        problems.append(f"{log_id} (before the point): {part} {row[part]}")
            else:
                for part in ("entry", "marker"):
                    if row[part] != "absent":
                        problems.append(f"{log_id} (after the point): {part} present")
    return {
        "run_id": canaries.run_id,
        "service_name": keys.DRILL_SERVICE,
        "canaries": rows,
        "problems": problems,
        "change_after_point": NO_CHANGE_REASON,
    }
