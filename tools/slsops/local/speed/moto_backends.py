"""Speed: a service's backend for a known account is looked up without moto's global lock.

moto 5.2.5's ``BackendDict.__getitem__`` (``dynamodb_backends[account]``) takes the lock every
backend shares, lists the dict's keys and searches the list of every service's BackendDict
with a Python ``__eq__`` per entry, on every lookup, only to create the account's backend the
first time. The embedded AWS looks backends up many times per request (moto's handlers, the
gaps, the authorisation layer), from many threads at once.

An account that is already in the dict was put there by that same first-time path, which also
registered the dict (``BackendDict.reset`` empties both together), so its backend is returned
straight from the dict; an unknown account still goes through moto's own path.
"""

from __future__ import annotations

from typing import Any

from slsops.local.speed.attribute_patch import AttributePatch


def getitem(self: Any, account_id: str) -> Any:
    """``BackendDict.__getitem__``: the dict's entry when there is one, else moto's path."""
    try:
        return dict.__getitem__(self, account_id)
    except KeyError:
        return PATCH.original(self, account_id)


PATCH = AttributePatch("moto.core.base_backend:BackendDict", "__getitem__", getitem)
install, uninstall = PATCH.install, PATCH.uninstall
