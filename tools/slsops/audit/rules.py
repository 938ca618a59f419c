"""Per-item rules: what one stored item must look like (log items and idempotency markers).

Items are judged in DynamoDB's wire form (``stored_item``), so a wrong attribute *type* is
visible; each broken rule is a ``Violation`` of one of the ``kinds``. The field rules are the
API's own (``log_service.rules``), the numbers come from ``log_service.limits`` and the layout
from ``log_service.keys``. ``STORED_RULES`` says where the audit evaluates each API rule on a
stored item; a test fails when the API gains a rule that is not there.

Rules that span items (duplicates, a marker and its entry, the index) are SQL over the item
relation: ``slsops.audit.relation``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from log_service import canonical, keys, limits
from log_service import rules as api_rules
from slsops.audit.kinds import Violation
from slsops.audit.stored_item import (
    LOG_ITEM_ALL_TYPES,
    LOG_ITEM_ATTRIBUTES,
    LOG_ITEM_TYPES,
    MARKER_ALL_TYPES,
    MARKER_ATTRIBUTES,
    MARKER_TYPES,
    item_key,
    number,
    string,
)

# Where the audit evaluates each rule of the API (log_service.rules) on a stored item.
STORED_RULES: dict[str, str] = {
    api_rules.REQUIRED: "every attribute of LOG_ITEM_TYPES / MARKER_TYPES is present",
    api_rules.TEXT_TYPE: "string attributes are of type S",
    api_rules.TEXT_NUL: "message and log_type hold no NUL",
    api_rules.TEXT_LENGTH: "message and log_type within their lengths",
    api_rules.MESSAGE_BLANK: "message is not empty or whitespace",
    api_rules.LOG_TYPE_BLANK: "log_type is not empty or whitespace",
    api_rules.SERVICE_NAME_FORM: "service_name (and a marker's entry_service) well-formed",
    api_rules.LOG_ID_FORM: "log_id well-formed",
    api_rules.LEVEL_KNOWN: "level is a canonical level",
    api_rules.TIMESTAMP_FORM: "timestamp and ingested_at in the stored form",
    api_rules.TIMESTAMP_NOT_FUTURE: "timestamp within the skew of ingested_at, ingested_at not "
    "in the future",
    api_rules.METADATA_OBJECT: "metadata parses to a JSON object",
    api_rules.METADATA_DEPTH: "metadata nests at most MAX_METADATA_DEPTH",
    api_rules.METADATA_REPRESENTABLE: "metadata is strict canonical JSON",
    api_rules.METADATA_SIZE: "metadata within MAX_METADATA_BYTES",
    api_rules.RETENTION_RANGE: "expires_at a whole 1 .. RETENTION_DAYS days after ingested_at",
    api_rules.UNKNOWN_FIELDS: "no attribute outside the data model",
}
DAY = 86_400


@dataclass(frozen=True)
class RuleSettings:
    """What the rules compare against (the deployment's settings and the audit's clock)."""

    shard_count: int
    now: float
    max_retention_days: int = limits.DEFAULT_RETENTION_DAYS
    max_clock_skew_seconds: int = limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS


def check_item(item: dict[str, Any], settings: RuleSettings) -> list[Violation]:
    """Every rule one item breaks (an empty list for a good item)."""
    if string(item, keys.PARTITION_KEY) and keys.is_marker(
        {keys.PARTITION_KEY: string(item, keys.PARTITION_KEY)}
    ):
        return _check_marker(item, settings)
    return _check_log_item(item, settings)


def _types(
    item: dict[str, Any],
    key: dict[str, str],
    wanted: dict[str, str],
    every_type: dict[str, str],
    allowed: frozenset[str],
) -> list[Violation]:
    """Missing attributes, wrong DynamoDB types, attributes outside the data model."""
    found: list[Violation] = []
    missing = sorted(name for name in wanted if name not in item)
    if missing:
        found.append(Violation("missing_attribute", key, f"missing {', '.join(missing)}"))
    wrong = []
    for name, want in every_type.items():
        value = item.get(name)
        if value is not None and not (isinstance(value, dict) and want in value):
            wrong.append(f"{name} is {next(iter(value), '?')} not {want}")
    if wrong:
        found.append(Violation("wrong_type", key, "; ".join(sorted(wrong))))
    if not item.keys() <= allowed:
        unknown = api_rules.unknown_fields(item, allowed)
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        found.append(Violation("unknown_attribute", key, f"unknown attribute(s) {shown}"))
    return found


def _parse_time(text: str | None) -> datetime | None:
    """A stored timestamp, or None when it is not in the normalised stored form.

    The stored form is fixed-width (``keys.TIMESTAMP_PATTERN``), so a match that is also a
    real date is exactly what ``keys.format_timestamp`` writes; this avoids strptime, which
    costs more than every other rule of an item together.
    """
    if text is None or not keys.TIMESTAMP_PATTERN.match(text):
        return None
    try:
        return datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
            int(text[20:23]) * 1000,
            tzinfo=UTC,
        )
    except ValueError:
        return None


def _check_log_item(item: dict[str, Any], settings: RuleSettings) -> list[Violation]:
    key = item_key(item)
    found = _types(item, key, LOG_ITEM_TYPES, LOG_ITEM_ALL_TYPES, LOG_ITEM_ATTRIBUTES)
    add = found.append

    service = string(item, keys.PARTITION_KEY)
    if service is not None and api_rules.service_name_problem(service):
        add(Violation("bad_service_name", key, f"service_name {service[:80]!r}"))

    level = string(item, "level")
    if level is not None and api_rules.stored_level_problem(level):
        add(Violation("bad_level", key, f"level {level[:40]!r}"))

    timestamp_text, ingested_text = string(item, "timestamp"), string(item, "ingested_at")
    timestamp, ingested = _parse_time(timestamp_text), _parse_time(ingested_text)
    bad_times = [
        f"{name} {text[:40]!r}"
        for name, text, parsed in (
            ("timestamp", timestamp_text, timestamp),
            ("ingested_at", ingested_text, ingested),
        )
        if text is not None and parsed is None
    ]
    if bad_times:
        add(Violation("bad_timestamp", key, "not normalised: " + ", ".join(bad_times)))

    log_id, sort_key = string(item, "log_id"), string(item, keys.SORT_KEY)
    if log_id is not None and api_rules.log_id_problem(log_id):
        add(Violation("bad_log_id", key, f"log_id {log_id[:80]!r}"))
    if sort_key is not None:
        key_time, _, key_id = sort_key.partition("#")
        if timestamp_text is not None and key_time != timestamp_text:
            add(Violation("timestamp_key_mismatch", key, f"sk time {key_time!r}"))
        if log_id is not None and key_id != log_id:
            add(Violation("log_id_key_mismatch", key, f"sk log_id {key_id[:80]!r}"))

    shard = number(item, keys.INDEX_PARTITION_KEY)
    if log_id is not None and shard is not None:
        expected = keys.shard_for(log_id, settings.shard_count)
        if shard != str(expected):
            add(Violation("index_attr_mismatch", key, f"gsi_shard {shard}, expected {expected}"))

    found.extend(_limits(item, key))
    found.extend(_ttl(item, key, ingested, settings))

    skews = []
    limit = settings.max_clock_skew_seconds
    if timestamp and ingested and (timestamp - ingested).total_seconds() > limit:
        skews.append(f"timestamp {timestamp_text} is > {limit} s after ingested_at")
    if ingested and ingested.timestamp() > settings.now + limit:
        skews.append(f"ingested_at {ingested_text} is in the future")
    if skews:
        add(Violation("clock_skew", key, "; ".join(skews)))
    return found


def _limits(item: dict[str, Any], key: dict[str, str]) -> list[Violation]:
    found: list[Violation] = []
    over, bad_text = [], []
    for name, max_chars in (
        ("message", limits.MAX_MESSAGE_CHARS),
        ("log_type", limits.MAX_LOG_TYPE_CHARS),
    ):
        text = string(item, name)
        if text is None:
            continue
        problem = api_rules.text_problem(text, max_chars)
        if problem and problem[0] == api_rules.TEXT_LENGTH:
            over.append(f"{name} {len(text)} chars > {max_chars}")
        elif problem:
            bad_text.append(f"{name} {problem[1]}")
        blank = api_rules.blank_problem(text, name)
        if blank:
            bad_text.append(blank)
    if bad_text:
        found.append(Violation("bad_text", key, "; ".join(bad_text)))
    metadata = string(item, "metadata")
    if metadata is not None:
        too_big = api_rules.metadata_size_problem(metadata)
        if too_big:
            over.append(
                f"metadata {len(metadata.encode('utf-8'))} bytes > {limits.MAX_METADATA_BYTES}"
            )
        problem = _metadata_problem(metadata)
        if problem:
            found.append(Violation("bad_metadata", key, problem))
    if over:
        found.append(Violation("over_limit", key, "; ".join(over)))
    return found


# More digits than canonical.MAX_INT_DIGITS somewhere: only the strict parser may judge it.
_LONG_NUMBER = re.compile(rf"\d{{{canonical.MAX_INT_DIGITS + 1}}}")


def _metadata_problem(text: str) -> str | None:
    """Why stored metadata breaks the rules, or None.

    Fast path first: text that plain ``json`` parses and writes back unchanged in the canonical
    form is strict JSON (a repeated key, NaN or infinity would not survive the round trip);
    anything else goes through the strict parser for the exact reason.
    """
    try:
        value = json.loads(text)
        if canonical.dumps_canonical(value) == text and not _LONG_NUMBER.search(text):
            problem = api_rules.metadata_value_problem(value)
            return f"metadata {problem[1]} (found {type(value).__name__})" if problem else None
    except (ValueError, RecursionError):
        pass
    try:
        value = canonical.loads_strict(text)
    except canonical.StrictJsonError as exc:
        return f"metadata is not strict JSON: {str(exc)[:80]}"
    problem = api_rules.metadata_value_problem(value)
    if problem:
        return f"metadata {problem[1]} (found {type(value).__name__})"
    if canonical.dumps_canonical(value) != text:
        return "metadata is not in canonical form (sorted keys, compact)"
    return None


def _ttl(
    item: dict[str, Any], key: dict[str, str], ingested: datetime | None, settings: RuleSettings
) -> list[Violation]:
    raw = number(item, keys.TTL_ATTRIBUTE)
    if raw is None:
        return []  # missing or wrong type: already reported
    try:
        value = int(raw)
    except ValueError:
        return [Violation("bad_ttl", key, f"expires_at {raw!r} is not whole seconds")]
    if ingested is None:
        return [] if value > 0 else [Violation("bad_ttl", key, f"expires_at {value}")]
    if keys.retention_days_of(ingested, value, settings.max_retention_days) is None:
        lifetime = value - ingested.timestamp()
        return [
            Violation(
                "bad_ttl",
                key,
                f"expires_at is {lifetime / DAY:.2f} days after ingested_at "
                f"(allowed a whole number of days, 1 .. {settings.max_retention_days})",
            )
        ]
    return []


def _check_marker(item: dict[str, Any], settings: RuleSettings) -> list[Violation]:
    key = item_key(item)
    found = _types(item, key, MARKER_TYPES, MARKER_ALL_TYPES, MARKER_ATTRIBUTES)
    # The writer's markers carry their entry's ingested_at (older ones none): it must be the
    # stored form and not in the future (AUD-021 ages a lone marker by it), and expires_at
    # the entry's retention after it.
    ingested_text = string(item, "ingested_at")
    ingested = _parse_time(ingested_text)
    if ingested_text is not None and ingested is None:
        detail = f"not normalised: ingested_at {ingested_text[:40]!r}"
        found.append(Violation("bad_timestamp", key, detail))
    if ingested and ingested.timestamp() > settings.now + settings.max_clock_skew_seconds:
        found.append(Violation("clock_skew", key, f"ingested_at {ingested_text} is in the future"))
    if ingested is not None:
        found.extend(_ttl(item, key, ingested, settings))
    problems = []
    log_id = string(item, "log_id")
    if log_id is not None and string(item, keys.PARTITION_KEY) != keys.MARKER_PREFIX + log_id:
        problems.append("partition key does not name its log_id")
    if string(item, keys.SORT_KEY) != keys.MARKER_SORT_KEY:
        problems.append(f"sort key is not {keys.MARKER_SORT_KEY!r}")
    entry_sk = string(item, "entry_sk")
    if entry_sk is not None and log_id is not None:
        try:
            _, entry_log_id = keys.split_sort_key(entry_sk)
        except ValueError:
            entry_log_id = None
        if entry_log_id != log_id:
            problems.append(f"entry_sk {entry_sk[:80]!r} does not end with its log_id")
    service = string(item, "entry_service")
    if service is not None and api_rules.service_name_problem(service):
        problems.append(f"entry_service {service[:80]!r}")
    if problems:
        found.append(Violation("bad_marker", key, "; ".join(problems)))
    return found
