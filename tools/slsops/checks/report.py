"""The report every command writes (shape fixed in the shared interfaces document)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slsops.checks.model import CheckResult, Status
from slsops.errors import EXIT_FAILED, EXIT_OK


@dataclass
class Report:
    command: str
    target: dict[str, Any]
    started_at: datetime
    duration_s: float
    results: list[CheckResult] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.results)
        return {s.value.lower(): counts.get(s, 0) for s in Status}

    def exit_code(self) -> int:
        """0 when no check FAILed or ERRORed (WARN and SKIP allowed), else 1."""
        bad = {Status.FAIL, Status.ERROR}
        return EXIT_FAILED if any(r.status in bad for r in self.results) else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        body = {
            "command": self.command,
            "target": self.target,
            "started_at": self.started_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "duration_s": round(self.duration_s, 3),
            "summary": self.summary(),
            "checks": [r.as_dict() for r in self.results],
        }
        body.update(self.extra)
        return body
