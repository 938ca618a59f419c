"""``wire_items``: Scan and Query Items decoded by json alone, equal to botocore's, only inside."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto_in_process import dynamodb_client

from slsops.deployment import dynamo_pages
from slsops.deployment.wire_items import wire_items


@pytest.fixture
def ddb():
    with mock_aws():
        client = dynamodb_client()
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "p", "AttributeType": "S"},
                {"AttributeName": "s", "AttributeType": "N"},
            ],
            KeySchema=[
                {"AttributeName": "p", "KeyType": "HASH"},
                {"AttributeName": "s", "KeyType": "RANGE"},
            ],
        )
        for n in range(25):
            client.put_item(
                TableName="t",
                Item={
                    "p": {"S": f"p{n % 3}"},
                    "s": {"N": str(n)},
                    "m": {"M": {"a": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}]}}},
                    "ns": {"NS": ["1", "2.5"]},
                },
            )
        yield client


def _all(read, **request):
    return [item for page in dynamo_pages.pages(read, **request) for item in page["Items"]]


def test_scan_and_query_items_are_the_same_as_botocore_parses(ddb) -> None:
    scan = _all(ddb.scan, TableName="t", Limit=4)
    query = _all(
        ddb.query,
        TableName="t",
        Limit=3,
        KeyConditionExpression="p = :p",
        ExpressionAttributeValues={":p": {"S": "p1"}},
    )
    with wire_items(ddb):
        assert _all(ddb.scan, TableName="t", Limit=4) == scan
        assert (
            _all(
                ddb.query,
                TableName="t",
                Limit=3,
                KeyConditionExpression="p = :p",
                ExpressionAttributeValues={":p": {"S": "p1"}},
            )
            == query
        )
    assert len(scan) == 25 and len(query) == 8


def test_binary_stays_base64_text_inside_and_bytes_outside(ddb) -> None:
    ddb.put_item(TableName="t", Item={"p": {"S": "b"}, "s": {"N": "0"}, "b": {"B": b"\x00\xff"}})
    request = {"TableName": "t", "Key": {"p": {"S": "b"}, "s": {"N": "0"}}}
    condition = {
        "KeyConditionExpression": "p = :p",
        "ExpressionAttributeValues": {":p": {"S": "b"}},
    }
    with wire_items(ddb):
        inside = ddb.query(TableName="t", **condition)["Items"][0]["b"]
        assert ddb.get_item(**request)["Item"]["b"] == {"B": b"\x00\xff"}  # other calls: botocore
    assert inside == {"B": "AP8="}
    assert ddb.query(TableName="t", **condition)["Items"][0]["b"] == {"B": b"\x00\xff"}


def test_errors_are_botocore_errors_inside(ddb) -> None:
    with wire_items(ddb), pytest.raises(ClientError) as raised:
        ddb.scan(TableName="missing")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
