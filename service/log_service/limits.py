"""Limits of a log entry and of a request (documented in docs/data-model.md).

The audit command checks stored items against the same numbers the handlers enforce.
"""

from __future__ import annotations

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
# Accepted spellings of other clients, mapped onto LEVELS (compared case-insensitively).
LEVEL_ALIASES = {"WARNING": "WARN", "INFORMATION": "INFO", "ERR": "ERROR"}

MAX_MESSAGE_CHARS = 16_384
MAX_LOG_TYPE_CHARS = 64
MAX_METADATA_BYTES = 16_384  # canonical JSON, UTF-8
MAX_METADATA_DEPTH = 16  # DynamoDB nests 32 deep; the canonical string has no such limit
MAX_BATCH_ENTRIES = 100
MAX_BODY_BYTES = 1024 * 1024  # whole POST body; larger is 413

DEFAULT_LIMIT = 100
MIN_LIMIT = 1
MAX_LIMIT = 1000
# A page stops at about this many bytes of entries (Lambda's response limit is 6 MB).
MAX_PAGE_BYTES = 5 * 1024 * 1024

DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650  # ten years: the most RETENTION_DAYS may say
DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300
DEFAULT_SERVICE_NAME = "default"
