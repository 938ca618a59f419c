"""Bad DynamoDB input to the embedded AWS gets AWS's 400, never a 500.

moto crashed on bodies that are not JSON objects, on values of the wrong JSON type, on missing
required members and on expressions it could not compile: HTTP 500, an HTML page botocore
cannot read, retried as a server fault. The embedded AWS as the local stack serves it (the
authorisation layer in front of the gaps and moto) must answer each with DynamoDB's JSON error
and leave the table as it was. Requests are signed with botocore's signer and sent raw, so the
malformed body is exactly what the server reads.
"""

from __future__ import annotations

import copy
import json
import os
import random

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.operator import create_admin

REGION = "us-east-1"
TABLE = "bad-input-logs"
UNKNOWN = Credentials("AKIAUNKNOWNKEY000002", "testing")


@pytest.fixture(scope="module")
def endpoint():
    admin = create_admin()
    with serve_in_thread(build_moto_app(enforce_iam=True)) as url:
        keys = Credentials(admin.access_key_id, admin.secret_access_key)
        ddb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, **admin.boto3_kwargs())
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
        yield {"url": url, "keys": keys, "ddb": ddb}


def send(endpoint, operation: str, body: bytes, keys: Credentials | None = None):
    headers = {
        "X-Amz-Target": f"DynamoDB_20120810.{operation}",
        "Content-Type": "application/x-amz-json-1.0",
    }
    request = AWSRequest("POST", endpoint["url"] + "/", data=body, headers=headers)
    SigV4Auth(keys or endpoint["keys"], "dynamodb", REGION).add_auth(request)
    return requests.post(request.url, data=body, headers=dict(request.headers), timeout=30)


def is_json(response) -> bool:
    content_type = response.headers.get("Content-Type", "")
    return content_type.startswith(("application/x-amz-json", "application/json"))


def error_type(response) -> str:
    assert is_json(response), response.text
    return json.loads(response.text)["__type"].rpartition("#")[2]


def table_items(endpoint) -> list:
    return endpoint["ddb"].scan(TableName=TABLE, ConsistentRead=True)["Items"]


T = TABLE
BAD_BODIES = [
    ("PutItem", b"not json", "SerializationException"),
    ("PutItem", b"[1, 2]", "SerializationException"),
    ("PutItem", b'"a string"', "SerializationException"),
    ("PutItem", b"{}", "ValidationException"),
    ("PutItem", b'{"TableName": "%s"}' % T.encode(), "ValidationException"),
    ("PutItem", b'{"TableName": "%s", "Item": []}' % T.encode(), "SerializationException"),
    ("PutItem", b'{"TableName": "%s", "Item": {"pk": "x"}}' % T.encode(), "SerializationException"),
    ("PutItem", b'{"TableName": 5, "Item": {"pk": {"S": "x"}}}', "SerializationException"),
    ("BatchWriteItem", b"not json", "SerializationException"),
    ("BatchWriteItem", b"[]", "SerializationException"),
    ("BatchWriteItem", b'{"RequestItems": []}', "SerializationException"),
    (
        "BatchWriteItem",
        b'{"RequestItems": {"%s": [{"PutRequest": []}]}}' % T.encode(),
        "SerializationException",
    ),
    (
        "BatchWriteItem",
        b'{"RequestItems": {"%s": [{"PutRequest": {}}]}}' % T.encode(),
        "ValidationException",
    ),
    ("Query", b"not json", "SerializationException"),
    (
        "Query",
        b'{"TableName": "%s", "KeyConditionExpression": "pk = :p", '
        b'"ExpressionAttributeValues": []}' % T.encode(),
        "SerializationException",
    ),
    ("GetItem", b'{"TableName": "%s", "Key": "x"}' % T.encode(), "SerializationException"),
    (
        "UpdateItem",
        b'{"TableName": "%s", "Key": {"pk": {"S": "a"}}, "UpdateExpression": 5}' % T.encode(),
        "SerializationException",
    ),
    ("Scan", b'{"TableName": "%s", "Limit": "x"}' % T.encode(), "SerializationException"),
    ("DescribeTable", b'{"TableName": ["%s"]}' % T.encode(), "SerializationException"),
    ("BatchGetItem", b'{"RequestItems": {"%s": []}}' % T.encode(), "SerializationException"),
]


@pytest.mark.parametrize(("operation", "body", "expected"), BAD_BODIES)
def test_a_malformed_body_is_refused_with_aws_error(endpoint, operation, body, expected):
    before = table_items(endpoint)
    response = send(endpoint, operation, body)
    assert response.status_code == 400, response.text
    assert error_type(response) == expected
    assert json.loads(response.text)["message"]
    assert table_items(endpoint) == before


@pytest.mark.parametrize(
    "expression",
    ["attribute_exists(", "pk = ", "attribute_exists(pk) AND", "#a = :b", "size(pk) > :x", "((pk"],
)
def test_an_expression_moto_cannot_compile_is_a_validation_error(endpoint, expression):
    before = table_items(endpoint)
    for operation, body in (
        ("DeleteItem", {"Key": {"pk": {"S": "kept"}}, "ConditionExpression": expression}),
        ("PutItem", {"Item": {"pk": {"S": "kept"}}, "ConditionExpression": expression}),
        ("Scan", {"FilterExpression": expression}),
    ):
        response = send(endpoint, operation, json.dumps({"TableName": TABLE, **body}).encode())
        assert response.status_code == 400, (operation, response.text)
        assert error_type(response) == "ValidationException"
    assert table_items(endpoint) == before


def test_an_unknown_caller_is_refused_before_its_body_is_read(endpoint):
    response = send(endpoint, "PutItem", b"not json", keys=UNKNOWN)
    assert response.status_code == 400
    assert error_type(response) == "UnrecognizedClientException"


@pytest.mark.parametrize("body", [b"{}", b"not json"])
def test_an_operation_the_service_does_not_have_is_a_400(endpoint, body):
    """Not a 500 (botocore would retry it), whatever the body."""
    response = send(endpoint, "NoSuchOperation", body)
    assert response.status_code == 400, response.text
    assert error_type(response) == "UnknownOperationException"


def test_an_operation_moto_lacks_is_named_at_once(endpoint):
    """501 naming the operation, not a 500 that botocore retries five times: DynamoDB (JSON)
    and API Gateway (REST-JSON, whose moto handler runs inside Flask)."""
    body = {"TableName": TABLE, "StreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"}
    response = send(endpoint, "EnableKinesisStreamingDestination", json.dumps(body).encode())
    assert response.status_code == 501, response.text
    assert error_type(response) == "NotImplemented"
    assert "EnableKinesisStreamingDestination" in json.loads(response.text)["message"]

    gateway = boto3.client(
        "apigateway",
        endpoint_url=endpoint["url"],
        region_name=REGION,
        aws_access_key_id=endpoint["keys"].access_key,
        aws_secret_access_key=endpoint["keys"].secret_key,
        config=Config(retries={"total_max_attempts": 1}),
    )
    api = gateway.create_rest_api(name="lacking")["id"]
    root = gateway.get_resources(restApiId=api)["items"][0]["id"]
    gateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    with pytest.raises(ClientError) as raised:
        gateway.update_method(
            restApiId=api,
            resourceId=root,
            httpMethod="GET",
            patchOperations=[{"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"}],
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert raised.value.response["Error"]["Code"] == "NotImplemented"
    assert "UpdateMethod" in raised.value.response["Error"]["Message"]


def test_a_well_formed_call_still_works(endpoint):
    body = {"TableName": TABLE, "Item": {"pk": {"S": "fine"}, "n": {"N": "2"}}}
    assert send(endpoint, "PutItem", json.dumps(body).encode()).status_code == 200
    got = endpoint["ddb"].get_item(TableName=TABLE, Key={"pk": {"S": "fine"}}, ConsistentRead=True)
    assert got["Item"]["n"] == {"N": "2"}
    endpoint["ddb"].delete_item(TableName=TABLE, Key={"pk": {"S": "fine"}})


# Valid bodies the fuzz below breaks one node at a time.
VALID = {
    "PutItem": {"TableName": TABLE, "Item": {"pk": {"S": "fz"}, "m": {"M": {"a": {"N": "1"}}}}},
    "GetItem": {"TableName": TABLE, "Key": {"pk": {"S": "kept"}}, "ProjectionExpression": "pk"},
    "Query": {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "kept"}},
        "Limit": 5,
        "ScanIndexForward": False,
    },
    "UpdateItem": {
        "TableName": TABLE,
        "Key": {"pk": {"S": "fz"}},
        "UpdateExpression": "SET #n = :v",
        "ExpressionAttributeNames": {"#n": "n"},
        "ExpressionAttributeValues": {":v": {"N": "3"}},
    },
    "BatchWriteItem": {
        "RequestItems": {TABLE: [{"PutRequest": {"Item": {"pk": {"S": "fz"}, "n": {"N": "4"}}}}]}
    },
    "DeleteItem": {
        "TableName": TABLE,
        "Key": {"pk": {"S": "fz"}},
        "ConditionExpression": "attribute_not_exists(#g) OR #g < :g",
        "ExpressionAttributeNames": {"#g": "gone"},
        "ExpressionAttributeValues": {":g": {"N": "9"}},
    },
    "Scan": {
        "TableName": TABLE,
        "FilterExpression": "begins_with(pk, :p) AND size(#m) > :z",
        "ExpressionAttributeNames": {"#m": "m"},
        "ExpressionAttributeValues": {":p": {"S": "k"}, ":z": {"N": "0"}},
        "Limit": 10,
    },
    "BatchGetItem": {
        "RequestItems": {TABLE: {"Keys": [{"pk": {"S": "kept"}}], "ConsistentRead": True}}
    },
    "TransactWriteItems": {
        "TransactItems": [
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "tx"}, "l": {"L": [{"S": "a"}]}}}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "tx2"}},
                    "UpdateExpression": "ADD c :one REMOVE d",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    },
}
ODD_VALUES = [None, True, 7, -1.5, "", "x", [], [1], {}, {"S": None}, {"N": "nan"}, {"Z": "1"}]


def _paths(node, path=()):
    yield path
    if isinstance(node, (dict, list)):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            yield from _paths(child, (*path, key))


def _broken(body, rng):
    broken = copy.deepcopy(body)
    paths = [p for p in _paths(broken) if p]
    if not paths:  # an empty body: nothing left to break
        return broken
    path = rng.choice(paths)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return broken


def test_bodies_broken_at_random_never_get_a_500(endpoint):
    """300 bodies, each a valid one with one or two nodes deleted or replaced by odd values: every
    answer is JSON (AWS's shape), and none is a server error."""
    rng = random.Random(int(os.environ.get("BAD_INPUT_SEED", "20261202")))
    failures = []
    for _ in range(300):
        operation = rng.choice(sorted(VALID))
        body = _broken(VALID[operation], rng)
        if rng.random() < 0.3:
            body = _broken(body, rng)
        response = send(endpoint, operation, json.dumps(body).encode())
        if response.status_code >= 500 or not is_json(response):
            failures.append((operation, body, response.status_code, response.text[:200]))
    assert not failures, failures[:5]
    assert [i for i in table_items(endpoint) if i["pk"]["S"] == "kept"]
