"""The validation rules of a log entry, shared by the API and the integrity audit.

Each rule is a function from a value to a problem (the text the API answers after the field
name) or ``None``. ``model.parse_entry`` refuses a request with :func:`reject`; the audit
(``slsops.audit.rules``) evaluates the same functions on stored items. ``RULES`` names every
rule with the audit kind that finds its breach in stored data, or why none can exist (a rule
about the request's shape leaves no trace in an item); a test fails when a rule is added here
or used by the API without an audit counterpart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from log_service import canonical, keys, limits
from log_service.errors import ValidationError


@dataclass(frozen=True)
class Rule:
    """One rule: its name, the audit kind that catches a stored breach, or why none can."""

    name: str
    audit_kind: str | None
    request_only: str | None = None


RULES: dict[str, Rule] = {}


def _rule(name: str, audit_kind: str | None, request_only: str | None = None) -> str:
    if (audit_kind is None) == (request_only is None):
        raise ValueError(f"rule {name}: give an audit kind or the reason it has none")
    RULES[name] = Rule(name, audit_kind, request_only)
    return name


REQUIRED = _rule("required", "missing_attribute")
TEXT_TYPE = _rule("text_type", "wrong_type")
TEXT_NUL = _rule("text_nul", "bad_text")
TEXT_UNICODE = _rule(
    "text_unicode",
    None,
    "DynamoDB stores only valid UTF-8: a lone surrogate cannot reach a stored item",
)
TEXT_LENGTH = _rule("text_length", "over_limit")
MESSAGE_BLANK = _rule("message_blank", "bad_text")
LOG_TYPE_BLANK = _rule("log_type_blank", "bad_text")
SERVICE_NAME_FORM = _rule("service_name_form", "bad_service_name")
LOG_ID_FORM = _rule("log_id_form", "bad_log_id")
LEVEL_KNOWN = _rule("level_known", "bad_level")
TIMESTAMP_FORM = _rule("timestamp_form", "bad_timestamp")
TIMESTAMP_NOT_FUTURE = _rule("timestamp_not_future", "clock_skew")
METADATA_OBJECT = _rule("metadata_object", "bad_metadata")
METADATA_DEPTH = _rule("metadata_depth", "bad_metadata")
METADATA_REPRESENTABLE = _rule("metadata_representable", "bad_metadata")
METADATA_SIZE = _rule("metadata_size", "over_limit")
RETENTION_RANGE = _rule("retention_range", "bad_ttl")
UNKNOWN_FIELDS = _rule("unknown_fields", "unknown_attribute")
ENTRY_OBJECT = _rule(
    "entry_object", None, "an entry that is not an object is never stored as an item"
)
DIALECT_AGREE = _rule(
    "dialect_agree", None, "only one value per field is stored; the disagreement is not kept"
)


def reject(rule: str, field: str, problem: str) -> ValidationError:
    """The 400 the API answers for ``rule`` broken by ``field``."""
    if rule not in RULES:
        raise KeyError(f"unknown rule {rule!r}")
    error = ValidationError(field, problem)
    error.rule = rule  # type: ignore[attr-defined]
    return error


def text_problem(value: str, max_chars: int) -> tuple[str, str] | None:
    """(rule, problem) for a string field: NUL, lone surrogates, length."""
    if "\x00" in value:
        return TEXT_NUL, "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return TEXT_UNICODE, "must be valid Unicode (no lone surrogates)"
    if len(value) > max_chars:
        return TEXT_LENGTH, f"is longer than {max_chars} characters"
    return None


def blank_problem(value: str, what: str) -> str | None:
    """An empty or whitespace-only message or log_type."""
    return None if value.strip() else f"{what} must not be empty or whitespace"


def service_name_problem(value: str) -> str | None:
    if keys.SERVICE_NAME_PATTERN.match(value):
        return None
    return "must be 1-128 of A-Z a-z 0-9 . _ - / and start with a letter or digit"


def log_id_problem(value: str) -> str | None:
    if keys.LOG_ID_PATTERN.match(value):
        return None
    return "must be 1-128 of A-Z a-z 0-9 . _ : - and start with a letter or digit"


def stored_level_problem(value: str) -> str | None:
    """A stored level is one of the canonical names (the API maps aliases onto them)."""
    return None if value in limits.LEVELS else f"must be one of {', '.join(limits.LEVELS)}"


def metadata_value_problem(value: Any) -> tuple[str, str] | None:
    """(rule, problem) for a metadata value already parsed from JSON."""
    if not isinstance(value, dict):
        return METADATA_OBJECT, "must be a JSON object"
    if canonical.depth(value) > limits.MAX_METADATA_DEPTH:
        return METADATA_DEPTH, f"is nested deeper than {limits.MAX_METADATA_DEPTH}"
    return None


def metadata_size_problem(text: str) -> str | None:
    size = len(text.encode("utf-8"))
    if size > limits.MAX_METADATA_BYTES:
        return f"is larger than {limits.MAX_METADATA_BYTES} bytes"
    return None


def unknown_fields(names: Iterable[str], allowed: frozenset[str]) -> list[str]:
    """The names outside ``allowed``, sorted (a typo such as ``mesage`` must not pass)."""
    return sorted(set(names) - allowed)


def retention_problem(days: int, max_days: int) -> str | None:
    return None if 1 <= days <= max_days else f"must be between 1 and {max_days}"
