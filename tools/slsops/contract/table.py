"""The log table and its key: what DynamoDB must hold."""

from __future__ import annotations

from dataclasses import dataclass

from log_service import keys


@dataclass(frozen=True)
class TableContract:
    """The log table. Key names come from ``log_service.keys`` (the one key scheme).

    ``*_type`` are DynamoDB attribute types (S, N). ``index_*`` describe the all-services GSI.
    ``sse_kms_cmk``: server-side encryption with the project's customer-managed KMS key (not the
    AWS-owned or AWS-managed key). ``contributor_insights``: enabled on AWS; the local stack
    cannot hold it (moto lacks the API), so it is a Terraform variable.
    """

    partition_key: str = keys.PARTITION_KEY
    partition_key_type: str = "S"
    sort_key: str = keys.SORT_KEY
    sort_key_type: str = "S"
    index_name: str = keys.DEFAULT_INDEX_NAME
    index_partition_key: str = keys.INDEX_PARTITION_KEY
    index_partition_key_type: str = "N"
    index_sort_key: str = keys.INDEX_SORT_KEY
    index_projection: str = "ALL"
    billing_mode: str = "PAY_PER_REQUEST"
    ttl_attribute: str = keys.TTL_ATTRIBUTE
    sse_kms_cmk: bool = True
    point_in_time_recovery: bool = True
    deletion_protection: bool = True
    contributor_insights: bool = True
    stream: bool = False  # no DynamoDB stream: the data leaves the table through the API only
    shard_count: int = keys.DEFAULT_SHARD_COUNT


TABLE = TableContract()
