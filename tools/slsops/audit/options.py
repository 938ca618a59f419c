"""What one audit is asked to do: which table and index, how hard to read, what to record.

The settle window (default ``contract.numbers.INDEX_SETTLE_SECONDS``) is an option because both
sources need it: items ingested within it are left out of the index comparison, since on AWS
the index may not hold them yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from log_service import keys
from slsops.audit.rules import RuleSettings
from slsops.contract.numbers import INDEX_SETTLE_SECONDS

INDEX_SAMPLE_SIZE = 8


@dataclass
class AuditOptions:
    table_name: str
    index_name: str
    segments: int
    threads: int
    rules: RuleSettings
    violations_path: Path | None = None
    index_sample_size: int = INDEX_SAMPLE_SIZE
    advance: Callable[[int], None] = lambda _n: None
    # Only these kinds are recorded (``--only``); None records every kind.
    kinds: frozenset[str] | None = None
    settle_seconds: int = INDEX_SETTLE_SECONDS

    @property
    def cutoff(self) -> str:
        """Items ingested after this are still settling (index lag, in-flight writes)."""
        moment = datetime.fromtimestamp(self.rules.now - self.settle_seconds, UTC)
        return keys.format_timestamp(moment)
