"""The drill comparison alone: classes around the point, settled buckets, verdicts."""

from __future__ import annotations

import pytest

from log_service import keys
from slsops.drill import compare
from slsops.drill.checksum import bucket_of, item_hash

NOW = 1_767_225_720  # 2026-01-01T00:02:00Z, the drill's start
WINDOW = compare.PointWindow("2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z", NOW)
LATER = NOW + 30 * 86_400  # a TTL not yet reached


def entry(log_id: str, ingested: str, expires: int | None = None, message: str = "m") -> dict:
    """A log entry as the service writes it (30 days' retention unless ``expires`` says)."""
    if expires is None:
        expires = keys.expires_at(ingested, 30)
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
    assert WINDOW.entry_class(entry("d", "yesterday", LATER)) == "unplaced"  # sorts "after"
    known = compare.PointWindow(WINDOW.before_at_most, WINDOW.after_above, NOW, {"b": "after"})
    assert known.entry_class(entry("b", "2026-01-01T00:00:30.000Z")) == "after"


def test_a_bucket_is_settled_only_when_its_tallies_are_equal():
    source, restored = compare.Tally(), compare.Tally()
    assert compare.unsettled(source, restored) == set()
    source.buckets[3][2] = 1  # a marker only the source has
    restored.buckets[5][0] = 1  # a before-entry only the restored table has
    assert compare.unsettled(source, restored) == {3, 5}


def test_items_near_the_point_are_kept_from_pass_1_and_the_sources_later_ones_only_counted():
    """Pass 1 keeps, one by one, the items near the point (both tables) and after it (the
    restored table, which must not hold them); the source's later items, written all
    through a drill on a busy table, are counted and cost no second scan."""
    items = [
        entry("old", OLD),
        entry("near", "2026-01-01T00:00:30.000Z"),
        entry("late", "2026-01-01T00:05:00.000Z"),
        lone_marker("late", "2026-01-01T00:05:00.000Z"),
        {k: v for k, v in entry("bare", OLD).items() if k != "ingested_at"},
    ]
    source, restored = tally_of(items), tally_of(items, restored=True)
    assert sorted(i.log_id for i in source.near) == ["bare", "near"]
    assert sorted(i.log_id for i in restored.near) == ["bare", "late", "late", "near"]
    assert source.counts == restored.counts
    assert source.counts["after"] == 1 and source.counts["markers"] == 1
    assert compare.unsettled(source, restored) == set()
    verdict = compare.verdict_of(source, restored, no_second_scan)
    assert sorted(verdict.after_point) == ["#log_id#late/#", "svc/2026-01-01T00:05:00.000Z#late"]
    ok = compare.verdict_of(source, tally_of(items[:2] + items[4:], restored=True), no_second_scan)
    assert ok.after_point == [] and ok.held_before == ok.in_both == 1
    assert ok.window == 2  # the entry near the point and the unplaced one, equal in both


def no_second_scan(buckets, _entries):
    raise AssertionError(f"a second scan of buckets {sorted(buckets)}")


def tally_of(items, window=WINDOW, restored=False) -> compare.Tally:
    tally = compare.Tally(keeps_after=restored)
    compare.count_page(tally, items, window)
    return tally


def _judged(source_items, restored_items, window=WINDOW):
    """Pass 2 over every item given: what the comparison says of them."""
    entries: dict[str, dict[str, compare._Copy]] = {}
    for side, items in ((0, source_items), (1, restored_items)):
        for item in items:
            compare.resolve(entries, side, item, window)
    return compare.judge(entries)


def test_verdicts_name_each_kind_of_difference():
    old = "2025-12-31T00:00:00.000Z"
    late = "2026-01-01T00:05:00.000Z"
    verdict = _judged(
        [entry("same", old), entry("gone", old), entry("changed", old)],
        [
            entry("same", old),
            entry("changed", old, message="tampered"),
            entry("expired", old, expires=keys.expires_at(old, 1)),
            entry("deleted", old),
            entry("late", late),
        ],
    )
    assert verdict.missing == [f"svc/{old}#gone"]
    assert verdict.differing == [f"svc/{old}#changed"]
    assert verdict.after_point == [f"svc/{late}#late"]
    assert verdict.lost_ttl_expired == 1
    assert verdict.restore_only == [f"svc/{old}#deleted"]  # not explained away: named
    assert (
        verdict.explained_sum
        == (
            item_hash(entry("expired", old, expires=keys.expires_at(old, 1)))
            + item_hash(entry("deleted", old))
        )
        % compare.MODULUS
    )


def lone_marker(log_id: str, ingested: str | None, expires: int = LATER, hash_: str = "h") -> dict:
    """A marker whose log item was never written (a write interrupted after its claim)."""
    marker = {
        keys.PARTITION_KEY: {"S": keys.MARKER_PREFIX + log_id},
        keys.SORT_KEY: {"S": keys.MARKER_SORT_KEY},
        "log_id": {"S": log_id},
        "content_hash": {"S": hash_},
        keys.TTL_ATTRIBUTE: {"N": str(expires)},
    }
    if ingested is not None:
        marker["ingested_at"] = {"S": ingested}
    return marker


def test_lone_markers_are_compared_like_entries():
    """A lone marker the source held before the point must be restored, identical; one
    claimed after the point must not be."""
    old = "2025-12-31T00:00:00.000Z"
    late = "2026-01-01T00:05:00.000Z"
    verdict = _judged(
        [lone_marker("kept", old), lone_marker("lost", old), lone_marker("changed", old)],
        [lone_marker("kept", old), lone_marker("changed", old, hash_="x"), lone_marker("l", late)],
    )
    assert verdict.missing_markers == ["#log_id#lost/#"]
    assert verdict.differing_markers == ["#log_id#changed/#"]
    assert verdict.after_point == ["#log_id#l/#"]


def test_a_lone_marker_after_the_point_in_both_tables_is_judged():
    """Equal tallies do not hide a marker claimed after the point: the restored table must
    not hold it, however equal it is to the source's."""
    late = lone_marker("late", "2026-01-01T00:05:00.000Z")
    verdict = compare.verdict_of(tally_of([late]), tally_of([late], restored=True), no_second_scan)
    assert verdict.after_point == ["#log_id#late/#"]


def _drill_verdicts(source_items, restored_items, window=WINDOW):
    """Both passes over two in-memory tables, then the DRL checks on the record they make."""
    from slsops.checks.drill import CHECKS, DrillContext
    from slsops.drill.result import DrillOptions, DrillResult
    from slsops.drill.validation import comparison_record
    from slsops.framework.runner import run_checks

    tallies = (tally_of(source_items, window), tally_of(restored_items, window, restored=True))

    def scan_again(buckets, entries):
        for side, items in ((0, source_items), (1, restored_items)):
            for item in items:
                if bucket_of(compare._log_id(item)) in buckets:
                    compare.resolve(entries, side, item, window)

    verdict = compare.verdict_of(*tallies, scan_again)
    options = DrillOptions("pitr", None, 60, False, 60, 1, 1, keys.DEFAULT_INDEX_NAME)
    result = DrillResult("pitr", "src", "2026-01-01T00:00:00.000Z")
    result.comparison = comparison_record(window, options, *tallies, verdict)
    wanted = [c for c in CHECKS if c.id in ("DRL-004", "DRL-005")]
    return {v.id: v for v in run_checks(wanted, DrillContext(result))}


OLD = "2025-12-31T00:00:00.000Z"


def test_completeness_and_identity_skip_when_the_source_held_nothing_before_the_point():
    """A restore holding entries of a source that held none before the point compared
    nothing the source held: DRL-004 cannot PASS."""
    found = _drill_verdicts([], [entry("a", OLD), lone_marker("a", OLD)])
    assert found["DRL-004"].status == "SKIP", found["DRL-004"]
    assert "nothing to compare" in found["DRL-004"].detail
    # what the restore alone holds is still judged (the drill placed the point: made up)
    assert found["DRL-005"].status == "FAIL", found["DRL-005"]
    assert _drill_verdicts([], [entry("a", OLD)], CHOSEN)["DRL-005"].status == "WARN"


def test_identity_skips_when_no_entry_is_in_both_tables():
    """An empty restore: DRL-004 FAILs (all missing); DRL-005 compared no pair, so SKIP."""
    found = _drill_verdicts([entry("a", OLD), entry("b", OLD)], [])
    assert found["DRL-004"].status == "FAIL", found["DRL-004"]
    assert found["DRL-005"].status == "SKIP", found["DRL-005"]
    assert "in both tables" in found["DRL-005"].detail


def test_completeness_and_identity_pass_when_the_tables_agree():
    items = [entry("a", OLD), lone_marker("a", OLD), entry("b", OLD), lone_marker("c", OLD)]
    found = _drill_verdicts(items, items)
    assert found["DRL-004"].status == found["DRL-005"].status == "PASS", found
    assert found["DRL-004"].evidence["compared"] == {"held_before": 4, "in_both": 4}


FUTURE = "2026-01-02T00:00:00.000Z"  # beyond the drill's end + the allowed clock skew
BOUNDED = compare.PointWindow(
    WINDOW.before_at_most, WINDOW.after_above, NOW, future_above="2026-01-01T01:00:00.000Z"
)


def test_an_entry_ingested_in_the_future_is_not_placed_after_the_point():
    """Its write time is not credible (a skewed clock or a forged item): it may well have been
    written before the point, so it is not required absent from the restore."""
    assert BOUNDED.entry_class(entry("f", FUTURE)) == "unplaced"
    assert BOUNDED.entry_class(entry("c", "2026-01-01T00:01:00.001Z")) == "after"
    both = _drill_verdicts(
        [entry("a", OLD), entry("f", FUTURE)], [entry("a", OLD), entry("f", FUTURE)], BOUNDED
    )
    assert both["DRL-004"].status == "PASS", both["DRL-004"]
    assert _judged([entry("f", FUTURE)], [entry("f", FUTURE)], BOUNDED).after_point == []


def test_an_entry_ingested_in_the_future_the_restore_lacks_is_surfaced():
    """Missing from the restore, it may be lost data or a write after the point: WARN naming
    it, never silently left out."""
    found = _drill_verdicts([entry("a", OLD), entry("f", FUTURE)], [entry("a", OLD)], BOUNDED)
    assert found["DRL-004"].status == "WARN", found["DRL-004"]
    assert found["DRL-004"].evidence["unplaced"]["keys"] == [f"svc/{FUTURE}#f"]
    changed = _judged([entry("f", FUTURE)], [entry("f", FUTURE, message="x")], BOUNDED)
    assert changed.differing == [f"svc/{FUTURE}#f"]


def test_the_source_copy_places_an_entry_not_the_restored_one():
    """A restored copy whose ingested_at was moved next to the point is still judged as the
    source's entry from before the point: a difference, not a window entry."""
    moved = {**entry("a", OLD), "ingested_at": {"S": "2026-01-01T00:00:30.000Z"}}
    verdict = _judged([entry("a", OLD)], [moved])
    assert verdict.differing == [f"svc/{OLD}#a"] and verdict.window == 0


def test_an_entry_without_ingested_at_is_judged_not_left_out():
    """No write time: like one stamped in the future, changed is a difference and held by
    the source alone it is named; it is never a silent window entry."""
    bare = {k: v for k, v in entry("n", OLD).items() if k != "ingested_at"}
    assert WINDOW.entry_class(bare) == "unplaced"
    assert _judged([bare], [{**bare, "message": {"S": "x"}}]).differing == [f"svc/{OLD}#n"]
    found = _drill_verdicts([entry("a", OLD), bare], [entry("a", OLD)])
    assert found["DRL-004"].status == "WARN", found["DRL-004"]
    assert found["DRL-004"].evidence["unplaced"]["keys"] == [f"svc/{OLD}#n"]


CHOSEN = compare.PointWindow(
    WINDOW.before_at_most, WINDOW.after_above, NOW, point_chosen_by_user=True
)


def test_an_entry_only_the_restore_holds_fails_when_the_drill_placed_the_point():
    """The service never deletes an entry; nothing but a fabricating restore puts one in the
    restored table that the source lacks seconds after the point: DRL-005 FAILs naming it."""
    fabricated = entry("x", OLD)
    found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), fabricated])
    assert found["DRL-005"].status == "FAIL", found["DRL-005"]
    assert found["DRL-005"].evidence["restore_only"]["keys"] == [f"svc/{OLD}#x"]
    assert f"svc/{OLD}#x" in found["DRL-005"].detail


def test_an_entry_only_the_restore_holds_warns_when_the_user_chose_the_point():
    """Since a point in the past an operator may have deleted it (a duplicate, say): WARN
    naming it for a person to check, never a silent PASS."""
    found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), entry("x", OLD)], CHOSEN)
    assert found["DRL-005"].status == "WARN", found["DRL-005"]
    assert found["DRL-005"].evidence["restore_only"]["keys"] == [f"svc/{OLD}#x"]
    assert "deletions log" in found["DRL-005"].detail


def test_a_lone_marker_or_unplaced_item_only_the_restore_holds_fails():
    bare = {k: v for k, v in entry("n", OLD).items() if k != "ingested_at"}
    for extra in (lone_marker("m", OLD), bare, entry("w", "2026-01-01T00:00:30.000Z")):
        found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), extra])
        assert found["DRL-005"].status == "FAIL", (extra, found["DRL-005"])


def test_an_extra_marker_next_to_an_entry_both_tables_hold_fails():
    found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), lone_marker("a", OLD)])
    assert found["DRL-005"].status == "FAIL", found["DRL-005"]
    assert found["DRL-005"].evidence["restore_only"]["keys"] == ["#log_id#a/#"]


def test_an_entry_the_restore_alone_holds_is_ttl_explained_only_if_it_expired_before_the_drill():
    """NOW is the drill's start: TTL may have removed an entry expired by then from the
    source, not one expiring later."""
    one_day = keys.expires_at(OLD, 1)  # 2026-01-01T00:00:00Z, before NOW
    expired = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), entry("x", OLD, one_day)])
    assert expired["DRL-005"].status == expired["DRL-004"].status == "PASS", expired
    assert expired["DRL-004"].evidence["lost_since"]["ttl_expired"] == 1
    later = {**entry("x", OLD), keys.TTL_ATTRIBUTE: {"N": str(NOW + 1)}}
    found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), later])
    assert found["DRL-005"].status == "FAIL", found["DRL-005"]


def test_a_made_up_item_with_a_past_ttl_the_service_never_writes_is_not_explained():
    """A past ``expires_at`` alone does not explain an item only the restore holds: it must
    be its ``ingested_at`` plus whole days of retention (1 to the most allowed), and a
    marker without ``ingested_at`` must carry its explained entry's TTL."""
    unlike_service = [
        entry("x", OLD, 1_000),  # 1970: no retention gives it
        entry("x", OLD, keys.expires_at(OLD, 1) - 2),  # not whole days
        entry("x", "1990-01-01T00:00:00.000Z", keys.expires_at("1990-01-01T00:00:00.000Z", 3651)),
        {k: v for k, v in entry("x", OLD, 1_000).items() if k != "ingested_at"},
        {**entry("x", OLD, keys.expires_at(OLD, 1)), "ingested_at": {"S": "yesterday"}},
        lone_marker("x", None, keys.expires_at(OLD, 1)),  # no entry to take the TTL of
    ]
    for made_up in unlike_service:
        found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), made_up])
        assert found["DRL-005"].status == "FAIL", (made_up, found["DRL-005"])
        assert found["DRL-004"].evidence["lost_since"]["ttl_expired"] == 0, made_up
    one_day = keys.expires_at(OLD, 1)
    pair = [entry("x", OLD, one_day), lone_marker("x", None, one_day)]
    found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), *pair])
    assert found["DRL-005"].status == "PASS", found["DRL-005"]
    assert found["DRL-004"].evidence["lost_since"]["ttl_expired"] == 2
    other_ttl = [entry("x", OLD, one_day), lone_marker("x", None, one_day - 86_400)]
    found = _drill_verdicts([entry("a", OLD)], [entry("a", OLD), *other_ttl])
    assert found["DRL-005"].evidence["restore_only"]["keys"] == ["#log_id#x/#"], found["DRL-005"]


def test_a_copy_of_an_entry_under_another_partition_is_compared():
    """Two items with one log id are two items: the restore's extra copy under another
    partition is not hidden by the genuine one (and another entry missing makes the
    whole-table checksum say nothing)."""
    copy = {**entry("a", OLD), keys.PARTITION_KEY: {"S": "other"}}
    found = _drill_verdicts([entry("a", OLD), entry("b", OLD)], [copy, entry("a", OLD)])
    assert found["DRL-004"].status == "FAIL", found["DRL-004"]
    assert found["DRL-005"].status == "FAIL", found["DRL-005"]
    assert f"other/{OLD}#a" in found["DRL-005"].detail
    changed = {**copy, "message": {"S": "x"}}
    source_copy = _judged([entry("a", OLD), copy], [changed, entry("a", OLD)])
    assert source_copy.differing == [f"other/{OLD}#a"]


def test_an_entry_near_the_point_both_tables_hold_is_compared():
    """Whether an entry stamped near the point is restored is not judged (it may have landed
    after the point); once restored it must be the source's, as items are never rewritten."""
    near = "2026-01-01T00:00:30.000Z"
    found = _drill_verdicts(
        [entry("a", OLD), entry("b", OLD), entry("w", near), lone_marker("m", near)],
        [entry("a", OLD), entry("w", near, message="x"), lone_marker("m", near, hash_="x")],
    )
    assert found["DRL-005"].status == "FAIL", found["DRL-005"]
    assert found["DRL-005"].evidence["differing"]["keys"] == [f"svc/{near}#w"]
    assert found["DRL-005"].evidence["differing_markers"]["keys"] == ["#log_id#m/#"]
    assert _judged([entry("w", near)], []).window == 1  # absent from the restore: counted


def indexed(log_id: str, message: str = "m") -> dict:
    """A log item carrying the index's keys (``gsi_shard`` and ``sk``)."""
    return {**entry(log_id, OLD, message=message), keys.INDEX_PARTITION_KEY: {"N": "1"}}


class TwoScans:
    """A client whose scans answer the table's items, or the index's when IndexName is set."""

    def __init__(self, table: list[dict], *index_scans: list[dict]) -> None:
        self.table, self.index_scans, self.index_reads = table, list(index_scans), 0

    def scan(self, **request) -> dict:
        if "IndexName" not in request:
            return {"Items": self.table}
        assert "ConsistentRead" not in request  # a global index has no consistent read
        self.index_reads += 1
        return {"Items": self.index_scans[min(self.index_reads, len(self.index_scans)) - 1]}


def _index_record(monkeypatch, table: list[dict], *index_scans: list[dict]) -> dict:
    """The restored table's pass-1 tally (markers too: they do not carry the index keys),
    then the index comparison against the scans given (the last repeats)."""
    from slsops.drill import index

    tally = compare.Tally(index=index.IndexTally((keys.INDEX_PARTITION_KEY, keys.INDEX_SORT_KEY)))
    compare.count_page(tally, table + [lone_marker(i["log_id"]["S"], OLD) for i in table], WINDOW)
    monkeypatch.setattr(index, "RESCAN_PAUSE_S", 0.0)
    client = TwoScans(table, *index_scans)
    record = index.compare_index(client, "t", "i", tally.index, 1, 1)
    return {**record, "index_reads": client.index_reads}


def _drl006(contents: dict, reads: dict | None = None):
    from slsops.checks.drill import CHECKS, DrillContext
    from slsops.drill.result import DrillResult
    from slsops.framework.runner import run_checks

    result = DrillResult("pitr", "src", "2026-01-01T00:00:00.000Z")
    result.index_contents = contents
    result.index_reads = reads or {"checked": 0, "missing": [], "differing": []}
    (verdict,) = run_checks([c for c in CHECKS if c.id == "DRL-006"], DrillContext(result))
    return verdict


def test_an_index_lacking_changing_or_adding_items_is_named(monkeypatch):
    """Sampled reads passed such an index; the contents comparison names each difference."""
    table = [indexed("same"), indexed("gone"), indexed("changed"), indexed("twice")]
    index = [indexed("same"), indexed("changed", "x"), indexed("extra")]
    index += [indexed("twice"), indexed("twice")]
    record = _index_record(monkeypatch, table, index)
    assert record["table"]["count"] == 4 and record["index_scan"]["count"] == 5
    assert record["scans"] == 2 and record["index_reads"] == 3  # re-scan, then naming pass
    assert record["missing"]["keys"] == [f"svc/{OLD}#gone"]
    assert record["differing"]["keys"] == [f"svc/{OLD}#changed"]
    assert record["index_only"]["keys"] == [f"svc/{OLD}#extra"]
    assert record["duplicated"]["keys"] == [f"svc/{OLD}#twice"]
    verdict = _drl006(record)
    assert verdict.status == "FAIL", verdict
    assert "1 missing from the index, 1 differing, 1 held by the index alone" in verdict.detail


def test_an_index_equal_to_its_table_passes_after_one_re_scan_at_most(monkeypatch):
    table = [indexed("a"), indexed("b"), entry("no-shard", OLD)]  # not indexed: not expected
    record = _index_record(monkeypatch, table, [indexed("a")], table[:2])
    assert record["scans"] == 2 and record["differing_buckets"] == 0
    assert record["table"] == record["index_scan"] and record["table"]["count"] == 2
    assert _drl006(record).status == "PASS"
    stale = _index_record(monkeypatch, table, [indexed("a")])  # still short
    assert _drl006(stale).status == "FAIL"


def test_the_index_check_skips_when_no_item_carries_the_index_keys(monkeypatch):
    """Nothing compared is not a PASS; an index holding items its table lacks is a FAIL."""
    nothing = _index_record(monkeypatch, [entry("no-shard", OLD)], [])
    verdict = _drl006(nothing)
    assert verdict.status == "SKIP", verdict
    assert "nothing compared" in verdict.detail
    stray = _index_record(monkeypatch, [], [indexed("stray")])
    assert _drl006(stray).status == "FAIL"


def test_sampled_reads_the_index_does_not_serve_still_fail(monkeypatch):
    record = _index_record(monkeypatch, [indexed("a")], [indexed("a")])
    reads = {"checked": 1, "missing": [f"svc/{OLD}#a"], "differing": []}
    assert _drl006(record, reads).status == "FAIL"
    assert _drl006({"error": "the restored table has no index i"}).status == "FAIL"
    assert _drl006({}).status == "FAIL"  # the drill stopped before: its error is the detail


def test_a_busy_source_written_to_through_the_drill_needs_no_second_pass(monkeypatch):
    """Entries written after the point, in every bucket (a busy table during a drill), are
    counted, not resolved: more of them than MAX_RESOLVED is no overflow, and the restore,
    which rightly lacks them, settles every bucket."""
    monkeypatch.setattr(compare, "MAX_RESOLVED", 10)
    old = [entry(f"old-{n}", OLD) for n in range(5)]
    late = [entry(f"late-{n}", "2026-01-01T00:05:00.000Z") for n in range(50)]
    verdict = compare.verdict_of(tally_of(old + late), tally_of(old, restored=True), no_second_scan)
    assert verdict.after_point == [] and verdict.held_before == verdict.in_both == 5
    with pytest.raises(OverflowError, match="near the point"):
        tally_of(late, restored=True)  # a restore holding them all: named, within a bound
