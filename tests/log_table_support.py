"""Helpers for the audit and drill tests: an in-process moto with the log table, a stack file,
and the audit's planted corruptions (``planted``: one case per check id).

The table mirrors the contract (keys, all-services index, SSE with a CMK, PITR, TTL, deletion
protection), and items are built with ``log_service.items`` so they look as the service
writes them. The stack file holds every output the loader requires plus
``local_endpoint_url``/``local_credentials``, as ``slsops local up`` writes it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from stack_outputs import realistic_values

from log_service import keys, model
from log_service.items import make_log_item, make_marker
from log_service.model import LogEntry

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
SHARD_COUNT = 16


def client(endpoint: str, service: str, **options: Any) -> Any:
    """A client of ``service`` on ``endpoint``; ``options`` (``config=``...) go to boto3."""
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS, **options
    )


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
    values: dict[str, Any] = realistic_values()  # the outputs the audit and drill do not read
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


def key_of(item):
    return {keys.PARTITION_KEY: item[keys.PARTITION_KEY], keys.SORT_KEY: item[keys.SORT_KEY]}


def with_log_id(item, log_id, timestamp=None):
    """``item`` moved to another log id (and timestamp), keeping the key scheme consistent."""
    stamp = timestamp or item["timestamp"]
    return {
        **item,
        "log_id": log_id,
        "timestamp": stamp,
        keys.SORT_KEY: keys.sort_key(stamp, log_id),
        keys.INDEX_PARTITION_KEY: keys.shard_for(log_id, SHARD_COUNT),
    }


def marker_for(item):
    """The idempotency marker that points at ``item`` (as the writer would store it): its
    content hash is the item's, whatever the item holds (so only the planted AUD-024 case
    has a marker that disagrees with its item)."""
    fields = [item.get(name) for name in (keys.PARTITION_KEY, "level", "log_type", "message")]
    metadata = item.get("metadata")
    hashable = all(isinstance(f, str) for f in fields) and isinstance(metadata, str | None)
    return {
        **keys.marker_key(item["log_id"]),
        "log_id": item["log_id"],
        "entry_service": item[keys.PARTITION_KEY],
        "entry_sk": item[keys.SORT_KEY],
        "content_hash": model.content_hash(*fields, metadata) if hashable else "0" * 64,
        keys.TTL_ATTRIBUTE: item[keys.TTL_ATTRIBUTE],
    }


def planted():
    """(check id, items to store, expected (kind, key) findings) per planted corruption.

    Each case is one corruption of an otherwise clean entry (item + its marker); where a
    corruption necessarily shows in the marker too, both findings are expected.
    """
    base = lambda **kw: log_item(**kw)[0]  # noqa: E731
    cases = []

    def case(check_id, kind, item, *, marker=True, also=()):
        items = [item] + ([marker_for(item)] if marker else [])
        cases.append((check_id, items, [(kind, key_of(item)), *also]))

    item = base()
    del item["message"]
    case("AUD-001", "missing_attribute", item)
    case("AUD-002", "wrong_type", {**base(), "log_type": Decimal(5)})
    case("AUD-003", "bad_level", {**base(), "level": "VERBOSE"})
    case("AUD-004", "bad_timestamp", {**base(), "ingested_at": "2026-01-01 10:00:00"})
    item = base()
    other = keys.format_timestamp(datetime.now(UTC) - timedelta(hours=3))
    case("AUD-005", "timestamp_key_mismatch", {**item, keys.SORT_KEY: f"{other}#{item['log_id']}"})
    case("AUD-006", "bad_log_id", with_log_id(base(), "bad id with spaces"))
    item = base()
    bad = {**item, keys.SORT_KEY: item[keys.SORT_KEY] + "-other"}
    case(
        "AUD-007",
        "log_id_key_mismatch",
        bad,
        also=[("bad_marker", keys.marker_key(item["log_id"]))],
    )
    item = {**base(), keys.PARTITION_KEY: "bad service!"}
    case(
        "AUD-008",
        "bad_service_name",
        item,
        also=[("bad_marker", keys.marker_key(item["log_id"]))],
    )
    item = base()
    wrong_shard = (item[keys.INDEX_PARTITION_KEY] + 1) % SHARD_COUNT
    case("AUD-009", "index_attr_mismatch", {**item, keys.INDEX_PARTITION_KEY: wrong_shard})
    case("AUD-010", "over_limit", base(message="x" * 16_385))
    case("AUD-011", "bad_metadata", base(metadata='{"b": 1, "a": 2}'))
    case("AUD-011", "bad_metadata", base(metadata="[1,2]"))
    case("AUD-011", "bad_metadata", base(metadata="null"))
    item = base()
    case(
        "AUD-012", "bad_ttl", {**item, keys.TTL_ATTRIBUTE: item[keys.TTL_ATTRIBUTE] + 400 * 86_400}
    )
    item = base()
    future = keys.format_timestamp(
        keys.parse_stored_timestamp(item["ingested_at"]) + timedelta(hours=1)
    )
    case("AUD-013", "clock_skew", with_log_id(item, item["log_id"], timestamp=future))
    item, marker = log_item()
    bad_marker = {**marker, "entry_sk": keys.sort_key(item["timestamp"], "other")}
    # Its entry_sk names no item while the entry exists: AUD-019 sees that too.
    cases.append(
        (
            "AUD-014",
            [item, bad_marker],
            [("bad_marker", key_of(bad_marker)), ("marker_points_elsewhere", key_of(bad_marker))],
        )
    )
    genuine = base(service="svc-a")
    copy = with_log_id(base(service="svc-b"), genuine["log_id"])
    cases.append(
        (
            "AUD-015",
            [genuine, copy, marker_for(genuine)],
            [("duplicate_log_id", key_of(genuine)), ("duplicate_log_id", key_of(copy))],
        )
    )
    case("AUD-018", "entry_without_marker", base(), marker=False)
    item = base()
    elsewhere = marker_for(item)
    elsewhere["entry_sk"] = keys.sort_key(
        keys.format_timestamp(datetime.now(UTC) - timedelta(hours=5)), item["log_id"]
    )
    cases.append(
        (
            "AUD-019",
            [item, elsewhere],
            [("marker_points_elsewhere", keys.marker_key(item["log_id"]))],
        )
    )
    orphan = marker_for(base())
    cases.append(("AUD-021", [orphan], [("marker_without_entry", key_of(orphan))]))
    case("AUD-022", "bad_text", base(message=""))
    case("AUD-022", "bad_text", base(message="   \t "))
    case("AUD-022", "bad_text", base(message="before\x00after"))
    case("AUD-022", "bad_text", {**base(), "log_type": ""})
    case("AUD-023", "unknown_attribute", {**base(), "mesage": "typo"})
    item = base()
    cases.append(
        (
            "AUD-023",
            [item, {**marker_for(item), "extra_field": "x"}],
            [("unknown_attribute", keys.marker_key(item["log_id"]))],
        )
    )
    item = base()
    written = keys.parse_stored_timestamp(item["ingested_at"]).timestamp()
    case("AUD-012", "bad_ttl", {**item, keys.TTL_ATTRIBUTE: int(written + 1.5 * 86_400)})
    _marker_cases(cases, base)
    item, marker = log_item(message="as written")
    edited = {**item, "message": "edited in place"}  # the marker still holds the old hash
    cases.append(("AUD-024", [edited, marker], [("content_hash_mismatch", key_of(edited))]))
    return cases


def _marker_cases(cases, base):
    """Markers that disagree with their entry, or whose own ingested_at is broken."""
    item = base()
    early = {**marker_for(item), keys.TTL_ATTRIBUTE: item[keys.TTL_ATTRIBUTE] - 20 * 86_400}
    # The marker expires 20 days before its entry: a retry after that stores a second copy.
    cases.append(("AUD-014", [item, early], [("bad_marker", key_of(early))]))
    item = base(retention_days=20)  # 3 days earlier, its expires_at is still 23 whole days on
    three_days_before = keys.parse_stored_timestamp(item["ingested_at"]) - timedelta(days=3)
    moved = {**marker_for(item), "ingested_at": keys.format_timestamp(three_days_before)}
    cases.append(("AUD-014", [item, moved], [("bad_marker", key_of(moved))]))
    unparsed = {**marker_for(base()), "ingested_at": "garbage"}  # AUD-021 cannot age it
    cases.append(("AUD-004", [unparsed], [("bad_timestamp", key_of(unparsed))]))
    tomorrow = keys.format_timestamp(datetime.now(UTC) + timedelta(days=1))
    ahead = {
        **marker_for(base()),
        "ingested_at": tomorrow,
        keys.TTL_ATTRIBUTE: keys.expires_at(tomorrow, 30),
    }
    cases.append(("AUD-013", [ahead], [("clock_skew", key_of(ahead))]))
    old = keys.format_timestamp(datetime.now(UTC) - timedelta(days=3))
    forever = {
        **marker_for(base()),
        "ingested_at": old,
        keys.TTL_ATTRIBUTE: keys.expires_at(old, 400),
    }
    cases.append(
        (
            "AUD-012",
            [forever],
            [("bad_ttl", key_of(forever)), ("entry_lost", key_of(forever))],
        )
    )
    # Its entry deleted three days after it was written (or a write nobody retried since).
    lost = {**marker_for(base()), "ingested_at": old, keys.TTL_ATTRIBUTE: keys.expires_at(old, 30)}
    cases.append(("AUD-025", [lost], [("entry_lost", key_of(lost))]))


def reserved_corruptions():
    """Broken entries under the toolkit's reserved service names: never violations."""
    smoke = {**log_item(service=keys.SMOKE_SERVICE)[0], "level": "VERBOSE"}
    load = log_item(service="loadtest-ingest")[0]  # no marker: would be AUD-018
    return [smoke, marker_for(smoke), load]
