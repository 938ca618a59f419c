"""Nothing lost, nothing stored twice: the real handlers under injected DynamoDB faults.

The handlers run in this process (as the local stack's workers run them) against an in-process
moto server wrapped with the local stack's gap middlewares, fault injection included
(``AWS_ENDPOINT_URL`` points at it). Each scenario posts a fault plan, drives a campaign
(``slsops.harness.campaign``: singles, batches, reads, client retries), clears the faults and counts
the table. The same campaign runs against the whole local stack in ``nox -s reliability``.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from service_support import FakeContext, create_table, proxy_event, reset_runtime

from log_service import keys, runtime
from log_service.errors import ApiError
from log_service.ingest import handle_post
from slsops.deployment import dynamo_pages
from slsops.harness import campaign
from slsops.local import fault_admin
from slsops.local.aws_app import build_moto_app, serve_in_thread

SHARDS = "4"


class InProcessApi:
    """The two handlers behind proxy events; an unhandled exception is API Gateway's 502."""

    def __init__(self, table: Any) -> None:
        from log_service import ingest_handler, read_handler

        self.table = table
        self.ingest = ingest_handler.handler
        self.read = read_handler.handler
        self.lock = threading.Lock()  # a powertools resolver serves one event at a time

    def _call(self, handler, event) -> campaign.Answer:
        with self.lock:
            try:
                response = handler(event, FakeContext())
            except Exception as exc:  # what a Lambda error becomes at the gateway
                return campaign.Answer(502, {"message": f"Internal server error ({exc!r})"}, {})
        headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
        headers.update(response.get("headers") or {})
        return campaign.Answer(response["statusCode"], json.loads(response["body"]), headers)

    def post(self, body):
        return self._call(self.ingest, proxy_event("POST", "/logs", body=body))

    def get(self, params):
        query = {k: [v] for k, v in params.items()}
        return self._call(self.read, proxy_event("GET", "/logs/recent", query=query))

    def log_items(self, service_name):
        return list(
            dynamo_pages.items(
                self.table.query,
                max_pages=1000,
                KeyConditionExpression=Key(keys.PARTITION_KEY).eq(service_name),
                ConsistentRead=True,
            )
        )


@pytest.fixture(scope="module")
def endpoint():
    with serve_in_thread(build_moto_app()) as url:
        yield url


@pytest.fixture
def api(endpoint, monkeypatch):
    table_name = f"logs-rel-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", table_name)
    monkeypatch.setenv("SHARD_COUNT", SHARDS)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")
    fault_admin.clear(endpoint)
    table = create_table(table_name)
    reset_runtime()
    yield InProcessApi(table)
    fault_admin.clear(endpoint)
    reset_runtime()
    boto3.client("dynamodb").delete_table(TableName=table_name)


rule = campaign.rule
SCENARIOS = campaign.SCENARIOS


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_campaign_under_faults_loses_nothing(api, endpoint, scenario):
    plan = {"seed": 8, "rules": SCENARIOS[scenario]}
    result = campaign.run(
        api,
        service=f"rel-{scenario}",
        prefix=f"{scenario}-{uuid.uuid4().hex[:6]}",
        singles=20,
        batches=3,
        batch_size=10,
        reads=6,
        with_faults=lambda: fault_admin.set_plan(endpoint, plan),
        without_faults=lambda: fault_admin.clear(endpoint),
    )
    tally = result.tally
    summary = tally.summary()
    print(scenario, summary)
    assert tally.problems == []
    assert tally.unclean_errors == 0
    assert (tally.lost, tally.duplicates, tally.unknown, tally.altered) == ([], [], [], [])
    assert len(tally.acknowledged) == len(tally.sent) == tally.found == 50


def test_faults_really_bite(api, endpoint):
    """The plans above are not vacuous: a heavy throttle forces 503s, 207s and retries."""
    plan = {"seed": 2, "rules": [rule("PutItem", "throttle", 0.85)]}
    fault_admin.set_plan(endpoint, plan)
    try:
        probe = campaign.Campaign(api, "rel-bite")
        singles = campaign.make_entries("rel-bite", f"bite-{uuid.uuid4().hex[:6]}", 40)
        acked = [probe.send_single(e) for e in singles[:20]]
        failed = probe.send_batch(singles[20:])
        injected = fault_admin.show(endpoint)["counters"]["total_injected"]
    finally:
        fault_admin.clear(endpoint)
    assert not all(acked), "a throttle of 85% should make some single ingest give up"
    assert probe.tally.statuses["single 503"] > 0
    assert 0 < len(failed) < 20 or probe.tally.statuses["batch 503"] == 1
    assert injected > 20
    # Before-faults never took effect: what was answered not stored is not in the table.
    stored = {i["log_id"] for i in api.log_items("rel-bite") if not keys.is_marker(i)}
    not_acked = set(probe.tally.sent) - probe.tally.acknowledged
    assert stored.isdisjoint(not_acked)
    assert probe.tally.acknowledged <= stored
    assert probe.tally.unclean_errors == 0


def test_unprocessed_batch_items_are_retried_or_reported_never_lost(api, endpoint):
    """BatchWriteItem withholds 90% of a batch's log items on every call: the writer's retries
    and the per-entry results must still account for each entry exactly."""
    fault_admin.set_plan(
        endpoint, {"seed": 3, "rules": [rule("BatchWriteItem", "unprocessed", 0.9)]}
    )
    try:
        probe = campaign.Campaign(api, "rel-unprocessed")
        entries = campaign.make_entries("rel-unprocessed", f"unp-{uuid.uuid4().hex[:6]}", 20)
        failed = probe.send_batch(entries)
        counters = fault_admin.show(endpoint)["counters"]
    finally:
        fault_admin.clear(endpoint)
    assert counters["total_injected"] > 0
    assert probe.tally.problems == []
    stored = {i["log_id"] for i in _stored(api, "rel-unprocessed")}
    assert stored == probe.tally.acknowledged
    assert set(failed) == {e["log_id"] for e in entries} - stored
    assert probe.send_batch([e for e in entries if e["log_id"] in failed]) == []
    assert {i["log_id"] for i in _stored(api, "rel-unprocessed")} == {e["log_id"] for e in entries}


def _post_direct(body):
    """The ingest logic (thread-safe, unlike a resolver) as the Lambda runs it."""
    try:
        return handle_post(body, runtime.writer(), runtime.settings())[0]
    except ApiError as exc:
        return exc.status


def _stored(api, service):
    return [i for i in api.log_items(service) if not keys.is_marker(i)]


@pytest.mark.parametrize("faults", [False, True])
def test_same_service_same_millisecond_loses_nothing(api, endpoint, faults):
    service = f"rel-tie-{faults}".lower()
    entries = [
        {
            "service_name": service,
            "log_id": f"tie-{n:03d}",
            "level": "INFO",
            "message": f"tie {n}",
            "timestamp": campaign.FIXED_TIMESTAMP,
        }
        for n in range(64)
    ]
    if faults:
        fault_admin.set_plan(endpoint, {"seed": 5, "rules": [rule("PutItem", "throttle", 0.3)]})
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(_post_direct, entries))
    fault_admin.clear(endpoint)
    for entry, status in zip(entries, statuses, strict=True):
        if status != 201:  # the client retries what was not acknowledged
            assert status == 503
            assert _post_direct(entry) == 201
    items = _stored(api, service)
    assert sorted(i["log_id"] for i in items) == [e["log_id"] for e in entries]
    assert {i["timestamp"] for i in items} == {campaign.FIXED_TIMESTAMP}


@pytest.mark.parametrize("plan", [None, [rule("PutItem", "internal", 0.5, "after")]])
def test_concurrent_retries_of_one_log_id_store_one_entry(api, endpoint, plan):
    service = "rel-retry"
    log_id = f"retry-{uuid.uuid4().hex[:8]}"
    # No timestamp: the server picks one per attempt, the marker must still make it one entry.
    entry = {"service_name": service, "log_id": log_id, "level": "WARN", "message": "again"}
    if plan:
        fault_admin.set_plan(endpoint, {"seed": 11, "rules": plan})
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(_post_direct, [dict(entry) for _ in range(24)]))
    fault_admin.clear(endpoint)
    assert set(statuses) <= {201, 503}
    assert _post_direct(dict(entry)) == 201
    items = _stored(api, service)
    assert [i["log_id"] for i in items] == [log_id]
    # Same log_id, other content: refused, and still one entry.
    assert _post_direct(dict(entry, message="different")) == 409
    assert len(_stored(api, service)) == 1


# ------------------------------------------------------------------------------ local stack


@pytest.mark.stack
@pytest.mark.timeout(900)
@pytest.mark.parametrize("scenario", ["throttle-before", "internal-after", "query-throttle"])
def test_campaign_through_the_local_stack(local_stack, scenario):
    """The same campaign through the signed API, the emulator and the stack's workers."""
    from slsops.harness.stack_api import StackApi

    api = StackApi(local_stack)
    endpoint = fault_admin.endpoint_of(local_stack)
    plan = {"seed": 8, "rules": SCENARIOS[scenario]}
    run_id = uuid.uuid4().hex[:6]
    try:
        result = campaign.run(
            api,
            service=f"rel-stack-{scenario}-{run_id}",
            prefix=f"stack-{scenario}-{run_id}",
            singles=12,
            batches=2,
            batch_size=6,
            reads=4,
            with_faults=lambda: fault_admin.set_plan(endpoint, plan),
            without_faults=lambda: fault_admin.clear(endpoint),
        )
    finally:
        fault_admin.clear(endpoint)
    tally = result.tally
    print(scenario, tally.summary())
    assert tally.problems == []
    assert (tally.lost, tally.duplicates, tally.unknown, tally.altered) == ([], [], [], [])
    assert len(tally.acknowledged) == tally.found == 24


@pytest.mark.stack
@pytest.mark.timeout(600)
def test_many_clients_same_millisecond_through_the_local_stack(local_stack):
    from slsops.harness.reliability import FULL, _concurrency
    from slsops.harness.stack_api import StackApi

    tally = _concurrency(StackApi(local_stack), FULL, uuid.uuid4().hex[:6])
    assert tally.problems == []
    assert (tally.lost, tally.duplicates) == ([], [])
    assert len(tally.acknowledged) == tally.found == FULL.same_millisecond + 1
