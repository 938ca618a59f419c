"""IAM's wildcards: ``*`` and ``?`` in actions (case-insensitive) and in ARNs (per component)."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` = any run of characters, ``?`` = exactly one; everything else literal."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True when ``value`` matches the IAM wildcard ``pattern`` as a whole."""
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive in IAM (``DynamoDB:getitem`` is ``dynamodb:GetItem``)."""
    return wildcard_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Match an ARN pattern as IAM does: each of the six ``:``-separated components separately.

    So ``*`` in the region component never swallows the account. The resource component (the
    sixth) may itself contain ``:``. A shorter pattern only matches when it ends in ``*`` (``*``
    itself, or a prefix such as ``arn:aws:execute-api:*``); it is then matched as a whole.
    """
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    if len(pattern_parts) < 6:
        return pattern.endswith("*") and wildcard_match(pattern, arn)
    arn_parts = arn.split(":", 5)
    if len(arn_parts) < 6:
        return False
    return all(wildcard_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))
