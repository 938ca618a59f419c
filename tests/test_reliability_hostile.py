"""Hand-written hostile requests through the local stack's real API: each gets its 4xx.

Every case goes through the API Gateway emulator (SigV4, the gateway's own limits and request
validation) to the real handlers, signed with the ingest or read role. Every refused POST
carries its own service name and log_id; afterwards neither a log item nor an idempotency
marker may exist for it ("writes nothing").
"""

from __future__ import annotations

import json
import uuid

import pytest
from boto3.dynamodb.conditions import Key

from log_service import keys, limits
from slsops.deployment.api_client import LogApiClient, assume_role

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def clients(local_stack):
    writer = LogApiClient(local_stack, assume_role(local_stack, "ingest"))
    reader = LogApiClient(local_stack, assume_role(local_stack, "read"))
    yield writer, reader
    writer.close()
    reader.close()


@pytest.fixture(scope="module")
def table(local_stack):
    return local_stack.resource("dynamodb").Table(str(local_stack["table_name"]))


def fresh(**fields):
    token = uuid.uuid4().hex[:10]
    entry = {
        "service_name": f"hostile-{token}",
        "log_id": f"hostile-{token}",
        "level": "INFO",
        "message": "hostile case",
    }
    entry.update(fields)
    return entry


def assert_nothing_written(table, entry):
    marker = table.get_item(Key=keys.marker_key(entry["log_id"]), ConsistentRead=True)
    assert "Item" not in marker, f"a refused request left a marker for {entry['log_id']}"
    items = table.query(
        KeyConditionExpression=Key(keys.PARTITION_KEY).eq(entry["service_name"]),
        ConsistentRead=True,
    )["Items"]
    assert items == [], f"a refused request stored {items}"


def assert_refused(response, status, key="error"):
    """A refusal with its documented body: the handler's {"error"} or the gateway's {"message"}."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    names = key if isinstance(key, tuple) else (key,)
    assert any(isinstance(body.get(n), str) and body[n] for n in names), body
    return body


def _nested(depth):
    value = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_metadata_nested_beyond_the_limit(clients, table):
    writer, _ = clients
    entry = fresh(metadata=_nested(limits.MAX_METADATA_DEPTH + 1))
    body = assert_refused(writer.post_logs(entry), 400)
    assert "nested" in body["error"]
    assert_nothing_written(table, entry)


def test_absurdly_deep_json_is_a_400_not_a_crash(clients, table):
    writer, _ = clients
    entry = fresh()
    raw = json.dumps(entry)[:-1] + ', "metadata": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    response = writer.post_logs(raw.encode())
    assert response.status_code == 400, response.text[:300]
    assert_nothing_written(table, entry)


def test_body_over_the_handler_limit_is_413_from_the_handler(clients, table):
    writer, _ = clients
    entry = fresh(message="x" * 100)
    entry["metadata"] = {"pad": "y" * (limits.MAX_BODY_BYTES + 1000)}
    body = assert_refused(writer.post_logs(entry), 413)  # the handler's {"error": ...}
    assert str(limits.MAX_BODY_BYTES) in body["error"]
    assert_nothing_written(table, entry)


def test_body_over_the_gateway_limit_is_413_from_the_gateway(clients, table):
    writer, _ = clients
    entry = fresh()
    raw = json.dumps(entry)[:-1] + ', "metadata": {"pad": "' + "z" * (10 * 1024 * 1024) + '"}}'
    assert_refused(writer.post_logs(raw.encode()), 413, key="message")  # API Gateway's shape
    assert_nothing_written(table, entry)


def test_invalid_utf8_is_refused(clients, table):
    writer, _ = clients
    entry = fresh()
    raw = json.dumps(entry).encode().replace(b"hostile case", b"bad \xff\xfe bytes")
    # The gateway's request validator may answer first ({"message"}), else the handler.
    assert_refused(writer.post_logs(raw), 400, key=("error", "message"))
    assert_nothing_written(table, entry)


@pytest.mark.parametrize("field", ["message", "service_name", "log_type"])
def test_nul_characters_are_refused(clients, table, field):
    writer, _ = clients
    entry = fresh()
    entry[field] = f"hostile\u0000{uuid.uuid4().hex[:6]}"
    assert "\x00" in json.loads(json.dumps(entry))[field]
    assert_refused(writer.post_logs(entry), 400)
    assert_nothing_written(table, entry)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "1" * 1001])
def test_numbers_dynamodb_cannot_hold_are_refused(clients, table, number):
    writer, _ = clients
    entry = fresh()
    raw = json.dumps(entry)[:-1] + f', "metadata": {{"n": {number}}}}}'
    assert_refused(writer.post_logs(raw.encode()), 400)
    assert_nothing_written(table, entry)


def test_forty_digit_numbers_round_trip_exactly(clients):
    writer, reader = clients
    big = "1234567890123456789012345678901234567890"
    entry = fresh()
    raw = json.dumps(entry)[:-1] + f', "metadata": {{"big": {big}, "neg": -{big}}}}}'
    response = writer.post_logs(raw.encode())
    assert response.status_code == 201, response.text
    page = reader.get_recent(service_name=entry["service_name"])
    assert page.status_code == 200
    text = page.text
    assert f'"big":{big}' in text.replace(" ", "")
    assert f'"neg":-{big}' in text.replace(" ", "")
    assert page.json()["logs"][0]["metadata"] == {"big": int(big), "neg": -int(big)}


def test_duplicate_keys_are_refused(clients, table):
    writer, _ = clients
    entry = fresh()
    raw = json.dumps(entry)[:-1] + ', "message": "second message"}'
    body = assert_refused(writer.post_logs(raw.encode()), 400)
    assert "duplicate" in body["error"]
    assert_nothing_written(table, entry)


def test_a_batch_with_one_bad_entry_writes_nothing(clients, table):
    writer, _ = clients
    good, bad = fresh(), fresh(level="LOUD")
    body = assert_refused(writer.post_logs({"logs": [good, bad]}), 400)
    assert [d["index"] for d in body["details"]] == [1]
    assert_nothing_written(table, good)
    assert_nothing_written(table, bad)


@pytest.mark.parametrize(
    "query",
    [
        "limit=1&limit=2",
        "service_name=a&service_name=b",
        "service_name=" + "s" * 3000,
        "since=" + "9" * 3000,
        "limit=0",
        "limit=1001",
        "limit=ten",
        "level=LOUD",
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "colour=blue",
    ],
)
def test_bad_query_strings_are_400(clients, query):
    _, reader = clients
    response = reader.request("GET", "/logs/recent?" + query)
    assert response.status_code == 400, (query, response.status_code, response.text[:300])
    body = response.json()
    assert body.get("error") or body.get("message")


def _token(clients, service):
    writer, reader = clients
    for n in range(3):
        assert writer.post_logs(fresh(service_name=service, message=f"m{n}")).status_code == 201
    page = reader.get_recent(service_name=service, limit=1)
    assert page.status_code == 200
    token = page.json()["next_token"]
    assert token
    return token


def test_forged_truncated_and_misused_next_tokens_are_400(clients):
    _, reader = clients
    service = f"hostile-paging-{uuid.uuid4().hex[:6]}"
    token = _token(clients, service)
    assert reader.get_recent(service_name=service, limit=1, next_token=token).status_code == 200
    body_part, check = token.split(".")
    forged = [
        token[:-3],  # truncated
        token[: len(token) // 2],
        body_part + "." + check[::-1],  # tampered checksum
        "eyJ2IjoxLCJjIjoiMjAyNi0wMS0wMVQwMDowMDowMC4wMDBaI3giLCJxIjoiMCJ9.AAAAAAAAAAAAAAAA",
        "not-a-token",
        "x" * 2100,
    ]
    for bad in forged:
        response = reader.get_recent(service_name=service, limit=1, next_token=bad)
        assert response.status_code == 400, (bad[:40], response.status_code, response.text)
        assert "next_token" in response.json()["error"]
    other = reader.get_recent(service_name=service, limit=2, next_token=token)
    assert other.status_code == 400  # bound to the parameters that produced it
    assert "other parameters" in other.json()["error"]
