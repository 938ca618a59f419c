"""The start-up cache: replay a recorded Terraform apply into the embedded AWS instead of applying.

Nearly all of ``slsops local up`` is the aws provider waiting (KMS, Lambda, API Gateway), not
moto. The requests the apply makes are the same whenever its inputs are the same, and moto's
generated ids follow its seeded random source. So a first start-up with a given key seeds moto,
records every request that reaches moto (past the authorisation layer: the layer's decisions
were made then) and stores them with the Terraform state and outputs. A later start-up with the
same key seeds moto identically and feeds the recorded requests straight into moto's app (the
gaps included, the authorisation layer not: the recorded signatures are stale), checks each
answer's status against the recorded one, restores the state and outputs and skips Terraform.

Per-run values stay per run: the client roles' external ids and the administrator's access key
id in the recording are replaced by this run's before the replay (same lengths, URL-safe
characters), and in the state and outputs; the operator and administrator keys are created
before the seed, and after the apply or replay moto's random source is reseeded from the
system, so nothing a client later gets (session keys) is predictable. The cache is per user
(``$XDG_CACHE_HOME/slsops/startup``), folders 0700, files 0600.

``SLSOPS_LOCAL_NO_CACHE=1`` (or ``slsops local up --no-cache``) turns it off.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slsops.errors import SlsopsError

NO_CACHE_ENV = "SLSOPS_LOCAL_NO_CACHE"
DIR_ENV = "SLSOPS_LOCAL_CACHE_DIR"  # another cache folder (tests)
SCHEMA = "slsops-startup-cache-1"
SEED = 20260101
PRIVATE_DIR_MODE = 0o700
REQUESTS_FILE = "requests.jsonl"
STATE_FILE = "terraform.tfstate"
OUTPUTS_FILE = "outputs.json"
META_FILE = "meta.json"
RAISED = -1  # the recorded status of a request whose handling raised (the server sent a 500)
KEEP_ENTRIES = 4  # keys kept per user (each entry holds the Lambda zip once)


class ReplayDiverged(SlsopsError):
    """A replayed request got another answer than when it was recorded."""


def disabled() -> bool:
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def cache_root() -> Path:
    explicit = os.environ.get(DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "slsops" / "startup"


# ------------------------------------------------------------------------------------- key
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
    import re

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
        if path.name in ("local_provider_override.tf", "local_backend_override.tf"):
            continue  # per-run: moto's port, keys, this stack's state path
        text = path.read_text(encoding="utf-8")
        for role, value in external_ids.items():
            text = text.replace(value, f"<external-id:{role}>")
        digest.update(f"{path.name}\0{text}\0".encode())
    digest.update(tf_apply.provider_override("URL", "REGION", "KEY", "SECRET").encode())
    for reference in sorted(_sibling_references(tf_dir)):
        _hash_tree(digest, (tf_dir / reference).resolve(), reference)
    # The embedded AWS's own code answers the replay: its gaps and speed patches count too.
    local_pkg = Path(__file__).resolve().parent
    for folder in ("gaps", "speed"):
        _hash_tree(digest, local_pkg / folder, folder)
    return digest.hexdigest()[:32]


# ------------------------------------------------------------------------------ seeding
def seed_moto() -> None:
    """Make moto's generated ids deterministic from here on (as ``/moto-api/seed`` does)."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(SEED)


def unseed_moto() -> None:
    """Back to unpredictable ids and keys (the system's entropy)."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(None)


def _sessions() -> list[tuple[Any, Any]]:
    """(STS backend, assumed-role session) for every session moto's STS has issued."""
    from moto.sts.models import sts_backends

    return [
        (backend, session)
        for _account, by_partition in list(sts_backends.items())
        for backend in list(by_partition.values())
        for session in list(backend.assumed_roles)
    ]


def create_lazy_defaults(account_id: str, region: str) -> None:
    """Create now what moto creates on first sight: the AWS-managed KMS keys (``alias/aws/*``).

    The authorisation layer looks keys up in moto to name a request's resources, and that
    lookup creates a default key, drawing an id outside any recorded request; the replay,
    which bypasses the layer, would draw it elsewhere. Created at the same point of both runs,
    they get the same ids and no one draws for them later.
    """
    from moto.kms.models import kms_backends
    from moto.kms.utils import RESERVED_ALIASES

    backend = kms_backends[account_id][region]
    for alias in sorted(RESERVED_ALIASES):
        backend.get_key_id_from_alias(alias)


@contextlib.contextmanager
def seeded(account_id: str = "123456789012", region: str = "us-east-1") -> Iterator[None]:
    """Seed moto for the apply or its replay; afterwards reseed it from the system and drop the
    STS sessions issued meanwhile: their keys came from the seeded sequence, so anyone could
    compute them (the apply's deploy-role session; later plans sign in afresh).
    """
    before = {id(session) for _backend, session in _sessions()}
    seed_moto()
    create_lazy_defaults(account_id, region)
    try:
        yield
    finally:
        unseed_moto()
        for backend, session in _sessions():
            if id(session) not in before:
                with contextlib.suppress(ValueError):
                    backend.assumed_roles.remove(session)


# ----------------------------------------------------------------------------- recording
class RequestRecorder:
    """WSGI middleware between the authorisation layer and moto; records while ``recording``.

    While recording it serialises requests, so moto draws its random ids in the order the
    requests are recorded (the provider's concurrent calls would otherwise interleave draws).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.recording = False
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self.entries = []
            self.foreign_draws: list[str] = []
            self._owner: int | None = None
            self.recording = True
            self._watch_draws(True)

    def stop(self) -> list[dict[str, Any]]:
        with self._lock:
            self.recording = False
            self._watch_draws(False)
            return list(self.entries)

    def _watch_draws(self, on: bool) -> None:
        """Note every draw from moto's random source outside a recorded request: such a draw
        shifts the ids a replay would create, so that recording must not be stored."""
        from moto.moto_api._internal import mock_random

        for name in ("getrandbits", "random"):
            if not on:
                mock_random.__dict__.pop(name, None)
                continue
            original = getattr(type(mock_random), name)

            def watched(*args: Any, _original: Any = original) -> Any:
                if threading.get_ident() != self._owner and len(self.foreign_draws) < 5:
                    import traceback

                    where = traceback.format_stack(limit=12)[:-1]
                    self.foreign_draws.append("".join(where)[-1500:])
                return _original(mock_random, *args)

            setattr(mock_random, name, watched)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not self.recording:
            return self.app(environ, start_response)
        with self._lock:
            if not self.recording:
                return self.app(environ, start_response)
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            captured: dict[str, str] = {}

            def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
                captured["status"] = status
                if exc_info:
                    return start_response(status, headers, exc_info)
                return start_response(status, headers)

            entry = {
                "method": environ.get("REQUEST_METHOD", "GET"),
                "path": environ.get("PATH_INFO", "/"),
                "query": environ.get("QUERY_STRING", ""),
                "headers": _request_headers(environ),
                "body": base64.b64encode(body).decode("ascii"),
            }
            self._owner = threading.get_ident()
            try:
                chunks = list(self.app(environ, capture))  # answered inside the lock
            except Exception:
                self.entries.append({**entry, "status": RAISED})  # its effects happened too
                raise
            finally:
                self._owner = None
            entry["status"] = int(captured.get("status", "0").split(" ", 1)[0] or 0)
            self.entries.append(entry)
            return chunks


def _request_headers(environ: dict[str, Any]) -> list[list[str]]:
    headers = [
        [key[5:].replace("_", "-").title(), str(value)]
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    if environ.get("CONTENT_TYPE"):
        headers.append(["Content-Type", str(environ["CONTENT_TYPE"])])
    return headers


# ------------------------------------------------------------------------------- replay
def _substitute(text: str, substitutions: dict[str, str]) -> str:
    for old, new in substitutions.items():
        text = text.replace(old, new)
    return text


def replay(app: Any, entries: list[dict[str, Any]], substitutions: dict[str, str]) -> int:
    """Feed the recorded requests to ``app`` in order; ReplayDiverged on another status."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    encoded = {old.encode(): new.encode() for old, new in substitutions.items()}
    for index, entry in enumerate(entries):
        body = base64.b64decode(entry["body"])
        for old, new in encoded.items():
            body = body.replace(old, new)
        headers = [(name, _substitute(value, substitutions)) for name, value in entry["headers"]]
        headers = [(n, v) for n, v in headers if n.lower() not in ("content-length",)]
        builder = EnvironBuilder(
            method=entry["method"],
            path=entry["path"],
            query_string=_substitute(entry["query"], substitutions),
            headers=headers,
            data=body,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        try:
            response, status, _headers = run_wsgi_app(app, environ, buffered=True)
            answer = b"".join(response)
            if hasattr(response, "close"):
                response.close()
            code = int(str(status).split(" ", 1)[0])
        except Exception as exc:
            code, answer = RAISED, f"{type(exc).__name__}: {exc}".encode()
        if code != entry["status"]:
            raise ReplayDiverged(
                f"start-up cache: request {index + 1}/{len(entries)} "
                f"({entry['method']} {entry['path']}) answered {code}, recorded "
                f"{entry['status']}: {answer[:200]!r}"
            )
    return len(entries)


# -------------------------------------------------------------------------------- entries
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


def _write_private(path: Path, text: str) -> None:
    from slsops.local.apply import write_private

    write_private(path, text)


def load(key: str) -> CachedStart | None:
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
    _write_private(staging / REQUESTS_FILE, "".join(json.dumps(e) + "\n" for e in entries))
    _write_private(staging / STATE_FILE, state_path.read_text(encoding="utf-8"))
    _write_private(staging / OUTPUTS_FILE, json.dumps(outputs, indent=2) + "\n")
    for path in extra_files:
        if path.is_file():
            _write_private(staging / path.name, path.read_text(encoding="utf-8"))
    meta = {
        "schema": SCHEMA,
        "external_ids": external_ids,
        "admin_key_id": admin_key_id,
        "requests": len(entries),
    }
    _write_private(staging / META_FILE, json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    try:
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # left only when another start-up won
    _prune(root, keep=final)
    return final


def discard(key: str) -> None:
    shutil.rmtree(cache_root() / key, ignore_errors=True)


def _prune(root: Path, keep: Path) -> None:
    """Keep the newest ``KEEP_ENTRIES`` keys (old keys are old configurations)."""
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in folders[KEEP_ENTRIES:]:
        if stale != keep:
            shutil.rmtree(stale, ignore_errors=True)


def restore_state(cached: CachedStart, state_path: Path, substitutions: dict[str, str]) -> None:
    _write_private(state_path, _substitute(cached.state_text, substitutions))


def restored_outputs(cached: CachedStart, substitutions: dict[str, str]) -> dict[str, Any]:
    return json.loads(_substitute(json.dumps(cached.outputs), substitutions))
