"""Gap: writes go on after a table's stream is turned off (moto answered them HTTP 500)."""

from __future__ import annotations

import uuid

import dynamo_workload
import log_table_support
import pytest
from botocore.config import Config

from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.gaps import dynamodb_stream_off

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def endpoint():
    with serve_in_thread(build_moto_app()) as url:
        yield url


def _stream_on_then_off(client) -> str:
    name = f"stream-{uuid.uuid4().hex[:8]}"
    dynamo_workload.create_table(client, name)
    client.put_item(TableName=name, Item={"p": {"S": "a"}, "s": {"N": "1"}})
    for enabled in (True, False):
        spec = {"StreamEnabled": enabled}
        if enabled:
            spec["StreamViewType"] = "NEW_IMAGE"
        client.update_table(TableName=name, StreamSpecification=spec)
    return name


def test_every_write_goes_on_after_the_stream_is_turned_off(endpoint):
    client = log_table_support.client(endpoint, "dynamodb", config=NO_RETRIES)
    name = _stream_on_then_off(client)
    key = {"p": {"S": "a"}, "s": {"N": "2"}}
    client.put_item(TableName=name, Item=key)
    client.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "x"}},
    )
    client.delete_item(TableName=name, Key=key)
    described = client.describe_table(TableName=name)["Table"]
    assert not (described.get("StreamSpecification") or {}).get("StreamEnabled")


def test_moto_alone_fails_every_write_after_the_stream_is_turned_off(monkeypatch):
    """Why the gap exists: moto's own ``set_stream_specification`` keeps the stream shard."""
    from moto.dynamodb.models.table import Table

    dynamodb_stream_off.install()  # so the original is known, whichever test runs first
    own = dynamodb_stream_off.PATCH.original("set_stream_specification")
    monkeypatch.setattr(Table, "set_stream_specification", own)
    with serve_in_thread(build_moto_app()) as url:
        client = log_table_support.client(url, "dynamodb", config=NO_RETRIES)
        name = _stream_on_then_off(client)
        with pytest.raises(client.exceptions.ClientError, match="500"):
            client.put_item(TableName=name, Item={"p": {"S": "a"}, "s": {"N": "3"}})
