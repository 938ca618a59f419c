"""The fuzzing harness (``slsops.harness.fuzz``): its own pieces, then a small run on the local
stack."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from log_table_support import log_item
from moto import mock_aws

from log_service import keys
from log_service.model import parse_entry
from log_service.settings import Settings
from slsops.harness import fuzz
from slsops.harness.fuzz_figures import FuzzFigures
from slsops.harness.fuzz_repair import repair_body
from slsops.harness.fuzz_signing import canonical_query


def test_query_is_encoded_as_sigv4_canonicalises_it():
    query = canonical_query({"a": "x y+z", "b": ["1", "2"], "c": None, "d": "~_.-é"})
    assert query == "?a=x%20y%2Bz&b=1&b=2&d=~_.-%C3%A9"
    assert canonical_query({}) == ""
    assert canonical_query(None) == ""


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
    body = repair_body(generated)
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
    assert figures.cases == figures.asked == 60, summary
    assert figures.ok, summary
    assert figures.statuses[400] > 0 and figures.statuses[201] > 0, summary
    assert figures.readbacks > 0, summary


# ------------------------------------------------------------------ counting what it stored
@pytest.fixture
def log_table():
    """The log table in an in-process moto (no stack): the harness' count reads only it."""
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        resource.create_table(**keys.table_definition("fuzz-logs"))
        yield resource.Table("fuzz-logs")


def _put(table, *items):
    for item in items:
        table.put_item(Item=item)


def _fuzzer_over(table, stored_ids):
    """A Fuzzer holding only what its final count reads: the table and its own log_ids."""
    fuzzer = object.__new__(fuzz.Fuzzer)
    fuzzer.table = table
    fuzzer.figures = FuzzFigures()
    fuzzer.new_ids.extend(stored_ids)
    return fuzzer


def test_entries_others_write_meanwhile_do_not_count(log_table):
    mine = [log_item(service=f"fz-{n}", log_id=f"fz-{n:04d}") for n in range(3)]
    _put(log_table, *[x for pair in mine for x in pair])
    # Other writers share the table (the load test, verify's smoke entries): not the harness'.
    others = [log_item(service="checkout", log_id=f"other-{n}") for n in range(5)]
    _put(log_table, *[x for pair in others for x in pair])
    fuzzer = _fuzzer_over(log_table, [item["log_id"] for item, _ in mine])
    fuzzer.check_stored()
    assert fuzzer.figures.stored_mismatch == 0, fuzzer.figures.failures
    assert fuzzer.figures.ok


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("drop_item", "holds no log item"),
        ("drop_marker", "no marker"),
        ("duplicate", "2 log items with this log_id"),
    ],
)
def test_a_stored_entry_missing_or_twice_is_counted(log_table, damage, problem):
    item, marker = log_item(service="fz-a", log_id="fz-0001")
    _put(log_table, item, marker)
    if damage == "drop_item":
        log_table.delete_item(Key={k: item[k] for k in (keys.PARTITION_KEY, keys.SORT_KEY)})
    elif damage == "drop_marker":
        log_table.delete_item(Key=keys.marker_key("fz-0001"))
    else:
        twin = {**item, keys.SORT_KEY: "2020-01-01T00:00:00.000Z#fz-0001"}
        _put(log_table, twin)
    fuzzer = _fuzzer_over(log_table, ["fz-0001"])
    fuzzer.check_stored()
    assert fuzzer.figures.stored_mismatch == 1
    assert not fuzzer.figures.ok
    assert any(problem in f and "fz-0001" in f for f in fuzzer.figures.failures), (
        fuzzer.figures.failures
    )


def test_a_spent_time_budget_is_reported_as_cases_not_run():
    pytest.importorskip("schemathesis", reason="install the fuzz extra")
    import schemathesis

    fuzzer = object.__new__(fuzz.Fuzzer)
    fuzzer.schema = schemathesis.openapi.from_path(str(fuzz.DOCUMENT))
    fuzzer.figures = FuzzFigures()
    fuzzer.deadline = 0.0  # already spent: no case is sent
    fuzzer.table = None
    figures = fuzzer.run(cases=40, seed=7)
    assert (figures.cases, figures.asked) == (0, 40)
    assert "time budget spent" in figures.stop_reason and "0 of 40" in figures.stop_reason
    assert not figures.complete and not figures.ok


def test_an_answer_the_document_does_not_allow_is_counted_not_a_crash():
    """schemathesis reports nonconformance as a FailureGroup (a BaseExceptionGroup): the harness
    counts it as a nonconforming answer and carries on, so the run still ends in a report."""
    pytest.importorskip("schemathesis", reason="install the fuzz extra")
    from schemathesis.core.failures import FailureGroup

    class Undocumented(Exception):
        pass

    class Case:
        def as_transport_kwargs(self, base_url):
            return {"method": "GET", "url": f"{base_url}/logs/recent", "headers": {}}

        def validate_response(self, response, checks):
            raise FailureGroup([Undocumented("Undocumented status code 418")], "1 failure")

    class Answer:
        status_code = 418
        text = "teapot"
        request = type("Request", (), {"url": "http://127.0.0.1:1/prod/logs/recent"})()

    fuzzer = object.__new__(fuzz.Fuzzer)
    fuzzer.figures = FuzzFigures()
    fuzzer.stack = type("Stack", (), {"api_url": "http://127.0.0.1:1/prod"})()
    fuzzer.auth = {"GET": None}
    fuzzer.checks = []
    fuzzer.http = type("Http", (), {"request": lambda *a, **k: Answer()})()
    fuzzer.one(Case())
    assert fuzzer.figures.nonconforming == 1
    assert fuzzer.figures.statuses[418] == 1
