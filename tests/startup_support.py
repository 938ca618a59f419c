"""Start and read local stacks from a test, each in its own folder (start-up cache tests)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from slsops.deployment.stack import Stack
from slsops.local import startup_cache
from slsops.local.stack_file import workdir_for

ENTRY_IN_LOG = re.compile(r"cache entry ([0-9a-f]{32})\b")


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


def session_cache_entry(local_stack: Stack, env: dict[str, str], cache: Path) -> Path:
    """The session stack's cache entry copied into ``cache`` (recorded anew if there is none).

    The entry is what a fresh, recorded apply left: reusing it spares each start-up test an
    apply of its own (the suite's longest steps)."""
    log = (workdir_for(local_stack.path) / "runner.log").read_text(encoding="utf-8")
    found = ENTRY_IN_LOG.search(log)
    source = startup_cache.cache_root() / found.group(1) if found else None
    if source is not None and source.is_dir():
        return Path(shutil.copytree(source, cache / source.name))
    recording = cache.parent / "recording" / "local.json"  # the session stack did not cache
    up(recording, env)
    slsops("local", "down", "--stack", str(recording), env=env, timeout=120)
    (entry,) = cache_entries(cache)
    return entry
