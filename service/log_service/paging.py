"""``next_token``: an opaque, checked cursor bound to the query that produced it.

The token carries the sort key of the last entry returned and a fingerprint of the other
parameters. Its checksum catches truncation and tampering; it is not a secret (the cursor
only selects entries the caller may read anyway).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from log_service import keys
from log_service.errors import ValidationError

_VERSION = 1
_CHECK_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(b"log-service-next-token\x00" + payload).digest()[:_CHECK_BYTES]


def encode(cursor_sk: str, params: dict[str, Any]) -> str:
    payload = json.dumps(
        {"v": _VERSION, "c": cursor_sk, "q": fingerprint(params)}, separators=(",", ":")
    ).encode("utf-8")
    return _b64(payload) + "." + _b64(_checksum(payload))


def decode(token: str, params: dict[str, Any]) -> str:
    """The cursor sort key of ``token``; 400 when malformed, tampered or for other params."""
    bad = ValidationError("next_token", "is malformed or was altered")
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 2048:
        raise bad
    body, check = token.split(".")
    try:
        payload = _unb64(body)
        if _unb64(check) != _checksum(payload):
            raise bad
        data = json.loads(payload)
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise bad
    if data.get("q") != fingerprint(params):
        raise ValidationError("next_token", "belongs to a request with other parameters")
    cursor = data.get("c")
    try:
        keys.split_sort_key(cursor)
    except (ValueError, TypeError, AttributeError):
        raise bad from None
    return cursor
