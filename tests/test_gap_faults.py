"""The fault-injection middleware on a real in-process moto server (``gaps/faults.py``)."""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from slsops.errors import SlsopsError
from slsops.local import fault_admin
from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.gaps.faults import ADMIN_PATH

NO_RETRIES = Config(retries={"total_max_attempts": 1}, read_timeout=10)


@pytest.fixture(scope="module")
def endpoint():
    with serve_in_thread(build_moto_app()) as url:
        yield url


@pytest.fixture
def ddb(endpoint):
    fault_admin.clear(endpoint)
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )
    name = f"faults-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    yield client, name
    fault_admin.clear(endpoint)
    client.delete_table(TableName=name)


def _put(client, table, key):
    client.put_item(TableName=table, Item={"pk": {"S": key}})


def _exists(client, table, key):
    return "Item" in client.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)


def _error_code(call) -> str | None:
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return None


def test_off_by_default(endpoint, ddb):
    client, table = ddb
    _put(client, table, "a")
    assert _exists(client, table, "a")
    state = fault_admin.show(endpoint)
    assert state["enabled"] is False
    assert state["counters"]["total_injected"] == 0


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("throttle", "ProvisionedThroughputExceededException", 400),
        ("throttling", "ThrottlingException", 400),
        ("internal", "InternalServerError", 500),
    ],
)
def test_error_before_the_call_writes_nothing(endpoint, ddb, kind, code, status):
    client, table = ddb
    fault_admin.set_plan(endpoint, {"rules": [{"operation": "PutItem", "kind": kind, "rate": 1}]})
    with pytest.raises(ClientError) as raised:
        _put(client, table, "x")
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert not _exists(client, table, "x")  # GetItem is not in the rule
    assert fault_admin.show(endpoint)["counters"]["injected"] == {"PutItem": {f"{kind}/before": 1}}


def test_error_after_the_call_took_effect(endpoint, ddb):
    client, table = ddb
    rule = {"operation": "PutItem", "kind": "internal", "rate": 1, "when": "after"}
    fault_admin.set_plan(endpoint, {"rules": [rule]})
    assert _error_code(lambda: _put(client, table, "y")) == "InternalServerError"
    assert _exists(client, table, "y")  # the write happened, the caller was told otherwise


def test_after_does_not_replace_a_failed_call(endpoint, ddb):
    client, table = ddb
    _put(client, table, "z")
    rule = {"operation": "PutItem", "kind": "internal", "rate": 1, "when": "after"}
    fault_admin.set_plan(endpoint, {"rules": [rule]})

    def conditional_put():
        client.put_item(
            TableName=table,
            Item={"pk": {"S": "z"}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    assert _error_code(conditional_put) == "ConditionalCheckFailedException"
    assert fault_admin.show(endpoint)["counters"]["total_injected"] == 0


def _pattern(endpoint, client, table, seed, calls=40):
    plan = {"seed": seed, "rules": [{"operation": "GetItem", "kind": "throttle", "rate": 0.5}]}
    fault_admin.set_plan(endpoint, plan)
    return [
        _error_code(lambda: client.get_item(TableName=table, Key={"pk": {"S": "k"}})) is not None
        for _ in range(calls)
    ]


def test_seeded_decisions_repeat(endpoint, ddb):
    client, table = ddb
    first = _pattern(endpoint, client, table, seed=7)
    again = _pattern(endpoint, client, table, seed=7)
    other = _pattern(endpoint, client, table, seed=8)
    assert first == again
    assert first != other
    assert 8 <= sum(first) <= 32  # about half of 40
    assert fault_admin.show(endpoint)["counters"]["calls"]["GetItem"] == 40


def test_operation_filter_and_max(endpoint, ddb):
    client, table = ddb
    rule = {"operation": "PutItem", "kind": "throttle", "rate": 1, "max": 2}
    fault_admin.set_plan(endpoint, {"rules": [rule]})
    codes = [_error_code(lambda n=n: _put(client, table, f"m{n}")) for n in range(4)]
    assert codes == ["ProvisionedThroughputExceededException"] * 2 + [None, None]
    assert _error_code(lambda: client.describe_table(TableName=table)) is None
    state = fault_admin.show(endpoint)
    assert state["counters"]["injected"] == {"PutItem": {"throttle/before": 2}}
    assert state["counters"]["calls"] == {"PutItem": 4, "DescribeTable": 1}


def test_table_filter(endpoint, ddb):
    client, table = ddb
    rule = {"operation": "*", "kind": "internal", "rate": 1, "table": "some-other-table"}
    fault_admin.set_plan(endpoint, {"rules": [rule]})
    _put(client, table, "t")
    assert _exists(client, table, "t")


def test_table_prefix_filter(endpoint, ddb):
    client, table = ddb
    rule = {"operation": "PutItem", "kind": "internal", "rate": 1, "table": table[:-3] + "*"}
    fault_admin.set_plan(endpoint, {"rules": [rule]})
    assert _error_code(lambda: _put(client, table, "p")) == "InternalServerError"
    rule["table"] = "faults-zzz*"
    fault_admin.set_plan(endpoint, {"rules": [rule]})
    _put(client, table, "p")
    assert _exists(client, table, "p")


def test_latency_is_added_and_bounded(endpoint, ddb):
    client, table = ddb
    rule = {"operation": "GetItem", "kind": "latency", "rate": 1, "delay_ms": 300}
    fault_admin.set_plan(endpoint, {"rules": [rule]})
    began = time.monotonic()
    client.get_item(TableName=table, Key={"pk": {"S": "k"}})
    assert time.monotonic() - began >= 0.3
    too_slow = {"operation": "GetItem", "kind": "latency", "rate": 1, "delay_ms": 60_000}
    with pytest.raises(Exception, match="delay_ms must be from 0 to 5000"):
        fault_admin.set_plan(endpoint, {"rules": [too_slow]})


def test_unprocessed_items_are_reported_and_not_written(endpoint, ddb):
    client, table = ddb
    rule = {"operation": "BatchWriteItem", "kind": "unprocessed", "rate": 0.4}
    fault_admin.set_plan(endpoint, {"seed": 3, "rules": [rule]})
    keys = [f"b{n:02d}" for n in range(20)]
    answer = client.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": k}}}} for k in keys]}
    )
    withheld = {r["PutRequest"]["Item"]["pk"]["S"] for r in answer["UnprocessedItems"][table]}
    assert 0 < len(withheld) < len(keys)
    stored = {i["pk"]["S"] for i in client.scan(TableName=table, ConsistentRead=True)["Items"]}
    assert stored == set(keys) - withheld
    injected = fault_admin.show(endpoint)["counters"]["injected"]
    assert injected == {"BatchWriteItem": {"unprocessed": len(withheld)}}


def test_unprocessed_everything_is_a_throttle(endpoint, ddb):
    client, table = ddb
    rule = {"operation": "BatchWriteItem", "kind": "unprocessed", "rate": 1}
    fault_admin.set_plan(endpoint, {"rules": [rule]})

    def batch():
        client.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "u"}}}}]}
        )

    assert _error_code(batch) == "ProvisionedThroughputExceededException"
    assert not _exists(client, table, "u")


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"rules": [{"operation": "PutItem", "kind": "explode", "rate": 1}]}, "kind must be"),
        ({"rules": [{"operation": "PutItem", "kind": "throttle", "rate": 2}]}, "rate must be"),
        ({"rules": [{"operation": "PutItem", "kind": "unprocessed", "rate": 1}]}, "BatchWrite"),
        ({"seed": "x", "rules": []}, "seed must be"),
        ({"rules": [{"operation": "GetItem", "kind": "throttle", "rate": 1, "x": 1}]}, "unknown"),
        ({"rules": [{"operation": "PutItems", "kind": "throttle", "rate": 1}]}, "'PutItems'"),
    ],
)
def test_bad_plans_are_refused_and_change_nothing(endpoint, ddb, plan, message):
    response = requests.post(endpoint + ADMIN_PATH, json=plan, timeout=5)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert fault_admin.show(endpoint)["enabled"] is False


def test_delete_answers_final_counters_and_switches_off(endpoint, ddb):
    client, table = ddb
    fault_admin.set_plan(
        endpoint, {"rules": [{"operation": "PutItem", "kind": "internal", "rate": 1}]}
    )
    _error_code(lambda: _put(client, table, "d"))
    state = fault_admin.clear(endpoint)
    assert state["enabled"] is False and state["rules"] == []
    assert state["cleared"]["counters"]["total_injected"] == 1
    _put(client, table, "d")
    assert _exists(client, table, "d")
    assert fault_admin.show(endpoint)["enabled"] is False


# ------------------------------------------------------------------------------ the CLI


def _stack_file(tmp_path, endpoint):
    from stack_outputs import stack_outputs

    outputs = stack_outputs(**({"local_endpoint_url": endpoint} if endpoint else {}))
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(outputs))
    return str(path)


def _cli(*args):
    """Run ``slsops`` in process as main() does: errors are one line and an exit code."""
    from slsops import cli

    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            cli.app(list(args), standalone_mode=False)
    except SlsopsError as exc:
        return exc.exit_code, str(exc)
    return 0, out.getvalue()


def test_cli_set_show_clear(endpoint, tmp_path):
    stack = _stack_file(tmp_path, endpoint)
    code, out = _cli(
        "local",
        "faults",
        "set",
        "--stack",
        stack,
        "--seed",
        "5",
        "--rule",
        "PutItem:throttle:0.25",
        "--rule",
        "Query:latency:0.5:after:20",
    )
    assert code == 0, out
    state = json.loads(out)
    assert state["seed"] == 5 and state["enabled"] is True
    assert state["rules"][1] == {
        "operation": "Query",
        "kind": "latency",
        "rate": 0.5,
        "when": "after",
        "delay_ms": 20,
    }
    assert json.loads(_cli("local", "faults", "show", "--stack", stack)[1]) == state
    code, out = _cli("local", "faults", "clear", "--stack", stack)
    cleared = json.loads(out)
    assert code == 0 and cleared["enabled"] is False and cleared["rules"] == []
    assert cleared["cleared"]["rules"] == state["rules"]
    assert fault_admin.show(endpoint)["enabled"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "PutItem:throttle"], "OPERATION:KIND:RATE"),
        (["--rule", "PutItem:throttle:lots"], "RATE must be a number"),
        (["--rule", "PutItem:throttle:0.5:later"], "WHEN must be before or after"),
        (["--rule", "PutItem:latency:0.5:after:\u00b2"], "DELAY_MS must be a whole number"),
        (["--rule", "PutItem:explode:0.5"], "KIND must be one of"),
        (["--rule", "PutItems:throttle:0.5"], "'PutItems' is not a DynamoDB operation"),
        ([], "nothing to set"),
    ],
)
def test_cli_refuses_bad_rules_with_exit_2(endpoint, tmp_path, args, message):
    code, out = _cli("local", "faults", "set", "--stack", _stack_file(tmp_path, endpoint), *args)
    assert code == 2
    assert message in out


@pytest.mark.parametrize("plan", ["null", "[]", '"PutItem:throttle:1"'])
def test_cli_refuses_a_plan_file_that_is_not_an_object(endpoint, tmp_path, plan):
    """A plan file holding null was sent as no body, which the admin path takes for an
    empty plan: exit 0 and no faults, as if the plan had been applied."""
    path = tmp_path / "plan.json"
    path.write_text(plan)
    fault_admin.clear(endpoint)
    stack = _stack_file(tmp_path, endpoint)
    code, out = _cli("local", "faults", "set", "--stack", stack, "--plan", str(path))
    assert code == 2 and "object" in out, out
    assert fault_admin.show(endpoint)["enabled"] is False


def test_cli_refuses_a_stack_on_aws(tmp_path):
    code, out = _cli("local", "faults", "show", "--stack", _stack_file(tmp_path, None))
    assert code == 2
    assert "not a local stack" in out


def test_admin_path_answers_loopback_callers_only():
    from slsops.local.gaps.faults import wrap

    def moto(environ, start_response):
        start_response("200 OK", [])
        return [b"moto"]

    app = wrap(moto)
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    for address, status in (("10.1.2.3", "403"), ("127.0.0.1", "200"), ("::1", "200")):
        environ = {"PATH_INFO": ADMIN_PATH, "REQUEST_METHOD": "GET", "REMOTE_ADDR": address}
        body = b"".join(app(environ, start_response))
        assert seen["status"].startswith(status), (address, body)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'"text"'])
def test_a_batch_that_is_not_a_json_object_goes_to_moto_under_an_unprocessed_rule(body):
    """With an unprocessed-items rule active, a BatchWriteItem body that is no JSON object is
    moto's to answer (as any malformed request), not the fault plan's to split."""
    from slsops.local.gaps.fault_plan import FaultPlan
    from slsops.local.gaps.faults import FaultMiddleware

    seen = []

    def moto(environ, start_response):
        seen.append(environ["wsgi.input"].read())
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
        return [b'{"__type": "SerializationException"}']

    middleware = FaultMiddleware(moto)
    rule = {"operation": "BatchWriteItem", "kind": "unprocessed", "rate": 1}
    middleware.plan = FaultPlan.from_json({"rules": [rule]})
    environ = {
        "PATH_INFO": "/",
        "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.BatchWriteItem",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    statuses = []
    answer = middleware(environ, lambda status, headers, *_: statuses.append(status))
    assert statuses == ["400 Bad Request"] and b"SerializationException" in b"".join(answer)
    assert seen == [body]
