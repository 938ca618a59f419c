"""Differential test: moto's Query answered from sorted views equals moto's own Query.

Random writes (put, update that moves index keys, delete, batch, transaction) and random
Queries (table, GSI with and without a range key, LSI; every key-condition operator, filters,
Limit, ExclusiveStartKey, ScanIndexForward, projections, consistent reads) run through boto3
against in-process moto with the speed patch installed. Every Query is answered twice on the
same data, by the patch and by moto's original ``Table.query``, and the two answers (items,
ScannedCount, LastEvaluatedKey, or the error) must be identical.
"""

from __future__ import annotations

import contextlib
import random
import threading
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto_in_process import dynamodb_client

from slsops.local.speed import dynamodb_index

TABLE = "speed-diff"
SERVICES = ["api", "auth", "billing", "api-gw", "web"]
LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"]


def _answer(call: Any) -> tuple:
    """A comparable form of what ``Table.query`` returned or raised."""
    try:
        results, scanned, last_key = call()
    except Exception as error:
        return ("error", type(error).__name__, str(error))
    last = None if last_key is None else {k: _plain(v) for k, v in sorted(last_key.items())}
    return ("ok", [r.to_json() for r in results], scanned, last)


def _plain(value: Any) -> Any:
    return value.to_json() if hasattr(value, "to_json") else value


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch):
    """Install the patch; route every Query through both paths and record disagreements."""
    dynamodb_index.install()
    stats = {"queries": 0, "fast": 0, "mismatches": []}
    patched = Table.query
    original = dynamodb_index._originals["query"]

    def both(self: Table, *args: Any, **kwargs: Any):
        stats["queries"] += 1
        fast = _answer(lambda: patched(self, *args, **kwargs))
        slow = _answer(lambda: original(self, *args, **kwargs))
        if fast != slow:
            stats["mismatches"].append({"args": repr(args)[:600], "fast": fast, "slow": slow})
        return patched(self, *args, **kwargs)

    monkeypatch.setattr(Table, "query", both)
    with mock_aws():
        client = dynamodb_client()
        _create_table(client)
        yield client, stats


def _create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "service_name", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gsi_shard", "AttributeType": "N"},
            {"AttributeName": "level", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "service_name", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "all-services",
                "KeySchema": [
                    {"AttributeName": "gsi_shard", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by-level",
                "KeySchema": [{"AttributeName": "level", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-n",
                "KeySchema": [
                    {"AttributeName": "service_name", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["level"]},
            }
        ],
    )


def _sk(rng: random.Random) -> str:
    return f"2026-01-0{rng.randrange(1, 4)}T{rng.randrange(0, 3):02d}:00#{rng.randrange(0, 40):02d}"


def _number(rng: random.Random) -> str:
    return rng.choice([str(rng.randrange(-50, 50)), f"{rng.randrange(0, 99)}.5", "1e1", "10"])


def _item(rng: random.Random) -> dict[str, Any]:
    item: dict[str, Any] = {
        "service_name": {"S": rng.choice(SERVICES)},
        "sk": {"S": _sk(rng)},
        "message": {"S": "m" * rng.randrange(0, 30)},
    }
    if rng.random() < 0.85:
        item["gsi_shard"] = {"N": str(rng.randrange(0, 4))}
    if rng.random() < 0.7:
        item["level"] = {"S": rng.choice(LEVELS)}
    if rng.random() < 0.7:
        item["n"] = {"N": _number(rng)}
    return item


def _key(rng: random.Random) -> dict[str, Any]:
    return {"service_name": {"S": rng.choice(SERVICES)}, "sk": {"S": _sk(rng)}}


def _write(client: Any, rng: random.Random) -> None:
    kind = rng.random()
    if kind < 0.45:
        client.put_item(TableName=TABLE, Item=_item(rng))
    elif kind < 0.7:
        _update(client, rng)
    elif kind < 0.85:
        client.delete_item(TableName=TABLE, Key=_key(rng))
    elif kind < 0.95:
        items = {}
        for _ in range(rng.randrange(1, 6)):
            item = _item(rng)
            items.setdefault((item["service_name"]["S"], item["sk"]["S"]), item)
        writes: list[dict[str, Any]] = [{"PutRequest": {"Item": i}} for i in items.values()]
        key = _key(rng)
        if (key["service_name"]["S"], key["sk"]["S"]) not in items:
            writes.append({"DeleteRequest": {"Key": key}})
        client.batch_write_item(RequestItems={TABLE: writes})
    else:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item(rng)}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key(rng),
                        "UpdateExpression": "SET gsi_shard = :g",
                        "ExpressionAttributeValues": {":g": {"N": str(rng.randrange(0, 4))}},
                    }
                },
            ]
        )


def _update(client: Any, rng: random.Random) -> None:
    choice = rng.randrange(5)
    expression, values = {
        0: ("SET gsi_shard = :v", {":v": {"N": str(rng.randrange(0, 4))}}),
        1: ("REMOVE gsi_shard", {}),
        2: ("SET #l = :v", {":v": {"S": rng.choice(LEVELS)}}),
        3: ("SET n = :v, message = :m", {":v": {"N": _number(rng)}, ":m": {"S": "updated"}}),
        4: ("REMOVE n, #l", {}),
    }[choice]
    kwargs: dict[str, Any] = {"TableName": TABLE, "Key": _key(rng), "UpdateExpression": expression}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if "#l" in expression:
        kwargs["ExpressionAttributeNames"] = {"#l": "level"}
    # moto may refuse an odd update; both paths see the same table either way
    with contextlib.suppress(ClientError):
        client.update_item(**kwargs)


def _range_condition(rng: random.Random, attr: str, values: dict[str, Any]) -> str | None:
    op = rng.choice(["=", "<", "<=", ">", ">=", "between", "begins", None])
    if op is None:
        return None
    if attr == "n":
        low, high = sorted([Decimal(_number(rng)), Decimal(_number(rng))])
        values[":r1"], values[":r2"] = {"N": str(low)}, {"N": str(high)}
        if op == "begins":
            op = ">="
    else:
        low, high = sorted([_sk(rng), _sk(rng)])
        values[":r1"], values[":r2"] = {"S": low}, {"S": high}
        if op == "begins":
            values[":r1"] = {"S": low[: rng.randrange(0, 14)]}
    if op == "between":
        return "#r BETWEEN :r1 AND :r2"
    if op == "begins":
        return "begins_with(#r, :r1)"
    values.pop(":r2")
    return f"#r {op} :r1"


def _query_kwargs(rng: random.Random) -> dict[str, Any]:
    target = rng.choice(["table", "all-services", "by-level", "by-n"])
    names = {"#h": "service_name"}
    values: dict[str, Any] = {":h": {"S": rng.choice(SERVICES)}}
    range_attr = {"table": "sk", "all-services": "sk", "by-n": "n", "by-level": None}[target]
    kwargs: dict[str, Any] = {"TableName": TABLE}
    if target != "table":
        kwargs["IndexName"] = target
    if target == "all-services":
        names["#h"], values[":h"] = "gsi_shard", {"N": str(rng.randrange(0, 4))}
    elif target == "by-level":
        names["#h"], values[":h"] = "level", {"S": rng.choice(LEVELS)}
    condition = "#h = :h"
    if range_attr and rng.random() < 0.7:
        extra = _range_condition(rng, range_attr, values)
        if extra:
            names["#r"] = range_attr
            condition += " AND " + extra
    kwargs["KeyConditionExpression"] = condition
    if rng.random() < 0.5:
        kwargs["Limit"] = rng.choice([1, 2, 3, 5, 10, 100])
    if rng.random() < 0.5:
        kwargs["ScanIndexForward"] = False
    if rng.random() < 0.25:
        names["#m"] = "message"
        values[":m"] = {"S": "m" * rng.randrange(0, 20)}
        kwargs["FilterExpression"] = rng.choice(["#m > :m", "attribute_exists(#m)"])
        if "attribute_exists" in kwargs["FilterExpression"]:
            values.pop(":m")
    if rng.random() < 0.25:
        names["#s"] = "sk"
        kwargs["ProjectionExpression"] = rng.choice(
            ["#s", "#h, #s", "message", "n", "#s, n, level", "missing, message"]
        )
    if target == "table" and rng.random() < 0.2:
        kwargs["ConsistentRead"] = True
    if target == "all-services" and rng.random() < 0.03:
        kwargs["ConsistentRead"] = True  # refused on a GSI, by both
    used = kwargs["KeyConditionExpression"] + kwargs.get("FilterExpression", "")
    used += kwargs.get("ProjectionExpression", "")
    kwargs["ExpressionAttributeNames"] = {k: v for k, v in names.items() if k in used}
    values = {k: v for k, v in values.items() if k in used}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    return kwargs


def _paged_query(client: Any, rng: random.Random, kwargs: dict[str, Any]) -> None:
    """Follow LastEvaluatedKey (bounded), sometimes starting from an arbitrary stored key."""
    if "Limit" in kwargs and rng.random() < 0.2:
        start = client.scan(TableName=TABLE, Limit=rng.randrange(1, 20)).get("Items") or []
        if start and "IndexName" not in kwargs:
            kwargs["ExclusiveStartKey"] = {k: start[-1][k] for k in ("service_name", "sk")}
    for _ in range(30):
        try:
            page = client.query(**kwargs)
        except ClientError:
            return
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_operations_answer_the_same_as_moto(compared, seed: int) -> None:
    client, stats = compared
    rng = random.Random(seed)
    for _ in range(120):
        client.put_item(TableName=TABLE, Item=_item(rng))
    for _ in range(350):
        if rng.random() < 0.55:
            _write(client, rng)
        else:
            _paged_query(client, rng, _query_kwargs(rng))
    assert stats["queries"] > 200
    assert stats["mismatches"] == []


def test_the_fast_path_answers_most_queries(compared) -> None:
    """The comparison is not vacuous: the patch itself answers the service's query shapes."""
    client, _ = compared
    rng = random.Random(9)
    for _ in range(50):
        client.put_item(TableName=TABLE, Item=_item(rng))
    calls = {"fallback": 0}
    original = dynamodb_index._originals["query"]

    def counting(*args: Any, **kwargs: Any):
        calls["fallback"] += 1
        return original(*args, **kwargs)

    dynamodb_index._originals["query"] = counting
    try:
        for target in ("all-services", None):
            kwargs: dict[str, Any] = {"TableName": TABLE, "Limit": 5, "ScanIndexForward": False}
            if target:
                kwargs.update(
                    IndexName=target,
                    KeyConditionExpression="gsi_shard = :h AND sk < :s",
                    ExpressionAttributeValues={":h": {"N": "1"}, ":s": {"S": "2026-01-03"}},
                )
            else:
                kwargs.update(
                    KeyConditionExpression="service_name = :h",
                    ExpressionAttributeValues={":h": {"S": "api"}},
                )
            client.query(**kwargs)
    finally:
        dynamodb_index._originals["query"] = original
    # the comparison calls moto's query directly; the patch itself never fell back
    assert calls["fallback"] == 0


def test_views_follow_in_place_updates_of_index_keys(compared) -> None:
    client, stats = compared
    key = {"service_name": {"S": "api"}, "sk": {"S": "2026-01-01T00:00#01"}}
    client.put_item(TableName=TABLE, Item={**key, "gsi_shard": {"N": "1"}})

    def shard(n: str) -> list[str]:
        page = client.query(
            TableName=TABLE,
            IndexName="all-services",
            KeyConditionExpression="gsi_shard = :h",
            ExpressionAttributeValues={":h": {"N": n}},
        )
        return [i["sk"]["S"] for i in page["Items"]]

    assert shard("1") == ["2026-01-01T00:00#01"]
    client.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET gsi_shard = :g",
        ExpressionAttributeValues={":g": {"N": "2"}},
    )
    assert shard("1") == [] and shard("2") == ["2026-01-01T00:00#01"]
    client.delete_item(TableName=TABLE, Key=key)
    assert shard("2") == []
    assert stats["mismatches"] == []


def test_views_converge_after_concurrent_writes_and_queries() -> None:
    """Writers and readers race on a threaded moto server; no request fails, and once the
    writers stop every partition answers exactly as moto's own query does."""
    from botocore.config import Config
    from moto.dynamodb.models import dynamodb_backends

    from slsops.local.aws_app import build_moto_app, serve_in_thread

    dynamodb_index.install()
    errors: list[str] = []
    with serve_in_thread(build_moto_app()) as url:
        client = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )
        client.create_table(
            TableName="race",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "service_name", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "gsi_shard", "AttributeType": "N"},
            ],
            KeySchema=[
                {"AttributeName": "service_name", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "all-services",
                    "KeySchema": [
                        {"AttributeName": "gsi_shard", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )

        def writer(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(120):
                try:
                    if rng.random() < 0.7:
                        client.put_item(TableName="race", Item=_item(rng))
                    elif rng.random() < 0.5:
                        _update(client, rng)
                    else:
                        client.delete_item(TableName="race", Key=_key(rng))
                except ClientError as error:
                    errors.append(str(error))

        def reader(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(60):
                kwargs = {
                    "TableName": "race",
                    "IndexName": "all-services",
                    "KeyConditionExpression": "gsi_shard = :h",
                    "ExpressionAttributeValues": {":h": {"N": str(rng.randrange(0, 4))}},
                    "Limit": 10,
                    "ScanIndexForward": False,
                }
                try:
                    client.query(**kwargs)
                except ClientError as error:
                    errors.append(str(error))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
        threads += [threading.Thread(target=reader, args=(10 + n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []

        table = dynamodb_backends["123456789012"]["us-east-1"].get_table("race")
        original = dynamodb_index._originals["query"]
        for shard in range(4):
            for forward in (True, False):
                args = _shard_query_args(shard, forward)
                fast = _answer(lambda a=args: table.query(*a[0], **a[1]))
                slow = _answer(lambda a=args: original(table, *a[0], **a[1]))
                assert fast == slow
        for service in SERVICES:
            args = ((DynamoType({"S": service}), None, [], None, None, True, None), {})
            assert _answer(lambda a=args: table.query(*a[0], **a[1])) == _answer(
                lambda a=args: original(table, *a[0], **a[1])
            )


def _shard_query_args(shard: int, forward: bool) -> tuple[tuple, dict]:
    value = DynamoType({"N": str(shard)})
    positional = (value, None, [], None, None, forward, None, "all-services")
    return positional, {"hash_key_conditions": [("gsi_shard", value)], "range_key_conditions": []}
