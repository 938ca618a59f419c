"""Gap dynamodb_item_writes: writes to one item apply one at a time, as on DynamoDB.

moto checks a condition and then writes with no lock between; the tests widen that window (the
condition check takes 20 ms) so that two concurrent writes of one key overlap every time unless
something orders them: with the gap exactly one conditional Put wins, without it several do.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import dynamo_workload
import log_table_support
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.gaps import dynamodb_item_writes

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=16)
WRITERS = 8


@pytest.fixture(scope="module")
def endpoint():
    with serve_in_thread(build_moto_app()) as url:
        yield url


@pytest.fixture
def client(endpoint):
    return log_table_support.client(endpoint, "dynamodb", config=NO_RETRIES)


@pytest.fixture
def table(client):
    name = f"items-{uuid.uuid4().hex[:8]}"
    dynamo_workload.create_table(client, name)
    yield name
    client.delete_table(TableName=name)


class SlowConditions:
    """moto's condition check of a Put sleeps 20 ms; counts how many run at once. With
    ``gather`` set, each check also waits (at most 5 s) until that many checks are running,
    so a busy machine cannot let the writers through one after another by chance."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.gather: threading.Barrier | None = None

    @contextmanager
    def checking(self):
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(0.02)
            if self.gather is not None:
                with contextlib.suppress(threading.BrokenBarrierError):
                    self.gather.wait(timeout=5)
            yield
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def slow_conditions(monkeypatch):
    from moto.dynamodb.models import table as table_module

    seen = SlowConditions()
    original = table_module.get_filter_expression

    def slow(*args, **kwargs):
        condition = original(*args, **kwargs)

        class Slow:
            def expr(self, item):
                with seen.checking():
                    return condition.expr(item)

        return Slow()

    monkeypatch.setattr(table_module, "get_filter_expression", slow)
    return seen


def claim(client, table: str, key: str, writer: int) -> bool:
    """A conditional Put of ``key`` (the service's idempotency marker); True if it won."""
    try:
        client.put_item(
            TableName=table,
            Item={"p": {"S": key}, "s": {"N": "0"}, "writer": {"N": str(writer)}},
            ConditionExpression="attribute_not_exists(p)",
        )
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
        return False
    return True


def claims_at_once(client, table: str, keys: list[str]) -> list[bool]:
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(lambda n: claim(client, table, keys[n], n), range(len(keys))))


def test_concurrent_conditional_puts_of_one_item_have_one_winner(client, table, slow_conditions):
    won = claims_at_once(client, table, ["same"] * WRITERS)
    assert won.count(True) == 1, won
    stored = client.get_item(TableName=table, Key={"p": {"S": "same"}, "s": {"N": "0"}})
    assert stored["Item"]["writer"]["N"] == str(won.index(True))  # the winner's, not overwritten


def test_without_the_gap_several_writers_win(client, table, slow_conditions, monkeypatch):
    """What the test above would see on plain moto: the window is real."""

    @contextmanager
    def no_locks(_stripes):
        yield

    monkeypatch.setattr(dynamodb_item_writes, "holding", no_locks)
    slow_conditions.gather = threading.Barrier(WRITERS)  # all checks under way at once
    won = claims_at_once(client, table, ["same"] * WRITERS)
    assert won.count(True) > 1, won


def test_writes_to_different_items_still_run_side_by_side(client, table, slow_conditions):
    won = claims_at_once(client, table, [f"key-{n}" for n in range(WRITERS)])
    assert all(won)
    assert slow_conditions.most_at_once > 1  # not one lock for the whole table


def test_a_batch_locks_each_item_once_in_order(client, table):
    account, region = "123456789012", "us-east-1"
    item = {"p": {"S": "a"}, "s": {"N": "1"}}
    other = {"p": {"S": "b"}, "s": {"N": "1"}}
    request = {
        "RequestItems": {
            table: [
                {"PutRequest": {"Item": {**item, "x": {"N": "1"}}}},
                {"DeleteRequest": {"Key": other}},
                {"PutRequest": {"Item": {**item, "x": {"N": "2"}}}},
            ],
            "no-such-table": [{"PutRequest": {"Item": item}}],
        }
    }
    stripes = dynamodb_item_writes.stripes_of(account, region, "BatchWriteItem", request)
    stripe_of = dynamodb_item_writes.stripes_of
    alone = {
        stripe_of(account, region, "PutItem", {"TableName": table, "Item": i})[0]
        for i in (item, other)
    }
    assert stripes == sorted(alone)  # a's stripe once, b's, none for the unknown table
