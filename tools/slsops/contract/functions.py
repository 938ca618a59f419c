"""The two Lambda functions and their execution roles."""

from __future__ import annotations

from dataclasses import dataclass

ENVIRONMENT_VARIABLES = (
    "DYNAMODB_TABLE_NAME",
    "INDEX_NAME",
    "SHARD_COUNT",
    "RETENTION_DAYS",
    "MAX_CLOCK_SKEW_SECONDS",
    "DEFAULT_SERVICE_NAME",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
)
"""Names of the Lambda environment variables (both functions carry the same set)."""


@dataclass(frozen=True)
class FunctionContract:
    """One Lambda function and its execution role.

    ``name_middle``: the function is named ``<prefix>-<name_middle>-<environment>``.
    ``alias``: API Gateway invokes this alias; a rollback moves it to an older published version.
    ``dynamodb_actions``: exactly the DynamoDB actions its execution role grants (what the code
    uses); ``dynamodb_on_index``: whether they also apply to the all-services index.
    ``kms_actions``: what its role may do with the CMK (only through DynamoDB or Lambda).
    ``log_retention_days``: its ``/aws/lambda/<name>`` log group, KMS-encrypted.
    """

    key: str
    name_middle: str
    handler: str
    dynamodb_actions: tuple[str, ...]
    dynamodb_on_index: bool
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    memory_mb: int = 256
    timeout_s: int = 30
    reserved_concurrency: int = 100
    tracing_mode: str = "Active"
    alias: str = "live"
    environment_variables: tuple[str, ...] = ENVIRONMENT_VARIABLES
    environment_encrypted_with_cmk: bool = True
    log_retention_days: int = 7
    kms_actions: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
    layers: tuple[str, ...] = ()  # the handlers' code is the zip alone: a layer is code beside it


FUNCTIONS: dict[str, FunctionContract] = {
    "ingest": FunctionContract(
        key="ingest",
        name_middle="ingest",
        handler="log_service.ingest_handler.handler",
        # A conditional PutItem per marker, then the log items in BatchWriteItem calls (a single
        # entry: a second PutItem); a replay reads the marker (GetItem).
        dynamodb_actions=("dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem"),
        dynamodb_on_index=False,
    ),
    "read": FunctionContract(
        key="read",
        name_middle="read-recent",
        handler="log_service.read_handler.handler",
        dynamodb_actions=("dynamodb:Query",),
        dynamodb_on_index=True,
    ),
}
