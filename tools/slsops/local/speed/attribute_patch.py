"""One attribute of moto replaced by a faster equivalent, reversibly: how most speed patches apply.

A speed patch module names what it replaces (a module or class by import path, an attribute)
and its replacement; ``install``/``uninstall`` swap them under a lock, idempotently, and
``original`` is moto's own, for the patch to fall back on and for the differential tests.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any


class AttributePatch:
    def __init__(self, owner: str, attribute: str, replacement: Any) -> None:
        """``owner``: ``"package.module"`` or ``"package.module:Class"``."""
        self.owner, self.attribute, self.replacement = owner, attribute, replacement
        self._lock = threading.Lock()
        self._original: Any = None

    def target(self) -> Any:
        module_name, _, class_name = self.owner.partition(":")
        target = importlib.import_module(module_name)
        return getattr(target, class_name) if class_name else target

    @property
    def installed(self) -> bool:
        return self._original is not None

    @property
    def original(self) -> Any:
        """moto's own attribute (while installed, the one the replacement stands in for)."""
        if self._original is not None:
            return self._original
        return getattr(self.target(), self.attribute)

    def install(self) -> None:
        with self._lock:
            if self._original is None:
                target = self.target()
                self._original = getattr(target, self.attribute)
                setattr(target, self.attribute, self.replacement)

    def uninstall(self) -> None:
        with self._lock:
            if self._original is not None:
                setattr(self.target(), self.attribute, self._original)
                self._original = None
