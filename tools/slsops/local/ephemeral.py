"""A local stack for the length of one run (``nox -s fuzz``, ``nox -s reliability``).

With a stack file given, that stack is used and left running. Without one, a local stack is
started detached on free ports with its stack file in a temporary folder, and stopped (its
workers with it) when the run ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from slsops.deployment.stack import Stack, load_stack


@contextlib.contextmanager
def stack_for_run(stack_path: Path | None, purpose: str) -> Iterator[Stack]:
    if stack_path is not None:
        yield load_stack(stack_path)
        return
    from slsops.local import process

    with tempfile.TemporaryDirectory(prefix=f"slsops-{purpose}-") as folder:
        path = Path(folder) / "local.json"
        print(f"{purpose}: starting a local stack (stack file {path}) ...", file=sys.stderr)
        pid = process.start_detached(path, 0, 0)
        try:
            yield load_stack(path)
        finally:
            print(f"{purpose}: stopping the local stack (pid {pid})", file=sys.stderr)
            process.stop_pid(pid)
