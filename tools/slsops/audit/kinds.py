"""The kinds of violation the audit reports, each under its AUD-* check id.

One stored item can break several rules; each broken rule is one ``Violation`` of one ``Kind``.
The kind names the check that reports it, so the per-item rules (``rules``), the rules across
items (``relation``) and the report agree on one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kind:
    """One kind of violation: its check id in the report, title and remediation.

    ``warn`` kinds report WARN, not FAIL (a state the service can leave behind and repair);
    ``index`` kinds need the live index, which an export does not hold; ``content`` kinds
    need the log items' content hashes, which only the scan computes.
    """

    name: str
    check_id: str
    title: str
    remediation: str
    warn: bool = False
    index: bool = False
    content: bool = False


_FIX_ITEM = (
    "Find the writer from the item's ingested_at and the ingest function's logs; fix it, then "
    "rewrite or delete the listed items (runbooks/integrity-audit-found-violations.md)."
)

KINDS: tuple[Kind, ...] = (
    Kind("missing_attribute", "AUD-001", "Log items carry every required attribute", _FIX_ITEM),
    Kind("wrong_type", "AUD-002", "Attributes have their DynamoDB types", _FIX_ITEM),
    Kind("bad_level", "AUD-003", "Level is one of DEBUG, INFO, WARN, ERROR", _FIX_ITEM),
    Kind(
        "bad_timestamp",
        "AUD-004",
        "timestamp and ingested_at are parseable and normalised",
        _FIX_ITEM,
    ),
    Kind(
        "timestamp_key_mismatch",
        "AUD-005",
        "timestamp is the one in the sort key",
        _FIX_ITEM,
    ),
    Kind("bad_log_id", "AUD-006", "log_id is well-formed", _FIX_ITEM),
    Kind("log_id_key_mismatch", "AUD-007", "log_id is the one in the sort key", _FIX_ITEM),
    Kind("bad_service_name", "AUD-008", "service_name is well-formed", _FIX_ITEM),
    Kind(
        "index_attr_mismatch",
        "AUD-009",
        "gsi_shard is the shard the service derives from log_id",
        "Items with a wrong gsi_shard are missing from their index partition: rewrite "
        "gsi_shard = keys.shard_for(log_id, SHARD_COUNT) (runbook).",
    ),
    Kind(
        "over_limit",
        "AUD-010",
        "message, log_type and metadata within the limits",
        _FIX_ITEM,
    ),
    Kind("bad_metadata", "AUD-011", "metadata is a canonical JSON string", _FIX_ITEM),
    Kind(
        "bad_ttl",
        "AUD-012",
        "TTL attribute present and within the retention window",
        "Items without a sane expires_at are never deleted or deleted early: rewrite "
        "expires_at = keys.expires_at(ingested_at, retention_days) (runbook).",
    ),
    Kind(
        "clock_skew",
        "AUD-013",
        "No timestamp beyond the allowed clock skew",
        "Check MAX_CLOCK_SKEW_SECONDS of the ingest function and the clients' clocks (runbook).",
    ),
    Kind("bad_marker", "AUD-014", "Idempotency markers are well-formed", _FIX_ITEM),
    Kind(
        "duplicate_log_id",
        "AUD-015",
        "No log_id is stored twice",
        "Two items share a log_id: keep the one the marker points at, delete the other (runbook).",
    ),
    Kind(
        "index_count_mismatch",
        "AUD-016",
        "Index holds exactly the table's items (count and key set per shard)",
        "An index that disagrees with its table is an AWS-side issue or a write that bypassed "
        "the key scheme: compare per shard, open a support case if gsi_shard values are right.",
        index=True,
    ),
    Kind(
        "index_sample_missing",
        "AUD-017",
        "A sample of table items is readable through the index",
        "See AUD-016; the sampled keys are in the evidence.",
        index=True,
    ),
    Kind(
        "entry_without_marker",
        "AUD-018",
        "Every log item has its idempotency marker",
        "Without its marker a retry of the entry stores a second copy: write the marker from "
        "the item (runbook, step 4).",
    ),
    Kind(
        "marker_points_elsewhere",
        "AUD-019",
        "Every marker points at the key of its entry",
        "The marker names a key that does not exist while its log_id is stored under another "
        "key: rewrite entry_service/entry_sk to that key (runbook, step 4).",
    ),
    Kind(
        "marker_without_entry",
        "AUD-021",
        "No marker without its entry (interrupted writes)",
        "A write stopped between its two puts; the client's retry finishes it. Older than a "
        "day, delete the marker (runbook, step 4).",
        warn=True,
    ),
    Kind(
        "bad_text",
        "AUD-022",
        "message and log_type are non-blank text without NUL",
        _FIX_ITEM,
    ),
    Kind(
        "unknown_attribute",
        "AUD-023",
        "Items carry only the attributes of the data model",
        "A writer added attributes the service does not know (a typo such as 'mesage' loses "
        "data): find it from ingested_at, fix it, then rewrite the items (runbook).",
    ),
    Kind(
        "content_hash_mismatch",
        "AUD-024",
        "Every log item holds the content its marker recorded",
        "The item was changed after it was written (or its marker was): find who wrote it "
        "(CloudTrail, ingested_at), then restore the entry from a backup or a point before the "
        "change (runbooks/restore-the-log-table.md); delete nothing before you know which is "
        "genuine (runbook).",
        content=True,
    ),
    Kind(
        "entry_lost",
        "AUD-025",
        "No marker is without its entry for more than a day (a lost entry)",
        "The entry was deleted after it was written, or its write was interrupted and never "
        "retried: look for the entry in a backup or a point-in-time restore "
        "(runbooks/restore-the-log-table.md) and put it back; if it never was stored, delete "
        "the marker (runbook, step 4).",
    ),
)
KINDS_BY_NAME = {k.name: k for k in KINDS}


@dataclass(frozen=True)
class Violation:
    kind: str
    key: dict[str, str]
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        check = KINDS_BY_NAME[self.kind].check_id
        return {
            "kind": self.kind,
            "check": check,
            "key": self.key,
            "detail": self.detail,
            **self.extra,
        }
