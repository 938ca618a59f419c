"""slsops audit against an in-process moto: known corruptions are reported exactly, with keys.

Every item-level violation kind is written directly with boto3. moto derives its index from
the table on every query, so an index that disagrees with its table cannot be stored there;
the two index kinds are produced by making the audit's own index reads lose one item (a
botocore event handler on the audit's client), which is what a lagging or broken index looks
like from the outside.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from log_table_support import (
    SHARD_COUNT,
    create_log_table,
    key_of,
    log_item,
    planted,
    put_items,
    reserved_corruptions,
    seed,
    write_stack_file,
)
from typer.testing import CliRunner

from log_service import keys
from slsops.audit import aggregate
from slsops.audit.kinds import KINDS_BY_NAME
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


@pytest.fixture(scope="module")
def corrupted(endpoint, tmp_path_factory):
    table = "audit-corrupted"
    arns = create_log_table(endpoint, table)
    seed(endpoint, table, 40)
    cases = planted()
    put_items(endpoint, table, [i for _, items, _ in cases for i in items])
    put_items(endpoint, table, reserved_corruptions())
    stack = write_stack_file(tmp_path_factory.mktemp("s") / "stack.json", endpoint, table, arns)
    return stack, cases


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


PLANTED_IDS = sorted({check_id for check_id, _, _ in planted()})


def audit_to(stack, folder, *extra):
    """``slsops audit`` in process, JSON report and violations file in ``folder``:
    (exit code, error text, report, violations)."""
    violations, out = folder / "v.jsonl", folder / "r.json"
    code, _, error = invoke(
        "audit",
        *("--stack", str(stack), "--format", "json", "--output", str(out)),
        *("--violations", str(violations), *extra),
    )
    return code, error, json.loads(out.read_text()), read_violations(violations)


@pytest.fixture(scope="module")
def corrupted_report(corrupted, tmp_path_factory):
    stack, cases = corrupted
    folder = tmp_path_factory.mktemp("corrupted")
    return (*audit_to(stack, folder, "--segments", "4", "--threads", "2"), cases)


def as_set(findings):
    return {(kind, json.dumps(key, sort_keys=True)) for kind, key in findings}


@pytest.mark.breaks(
    "AUD-001",
    "AUD-002",
    "AUD-003",
    "AUD-004",
    "AUD-005",
    "AUD-006",
    "AUD-007",
    "AUD-008",
    "AUD-009",
    "AUD-010",
    "AUD-011",
    "AUD-012",
    "AUD-013",
    "AUD-014",
    "AUD-015",
    "AUD-018",
    "AUD-019",
    "AUD-021",
    "AUD-022",
    "AUD-023",
    "AUD-024",
    "AUD-025",
)
def test_each_planted_corruption_is_caught_by_its_check(corrupted_report):
    """Every planted case is found with exactly the expected kinds and keys, nothing else."""
    code, error, report, found, cases = corrupted_report
    assert code == 1, error
    assert PLANTED_IDS == [
        "AUD-001",
        "AUD-002",
        "AUD-003",
        "AUD-004",
        "AUD-005",
        "AUD-006",
        "AUD-007",
        "AUD-008",
        "AUD-009",
        "AUD-010",
        "AUD-011",
        "AUD-012",
        "AUD-013",
        "AUD-014",
        "AUD-015",
        "AUD-018",
        "AUD-019",
        "AUD-021",
        "AUD-022",
        "AUD-023",
        "AUD-024",
        "AUD-025",
    ]  # the ids in the marker above
    expected = as_set(f for _, _, findings in cases for f in findings)
    assert as_set((v["kind"], v["key"]) for v in found) == expected
    by_id = {c["id"]: c for c in report["checks"]}
    for check_id, _, findings in cases:
        verdict = by_id[check_id]
        want = "WARN" if check_id == "AUD-021" else "FAIL"
        assert verdict["status"] == want, verdict
        assert "violation" in verdict["detail"]
        keys_named = [json.dumps(k, sort_keys=True) for k in verdict["evidence"]["sample_keys"]]
        assert any(json.dumps(key, sort_keys=True) in keys_named for _, key in findings)


@pytest.mark.parametrize("check_id", PLANTED_IDS)
def test_each_check_id_names_what_it_caught(corrupted_report, check_id):
    """The violations of one check in the file carry its id and a detail naming the cause."""
    _, _, _, found, cases = corrupted_report
    planted_keys = {
        json.dumps(key, sort_keys=True)
        for cid, _, findings in cases
        if cid == check_id
        for kind, key in findings
        if KINDS_BY_NAME[kind].check_id == check_id
    }
    mine = [v for v in found if v["check"] == check_id]
    assert mine and planted_keys <= {json.dumps(v["key"], sort_keys=True) for v in mine}
    assert all(v["detail"] for v in mine)


def test_the_cases_the_issue_names_have_the_right_detail(corrupted_report):
    _, _, _, found, _ = corrupted_report
    details = {v["kind"]: [] for v in found}
    for v in found:
        details[v["kind"]].append(v["detail"])
    assert any("must be a JSON object (found list)" in d for d in details["bad_metadata"])
    assert any("must be a JSON object (found NoneType)" in d for d in details["bad_metadata"])
    assert any("NUL" in d for d in details["bad_text"])
    assert any("message must not be empty" in d for d in details["bad_text"])
    assert any("log_type must not be empty" in d for d in details["bad_text"])
    assert any("'mesage'" in d for d in details["unknown_attribute"])
    assert any("'extra_field'" in d for d in details["unknown_attribute"])
    assert any("interrupted write" in d for d in details["marker_without_entry"])
    assert any("does not exist" in d for d in details["marker_points_elsewhere"])
    assert any("edited after it was written" in d for d in details["content_hash_mismatch"])


def test_duplicates_say_which_copy_is_genuine(corrupted_report):
    """The copy the marker points at is the genuine one; the runbook deletes only the other."""
    _, _, _, found, cases = corrupted_report
    genuine_item, copy_item, _ = next(items for cid, items, _ in cases if cid == "AUD-015")
    dups = {json.dumps(v["key"], sort_keys=True): v for v in found if v["check"] == "AUD-015"}
    genuine = dups[json.dumps(key_of(genuine_item), sort_keys=True)]
    copy = dups[json.dumps(key_of(copy_item), sort_keys=True)]
    assert genuine["genuine"] is True and "keep it" in genuine["detail"]
    assert copy["genuine"] is False and "delete it" in copy["detail"]
    assert copy["log_id"] == genuine["log_id"] == genuine_item["log_id"]


def test_reserved_services_are_reported_apart(corrupted_report):
    _, _, report, found, _ = corrupted_report
    services = {v["key"][keys.PARTITION_KEY] for v in found}
    assert keys.SMOKE_SERVICE not in services and "loadtest-ingest" not in services
    counts = next(c for c in report["checks"] if c["id"] == "AUD-020")["evidence"]
    assert counts["reserved_per_service"] == {keys.SMOKE_SERVICE: 2, "loadtest-ingest": 1}
    assert keys.SMOKE_SERVICE not in counts["per_service"]


def test_only_lists_only_that_checks_violations(corrupted, tmp_path):
    stack, _ = corrupted
    violations, out = tmp_path / "v.jsonl", tmp_path / "r.json"
    code, output, error = invoke(
        "audit", "--stack", str(stack), "--only", "AUD-003", "--violations", str(violations)
    )
    assert code == 1, error
    found = read_violations(violations)
    assert found and {v["check"] for v in found} == {"AUD-003"}
    assert "bad_level" in output and "duplicate_log_id" not in output
    code, _, _ = invoke(
        "audit", "--stack", str(stack), "--only", "aud-003", "--format", "json", "-o", str(out)
    )
    report = json.loads(out.read_text())
    assert [v["check"] for v in report["violations"]] == ["AUD-003"]
    assert [c["id"] for c in report["checks"]] == ["AUD-003"]


def test_table_format_prints_summary_of_kinds(corrupted):
    stack, _ = corrupted
    code, output, _ = invoke("audit", "--stack", str(stack), "--skip", "AUD-TABLE-*")
    assert code == 1
    assert "violation" in output and "bad_level" in output and "duplicate_log_id" in output


@pytest.mark.breaks("AUD-016", "AUD-017")
def test_index_differing_from_the_table_is_reported(clean, tmp_path, monkeypatch):
    """The index answers one item short in shard 0, another key in shard 1, an entry the table
    does not hold in shard 2, and lacks one sampled key: all four are named."""
    real_tally, real_has = aggregate.tally_index_per_shard, aggregate.index_has_item
    missing_key = {}

    def tampered(*args, **kwargs):
        tallies = real_tally(*args, **kwargs)
        short, swapped = tallies[0], tallies[1]
        tallies[0] = aggregate.ShardTally(short.count - 1, short.keys_sum)
        tallies[1] = aggregate.ShardTally(swapped.count, (swapped.keys_sum + 1) % 2**64)
        tallies[2].add("ghost", keys.sort_key("2026-01-01T00:00:00.000Z", "ghost"))
        return tallies

    def has_item(client, table, index, shard, sort_key, partition):
        if not missing_key:
            missing_key.update({keys.PARTITION_KEY: partition, keys.SORT_KEY: sort_key})
            return False
        return real_has(client, table, index, shard, sort_key, partition)

    monkeypatch.setattr("slsops.audit.aggregate.tally_index_per_shard", tampered)
    monkeypatch.setattr("slsops.audit.aggregate.index_has_item", has_item)
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
        {keys.INDEX_PARTITION_KEY: "2"},
    ]
    assert "other keys" in mismatches[1]["detail"] and "other keys" not in mismatches[0]["detail"]
    table_count, index_count = map(int, re.findall(r"(\d+) items", mismatches[2]["detail"]))
    assert index_count == table_count + 1  # the index holds an entry the table does not
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


def test_unreachable_endpoint_is_exit_3(clean, tmp_path):
    data = json.loads(clean.read_text())
    data["local_endpoint_url"]["value"] = "http://127.0.0.1:9"
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps(data))
    code, _, error = invoke("audit", "--stack", str(stack))
    assert code == 3 and "cannot reach" in error


def test_a_table_that_is_not_the_stack_files_is_not_audited(clean, tmp_path):
    """A table of the same name in another account or region is not the deployment's."""
    data = json.loads(clean.read_text())
    real = data["table_arn"]["value"]
    parts = real.split(":")
    parts[3] = "eu-west-3"  # the deployment lives in another region
    data["table_arn"]["value"] = ":".join(parts)
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps(data))
    code, output, error = invoke("audit", "--stack", str(stack))
    assert code == 3, output
    assert real in error and ":".join(parts) in error


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


@pytest.mark.breaks("AUD-020")
def test_counts_follow_what_is_stored_and_skip_an_empty_table(endpoint, tmp_path):
    """AUD-020 counts a service written after a first audit; an empty table is SKIP."""
    table = "audit-counts"
    arns = create_log_table(endpoint, table)
    stack = write_stack_file(tmp_path / "stack.json", endpoint, table, arns)
    out = tmp_path / "r.json"
    invoke("audit", "--stack", str(stack), "--only", "AUD-020", "--format", "json", "-o", str(out))
    empty = json.loads(out.read_text())["checks"][0]
    assert empty["status"] == "SKIP" and "read no item" in empty["detail"]
    invoke("audit", "--stack", str(stack), "--only", "AUD-0*", "--format", "json", "-o", str(out))
    checks = json.loads(out.read_text())["checks"]
    assert {c["status"] for c in checks} == {"SKIP"}, checks  # nothing compared, nothing PASS
    seed(endpoint, table, 6)
    extra = log_item(service="billing")
    put_items(endpoint, table, list(extra))
    invoke("audit", "--stack", str(stack), "--only", "AUD-020", "--format", "json", "-o", str(out))
    counts = json.loads(out.read_text())["checks"][0]
    assert counts["status"] == "PASS"
    assert counts["evidence"]["per_service"]["billing"] == 1
    assert counts["evidence"]["log_items"] == 7 and counts["evidence"]["markers"] == 7


def test_index_checks_skip_when_every_item_is_still_settling(endpoint, tmp_path):
    """Items ingested within the settle window are not compared: SKIP with why, not PASS."""
    table = "audit-settling"
    arns = create_log_table(endpoint, table)
    seed(endpoint, table, 10, ingested=datetime.now(UTC))
    stack = write_stack_file(tmp_path / "stack.json", endpoint, table, arns)
    out = tmp_path / "r.json"
    code, _, error = invoke(
        "audit",
        *("--stack", str(stack), "--only", "AUD-01*", "--settle-seconds", "60"),
        *("--format", "json", "-o", str(out)),
    )
    assert code == 0, error
    checks = {c["id"]: c for c in json.loads(out.read_text())["checks"]}
    for check_id in ("AUD-016", "AUD-017"):
        assert checks[check_id]["status"] == "SKIP", checks[check_id]
        assert "60 s before the audit" in checks[check_id]["detail"]
        assert "20 items read" in checks[check_id]["detail"]
    assert checks["AUD-015"]["status"] == "PASS"


TABLE_BREAKS = [
    (
        "AUD-TABLE-PITR",
        lambda ddb, t, _k: ddb.update_continuous_backups(
            TableName=t,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
        ),
        lambda ddb, t, _k: ddb.update_continuous_backups(
            TableName=t,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        ),
        "DISABLED",
    ),
    (
        "AUD-TABLE-DELETION-PROTECTION",
        lambda ddb, t, _k: ddb.update_table(TableName=t, DeletionProtectionEnabled=False),
        lambda ddb, t, _k: ddb.update_table(TableName=t, DeletionProtectionEnabled=True),
        "deletion_protection",
    ),
    (
        "AUD-TABLE-TTL",
        lambda ddb, t, _k: ddb.update_time_to_live(
            TableName=t,
            TimeToLiveSpecification={"Enabled": False, "AttributeName": keys.TTL_ATTRIBUTE},
        ),
        lambda ddb, t, _k: ddb.update_time_to_live(
            TableName=t,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": keys.TTL_ATTRIBUTE},
        ),
        "DISABLED",
    ),
    (
        # moto keeps the SSE of a table through UpdateTable: the table is made again
        # without the project's CMK (DynamoDB's own key), which is what the check reads.
        "AUD-TABLE-SSE",
        lambda ddb, t, _k: (
            ddb.delete_table(TableName=t),
            ddb.create_table(**keys.table_definition(t)),
        ),
        None,
        "kms_key_arn",
    ),
]


@pytest.mark.breaks(
    "AUD-TABLE-PITR", "AUD-TABLE-DELETION-PROTECTION", "AUD-TABLE-TTL", "AUD-TABLE-SSE"
)
@pytest.mark.parametrize(("check_id", "brk", "revert", "cause"), TABLE_BREAKS)
def test_table_setting_broken_fails_and_passes_after_revert(
    endpoint, tmp_path, check_id, brk, revert, cause
):
    from log_table_support import client

    table = f"audit-settings-{check_id.lower()}"
    arns = create_log_table(endpoint, table, protected=check_id != "AUD-TABLE-SSE")
    stack = write_stack_file(tmp_path / "stack.json", endpoint, table, arns)
    ddb = client(endpoint, "dynamodb")
    out = tmp_path / "r.json"

    def verdict():
        invoke(
            "audit", "--stack", str(stack), "--only", check_id, "--format", "json", "-o", str(out)
        )
        return json.loads(out.read_text())["checks"][0]

    assert verdict()["status"] == "PASS"
    other_key = client(endpoint, "kms").create_key()["KeyMetadata"]["Arn"]
    brk(ddb, table, other_key)
    broken = verdict()
    assert broken["status"] == "FAIL", broken
    assert cause in json.dumps(broken), broken
    if revert is not None:
        revert(ddb, table, arns["kms_key_arn"])
        assert verdict()["status"] == "PASS"


def test_entries_the_service_writes_audit_clean(endpoint, tmp_path):
    """The real writer's items and markers (write_id, ingested_at, timestamp_supplied)."""
    import boto3
    from log_table_support import CREDENTIALS, REGION

    from log_service.model import parse_entry
    from log_service.settings import Settings
    from log_service.writer import LogWriter

    table = "audit-written"
    arns = create_log_table(endpoint, table)
    settings = Settings(table_name=table, shard_count=SHARD_COUNT)
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
    writer = LogWriter(resource.meta.client, table, SHARD_COUNT)
    for n in range(5):
        raw = {"service_name": "orders", "level": "info", "message": f"m{n}", "metadata": {"n": n}}
        if n % 2:
            raw["timestamp"] = "2026-01-01T00:00:00Z"
        assert writer.put(parse_entry(raw, settings)).status == "stored"
    stack = write_stack_file(tmp_path / "stack.json", endpoint, table, arns)
    violations = tmp_path / "v.jsonl"
    out = tmp_path / "r.json"
    code, _, error = invoke(
        "audit",
        *("--stack", str(stack), "--only", "AUD-0*", "--violations", str(violations)),
        *("--format", "json", "-o", str(out)),
    )
    assert read_violations(violations) == [] and code == 0, error
    # The audit recomputes the writer's content hash from the stored item: all 5 compared.
    content = next(c for c in json.loads(out.read_text())["checks"] if c["id"] == "AUD-024")
    assert content["status"] == "PASS" and content["detail"].startswith("5 log items"), content


def test_content_check_skips_when_no_marker_meets_its_item(endpoint, tmp_path):
    """Log items without markers and a lone marker: AUD-024 compared nothing, so SKIP."""
    table = "audit-no-pairs"
    arns = create_log_table(endpoint, table)
    items = [log_item()[0], log_item()[0], log_item()[1]]
    put_items(endpoint, table, items)
    stack = write_stack_file(tmp_path / "stack.json", endpoint, table, arns)
    out = tmp_path / "r.json"
    invoke("audit", "--stack", str(stack), "--only", "AUD-024", "--format", "json", "-o", str(out))
    content = json.loads(out.read_text())["checks"][0]
    assert content["status"] == "SKIP", content
    assert "no content to compare" in content["detail"] and "3 items read" in content["detail"]


def test_segments_follow_the_table_size_as_aws_suggests():
    from slsops.audit.scan import default_segments

    gib = 1024**3
    assert default_segments(size_bytes=0) == 1  # an empty table
    assert default_segments(size_bytes=3 * gib) == 2  # one per 2 GB
    assert default_segments(size_bytes=100 * gib, workers=16) == 16  # capped by the workers
    assert default_segments(5_000_000) == 3  # no size reported: 1 KB per item
    assert default_segments(size_bytes=100 * gib, workers=0) == 1


def test_page_pipeline_judges_every_page_and_hands_back_errors():
    from slsops.audit.page_pipeline import PagePipeline

    seen = []
    pipeline = PagePipeline(seen.append)
    for n in range(20):
        pipeline.submit([{"n": n}])
    pipeline.close()
    assert [page[0]["n"] for page in seen] == list(range(20))

    def fail(_page):
        raise RuntimeError("judge broke")

    pipeline = PagePipeline(fail)
    pipeline.submit([{}])
    with pytest.raises(RuntimeError, match="judge broke"):
        pipeline.close()


def test_settle_window_defaults_to_zero_only_on_the_local_stack():
    """moto updates the index with the write; on AWS the index may lag, so recent items wait."""
    from types import SimpleNamespace

    from slsops.audit.options import INDEX_SETTLE_SECONDS
    from slsops.commands.audit import _settle_seconds

    assert INDEX_SETTLE_SECONDS > 0
    assert _settle_seconds(None, SimpleNamespace(is_local=True)) == 0
    assert _settle_seconds(None, SimpleNamespace(is_local=False)) == INDEX_SETTLE_SECONDS
    assert _settle_seconds(5, SimpleNamespace(is_local=True)) == 5


def test_the_runbook_table_names_every_kind_under_its_check():
    """The on-call page explains every violation kind the audit can report, by check id."""
    from pathlib import Path

    from slsops.audit.kinds import KINDS
    from slsops.checks.audit import DOC

    page = (Path(__file__).resolve().parent.parent / DOC).read_text(encoding="utf-8")
    rows = {
        tuple(cell.strip() for cell in line.strip("|").split("|")[:2])
        for line in page.splitlines()
        if line.startswith("| AUD-")
    }
    assert {(k.check_id, k.name) for k in KINDS} <= rows
