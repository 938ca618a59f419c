"""Replaying a stored start-up: the recorded requests into moto's app, then state and outputs.

Every per-run value of the recording (external ids, the administrator's key id) is swapped for
this run's on the way in, so a cached stack is as private as one Terraform applied.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from slsops.errors import SlsopsError
from slsops.local.startup_cache.recorder import RAISED
from slsops.local.startup_cache.store import CachedStart, write_private


class ReplayDiverged(SlsopsError):
    """A replayed request got another answer than when it was recorded."""


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


def restore_state(cached: CachedStart, state_path: Path, substitutions: dict[str, str]) -> None:
    """Write the recorded Terraform state, with this run's values, where Terraform reads it."""
    write_private(state_path, _substitute(cached.state_text, substitutions))


def restored_outputs(cached: CachedStart, substitutions: dict[str, str]) -> dict[str, Any]:
    """The recorded ``terraform output``, with this run's values (no Terraform call)."""
    return json.loads(_substitute(json.dumps(cached.outputs), substitutions))
