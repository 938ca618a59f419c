"""The fuzzing harness (``slsops.fuzz``): its own pieces, then a small run on the local stack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from log_service.model import parse_entry
from log_service.settings import Settings
from slsops import fuzz


def test_query_is_encoded_as_sigv4_canonicalises_it():
    query = fuzz.canonical_query({"a": "x y+z", "b": ["1", "2"], "c": None, "d": "~_.-é"})
    assert query == "?a=x%20y%2Bz&b=1&b=2&d=~_.-%C3%A9"
    assert fuzz.canonical_query({}) == ""
    assert fuzz.canonical_query(None) == ""


@pytest.mark.parametrize(
    "generated",
    [
        {},
        {"service_name": "\x00\U0003b522", "level": "\x9b", "message": "\x00", "log_type": ""},
        {"message": " ", "metadata": [1, 2], "timestamp": "yesterday", "retention_days": 10**9},
        {"logs": [{"severity": "?"}, "not an entry", {"message": "é" * 20_000}] * 40},
        "a string body",
    ],
)
def test_repaired_bodies_are_acceptable_to_the_handler(generated):
    body = fuzz.repair_body(generated)
    entries = body.get("logs", [body])
    assert 1 <= len(entries) <= 100
    settings = Settings(table_name="t")
    for entry in entries:
        parsed = parse_entry(entry, settings, datetime.now(UTC))
        assert parsed.log_id and parsed.log_id.startswith("fz-")


@pytest.mark.stack
@pytest.mark.timeout(600)
def test_a_small_fuzz_run_holds(local_stack):
    pytest.importorskip("schemathesis", reason="install the fuzz extra")
    figures = fuzz.run(local_stack, cases=60, seed=7, max_seconds=300)
    summary = figures.as_dict()
    assert figures.cases >= 50, summary
    assert figures.ok, summary
    assert figures.statuses[400] > 0 and figures.statuses[201] > 0, summary
    assert figures.readbacks > 0, summary
