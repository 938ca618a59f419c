"""Gap: moto's DynamoDB sorts whole tables with slow comparisons on every index Query.

moto 5.2.5 answers each Query on an index by sorting every item of the table
(``Table.all_items``) and then the matches (``Table.sorted_items``), comparing ``DynamoType``
objects whose every comparison re-casts both values. At 10,000 items one index Query took
about 1.1 s, nearly all of it in those comparisons, so the local stack's reads across services
(eight index Queries) took seconds; DynamoDB answers in milliseconds.

The fix keeps moto's order exactly and only changes how it is computed: key attributes (S, N,
B) are turned once into native Python values (``str``, ``Decimal``, ``bytes``) and sorted with
those. ``native_key`` is also used by the thread-safe ``all_items`` of
``dynamodb_threadsafe``. ``wrap`` installs the patch once and returns the app unchanged.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

_INSTALLED = threading.Lock()
_state: dict[str, Any] = {"installed": False, "original": None}


def native(value: Any) -> tuple[int, Any]:
    """A sort key for a key attribute's ``DynamoType`` (or None) in DynamoDB's order."""
    if value is None:
        return (0, "")
    kind = getattr(value, "type", None)
    if kind is None:  # already a plain value
        return (2, value if isinstance(value, str) else str(value))
    if kind == "N":
        return (1, Decimal(value.value))
    if kind == "B":
        raw = value.value
        return (3, raw if isinstance(raw, bytes) else str(raw).encode())
    return (2, str(value.value))


def sorted_items(self: Any, hash_key_attrs: list, range_key_attrs: list, items: list) -> list:
    """moto's ``Table.sorted_items`` with native sort keys."""
    attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda item: tuple(native(item.attrs.get(name)) for name in attrs))
    return items


def install() -> None:
    from moto.dynamodb.models.table import Table

    with _INSTALLED:
        if _state["installed"]:
            return
        _state["original"] = Table.sorted_items
        Table.sorted_items = sorted_items  # type: ignore[method-assign]
        _state["installed"] = True


def wrap(app: Any) -> Any:
    install()
    return app
