"""Settings of a handler, read once from its environment (names in the shared interfaces)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from log_service import keys, limits


class MissingConfiguration(RuntimeError):
    """A variable the function cannot run without is not set (never guessed: a default table
    name would point a misconfigured function at another deployment's data)."""


def _required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingConfiguration(f"{name} is not set in the function's environment")
    return value


def _int_env(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside {low}..{high}")
    return value


@dataclass(frozen=True)
class Settings:
    table_name: str
    index_name: str = keys.DEFAULT_INDEX_NAME
    shard_count: int = keys.DEFAULT_SHARD_COUNT
    retention_days: int = limits.DEFAULT_RETENTION_DAYS
    max_clock_skew_seconds: int = limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS
    default_service_name: str = limits.DEFAULT_SERVICE_NAME

    @classmethod
    def from_env(cls) -> Settings:
        """Read once per execution environment; raises :class:`MissingConfiguration` when
        ``DYNAMODB_TABLE_NAME`` is missing, so the first request fails instead of writing to a
        table nobody configured."""
        return cls(
            table_name=_required_env("DYNAMODB_TABLE_NAME"),
            index_name=os.environ.get("INDEX_NAME") or keys.DEFAULT_INDEX_NAME,
            shard_count=_int_env("SHARD_COUNT", keys.DEFAULT_SHARD_COUNT, 1, 1000),
            retention_days=_int_env(
                "RETENTION_DAYS", limits.DEFAULT_RETENTION_DAYS, 1, limits.MAX_RETENTION_DAYS
            ),
            max_clock_skew_seconds=_int_env(
                "MAX_CLOCK_SKEW_SECONDS", limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS, 0, 86_400
            ),
            default_service_name=os.environ.get("DEFAULT_SERVICE_NAME")
            or limits.DEFAULT_SERVICE_NAME,
        )
