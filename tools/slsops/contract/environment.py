"""The environment both Lambda functions carry, with the values a default deployment sets."""

from __future__ import annotations

from log_service import limits
from slsops.contract.names import DEFAULT_NAME_PREFIX, Names
from slsops.contract.numbers import MAX_CLOCK_SKEW_SECONDS, RETENTION_DAYS
from slsops.contract.table import TABLE

POWERTOOLS_SERVICE_NAME = DEFAULT_NAME_PREFIX
POWERTOOLS_METRICS_NAMESPACE = "SimpleLogService"
POWERTOOLS_LOG_LEVEL = "INFO"
DEFAULT_SERVICE_NAME = limits.DEFAULT_SERVICE_NAME


def expected_environment(
    n: Names,
    *,
    shard_count: int = TABLE.shard_count,
    retention_days: int = RETENTION_DAYS,
    max_clock_skew_seconds: int = MAX_CLOCK_SKEW_SECONDS,
) -> dict[str, str]:
    """The environment both functions must carry (values as Lambda stores them: strings)."""
    return {
        "DYNAMODB_TABLE_NAME": n.table,
        "INDEX_NAME": TABLE.index_name,
        "SHARD_COUNT": str(shard_count),
        "RETENTION_DAYS": str(retention_days),
        "MAX_CLOCK_SKEW_SECONDS": str(max_clock_skew_seconds),
        "DEFAULT_SERVICE_NAME": DEFAULT_SERVICE_NAME,
        "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": POWERTOOLS_LOG_LEVEL,
    }
