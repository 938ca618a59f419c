"""The check catalogue: every check of every family, from one list of where each family lives.

``slsops checks`` prints it; ``tests/test_check_catalogue.py`` holds every id in it to a break
test. A family whose list cannot be found is an error here, never a shorter catalogue: a check
that silently drops out of the catalogue also drops out of the break-test rule.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from slsops.errors import SlsopsError
from slsops.framework.model import Check


@dataclass(frozen=True)
class Source:
    """Where a command's checks are registered: ``module.attribute`` holds (or, when
    callable, returns) the list of :class:`Check`."""

    command: str
    module: str
    attribute: str = "CHECKS"

    @property
    def name(self) -> str:
        return f"{self.module}.{self.attribute}"


SOURCES: tuple[Source, ...] = (
    Source("verify", "slsops.commands.verify", "verify_checks"),
    Source("roles", "slsops.checks.roles"),
    Source("audit", "slsops.checks.audit"),
    Source("drill", "slsops.checks.drill"),
    Source("load", "slsops.load.verdict"),
    Source("reliability", "slsops.harness.reliability_checks"),
)


class CatalogueIncomplete(SlsopsError):
    """A family's check list cannot be loaded (the message names each one)."""


@dataclass(frozen=True)
class Entry:
    """One catalogue line: a check and the command that reports it."""

    command: str
    check: Check

    def as_dict(self) -> dict[str, Any]:
        c = self.check
        return {
            "id": c.id,
            "family": c.family,
            "command": self.command,
            "severity": str(c.severity),
            "title": c.title,
            "reads": c.reads,
            "runs_on": c.runs_on,
            "doc": c.doc,
        }


def load_source(source: Source) -> list[Check]:
    """The checks of ``source``; raises ImportError/AttributeError/TypeError when it is not
    there or not a list of checks."""
    found = getattr(importlib.import_module(source.module), source.attribute)
    checks = found() if callable(found) else found
    if not isinstance(checks, list) or not all(isinstance(c, Check) for c in checks):
        raise TypeError(f"{source.name} is not a list of Check")
    return checks


def missing_sources(sources: tuple[Source, ...] = SOURCES) -> dict[str, str]:
    """Each source that cannot be loaded, with why (empty when the catalogue is whole)."""
    missing: dict[str, str] = {}
    for source in sources:
        try:
            load_source(source)
        except (ImportError, AttributeError, TypeError) as exc:
            missing[source.name] = f"{type(exc).__name__}: {exc}"
    return missing


def catalogue(sources: tuple[Source, ...] = SOURCES) -> list[Entry]:
    """Every check of every source, in source order; raises when a source is missing."""
    missing = missing_sources(sources)
    if missing:
        raise CatalogueIncomplete(
            "check lists missing from the catalogue: "
            + "; ".join(f"{name} ({why})" for name, why in missing.items())
        )
    return [Entry(s.command, c) for s in sources for c in load_source(s)]


def families(entries: list[Entry]) -> list[str]:
    """Every family prefix and command name, the values ``--family`` accepts."""
    return sorted({e.check.family for e in entries} | {e.command for e in entries})


def of_family(entries: list[Entry], family: str) -> list[Entry]:
    """Entries whose id prefix (``DDB``) or command (``verify``) is ``family``, any case."""
    wanted = family.strip().upper()
    return [e for e in entries if wanted in (e.check.family.upper(), e.command.upper())]
