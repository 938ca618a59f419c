"""DynamoDB calls the authorisation layer parsed are answered without Flask
(speed.dynamodb_direct): whole answers (status, headers, body) equal moto's own path's, and
every request it does not fit goes through Flask as before."""

from __future__ import annotations

import contextlib
import json
import random
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from dynamo_workload import create_table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from slsops.local import speed
from slsops.local.authz.layer import AuthorizationLayer
from slsops.local.aws_app import serve_in_thread
from slsops.local.gaps import wrap_all
from slsops.local.operator import create_admin
from slsops.local.speed import dynamodb_direct

REGION = "us-east-1"
VOLATILE = {"date", "x-amzn-requestid", "x-amz-crc32", "server", "connection"}


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    speed.install()
    admin = create_admin()
    with serve_in_thread(
        AuthorizationLayer(wrap_all(DomainDispatcherApplication(create_backend_app)))
    ) as url:
        answers: list[Any] = []
        ddb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, **admin.boto3_kwargs())

        def keep(response_dict: dict[str, Any], **_: Any) -> None:
            headers = {
                name.lower(): value
                for name, value in response_dict["headers"].items()
                if name.lower() not in VOLATILE
            }
            answers.append((response_dict["status_code"], headers, response_dict["body"]))

        ddb.meta.events.register("before-parse.dynamodb.*", keep)
        yield {"ddb": ddb, "answers": answers, "url": url, "admin": admin}


def _calls(ddb: Any, table: str, seed: int) -> None:
    """Successes and the errors moto answers (condition failures, validation, missing table)."""
    rng = random.Random(seed)
    for step in range(40):
        key = {"p": {"S": f"p{rng.randrange(3)}"}, "s": {"N": str(rng.randrange(6))}}
        calls = [
            ("put_item", {"TableName": table, "Item": key | {"v": {"S": f"v{step}"}}}),
            (
                "put_item",
                {
                    "TableName": table,
                    "Item": key | {"b": {"B": b"\x00\x01"}, "l": {"L": [{"N": "1"}]}},
                    "ConditionExpression": "attribute_not_exists(p)",
                },
            ),
            ("get_item", {"TableName": table, "Key": key}),
            (
                "query",
                {
                    "TableName": table,
                    "KeyConditionExpression": "p = :p",
                    "ExpressionAttributeValues": {":p": key["p"]},
                    "Limit": 1 + step % 3,
                    "ScanIndexForward": bool(step % 2),
                },
            ),
            ("query", {"TableName": table, "KeyConditionExpression": "nonsense ="}),
            ("get_item", {"TableName": f"{table}-missing", "Key": key}),
            ("delete_item", {"TableName": table, "Key": key, "ReturnValues": "ALL_OLD"}),
        ]
        operation, kwargs = rng.choice(calls)
        with contextlib.suppress(ddb.exceptions.ClientError):
            getattr(ddb, operation)(**kwargs)


def _normalised(answers: list[Any], table: str) -> list[Any]:
    found = []
    for status, headers, body in answers:
        text = re.sub(re.escape(table), "T", body.decode("utf-8", "replace"))
        headers = {k: re.sub(re.escape(table), "T", v) for k, v in headers.items()}
        found.append((status, headers, text))
    return found


def test_whole_answers_equal_moto_through_flask(served, monkeypatch) -> None:
    ddb, answers = served["ddb"], served["answers"]
    create_table(ddb, "direct-one")
    create_table(ddb, "direct-two")
    taken: list[bool] = []
    original = dynamodb_direct._direct_handler

    def spy(environ: dict[str, Any]) -> Any:
        handler = original(environ)
        taken.append(handler is not None)
        return handler

    monkeypatch.setattr(dynamodb_direct, "_direct_handler", spy)
    answers.clear()
    _calls(ddb, "direct-one", seed=11)
    assert taken == [True] * 40  # every one of them answered directly
    direct = _normalised(answers, "direct-one")
    dynamodb_direct.uninstall()
    try:
        answers.clear()
        _calls(ddb, "direct-two", seed=11)
        through_flask = _normalised(answers, "direct-two")
    finally:
        dynamodb_direct.install()
    assert len(direct) == 40
    assert {status for status, _, _ in direct} >= {200, 400}  # successes and errors compared
    assert direct == through_flask


def test_a_request_with_an_origin_header_goes_through_flask_cors(served) -> None:
    """flask-cors answers an Origin by its options: that request is not answered directly."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    admin = served["admin"]
    create_table(served["ddb"], "direct-origin")  # its own table: the test runs alone too
    body = json.dumps({"TableName": "direct-origin", "Key": {"p": {"S": "x"}, "s": {"N": "1"}}})
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Origin": "https://console.example",
    }
    request = AWSRequest(method="POST", url=served["url"] + "/", data=body, headers=headers)
    credentials = Credentials(admin.access_key_id, admin.secret_access_key)
    SigV4Auth(credentials, "dynamodb", REGION).add_auth(request)
    answer = requests.post(
        served["url"] + "/", data=body, headers=dict(request.headers), timeout=10
    )
    assert answer.status_code == 200
    assert answer.headers.get("Vary") == "Origin"  # what flask-cors adds, and only it
