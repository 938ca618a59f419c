"""Gap: moto's DynamoDB index queries and scans crash when a write lands mid-iteration.

moto 5.2.5 answers a Query on an index (``Table.all_items``) or a Scan of an index
(``Table.has_idx_items``) by looping over the live dict of partitions; when another server thread
inserts a new partition meanwhile, the loop raises ``RuntimeError: dictionary changed size during
iteration`` and moto answers HTTP 500, which DynamoDB never does (the suite's load step hit it).

The fix is narrow: those two methods iterate over snapshots (``list(d.values())``, atomic under
the GIL) and otherwise do exactly what moto does. A lock around DynamoDB requests would also
work but serializes every write behind long index queries (ingest P50 went from ~1 s to ~7 s
under the local load profile). ``wrap`` installs the patch once and returns the app unchanged.
"""

from __future__ import annotations

from typing import Any

from slsops.local.moto_patch import MethodPatch
from slsops.local.speed.sort_keys import native


def _partitions(table: Any) -> list[Any]:
    return list(table.items.values())


def all_items(self: Any) -> list[Any]:
    """moto's ``Table.all_items`` over a snapshot of the partitions."""
    items: list[Any] = []
    for hash_set in _partitions(self):
        if self.range_key_attr:
            items.extend(list(hash_set.values()))
        else:
            items.append(hash_set)
    # moto's order, computed with native keys (see speed/sort_keys: moto's own is slow).
    return sorted(
        items,
        key=lambda x: (
            (native(x.hash_key), native(x.range_key)) if x.range_key else (native(x.hash_key),)
        ),
    )


def has_idx_items(self: Any, index_name: str) -> list[Any]:
    """moto's ``Table.has_idx_items`` over a snapshot of the partitions."""
    index = self.get_index(index_name)
    columns = {key["AttributeName"] for key in index.schema}
    items: list[Any] = []
    for hash_set in _partitions(self):
        candidates = list(hash_set.values()) if self.range_key_attr else [hash_set]
        items.extend(item for item in candidates if columns.issubset(set(item.attrs)))
    return items


PATCH = MethodPatch(
    "moto.dynamodb.models.table:Table", {"all_items": all_items, "has_idx_items": has_idx_items}
)
install = PATCH.install
original = PATCH.original  # moto's own method, by name (tests compare against it)


def wrap(app: Any) -> Any:
    install()
    return app
