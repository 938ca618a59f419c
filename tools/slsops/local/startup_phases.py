"""Timing the local stack's start-up phases, each reported on stderr as it begins and ends.

A start-up takes up to a minute and a half on a loaded machine; the phase lines say where it
is and, in ``runner.log``, where the time went.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator


class Phases:
    """Times each start-up phase and reports it on stderr."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.durations: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        print(f"slsops local: {name} ...", file=sys.stderr, flush=True)
        yield
        self.durations[name] = time.monotonic() - began
        print(
            f"slsops local: {name} done in {self.durations[name]:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    @property
    def total(self) -> float:
        return time.monotonic() - self.started
