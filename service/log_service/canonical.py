"""Strict JSON: what we accept from clients and how metadata is stored.

Metadata is stored as one canonical JSON string, not a DynamoDB map: DynamoDB numbers lose
trailing zeros, hold 38 digits and nest maps 32 deep, so a native map would not give every
client's JSON back exactly. The canonical form (sorted keys, no spaces, UTF-8) also makes
content hashes stable.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INT_DIGITS = 1000


class StrictJsonError(ValueError):
    """The text is not JSON we accept (message says why)."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJsonError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJsonError(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise StrictJsonError(f"integer with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _reject_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not valid JSON")


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON, refusing duplicate keys, NaN/Infinity, out-of-range numbers and bad UTF-8."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StrictJsonError(f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            parse_constant=_reject_constant,
        )
    except StrictJsonError:
        raise
    except (ValueError, RecursionError) as exc:
        raise StrictJsonError(f"malformed JSON: {exc}") from None


def dumps_canonical(value: Any) -> str:
    """Canonical JSON text of ``value`` (sorted keys, compact, non-ASCII kept)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def depth(value: Any) -> int:
    """Nesting depth of objects and lists (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest
