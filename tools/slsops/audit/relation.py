"""The rules that span items, written once as SQL over a relation of items.

The relation ``items`` has one row per stored item (log item or idempotency marker)::

    pk, sk, log_id, is_marker, entry_service, entry_sk, ingested_at, expires_at, content_hash

The scan path fills it from the pages it reads (``RelationSpool``), the export path projects
it from the export's DynamoDB JSON (``slsops.audit.export``), DuckDB or Athena alike; then
the same ``RELATION_RULES`` run over it. ``content_hash`` is a marker's recorded hash and a
log item's recomputed one (``stored_item.content_hash``: Python, not SQL, so that the
definition stays ``log_service.model``'s); the export's projections leave it NULL, so AUD-024
compares nothing there and says so (SKIP). The SQL keeps to what DuckDB and Athena (Trino)
both accept: joins, GROUP BY, CASE, COALESCE, no engine functions.

Each rule returns ``kind, pk, sk, log_id, other_pk, other_sk, copies``; ``finding`` turns a
row into a violation with a detail that says what to do (for duplicates, which copy is
genuine: the one its idempotency marker points at).

Memory: DuckDB holds the relation in a database file beside the spool with a memory limit
(``MEMORY_LIMIT``), spilling joins and aggregates to disk, so memory stays bounded whatever
the table size.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from log_service import keys
from slsops.audit.stored_item import content_hash

COLUMNS = (
    ("pk", "VARCHAR"),
    ("sk", "VARCHAR"),
    ("log_id", "VARCHAR"),
    ("is_marker", "BOOLEAN"),
    ("entry_service", "VARCHAR"),
    ("entry_sk", "VARCHAR"),
    ("ingested_at", "VARCHAR"),
    ("expires_at", "DOUBLE"),
    ("content_hash", "VARCHAR"),
)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
NAMES = tuple(name for name, _ in COLUMNS)
MEMORY_LIMIT = "256MB"
# A lone marker older than this is no interrupted write any client still retries (AUD-025).
RETRY_WINDOW_S = 86_400
ENGINE_THREADS = 2

# Parameters are substituted as literals: {now} epoch seconds, {cutoff} a stored timestamp,
# {retried_by} the stored timestamp RETRY_WINDOW_S before now, {items} the relation's table or
# view name.
_SETS = """
WITH entries AS (
  SELECT * FROM {items} WHERE NOT is_marker AND log_id IS NOT NULL AND pk IS NOT NULL
    AND sk IS NOT NULL
), live_entries AS (
  SELECT * FROM entries WHERE expires_at IS NULL OR expires_at > {now}
), markers AS (
  SELECT * FROM {items} WHERE is_marker AND log_id IS NOT NULL
), live_markers AS (
  SELECT * FROM markers WHERE expires_at IS NULL OR expires_at > {now}
)
"""


def _with_sets(body: str) -> str:
    """A rule: the shared row sets (entries, markers, their live parts) and its query."""
    return _SETS + body


RELATION_RULES: dict[str, str] = {
    # Every copy of a log id stored more than once, and whether its marker points at it.
    "duplicate_log_id": _with_sets(
        """
, repeated AS (
  SELECT log_id, COUNT(*) AS copies FROM entries GROUP BY log_id HAVING COUNT(*) > 1
)
SELECT 'duplicate_log_id' AS kind, e.pk, e.sk, e.log_id,
       m.entry_service AS other_pk, m.entry_sk AS other_sk, r.copies
FROM entries e
JOIN repeated r ON r.log_id = e.log_id
LEFT JOIN markers m ON m.log_id = e.log_id
"""
    ),
    # A live log item whose log id has no marker: a retry would store a second copy.
    "entry_without_marker": _with_sets(
        """
SELECT 'entry_without_marker' AS kind, e.pk, e.sk, e.log_id,
       CAST(NULL AS VARCHAR) AS other_pk, CAST(NULL AS VARCHAR) AS other_sk,
       CAST(NULL AS BIGINT) AS copies
FROM live_entries e
LEFT JOIN markers m ON m.log_id = e.log_id
WHERE m.log_id IS NULL
"""
    ),
    # A marker whose key holds nothing while its log id is stored under another key.
    "marker_points_elsewhere": _with_sets(
        """
SELECT 'marker_points_elsewhere' AS kind, m.pk, m.sk, m.log_id,
       e.pk AS other_pk, e.sk AS other_sk, CAST(NULL AS BIGINT) AS copies
FROM markers m
JOIN entries e ON e.log_id = m.log_id
LEFT JOIN entries target ON target.pk = m.entry_service AND target.sk = m.entry_sk
WHERE target.pk IS NULL
"""
    ),
    # A settled, live marker with no log item of its log id anywhere, written within the last
    # day (or of unknown age): an interrupted write, which the client's retry finishes.
    "marker_without_entry": _with_sets(
        """
SELECT 'marker_without_entry' AS kind, m.pk, m.sk, m.log_id,
       m.entry_service AS other_pk, m.entry_sk AS other_sk, CAST(NULL AS BIGINT) AS copies
FROM live_markers m
LEFT JOIN entries e ON e.log_id = m.log_id
WHERE e.log_id IS NULL AND (m.ingested_at IS NULL
  OR (m.ingested_at <= '{cutoff}' AND m.ingested_at > '{retried_by}'))
"""
    ),
    # The same, written more than a day ago: nobody retries any more, so the entry was lost
    # (deleted after it was written, or a write abandoned).
    "entry_lost": _with_sets(
        """
SELECT 'entry_lost' AS kind, m.pk, m.sk, m.log_id,
       m.entry_service AS other_pk, m.entry_sk AS other_sk, CAST(NULL AS BIGINT) AS copies
FROM live_markers m
LEFT JOIN entries e ON e.log_id = m.log_id
WHERE e.log_id IS NULL AND m.ingested_at <= '{retried_by}'
"""
    ),
    # A marker that points at its entry but disagrees with it on when it was written or when
    # it expires (the writer copies both): a marker expiring first lets a retry store a copy.
    "bad_marker": _with_sets(
        """
SELECT 'bad_marker' AS kind, m.pk, m.sk, m.log_id,
       e.pk AS other_pk, e.sk AS other_sk, CAST(NULL AS BIGINT) AS copies
FROM markers m
JOIN entries e ON e.pk = m.entry_service AND e.sk = m.entry_sk
WHERE m.expires_at <> e.expires_at OR m.ingested_at <> e.ingested_at
"""
    ),
    # A log item whose content is not what its marker recorded when it was written.
    "content_hash_mismatch": _with_sets(
        """
SELECT 'content_hash_mismatch' AS kind, e.pk, e.sk, e.log_id,
       m.pk AS other_pk, m.sk AS other_sk, CAST(NULL AS BIGINT) AS copies
FROM markers m
JOIN entries e ON e.pk = m.entry_service AND e.sk = m.entry_sk
WHERE m.content_hash IS NOT NULL AND e.content_hash IS NOT NULL
  AND m.content_hash <> e.content_hash
"""
    ),
}
# How many markers' recorded hashes were compared with their log item's (0: AUD-024 is SKIP).
CONTENT_COMPARED = _with_sets(
    """
SELECT COUNT(*) FROM markers m
JOIN entries e ON e.pk = m.entry_service AND e.sk = m.entry_sk
WHERE m.content_hash IS NOT NULL AND e.content_hash IS NOT NULL
"""
)


def rule_sql(kind: str, now: float, cutoff: str, items: str = "items") -> str:
    """The SQL of one relation rule with its parameters filled in (literals we format)."""
    return _filled(RELATION_RULES[kind], now, cutoff, items)


def _filled(sql: str, now: float, cutoff: str, items: str) -> str:
    if not keys.TIMESTAMP_PATTERN.match(cutoff):
        raise ValueError(f"cutoff must be a stored timestamp: {cutoff!r}")
    if not IDENTIFIER.match(items):
        raise ValueError(f"not a table name: {items!r}")
    retried_by = keys.format_timestamp(datetime.fromtimestamp(now - RETRY_WINDOW_S, UTC))
    return sql.format(now=int(now), cutoff=cutoff, items=items, retried_by=retried_by)


def content_compared_duckdb(con: Any, now: float, cutoff: str) -> int:
    """Markers whose recorded content hash was compared with their log item's."""
    return int(con.execute(_filled(CONTENT_COMPARED, now, cutoff, "items")).fetchone()[0])


def row_of(item: dict[str, Any]) -> list[Any] | None:
    """The relation row of a scanned item (wire form), None for items it cannot hold."""

    def text(name: str) -> str | None:
        try:
            return item[name]["S"]
        except (KeyError, TypeError):
            return None

    pk = text(keys.PARTITION_KEY)
    if pk is None:
        return None
    try:
        expires_at: float | None = float(item[keys.TTL_ATTRIBUTE]["N"])
    except (KeyError, TypeError, ValueError):
        expires_at = None
    return [
        pk,
        text(keys.SORT_KEY),
        text("log_id"),
        pk.startswith(keys.MARKER_PREFIX),
        text("entry_service"),
        text("entry_sk"),
        text("ingested_at"),
        expires_at,
        content_hash(item),
    ]


class RelationSpool:
    """Relation rows written to a JSON-lines file by the scan threads, loaded into DuckDB."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "items.jsonl"
        self._handle = self.path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self.rows = 0

    def add(self, rows: Iterable[list[Any]]) -> None:
        text = "".join(
            json.dumps(dict(zip(NAMES, row, strict=True)), ensure_ascii=False) + "\n"
            for row in rows
        )
        with self._lock:
            self._handle.write(text)
            self.rows += text.count("\n")

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


def connect(directory: Path) -> Any:
    """A DuckDB database in ``directory`` with bounded memory (spills to that directory)."""
    import duckdb

    con = duckdb.connect(str(directory / "relation.duckdb"))
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET threads = {ENGINE_THREADS}")
    con.execute(f"SET temp_directory = '{directory / 'spill'}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def load_spool(con: Any, spool: RelationSpool) -> None:
    """CREATE TABLE items from the spooled rows."""
    spool.close()
    columns = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in COLUMNS)
    con.execute(
        "CREATE OR REPLACE TABLE items AS SELECT * FROM read_json("  # noqa: S608 our columns, our spool
        f"'{spool.path}', format='newline_delimited', columns={{{columns}}})"
    )


def run_rules_duckdb(con: Any, now: float, cutoff: str) -> Iterator[tuple[Any, ...]]:
    """Every relation rule's rows, rule by rule, streamed from DuckDB."""
    for kind in RELATION_RULES:
        cursor = con.execute(rule_sql(kind, now, cutoff))
        while True:
            batch = cursor.fetchmany(1000)
            if not batch:
                break
            yield from batch


@dataclass(frozen=True)
class Finding:
    """A relation-rule row as a violation: key, detail, the service it belongs to, extras."""

    kind: str
    key: dict[str, str]
    detail: str
    service: str | None
    extra: dict[str, Any]


def finding(row: tuple[Any, ...]) -> Finding:
    """The violation one relation-rule row stands for."""
    kind, pk, sk, log_id, other_pk, other_sk, copies = row
    key = {keys.PARTITION_KEY: pk or "", keys.SORT_KEY: sk or ""}
    other_key = {keys.PARTITION_KEY: other_pk, keys.SORT_KEY: other_sk}  # the item it names
    if kind == "duplicate_log_id":
        genuine = other_pk == pk and other_sk == sk
        if genuine:
            role = "the genuine one (its marker points here): keep it"
        elif other_pk is None:
            role = "one of copies no marker names: keep the oldest ingested_at, delete the rest"
        else:
            role = f"a duplicate (the marker points at {other_pk}/{other_sk}): delete it"
        detail = f"log_id {log_id!r} stored {copies} times; this copy is {role}"
        return Finding(kind, key, detail, pk, {"log_id": log_id, "genuine": genuine})
    if kind == "entry_without_marker":
        return Finding(kind, key, f"no idempotency marker #log_id#{log_id}", pk, {})
    if kind == "marker_points_elsewhere":
        detail = (
            f"points at a key that does not exist; log_id {log_id!r} is stored at "
            f"{other_pk}/{other_sk}"
        )
        return Finding(kind, key, detail, other_pk, {"entry_key": other_key})
    if kind == "bad_marker":
        detail = (
            f"expires_at or ingested_at differs from its entry's at {other_pk}/{other_sk} "
            "(the writer copies both): a marker that expires first lets a retry store a copy"
        )
        return Finding(kind, key, detail, other_pk, {"entry_key": other_key})
    if kind == "content_hash_mismatch":
        detail = (
            f"content differs from the hash its marker {other_pk} recorded at write time: "
            "edited after it was written (or the marker was)"
        )
        return Finding(kind, key, detail, pk, {"marker_key": other_key})
    if kind == "entry_lost":
        detail = (
            f"no log item of log_id {log_id!r} (marker points at {other_pk}/{other_sk}) more "
            "than a day after it was written: the entry was deleted, or its write abandoned"
        )
        return Finding(kind, key, detail, other_pk, {})
    detail = (
        f"no log item of log_id {log_id!r} (marker points at {other_pk}/{other_sk}): "
        "an interrupted write"
    )
    return Finding(kind, key, detail, other_pk, {})
