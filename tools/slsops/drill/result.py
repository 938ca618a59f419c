"""What a drill was asked to do and what it found: options, timed phases, the result record.

The result is the auditor's evidence: restore point, incident time, each phase's time,
counts and checksums, canary results, what was kept and cleaned up, and the identity used.
It holds no secrets (no credentials, no external ids, no item contents beyond key names).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slsops.contract.numbers import CANARY_GAP_S, OBJECTIVES, Objectives
from slsops.errors import UsageError


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_restore_time(text: str | None) -> datetime | None:
    """``--restore-time``: ISO 8601 (``Z`` or an offset; naive means UTC) or epoch seconds."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):  # inf, nan, 1e20: no datetime has them
            raise UsageError(
                f"--restore-time {text!r}: epoch seconds out of range (years 1 to 9999)"
            ) from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--restore-time {text!r} is not ISO 8601 (2026-01-31T12:00:00Z) or epoch seconds"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    backup_arn: str | None = None
    alarm_names: list[str] = field(default_factory=list)
    objectives: Objectives = OBJECTIVES
    canary_gap_s: float = CANARY_GAP_S
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
    identity: Any = None  # who acted: the operator and the canaries' writer (ARNs)
    drill_table: str | None = None
    backup_arn: str | None = None
    backup_origin: str | None = None  # "fresh" (taken by the drill) or "existing"
    restore_point: str | None = None
    incident_at: str | None = None
    earliest_restorable: str | None = None
    latest_restorable: str | None = None
    steps: list[Step] = field(default_factory=list)
    canaries: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, Any] | None = None
    restore_started: bool = False
    restore_error: str | None = None
    schema_differences: list[str] | None = None
    encryption: dict[str, Any] = field(default_factory=dict)
    index_reads: dict[str, Any] = field(default_factory=dict)
    index_contents: dict[str, Any] = field(default_factory=dict)  # slsops.drill.index
    not_carried_over: list[dict[str, str]] = field(default_factory=list)
    not_reapplicable: list[str] | None = None
    rto_s: float | None = None
    rpo_s: float | None = None
    source_scan_s: float | None = None
    cleanup: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    objectives: Objectives = OBJECTIVES
    error: str | None = None
    # True when the step that stopped the drill was an AWS call that failed: the checks that
    # needed it report ERROR (could not tell), not FAIL (the restore was wrong).
    error_from_aws: bool = False
    aborted_by: str | None = None  # "SIGINT" or "SIGTERM"

    def as_dict(self) -> dict[str, Any]:
        goals = self.objectives
        return {
            "mode": self.mode,
            "source_table": self.source_table,
            "identity": self.identity,
            "drill_table": self.drill_table,
            "backup_arn": self.backup_arn,
            "backup_origin": self.backup_origin,
            "started_at": self.started_at,
            "restore_point": self.restore_point,
            "incident_at": self.incident_at,
            "restorable_window": [self.earliest_restorable, self.latest_restorable],
            "steps": [s.as_dict() for s in self.steps],
            "canaries": self.canaries,
            "comparison": self.comparison,
            "schema_differences": self.schema_differences,
            "encryption": self.encryption,
            "index_reads": self.index_reads,
            "index_contents": self.index_contents,
            "not_carried_over": self.not_carried_over,
            "not_reapplicable": self.not_reapplicable,
            "rto_s": None if self.rto_s is None else round(self.rto_s, 3),
            "rpo_s": None if self.rpo_s is None else round(self.rpo_s, 3),
            "source_scan_s": None if self.source_scan_s is None else round(self.source_scan_s, 3),
            "objectives": {
                "rto_s": goals.rto_s,
                "rto_tolerance_s": goals.rto_tolerance_s,
                "rpo_s": goals.rpo_s,
                "rpo_tolerance_s": goals.rpo_tolerance_s,
            },
            "cleanup": self.cleanup,
            "kept": self.kept,
            "error": self.error,
            "aborted_by": self.aborted_by,
        }


class Phase:
    """Context manager that appends a timed Step to the result and reports progress."""

    def __init__(self, result: DrillResult, name: str, status: Callable[[str], None]) -> None:
        self.result, self.name, self.status = result, name, status
        self.detail = ""

    def __enter__(self) -> Phase:
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
