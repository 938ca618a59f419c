"""What an audit found, whichever source fed it: the record the AUD-* checks read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from slsops.audit.kinds import KINDS
from slsops.audit.scan import ScanStats
from slsops.audit.violation_log import ViolationLog


@dataclass
class AuditResult:
    source: str  # "scan" or "export"
    scan: ScanStats
    log_items: int
    markers: int
    violations: ViolationLog
    services: Counter[str]
    reserved: Counter[str]
    levels: Counter[str]
    days: Counter[str]
    table_shards: dict[int, int]
    index_shards: dict[int, int]
    index_sample: list[dict[str, str]]
    index_sample_missing: list[dict[str, str]]
    duplicate_log_ids: int
    expired_still_stored: int
    content_compared: int = 0  # markers whose recorded hash met their item's (scan only)
    phases: dict[str, float] = field(default_factory=dict)
    source_detail: dict[str, Any] = field(default_factory=dict)

    @property
    def index_compared(self) -> int:
        """Settled items the index comparison covered (0: it compared nothing)."""
        return sum(self.table_shards.values()) + sum(self.index_shards.values())

    def kind_summary(self) -> list[dict[str, Any]]:
        """Per kind with at least one violation: check id, count, sample keys."""
        return [
            {
                "check": k.check_id,
                "kind": k.name,
                "count": self.violations.counts[k.name],
                "sample_keys": self.violations.samples[k.name],
            }
            for k in KINDS
            if self.violations.counts[k.name]
        ]
