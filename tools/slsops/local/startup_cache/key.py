"""The start-up cache's key: everything that shapes the apply's requests, minus per-run values.

Two start-ups with one key send moto the same requests, so the second can replay the first's
recording; anything that could change a request or moto's answer to it must be hashed here.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from slsops.local.startup_cache.store import SCHEMA

# The embedded AWS's own code answers the replay: its gaps and speed patches count too.
LOCAL_PACKAGE = Path(__file__).resolve().parents[1]
ANSWERING_CODE = ("gaps", "speed")
PER_RUN_OVERRIDES = ("local_provider_override.tf", "local_backend_override.tf")


def _hash_tree(digest: Any, path: Path, label: str) -> None:
    if path.is_file():
        digest.update(f"{label}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
        return
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and "__pycache__" not in child.parts:
                digest.update(f"{label}/{child.relative_to(path).as_posix()}\0".encode())
                digest.update(hashlib.sha256(child.read_bytes()).digest())


def _sibling_references(tf_dir: Path) -> set[str]:
    """The ``../folder/file`` paths the configuration names (what it reads outside infra/)."""
    found: set[str] = set()
    for tf_file in tf_dir.glob("*.tf"):
        found.update(re.findall(r"\.\./[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*", tf_file.read_text()))
    return found


def cache_key(tf_dir: Path, external_ids: dict[str, str], extra: dict[str, str]) -> str:
    """Everything that shapes the apply's requests, minus the per-run values.

    ``tf_dir`` is the prepared work folder: its configuration, the tfvars with the external ids
    masked, the files it reads through ``../`` links (the zip is named in ``extra`` by hash).
    """
    import moto

    from slsops.local import apply as tf_apply

    digest = hashlib.sha256(f"{SCHEMA}\0moto {moto.__version__}\0".encode())
    for name, value in sorted(extra.items()):
        digest.update(f"{name}={value}\0".encode())
    for path in sorted(tf_dir.glob("*.tf")) + sorted(tf_dir.glob("*.json")):
        if path.name in PER_RUN_OVERRIDES:
            continue  # per-run: moto's port, keys, this stack's state path
        text = path.read_text(encoding="utf-8")
        for role, value in external_ids.items():
            text = text.replace(value, f"<external-id:{role}>")
        digest.update(f"{path.name}\0{text}\0".encode())
    digest.update(tf_apply.provider_override("URL", "REGION", "KEY", "SECRET").encode())
    for reference in sorted(_sibling_references(tf_dir)):
        _hash_tree(digest, (tf_dir / reference).resolve(), reference)
    for folder in ANSWERING_CODE:
        _hash_tree(digest, LOCAL_PACKAGE / folder, folder)
    return digest.hexdigest()[:32]
