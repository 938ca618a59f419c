"""Gap pitr: point-in-time and backup restores on an in-process moto behave as on AWS.

Without the middleware moto restores the table as it is now, accepts any restore time, never
advances LatestRestorableDateTime and drops SSE; each test below fails on plain moto.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from log_table_support import client, create_log_table

from slsops.contract import numbers
from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.gaps import pitr

LAG = numbers.TEST_PITR_LAG_S


@pytest.fixture(scope="module")
def endpoint():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(pitr.LAG_ENV, str(LAG))
        with serve_in_thread(build_moto_app()) as url:
            yield url


def put(ddb, table, sk, value="v"):
    ddb.put_item(
        TableName=table,
        Item={"service_name": {"S": "svc"}, "sk": {"S": sk}, "value": {"S": value}},
    )


def items_of(ddb, table) -> dict[str, str]:
    found = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            found[item["sk"]["S"]] = item.get("value", {}).get("S")
    return found


def window(ddb, table):
    desc = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    pitr_desc = desc["PointInTimeRecoveryDescription"]
    return pitr_desc["EarliestRestorableDateTime"], pitr_desc["LatestRestorableDateTime"]


def wait_past_lag():
    time.sleep(LAG + 0.3)


@pytest.fixture()
def table(endpoint, request):
    name = f"gap-{request.node.name[:40].replace('[', '-').replace(']', '')}"
    arns = create_log_table(endpoint, name, protected=False)
    return name, arns


def test_writes_and_deletes_after_the_point_are_absent(endpoint, table):
    name, _ = table
    ddb = client(endpoint, "dynamodb")
    for sk in ("a", "b", "c"):
        put(ddb, name, sk)
    wait_past_lag()
    _, point = window(ddb, name)
    time.sleep(0.05)
    put(ddb, name, "late")  # new after the point
    put(ddb, name, "a", value="changed")  # updated after the point
    ddb.delete_item(TableName=name, Key={"service_name": {"S": "svc"}, "sk": {"S": "b"}})
    ddb.batch_write_item(
        RequestItems={
            name: [
                {"DeleteRequest": {"Key": {"service_name": {"S": "svc"}, "sk": {"S": "c"}}}},
                {"PutRequest": {"Item": {"service_name": {"S": "svc"}, "sk": {"S": "batch"}}}},
            ]
        }
    )
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"service_name": {"S": "svc"}, "sk": {"S": "tx"}}}}
        ]
    )
    ddb.restore_table_to_point_in_time(
        SourceTableName=name, TargetTableName=f"{name}-r", RestoreDateTime=point
    )
    assert items_of(ddb, f"{name}-r") == {"a": "v", "b": "v", "c": "v"}
    assert items_of(ddb, name) == {"a": "changed", "late": "v", "batch": None, "tx": None}


def test_update_item_versions_are_replayed(endpoint, table):
    name, _ = table
    ddb = client(endpoint, "dynamodb")
    put(ddb, name, "k", value="one")
    wait_past_lag()
    _, point = window(ddb, name)
    time.sleep(0.05)
    ddb.update_item(
        TableName=name,
        Key={"service_name": {"S": "svc"}, "sk": {"S": "k"}},
        UpdateExpression="SET #v = :v",
        ExpressionAttributeNames={"#v": "value"},
        ExpressionAttributeValues={":v": {"S": "two"}},
    )
    ddb.restore_table_to_point_in_time(
        SourceTableName=name, TargetTableName=f"{name}-r", RestoreDateTime=point
    )
    assert items_of(ddb, f"{name}-r") == {"k": "one"}


def test_restore_time_outside_the_window_is_refused(endpoint, table):
    name, _ = table
    ddb = client(endpoint, "dynamodb")
    earliest, _ = window(ddb, name)
    too_early = earliest - timedelta(seconds=30)
    within_lag = datetime.now(UTC)  # after the latest restorable time (now - lag)
    for moment in (too_early, within_lag, within_lag + timedelta(seconds=60)):
        with pytest.raises(ClientError) as caught:
            ddb.restore_table_to_point_in_time(
                SourceTableName=name, TargetTableName=f"{name}-r", RestoreDateTime=moment
            )
        assert caught.value.response["Error"]["Code"] == "InvalidRestoreTimeException"
    assert f"{name}-r" not in ddb.list_tables()["TableNames"]


def test_latest_restorable_time_advances_with_the_local_lag(endpoint, table):
    name, _ = table
    ddb = client(endpoint, "dynamodb")
    _, first = window(ddb, name)
    wait_past_lag()
    earliest, second = window(ddb, name)
    assert second > first
    lag = (datetime.now(UTC) - second).total_seconds()
    assert LAG - 0.2 <= lag <= LAG + 1.5
    assert earliest <= first


def test_restores_keep_sse_billing_and_indexes(endpoint, table):
    name, arns = table
    ddb = client(endpoint, "dynamodb")
    put(ddb, name, "a")
    wait_past_lag()
    ddb.restore_table_to_point_in_time(
        SourceTableName=name, TargetTableName=f"{name}-p", UseLatestRestorableTime=True
    )
    backup = ddb.create_backup(TableName=name, BackupName=f"{name}-b")["BackupDetails"]
    ddb.restore_table_from_backup(TargetTableName=f"{name}-b", BackupArn=backup["BackupArn"])
    for restored in (f"{name}-p", f"{name}-b"):
        desc = ddb.describe_table(TableName=restored)["Table"]
        assert desc["SSEDescription"]["KMSMasterKeyArn"] == arns["kms_key_arn"]
        assert desc["SSEDescription"]["Status"] == "ENABLED"
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]] == ["all-services-newest"]
        assert items_of(ddb, restored) == {"a": "v"}


def test_sse_override_wins(endpoint, table):
    name, _ = table
    ddb = client(endpoint, "dynamodb")
    other_key = client(endpoint, "kms").create_key()["KeyMetadata"]["Arn"]
    ddb.restore_table_to_point_in_time(
        SourceTableName=name,
        TargetTableName=f"{name}-o",
        UseLatestRestorableTime=True,
        SSESpecificationOverride={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": other_key},
    )
    desc = ddb.describe_table(TableName=f"{name}-o")["Table"]
    assert desc["SSEDescription"]["KMSMasterKeyArn"] == other_key


def test_pitr_disabled_source_is_refused(endpoint, table):
    name, _ = table
    ddb = client(endpoint, "dynamodb")
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    with pytest.raises(ClientError) as caught:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=f"{name}-r", UseLatestRestorableTime=True
        )
    assert caught.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"


def test_recreated_table_does_not_inherit_history(endpoint, table):
    name, _ = table
    ddb = client(endpoint, "dynamodb")
    put(ddb, name, "old")
    ddb.delete_table(TableName=name)
    create_log_table(endpoint, name, protected=False)
    wait_past_lag()
    ddb.restore_table_to_point_in_time(
        SourceTableName=name, TargetTableName=f"{name}-r", UseLatestRestorableTime=True
    )
    assert items_of(ddb, f"{name}-r") == {}


def test_default_lag_is_aws_like(monkeypatch):
    monkeypatch.delenv(pitr.LAG_ENV, raising=False)
    assert pitr.lag_seconds() == numbers.PITR_LAG_S == 300.0
    monkeypatch.setenv(pitr.LAG_ENV, "2.5")
    assert pitr.lag_seconds() == 2.5


def test_concurrent_writes_to_two_tables_are_journaled_per_table(endpoint, table):
    """No global lock: parallel writers on two tables; each restore holds exactly its writes."""
    import concurrent.futures

    name, _ = table
    other = f"{name}-2"
    create_log_table(endpoint, other, protected=False)

    def write(target_and_index):
        target, index = target_and_index
        put(client(endpoint, "dynamodb"), target, f"k{index:03d}", value=target)

    jobs = [(t, i) for i in range(40) for t in (name, other)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, jobs))
    wait_past_lag()
    ddb = client(endpoint, "dynamodb")
    for target in (name, other):
        ddb.restore_table_to_point_in_time(
            SourceTableName=target, TargetTableName=f"{target}-r", UseLatestRestorableTime=True
        )
        assert items_of(ddb, f"{target}-r") == {f"k{i:03d}": target for i in range(40)}
