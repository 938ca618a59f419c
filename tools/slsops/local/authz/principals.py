"""Access key -> principal (with its policy documents), cached per key.

Resolving a key walks moto's IAM users and STS sessions and parses every policy document the
principal has; the authorisation layer does it for every request, so the result is cached per
access key and the whole cache dropped whenever an IAM write could change a principal (policy,
attachment, key status, group membership, boundary). Unknown keys are not cached: a key created
a moment ago by STS must resolve on its first use. A principal resolved while an IAM write
invalidated the cache is not kept: it may have been read before the write (a key deactivated
meanwhile would otherwise stay usable until the next IAM write).
"""

from __future__ import annotations

import threading

from slsops.local import identity
from slsops.local.identity import Principal

# IAM operations that only read: everything else may change what a principal may do.
_READ_PREFIXES = ("Get", "List", "Simulate", "Generate", "Tag", "Untag")


class PrincipalCache:
    def __init__(self) -> None:
        self._by_key: dict[str, Principal] = {}
        self._lock = threading.Lock()
        self._generation = 0  # counts invalidations

    def lookup(self, access_key_id: str) -> Principal | None:
        with self._lock:
            cached = self._by_key.get(access_key_id)
            generation = self._generation
        if cached is not None:
            return cached
        principal = identity.resolve(access_key_id)
        if principal is not None:
            with self._lock:
                if generation == self._generation:
                    self._by_key[access_key_id] = principal
        return principal

    def invalidate(self) -> None:
        with self._lock:
            self._by_key.clear()
            self._generation += 1

    def note_call(self, service: str, operation: str) -> None:
        """Drop the cache after any IAM operation that may change a principal."""
        if service == "iam" and not operation.startswith(_READ_PREFIXES):
            self.invalidate()


# The cache of this process's authorisation layer (it alone sees the IAM writes that
# invalidate it, so nothing that can be reached around the layer should read through it).
SHARED = PrincipalCache()
