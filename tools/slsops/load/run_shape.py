"""The shape of one load run (users, pacing, duration, scenarios) and the time it takes.

The profile's ``run`` table fills what the command line leaves out; values out of range are a
usage error (exit 2) before anything starts.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass

from slsops.errors import UsageError


@dataclass(frozen=True)
class RunShape:
    """What one run does; the profile's ``run`` table fills what the command line leaves out."""

    users: int
    spawn_rate: float
    run_time: str
    warmup_s: float
    task_rate: float
    batch_size: int
    read_pages: int
    processes: int
    classes: tuple[str, ...]
    tags: tuple[str, ...]


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def run_seconds(text: str) -> int:
    """Locust's run-time syntax (``90``, ``45s``, ``5m``, ``1h30m``) in seconds."""
    text = str(text).strip()
    if text.isascii() and text.isdigit():  # not "²": int() refuses it
        return int(text)
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", text)
    if not text or not match:
        raise UsageError(f"--run-time {text!r} is not like 45s, 5m or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def shape_from(args: argparse.Namespace, profile_run: dict) -> RunShape:
    def pick(name: str, default: object) -> object:
        given = getattr(args, name)
        return given if given is not None else profile_run.get(name, default)

    shape = RunShape(
        users=int(pick("users", 10)),
        spawn_rate=float(pick("spawn_rate", 10)),
        run_time=str(pick("run_time", "45s")),
        warmup_s=float(
            args.warmup if args.warmup is not None else profile_run.get("warmup_s", 10.0)
        ),
        task_rate=float(pick("task_rate", 1.0)),
        batch_size=int(pick("batch_size", 25)),
        read_pages=int(pick("read_pages", 3)),
        processes=int(pick("processes", 0)),
        # Tags given on the command line choose among all classes, not the profile's.
        classes=_csv(args.classes) or (() if args.tags else tuple(profile_run.get("classes", ()))),
        tags=_csv(args.tags) or tuple(profile_run.get("tags", ())),
    )
    if not all(math.isfinite(v) for v in (shape.spawn_rate, shape.warmup_s, shape.task_rate)):
        raise UsageError("--spawn-rate, --warmup and --task-rate must be finite numbers")
    if shape.users < 1 or shape.spawn_rate <= 0:
        raise UsageError("--users must be >= 1 and --spawn-rate > 0")
    if not 1 <= shape.batch_size <= 100:
        raise UsageError(f"--batch-size must be 1..100, not {shape.batch_size}")
    if not 1 <= shape.read_pages <= 10:
        raise UsageError(f"--read-pages must be 1..10, not {shape.read_pages}")
    if shape.task_rate < 0 or shape.processes < -1 or shape.warmup_s < 0:
        raise UsageError("--task-rate and --warmup must be >= 0, --processes >= -1")
    if run_seconds(shape.run_time) < 1:
        raise UsageError("--run-time must be at least 1 s")
    return shape


def ramp_seconds(shape: RunShape) -> float:
    return shape.users / shape.spawn_rate


def locust_seconds(shape: RunShape) -> int:
    """Locust's --run-time: ramp-up and warm-up, then the measured run time."""
    extra = shape.warmup_s + ramp_seconds(shape) if shape.warmup_s > 0 else ramp_seconds(shape)
    return run_seconds(shape.run_time) + int(extra + 0.999)
