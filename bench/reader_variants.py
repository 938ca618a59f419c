"""The newest-across-shards reader as it was, for benchmarks that print it beside today's.

Before ``log_service.reader.shard_page`` added its margin, each shard was asked for its share
of the wanted entries alone (N/S). ``shares_without_margin`` swaps that back in for the
duration of a ``with`` block, in this process only.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

from log_service import reader as reader_module


def share_alone(wanted: int, shards: int) -> int:
    """The page size each shard was asked for before the margin."""
    return math.ceil(wanted / shards)


@contextlib.contextmanager
def shares_without_margin() -> Iterator[None]:
    """The reader as it was: each shard asked for N/S alone (side by side, one run)."""
    original = reader_module.shard_page
    reader_module.shard_page = share_alone
    try:
        yield
    finally:
        reader_module.shard_page = original
