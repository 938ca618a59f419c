"""slsops audit against an in-process moto: known corruptions are reported exactly, with keys.

Every item-level violation kind is written directly with boto3. moto derives its index from
the table on every query, so an index that disagrees with its table cannot be stored there;
the two index kinds are produced by making the audit's own index reads lose one item (a
botocore event handler on the audit's client), which is what a lagging or broken index looks
like from the outside.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from log_table_support import (
    SHARD_COUNT,
    create_log_table,
    log_item,
    put_items,
    seed,
    write_stack_file,
)
from typer.testing import CliRunner

from log_service import keys
from slsops.audit import aggregate
from slsops.cli import app
from slsops.errors import SlsopsError
from slsops.local.aws_app import build_moto_app, serve_in_thread


@pytest.fixture(scope="module")
def endpoint():
    with serve_in_thread(build_moto_app()) as url:
        yield url


def invoke(*args: str):
    """Run the CLI in process; SlsopsError maps to its exit code as ``slsops.cli.main`` does."""
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, SlsopsError):
        return result.exception.exit_code, result.output, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, ""


def key_of(item):
    return {keys.PARTITION_KEY: item[keys.PARTITION_KEY], keys.SORT_KEY: item[keys.SORT_KEY]}


def with_log_id(item, log_id, timestamp=None):
    """``item`` moved to another log id (and timestamp), keeping the key scheme consistent."""
    stamp = timestamp or item["timestamp"]
    return {
        **item,
        "log_id": log_id,
        "timestamp": stamp,
        keys.SORT_KEY: keys.sort_key(stamp, log_id),
        keys.INDEX_PARTITION_KEY: keys.shard_for(log_id, SHARD_COUNT),
    }


def corruptions():
    """(kind, item) pairs: each item breaks exactly one rule."""
    base = lambda **kw: log_item(**kw)[0]  # noqa: E731
    bad = []
    item = base()
    del item["message"]
    bad.append(("missing_attribute", item))
    bad.append(("wrong_type", {**base(), "log_type": Decimal(5)}))
    bad.append(("bad_level", {**base(), "level": "VERBOSE"}))
    bad.append(("bad_timestamp", {**base(), "ingested_at": "2026-01-01 10:00:00"}))
    item = base()
    other = keys.format_timestamp(datetime.now(UTC) - timedelta(hours=3))
    bad.append(("timestamp_key_mismatch", {**item, keys.SORT_KEY: f"{other}#{item['log_id']}"}))
    bad.append(("bad_log_id", with_log_id(base(), "bad id with spaces")))
    item = base()
    bad.append(("log_id_key_mismatch", {**item, keys.SORT_KEY: item[keys.SORT_KEY] + "-other"}))
    bad.append(("bad_service_name", {**base(), keys.PARTITION_KEY: "bad service!"}))
    item = base()
    wrong_shard = (item[keys.INDEX_PARTITION_KEY] + 1) % SHARD_COUNT
    bad.append(("index_attr_mismatch", {**item, keys.INDEX_PARTITION_KEY: wrong_shard}))
    bad.append(("over_limit", base(message="x" * 16_385)))
    bad.append(("bad_metadata", base(metadata='{"b": 1, "a": 2}')))
    item = base()
    bad.append(("bad_ttl", {**item, keys.TTL_ATTRIBUTE: item[keys.TTL_ATTRIBUTE] + 400 * 86_400}))
    item = base()
    future = keys.format_timestamp(
        keys.parse_stored_timestamp(item["ingested_at"]) + timedelta(hours=1)
    )
    bad.append(("clock_skew", with_log_id(item, item["log_id"], timestamp=future)))
    item, marker = log_item()
    bad.append(("bad_marker", {**marker, "entry_sk": keys.sort_key(item["timestamp"], "other")}))
    first = base(service="svc-a")
    second = {**with_log_id(base(service="svc-b"), first["log_id"])}
    bad.append(("duplicate_log_id", first))
    bad.append(("duplicate_log_id", second))
    return bad


@pytest.fixture(scope="module")
def corrupted(endpoint, tmp_path_factory):
    table = "audit-corrupted"
    arns = create_log_table(endpoint, table)
    seed(endpoint, table, 40)
    bad = corruptions()
    put_items(endpoint, table, [item for _, item in bad])
    stack = write_stack_file(tmp_path_factory.mktemp("s") / "stack.json", endpoint, table, arns)
    return stack, bad


@pytest.fixture(scope="module")
def clean(endpoint, tmp_path_factory):
    table = "audit-clean"
    arns = create_log_table(endpoint, table)
    seed(endpoint, table, 60)
    return write_stack_file(tmp_path_factory.mktemp("s") / "stack.json", endpoint, table, arns)


def read_violations(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_clean_table_passes(clean, tmp_path):
    out = tmp_path / "report.json"
    violations = tmp_path / "v.jsonl"
    code, _, error = invoke(
        "audit",
        "--stack",
        str(clean),
        "--format",
        "json",
        "--output",
        str(out),
        "--violations",
        str(violations),
        "--segments",
        "3",
    )
    report = json.loads(out.read_text())
    assert code == 0, (error, [c for c in report["checks"] if c["status"] != "PASS"])
    assert report["items_scanned"] == 120  # 60 log items + 60 markers
    assert report["violations"] == []
    assert violations.read_text() == ""
    counts = next(c for c in report["checks"] if c["id"] == "AUD-020")["evidence"]
    assert counts["log_items"] == 60 and counts["markers"] == 60
    assert counts["per_service"] == {"svc-0": 20, "svc-1": 20, "svc-2": 20}
    assert sum(counts["per_level"].values()) == 60
    assert counts["table_per_shard"] == counts["index_per_shard"]
    assert sum(counts["index_per_shard"].values()) == 60  # markers carry no gsi_shard
    ids = {c["id"] for c in report["checks"]}
    assert {"AUD-TABLE-SSE", "AUD-TABLE-PITR", "AUD-TABLE-DELETION-PROTECTION"} <= ids


def test_each_corruption_is_reported_with_its_key(corrupted, tmp_path):
    stack, bad = corrupted
    violations = tmp_path / "v.jsonl"
    out = tmp_path / "report.json"
    code, _, error = invoke(
        "audit",
        "--stack",
        str(stack),
        "--format",
        "json",
        "--output",
        str(out),
        "--violations",
        str(violations),
        "--segments",
        "4",
        "--threads",
        "2",
    )
    assert code == 1, error
    found = {(v["kind"], json.dumps(v["key"], sort_keys=True)) for v in read_violations(violations)}
    expected = {(kind, json.dumps(key_of(item), sort_keys=True)) for kind, item in bad}
    assert found == expected
    report = json.loads(out.read_text())
    summary = {v["kind"]: v["count"] for v in report["violations"]}
    assert summary == {kind: sum(1 for k, _ in bad if k == kind) for kind, _ in bad}
    failed = {c["id"] for c in report["checks"] if c["status"] == "FAIL"}
    assert len(failed) == len(summary)


def test_table_format_prints_summary_of_kinds(corrupted):
    stack, _ = corrupted
    code, output, _ = invoke("audit", "--stack", str(stack), "--skip", "AUD-TABLE-*")
    assert code == 1
    assert "violation" in output and "bad_level" in output and "duplicate_log_id" in output


def test_index_differing_from_the_table_is_reported(clean, tmp_path, monkeypatch):
    """The index answers one item short in shard 0, another key in shard 1, and lacks one
    sampled key: all three are named."""
    real_tally, real_has = aggregate.tally_index_per_shard, aggregate.index_has_item
    missing_key = {}

    def tampered(*args, **kwargs):
        tallies = real_tally(*args, **kwargs)
        short, swapped = tallies[0], tallies[1]
        tallies[0] = aggregate.ShardTally(short.count - 1, short.keys_sum)
        tallies[1] = aggregate.ShardTally(swapped.count, (swapped.keys_sum + 1) % 2**64)
        return tallies

    def has_item(client, table, index, shard, sort_key, partition):
        if not missing_key:
            missing_key.update({keys.PARTITION_KEY: partition, keys.SORT_KEY: sort_key})
            return False
        return real_has(client, table, index, shard, sort_key, partition)

    monkeypatch.setattr("slsops.audit.run.aggregate.tally_index_per_shard", tampered)
    monkeypatch.setattr("slsops.audit.run.aggregate.index_has_item", has_item)
    violations = tmp_path / "v.jsonl"
    code, _, error = invoke(
        "audit",
        "--stack",
        str(clean),
        "--violations",
        str(violations),
        "--format",
        "json",
        "--output",
        str(tmp_path / "r.json"),
        "--index-sample",
        "20",
    )
    assert code == 1, error
    found = read_violations(violations)
    assert {v["kind"] for v in found} == {"index_count_mismatch", "index_sample_missing"}
    mismatches = [v for v in found if v["kind"] == "index_count_mismatch"]
    assert [v["key"] for v in mismatches] == [
        {keys.INDEX_PARTITION_KEY: "0"},
        {keys.INDEX_PARTITION_KEY: "1"},
    ]
    assert "other keys" in mismatches[1]["detail"] and "other keys" not in mismatches[0]["detail"]
    assert [v["key"] for v in found if v["kind"] == "index_sample_missing"] == [missing_key]


def test_shard_tally_tells_equal_sets_from_different_ones():
    first, second, third = aggregate.ShardTally(), aggregate.ShardTally(), aggregate.ShardTally()
    for partition, sort_key in (("a", "1"), ("b", "2"), ("c", "3")):
        first.add(partition, sort_key)
    for partition, sort_key in (("c", "3"), ("a", "1"), ("b", "2")):
        second.add(partition, sort_key)
    for partition, sort_key in (("a", "1"), ("b", "2"), ("c", "4")):
        third.add(partition, sort_key)
    assert first == second and first != third and first.count == third.count


def test_duplicate_finder_spills_and_merges(tmp_path):
    """Bounded buffer: with a tiny buffer the duplicates still come out of the merged runs."""
    finder = aggregate.DuplicateFinder(buffer_digests=7)
    values = [*range(1, 500), 42, 77, 42, 499]
    finder.add_many(values)
    try:
        assert len(finder.runs) > aggregate.MERGE_FAN_IN  # the cascade merge was needed
        digests, repeated = finder.duplicates()
        assert digests == {42, 77, 499} and repeated == 3
    finally:
        finder.close()


def test_unreachable_endpoint_is_exit_3(clean, tmp_path):
    data = json.loads(clean.read_text())
    data["local_endpoint_url"]["value"] = "http://127.0.0.1:9"
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps(data))
    code, _, error = invoke("audit", "--stack", str(stack))
    assert code == 3 and "cannot reach" in error


def test_bad_options_are_exit_2(clean, tmp_path):
    assert invoke("audit", "--stack", str(tmp_path / "none.json"))[0] == 2
    assert invoke("audit", "--stack", str(clean), "--format", "yaml")[0] == 2
    assert invoke("audit", "--stack", str(clean), "--segments", "0")[0] == 2


def test_service_written_items_break_no_rule():
    """Items and markers as log_service.items builds them pass every per-item rule."""
    from boto3.dynamodb.types import TypeSerializer

    from slsops.audit.rules import RuleSettings, check_item

    settings = RuleSettings(shard_count=SHARD_COUNT, now=datetime.now(UTC).timestamp())
    wire = lambda d: {k: TypeSerializer().serialize(v) for k, v in d.items()}  # noqa: E731
    for item, marker in (log_item(), log_item(metadata=None, level="DEBUG")):
        assert check_item(wire(item), settings) == []
        assert check_item(wire(marker), settings) == []
