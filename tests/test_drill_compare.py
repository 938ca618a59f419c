"""The drill comparison alone: classes around the point, settled buckets, verdicts."""

from __future__ import annotations

from log_service import keys
from slsops.drill import compare
from slsops.drill.checksum import item_hash

WINDOW = compare.PointWindow("2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z", 1_000)


def entry(log_id: str, ingested: str, expires: int = 2_000, message: str = "m") -> dict:
    return {
        keys.PARTITION_KEY: {"S": "svc"},
        keys.SORT_KEY: {"S": f"{ingested}#{log_id}"},
        "log_id": {"S": log_id},
        "ingested_at": {"S": ingested},
        keys.TTL_ATTRIBUTE: {"N": str(expires)},
        "message": {"S": message},
    }


def test_entries_are_classed_by_ingested_at_and_canaries_by_their_write():
    assert WINDOW.entry_class(entry("a", "2025-12-31T23:59:59.999Z")) == "before"
    assert WINDOW.entry_class(entry("b", "2026-01-01T00:00:30.000Z")) == "window"
    assert WINDOW.entry_class(entry("c", "2026-01-01T00:01:00.001Z")) == "after"
    known = compare.PointWindow(WINDOW.before_at_most, WINDOW.after_above, 1_000, {"b": "after"})
    assert known.entry_class(entry("b", "2026-01-01T00:00:30.000Z")) == "after"


def test_a_bucket_is_settled_only_when_equal_and_far_from_the_point():
    source, restored = compare.Tally(), compare.Tally()
    assert compare.unsettled(source, restored) == set()
    source.buckets[3][4] = 1  # an entry near or after the point
    restored.buckets[5][0] = 1  # a before-entry only the restored table has
    assert compare.unsettled(source, restored) == {3, 5}


def _judged(source_items, restored_items):
    entries: dict[str, compare._Entry] = {}
    for side, items in ((0, source_items), (1, restored_items)):
        for item in items:
            slot = entries.setdefault(item["log_id"]["S"], compare._Entry())
            slot.item[side] = item_hash(item)
            slot.cls = WINDOW.entry_class(item)
            slot.expired = WINDOW.expired(item)
            slot.key = item["log_id"]["S"]
    return compare.judge(entries)


def test_verdicts_name_each_kind_of_difference():
    old = "2025-12-31T00:00:00.000Z"
    late = "2026-01-01T00:05:00.000Z"
    verdict = _judged(
        [entry("same", old), entry("gone", old), entry("changed", old)],
        [
            entry("same", old),
            entry("changed", old, message="tampered"),
            entry("expired", old, expires=999),
            entry("deleted", old),
            entry("late", late),
        ],
    )
    assert verdict.missing == ["gone"]
    assert verdict.differing == ["changed"]
    assert verdict.after_point == ["late"]
    assert (verdict.lost_ttl_expired, verdict.lost_deleted) == (1, 1)
    assert (
        verdict.explained_sum
        == (item_hash(entry("expired", old, expires=999)) + item_hash(entry("deleted", old)))
        % compare.MODULUS
    )
