"""The function's code calls the embedded AWS as its execution role, with IAM enforced as on AWS.

The toy API of test_local_emulator.py on an embedded AWS with its authorisation layer on: the
function's role starts with no permission at all, so its read of a CMK-encrypted table is
refused by IAM (the table permission), then by KMS through DynamoDB (the key permission), and
succeeds once the role has both, exactly the order AWS checks them in.
"""

from __future__ import annotations

import json

import boto3
import pytest
from test_local_emulator import ACCOUNT, REGION, Api, call
from werkzeug.test import Client

from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.emulator import ApiGatewayEmulator
from slsops.local.lambda_workers import LambdaWorkers
from slsops.local.operator import create_admin

TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/toy-table"


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory):
    with serve_in_thread(build_moto_app(enforce_iam=True)) as url:
        admin = create_admin()
        creds = {
            "aws_access_key_id": admin.access_key_id,
            "aws_secret_access_key": admin.secret_access_key,
        }
        # its calls go through the IAM layer: on a loaded machine they outlast the toy's 2 s
        api = Api(url, creds, name="toy-as-role", timeout_s=30)
        api.build()
        session = boto3.Session(region_name=REGION, **creds)
        kms = session.client("kms", endpoint_url=url)
        ddb = session.client("dynamodb", endpoint_url=url)
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        ddb.create_table(
            TableName="toy-table",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_id},
        )
        workers = LambdaWorkers(url, tmp_path_factory.mktemp("logs"), pool_size=1)
        emulator = ApiGatewayEmulator(workers)
        emulator.serve_api(api.api_id, ACCOUNT, REGION)
        try:
            yield api, Client(emulator)
        finally:
            workers.close()


def grant(api: Api, name: str, statement: dict) -> None:
    api.iam.put_role_policy(
        RoleName=f"{api.name}-fn",
        PolicyName=name,
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def test_missing_table_then_key_permission_fail_as_on_aws(enforced) -> None:
    api, client = enforced
    status, body, _ = call(client, "GET", "/test/read")
    assert (status, body.get("Code")) == (403, "AccessDeniedException"), body
    assert "dynamodb:GetItem" in body["Message"] and f"{api.name}-fn" in body["Message"]

    grant(api, "table", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN})
    status, body, _ = call(client, "GET", "/test/read")
    assert (status, body.get("Code")) == (403, "AccessDeniedException"), body
    assert body["Message"].startswith("KMS key access denied error")

    grant(
        api,
        "key",
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}},
        },
    )
    status, body, _ = call(client, "GET", "/test/read")
    assert status == 200, body
