"""slsops drill against an in-process moto wrapped with the local stack's gaps (pitr gap on).

Both modes pass; writes after the restore point are not restored; the drill table is removed
on an injected failure and on Ctrl-C; a corrupted restored item fails the drill; leftovers are
removed by `drill cleanup`; the source table is never changed (checksum and settings compared
before and after).
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime

import pytest
from log_table_support import client, create_log_table, log_item, put_items, seed, write_stack_file
from typer.testing import CliRunner

from slsops.cli import app
from slsops.drill import cleanup as drill_cleanup
from slsops.drill import restore
from slsops.drill.checksum import item_hash
from slsops.errors import SlsopsError
from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.gaps import pitr

LAG = 1.0
SOURCE_NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def endpoint():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(pitr.LAG_ENV, str(LAG))
        with serve_in_thread(build_moto_app()) as url:
            yield url


@pytest.fixture()
def source(endpoint, tmp_path, request):
    """A seeded source table (30 entries) past the PITR lag, and its stack file."""
    name = f"src-{next(SOURCE_NUMBERS)}"
    arns = create_log_table(endpoint, name)
    seed(endpoint, name, 30)
    time.sleep(LAG + 0.3)
    return name, write_stack_file(tmp_path / "stack.json", endpoint, name, arns)


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, SlsopsError):
        return result.exception.exit_code, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def snapshot(endpoint, table):
    """Everything a drill could change on the source: items (checksum) and settings."""
    ddb = client(endpoint, "dynamodb")
    total = count = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            total, count = total + item_hash(item), count + 1
    desc = ddb.describe_table(TableName=table)["Table"]
    return {
        "count": count,
        "checksum": total % 2**256,
        "sse": desc.get("SSEDescription"),
        "protection": desc.get("DeletionProtectionEnabled"),
        "gsi": [g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])],
        "ttl": ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"],
        "pitr": ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"][
            "PointInTimeRecoveryDescription"
        ]["PointInTimeRecoveryStatus"],
        "tags": ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"],
    }


def drill_tables(endpoint, name):
    names = client(endpoint, "dynamodb").list_tables()["TableNames"]
    return [t for t in names if drill_cleanup.is_drill_name(t, name)]


def statuses(report_path):
    report = json.loads(report_path.read_text())
    return {c["id"]: c["status"] for c in report["checks"]}, report


@pytest.mark.parametrize("mode", ["pitr", "backup"])
def test_drill_passes_and_leaves_nothing(endpoint, source, tmp_path, mode):
    name, stack = source
    before = snapshot(endpoint, name)
    report_path, evidence_path = tmp_path / "r.json", tmp_path / "evidence.json"
    code, out = invoke(
        "drill",
        "--stack",
        str(stack),
        "--mode",
        mode,
        "--format",
        "json",
        "--output",
        str(report_path),
        "--evidence",
        str(evidence_path),
    )
    found, report = statuses(report_path)
    assert code == 0, (out, report["drill"]["error"], found)
    assert found.pop("DRL-007") == "WARN"  # settings to re-apply are always listed
    assert set(found.values()) == {"PASS"}
    evidence = json.loads(evidence_path.read_text())
    drill = evidence["drill"]
    assert drill["source"]["count"] == drill["restored"]["count"] == 30
    assert drill["source"]["checksum"] == drill["restored"]["checksum"]
    assert [s["name"] for s in drill["steps"]] == [
        "point",
        "record",
        "restore",
        "wait",
        "validate",
        "settings",
        "cleanup",
    ]
    assert evidence["verdicts"]["DRL-005"]["status"] == "PASS"
    reapply = {s["setting"] for s in drill["not_carried_over"]}
    assert {"Point-in-time recovery", "Deletion protection", "IAM policies"} <= reapply
    assert any(s.startswith("Time to live") for s in reapply)
    assert any(s.startswith("Tags") for s in reapply)
    assert drill_tables(endpoint, name) == []
    assert client(endpoint, "dynamodb").list_backups(TableName=name)["BackupSummaries"] == []
    assert json.loads((stack.parent / "drills.json").read_text()) == {"backups": {}, "tables": {}}
    assert snapshot(endpoint, name) == before


def test_writes_after_the_point_are_not_restored(endpoint, source, tmp_path):
    name, stack = source
    ddb = client(endpoint, "dynamodb")
    pitr_desc = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    point = pitr_desc["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]
    time.sleep(0.1)
    late = [log_item(service="late", ingested=datetime.now(UTC)) for _ in range(5)]
    put_items(endpoint, name, [x for pair in late for x in pair])
    report_path = tmp_path / "r.json"
    code, out = invoke(
        "drill",
        "--stack",
        str(stack),
        "--restore-time",
        point.isoformat(),
        "--keep",
        "--format",
        "json",
        "--output",
        str(report_path),
    )
    found, report = statuses(report_path)
    assert code == 0, (out, report["drill"]["error"], found)
    assert found["DRL-010"] == "WARN"  # kept as asked
    kept = report["drill"]["drill_table"]
    restored = [i for p in ddb.get_paginator("scan").paginate(TableName=kept) for i in p["Items"]]
    services = {i["service_name"]["S"] for i in restored}
    assert "late" not in services and len(restored) == 60  # 30 items + 30 markers
    code, out = invoke("drill", "cleanup", "--stack", str(stack))
    assert code == 0 and f"table {kept}: deleted" in out
    assert drill_tables(endpoint, name) == []


def test_injected_failure_still_deletes_the_drill_table(endpoint, source, tmp_path, monkeypatch):
    name, stack = source
    before = snapshot(endpoint, name)

    def fail(_client, table):
        raise RuntimeError(f"injected failure on {table}")

    monkeypatch.setattr(restore, "AFTER_RESTORE_HOOKS", [fail])
    report_path = tmp_path / "r.json"
    code, _ = invoke(
        "drill", "--stack", str(stack), "--format", "json", "--output", str(report_path)
    )
    found, report = statuses(report_path)
    assert code == 1
    assert "injected failure" in report["drill"]["error"]
    assert found["DRL-001"] == "PASS" and found["DRL-004"] == "FAIL" and found["DRL-010"] == "PASS"
    assert drill_tables(endpoint, name) == []
    assert snapshot(endpoint, name) == before


def test_ctrl_c_still_deletes_the_drill_table(endpoint, source, monkeypatch):
    name, stack = source

    def interrupt(_client, _table):
        raise KeyboardInterrupt

    monkeypatch.setattr(restore, "AFTER_RESTORE_HOOKS", [interrupt])
    options = restore.DrillOptions(
        mode="pitr",
        restore_time=None,
        timeout_s=60,
        keep=False,
        guard_s=60,
        segments=1,
        threads=1,
        index_name="all-services-newest",
    )
    record = drill_cleanup.DrillRecord.beside(stack)
    with pytest.raises(KeyboardInterrupt):
        restore.run_drill(client(endpoint, "dynamodb"), name, options, record)
    assert drill_tables(endpoint, name) == []
    assert record.load()["tables"] == {}


def test_corrupted_restored_item_fails_the_drill(endpoint, source, tmp_path, monkeypatch):
    name, stack = source

    def corrupt(ddb, table):
        item = next(
            i
            for i in ddb.scan(TableName=table)["Items"]
            if not i["service_name"]["S"].startswith("#")
        )
        ddb.put_item(TableName=table, Item={**item, "message": {"S": "tampered"}})

    monkeypatch.setattr(restore, "AFTER_RESTORE_HOOKS", [corrupt])
    report_path = tmp_path / "r.json"
    code, _ = invoke(
        "drill", "--stack", str(stack), "--format", "json", "--output", str(report_path)
    )
    found, _ = statuses(report_path)
    assert code == 1
    assert found["DRL-004"] == "PASS" and found["DRL-005"] == "FAIL"
    assert drill_tables(endpoint, name) == []


def test_restore_time_outside_the_window_is_exit_2(endpoint, source):
    _, stack = source
    code, error = invoke("drill", "--stack", str(stack), "--restore-time", "2001-01-01T00:00:00Z")
    assert code == 2 and "outside the restorable window" in error
    assert invoke("drill", "--stack", str(stack), "--restore-time", "yesterday")[0] == 2
    assert invoke("drill", "--stack", str(stack), "--mode", "snapshot")[0] == 2


def test_cleanup_removes_tagged_leftovers_and_backups_only(endpoint, source):
    name, stack = source
    ddb = client(endpoint, "dynamodb")
    spec = ddb.describe_table(TableName=name)["Table"]
    common = {
        "KeySchema": spec["KeySchema"],
        "AttributeDefinitions": [
            a for a in spec["AttributeDefinitions"] if a["AttributeName"] != "gsi_shard"
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    tagged = f"{name}-drill-20200101T000000Z"
    untagged = f"{name}-drill-manual-copy"
    ddb.create_table(TableName=tagged, Tags=drill_cleanup.drill_tags(name, "x"), **common)
    ddb.create_table(TableName=untagged, **common)
    backup = ddb.create_backup(TableName=name, BackupName=f"{name}-drill-20200101T000000Z")
    code, out = invoke("drill", "cleanup", "--stack", str(stack))
    assert code == 0, out
    assert drill_tables(endpoint, name) == [untagged]  # neither recorded nor tagged: kept
    assert ddb.list_backups(TableName=name)["BackupSummaries"] == []
    assert backup["BackupDetails"]["BackupArn"] in out
    assert name in ddb.list_tables()["TableNames"]
    ddb.delete_table(TableName=untagged)


def test_timeout_leaves_a_recorded_table_that_cleanup_removes(endpoint, source, monkeypatch):
    """On AWS a table still CREATING cannot be deleted: the drill records it for cleanup."""
    name, stack = source
    ddb = client(endpoint, "dynamodb")

    def still_creating(parsed, **_):
        table = parsed.get("Table") or {}
        if drill_cleanup.is_drill_name(table.get("TableName", ""), name):
            table["TableStatus"] = "CREATING"

    ddb.meta.events.register("after-call.dynamodb.DescribeTable", still_creating)
    monkeypatch.setattr(restore, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(drill_cleanup, "POLL_SECONDS", 0.05)
    options = restore.DrillOptions(
        mode="pitr",
        restore_time=None,
        timeout_s=1,
        keep=False,
        guard_s=60,
        segments=1,
        threads=1,
        index_name="all-services-newest",
    )
    record = drill_cleanup.DrillRecord.beside(stack)
    result = restore.run_drill(ddb, name, options, record)
    assert "timeout" in result.error
    assert result.cleanup["table"].startswith("left in CREATING")
    assert list(record.load()["tables"]) == [result.drill_table]
    assert drill_tables(endpoint, name) == [result.drill_table]
    code, out = invoke("drill", "cleanup", "--stack", str(stack))
    assert code == 0 and f"table {result.drill_table}: deleted" in out
    assert drill_tables(endpoint, name) == [] and record.load()["tables"] == {}
