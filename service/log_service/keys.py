"""The one key scheme of the log table.

Every writer and reader (handlers, audit, drill, benchmarks, load tests) imports these
names and functions so the layout of an item is decided in exactly one place.

Layout (see docs/data-model.md):

* log item: ``service_name`` (partition key), ``sk`` = ``<timestamp>#<log_id>`` (sort key),
  ``gsi_shard`` = stable hash of ``log_id`` mod ``SHARD_COUNT`` (all-services index
  partition key; the index sort key is ``sk`` too), ``expires_at`` (TTL, epoch seconds).
* idempotency marker: ``service_name`` = ``#log_id#<log_id>``, ``sk`` = ``#``. One per log
  entry; it records where the entry lives and a hash of its content, so a retry with the same
  ``log_id`` is recognised even when the server picked the timestamp. Service names may not
  start with ``#``, so markers can never collide with a real service's partition.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta

from log_service import limits

# Attribute names.
PARTITION_KEY = "service_name"
SORT_KEY = "sk"
INDEX_PARTITION_KEY = "gsi_shard"
INDEX_SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
DEFAULT_INDEX_NAME = "all-services-newest"
DEFAULT_SHARD_COUNT = 8

# Service names the toolkit writes under (verify's smoke entries, drill canaries, load tests).
# The audit reports entries under them apart, never as violations.
SMOKE_SERVICE = "slsops-smoke"
DRILL_SERVICE = "slsops-drill"
LOADTEST_SERVICE_PREFIX = "loadtest-"
RESERVED_SERVICES = (SMOKE_SERVICE, DRILL_SERVICE)


def is_reserved_service(name: str) -> bool:
    """True for the toolkit's own service names (exact names, or the load-test prefix)."""
    return name in RESERVED_SERVICES or name.startswith(LOADTEST_SERVICE_PREFIX)


# Idempotency markers.
MARKER_PREFIX = "#log_id#"
MARKER_SORT_KEY = "#"

# UTC, millisecond precision, fixed width so that string order is time order.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.{ms:03d}Z"
TIMESTAMP_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LOG_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
SERVICE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,127}$")


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as the stored form: UTC, milliseconds, trailing Z."""
    moment = moment.astimezone(UTC)
    millis = moment.microsecond // 1000
    return moment.strftime(TIMESTAMP_FORMAT.replace("{ms:03d}", f"{millis:03d}"))


def parse_stored_timestamp(text: str) -> datetime:
    """Parse a timestamp in the stored form; ValueError for anything else."""
    if not isinstance(text, str) or not TIMESTAMP_PATTERN.match(text):
        raise ValueError(f"not a stored timestamp: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def now_timestamp() -> str:
    """The server's current time in the stored form."""
    return format_timestamp(datetime.now(UTC))


def new_log_id() -> str:
    """A fresh log id for entries whose client did not send one."""
    return str(uuid.uuid4())


def sort_key(timestamp: str, log_id: str) -> str:
    """Sort key of a log item: newest-first order by time, ties broken by log_id."""
    return f"{timestamp}#{log_id}"


def split_sort_key(value: str) -> tuple[str, str]:
    """Inverse of :func:`sort_key`; ValueError when the value is not of that shape."""
    timestamp, sep, log_id = value.partition("#")
    if not sep or not TIMESTAMP_PATTERN.match(timestamp) or not log_id:
        raise ValueError(f"not a log sort key: {value!r}")
    return timestamp, log_id


def shard_for(log_id: str, shard_count: int) -> int:
    """Stable shard of a log id: the same in every process and Python version."""
    digest = hashlib.blake2b(log_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shard_count


def expires_at(ingested_at: str, retention_days: int) -> int:
    """TTL value (epoch seconds) of an entry written at ``ingested_at``."""
    written = parse_stored_timestamp(ingested_at)
    return int((written + timedelta(days=retention_days)).timestamp())


def retention_days_of(
    written: datetime, expires: int, most_days: int = limits.MAX_RETENTION_DAYS
) -> int | None:
    """The retention (whole days) that gave an item written at ``written`` its TTL value
    ``expires`` (:func:`expires_at` truncates to whole seconds: one second either side is
    allowed); None when no whole number of days from 1 to ``most_days`` does, a TTL this
    service never writes."""
    lifetime = expires - written.timestamp()
    days = round(lifetime / 86_400)
    if not 1 <= days <= most_days or abs(lifetime - days * 86_400) > 1:
        return None
    return days


def marker_key(log_id: str) -> dict[str, str]:
    """Primary key of the idempotency marker of ``log_id``."""
    return {PARTITION_KEY: MARKER_PREFIX + log_id, SORT_KEY: MARKER_SORT_KEY}


def is_marker(item: dict) -> bool:
    """True for idempotency markers, False for log items."""
    return str(item.get(PARTITION_KEY, "")).startswith(MARKER_PREFIX)


def since_bound(timestamp: str) -> str:
    """Lowest sort key at or after ``timestamp`` (inclusive lower bound)."""
    return timestamp


def until_bound(timestamp: str) -> str:
    """Highest sort key at or before ``timestamp`` (inclusive upper bound).

    ``$`` sorts just after ``#``, so every ``<timestamp>#<log_id>`` is below it.
    """
    return timestamp + "$"


def table_definition(table_name: str, index_name: str = DEFAULT_INDEX_NAME) -> dict:
    """CreateTable arguments for this key scheme (tests, drills and benchmarks use it;
    infra/dynamodb.tf declares the same, checked by the contract test)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": INDEX_PARTITION_KEY, "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index_name,
                "KeySchema": [
                    {"AttributeName": INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }
