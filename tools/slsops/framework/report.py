"""The report every command writes (shape fixed in the shared interfaces document).

A report holds every result that ran. ``view`` (``--severity``/``--status``) narrows what is
shown and written, never what runs: the summary and the exit code always count every result,
so a filtered report cannot hide a failure from CI. ``fail_on`` (``--fail-on``) is the exit
threshold: only a FAIL or ERROR at or above that severity exits 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slsops.errors import EXIT_FAILED, EXIT_OK
from slsops.framework.model import CheckResult, Severity, Status

FAILING = (Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class ReportView:
    """Which results a report shows: empty sets show everything."""

    severities: frozenset[Severity] = frozenset()
    statuses: frozenset[Status] = frozenset()

    def shows(self, result: CheckResult) -> bool:
        return (not self.severities or result.severity in self.severities) and (
            not self.statuses or result.status in self.statuses
        )

    @property
    def narrowed(self) -> bool:
        return bool(self.severities or self.statuses)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "severity": sorted(str(s) for s in self.severities),
            "status": sorted(str(s) for s in self.statuses),
        }


@dataclass
class Report:
    command: str
    target: dict[str, Any]
    started_at: datetime
    duration_s: float
    results: list[CheckResult] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    view: ReportView = field(default_factory=ReportView)
    fail_on: Severity | None = None

    def summary(self) -> dict[str, int]:
        """Counts of every result by status (not only the shown ones)."""
        counts = Counter(r.status for r in self.results)
        return {s.value.lower(): counts.get(s, 0) for s in Status}

    def shown(self) -> list[CheckResult]:
        """The results ``view`` lets through, in report order."""
        return [r for r in self.results if self.view.shows(r)]

    def failing(self) -> list[CheckResult]:
        """FAIL and ERROR results at or above ``fail_on`` (all of them without a threshold)."""
        floor = self.fail_on.rank if self.fail_on is not None else 0
        return [r for r in self.results if r.status in FAILING and r.severity.rank >= floor]

    def failed_ids(self) -> list[str]:
        """Every FAIL or ERROR id, whatever the threshold (the summary line names them)."""
        return [r.id for r in self.results if r.status in FAILING]

    def exit_code(self) -> int:
        """1 when a FAIL or ERROR reaches the ``fail_on`` threshold, else 0."""
        return EXIT_FAILED if self.failing() else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        body = {
            "command": self.command,
            "target": self.target,
            "started_at": self.started_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "duration_s": round(self.duration_s, 3),
            "summary": self.summary(),
            "checks": [r.as_dict() for r in self.shown()],
        }
        if self.view.narrowed:
            body["shown"] = self.view.as_dict()
        if self.fail_on is not None:
            body["fail_on"] = str(self.fail_on)
        body.update(self.extra)
        return body
