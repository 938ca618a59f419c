"""DDB-*: the log table: keys, index, billing, TTL, encryption, PITR, protection, resource
policy (verify)."""

from __future__ import annotations

import json
from typing import Any

from slsops import contract
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared
from slsops.framework.model import Check, Outcome, Severity, check, failed, passed
from slsops.iam.documents import statements

CHECKS: list[Check] = []
T = contract.TABLE
DOC = "runbooks/deployment-verification-failed.md"


def _table_name(ctx: StackContext) -> str:
    return str(ctx.stack["table_name"])


def _table(ctx: StackContext) -> dict[str, Any]:
    return ctx.call("dynamodb", "describe_table", TableName=_table_name(ctx))["Table"]


def _key_names(schema: list[dict[str, str]]) -> dict[str, str | None]:
    by_type = {k["KeyType"]: k["AttributeName"] for k in schema or []}
    return {"hash": by_type.get("HASH"), "range": by_type.get("RANGE")}


@check(
    CHECKS,
    "DDB-001",
    "Table keys (partition and sort key names and types)",
    Severity.CRITICAL,
    "The key schema cannot change in place: restore into a new table with the contract's keys "
    "and name, and point the stack file (table_name, table_arn) at it.",
    reads="dynamodb:DescribeTable (TableName, KeySchema, AttributeDefinitions); the contract's "
    "table name for the deployment's prefix and environment",
    runs_on="both",
    doc=DOC,
)
def table_keys(ctx: StackContext) -> Outcome:
    """The name is compared with the contract's, never with the stack file's own value (which
    DescribeTable of that same name would always echo)."""
    table = _table(ctx)
    keys = _key_names(table.get("KeySchema"))
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    return compared(
        {
            "name": ctx.names.table,
            "partition_key": T.partition_key,
            "partition_key_type": T.partition_key_type,
            "sort_key": T.sort_key,
            "sort_key_type": T.sort_key_type,
        },
        {
            "name": table.get("TableName"),
            "partition_key": keys["hash"],
            "partition_key_type": types.get(keys["hash"] or ""),
            "sort_key": keys["range"],
            "sort_key_type": types.get(keys["range"] or ""),
        },
        f"{_table_name(ctx)} is keyed by {T.partition_key} + {T.sort_key}",
        table_status=table.get("TableStatus"),
        table_arn=table.get("TableArn"),
    )


@check(
    CHECKS,
    "DDB-002",
    "All-services index (keys, projection, active)",
    Severity.HIGH,
    "Create the GSI from infra/dynamodb.tf (gsi_shard + sk, projection ALL) and apply.",
    reads="dynamodb:DescribeTable (GlobalSecondaryIndexes, AttributeDefinitions)",
    runs_on="both",
    doc=DOC,
)
def index(ctx: StackContext) -> Outcome:
    table = _table(ctx)
    name = str(ctx.stack.get("index_name") or T.index_name)
    gsi = next((g for g in table.get("GlobalSecondaryIndexes", []) if g["IndexName"] == name), {})
    keys = _key_names(gsi.get("KeySchema", []))
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    return compared(
        {
            "index_name": T.index_name,
            "exists": True,
            "partition_key": T.index_partition_key,
            "partition_key_type": T.index_partition_key_type,
            "sort_key": T.index_sort_key,
            "projection": T.index_projection,
            "status": "ACTIVE",
        },
        {
            "index_name": name,
            "exists": bool(gsi),
            "partition_key": keys["hash"],
            "partition_key_type": types.get(keys["hash"] or ""),
            "sort_key": keys["range"],
            "projection": (gsi.get("Projection") or {}).get("ProjectionType"),
            "status": gsi.get("IndexStatus"),
        },
        f"index {name} on {T.index_partition_key} + {T.index_sort_key}, projection ALL",
    )


@check(
    CHECKS,
    "DDB-003",
    "Billing mode",
    Severity.MEDIUM,
    "Set billing_mode on the table in infra/ and apply.",
    reads="dynamodb:DescribeTable (BillingModeSummary)",
    runs_on="both",
    doc=DOC,
)
def billing_mode(ctx: StackContext) -> Outcome:
    table = _table(ctx)
    # DescribeTable leaves BillingModeSummary out for tables that were always provisioned.
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    return compared({"billing_mode": T.billing_mode}, {"billing_mode": mode}, f"billing {mode}")


@check(
    CHECKS,
    "DDB-004",
    "Time to live enabled on the TTL attribute",
    Severity.HIGH,
    "aws dynamodb update-time-to-live --table-name <table> "
    "--time-to-live-specification Enabled=true,AttributeName=expires_at",
    reads="dynamodb:DescribeTimeToLive",
    runs_on="both",
    doc=DOC,
)
def ttl(ctx: StackContext) -> Outcome:
    answer = ctx.call("dynamodb", "describe_time_to_live", TableName=_table_name(ctx))
    desc = answer.get("TimeToLiveDescription") or {}
    # The contract's attribute (the one the service writes), never the stack file's own value:
    # a deployment whose TTL and output both name another attribute would vouch for itself.
    return compared(
        {"status": "ENABLED", "attribute": T.ttl_attribute, "output_attribute": T.ttl_attribute},
        {
            "status": desc.get("TimeToLiveStatus"),
            "attribute": desc.get("AttributeName"),
            "output_attribute": ctx.stack.get("ttl_attribute"),
        },
        f"TTL on {desc.get('AttributeName')}",
    )


@check(
    CHECKS,
    "DDB-005",
    "Encryption at rest with the project's customer-managed key",
    Severity.CRITICAL,
    "Set server_side_encryption { enabled = true, kms_key_arn = <the CMK> } in infra/ and apply.",
    reads="dynamodb:DescribeTable (SSEDescription); the kms_key_arn output",
    runs_on="both",
    doc=DOC,
)
def sse(ctx: StackContext) -> Outcome:
    desc = _table(ctx).get("SSEDescription") or {}
    return compared(
        {"status": "ENABLED", "type": "KMS", "kms_key_arn": str(ctx.stack["kms_key_arn"])},
        {
            "status": desc.get("Status"),
            "type": desc.get("SSEType"),
            "kms_key_arn": desc.get("KMSMasterKeyArn"),
        },
        "encrypted with the project's CMK",
    )


@check(
    CHECKS,
    "DDB-006",
    "Point-in-time recovery enabled",
    Severity.CRITICAL,
    "aws dynamodb update-continuous-backups --table-name <table> "
    "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
    reads="dynamodb:DescribeContinuousBackups",
    runs_on="both",
    doc=DOC,
)
def pitr(ctx: StackContext) -> Outcome:
    answer = ctx.call("dynamodb", "describe_continuous_backups", TableName=_table_name(ctx))
    desc = (answer.get("ContinuousBackupsDescription") or {}).get(
        "PointInTimeRecoveryDescription"
    ) or {}
    want = "ENABLED" if T.point_in_time_recovery else "DISABLED"
    return compared(
        {"pitr_status": want},
        {"pitr_status": desc.get("PointInTimeRecoveryStatus")},
        "point-in-time recovery is on",
        earliest_restorable=desc.get("EarliestRestorableDateTime"),
        latest_restorable=desc.get("LatestRestorableDateTime"),
    )


@check(
    CHECKS,
    "DDB-007",
    "Deletion protection enabled",
    Severity.HIGH,
    "aws dynamodb update-table --table-name <table> --deletion-protection-enabled",
    reads="dynamodb:DescribeTable (DeletionProtectionEnabled)",
    runs_on="both",
    doc=DOC,
)
def deletion_protection(ctx: StackContext) -> Outcome:
    enabled = bool(_table(ctx).get("DeletionProtectionEnabled"))
    return compared(
        {"deletion_protection": T.deletion_protection},
        {"deletion_protection": enabled},
        "the table cannot be deleted by accident",
    )


@check(
    CHECKS,
    "DDB-008",
    "Contributor insights enabled",
    Severity.LOW,
    "aws dynamodb update-contributor-insights --table-name <table> "
    "--contributor-insights-action ENABLE",
    reads="dynamodb:DescribeContributorInsights",
    runs_on="aws",
    doc=DOC,
)
def contributor_insights(ctx: StackContext) -> Outcome:
    answer = ctx.call("dynamodb", "describe_contributor_insights", TableName=_table_name(ctx))
    status = answer.get("ContributorInsightsStatus")
    return compared(
        {"status": "ENABLED" if T.contributor_insights else "DISABLED"},
        {"status": status},
        "contributor insights on",
    )


@check(
    CHECKS,
    "DDB-009",
    "No resource policy on the table grants access: the roles are the only way in",
    Severity.CRITICAL,
    "aws dynamodb delete-resource-policy --resource-arn <table ARN> (the project grants table "
    "access through the client and execution roles only; infra/dynamodb.tf has no policy)",
    reads="dynamodb:DescribeTable (TableArn); dynamodb:GetResourcePolicy of the table",
    runs_on="both",
    doc=DOC,
)
def no_resource_policy(ctx: StackContext) -> Outcome:
    """A resource policy admits principals no role check sees: another account, a service,
    anyone its conditions allow, past the roles' least privilege."""
    arn = str(_table(ctx).get("TableArn"))
    try:
        answer = ctx.call("dynamodb", "get_resource_policy", ResourceArn=arn)
    except ctx.client("dynamodb").exceptions.PolicyNotFoundException:
        return passed(f"no resource policy on {arn}", table_arn=arn, policy=None)
    document = json.loads(answer.get("Policy") or "{}")
    allows = [s for s in statements(document) if s.get("Effect") == "Allow"]
    evidence = {"table_arn": arn, "policy": document}
    if not allows:
        return passed(f"the resource policy on {arn} allows nothing (Deny only)", **evidence)
    named = "; ".join(
        f"{s.get('Sid') or 'statement'} allows {s.get('Action')} to {s.get('Principal')}"
        for s in allows[:3]
    )
    return failed(f"the table's resource policy grants access: {named}", **evidence)


@check(
    CHECKS,
    "DDB-010",
    "No stream on the table: the entries leave it through the API only",
    Severity.MEDIUM,
    "aws dynamodb update-table --table-name <table> --stream-specification StreamEnabled=false "
    "(infra/dynamodb.tf has no stream)",
    reads="dynamodb:DescribeTable (StreamSpecification)",
    runs_on="both",
    doc=DOC,
)
def no_stream(ctx: StackContext) -> Outcome:
    """A stream copies every write for whoever may read it (its own resource policy too), a
    second way out of the table that no role check sees."""
    spec = _table(ctx).get("StreamSpecification") or {}
    return compared(
        {"stream_enabled": T.stream},
        {"stream_enabled": bool(spec.get("StreamEnabled"))},
        "no stream on the table",
        stream_view_type=spec.get("StreamViewType"),
    )
