"""The drill reads its scans in wire form (json alone, as the audit does) and judges the same.

botocore's parser cost about five times the JSON decoding of a page; the drill scans the source
once and the restored table once or twice. In wire form a binary value stays base64 text, so
the checksum must give one value for both forms or a restore would differ from its source.
"""

from __future__ import annotations

import base64

import moto
from moto_in_process import dynamodb_client

from log_service import keys
from slsops.deployment.wire_items import wire_items
from slsops.drill import compare
from slsops.drill.checksum import canonical_item, item_hash

WINDOW = compare.PointWindow("2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z", 1_000)
RAW = b"\x00\xffbinary"


def stored(log_id: str) -> dict:
    return {
        keys.PARTITION_KEY: {"S": "svc"},
        keys.SORT_KEY: {"S": f"2025-12-31T00:00:00.000Z#{log_id}"},
        "log_id": {"S": log_id},
        "ingested_at": {"S": "2025-12-31T00:00:00.000Z"},
        "blob": {"B": RAW},
        "blobs": {"BS": [RAW, b"\x01"]},
        "nested": {"M": {"inner": {"B": RAW}}},
    }


def test_binary_hashes_the_same_as_bytes_or_as_base64_text() -> None:
    text = base64.b64encode(RAW).decode("ascii")
    wire = {"blob": {"B": text}, "blobs": {"BS": ["AQ==", text]}, "l": {"L": [{"B": text}]}}
    parsed = {"blob": {"B": RAW}, "blobs": {"BS": [RAW, b"\x01"]}, "l": {"L": [{"B": RAW}]}}
    assert canonical_item(wire) == canonical_item(parsed)
    assert item_hash(wire) == item_hash(parsed)


def test_a_tally_in_wire_form_equals_the_parsed_one() -> None:
    with moto.mock_aws():
        client = dynamodb_client()
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": keys.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": keys.SORT_KEY, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": keys.PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": keys.SORT_KEY, "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(30):
            client.put_item(TableName="t", Item=stored(f"id-{n}"))
        parsed = compare.tally(client, "t", WINDOW, 2, 2)
        with wire_items(client):
            wire = compare.tally(client, "t", WINDOW, 2, 2)
    assert parsed.scanned == wire.scanned == 30
    assert parsed.counts["before"] == 30
    assert wire.before_sum == parsed.before_sum
    assert wire.buckets == parsed.buckets
