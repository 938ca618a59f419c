"""moto executes the authorisation layer's parse of a request (speed.shared_parse): one parse per
request, the same answers as two, and a fresh parse whenever the request moto is handed is not
the one the layer parsed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from dynamo_workload import create_table, random_calls
from moto.core.responses import BaseResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from slsops.local import speed
from slsops.local.authz.layer import AuthorizationLayer
from slsops.local.aws_app import serve_in_thread
from slsops.local.gaps import wrap_all
from slsops.local.operator import create_admin
from slsops.local.speed import shared_parse

REGION = "us-east-1"


class Tamper:
    """Between the layer and moto: rewrites one PutItem value when asked to (the guard's case)."""

    def __init__(self, app: Any) -> None:
        self.app, self.active, self.retarget = app, False, False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.retarget and environ.get("HTTP_X_AMZ_TARGET", "").endswith(".PutItem"):
            environ["HTTP_X_AMZ_TARGET"] = "DynamoDB_20120810.DescribeTable"
        if self.active and environ.get("HTTP_X_AMZ_TARGET", "").endswith(".PutItem"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length).replace(b'"checked"', b'"changed"')
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    speed.install()
    tamper = Tamper(wrap_all(DomainDispatcherApplication(create_backend_app)))
    admin = create_admin()
    with serve_in_thread(AuthorizationLayer(tamper)) as url:
        ddb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, **admin.boto3_kwargs())
        yield {"ddb": ddb, "tamper": tamper}


@pytest.fixture
def setup_calls(monkeypatch) -> list[str]:
    """Names of the response classes moto's ``setup_class`` ran for (the layer's and moto's)."""
    seen: list[str] = []
    original = BaseResponse.setup_class

    def counting(self, *args, **kwargs):
        seen.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseResponse, "setup_class", counting)
    return seen


def test_moto_runs_the_layers_parse_instead_of_parsing_again(served, setup_calls) -> None:
    create_table(served["ddb"], "shared-parse-count")
    setup_calls.clear()
    served["ddb"].get_item(TableName="shared-parse-count", Key={"p": {"S": "a"}, "s": {"N": "1"}})
    assert setup_calls == ["DynamoHandler"]  # once, by the layer; without the patch: twice
    shared_parse.uninstall()
    try:
        setup_calls.clear()
        served["ddb"].get_item(
            TableName="shared-parse-count", Key={"p": {"S": "a"}, "s": {"N": "1"}}
        )
        assert setup_calls == ["DynamoHandler", "DynamoHandler"]
    finally:
        shared_parse.install()


def test_answers_are_the_same_with_one_parse_and_with_two(served) -> None:
    ddb = served["ddb"]
    create_table(ddb, "shared-parse-one")
    create_table(ddb, "shared-parse-two")
    one = random_calls(ddb, "shared-parse-one", seed=7)
    shared_parse.uninstall()
    try:
        two = random_calls(ddb, "shared-parse-two", seed=7)
    finally:
        shared_parse.install()
    assert one == two


def test_a_request_changed_after_the_layer_is_parsed_anew(served) -> None:
    ddb, tamper = served["ddb"], served["tamper"]
    create_table(ddb, "shared-parse-guard")
    key = {"p": {"S": "a"}, "s": {"N": "1"}}
    tamper.active = True
    try:
        ddb.put_item(TableName="shared-parse-guard", Item=key | {"v": {"S": "checked"}})
    finally:
        tamper.active = False
    stored = ddb.get_item(TableName="shared-parse-guard", Key=key)["Item"]
    assert stored["v"] == {"S": "changed"}  # moto ran what it was handed, not the layer's parse


def test_a_header_changed_after_the_layer_is_parsed_anew(served) -> None:
    ddb, tamper = served["ddb"], served["tamper"]
    create_table(ddb, "shared-parse-header")
    key = {"p": {"S": "a"}, "s": {"N": "1"}}
    tamper.retarget = True
    try:
        ddb.put_item(TableName="shared-parse-header", Item=key | {"v": {"S": "x"}})
    finally:
        tamper.retarget = False
    # moto ran the DescribeTable it was handed, not the layer's parse of a PutItem
    assert "Item" not in ddb.get_item(TableName="shared-parse-header", Key=key)
