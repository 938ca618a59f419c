"""Table exports carry AWS's ARN shape, which the operator's published policy grants on."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import table_export

from slsops.local.gaps import dynamodb_export_arn


def _export(client, s3) -> tuple[str, str]:
    table = client.create_table(
        TableName="logs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]
    client.update_continuous_backups(
        TableName="logs", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    s3.create_bucket(Bucket="x-audit-exports")
    answer = client.export_table_to_point_in_time(
        TableArn=table["TableArn"], S3Bucket="x-audit-exports", S3Prefix="audit"
    )
    return table["TableArn"], answer["ExportDescription"]["ExportArn"]


@pytest.fixture
def clients():
    with mock_aws():
        yield (
            boto3.client("dynamodb", region_name="us-east-1"),
            boto3.client("s3", region_name="us-east-1"),
        )


def test_plain_moto_nests_the_table_arn_under_import(clients, monkeypatch):
    """The gap: without the fix the export ARN is not AWS's (this test shows it on moto)."""
    monkeypatch.setattr(table_export.TableExport, "__init__", dynamodb_export_arn.MOTO_INIT)
    table_arn, export_arn = _export(*clients)
    assert not export_arn.startswith(f"{table_arn}/export/")
    assert "/import/" in export_arn


def test_the_export_arn_is_the_table_arn_and_export_id(clients):
    dynamodb_export_arn.install()
    table_arn, export_arn = _export(*clients)
    assert export_arn.startswith(f"{table_arn}/export/")
    described = clients[0].describe_export(ExportArn=export_arn)["ExportDescription"]
    assert described["ExportArn"] == export_arn and described["TableArn"] == table_arn
