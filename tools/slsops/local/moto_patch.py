"""Replace methods of one of moto's classes, once per process, keeping moto's own.

A speed patch or a gap that changes how moto computes something replaces a method of a moto
class; the server may be built more than once in a process (tests), so the replacement must
happen once, and tests compare the replacement with moto's own method (``original``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any


class MethodPatch:
    """``replacements`` (method name -> function) for the class ``owner``
    (``"module.path:ClassName"``), installed at most once."""

    def __init__(self, owner: str, replacements: dict[str, Callable[..., Any]]) -> None:
        self._owner = owner
        self._replacements = replacements
        self._originals: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def _owner_class(self) -> type:
        module, _, name = self._owner.partition(":")
        return getattr(importlib.import_module(module), name)

    def install(self) -> None:
        """Put the replacements on the class (idempotent)."""
        with self._lock:
            if self._originals:
                return
            owner = self._owner_class()
            for name, replacement in self._replacements.items():
                self._originals[name] = getattr(owner, name)
                setattr(owner, name, replacement)

    def original(self, name: str) -> Callable[..., Any]:
        """moto's own method ``name`` (installed or not)."""
        return self._originals.get(name) or getattr(self._owner_class(), name)
