"""The violations an audit found: counted and sampled in memory, streamed in full to a file.

The audit keeps only counts and a few sample keys per kind, so a table with millions of bad
items does not fill memory; every violation goes to the ``--violations`` file as one JSON line,
and the file appears (atomically) only when the audit finishes.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from pathlib import Path

from slsops.audit.kinds import KINDS, Violation

SAMPLES_PER_KIND = 5


class ViolationLog:
    """Counts and sample keys per kind; every violation as one JSON line when a path is given.

    Kinds outside ``kinds`` are neither counted nor written, so ``--only AUD-003`` lists
    that check's violations alone.
    """

    def __init__(self, path: Path | None, kinds: frozenset[str] | None = None) -> None:
        self.path = path
        self.kinds = kinds
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, list[dict[str, str]]] = {k.name: [] for k in KINDS}
        self._lock = threading.Lock()
        self._handle = None
        self._tmp: str | None = None
        if path is not None and path.exists() and not path.is_file() and not path.is_dir():
            # /dev/stdout, a FIFO: streamed in place (a rename would put a file there)
            self._handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        elif path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            self._handle = os.fdopen(fd, "w", encoding="utf-8")

    def wants(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def record(self, violations: list[Violation]) -> None:
        if not violations:
            return
        with self._lock:
            for violation in violations:
                if not self.wants(violation.kind):
                    continue
                self.counts[violation.kind] += 1
                samples = self.samples[violation.kind]
                if len(samples) < SAMPLES_PER_KIND:
                    samples.append(violation.key)
                if self._handle is not None:
                    line = json.dumps(violation.as_dict(), ensure_ascii=False, sort_keys=True)
                    self._handle.write(line + "\n")

    def close(self, keep: bool = True) -> None:
        """Finish the file (atomically in place) or drop it."""
        if self._handle is not None and self._tmp is None:  # a pipe or device: nothing to move
            self._handle.close()
            self._handle = None
            return
        if self._handle is None or self._tmp is None:
            return
        self._handle.close()
        self._handle = None
        if keep and self.path is not None:
            os.replace(self._tmp, self.path)
        else:
            Path(self._tmp).unlink(missing_ok=True)
