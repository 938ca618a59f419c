"""The ingest and read-recent handlers end to end against moto, in process."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws
from service_support import TABLE, invoke, log_items, proxy_event, reset_runtime

from log_service import keys, limits


@pytest.fixture
def service(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", TABLE)
    monkeypatch.setenv("SHARD_COUNT", "8")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")
    with mock_aws():
        from service_support import create_table

        table = create_table()
        reset_runtime()
        from log_service import ingest_handler, read_handler

        yield table, ingest_handler.handler, read_handler.handler
        reset_runtime()


def post(handler, body=None, raw_body=None):
    return invoke(handler, proxy_event("POST", "/logs", body=body, raw_body=raw_body))


def get(handler, **params):
    query = {k: [str(v)] for k, v in params.items()}
    return invoke(handler, proxy_event("GET", "/logs/recent", query=query))


def entry(**overrides):
    base = {"service_name": "checkout", "level": "INFO", "message": "order placed"}
    base.update(overrides)
    return base


def test_single_entry_is_stored_and_read_back(service):
    table, ingest, read = service
    status, body, _ = post(ingest, entry(metadata={"order": 42}))
    assert status == 201
    assert body["message"] == "Log entry created successfully"
    status, page, _ = get(read, service_name="checkout")
    assert status == 200
    assert page["count"] == 1
    got = page["logs"][0]
    assert got["log_id"] == body["log_id"]
    assert got["metadata"] == {"order": 42}
    assert got["ingested_at"] and keys.TIMESTAMP_PATTERN.match(got["ingested_at"])
    item = log_items(table)[0]
    assert item["gsi_shard"] == keys.shard_for(body["log_id"], 8)
    assert int(item["expires_at"]) > datetime.now(UTC).timestamp() + 29 * 86400


def test_same_millisecond_entries_are_both_kept(service):
    table, ingest, read = service
    stamp = "2026-01-02T03:04:05.678Z"
    for n in range(2):
        status, _, _ = post(ingest, entry(timestamp=stamp, message=f"m{n}"))
        assert status == 201
    assert len(log_items(table)) == 2
    _, page, _ = get(read, service_name="checkout")
    assert sorted(e["message"] for e in page["logs"]) == ["m0", "m1"]


def test_metadata_round_trips_exactly(service):
    _, ingest, read = service
    metadata = {
        "ratio": 0.1,
        "one": 1.0,
        "tiny": 1e-7,
        "big": 12345678901234567890123456789012345678901234567890,
        "neg": -3,
        "flag": False,
        "none": None,
        "nested": {"list": [1, 2.5, {"x": [None, True]}], "empty": {}},
        "text": "ünïcødé ✓",
    }
    status, _body, _ = post(ingest, entry(metadata=metadata))
    assert status == 201
    _, page, _ = get(read, service_name="checkout")
    back = page["logs"][0]["metadata"]
    assert back == metadata
    assert json.dumps(back, sort_keys=True) == json.dumps(metadata, sort_keys=True)
    assert isinstance(back["one"], float) and isinstance(back["neg"], int)


def test_dialect_payload_is_mapped_onto_the_model(service):
    _, ingest, read = service
    status, body, _ = post(
        ingest,
        {
            "id": "legacy-1",
            "datetime": "2026-01-01T00:00:00+02:00",
            "severity": "warning",
            "message": "disk almost full",
        },
    )
    assert status == 201 and body["log_id"] == "legacy-1"
    _, page, _ = get(read, service_name=limits.DEFAULT_SERVICE_NAME)
    got = page["logs"][0]
    assert got["level"] == "WARN"
    assert got["timestamp"] == "2025-12-31T22:00:00.000Z"


def test_epoch_milliseconds_timestamp(service):
    _, ingest, read = service
    post(ingest, entry(timestamp=1_700_000_000_123))
    _, page, _ = get(read, service_name="checkout")
    assert page["logs"][0]["timestamp"] == "2023-11-14T22:13:20.123Z"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (entry(level="CRITICAL"), 400, "level"),
        (entry(message="   "), 400, "message"),
        (entry(message=""), 400, "message"),
        (entry(message=7), 400, "message"),
        (entry(mesage="typo"), 400, "mesage"),
        (entry(metadata=[1, 2]), 400, "metadata"),
        (entry(timestamp="2026-01-01T00:00:00"), 400, "timestamp"),
        (entry(timestamp="yesterday"), 400, "timestamp"),
        (entry(service_name="#log_id#x"), 400, "service_name"),
        (entry(message="a\x00b"), 400, "message"),
        (entry(message="x" * (limits.MAX_MESSAGE_CHARS + 1)), 400, "message"),
        (entry(retention_days=0), 400, "retention_days"),
        (entry(retention_days=31), 400, "retention_days"),
        (entry(log_id="has space"), 400, "log_id"),
        ({"level": "INFO", "message": "no service"}, 400, "service_name"),
        ([entry()], 400, "body"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(service, body, status, field):
    table, ingest, _ = service
    got_status, answer, _ = post(ingest, body)
    assert got_status == status
    assert "error" in answer
    assert field in answer["error"]
    assert log_items(table) == []


def test_future_timestamp_beyond_skew_is_refused(service):
    table, ingest, _ = service
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    status, answer, _ = post(ingest, entry(timestamp=future))
    assert status == 400 and "future" in answer["error"]
    assert log_items(table) == []


@pytest.mark.parametrize(
    "raw",
    [
        '{"service_name": "a", "level": "INFO", "message": "x"',  # truncated
        '{"service_name": "a", "service_name": "b", "level": "INFO", "message": "x"}',
        '{"service_name": "a", "level": "INFO", "message": "x", "metadata": {"n": NaN}}',
        '{"service_name": "a", "level": "INFO", "message": "x", "metadata": {"n": 1e999}}',
        '{"service_name": "a", "level": "INFO", "message": "\\ud800"}',
        "[" * 5000 + "]" * 5000,
        "",
    ],
)
def test_malformed_json_is_a_400(service, raw):
    table, ingest, _ = service
    status, answer, _ = post(ingest, raw_body=raw)
    assert status == 400, answer
    assert answer["error"]
    assert log_items(table) == []


def test_invalid_utf8_and_deep_metadata_are_400(service):
    table, ingest, _ = service
    status, answer, _ = post(
        ingest, raw_body=b'{"service_name":"a","level":"INFO","message":"\xff"}'
    )
    assert status == 400 and "UTF-8" in answer["error"]
    deep: dict = {}
    node = deep
    for _ in range(limits.MAX_METADATA_DEPTH + 1):
        node["n"] = {}
        node = node["n"]
    status, answer, _ = post(ingest, entry(metadata=deep))
    assert status == 400 and "metadata" in answer["error"]
    assert log_items(table) == []


def test_oversized_body_is_413(service):
    table, ingest, _ = service
    raw = json.dumps(entry(message="x" * (limits.MAX_BODY_BYTES + 10)))
    status, answer, _ = post(ingest, raw_body=raw)
    assert status == 413 and "error" in answer
    assert log_items(table) == []


def test_replay_with_same_log_id_stores_once_and_conflict_is_409(service):
    table, ingest, _ = service
    first = post(ingest, entry(log_id="client-1"))
    # Retry leaves the timestamp to the server again: recognised through the marker.
    again = post(ingest, entry(log_id="client-1"))
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert len(log_items(table)) == 1
    status, answer, _ = post(ingest, entry(log_id="client-1", message="different"))
    assert status == 409 and "client-1" in answer["error"]
    assert len(log_items(table)) == 1


def test_batch_all_stored_with_per_entry_results(service):
    table, ingest, _ = service
    batch = {"logs": [entry(message=f"m{i}", log_id=f"b-{i}") for i in range(30)]}
    status, body, _ = post(ingest, batch)
    assert status == 201
    assert [r["status"] for r in body["results"]] == ["stored"] * 30
    assert [r["index"] for r in body["results"]] == list(range(30))
    assert len(log_items(table)) == 30
    status, body, _ = post(ingest, batch)
    assert status == 201
    assert {r["status"] for r in body["results"]} == {"duplicate"}
    assert len(log_items(table)) == 30


def test_entries_not_stored_are_logged_with_why(service, caplog):
    from log_service.ingest_handler import logger

    # The level of the process's logger is whatever the first import set (another test sets
    # ERROR); the function's own default is INFO.
    caplog.set_level(logging.INFO, logger=logger.name)
    _, ingest, _ = service
    assert post(ingest, entry(log_id="taken"))[0] == 201
    batch = {"logs": [entry(log_id="new-1"), entry(log_id="taken", level="ERROR")]}
    status, body, _ = post(ingest, batch)
    assert status == 207 and [r["status"] for r in body["results"]] == ["stored", "not_stored"]
    (warning,) = [r for r in caplog.records if r.getMessage() == "entries not stored"]
    assert warning.levelname == "WARNING"
    assert [(r["log_id"], r["status"]) for r in warning.not_stored] == [("taken", "not_stored")]
    assert "different content" in warning.not_stored[0]["error"]


def test_batch_with_one_bad_entry_writes_nothing(service):
    table, ingest, _ = service
    logs = [entry(message=f"m{i}") for i in range(5)]
    logs[3]["level"] = "LOUD"
    status, body, _ = post(ingest, {"logs": logs})
    assert status == 400
    assert body["details"] == [
        {"index": 3, "field": "level", "message": "must be one of DEBUG, INFO, WARN, ERROR"}
    ]
    assert log_items(table) == []


def test_batch_over_100_entries_is_refused(service):
    table, ingest, _ = service
    status, body, _ = post(ingest, {"logs": [entry()] * 101})
    assert status in (400, 413) and "logs" in body["error"]
    assert log_items(table) == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "abc"},
        {"level": "LOUD"},
        {"since": "not-a-time"},
        {"bogus": "1"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        # str.isdigit() is true of a superscript two, which int() refuses (was a 500)
        {"limit": "\u00b2"},
        {"since": "\u00b2"},
        {"until": "1\u00b3"},
    ],
)
def test_bad_read_parameters_are_400(service, params):
    _, _, read = service
    status, body, _ = get(read, **params)
    assert status == 400 and body["error"]


def test_signature_parameters_of_a_presigned_url_are_not_the_callers(service):
    _, _, read = service
    query = {"limit": ["5"], "X-Amz-Signature": ["ab12"], "X-Amz-Credential": ["AKIA/x"]}
    status, body, _ = invoke(read, proxy_event("GET", "/logs/recent", query=query))
    assert status == 200, body
    status, body, _ = get(read, limit=5, x_amz_nothing=1)  # only the X-Amz- prefix is ignored
    assert status == 400 and body["error"]


def test_repeated_parameter_is_400(service):
    _, _, read = service
    event = proxy_event("GET", "/logs/recent", query={"limit": ["5", "6"]})
    status, body, _ = invoke(read, event)
    assert status == 400 and "limit" in body["error"]


def test_next_token_is_checked_and_bound_to_parameters(service):
    _, ingest, read = service
    post(ingest, {"logs": [entry(message=f"m{i}") for i in range(5)]})
    _, page, _ = get(read, service_name="checkout", limit=2)
    token = page["next_token"]
    assert token
    status, body, _ = get(read, service_name="checkout", limit=2, next_token=token[:-3])
    assert status == 400 and "next_token" in body["error"]
    status, body, _ = get(read, service_name="other", limit=2, next_token=token)
    assert status == 400 and "other parameters" in body["error"]
    forged = "A" + token[1:]
    status, body, _ = get(read, service_name="checkout", limit=2, next_token=forged)
    assert status == 400


def test_level_filter_and_time_window(service):
    _, ingest, read = service
    logs = [
        entry(level=lvl, timestamp=f"2026-01-01T00:00:0{i}.000Z", message=f"m{i}")
        for i, lvl in enumerate(["INFO", "ERROR", "WARN", "ERROR", "DEBUG"])
    ]
    post(ingest, {"logs": logs})
    _, page, _ = get(read, service_name="checkout", level="error,warn")
    assert [e["message"] for e in page["logs"]] == ["m3", "m2", "m1"]
    _, page, _ = get(
        read, level="ERROR", since="2026-01-01T00:00:02Z", until="2026-01-01T00:00:03Z"
    )
    assert [e["message"] for e in page["logs"]] == ["m3"]
