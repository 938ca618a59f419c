"""Start and read local stacks from a test, each in its own folder (start-up cache tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def slsops(*args: str, env: dict[str, str], timeout: float = 700) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "slsops.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def up(stack: Path, env: dict[str, str]) -> dict:
    """``slsops local up --detach`` on free ports; the stack file's contents."""
    done = slsops(
        "local", "up", "--detach", "--aws-port", "0", "--api-port", "0", "--stack", str(stack),
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(stack.read_text())


def values(outputs: dict) -> dict:
    return {name: entry.get("value") for name, entry in outputs.get("outputs", outputs).items()}


def without_external_ids(roles: dict) -> dict:
    return {role: {k: v for k, v in d.items() if k != "external_id"} for role, d in roles.items()}


def cache_entries(cache: Path) -> list[Path]:
    """The entries of a start-up cache folder (not its ``.<key>.lock`` files)."""
    return sorted(p for p in cache.iterdir() if p.is_dir() and not p.name.startswith("."))
