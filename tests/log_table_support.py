"""Helpers for the audit and drill tests: an in-process moto with the log table, a stack file.

The table mirrors the contract (keys, all-services index, SSE with a CMK, PITR, TTL, deletion
protection), and items are built with ``log_service.items`` so they look as the service
writes them. The stack file holds every output the loader requires plus
``local_endpoint_url``/``local_credentials``, as ``slsops local up`` writes it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from log_service import keys
from log_service.items import make_log_item, make_marker
from log_service.model import LogEntry
from slsops.stack import REQUIRED_OUTPUTS

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
SHARD_COUNT = 16


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def create_log_table(endpoint: str, name: str, *, protected: bool = True) -> dict[str, str]:
    """Create the log table as infra/ does; return its ARN and the CMK's ARN."""
    kms_key = client(endpoint, "kms").create_key(Description=f"{name} cmk")["KeyMetadata"]["Arn"]
    ddb = client(endpoint, "dynamodb")
    table = ddb.create_table(
        **keys.table_definition(name),
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key},
        DeletionProtectionEnabled=protected,
        Tags=[{"Key": "project", "Value": "simple-log-service"}],
    )["TableDescription"]
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    ddb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": keys.TTL_ATTRIBUTE},
    )
    return {"table_arn": table["TableArn"], "kms_key_arn": kms_key}


def write_stack_file(path: Path, endpoint: str, table: str, arns: dict[str, str]) -> Path:
    """A stack file in ``terraform output -json`` shape for the table on ``endpoint``."""
    values: dict[str, Any] = {name: f"unused-{name}" for name in REQUIRED_OUTPUTS}
    values.update(
        region=REGION,
        account_id=ACCOUNT,
        table_name=table,
        table_arn=arns["table_arn"],
        kms_key_arn=arns["kms_key_arn"],
        index_name=keys.DEFAULT_INDEX_NAME,
        shard_count=SHARD_COUNT,
        ttl_attribute=keys.TTL_ATTRIBUTE,
        roles={},
        trusted_principal_arns=[],
        alarm_names=[],
        config_rules_enabled=False,
        local_endpoint_url=endpoint,
        local_credentials={
            "access_key_id": CREDENTIALS["aws_access_key_id"],
            "secret_access_key": CREDENTIALS["aws_secret_access_key"],
        },
        local_pid=0,
    )
    outputs = {
        name: {"value": value, "type": "string", "sensitive": False}
        for name, value in values.items()
    }
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return path


def log_item(
    service: str = "checkout",
    level: str = "INFO",
    message: str = "hello",
    *,
    ingested: datetime | None = None,
    metadata: str | None = '{"a":1}',
    retention_days: int = 30,
    log_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A well-formed log item and its idempotency marker (resource-level form)."""
    moment = ingested or datetime.now(UTC) - timedelta(hours=1)
    stamp = keys.format_timestamp(moment)
    entry = LogEntry(
        service_name=service,
        level=level,
        message=message,
        log_type="application",
        metadata_json=metadata,
        log_id=log_id,
        timestamp=stamp,
        retention_days=retention_days,
    )
    item = make_log_item(entry, log_id or str(uuid.uuid4()), stamp, stamp, SHARD_COUNT)
    return item, make_marker(entry, item)


def put_items(endpoint: str, table: str, items: list[dict[str, Any]]) -> None:
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
    with resource.Table(table).batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)


def seed(endpoint: str, table: str, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Write ``count`` well-formed entries (items + markers); return the log items."""
    pairs = [
        log_item(service=f"svc-{i % 3}", level=("INFO", "WARN", "ERROR")[i % 3], **kwargs)
        for i in range(count)
    ]
    put_items(endpoint, table, [x for pair in pairs for x in pair])
    return [item for item, _ in pairs]
