"""Reserved concurrency 0 stops a function on the local stack as on AWS.

moto stores ``PutFunctionConcurrency`` and applies nothing; the gateway emulator refuses to run
a function whose reserved concurrency is 0 and answers as API Gateway does for a throttled
Lambda integration (500 ``{"message": "Internal server error"}``). The restore runbook stops
writes this way before it swaps the table.
"""

from __future__ import annotations

import io
import uuid
import zipfile

import boto3
import pytest
from moto import mock_aws
from stack_breaks import aws

from slsops.deployment.api_client import LogApiClient, assume_role
from slsops.local.gateway_http import GatewayAnswer
from slsops.local.reserved_concurrency import refuse_if_throttled, reserved_concurrency

REGION = "us-east-1"


def _toy_function(name: str) -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
    )["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    created = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
    )
    return created["FunctionArn"]


@mock_aws
def test_only_reserved_concurrency_zero_refuses_with_the_gateways_throttled_answer():
    arn = _toy_function("toy")
    client = boto3.client("lambda", region_name=REGION)
    assert reserved_concurrency(arn) is None
    refuse_if_throttled(arn)  # unset: runs

    client.put_function_concurrency(FunctionName="toy", ReservedConcurrentExecutions=0)
    assert reserved_concurrency(arn) == 0
    version = client.publish_version(FunctionName="toy")["Version"]
    client.create_alias(FunctionName="toy", Name="live", FunctionVersion=version)
    assert reserved_concurrency(f"{arn}:live") == 0  # API Gateway invokes the alias
    with pytest.raises(GatewayAnswer) as refused:
        refuse_if_throttled(arn)
    status, headers, body = refused.value.response()
    assert status == 500
    assert ("x-amzn-ErrorType", "InternalServerErrorException") in headers
    assert body == b'{"message": "Internal server error"}'

    client.put_function_concurrency(FunctionName="toy", ReservedConcurrentExecutions=5)
    refuse_if_throttled(arn)  # a positive limit is not a stop
    client.delete_function_concurrency(FunctionName="toy")
    refuse_if_throttled(arn)


@mock_aws
def test_an_unknown_function_is_not_refused_here():
    refuse_if_throttled(f"arn:aws:lambda:{REGION}:123456789012:function:absent")
    assert reserved_concurrency("not-an-arn") is None


@pytest.mark.stack
def test_stopping_the_ingest_function_stops_writes_through_the_gateway(local_stack):
    name = local_stack["ingest_function_name"]
    functions = aws(local_stack, "lambda")
    before = functions.get_function_concurrency(FunctionName=name).get(
        "ReservedConcurrentExecutions"
    )
    entry = {"service_name": "reserved-concurrency", "level": "INFO", "message": "x"}
    credentials = assume_role(local_stack, "ingest")
    try:
        functions.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
        with LogApiClient(local_stack, credentials) as ingest:
            refused = ingest.post_logs({**entry, "log_id": str(uuid.uuid4())})
        assert refused.status_code == 500, refused.text
        assert refused.json() == {"message": "Internal server error"}
        assert refused.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    finally:
        if before is None:
            functions.delete_function_concurrency(FunctionName=name)
        else:
            functions.put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=before
            )
    with LogApiClient(local_stack, credentials) as ingest:
        resumed = ingest.post_logs({**entry, "log_id": str(uuid.uuid4())})
    assert resumed.status_code == 201, resumed.text
