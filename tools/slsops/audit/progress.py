"""A progress display on stderr (rich), or nothing when it would get in the way.

Off when stderr is not a terminal or with ``--format json``, so pipes, CI logs and JSON
consumers get no control characters.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


def wanted(fmt: str) -> bool:
    """Show progress only on a terminal, and never with ``--format json``."""
    return fmt != "json" and sys.stderr.isatty()


@contextlib.contextmanager
def item_progress(enabled: bool, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``: a bar with items done, items/s and elapsed time."""
    if not enabled:
        yield lambda _n: None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} items/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task(label, total=total or None, rate="-")

        def advance(count: int) -> None:
            done = progress.tasks[0].completed + count
            rate = done / max(time.perf_counter() - started, 1e-6)
            total_now = progress.tasks[0].total
            progress.update(
                task,
                advance=count,
                rate=f"{rate:,.0f}",
                total=max(total_now or 0, done) if total_now else None,
            )

        yield advance


@contextlib.contextmanager
def status(enabled: bool, text: str) -> Iterator[Callable[[str], None]]:
    """Yield ``update(text)``: a spinner line with elapsed time (restores, waits)."""
    if not enabled:
        yield lambda _text: None
        return
    console = Console(stderr=True)
    started = time.perf_counter()
    with console.status(text) as live:

        def update(message: str) -> None:
            live.update(f"{message} ({time.perf_counter() - started:.0f} s)")

        yield update
