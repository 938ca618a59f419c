"""What one fuzz run saw (:class:`FuzzFigures`), and how it is printed.

A figure from fewer cases than asked is no pass (:attr:`FuzzFigures.complete`).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FuzzFigures:
    asked: int = 0
    cases: int = 0
    stop_reason: str = ""
    statuses: Counter = field(default_factory=Counter)
    server_errors: int = 0
    nonconforming: int = 0
    auth_rejected: int = 0
    stored_entries: int = 0
    readbacks: int = 0
    readback_failures: int = 0
    writes_on_4xx: int = 0
    stored_mismatch: int = 0  # entries answered stored but not in the table exactly once
    harness_errors: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Did every case asked run? A figure from fewer cases than asked is not a pass."""
        return self.cases >= self.asked

    @property
    def ok(self) -> bool:
        return self.complete and not (
            self.server_errors
            or self.nonconforming
            or self.readback_failures
            or self.writes_on_4xx
            or self.stored_mismatch
            or self.harness_errors
            or self.auth_rejected  # a correctly signed request refused: signer or gateway bug
        )

    def note(self, message: str) -> None:
        if len(self.failures) < 50:
            self.failures.append(message[:600])

    def as_dict(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "cases": self.cases,
            "stop_reason": self.stop_reason,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": self.server_errors,
            "nonconforming": self.nonconforming,
            "auth_rejected": self.auth_rejected,
            "stored_entries": self.stored_entries,
            "readbacks": self.readbacks,
            "readback_failures": self.readback_failures,
            "writes_on_4xx": self.writes_on_4xx,
            "stored_mismatch": self.stored_mismatch,
            "harness_errors": self.harness_errors,
            "seconds": round(self.seconds, 1),
            "ok": self.ok,
            "failures": self.failures,
        }


def print_figures(figures: FuzzFigures, out: Any = sys.stdout) -> None:
    data = figures.as_dict()
    print(
        f"fuzz: {data['cases']} of {data['asked']} generated cases in {data['seconds']} s; "
        f"statuses "
        f"{data['statuses']}; 5xx {data['server_errors']}; not matching the document "
        f"{data['nonconforming']}; stored {data['stored_entries']}, read back "
        f"{data['readbacks']} ({data['readback_failures']} wrong); writes on 4xx "
        f"{data['writes_on_4xx']}; signed requests refused {data['auth_rejected']}",
        file=out,
    )
    for failure in data["failures"][:20]:
        print(f"  - {failure}", file=out)
