"""slsops drill against an in-process moto wrapped with the local stack's gaps (pitr gap on).

Both modes pass and leave nothing; a drill of an existing backup leaves that backup alone;
each DRL check is broken by the thing it reads and FAILs naming the cause: a copy-of-now
restore, a wrong-time restore, a tampered item, a missing marker, a dropped index, another
key, a setting no runbook step re-applies, a slow restore, an old restore point, a table left
behind; an entry TTL-expired since the point passes, one only the restore holds FAILs (the
drill placed the point) or WARNs (a point the user chose). The source is never changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from drill_support import (
    GUARD,
    ServiceCanaryWriter,
    drill_tables,
    invoke,
    moto_endpoint,
    seeded_source,
)
from log_table_support import client, log_item, put_items

from log_service import keys
from slsops.checks.drill import CHECKS, DrillContext
from slsops.contract import numbers
from slsops.drill import cleanup as drill_cleanup
from slsops.drill import index as drill_index
from slsops.drill import restore
from slsops.drill.checksum import item_hash
from slsops.drill.result import DrillOptions
from slsops.framework.runner import run_checks
from slsops.local.gaps import pitr


@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


@pytest.fixture()
def source(endpoint, tmp_path, monkeypatch):
    return seeded_source(endpoint, tmp_path, monkeypatch)


def run(stack, tmp_path, *extra: str, guard: str = GUARD):
    """Run a drill; return (exit code, {id: check}, report, evidence)."""
    report_path, evidence_path = tmp_path / "r.json", tmp_path / "evidence.json"
    code, out = invoke(
        "drill",
        "--stack",
        str(stack),
        "--guard-seconds",
        guard,
        "--format",
        "json",
        "--output",
        str(report_path),
        "--evidence",
        str(evidence_path),
        *extra,
    )
    assert report_path.exists(), out
    report = json.loads(report_path.read_text())
    found = {c["id"]: c for c in report["checks"]}
    return code, found, report, json.loads(evidence_path.read_text())


def status_of(found):
    return {k: v["status"] for k, v in found.items()}


def snapshot(endpoint, table):
    """Everything a drill could change on the source: items (checksum) and settings."""
    ddb = client(endpoint, "dynamodb")
    total = count = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            if item["service_name"]["S"] == keys.DRILL_SERVICE or item.get("log_id", {}).get(
                "S", ""
            ).startswith("drill-"):
                continue  # the drill's own canaries (written through the API)
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


@pytest.mark.parametrize("mode", ["pitr", "backup"])
def test_drill_passes_and_leaves_nothing(endpoint, source, tmp_path, mode):
    name, stack = source
    before = snapshot(endpoint, name)
    code, found, report, evidence = run(stack, tmp_path, "--mode", mode)
    statuses = status_of(found)
    assert code == 0, (report["drill"]["error"], found)
    assert statuses.pop("DRL-007") == "WARN"  # settings to re-apply are always listed
    assert set(statuses.values()) == {"PASS"}, found
    assert evidence["verdict"] == "pass"
    drill = evidence["drill"]
    assert drill["comparison"]["source"]["before"] == drill["comparison"]["restored"]["before"]
    assert drill["comparison"]["source"]["before"] == 30 + 3  # seeded + before-canaries
    assert drill["comparison"]["restored"]["markers"] == 30 + 3
    assert [c["phase"] for c in drill["canaries"]["canaries"]] == ["before"] * 3 + ["after"]
    assert drill["identity"]["canary_writer"] == ServiceCanaryWriter.identity
    assert drill["identity"]["operator"].startswith("arn:aws:")
    assert "secret" not in json.dumps(evidence).lower()
    steps = [s["name"] for s in drill["steps"]]
    expected = ["point", "canaries", "source-scan", "restore", "wait", "validate", "settings"]
    if mode == "pitr":
        expected.insert(2, "await-point")
    assert steps == [*expected, "cleanup"]
    assert 0 < drill["rpo_s"] < 30 and drill["rto_s"] > 0 and drill["source_scan_s"] > 0
    assert drill["restore_point"] < drill["incident_at"]
    assert drill_tables(endpoint, name) == []
    assert client(endpoint, "dynamodb").list_backups(TableName=name)["BackupSummaries"] == []
    assert json.loads((stack.parent / "drills.json").read_text()) == {"backups": {}, "tables": {}}
    assert snapshot(endpoint, name) == before


def _after_restore(hook):
    restore.AFTER_RESTORE_HOOKS.append(hook)


def _on_phase(phase, action):
    def hook(ddb, name, table):
        if name == phase:
            action(ddb, table)

    restore.PHASE_HOOKS.append(hook)


def _restored_items(ddb, table):
    return [i for p in ddb.get_paginator("scan").paginate(TableName=table) for i in p["Items"]]


def _seeded(items):
    return [
        i
        for i in items
        if i["service_name"]["S"].startswith("svc-") and "ingested_at" in i  # not canaries
    ]


@pytest.mark.breaks("DRL-011", "DRL-012")
@pytest.mark.parametrize("guard", [GUARD, "60"])
def test_a_copy_of_now_fails(endpoint, source, tmp_path, monkeypatch, guard):
    """Without the journal replay, moto's restore is a copy of the table as it is now.

    With the default 60 s guard the after-canary is inside the guard, yet its side of the
    point is known from its write, so DRL-012 still judges it.
    """
    name, stack = source
    monkeypatch.setattr(pitr, "replace_items", lambda _table, _state: None)
    code, found, _, _ = run(stack, tmp_path, guard=guard)
    assert code == 1
    assert found["DRL-011"]["status"] == "FAIL"
    assert "(after the point): entry present" in found["DRL-011"]["detail"]
    assert found["DRL-012"]["status"] == "FAIL"
    assert "ingested after" in found["DRL-012"]["detail"]
    assert drill_tables(endpoint, name) == []


@pytest.mark.breaks("DRL-011", "DRL-004")
def test_a_restore_to_the_wrong_time_fails(endpoint, source, tmp_path):
    """The restore call asks for a time after the seed but before the before-canaries."""
    time.sleep(4)  # room in the restorable window between the seed and the drill

    def earlier(ddb, _table):
        def shift(params, **_):
            params["RestoreDateTime"] = params["RestoreDateTime"] - timedelta(seconds=3.5)

        ddb.meta.events.register("provide-client-params.dynamodb.RestoreTableToPointInTime", shift)

    _on_phase("restore", earlier)
    code, found, _, _ = run(stack := source[1], tmp_path)
    assert stack and code == 1
    assert found["DRL-011"]["status"] == "FAIL"
    assert "(before the point): entry absent" in found["DRL-011"]["detail"]
    assert found["DRL-004"]["status"] == "FAIL"  # the before-canaries are entries too
    assert "not restored" in found["DRL-004"]["detail"]


@pytest.mark.breaks("DRL-005")
def test_a_tampered_restored_item_fails(endpoint, source, tmp_path):
    def tamper(ddb, table):
        item = _seeded(_restored_items(ddb, table))[0]
        ddb.put_item(TableName=table, Item={**item, "message": {"S": "tampered"}})
        tampered.append(f"{item['service_name']['S']}/{item['sk']['S']}")

    tampered: list[str] = []
    _after_restore(tamper)
    code, found, _, _ = run(source[1], tmp_path)
    assert code == 1
    assert found["DRL-005"]["status"] == "FAIL"
    assert tampered[0] in found["DRL-005"]["detail"]
    assert found["DRL-004"]["status"] == "PASS"
    assert drill_tables(endpoint, source[0]) == []


@pytest.mark.breaks("DRL-004")
def test_a_missing_marker_fails(endpoint, source, tmp_path):
    def drop_marker(ddb, table):
        item = _seeded(_restored_items(ddb, table))[0]
        key = {k: {"S": v} for k, v in keys.marker_key(item["log_id"]["S"]).items()}
        ddb.delete_item(TableName=table, Key=key)

    _after_restore(drop_marker)
    code, found, _, _ = run(source[1], tmp_path)
    assert code == 1
    assert found["DRL-004"]["status"] == "FAIL"
    assert "1 markers" in found["DRL-004"]["detail"]
    assert found["DRL-004"]["evidence"]["missing_markers"]["count"] == 1


@pytest.mark.breaks("DRL-004")
def test_a_lone_marker_missing_from_the_restore_fails(endpoint, source, tmp_path):
    """A marker whose write stopped before its log item (claimed before the point) is part of
    what the source held: a restore without it is not complete."""
    name, stack = source
    item, marker = log_item(service="svc-interrupted")
    put_items(endpoint, name, [{**marker, "ingested_at": item["ingested_at"]}])
    marker_key = {k: {"S": v} for k, v in keys.marker_key(item["log_id"]).items()}
    _after_restore(lambda ddb, table: ddb.delete_item(TableName=table, Key=marker_key))
    code, found, _, _ = run(stack, tmp_path)
    assert code == 1
    assert found["DRL-004"]["status"] == "FAIL", found["DRL-004"]
    assert found["DRL-004"]["evidence"]["missing_markers"]["keys"] == [
        f"{keys.MARKER_PREFIX}{item['log_id']}/{keys.MARKER_SORT_KEY}"
    ]


def test_an_entry_stamped_in_the_future_is_not_judged_after_the_point(endpoint, source, tmp_path):
    """An entry whose ingested_at is beyond the drill's end (a skewed or forged clock) was
    written before the point here: the restore holding it is right, not 'after the point'."""
    name, stack = source
    item, marker = log_item(service="svc-skewed", ingested=datetime(2099, 1, 1, tzinfo=UTC))
    put_items(endpoint, name, [item, marker])
    code, found, _, evidence = run(stack, tmp_path)
    assert found["DRL-012"]["status"] != "FAIL", found["DRL-012"]
    assert code == 0, found
    assert evidence["drill"]["comparison"]["source"]["unplaced"] == 1


def _delete_from(endpoint, table, items):
    ddb = client(endpoint, "dynamodb")
    for item in items:
        key = {"service_name": {"S": item["service_name"]}, "sk": {"S": item["sk"]}}
        ddb.delete_item(TableName=table, Key=key)


def _keys(*items):
    return sorted(f"{i['service_name']}/{i['sk']}" for i in items)


def test_an_entry_ttl_expired_since_the_point_passes(endpoint, source, tmp_path):
    """DynamoDB's TTL deleted an entry expired before the drill began from the source after
    the point: explained, not failed."""
    name, stack = source
    expired_item, expired_marker = log_item(
        service="svc-old", ingested=datetime.now(UTC) - timedelta(days=3), retention_days=1
    )
    put_items(endpoint, name, [expired_item, expired_marker])
    _on_phase(
        "source-scan", lambda *_: _delete_from(endpoint, name, [expired_item, expired_marker])
    )
    code, found, _, _ = run(stack, tmp_path)
    assert code == 0, found
    assert found["DRL-004"]["status"] == found["DRL-005"]["status"] == "PASS"
    assert found["DRL-004"]["evidence"]["lost_since"] == {"ttl_expired": 2}
    assert "2 entries and markers TTL-expired since" in found["DRL-004"]["detail"]


@pytest.mark.breaks("DRL-005")
def test_an_entry_only_the_restore_holds_fails_when_the_drill_placed_the_point(
    endpoint, source, tmp_path
):
    """The service never deletes and the point is seconds old: an entry (not TTL-expired)
    that the restore holds and the source does not was made up by the restore."""
    name, stack = source
    gone_item, gone_marker = log_item(service="svc-gone")
    put_items(endpoint, name, [gone_item, gone_marker])
    _on_phase("source-scan", lambda *_: _delete_from(endpoint, name, [gone_item, gone_marker]))
    code, found, _, _ = run(stack, tmp_path)
    assert code == 1, found
    assert found["DRL-005"]["status"] == "FAIL", found["DRL-005"]
    assert found["DRL-005"]["evidence"]["restore_only"]["keys"] == _keys(gone_item, gone_marker)


def test_an_entry_deleted_since_a_chosen_point_warns(endpoint, source, tmp_path):
    """Since an existing backup an operator may have deleted an entry: WARN naming it."""
    name, stack = source
    gone_item, gone_marker = log_item(service="svc-gone")
    put_items(endpoint, name, [gone_item, gone_marker])
    ddb = client(endpoint, "dynamodb")
    arn = ddb.create_backup(TableName=name, BackupName="before-delete")["BackupDetails"][
        "BackupArn"
    ]
    _delete_from(endpoint, name, [gone_item, gone_marker])
    _, found, _, _ = run(stack, tmp_path, "--mode", "backup", "--backup-arn", arn)
    assert found["DRL-005"]["status"] == "WARN", found["DRL-005"]
    assert found["DRL-005"]["evidence"]["restore_only"]["keys"] == _keys(gone_item, gone_marker)
    assert "deletions log" in found["DRL-005"]["detail"]
    assert found["DRL-004"]["status"] == "PASS", found["DRL-004"]


@pytest.mark.breaks("DRL-001")
def test_pitr_off_means_no_restore(endpoint, source, tmp_path):
    name, stack = source
    client(endpoint, "dynamodb").update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    code, found, _, evidence = run(stack, tmp_path)
    assert code == 1
    assert found["DRL-001"]["status"] == "FAIL"
    assert "point-in-time recovery is not enabled" in found["DRL-001"]["detail"]
    assert found["DRL-010"]["status"] == "SKIP"  # nothing was created
    assert evidence["verdict"] == "fail"


@pytest.mark.breaks("DRL-002")
def test_a_dropped_index_fails_the_schema(endpoint, source, tmp_path):
    def drop_index(ddb, table):
        ddb.update_table(
            TableName=table,
            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": keys.DEFAULT_INDEX_NAME}}],
        )

    _after_restore(drop_index)
    code, found, _, _ = run(source[1], tmp_path)
    assert code == 1
    assert found["DRL-002"]["status"] == "FAIL"
    assert keys.DEFAULT_INDEX_NAME in found["DRL-002"]["detail"]
    assert found["DRL-006"]["status"] == "FAIL"  # no index to compare: not a SKIP
    assert f"no index {keys.DEFAULT_INDEX_NAME}" in found["DRL-006"]["detail"]


@pytest.mark.breaks("DRL-003")
def test_a_restore_under_another_key_fails(endpoint, source, tmp_path):
    other_key = client(endpoint, "kms").create_key()["KeyMetadata"]["Arn"]

    def other_sse(ddb, _table):
        def override(params, **_):
            params["SSESpecificationOverride"] = {
                "Enabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": other_key,
            }

        ddb.meta.events.register(
            "provide-client-params.dynamodb.RestoreTableToPointInTime", override
        )

    _on_phase("restore", other_sse)
    code, found, _, _ = run(source[1], tmp_path)
    assert code == 1
    assert found["DRL-003"]["status"] == "FAIL"
    assert other_key in found["DRL-003"]["detail"]


@pytest.mark.breaks("DRL-006")
def test_entries_the_index_does_not_serve_fail(endpoint, source, tmp_path):
    def move_shards(ddb, table):
        for item in _seeded(_restored_items(ddb, table)):
            ddb.update_item(
                TableName=table,
                Key={"service_name": item["service_name"], "sk": item["sk"]},
                UpdateExpression="SET gsi_shard = :s",
                ExpressionAttributeValues={":s": {"N": "999"}},
            )

    _after_restore(move_shards)
    code, found, _, _ = run(source[1], tmp_path)
    assert code == 1
    assert found["DRL-006"]["status"] == "FAIL"
    assert "missing" in found["DRL-006"]["detail"]


def _index_scans_seen_as(monkeypatch, change):
    """Scans of the restored index (the drill scans no other) return what
    ``change(items, scan number)`` makes of each page: moto derives its index from the
    table, so an index that differs from it is planted here. Returns the scan counter."""
    real = drill_index.parallel_scan
    scans = {"n": 0}

    def scan(client, table, segments, threads, on_page, **kwargs):
        if not kwargs.get("index_name"):
            return real(client, table, segments, threads, on_page, **kwargs)
        scans["n"] += 1
        number = scans["n"]
        return real(
            client, table, segments, threads, lambda items: on_page(change(items, number)),
            **kwargs,
        )  # fmt: skip

    monkeypatch.setattr(drill_index, "parallel_scan", scan)
    monkeypatch.setattr(drill_index, "RESCAN_PAUSE_S", 0.0)
    return scans


@pytest.mark.breaks("DRL-006")
def test_an_index_lacking_an_item_or_holding_a_changed_copy_fails(
    endpoint, source, tmp_path, monkeypatch
):
    """Every index scan (the re-scan and the naming pass too) lacks one seeded entry and holds
    another changed: the sampled reads miss both, the index comparison names both."""
    name, stack = source
    planted: dict[str, str] = {}

    def tamper(items, _number):
        kept = []
        for item in items:
            key = f"{item['service_name']['S']}/{item['sk']['S']}"
            if item["service_name"]["S"].startswith("svc-") and "ingested_at" in item:
                if planted.setdefault("missing", key) == key:
                    continue  # the index lacks it
                if planted.setdefault("differing", key) == key:
                    item = {**item, "message": {"S": "changed in the index"}}
            kept.append(item)
        return kept

    scans = _index_scans_seen_as(monkeypatch, tamper)
    code, found, _, _ = run(stack, tmp_path)
    check = found["DRL-006"]
    assert code == 1, found
    assert check["status"] == "FAIL", check
    assert check["evidence"]["missing"]["keys"] == [planted["missing"]]
    assert check["evidence"]["differing"]["keys"] == [planted["differing"]]
    assert check["evidence"]["index_only"]["count"] == 0
    assert check["evidence"]["scans"] == 2  # judged only after one re-scan
    assert scans["n"] == 3  # two tallies and the pass naming the keys
    assert "1 missing from the index, 1 differing" in check["detail"]
    assert found["DRL-004"]["status"] == found["DRL-005"]["status"] == "PASS"
    assert drill_tables(endpoint, name) == []


def test_an_index_that_catches_up_by_the_re_scan_passes(endpoint, source, tmp_path, monkeypatch):
    """A scan of a global index is eventually consistent on AWS: a first scan short of an
    item is looked at again before it counts."""
    _, stack = source
    scans = _index_scans_seen_as(
        monkeypatch, lambda items, number: items[1:] if number == 1 else items
    )
    code, found, _, _ = run(stack, tmp_path)
    check = found["DRL-006"]
    assert code == 0, found
    assert check["status"] == "PASS", check
    assert check["evidence"]["scans"] == 2 and scans["n"] == 2
    assert check["evidence"]["table"] == check["evidence"]["index_scan"]
    assert check["evidence"]["table"]["count"] == 30 + 3  # seeded + before-canaries


@pytest.mark.breaks("DRL-007")
def test_a_setting_no_step_reapplies_fails(endpoint, source, tmp_path):
    def provisioned(ddb, table):
        ddb.update_table(
            TableName=table,
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )

    _after_restore(provisioned)
    code, found, _, _ = run(source[1], tmp_path)
    assert code == 1
    assert found["DRL-007"]["status"] == "FAIL"
    assert "billing mode PAY_PER_REQUEST != restored PROVISIONED" in found["DRL-007"]["detail"]


def _options(**overrides):
    values = {
        "mode": "pitr",
        "restore_time": None,
        "timeout_s": 60,
        "keep": False,
        "guard_s": 0.5,
        "segments": 1,
        "threads": 1,
        "index_name": keys.DEFAULT_INDEX_NAME,
    }
    return DrillOptions(**{**values, **overrides})


def _still_creating(ddb, name, polls):
    """The restored table reports CREATING for ``polls`` DescribeTable calls (a slow restore)."""
    left = {"n": polls}

    def creating(parsed, **_):
        table = parsed.get("Table") or {}
        if table.get("TableName", "").startswith(f"{name}-drill-") and left["n"] > 0:
            left["n"] -= 1
            table["TableStatus"] = "CREATING"

    ddb.meta.events.register("after-call.dynamodb.DescribeTable", creating)


@pytest.mark.breaks("DRL-008")
@pytest.mark.parametrize(
    ("tolerance", "status"), [(0.0, "FAIL"), (3600.0, "WARN")], ids=["beyond", "within-tolerance"]
)
def test_a_restore_slower_than_the_rto_fails(endpoint, source, monkeypatch, tolerance, status):
    name, stack = source
    ddb = client(endpoint, "dynamodb")
    _still_creating(ddb, name, polls=3)
    monkeypatch.setattr(restore, "POLL_SECONDS", 0.4)
    goals = numbers.Objectives(rto_s=1.0, rto_tolerance_s=tolerance)
    result = restore.run_drill(
        ddb,
        name,
        _options(objectives=goals),
        drill_cleanup.DrillRecord.beside(stack),
        ServiceCanaryWriter(endpoint, name),
    )
    verdicts = {v.id: v for v in run_checks(CHECKS, DrillContext(result))}
    assert result.rto_s > 1.0
    assert verdicts["DRL-008"].status == status
    assert "RTO" in verdicts["DRL-008"].detail and "> 1 s" in verdicts["DRL-008"].detail
    assert verdicts["DRL-004"].status == "PASS"


@pytest.mark.breaks("DRL-009")
def test_a_restore_point_older_than_the_rpo_fails(endpoint, source, tmp_path):
    """PITR has been on for 10 minutes; the drill restores to a point 400 s before now."""
    name, stack = source
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends["123456789012"]["us-east-1"].tables[name]
    where = ("123456789012", "us-east-1", name)
    pitr.JOURNALS.drop(where)
    journal = pitr.JOURNALS.ensure(where, table)  # baseline: the seeded table
    journal.baseline_time -= 600
    table.continuous_backups["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"] = (
        journal.baseline_time
    )
    point = (datetime.now(UTC) - timedelta(seconds=400)).isoformat()
    code, found, report, _ = run(stack, tmp_path, "--restore-time", point)
    assert code == 1, found
    assert found["DRL-009"]["status"] == "FAIL"
    assert "RPO 4" in found["DRL-009"]["detail"] and "> 300 s + 30 s" in found["DRL-009"]["detail"]
    assert found["DRL-004"]["status"] == "PASS" and found["DRL-011"]["status"] == "PASS"
    assert [c["phase"] for c in report["drill"]["canaries"]["canaries"]] == ["after"]


@pytest.mark.breaks("DRL-010")
def test_a_table_left_creating_fails_and_cleanup_removes_it(endpoint, source, monkeypatch):
    """On AWS a table still CREATING cannot be deleted: the drill records it for cleanup."""
    name, stack = source
    ddb = client(endpoint, "dynamodb")
    _still_creating(ddb, name, polls=10_000)
    monkeypatch.setattr(restore, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(drill_cleanup, "POLL_SECONDS", 0.05)
    record = drill_cleanup.DrillRecord.beside(stack)
    result = restore.run_drill(
        ddb, name, _options(timeout_s=8), record, ServiceCanaryWriter(endpoint, name)
    )
    assert "timeout" in result.error
    verdicts = {v.id: v for v in run_checks(CHECKS, DrillContext(result))}
    assert verdicts["DRL-010"].status == "FAIL"
    assert "left in CREATING" in verdicts["DRL-010"].detail
    assert list(record.load()["tables"]) == [result.drill_table]
    code, out = invoke("drill", "cleanup", "--stack", str(stack))
    assert code == 0 and f"table {result.drill_table}: deleted" in out
    assert drill_tables(endpoint, name) == [] and record.load()["tables"] == {}


def test_a_drill_of_an_existing_backup_leaves_it_alone(endpoint, source, tmp_path):
    name, stack = source
    ddb = client(endpoint, "dynamodb")
    arn = ddb.create_backup(TableName=name, BackupName="before-release")["BackupDetails"][
        "BackupArn"
    ]
    code, found, report, _ = run(stack, tmp_path, "--mode", "backup", "--backup-arn", arn)
    assert code == 0, found
    drill = report["drill"]
    assert drill["backup_arn"] == arn and drill["backup_origin"] == "existing"
    assert found["DRL-011"]["status"] == "PASS"  # the after-canary is not in the backup
    assert drill["cleanup"] == {"table": "deleted"}
    assert [b["BackupArn"] for b in ddb.list_backups(TableName=name)["BackupSummaries"]] == [arn]
    assert drill_tables(endpoint, name) == []


def test_keep_lists_the_table_and_the_fresh_backup(endpoint, source, tmp_path):
    name, stack = source
    code, found, report, _ = run(stack, tmp_path, "--mode", "backup", "--keep")
    assert code == 0, found
    drill = report["drill"]
    assert drill["kept"] == [drill["drill_table"], drill["backup_arn"]]
    assert found["DRL-010"]["status"] == "WARN"
    assert drill["drill_table"] in found["DRL-010"]["detail"]
    assert drill["backup_arn"] in found["DRL-010"]["detail"]
    code, out = invoke("drill", "--stack", str(stack), "cleanup")  # --stack before the subcommand
    assert code == 0, out
    assert f"table {drill['drill_table']}: deleted" in out
    assert f"backup {drill['backup_arn']}: deleted" in out
    assert drill_tables(endpoint, name) == []


def test_usage_errors_are_exit_2(endpoint, source):
    _, stack = source
    code, error = invoke("drill", "--stack", str(stack), "--restore-time", "2001-01-01T00:00:00Z")
    assert code == 2 and "outside the restorable window" in error
    assert invoke("drill", "--stack", str(stack), "--restore-time", "yesterday")[0] == 2
    assert invoke("drill", "--stack", str(stack), "--mode", "snapshot")[0] == 2
    code, error = invoke("drill", "--stack", str(stack), "--backup-arn", "arn:x")
    assert code == 2 and "--mode backup" in error
    for forever in ("inf", "86401"):  # a drill that may wait for ever never reports
        code, error = invoke("drill", "--stack", str(stack), "--timeout", forever)
        assert code == 2 and "--timeout" in error


def test_a_table_that_is_not_the_stack_files_is_not_drilled(endpoint, source, tmp_path):
    """The stack file names the table by ARN (account and region): a table of the same name
    that the credentials reach elsewhere (another account, a copy) is not the deployment's,
    and a PASS on it would be recorded as the deployment's."""
    name, stack = source
    outputs = json.loads(stack.read_text())
    real = outputs["table_arn"]["value"]
    parts = real.split(":")
    parts[4] = "999999999999"  # the deployment lives in another account
    outputs["table_arn"]["value"] = ":".join(parts)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(outputs))
    code, error = invoke("drill", "--stack", str(elsewhere))
    assert code == 3, error
    assert real in error and ":".join(parts) in error
    assert drill_tables(endpoint, name) == []


def _table_spec(ddb, name):
    spec = ddb.describe_table(TableName=name)["Table"]
    return {
        "KeySchema": spec["KeySchema"],
        "AttributeDefinitions": [
            a for a in spec["AttributeDefinitions"] if a["AttributeName"] != "gsi_shard"
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def test_two_drills_started_together_on_one_source_both_pass_and_leave_nothing(endpoint, source):
    """Two on-call engineers (or the suite's stage) at once: one second, two names, one record."""
    name, stack = source
    record = drill_cleanup.DrillRecord.beside(stack)
    ready = threading.Barrier(2)

    def drill(mode: str):
        ready.wait(timeout=30)
        return restore.run_drill(
            client(endpoint, "dynamodb"), name, _options(mode=mode), record,
            ServiceCanaryWriter(endpoint, name),
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=2) as pool:
        pitr_drill, backup_drill = pool.map(drill, ["pitr", "backup"])
    for result in (pitr_drill, backup_drill):
        assert not result.error, result.error
        verdicts = {v.id: v.status for v in run_checks(CHECKS, DrillContext(result))}
        assert verdicts.pop("DRL-007") == "WARN"
        assert set(verdicts.values()) == {"PASS"}, verdicts
    assert pitr_drill.drill_table != backup_drill.drill_table
    assert drill_tables(endpoint, name) == [] and record.load() == {"tables": {}, "backups": {}}


RECORD_WRITER = """
import sys
from pathlib import Path
from slsops.drill.cleanup import DrillRecord

record = DrillRecord(Path(sys.argv[1]))
for n in range(int(sys.argv[3])):
    record.intend_table(f"{sys.argv[2]}-{n}", "src", "now")
"""


def test_the_record_loses_no_entry_when_processes_write_it_at_once(tmp_path):
    path = tmp_path / drill_cleanup.RECORD_NAME
    writers = [
        subprocess.Popen([sys.executable, "-c", RECORD_WRITER, str(path), who, "40"])  # noqa: S603 - our own script
        for who in ("a", "b", "c")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    tables = drill_cleanup.DrillRecord(path).load()["tables"]
    assert len(tables) == 120 and {n.split("-")[0] for n in tables} == {"a", "b", "c"}


def test_two_drill_names_in_one_second_differ():
    moment = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    names = {drill_cleanup.drill_name("logs", moment) for _ in range(50)}
    assert len(names) == 50
    assert all(drill_cleanup.is_drill_name(n, "logs") for n in names)
    assert all(n.startswith("logs-drill-20260301T101500Z-") for n in names)


def test_cleanup_removes_only_what_a_drill_recorded_or_tagged(endpoint, source, tmp_path):
    """A person's table and backup with drill-like names are never touched."""
    name, stack = source
    ddb = client(endpoint, "dynamodb")
    common = _table_spec(ddb, name)
    tagged = f"{name}-drill-20200101T000000Z"
    persons_table = f"{name}-drill-20200202T000000Z"
    ddb.create_table(TableName=tagged, Tags=drill_cleanup.drill_tags(name, "x"), **common)
    ddb.create_table(TableName=persons_table, **common)
    persons_backup = ddb.create_backup(TableName=name, BackupName=f"{name}-drill-20200101T000000Z")
    record = drill_cleanup.DrillRecord.beside(stack)
    record.intend_backup(f"{name}-drill-20210101T000000Z", name, "x")
    recorded = ddb.create_backup(TableName=name, BackupName=f"{name}-drill-20210101T000000Z")
    recorded_arn = recorded["BackupDetails"]["BackupArn"]

    code, out = invoke("drill", "cleanup", "--stack", str(stack), "--dry-run")
    assert code == 0 and f"table {tagged}: would delete (tagged)" in out
    assert f"backup {recorded_arn}: would delete" in out
    assert persons_table not in out and persons_backup["BackupDetails"]["BackupArn"] not in out
    assert sorted(drill_tables(endpoint, name)) == sorted([tagged, persons_table])

    code, out = invoke("drill", "cleanup", "--stack", str(stack))
    assert code == 0, out
    assert drill_tables(endpoint, name) == [persons_table]
    left = [b["BackupArn"] for b in ddb.list_backups(TableName=name)["BackupSummaries"]]
    assert left == [persons_backup["BackupDetails"]["BackupArn"]]
    assert record.load() == {"tables": {}, "backups": {}}
    ddb.delete_table(TableName=persons_table)


def test_a_recorded_intent_not_yet_created_is_kept_for_later(endpoint, source, monkeypatch):
    """The restore call was cut short: cleanup must not forget a table AWS may still create."""
    name, stack = source
    record = drill_cleanup.DrillRecord.beside(stack)
    pending = f"{name}-drill-20300101T000000Z"
    record.intend_table(pending, name, "x")
    code, out = invoke("drill", "cleanup", "--stack", str(stack))
    assert code == 1 and f"table {pending}: not created yet" in out
    assert pending in record.load()["tables"]
    monkeypatch.setattr(drill_cleanup, "INTENT_EXPIRY_S", -1.0)
    code, out = invoke("drill", "cleanup", "--stack", str(stack))
    assert code == 0 and f"table {pending}: never created" in out
    assert record.load()["tables"] == {}


@pytest.mark.parametrize("text", ["99999999999999999999", "inf", "-1e20", "nan"])
def test_a_restore_time_out_of_range_is_a_usage_error(text: str) -> None:
    """Epoch seconds no datetime holds ended in 'unexpected error: OverflowError' (exit 1)."""
    from slsops.drill.result import parse_restore_time
    from slsops.errors import UsageError

    with pytest.raises(UsageError, match="--restore-time"):
        parse_restore_time(text)


def test_a_restore_time_in_epoch_seconds_or_iso_8601_is_read() -> None:
    from slsops.drill.result import parse_restore_time

    moment = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert parse_restore_time(str(int(moment.timestamp()))) == moment
    assert parse_restore_time("2026-01-31T12:00:00Z") == moment
    assert parse_restore_time("  ") is None
