"""Recording the apply: WSGI middleware between the authorisation layer and moto.

It sits past the authorisation layer because the layer's decisions were made when recording
and the recorded signatures are stale by the time of a replay.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterable
from typing import Any

RAISED = -1  # the recorded status of a request whose handling raised (the server sent a 500)
MAX_FOREIGN_DRAWS = 5  # stack sites kept for the log; one is enough to refuse the recording


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
                if (
                    threading.get_ident() != self._owner
                    and len(self.foreign_draws) < MAX_FOREIGN_DRAWS
                ):
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
