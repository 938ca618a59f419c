"""The writer and reader against moto: newest-N merge, paging, idempotency under faults."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from moto import mock_aws
from service_support import REGION, TABLE, all_items, create_table, log_items

from log_service import keys, limits
from log_service.errors import ConflictError, Unavailable
from log_service.ingest import handle_post
from log_service.model import parse_entry
from log_service.reader import LogReader, RecentQuery
from log_service.retry import Backoff
from log_service.settings import Settings
from log_service.writer import DUPLICATE, NOT_STORED, STORED, LogWriter

SHARDS = 8
SETTINGS = Settings(table_name=TABLE, shard_count=SHARDS)
NO_SLEEP = Backoff(sleep=lambda _s: None)


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield create_table()


def client():
    return boto3.resource("dynamodb", region_name=REGION).meta.client


def writer(fault_client=None):
    return LogWriter(fault_client or client(), TABLE, SHARDS, backoff=NO_SLEEP)


def reader(table):
    return LogReader(table, keys.DEFAULT_INDEX_NAME, SHARDS)


def entry(**fields):
    base = {"service_name": "svc", "level": "INFO", "message": "hello"}
    return parse_entry(base | fields, SETTINGS)


def seed(table, count, services, rng):
    """Write ``count`` entries with random timestamps (and some exact ties) directly."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    expected = []
    with table.batch_writer() as batch:
        for n in range(count):
            moment = start + timedelta(milliseconds=rng.randrange(0, 3_600_000))
            if n % 50 == 0 and expected:
                moment_text = expected[-1]["timestamp"]  # same millisecond as another entry
            else:
                moment_text = keys.format_timestamp(moment)
            log_id = f"id-{n:05d}"
            item = {
                "service_name": f"service-{rng.randrange(services):02d}",
                "sk": keys.sort_key(moment_text, log_id),
                "log_id": log_id,
                "timestamp": moment_text,
                "ingested_at": moment_text,
                "level": rng.choice(limits.LEVELS),
                "log_type": "application",
                "message": f"message {n}",
                "gsi_shard": keys.shard_for(log_id, SHARDS),
                "expires_at": 2_000_000_000,
            }
            batch.put_item(Item=item)
            expected.append(item)
    return expected


def newest(items, n):
    return [i["log_id"] for i in sorted(items, key=lambda i: i["sk"], reverse=True)[:n]]


def test_newest_100_across_20_services_is_exact_in_about_one_round(table):
    """One query per shard nearly always (each asks for its share plus margin), and the items
    read stay within twice N."""
    expected = seed(table, 2000, 20, random.Random(7))
    page = reader(table).recent(RecentQuery(limit=100))
    assert [e["log_id"] for e in page.logs] == newest(expected, 100)
    assert page.queries <= SHARDS + 1, page.queries
    assert page.items_read <= 2 * 100, page.items_read


def test_newest_across_shards_stays_exact_when_one_shard_holds_them_all(table):
    """The margin is for uniform shards; a skewed one (every newest entry on one shard) still
    merges exactly, through more rounds."""
    expected = seed(table, 400, 5, random.Random(11))
    newest_first = sorted(expected, key=lambda i: i["sk"], reverse=True)
    for item in newest_first[:60]:
        table.update_item(
            Key={"service_name": item["service_name"], "sk": item["sk"]},
            UpdateExpression="SET gsi_shard = :s",
            ExpressionAttributeValues={":s": keys.shard_for("0", SHARDS)},
        )
    page = reader(table).recent(RecentQuery(limit=50))
    assert [e["log_id"] for e in page.logs] == newest(expected, 50)
    assert page.queries > SHARDS


def test_newest_per_service_uses_its_partition(table):
    expected = seed(table, 600, 3, random.Random(3))
    mine = [i for i in expected if i["service_name"] == "service-01"]
    page = reader(table).recent(RecentQuery(service_name="service-01", limit=50))
    assert [e["log_id"] for e in page.logs] == newest(mine, 50)
    assert page.queries == 1


@pytest.mark.parametrize("service", [None, "service-02"])
def test_paging_yields_every_entry_once_even_while_entries_arrive(table, service):
    rng = random.Random(11)
    expected = seed(table, 700, 4, rng)
    subset = [i for i in expected if service is None or i["service_name"] == service]
    log_reader = reader(table)
    seen, cursor, pages = [], None, 0
    while pages < 100:
        page = log_reader.recent(RecentQuery(service_name=service, limit=37, cursor=cursor))
        seen.extend(e["log_id"] for e in page.logs)
        pages += 1
        if pages == 2:  # newer entries arrive mid-walk: they must not shift later pages
            w = writer()
            for n in range(5):
                w.put(entry(service_name=service or "service-00", log_id=f"late-{n}"))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))
    assert set(newest(subset, len(subset))) <= set(seen)
    assert [x for x in seen if not x.startswith("late-")] == newest(subset, len(subset))


def test_replay_after_server_timestamp_is_a_duplicate(table):
    w = writer()
    first = w.put(entry(log_id="r-1"))
    second = w.put(entry(log_id="r-1"))
    assert (first.status, second.status) == (STORED, DUPLICATE)
    assert len(log_items(table)) == 1
    with pytest.raises(ConflictError):
        w.put(entry(log_id="r-1", level="ERROR"))
    with pytest.raises(ConflictError):
        w.put(entry(log_id="r-1", timestamp="2026-01-01T00:00:00Z"))


class FaultyClient:
    """Wraps a DynamoDB client; fails chosen calls before or after they take effect."""

    def __init__(self, inner, plan):
        self.inner = inner
        self.plan = plan  # list of (operation, "before"|"after"|None) consumed per call
        self.calls = []

    def _call(self, operation, **kwargs):
        self.calls.append(operation)
        mode = None
        for index, (op, when) in enumerate(self.plan):
            if op == operation:
                mode = when
                del self.plan[index]
                break
        if mode == "before":
            raise throttled(operation)
        if mode == "closed-before":
            raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1")
        if mode in WITHHELD:
            return self._write_some(kwargs["RequestItems"], WITHHELD[mode])
        result = getattr(self.inner, operation)(**kwargs)
        if mode == "after":
            raise ClientError({"Error": {"Code": "InternalServerError"}}, operation)
        if mode == "closed-after":  # it took effect; the answer never came
            raise ReadTimeoutError(endpoint_url="http://127.0.0.1:1")
        return result

    def put_item(self, **kwargs):
        return self._call("put_item", **kwargs)

    def get_item(self, **kwargs):
        return self._call("get_item", **kwargs)

    def batch_write_item(self, **kwargs):
        return self._call("batch_write_item", **kwargs)

    def _write_some(self, request_items, withhold):
        """As DynamoDB under load: write some requests, hand back the rest as unprocessed."""
        ((table, requests),) = request_items.items()
        withheld = [r for n, r in enumerate(requests) if withhold(n, r["PutRequest"]["Item"])]
        written = [r for r in requests if r not in withheld]
        if written:
            self.inner.batch_write_item(RequestItems={table: written})
        return {"UnprocessedItems": {table: withheld} if withheld else {}}


# BatchWriteItem faults: which requests (position, item) come back unprocessed.
WITHHELD = {
    "unprocessed-half": lambda n, _item: n % 2 == 1,
    "unprocessed-all": lambda _n, _item: True,
    "unprocessed-odd-ids": lambda _n, item: int(item["log_id"][-1]) % 2 == 1,
}


def throttled(operation):
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        operation,
    )


def test_write_that_took_effect_before_an_error_is_stored_once(table):
    faulty = FaultyClient(client(), [("put_item", "after"), ("put_item", "after")])
    result = writer(faulty).put(entry(log_id="a-1"))
    assert result.status == STORED
    assert [i["log_id"] for i in log_items(table)] == ["a-1"]


@pytest.mark.parametrize("when", ["closed-before", "closed-after"])
def test_a_connection_lost_mid_call_is_retried_and_stores_the_entry_once(table, when):
    """A keep-alive connection the server closed as idle, a read timeout: both Puts retried."""
    faulty = FaultyClient(client(), [("put_item", when), ("put_item", when)])
    assert writer(faulty).put(entry(log_id="c-1")).status == STORED
    assert [i["log_id"] for i in log_items(table)] == ["c-1"]
    assert faulty.calls.count("put_item") >= 3


def test_throttled_then_recovered_write_is_stored(table):
    faulty = FaultyClient(client(), [("put_item", "before")] * 3)
    assert writer(faulty).put(entry(log_id="t-1")).status == STORED
    assert len(log_items(table)) == 1


def test_half_written_entry_is_finished_by_the_retry(table):
    # The marker was written, then every later call failed: the client saw an error.
    faulty = FaultyClient(client(), [("put_item", None)] + [("put_item", "before")] * 10)
    with pytest.raises(Unavailable):
        writer(faulty).put(entry(log_id="h-1"))
    assert log_items(table) == []
    # The client retries (server picks the time again): the entry is completed once.
    assert writer().put(entry(log_id="h-1")).status == STORED
    assert [i["log_id"] for i in log_items(table)] == ["h-1"]


def test_throttled_batch_is_retried_then_reported_nothing_silently_lost(table):
    plan = [("put_item", "before")] * 200  # more failures than the backoff allows for some
    faulty = FaultyClient(client(), plan)
    logs = [
        {"service_name": "svc", "level": "INFO", "message": f"m{i}", "log_id": f"b{i}"}
        for i in range(10)
    ]
    try:
        status, body = handle_post({"logs": logs}, writer(faulty), SETTINGS)
    except Unavailable:
        status, body = 503, {"results": []}
    stored_ids = {i["log_id"] for i in log_items(table)}
    if status == 503:
        assert stored_ids == set()
    else:
        assert status in (201, 207)
        reported_stored = {r["log_id"] for r in body["results"] if r["status"] != NOT_STORED}
        assert reported_stored == stored_ids
        assert len(body["results"]) == 10
    # Retrying the not-stored entries with their log_ids completes the batch exactly once.
    status, body = handle_post({"logs": logs}, writer(), SETTINGS)
    assert status == 201
    assert {i["log_id"] for i in log_items(table)} == {f"b{i}" for i in range(10)}
    assert len(log_items(table)) == 10


def test_batch_fully_throttled_is_503(table):
    faulty = FaultyClient(client(), [("put_item", "before")] * 1000)
    logs = [{"service_name": "svc", "level": "INFO", "message": f"m{i}"} for i in range(3)]
    with pytest.raises(Unavailable):
        handle_post({"logs": logs}, writer(faulty), SETTINGS)
    assert log_items(table) == []


def test_batch_with_a_conflicting_entry_is_207(table):
    writer().put(entry(log_id="c-1"))
    logs = [
        {"service_name": "svc", "level": "INFO", "message": "new", "log_id": "c-2"},
        {"service_name": "svc", "level": "ERROR", "message": "changed", "log_id": "c-1"},
    ]
    status, body = handle_post({"logs": logs}, writer(), SETTINGS)
    assert status == 207
    assert [r["status"] for r in body["results"]] == [STORED, NOT_STORED]
    assert "different content" in body["results"][1]["error"]


def batch_of(count, prefix):
    return [
        {"service_name": "svc", "level": "INFO", "message": f"m{i}", "log_id": f"{prefix}{i}"}
        for i in range(count)
    ]


def stored_once(table, log_ids):
    """Every log_id has exactly one log item and one marker, nothing else is there."""
    found = [i["log_id"] for i in log_items(table)]
    markers = [i["log_id"] for i in all_items(table) if keys.is_marker(i)]
    return sorted(found) == sorted(log_ids) == sorted(markers)


@pytest.mark.parametrize("count", [1, 20, 60])
def test_a_batch_claims_each_marker_then_writes_the_log_items_in_batches(table, count):
    counting = FaultyClient(client(), [])
    status, body = handle_post({"logs": batch_of(count, "w")}, writer(counting), SETTINGS)
    assert status == 201
    assert [r["status"] for r in body["results"]] == [STORED] * count
    assert counting.calls.count("put_item") == count  # the markers
    assert counting.calls.count("batch_write_item") == -(-count // 25)
    assert stored_once(table, [f"w{i}" for i in range(count)])
    sent = {e["log_id"]: e["message"] for e in batch_of(count, "w")}
    assert {i["log_id"]: i["message"] for i in log_items(table)} == sent


def test_unprocessed_log_items_are_sent_again_until_written(table):
    faulty = FaultyClient(client(), [("batch_write_item", "unprocessed-half")] * 3)
    status, body = handle_post({"logs": batch_of(20, "u")}, writer(faulty), SETTINGS)
    assert status == 201, body
    assert faulty.calls.count("batch_write_item") == 4
    assert stored_once(table, [f"u{i}" for i in range(20)])


def test_log_items_never_processed_are_not_stored_and_their_retry_finishes_them(table):
    faulty = FaultyClient(client(), [("batch_write_item", "unprocessed-all")] * 100)
    with pytest.raises(Unavailable):  # nothing written, every entry retryable: a 503
        handle_post({"logs": batch_of(5, "n")}, writer(faulty), SETTINGS)
    assert log_items(table) == []
    status, body = handle_post({"logs": batch_of(5, "n")}, writer(), SETTINGS)
    assert status == 201
    assert [r["status"] for r in body["results"]] == [STORED] * 5
    assert stored_once(table, [f"n{i}" for i in range(5)])


def test_a_batch_whose_item_write_failed_after_taking_effect_is_stored_once(table):
    faulty = FaultyClient(client(), [("batch_write_item", "closed-after")])
    status, _ = handle_post({"logs": batch_of(10, "a")}, writer(faulty), SETTINGS)
    assert status == 201
    assert faulty.calls.count("batch_write_item") == 2
    assert stored_once(table, [f"a{i}" for i in range(10)])


def test_some_items_unwritten_is_207_naming_exactly_those(table):
    # The same items are withheld on every try: those entries are not_stored, retryable.
    faulty = FaultyClient(client(), [("batch_write_item", "unprocessed-odd-ids")] * 100)
    status, body = handle_post({"logs": batch_of(6, "p")}, writer(faulty), SETTINGS)
    assert status == 207
    not_stored = {r["log_id"] for r in body["results"] if r["status"] == NOT_STORED}
    stored = {r["log_id"] for r in body["results"] if r["status"] == STORED}
    assert not_stored == {"p1", "p3", "p5"}
    assert stored == {"p0", "p2", "p4"} == {i["log_id"] for i in log_items(table)}
    assert all("retry later" in r["error"] for r in body["results"] if r["status"] == NOT_STORED)


def test_the_same_log_id_twice_in_one_batch_is_stored_once(table):
    logs = batch_of(3, "d") + batch_of(1, "d")  # d0 twice, same content
    status, body = handle_post({"logs": logs}, writer(), SETTINGS)
    assert status == 201
    assert sorted(r["status"] for r in body["results"] if r["log_id"] == "d0") in (
        [DUPLICATE, STORED],
        [STORED, STORED],
    )
    assert stored_once(table, ["d0", "d1", "d2"])


class ThrottledTable:
    """A table whose Query is always throttled (after botocore's own retries)."""

    def query(self, **kwargs):
        raise throttled("query")


def test_read_under_throttling_is_a_503_not_a_wrong_answer():
    from log_service.recent import handle_get

    with pytest.raises(Unavailable):
        handle_get({"limit": ["5"]}, LogReader(ThrottledTable(), keys.DEFAULT_INDEX_NAME, SHARDS))
    with pytest.raises(Unavailable):
        handle_get({"service_name": ["svc"]}, LogReader(ThrottledTable(), "idx", SHARDS))
