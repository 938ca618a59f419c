"""A log entry as clients send it, validated and normalised onto one model.

Accepted dialects (existing clients), mapped onto the canonical fields:
``severity`` (info|warning|error, any case) -> ``level``; ``datetime`` -> ``timestamp``;
``id`` -> ``log_id``; ``service_name`` may be absent for those clients and then defaults to
``DEFAULT_SERVICE_NAME``. Unknown fields are refused (400 naming them): a typo such as
``mesage`` must not silently drop data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from log_service import canonical, keys, limits, rules
from log_service.settings import Settings

CANONICAL_FIELDS = frozenset(
    {"service_name", "timestamp", "log_type", "level", "message", "metadata", "log_id"}
)
DIALECT_FIELDS = {"severity": "level", "datetime": "timestamp", "id": "log_id"}
EXTRA_FIELDS = frozenset({"retention_days"})
ALLOWED_FIELDS = CANONICAL_FIELDS | frozenset(DIALECT_FIELDS) | EXTRA_FIELDS
DEFAULT_LOG_TYPE = "application"
EPOCH_MS_MIN = 0
EPOCH_MS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


@dataclass(frozen=True)
class LogEntry:
    """A validated entry; ``timestamp`` is None when the server is to pick it."""

    service_name: str
    level: str
    message: str
    log_type: str
    metadata_json: str | None
    log_id: str | None
    timestamp: str | None
    retention_days: int

    def content_hash(self) -> str:
        """Hash of what the client said, timestamp aside (compared on its own)."""
        return content_hash(
            self.service_name, self.level, self.log_type, self.message, self.metadata_json
        )


def content_hash(
    service_name: str, level: str, log_type: str, message: str, metadata_json: str | None
) -> str:
    """The content hash a marker records: the one definition, so the audit can recompute it
    from a stored log item (whose fields are the entry's, stored as is) and compare."""
    content = canonical.dumps_canonical([service_name, level, log_type, message, metadata_json])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _text(value: Any, field: str, max_chars: int, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise rules.reject(rules.TEXT_TYPE, field, "must be a string")
    problem = rules.text_problem(value, max_chars)
    if problem:
        raise rules.reject(problem[0], field, problem[1])
    return value


def _pick(raw: dict[str, Any], canonical_name: str) -> tuple[str, Any]:
    """The value of a field under its canonical or dialect name; both given must agree."""
    names = [canonical_name] + [d for d, c in DIALECT_FIELDS.items() if c == canonical_name]
    present = [(n, raw[n]) for n in names if n in raw]
    if len(present) > 1 and len({repr(v) for _, v in present}) > 1:
        listed = " and ".join(n for n, _ in present)
        raise rules.reject(rules.DIALECT_AGREE, canonical_name, f"{listed} disagree")
    return present[0] if present else (canonical_name, None)


def parse_level(value: Any, field: str = "level") -> str:
    if not isinstance(value, str):
        raise rules.reject(rules.LEVEL_KNOWN, field, f"must be one of {', '.join(limits.LEVELS)}")
    upper = value.strip().upper()
    upper = limits.LEVEL_ALIASES.get(upper, upper)
    problem = rules.stored_level_problem(upper)
    if problem:
        raise rules.reject(rules.LEVEL_KNOWN, field, problem)
    return upper


def parse_client_timestamp(value: Any, field: str = "timestamp") -> datetime:
    """ISO 8601 with a zone, or epoch milliseconds, as an aware UTC datetime."""
    if isinstance(value, bool):
        raise rules.reject(
            rules.TIMESTAMP_FORM, field, "must be ISO 8601 with a time zone or epoch milliseconds"
        )
    if isinstance(value, int):
        if not EPOCH_MS_MIN <= value <= EPOCH_MS_MAX:
            raise rules.reject(rules.TIMESTAMP_FORM, field, "epoch milliseconds out of range")
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise rules.reject(
            rules.TIMESTAMP_FORM, field, "must be ISO 8601 with a time zone or epoch milliseconds"
        )
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise rules.reject(
            rules.TIMESTAMP_FORM, field, f"is not ISO 8601: {value[:64]!r}"
        ) from None
    if moment.tzinfo is None:
        raise rules.reject(
            rules.TIMESTAMP_FORM, field, "must include a time zone (e.g. Z or +02:00)"
        )
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise rules.reject(rules.TIMESTAMP_FORM, field, "is out of range") from None


def _timestamp(raw: dict[str, Any], settings: Settings, now: datetime) -> str | None:
    field, value = _pick(raw, "timestamp")
    if value is None:
        return None
    moment = parse_client_timestamp(value, field)
    if moment > now + timedelta(seconds=settings.max_clock_skew_seconds):
        raise rules.reject(
            rules.TIMESTAMP_NOT_FUTURE,
            field,
            f"is more than {settings.max_clock_skew_seconds} s in the future "
            "(check the client's clock)",
        )
    return keys.format_timestamp(moment)


def _metadata(value: Any) -> str | None:
    if value is None:
        return None
    problem = rules.metadata_value_problem(value)
    if problem:
        raise rules.reject(problem[0], "metadata", problem[1])
    try:
        text = canonical.dumps_canonical(value)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        raise rules.reject(
            rules.METADATA_REPRESENTABLE, "metadata", "holds a value JSON cannot represent"
        ) from None
    too_big = rules.metadata_size_problem(text)
    if too_big:
        raise rules.reject(rules.METADATA_SIZE, "metadata", too_big)
    return text


def _retention(value: Any, settings: Settings) -> int:
    if value is None:
        return settings.retention_days
    if isinstance(value, bool) or not isinstance(value, int):
        raise rules.reject(rules.RETENTION_RANGE, "retention_days", "must be an integer")
    problem = rules.retention_problem(value, settings.retention_days)
    if problem:
        raise rules.reject(rules.RETENTION_RANGE, "retention_days", problem)
    return value


def parse_entry(raw: Any, settings: Settings, now: datetime | None = None) -> LogEntry:
    """Validate one entry; ValidationError names the first field that is wrong."""
    if not isinstance(raw, dict):
        raise rules.reject(rules.ENTRY_OBJECT, "entry", "must be a JSON object")
    unknown = rules.unknown_fields(raw, ALLOWED_FIELDS)
    if unknown:
        raise rules.reject(
            rules.UNKNOWN_FIELDS, unknown[0], f"unknown field(s): {', '.join(unknown)}"
        )
    now = now or datetime.now(UTC)
    uses_dialect = any(name in raw for name in DIALECT_FIELDS)

    service = raw.get("service_name")
    if service is None and uses_dialect:
        service = settings.default_service_name
    if service is None:
        raise rules.reject(rules.REQUIRED, "service_name", "is required")
    service = _text(service, "service_name", 128)
    problem = rules.service_name_problem(service)
    if problem:
        raise rules.reject(rules.SERVICE_NAME_FORM, "service_name", problem)

    level_field, level_value = _pick(raw, "level")
    if level_value is None:
        raise rules.reject(rules.REQUIRED, "level", "is required")
    level = parse_level(level_value, level_field)

    message = _text(raw.get("message"), "message", limits.MAX_MESSAGE_CHARS)
    if rules.blank_problem(message, "message"):
        raise rules.reject(rules.MESSAGE_BLANK, "message", "must not be empty or whitespace")

    log_type = _text(raw.get("log_type", DEFAULT_LOG_TYPE), "log_type", limits.MAX_LOG_TYPE_CHARS)
    if rules.blank_problem(log_type, "log_type"):
        raise rules.reject(rules.LOG_TYPE_BLANK, "log_type", "must not be empty")

    id_field, log_id = _pick(raw, "log_id")
    if log_id is not None:
        log_id = _text(log_id, id_field, 128)
        problem = rules.log_id_problem(log_id)
        if problem:
            raise rules.reject(rules.LOG_ID_FORM, id_field, problem)

    return LogEntry(
        service_name=service,
        level=level,
        message=message,
        log_type=log_type,
        metadata_json=_metadata(raw.get("metadata")),
        log_id=log_id,
        timestamp=_timestamp(raw, settings, now),
        retention_days=_retention(raw.get("retention_days"), settings),
    )
