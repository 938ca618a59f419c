"""What a check is and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105  a check status, not a password
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"
    ERROR = "ERROR"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is graver: ``--fail-on high`` fails on ``high`` and ``critical``."""
        return len(Severity) - list(Severity).index(self)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check, as it appears in every report format."""

    id: str
    title: str
    status: Status
    severity: Severity
    detail: str
    remediation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": str(self.status),
            "severity": str(self.severity),
            "detail": self.detail,
            "evidence": self.evidence,
            "remediation": self.remediation,
        }


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: a status, a one-line detail and its evidence."""

    status: Status
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


def passed(detail: str, **evidence: Any) -> Outcome:
    return Outcome(Status.PASS, detail, evidence)


def failed(detail: str, **evidence: Any) -> Outcome:
    return Outcome(Status.FAIL, detail, evidence)


def warned(detail: str, **evidence: Any) -> Outcome:
    return Outcome(Status.WARN, detail, evidence)


def skipped(reason: str, **evidence: Any) -> Outcome:
    return Outcome(Status.SKIP, reason, evidence)


def expect(ok: bool, detail_ok: str, detail_bad: str, **evidence: Any) -> Outcome:
    """PASS with ``detail_ok`` when ``ok``, FAIL with ``detail_bad`` otherwise."""
    return passed(detail_ok, **evidence) if ok else failed(detail_bad, **evidence)


@dataclass(frozen=True)
class Check:
    """A registered check: metadata plus the function that inspects the target.

    ``run`` receives the command's context object (stack outputs, AWS clients, cached
    lookups) and returns an :class:`Outcome`. An exception raised by ``run`` becomes an
    ERROR result, never a PASS.
    """

    id: str
    title: str
    severity: Severity
    remediation: str
    run: Callable[[Any], Outcome]
    reads: str = ""
    runs_on: str = "both"
    doc: str = ""

    @property
    def family(self) -> str:
        """The id's prefix (``DDB`` for ``DDB-001``): the family the catalogue groups by."""
        return self.id.split("-", 1)[0]


RUNS_ON = ("both", "aws", "local")


def check(
    registry: list[Check],
    id: str,
    title: str,
    severity: Severity,
    remediation: str,
    *,
    reads: str = "",
    runs_on: str = "both",
    doc: str = "",
) -> Callable[[Callable[[Any], Outcome]], Callable[[Any], Outcome]]:
    """Decorator that registers a check function in ``registry`` (one list per family).

    ``reads`` names what the check inspects (the API calls or files), ``runs_on`` where it can
    give a verdict (``both``, ``aws`` or ``local``) and ``doc`` the runbook or document that
    explains a failure; ``slsops checks`` lists all three.
    """
    if runs_on not in RUNS_ON:
        raise ValueError(f"{id}: runs_on must be one of {RUNS_ON}, not {runs_on!r}")

    def register(func: Callable[[Any], Outcome]) -> Callable[[Any], Outcome]:
        registry.append(Check(id, title, severity, remediation, func, reads, runs_on, doc))
        return func

    return register
