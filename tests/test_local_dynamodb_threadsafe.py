"""Gap dynamodb_threadsafe: index queries and scans survive writes landing mid-iteration.

moto loops over the live dict of a table's partitions; a partition inserted by another server
thread meanwhile makes it raise "dictionary changed size during iteration" (HTTP 500). The
first test reproduces that interleaving deterministically against moto's own method and the
patched one; the second checks the patched methods answer exactly as moto's on a real table;
the third runs real parallel writes and index queries through the gap-wrapped server.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.gaps import dynamodb_threadsafe

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


class PartitionSeenDuringAWrite(dict):
    """A partition whose read lets a 'concurrent' writer add a new partition to the table."""

    def __init__(self, table_items: dict, entries: dict) -> None:
        super().__init__(entries)
        self.table_items = table_items

    def values(self):  # type: ignore[override]
        self.table_items[f"new-{len(self.table_items)}"] = {}
        return super().values()


def racing_table() -> SimpleNamespace:
    items: dict = {}
    for pk in ("a", "b"):
        items[pk] = PartitionSeenDuringAWrite(
            items,
            {
                "1": SimpleNamespace(hash_key=pk, range_key="1", attrs={"g": 1}),
            },
        )
    index = SimpleNamespace(schema=[{"AttributeName": "g"}])
    return SimpleNamespace(items=items, range_key_attr="sk", get_index=lambda name: index)


def test_a_partition_added_mid_iteration_breaks_moto_but_not_the_patch() -> None:
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        dynamodb_threadsafe.original("all_items")(racing_table())
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        dynamodb_threadsafe.original("has_idx_items")(racing_table(), "idx")
    assert [i.hash_key for i in dynamodb_threadsafe.all_items(racing_table())] == ["a", "b"]
    assert len(dynamodb_threadsafe.has_idx_items(racing_table(), "idx")) == 2


def dynamodb_client(url: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


def create_table(dynamodb, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
            }
        ],
    )


def test_patched_methods_answer_as_moto_does() -> None:
    from moto.dynamodb.models import dynamodb_backends

    with serve_in_thread(build_moto_app()) as url:
        dynamodb = dynamodb_client(url)
        create_table(dynamodb, "same")
        for n in range(60):
            item = {"pk": {"S": f"p{n % 7}"}, "sk": {"S": f"{n:03d}"}}
            if n % 3:
                item["g"] = {"N": str(n % 2)}
            dynamodb.put_item(TableName="same", Item=item)
        table = dynamodb_backends["123456789012"]["us-east-1"].get_table("same")
        assert dynamodb_threadsafe.all_items(table) == dynamodb_threadsafe.original("all_items")(
            table
        )
        assert dynamodb_threadsafe.has_idx_items(table, "by-g") == dynamodb_threadsafe.original(
            "has_idx_items"
        )(table, "by-g")
        page = dynamodb.query(
            TableName="same",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"N": "1"}},
        )
        assert [i["sk"]["S"] for i in page["Items"]] == sorted(
            f"{n:03d}" for n in range(60) if n % 3 and n % 2
        )


def test_parallel_writes_and_index_queries_all_succeed() -> None:
    with serve_in_thread(build_moto_app()) as url:
        dynamodb = dynamodb_client(url)
        create_table(dynamodb, "busy")
        errors: list[str] = []

        def writer(worker: int) -> None:
            for n in range(100):
                try:
                    dynamodb.put_item(
                        TableName="busy",
                        Item={
                            "pk": {"S": f"w{worker}-{n}"},
                            "sk": {"S": f"{n:04d}"},
                            "g": {"N": str(n % 4)},
                        },
                    )
                except ClientError as exc:
                    errors.append(str(exc))

        def reader() -> None:
            for _ in range(20):
                try:
                    dynamodb.query(
                        TableName="busy",
                        IndexName="by-g",
                        KeyConditionExpression="g = :g",
                        ExpressionAttributeValues={":g": {"N": "1"}},
                        Limit=5,
                    )
                    dynamodb.scan(TableName="busy", IndexName="by-g", Limit=20)
                except ClientError as exc:
                    errors.append(str(exc))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        threads += [threading.Thread(target=reader) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        assert dynamodb.scan(TableName="busy", Select="COUNT")["Count"] == 400
