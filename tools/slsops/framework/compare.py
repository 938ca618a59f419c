"""Comparing what a deployment has with what the contract expects, field by field.

Verify checks collect expected and actual values into flat dicts (``"ingest.memory_mb"``) and
turn the differences into one Outcome: PASS with the values as evidence, or FAIL naming every
field that differs.
"""

from __future__ import annotations

from typing import Any

from slsops.framework.model import Outcome, failed, passed, skipped


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """``"field: expected X, found Y"`` for each field whose values differ."""
    return [
        f"{name}: expected {want!r}, found {actual.get(name)!r}"
        for name, want in expected.items()
        if actual.get(name) != want
    ]


def compared(expected: dict[str, Any], actual: dict[str, Any], ok: str, **evidence: Any) -> Outcome:
    """PASS with ``ok`` when every expected field matches; FAIL listing the ones that don't;
    SKIP when nothing was expected (a check that compared nothing must not PASS)."""
    if not expected:
        return skipped(f"nothing to compare (would have passed as: {ok})", actual=actual)
    diffs = differences(expected, actual)
    evidence = {"expected": expected, "actual": actual, **evidence}
    if diffs:
        return failed("; ".join(diffs), **evidence, mismatches=diffs)
    return passed(ok, **evidence)


def problems_outcome(problems: list[str], ok: str, **evidence: Any) -> Outcome:
    """PASS with ``ok`` when ``problems`` is empty, FAIL joining them otherwise."""
    if problems:
        return failed("; ".join(problems), problems=problems, **evidence)
    return passed(ok, **evidence)
