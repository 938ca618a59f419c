"""Gap: moto applies concurrent writes to one item at the same time; DynamoDB, one at a time.

moto checks a write's condition against the stored item and then stores the new one, with no
lock between the two, and UpdateItem reads, changes and stores an item the same way. Served by
a pool of threads, two conditional PutItems of one key could both find it free and both
succeed, and two UpdateItems could lose one's change: the service's idempotency marker (a
conditional Put) then let two writers store the same entry (tests/test_reliability_faults.py
caught it). On AWS every write to an item is atomic with its condition.

This middleware takes a lock for every item a write call names before the call reaches moto
and releases them when moto has answered: writes to one item run one after another, writes
to different items still run side by side. The locks are a fixed set of stripes (an item
maps to one by its table and key), taken in order, so a batch never deadlocks with another.
TransactWriteItems takes every stripe: moto restores a whole-table copy when a transaction
fails, which would undo a write to any other item landing meanwhile.

Not covered (documented limits, as for the PITR journal): PartiQL writes (ExecuteStatement
and friends) and code that calls moto's backend directly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from slsops.local import wsgi_capture
from slsops.local.gaps.pitr_journal import (
    TARGET_PREFIX,
    WRITE_OPERATIONS,
    dynamodb_backend,
    table_named,
    touched_keys,
)

WHOLE_TABLE_WRITES = frozenset({"TransactWriteItems"})
STRIPES = 256
_LOCKS = tuple(threading.Lock() for _ in range(STRIPES))


def wrap(app: Any) -> Any:
    """WSGI middleware around moto's app making each item's writes atomic (module docstring)."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        if operation not in WRITE_OPERATIONS:
            return app(environ, start_response)
        request = wsgi_capture.json_body(environ)
        if not isinstance(request, dict):  # moto answers a malformed request
            return app(environ, start_response)
        account, region = wsgi_capture.moto_account_and_region(environ)
        if operation in WHOLE_TABLE_WRITES:
            stripes = range(STRIPES)
        else:
            stripes = stripes_of(account, region, operation, request)
        with holding(stripes):
            # The answer is complete before the locks go: moto's body is one list of bytes.
            return list(app(environ, start_response))

    return middleware


def stripes_of(account: str, region: str, operation: str, request: dict[str, Any]) -> list[int]:
    """The stripe of every item the call names, sorted and once each (the order locks go in)."""
    found = set()
    for table_name, attributes in touched_keys(operation, request):
        key = _key_of(account, region, table_name, attributes)
        if key is not None:
            found.add(hash(key) % STRIPES)
    return sorted(found)


@contextmanager
def holding(stripes: Iterable[int]) -> Iterator[None]:
    with ExitStack() as held:
        for stripe in stripes:
            held.enter_context(_LOCKS[stripe])
        yield


def _key_of(account: str, region: str, table_name: Any, attributes: Any) -> tuple | None:
    """(account, region, table, key attribute values as JSON): one item's identity.

    Built from the request as sent, before moto has validated it (so not with
    ``pitr_journal.key_from_request``, which expects well-formed key values): a malformed key
    names no item and goes unlocked to moto, which answers it.
    """
    if not isinstance(table_name, str) or not isinstance(attributes, dict):
        return None
    table = table_named(dynamodb_backend(account, region), table_name)
    if table is None:
        return None  # moto answers ResourceNotFoundException itself
    names = [table.hash_key_attr, table.range_key_attr]
    values = [json.dumps(attributes.get(name), sort_keys=True) for name in names if name]
    return (account, region, table.name, *values)
