"""The restored table against what the source held at the restore point, in bounded memory.

Every log entry is classed by its ``ingested_at`` against the point: ``before`` (at most
point - guard: the restored table must hold it, identical, with its idempotency marker),
``after`` (later than point + guard: the restored table must not hold it nor its marker) or
``window`` (in between: an entry stamped before the point may land after it, so its absence
is counted, not judged; restored, it must equal the source's, as no item is ever
rewritten). A marker is classed by its own ``ingested_at`` (one without it, from older
writers, takes its entry's side); a lone marker (its write stopped after the claim: no log
item in either table) is judged the same way. Items are compared one by one, by primary key:
two items with one ``log_id`` (a duplicate under another partition) are two items.

What the restore holds and the source does not now (any class but ``after``) is an item the
source lost since the point, or one it never had. The service never deletes (TTL only), so an
item TTL may have removed is explained and counted: its ``expires_at`` is past by the drill's
start and is one the service writes (its ``ingested_at`` plus whole days of retention, within
the allowed range; a marker without ``ingested_at`` must carry the TTL of its entry, itself
explained). A made-up item with just any past ``expires_at`` is not. Otherwise it is named
(``restore_only``): when the drill placed the point itself (seconds ago) nothing but a
restore that made it up can explain it (DRL-005 FAIL); when the user chose the point
(``--restore-time``, an existing backup) a person may have deleted it since (duplicates,
say), so DRL-005 WARNs naming it for a check of the deletions log.

An item without ``ingested_at`` (or with one not in the stored form), or with one later than
the drill can end (``future_above``: start + timeout + the allowed clock skew: a skewed clock
or a forged item), has no credible write time. Such an entry (or lone marker) is
``unplaced``, neither ``window`` (counted, never judged) nor ``after`` (which would demand its
absence and, when absent, leave it out unseen): equal in both tables it passes, changed it is
a difference, held by the source alone it is named (``unplaced``, DRL-004 WARN) for a person
to judge, as the drill cannot tell a lost entry from one written after the point.

Pass 1 scans each table once and keeps, per bucket of log ids (a fixed number of buckets),
the count and checksum of its ``before`` entries and of its markers from before the point
(and those without ``ingested_at``, which take their entry's side), and, item by item, what
the comparison needs of every item near the point (``window``, ``unplaced``) and, in the
restored table only, after it: the source's items from after the point are counted and
nothing more (the restored table must not hold them, and its own pass 1 sees any it holds),
so a busy source, written to all through the drill, costs no second pass. A bucket whose
tallies agree is settled; pass 2 (only when some bucket is not) scans both tables again and
keeps just the hashes of the unsettled buckets' items (by primary key under their log id).
Pass 1's near items and pass 2's items are judged together, at most ``MAX_RESOLVED`` log ids
and ``MAX_RESOLVED`` near items per table, to say which item is missing, differs, is after
the point, or is held by the restore alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from log_service import keys
from slsops.audit.aggregate import Reservoir
from slsops.audit.scan import parallel_scan
from slsops.drill.checksum import BUCKETS, MODULUS, bucket_of, hex_of, item_hash, primary_key
from slsops.drill.index import IndexTally

MAX_RESOLVED = 200_000
NAMED = 20  # keys named in the evidence per kind of difference
SAMPLE_SIZE = 8


@dataclass(frozen=True)
class PointWindow:
    """Where the point is, in the stored timestamp form (string order is time order)."""

    before_at_most: str  # point - guard
    after_above: str  # point + guard
    now: int  # epoch seconds, fixed once per drill: TTL is judged against it
    # Entries whose side of the point is known by write confirmation (the drill's canaries):
    # log id -> "before" or "after", whatever the guard says.
    known: dict[str, str] = field(default_factory=dict)
    # The latest credible write time (the drill's end + the allowed clock skew); None: no bound.
    future_above: str | None = None
    # True when the user chose the point (--restore-time, an existing backup): an item only
    # the restore holds may have been deleted since. False: the drill placed it seconds ago.
    point_chosen_by_user: bool = False

    def entry_class(self, item: dict[str, Any]) -> str:
        return self.marker_class(item) or "unplaced"  # no write time: cannot be placed

    def marker_class(self, item: dict[str, Any]) -> str | None:
        """The item's side of the point; None when it has no ``ingested_at`` (markers of
        older writers lack it and take their entry's side)."""
        known = self.known.get((item.get("log_id") or {}).get("S", ""))
        if known is not None:
            return known
        ingested = (item.get("ingested_at") or {}).get("S")
        if ingested is None:
            return None
        if not keys.TIMESTAMP_PATTERN.match(ingested):
            return "unplaced"  # not a stored timestamp: its order against the point means nothing
        if self.future_above is not None and ingested > self.future_above:
            return "unplaced"  # a skewed clock or a forged item: its write time says nothing
        if ingested <= self.before_at_most:
            return "before"
        return "after" if ingested > self.after_above else "window"

    def expired_ttl(self, item: dict[str, Any]) -> tuple[int | None, bool | None]:
        """(The item's ``expires_at`` when past by the drill's start, else None; whether that
        TTL is one the service writes for its ``ingested_at``, None without one)."""
        try:
            expires = int((item.get(keys.TTL_ATTRIBUTE) or {}).get("N"))
        except (TypeError, ValueError):
            return None, False
        if expires > self.now:
            return None, False
        ingested = (item.get("ingested_at") or {}).get("S")
        if ingested is None:
            return expires, None
        try:
            written = keys.parse_stored_timestamp(ingested)
        except ValueError:
            return expires, False
        return expires, keys.retention_days_of(written, expires) is not None


def _is_marker(item: dict[str, Any]) -> bool:
    return (item.get(keys.PARTITION_KEY) or {}).get("S", "").startswith(keys.MARKER_PREFIX)


def _log_id(item: dict[str, Any]) -> str:
    return (item.get("log_id") or {}).get("S") or primary_key(item)


@dataclass(frozen=True)
class _Seen:
    """What the comparison needs of one item (pass 1 keeps it for items near the point)."""

    log_id: str
    key: str  # primary key, "partition/sort"
    marker: bool
    digest: int
    cls: str | None  # its side of the point (None: a marker without ingested_at)
    expired_at: int | None  # expires_at, when past by the drill's start
    service_ttl: bool | None  # that TTL is the service's (None: no ingested_at)


def seen(item: dict[str, Any], window: PointWindow, digest: int | None = None) -> _Seen:
    marker = _is_marker(item)
    expired_at, service_ttl = window.expired_ttl(item)
    return _Seen(
        _log_id(item),
        f"{item[keys.PARTITION_KEY]['S']}/{item[keys.SORT_KEY]['S']}",
        marker,
        item_hash(item) if digest is None else digest,
        window.marker_class(item) if marker else window.entry_class(item),
        expired_at,
        service_ttl,
    )


# Classes kept item by item in pass 1, in both tables ("after": in the restored table only).
NEAR = ("window", "unplaced")


@dataclass
class Tally:
    """Pass-1 figures of one table: per class counts and checksums, per bucket tallies, the
    items near the point (and, of the restored table, after it) one by one."""

    counts: dict[str, int] = field(
        default_factory=lambda: {
            "before": 0,
            "window": 0,
            "after": 0,
            "unplaced": 0,
            "markers": 0,
        }
    )
    scanned: int = 0
    before_sum: int = 0
    marker_sum: int = 0
    # per bucket: before-entries (count, checksum), markers (count, checksum)
    buckets: list[list[int]] = field(default_factory=lambda: [[0, 0, 0, 0] for _ in range(BUCKETS)])
    keeps_after: bool = False  # the restored table: its items after the point are kept
    near: list[_Seen] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)
    scan_s: float = 0.0
    # The items the index must hold (the restored table's tally only; see ``drill.index``).
    index: IndexTally | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _reservoir: Reservoir = field(
        default_factory=lambda: Reservoir(SAMPLE_SIZE, seed=7), repr=False, compare=False
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "scanned": self.scanned,
            "checksum_before": hex_of(self.before_sum),
            "checksum_markers": hex_of(self.marker_sum),
        }


def tally(
    client: Any,
    table: str,
    window: PointWindow,
    segments: int,
    threads: int,
    advance: Callable[[int], None] | None = None,
    index_keys: tuple[str, ...] | None = None,
    restored: bool = False,
) -> Tally:
    """Pass 1 over ``table`` (strongly consistent parallel scan); ``restored``: the restored
    table, whose items after the point are kept; with ``index_keys``, also the tally of the
    items carrying them, which the table's index must hold."""
    result = Tally(
        keeps_after=restored, index=None if index_keys is None else IndexTally(index_keys)
    )

    def on_page(items: list[dict[str, Any]]) -> None:
        count_page(result, items, window)
        if advance is not None:
            advance(len(items))

    parallel_scan(client, table, segments, threads, on_page, consistent_read=True)
    result.sample = result._reservoir.sample
    return result


def count_page(result: Tally, items: list[dict[str, Any]], window: PointWindow) -> None:
    """Add one page of a table to its pass-1 tally (pages may come from several threads)."""
    rows = []
    for item in items:
        marker = _is_marker(item)
        cls = window.marker_class(item) if marker else window.entry_class(item)
        rows.append((marker, cls, bucket_of(_log_id(item)), item_hash(item), item))
    with result._lock:
        result.scanned += len(items)
        for marker, cls, bucket, digest, item in rows:
            result.counts["markers" if marker else str(cls)] += 1
            if result.index is not None:
                result.index.add(item, digest)
            if cls in NEAR or (cls == "after" and result.keeps_after):
                if len(result.near) >= MAX_RESOLVED:
                    raise OverflowError(
                        f"more than {MAX_RESOLVED} items sit near the point (or after it, in "
                        "the restored table)"
                    )
                result.near.append(seen(item, window, digest))
                continue
            if cls == "after":  # the source's, after the point: counted, nothing more
                continue
            row = result.buckets[bucket]
            if marker:  # from before the point, or without ingested_at (its entry's side)
                row[2] += 1
                row[3] = (row[3] + digest) % MODULUS
                result.marker_sum = (result.marker_sum + digest) % MODULUS
            else:
                row[0] += 1
                row[1] = (row[1] + digest) % MODULUS
                result.before_sum = (result.before_sum + digest) % MODULUS
                result._reservoir.offer(item)


def unsettled(source: Tally, restored: Tally) -> set[int]:
    """Buckets whose tallies differ."""
    return {b for b in range(BUCKETS) if source.buckets[b] != restored.buckets[b]}


@dataclass
class _Copy:
    """One item (its primary key) of an unsettled bucket, as each table holds it (hashes)."""

    key: str
    marker: bool
    hashes: list[int | None] = field(default_factory=lambda: [None, None])  # source, restored
    cls: str | None = None  # its side of the point (None: a marker without ingested_at)
    expired_at: int | None = None  # expires_at, when past by the drill's start
    service_ttl: bool | None = False  # that TTL is the service's (None: no ingested_at)


def _collect(
    client: Any,
    table: str,
    side: int,
    buckets: set[int],
    window: PointWindow,
    entries: dict[str, dict[str, _Copy]],
    segments: int,
    threads: int,
) -> None:
    lock = threading.Lock()

    def on_page(items: list[dict[str, Any]]) -> None:
        with lock:
            for item in items:
                if bucket_of(_log_id(item)) in buckets:
                    resolve(entries, side, item, window)

    parallel_scan(client, table, segments, threads, on_page, consistent_read=True)


def resolve(
    entries: dict[str, dict[str, _Copy]], side: int, item: dict[str, Any], window: PointWindow
) -> None:
    """Record what table ``side`` (0 source, 1 restored) holds under the item's primary key."""
    add(entries, side, seen(item, window))


def add(entries: dict[str, dict[str, _Copy]], side: int, item: _Seen) -> None:
    """Record ``item`` as table ``side`` (0 source, 1 restored) holds it, grouped by its log
    id: two items with one log id (a duplicate under another partition) are two copies, each
    compared. The same item recorded twice (pass 1 and pass 2) is one copy."""
    copies = entries.get(item.log_id)
    if copies is None:
        if len(entries) >= MAX_RESOLVED:
            raise OverflowError(f"more than {MAX_RESOLVED} entries differ or sit near the point")
        copies = entries[item.log_id] = {}
    copy = copies.get(item.key)
    if copy is None:
        copy = copies[item.key] = _Copy(item.key, item.marker)
    copy.hashes[side] = item.digest
    if side == 0 or copy.hashes[0] is None:  # the source's copy places it, not the restore's
        copy.cls, copy.expired_at, copy.service_ttl = item.cls, item.expired_at, item.service_ttl


@dataclass
class Verdict:
    """What the comparison found (the evidence keeps counts and a few named keys)."""

    missing: list[str] = field(default_factory=list)
    missing_markers: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    differing_markers: list[str] = field(default_factory=list)
    after_point: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)  # only the source holds it, side unknown
    # Held by the restore alone and not TTL-expired by the drill's start: nothing of the
    # service deletes it, so it was deleted since the point by a person, or made up.
    restore_only: list[str] = field(default_factory=list)
    lost_ttl_expired: int = 0  # entries and markers held by the restore alone, TTL-expired
    window: int = 0
    resolved: int = 0
    unsettled_buckets: int = 0
    explained_sum: int = 0  # checksum of the before-entries held by the restore alone
    # Entries and markers the source held before the point (each looked for in the restore),
    # and those of them both tables hold (each compared): 0 means that check compared nothing.
    held_before: int = 0
    in_both: int = 0

    def count(self, source: int | None, restored: int | None) -> None:
        """One item or marker from before the point, as the two tables hold it."""
        self.held_before += source is not None
        self.in_both += source is not None and restored is not None

    def as_dict(self) -> dict[str, Any]:
        def named(values: list[str]) -> dict[str, Any]:
            return {"count": len(values), "keys": values[:NAMED]}

        return {
            "missing": named(self.missing),
            "missing_markers": named(self.missing_markers),
            "differing": named(self.differing),
            "differing_markers": named(self.differing_markers),
            "after_point": named(self.after_point),
            "unplaced": named(self.unplaced),
            "restore_only": named(self.restore_only),
            "lost_since": {"ttl_expired": self.lost_ttl_expired},
            "window_entries": self.window,
            "unsettled_buckets": self.unsettled_buckets,
            "resolved_entries": self.resolved,
            "compared": {"held_before": self.held_before, "in_both": self.in_both},
        }


def judge(entries: dict[str, dict[str, _Copy]]) -> Verdict:
    """Each copy on its own, by its side of the point; a marker without ``ingested_at``
    (older writers) takes its entry's side, and with no entry in either table it is
    unplaced."""
    verdict = Verdict(resolved=len(entries))
    for _log_id, copies in sorted(entries.items()):
        items = sorted((c for c in copies.values() if not c.marker), key=lambda c: c.key)
        placed = [c.cls for c in items if c.hashes[0] is not None] + [c.cls for c in items]
        entry_cls = placed[0] if placed else "unplaced"
        entry_ttls = {c.expired_at for c in items if _ttl_explains(c, set())}
        for _key, copy in sorted(copies.items()):
            _judge_copy(verdict, copy, copy.cls or entry_cls, _ttl_explains(copy, entry_ttls))
    return verdict


def _ttl_explains(copy: _Copy, entry_ttls: set[int | None]) -> bool:
    """TTL may have removed this copy from the source since the point: expired by the
    drill's start with a TTL the service writes, or (a marker without ``ingested_at``) with
    the TTL of its entry, itself explained."""
    if copy.expired_at is None:
        return False
    if copy.service_ttl is None:
        return copy.marker and copy.expired_at in entry_ttls
    return copy.service_ttl


def _judge_copy(verdict: Verdict, copy: _Copy, cls: str, ttl_explained: bool) -> None:
    source, restored = copy.hashes
    key = copy.key
    differing = verdict.differing_markers if copy.marker else verdict.differing
    if cls == "after":  # the restored table must not hold it
        if restored is not None:
            verdict.after_point.append(key)
        return
    if source is None:  # only the restored table holds it
        if ttl_explained:  # TTL may have removed it from the source since the point
            verdict.lost_ttl_expired += 1
        else:
            verdict.restore_only.append(key)
        if cls == "before" and not copy.marker and restored is not None:
            verdict.explained_sum = (verdict.explained_sum + restored) % MODULUS
        return
    if cls == "window":  # near the point: its absence is not judged, a change is
        verdict.window += 1
        if restored is not None and source != restored:
            differing.append(key)
        return
    if cls == "unplaced":  # no credible write time: equal passes, changed differs
        if restored is None:
            verdict.unplaced.append(key)
        elif source != restored:
            differing.append(key)
        else:
            verdict.window += 1
        return
    verdict.count(source, restored)
    if restored is None:
        (verdict.missing_markers if copy.marker else verdict.missing).append(key)
    elif source != restored:
        differing.append(key)


def settle(verdict: Verdict, source: Tally, restored: Tally, buckets: set[int]) -> Verdict:
    """Add what pass 1 settled (equal tallies, nothing near the point) to pass 2's verdict."""
    verdict.unsettled_buckets = len(buckets)
    for number in range(BUCKETS):
        if number not in buckets:
            row = source.buckets[number]
            verdict.held_before += row[0] + row[2]
            verdict.in_both += row[0] + row[2]
    return verdict


def compare(
    client: Any,
    source_table: str,
    source: Tally,
    restored_table: str,
    restored: Tally,
    window: PointWindow,
    segments: int,
    threads: int,
) -> Verdict:
    """The verdict of both tables' pass 1, scanning them again only if some bucket differs."""

    def scan_again(buckets: set[int], entries: dict[str, dict[str, _Copy]]) -> None:
        _collect(client, source_table, 0, buckets, window, entries, segments, threads)
        _collect(client, restored_table, 1, buckets, window, entries, segments, threads)

    return verdict_of(source, restored, scan_again)


def verdict_of(
    source: Tally,
    restored: Tally,
    scan_again: Callable[[set[int], dict[str, dict[str, _Copy]]], None],
) -> Verdict:
    """Pass 1's near items of both tables, with pass 2 (``scan_again``) over the unsettled
    buckets (none: the tallies agree, no second scan)."""
    buckets = unsettled(source, restored)
    entries: dict[str, dict[str, _Copy]] = {}
    for side, tallied in ((0, source), (1, restored)):
        for item in tallied.near:
            add(entries, side, item)
    if buckets:
        scan_again(buckets, entries)
    return settle(judge(entries), source, restored, buckets)
