"""Keeps credentials, signatures and session tokens out of every log line and report."""

from __future__ import annotations

import hashlib
import re

_PATTERNS = [
    # Access key ids (long-term AKIA/ASIA and moto's test keys).
    re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b"),
    # Signature=<hex> in Authorization headers and presigned URLs.
    re.compile(r"(Signature=)[0-9a-fA-F]{16,}"),
    re.compile(r"(X-Amz-Signature=)[0-9a-fA-F]{16,}"),
    # Session tokens and secrets written as key=value or "key": "value".
    re.compile(
        r"((?:aws_)?(?:session_token|secret_access_key|SessionToken|SecretAccessKey|"
        r"X-Amz-Security-Token|x-amz-security-token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
    ),
]


def redact_text(text: str) -> str:
    """Replace anything that looks like a credential with ``***``."""
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


def fingerprint(secret: str) -> str:
    """A short stand-in for a secret such as an external id: the first 4 hex characters of its
    SHA-256. Enough to tell two values apart in a report, too short to recover either."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:4]
