"""The start-up cache on disk: one private folder per key, written atomically, a few kept.

The recording holds the apply's requests and state, so entries are the user's alone (folders
0700, files 0600), and a start-up that loses a race or finds a damaged entry just applies.

Several start-ups may share the cache at once (parallel test workers, two terminals): one of
them records a key while the others wait on that key's lock (``key_lock``) and then replay
its entry. An entry is written in a private staging folder and renamed into place, the first
complete entry of a key stays (a second recording of the same key is dropped, never swapped
in under a reader), and ``load`` reads every file of an entry through one open handle of its
folder, so it gets one recording whole or nothing, never the meta of one and the requests of
another.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from slsops import file_lock
from slsops.errors import SlsopsError
from slsops.packaging import publish_folder

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
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        # Through the folder's handle: if another start-up removes or replaces the entry
        # meanwhile, the reads fail (files unlinked) instead of mixing two recordings.
        def read(name: str) -> str:
            with open(name, encoding="utf-8", opener=partial(os.open, dir_fd=handle)) as file:
                return file.read()

        meta = json.loads(read(META_FILE))
        if meta.get("schema") != SCHEMA:
            return None
        entries = [json.loads(line) for line in read(REQUESTS_FILE).splitlines() if line]
        state_text = read(STATE_FILE)
        outputs = json.loads(read(OUTPUTS_FILE))
    except (OSError, ValueError):
        return None
    finally:
        os.close(handle)
    return CachedStart(folder, entries, state_text, outputs, meta)


@contextmanager
def key_lock(key: str, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Held while a start-up records ``key``; ``on_wait`` runs if another one holds it."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    with file_lock.exclusive(root / f".{key}.lock", on_wait):
        yield


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
    try:
        # The first complete entry of a key stays (same key, same recording); only a damaged
        # one is replaced.
        publish_folder(staging, final, lambda folder: load(folder.name) is not None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # left only when another start-up won
    _prune(root, keep=final)
    return final


def discard(key: str) -> None:
    """Remove an entry (one whose replay diverged: the next start-up records anew)."""
    shutil.rmtree(cache_root() / key, ignore_errors=True)


def _prune(root: Path, keep: Path) -> None:
    """Keep the newest ``KEEP_ENTRIES`` keys (old keys are old configurations)."""
    ages: dict[Path, float] = {}
    for folder in root.iterdir():
        if folder.name.startswith("."):
            continue  # staging folders of start-ups still recording
        try:
            if folder.is_dir():
                ages[folder] = folder.stat().st_mtime
        except OSError:
            continue  # removed by another start-up meanwhile
    for stale in sorted(ages, key=ages.__getitem__, reverse=True)[KEEP_ENTRIES:]:
        if stale != keep:
            shutil.rmtree(stale, ignore_errors=True)
