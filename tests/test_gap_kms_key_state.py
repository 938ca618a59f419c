"""Gap: a CMK-encrypted table whose key is disabled or pending deletion refuses data calls.

On AWS, DynamoDB answers 400 AccessDeniedException naming KMS's error; plain moto keeps
serving the table (shown by the first test); the others run the embedded AWS with the gaps.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.operator import create_admin

REGION = "us-east-1"
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class Table:
    """A CMK-encrypted table and a default-encrypted one, with the clients the tests need."""

    def __init__(self, url: str, name: str, creds: dict | None = None) -> None:
        creds = creds or CREDS
        self.kms = boto3.client("kms", region_name=REGION, endpoint_url=url, **creds)
        self.ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=url, **creds)
        self.key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.name = name
        for table, sse in (
            (name, {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": self.key_id}),
            (f"{name}-default", {"Enabled": False}),
        ):
            self.ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                SSESpecification=sse,
            )

    def data_calls(self, table: str | None = None) -> dict:
        """Run one call of each data-plane kind; the error code and message of each, or None."""
        table = table or self.name
        key = {"pk": {"S": "a"}}
        calls = {
            "PutItem": lambda: self.ddb.put_item(TableName=table, Item=key),
            "GetItem": lambda: self.ddb.get_item(TableName=table, Key=key),
            "Query": lambda: self.ddb.query(
                TableName=table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "a"}},
            ),
            "Scan": lambda: self.ddb.scan(TableName=table),
            "BatchWriteItem": lambda: self.ddb.batch_write_item(
                RequestItems={table: [{"PutRequest": {"Item": key}}]}
            ),
            "TransactWriteItems": lambda: self.ddb.transact_write_items(
                TransactItems=[{"Put": {"TableName": table, "Item": key}}]
            ),
        }
        outcomes = {}
        for name, run in calls.items():
            try:
                run()
                outcomes[name] = None
            except ClientError as exc:
                error = exc.response["Error"]
                outcomes[name] = (error["Code"], error["Message"])
        return outcomes


def test_plain_moto_serves_a_table_whose_key_is_disabled() -> None:
    with serve_in_thread(DomainDispatcherApplication(create_backend_app)) as url:
        table = Table(url, "kms-gap-plain")
        table.kms.disable_key(KeyId=table.key_id)
        assert set(table.data_calls().values()) == {None}


@pytest.fixture(scope="module")
def table():
    with serve_in_thread(build_moto_app()) as url:
        yield Table(url, "kms-gap-logs")


def test_a_disabled_key_fails_every_data_call_as_aws_does(table) -> None:
    assert set(table.data_calls().values()) == {None}
    table.kms.disable_key(KeyId=table.key_id)
    try:
        outcomes = table.data_calls()
        for operation, outcome in outcomes.items():
            assert outcome is not None, f"{operation} succeeded with a disabled key"
            code, message = outcome
            assert code == "AccessDeniedException"
            assert message.startswith("KMS key access denied error")
            assert "DisabledException" in message and table.key_id in message
        assert set(table.data_calls(f"{table.name}-default").values()) == {None}
        described = table.ddb.describe_table(TableName=table.name)["Table"]
        assert described["SSEDescription"]["SSEType"] == "KMS"  # control plane still answers
    finally:
        table.kms.enable_key(KeyId=table.key_id)
    assert set(table.data_calls().values()) == {None}


def test_a_key_pending_deletion_fails_data_calls_with_its_state(table) -> None:
    table.kms.schedule_key_deletion(KeyId=table.key_id, PendingWindowInDays=7)
    try:
        code, message = table.data_calls()["GetItem"]
        assert code == "AccessDeniedException"
        assert "KMSInvalidStateException" in message and "pending deletion" in message
    finally:
        table.kms.cancel_key_deletion(KeyId=table.key_id)
        table.kms.enable_key(KeyId=table.key_id)
    assert table.data_calls()["GetItem"] is None


# ------------------------------------------------------------------ the caller's use of the key


@pytest.fixture(scope="module")
def enforcing():
    """The embedded AWS with its authorisation layer on, and its administrator's keys."""
    with serve_in_thread(build_moto_app(enforce_iam=True)) as url:
        admin = create_admin()
        creds = {
            "aws_access_key_id": admin.access_key_id,
            "aws_secret_access_key": admin.secret_access_key,
        }
        yield url, creds


def reader_of(url: str, admin: dict, table: str, name: str) -> tuple[object, object]:
    """A user allowed dynamodb:GetItem on ``table`` and nothing on KMS; (iam, its dynamodb)."""
    iam = boto3.client("iam", region_name=REGION, endpoint_url=url, **admin)
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="table",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:GetItem",
                        "Resource": f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    ddb = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return iam, ddb


def get_error(ddb, table: str) -> tuple[str, str] | None:
    try:
        ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["Error"]["Message"]
    return None


def test_a_caller_without_kms_decrypt_through_dynamodb_is_refused(enforcing) -> None:
    url, admin = enforcing
    Table(url, "kms-gap-iam", admin)  # key policy: the default, delegating to the account's IAM
    iam, ddb = reader_of(url, admin, "kms-gap-iam", "kms-gap-no-kms")
    code, message = get_error(ddb, "kms-gap-iam")
    assert code == "AccessDeniedException"
    assert message.startswith("KMS key access denied error")
    assert "not allowed to access" in message
    iam.put_user_policy(
        UserName="kms-gap-no-kms",
        PolicyName="key",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
                        },
                    }
                ],
            }
        ),
    )
    assert get_error(ddb, "kms-gap-iam") is None


def test_a_key_policy_naming_the_caller_is_enough_without_iam(enforcing) -> None:
    url, admin = enforcing
    table = Table(url, "kms-gap-policy", admin)
    _, ddb = reader_of(url, admin, "kms-gap-policy", "kms-gap-named")
    user_arn = "arn:aws:iam::123456789012:user/kms-gap-named"
    kms = boto3.client("kms", region_name=REGION, endpoint_url=url, **admin)
    kms.put_key_policy(
        KeyId=table.key_id,
        PolicyName="default",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": user_arn},
                        "Action": "kms:Decrypt",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
                        },
                    }
                ],
            }
        ),
    )
    assert get_error(ddb, "kms-gap-policy") is None


def _key_policy_naming(user_arn: str, condition: dict | None = None) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": user_arn},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}}
        | (condition or {}),
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_a_key_policy_that_stops_naming_the_caller_refuses_the_next_call(enforcing) -> None:
    """Decisions are remembered (authz.decision_cache): a changed key policy must end them."""
    url, admin = enforcing
    table = Table(url, "kms-gap-revoked", admin)
    _, ddb = reader_of(url, admin, "kms-gap-revoked", "kms-gap-revoked-user")
    kms = boto3.client("kms", region_name=REGION, endpoint_url=url, **admin)
    named = _key_policy_naming("arn:aws:iam::123456789012:user/kms-gap-revoked-user")
    kms.put_key_policy(KeyId=table.key_id, PolicyName="default", Policy=named)
    assert get_error(ddb, "kms-gap-revoked") is None
    assert get_error(ddb, "kms-gap-revoked") is None  # the remembered decision
    other = _key_policy_naming("arn:aws:iam::123456789012:user/someone-else")
    kms.put_key_policy(KeyId=table.key_id, PolicyName="default", Policy=other)
    code, message = get_error(ddb, "kms-gap-revoked")
    assert code == "AccessDeniedException" and "not allowed to access" in message


def test_an_iam_grant_removed_refuses_the_next_call(enforcing) -> None:
    url, admin = enforcing
    Table(url, "kms-gap-iam-revoked", admin)  # the default key policy delegates to IAM
    iam, ddb = reader_of(url, admin, "kms-gap-iam-revoked", "kms-gap-iam-revoked-user")
    iam.put_user_policy(
        UserName="kms-gap-iam-revoked-user",
        PolicyName="key",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}],
            }
        ),
    )
    assert get_error(ddb, "kms-gap-iam-revoked") is None
    assert get_error(ddb, "kms-gap-iam-revoked") is None
    iam.delete_user_policy(UserName="kms-gap-iam-revoked-user", PolicyName="key")
    code, _ = get_error(ddb, "kms-gap-iam-revoked")
    assert code == "AccessDeniedException"


def test_a_key_policy_that_expires_refuses_once_its_time_has_passed(enforcing) -> None:
    """A decision read from a time condition is made anew on every call, never remembered."""
    url, admin = enforcing
    table = Table(url, "kms-gap-expiring", admin)
    _, ddb = reader_of(url, admin, "kms-gap-expiring", "kms-gap-expiring-user")
    until = datetime.now(UTC) + timedelta(seconds=2)
    expiring = _key_policy_naming(
        "arn:aws:iam::123456789012:user/kms-gap-expiring-user",
        {"DateLessThan": {"aws:CurrentTime": until.strftime("%Y-%m-%dT%H:%M:%SZ")}},
    )
    kms = boto3.client("kms", region_name=REGION, endpoint_url=url, **admin)
    kms.put_key_policy(KeyId=table.key_id, PolicyName="default", Policy=expiring)
    assert get_error(ddb, "kms-gap-expiring") is None
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1.1)
    code, _ = get_error(ddb, "kms-gap-expiring")
    assert code == "AccessDeniedException"
