"""The targets a load run is judged against: one ``[profiles.NAME]`` of loadtests/targets.toml.

A target the profile sets is gated; one it leaves out (None) is reported, not gated. The
release gate's profile (``aws``, :data:`RELEASE_PROFILE`) must set every target of the
architecture document (:data:`ARCHITECTURE_TARGETS`): a target deleted or mistyped there would
otherwise turn into "reported, not gated" and the gate would PASS without judging it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slsops.errors import UsageError
from slsops.load.measurements import KINDS, KINDS_BY_ID


@dataclass(frozen=True)
class LatencyTarget:
    """Upper bounds in ms; None means reported, not gated."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    latency: dict[str, LatencyTarget]
    ingest_logs_per_s: float | None
    read_queries_per_s: float | None
    max_error_ratio: float
    burst_rps: float | None = None
    run: dict[str, Any] = field(default_factory=dict)


_LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")
_PROFILE_KEYS = {
    "description",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "ingest_logs_per_s",
    "read_queries_per_s",
    "max_error_ratio",
    "burst_rps",
    "latency",
    "run",
}
# What a ``[profiles.NAME.run]`` table may set (slsops.load.run_shape); a mistyped key would
# leave the run at a default shape the targets were not set for.
_RUN_KEYS = {
    "users",
    "spawn_rate",
    "run_time",
    "warmup_s",
    "task_rate",
    "batch_size",
    "read_pages",
    "processes",
    "classes",
    "tags",
}


# The profile the release is gated by, and the targets of the architecture document it must
# set: P50 and P99 of every request kind (at the top, or per kind), both rates, the error ratio.
RELEASE_PROFILE = "aws"
ARCHITECTURE_TARGETS = (
    "p50_ms",
    "p99_ms",
    "ingest_logs_per_s",
    "read_queries_per_s",
    "max_error_ratio",
)


def _number(value: Any, where: str) -> float | None:
    """A target: a finite number >= 0 (TOML's inf would gate nothing, nan fail everything)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"{where} must be a number >= 0, not {value!r}")
    if not math.isfinite(value):
        raise UsageError(f"{where} must be a finite number, not {value!r}")
    return float(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a table, not {value!r}")
    return value


def parse_profile(name: str, table: dict[str, Any]) -> Profile:
    """Build a Profile from one ``[profiles.NAME]`` table; UsageError on anything unknown."""
    table = _table(table, f"profiles.{name}")
    unknown = set(table) - _PROFILE_KEYS
    if unknown:
        raise UsageError(f"profile {name!r} has unknown keys: {', '.join(sorted(unknown))}")
    default = {k: _number(table.get(k), f"profiles.{name}.{k}") for k in _LATENCY_KEYS}
    latency = {}
    overrides = _table(table.get("latency", {}), f"profiles.{name}.latency")
    bad_kinds = set(overrides) - set(KINDS_BY_ID)
    if bad_kinds:
        raise UsageError(
            f"profile {name!r} names unknown request kinds: {', '.join(sorted(bad_kinds))} "
            f"(kinds: {', '.join(KINDS_BY_ID)})"
        )
    for kind in KINDS:
        own = _table(overrides.get(kind.id, {}), f"profiles.{name}.latency.{kind.id}")
        if set(own) - set(_LATENCY_KEYS):
            raise UsageError(
                f"profiles.{name}.latency.{kind.id} has unknown keys: "
                f"{', '.join(sorted(set(own) - set(_LATENCY_KEYS)))} (keys: p50_ms, p95_ms, p99_ms)"
            )
        merged = {
            k: _number(own[k], f"profiles.{name}.latency.{kind.id}.{k}") if k in own else v
            for k, v in default.items()
        }
        latency[kind.id] = LatencyTarget(**merged)
    run = _table(table.get("run", {}), f"profiles.{name}.run")
    if set(run) - _RUN_KEYS:
        raise UsageError(
            f"profiles.{name}.run has unknown keys: {', '.join(sorted(set(run) - _RUN_KEYS))} "
            f"(keys: {', '.join(sorted(_RUN_KEYS))})"
        )
    max_error_ratio = _number(table.get("max_error_ratio", 0.0), f"profiles.{name}.max_error_ratio")
    if max_error_ratio is not None and max_error_ratio > 1:
        raise UsageError(
            f"profiles.{name}.max_error_ratio must be from 0 to 1 (a ratio, 0.001 = 0.1 %), "
            f"not {max_error_ratio:g}"
        )
    if name == RELEASE_PROFILE:
        _require_architecture_targets(name, table, latency)
    return Profile(
        name=name,
        description=str(table.get("description", "")),
        latency=latency,
        ingest_logs_per_s=_number(
            table.get("ingest_logs_per_s"), f"profiles.{name}.ingest_logs_per_s"
        ),
        read_queries_per_s=_number(
            table.get("read_queries_per_s"), f"profiles.{name}.read_queries_per_s"
        ),
        max_error_ratio=max_error_ratio or 0.0,
        burst_rps=_number(table.get("burst_rps"), f"profiles.{name}.burst_rps"),
        run=dict(run),
    )


def _require_architecture_targets(
    name: str, table: dict[str, Any], latency: dict[str, LatencyTarget]
) -> None:
    """UsageError (one line) naming every architecture target the release profile leaves out."""
    missing = [
        key
        for key in ("ingest_logs_per_s", "read_queries_per_s", "max_error_ratio")
        if table.get(key) is None
    ]
    for key in ("p50_ms", "p99_ms"):
        kinds = [kind.id for kind in KINDS if getattr(latency[kind.id], key) is None]
        if len(kinds) == len(KINDS):
            missing.append(key)
        else:
            missing += [f"latency.{kind}.{key}" for kind in kinds]
    if missing:
        raise UsageError(
            f"profile {name!r} is the release gate and must set every architecture target "
            f"({', '.join(ARCHITECTURE_TARGETS)}); it leaves out: {', '.join(missing)}"
        )


def load_profile(path: Path, name: str) -> Profile:
    """Read ``[profiles.NAME]`` from the targets file (loadtests/targets.toml)."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read targets file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"targets file {path} is not UTF-8 text: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"targets file {path} is not valid TOML: {exc}") from None
    profiles = _table(document.get("profiles", {}), f"{path}: profiles")
    if name not in profiles:
        raise UsageError(
            f"no profile {name!r} in {path}; profiles: {', '.join(sorted(profiles)) or 'none'}"
        )
    return parse_profile(name, profiles[name])
