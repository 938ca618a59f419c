"""The write journal behind the local point-in-time restore (see ``pitr``).

A table's journal is a baseline copy of its items, then one observation per written key: the
key's item right after the write, stamped with the time it was read. Observations are taken
under the journal's own lock, so a table's stamps are in order and each records what the key
really held at that moment; the write itself runs without any journal lock, so writes to
different tables, and concurrent writes to one table, proceed in parallel. For one key, the
last observation at or before a point is what the key held at that point, give or take the
write that was landing at that instant (AWS's own restore is exact to the second only).
"""

from __future__ import annotations

import pickle
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# DynamoDB's JSON protocol names the call in X-Amz-Target: this prefix, then the operation.
TARGET_PREFIX = "DynamoDB_20120810."
# The calls that write items: the ones ``touched_keys`` reads.
WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
# A key in the journal: (hash value, range value) as moto stores them (DynamoType objects).
ItemKey = tuple[Any, Any]
# Where a table lives: (account, region, table name).
TableAddress = tuple[str, str, str]


@dataclass
class Journal:
    """The item history of one table: a baseline copy, then one observation per written key."""

    baseline_time: float
    baseline: dict[ItemKey, Any]
    versions: list[tuple[float, ItemKey, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, table: Any, keys: list[ItemKey]) -> None:
        """Record what each key holds now (``None``: deleted), stamped in this table's order."""
        with self.lock:
            stamp = time.time()
            for key in keys:
                self.versions.append((stamp, key, freeze(read_item(table, key))))

    def state_at(self, moment: float) -> dict[ItemKey, Any]:
        """The table's items as they were at ``moment`` (epoch seconds)."""
        with self.lock:
            versions = list(self.versions)
        state = dict(self.baseline)
        for stamp, key, item in versions:
            if stamp > moment:
                break
            if item is None:
                state.pop(key, None)
            else:
                state[key] = item
        return state


class PitrJournals:
    """Journals of all tables. The registry lock only guards creating and dropping journals."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.journals: dict[TableAddress, Journal] = {}

    def get(self, where: TableAddress) -> Journal | None:
        return self.journals.get(where)

    def drop(self, where: TableAddress) -> None:
        with self.lock:
            self.journals.pop(where, None)

    def ensure(self, where: TableAddress, table: Any) -> Journal:
        """The table's journal; a baseline copy of its current items when there is none yet."""
        journal = self.journals.get(where)
        if journal is not None:
            return journal
        with self.lock:
            journal = self.journals.get(where)
            if journal is None:
                baseline = {item_key(item): freeze(item) for item in list(table.all_items())}
                journal = Journal(baseline_time=time.time(), baseline=baseline)
                self.journals[where] = journal
                pitr = table.continuous_backups["PointInTimeRecoveryDescription"]
                if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
                    pitr["EarliestRestorableDateTime"] = max(
                        float(pitr.get("EarliestRestorableDateTime") or 0), journal.baseline_time
                    )
            return journal


def dynamodb_backend(account: str, region: str) -> Any:
    """moto's DynamoDB backend of one account and region (the gaps read and write it)."""
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region]


def plain_table_name(name_or_arn: str) -> str:
    """A table's name from its name or ARN (a table's or an index's)."""
    return (
        name_or_arn.split(":table/", 1)[1].split("/", 1)[0]
        if ":table/" in name_or_arn
        else name_or_arn
    )


def table_named(backend: Any, name_or_arn: str) -> Any:
    """moto's table of that name or ARN in ``backend``; None when there is none."""
    return backend.tables.get(plain_table_name(name_or_arn))


def item_key(item: Any) -> ItemKey:
    return (item.hash_key, item.range_key)


def read_item(table: Any, key: ItemKey) -> Any:
    """The item under ``key`` now, or None (moto's own lookup)."""
    return table.get_item(*key) if table.range_key_attr else table.get_item(key[0])


def key_from_request(table: Any, raw_key: dict[str, Any]) -> ItemKey | None:
    """A request's key (or whole item) as a journal key; None when it lacks a key attribute."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table.hash_key_attr not in raw_key:
        return None
    hash_value = DynamoType(raw_key[table.hash_key_attr])
    if not table.range_key_attr:
        return (hash_value, None)
    if table.range_key_attr not in raw_key:
        return None
    return (hash_value, DynamoType(raw_key[table.range_key_attr]))


def touched_keys(operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table name, key or whole item) of every item a write call names."""
    if operation == "PutItem":
        return [(request.get("TableName", ""), request.get("Item", {}))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(request.get("TableName", ""), request.get("Key", {}))]
    touched: list[tuple[str, dict[str, Any]]] = []
    if operation == "BatchWriteItem":
        for table_name, writes in (request.get("RequestItems") or {}).items():
            for write in writes:
                if "PutRequest" in write:
                    touched.append((table_name, write["PutRequest"].get("Item", {})))
                elif "DeleteRequest" in write:
                    touched.append((table_name, write["DeleteRequest"].get("Key", {})))
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems") or []:
            for kind, op in entry.items():
                if kind == "Put":
                    touched.append((op.get("TableName", ""), op.get("Item", {})))
                elif kind in ("Update", "Delete"):
                    touched.append((op.get("TableName", ""), op.get("Key", {})))
    return touched


def freeze(item: Any) -> bytes | None:
    """A journal entry: the item pickled (~0.7 KB per log item, under half a live copy).

    Only moto's own in-process objects are pickled and unpickled, never outside input.
    """
    return None if item is None else pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)


def thaw(frozen: bytes) -> Any:
    return pickle.loads(frozen)  # noqa: S301 - our own pickles of moto Items (see freeze)


def replace_items(table: Any, state: dict[ItemKey, Any]) -> None:
    """Make ``table`` hold exactly the items of ``state`` (fresh objects, keyed as moto does)."""
    table.items.clear()
    for (hash_value, range_value), frozen in state.items():
        if table.range_key_attr:
            table.items[hash_value][range_value] = thaw(frozen)
        else:
            table.items[hash_value] = thaw(frozen)
