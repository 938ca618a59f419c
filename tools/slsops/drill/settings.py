"""What a restore carries over and what it does not: schema, encryption, settings to re-apply.

AWS restores keys, indexes, items and (by default) encryption and billing mode; it never
restores PITR, deletion protection, TTL, tags, streams, alarms, auto scaling or the IAM
policies that name the table. Those the runbook re-applies, so the drill lists them. A
setting that differs and that no runbook step re-applies (billing mode, table class) is a
finding of its own: the restored table would not behave as the source did.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from slsops.drill import cleanup as drill_cleanup


def pitr_window(client: Any, source: str) -> tuple[Any, Any] | None:
    """(earliest, latest) restorable times, or None when PITR is off."""
    answer = client.describe_continuous_backups(TableName=source)
    pitr = (answer.get("ContinuousBackupsDescription") or {}).get(
        "PointInTimeRecoveryDescription"
    ) or {}
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        return None
    return pitr["EarliestRestorableDateTime"], pitr["LatestRestorableDateTime"]


def _key_schema(desc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in desc.get("KeySchema", [])]


def _indexes(desc: dict[str, Any], field_name: str) -> dict[str, Any]:
    return {
        i["IndexName"]: {
            "keys": _key_schema(i),
            "projection": (i.get("Projection") or {}).get("ProjectionType"),
            "non_key": sorted((i.get("Projection") or {}).get("NonKeyAttributes", [])),
        }
        for i in desc.get(field_name, []) or []
    }


def schema_differences(source: dict[str, Any], restored: dict[str, Any]) -> list[str]:
    """What differs in keys, attribute definitions and indexes (empty when equal)."""
    differences = []
    if _key_schema(source) != _key_schema(restored):
        differences.append(f"key schema {_key_schema(source)} != {_key_schema(restored)}")

    def attributes(desc: dict[str, Any]) -> set[tuple[str, str]]:
        return {
            (a["AttributeName"], a["AttributeType"]) for a in desc.get("AttributeDefinitions", [])
        }

    if attributes(source) != attributes(restored):
        differences.append("attribute definitions differ")
    for field_name in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        want, got = _indexes(source, field_name), _indexes(restored, field_name)
        for name in sorted(set(want) | set(got)):
            if want.get(name) != got.get(name):
                differences.append(f"{field_name} {name}: {want.get(name)} != {got.get(name)}")
    return differences


def sse(desc: dict[str, Any]) -> dict[str, Any]:
    sse = desc.get("SSEDescription") or {}
    return {
        "status": sse.get("Status"),
        "type": sse.get("SSEType"),
        "key": sse.get("KMSMasterKeyArn"),
    }


# What AWS never carries over to a restored table, and how the runbook re-applies it.
ALWAYS_REAPPLY = (
    ("CloudWatch alarms", "alarms name the table: point them at the restored table (infra/ apply)"),
    ("Auto scaling", "re-register scalable targets and policies (on-demand tables: none)"),
    ("IAM policies", "policies name the table ARN: restore under the original name or update them"),
)


def not_carried_over(
    client: Any,
    source: str,
    source_desc: dict[str, Any],
    restored: str,
    restored_desc: dict[str, Any],
    alarm_names: list[str],
) -> list[dict[str, str]]:
    """Settings the source has that the restored table lacks, and what re-applies them."""
    found: list[dict[str, str]] = []

    def pitr_status(name: str) -> str:
        try:
            return "ENABLED" if pitr_window(client, name) else "DISABLED"
        except ClientError:  # not allowed to look: say it must be re-applied
            return "UNKNOWN"

    def ttl_of(name: str) -> dict[str, Any]:
        try:
            return client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        except ClientError:
            return {}

    if pitr_status(source) != "DISABLED" and pitr_status(restored) != "ENABLED":
        found.append(
            {
                "setting": "Point-in-time recovery",
                "reapply": f"aws dynamodb update-continuous-backups --table-name {restored} "
                "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
            }
        )
    if source_desc.get("DeletionProtectionEnabled") and not restored_desc.get(
        "DeletionProtectionEnabled"
    ):
        found.append(
            {
                "setting": "Deletion protection",
                "reapply": f"aws dynamodb update-table --table-name {restored} "
                "--deletion-protection-enabled",
            }
        )
    ttl_source, ttl_restored = ttl_of(source), ttl_of(restored)
    if ttl_source.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl_restored.get(
        "TimeToLiveStatus"
    ) not in ("ENABLED", "ENABLING"):
        found.append(
            {
                "setting": f"Time to live ({ttl_source.get('AttributeName')})",
                "reapply": f"aws dynamodb update-time-to-live --table-name {restored} "
                "--time-to-live-specification "
                f"Enabled=true,AttributeName={ttl_source.get('AttributeName')}",
            }
        )
    source_tags = _tags(client, source_desc["TableArn"])
    restored_tags = _tags(client, restored_desc["TableArn"])
    lost = {k: v for k, v in source_tags.items() if restored_tags.get(k) != v}
    if lost:
        found.append(
            {
                "setting": f"Tags ({', '.join(sorted(lost))})",
                "reapply": "aws dynamodb tag-resource --resource-arn <restored table ARN> --tags "
                + " ".join(f"Key={k},Value={v}" for k, v in sorted(lost.items())),
            }
        )
    stream = (source_desc.get("StreamSpecification") or {}).get("StreamEnabled")
    if stream and not (restored_desc.get("StreamSpecification") or {}).get("StreamEnabled"):
        view = source_desc["StreamSpecification"].get("StreamViewType", "NEW_AND_OLD_IMAGES")
        found.append(
            {
                "setting": "DynamoDB stream",
                "reapply": f"aws dynamodb update-table --table-name {restored} "
                f"--stream-specification StreamEnabled=true,StreamViewType={view}",
            }
        )
    alarms = ", ".join(alarm_names) or "the table's alarms"
    for setting, reapply in ALWAYS_REAPPLY:
        detail = f"{reapply} ({alarms})" if setting == "CloudWatch alarms" else reapply
        found.append({"setting": setting, "reapply": detail})
    return found


def _tags(client: Any, arn: str) -> dict[str, str]:
    try:
        tags = client.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
    except ClientError:
        return {}
    return {
        t["Key"]: t["Value"]
        for t in tags
        if t["Key"] not in (drill_cleanup.TAG_DRILL, drill_cleanup.TAG_STARTED)
    }


def _billing_mode(desc: dict[str, Any]) -> str:
    return (desc.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"


def _table_class(desc: dict[str, Any]) -> str:
    return (desc.get("TableClassSummary") or {}).get("TableClass") or "STANDARD"


def not_reapplicable(source_desc: dict[str, Any], restored_desc: dict[str, Any]) -> list[str]:
    """Settings a restore carries over that differ anyway: no runbook step puts them back."""
    found = []
    for name, read in (("billing mode", _billing_mode), ("table class", _table_class)):
        if read(source_desc) != read(restored_desc):
            found.append(f"{name} {read(source_desc)} != restored {read(restored_desc)}")
    return found
