"""The start-up cache on disk: one private folder per key, written atomically, a few kept.

The recording holds the apply's requests and state, so entries are the user's alone (folders
0700, files 0600), and a start-up that loses a race or finds a damaged entry just applies.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slsops.errors import SlsopsError

DIR_ENV = "SLSOPS_LOCAL_CACHE_DIR"  # another cache folder (tests)
SCHEMA = "slsops-startup-cache-1"
PRIVATE_DIR_MODE = 0o700
REQUESTS_FILE = "requests.jsonl"
STATE_FILE = "terraform.tfstate"
OUTPUTS_FILE = "outputs.json"
META_FILE = "meta.json"
KEEP_ENTRIES = 4  # keys kept per user (each entry holds the Lambda zip once)


def cache_root() -> Path:
    """``$SLSOPS_LOCAL_CACHE_DIR``, else ``$XDG_CACHE_HOME/slsops/startup`` (per user)."""
    explicit = os.environ.get(DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "slsops" / "startup"


@dataclass(frozen=True)
class CachedStart:
    """One stored start-up: what the apply sent to moto and what Terraform knew afterwards."""

    folder: Path
    entries: list[dict[str, Any]]
    state_text: str
    outputs: dict[str, Any]
    meta: dict[str, Any]

    def substitutions(self, external_ids: dict[str, str], admin_key_id: str) -> dict[str, str]:
        """Recorded per-run value -> this run's (same length, so bodies keep their size)."""
        pairs = {self.meta["admin_key_id"]: admin_key_id}
        for role, value in self.meta["external_ids"].items():
            pairs[value] = external_ids[role]
        for old, new in pairs.items():
            if len(old) != len(new):
                raise SlsopsError(f"start-up cache: per-run value {old!r} changed its length")
        return {old: new for old, new in pairs.items() if old != new}


def write_private(path: Path, text: str) -> None:
    """A file only its owner can read (0600)."""
    from slsops.local.apply import write_private as write

    write(path, text)


def load(key: str) -> CachedStart | None:
    """The entry stored under ``key``; None when missing, of another schema or unreadable."""
    folder = cache_root() / key
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        if meta.get("schema") != SCHEMA:
            return None
        lines = (folder / REQUESTS_FILE).read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines if line]
        state_text = (folder / STATE_FILE).read_text(encoding="utf-8")
        outputs = json.loads((folder / OUTPUTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return CachedStart(folder, entries, state_text, outputs, meta)


def save(
    key: str,
    entries: list[dict[str, Any]],
    state_path: Path,
    outputs: dict[str, Any],
    external_ids: dict[str, str],
    admin_key_id: str,
    extra_files: Iterable[Path] = (),
) -> Path:
    """Store one start-up (atomically: a folder renamed into place), 0700/0600."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(root, PRIVATE_DIR_MODE)
    final = root / key
    staging = root / f".{key}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=PRIVATE_DIR_MODE)
    write_private(staging / REQUESTS_FILE, "".join(json.dumps(e) + "\n" for e in entries))
    write_private(staging / STATE_FILE, state_path.read_text(encoding="utf-8"))
    write_private(staging / OUTPUTS_FILE, json.dumps(outputs, indent=2) + "\n")
    for path in extra_files:
        if path.is_file():
            write_private(staging / path.name, path.read_text(encoding="utf-8"))
    meta = {
        "schema": SCHEMA,
        "external_ids": external_ids,
        "admin_key_id": admin_key_id,
        "requests": len(entries),
    }
    write_private(staging / META_FILE, json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    try:
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # left only when another start-up won
    _prune(root, keep=final)
    return final


def discard(key: str) -> None:
    """Remove an entry (one whose replay diverged: the next start-up records anew)."""
    shutil.rmtree(cache_root() / key, ignore_errors=True)


def _prune(root: Path, keep: Path) -> None:
    """Keep the newest ``KEEP_ENTRIES`` keys (old keys are old configurations)."""
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in folders[KEEP_ENTRIES:]:
        if stale != keep:
            shutil.rmtree(stale, ignore_errors=True)
