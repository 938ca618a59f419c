"""``slsops audit --from-export``: the same rules over a point-in-time export, same findings.

The planted table of test_audit.py is audited twice in one moto: by a scan and from an export
(ExportTableToPointInTime into moto's S3, judged with DuckDB); both give the same violations,
key for key, apart from the index checks, which an export cannot hold (SKIP with the reason).

The Athena path is tested through a stub Athena client (``AthenaOnDuckDB``): it records the
DDL the runner sends (the export registered as a table, the relation as a view), builds the
view in DuckDB from the registered S3 location with DuckDB's own projection, and runs the
rule queries the runner sends, unchanged, returning Athena-shaped result pages. What it
proves: the runner registers the export where the export is, runs every shared rule query and
reads Athena's answers (paging, NULLs) into the same findings. What it cannot prove: that the
Athena-dialect DDL and projection run on AWS Athena.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from log_table_support import (
    client,
    create_log_table,
    planted,
    put_items,
    reserved_corruptions,
    seed,
    write_stack_file,
)
from test_audit import audit_to, invoke, read_violations

from slsops.audit import export, relation
from slsops.audit.athena import AthenaRules
from slsops.audit.kinds import KINDS_BY_NAME
from slsops.audit.options import AuditOptions
from slsops.audit.rules import RuleSettings
from slsops.local.aws_app import build_moto_app, serve_in_thread

BUCKET = "audit-exports-test"


@pytest.fixture(scope="module")
def endpoint():
    with serve_in_thread(build_moto_app()) as url:
        yield url


@pytest.fixture(scope="module")
def planted_table(endpoint, tmp_path_factory):
    table = "audit-export-planted"
    arns = create_log_table(endpoint, table)
    seed(endpoint, table, 30)
    put_items(endpoint, table, [i for _, items, _ in planted() for i in items])
    put_items(endpoint, table, reserved_corruptions())
    client(endpoint, "s3").create_bucket(Bucket=BUCKET)
    stack = write_stack_file(tmp_path_factory.mktemp("s") / "stack.json", endpoint, table, arns)
    return stack, arns


def findings(violations):
    return sorted(
        (v["check"], v["kind"], json.dumps(v["key"], sort_keys=True), v["detail"])
        for v in violations
    )


def test_scan_and_export_give_identical_findings(planted_table, tmp_path):
    stack, _ = planted_table
    (tmp_path / "scan").mkdir()
    (tmp_path / "export").mkdir()
    scan_code, scan_error, scan_report, scanned = audit_to(stack, tmp_path / "scan")
    code, error, report, exported = audit_to(
        stack, tmp_path / "export", "--from-export", "--export-bucket", BUCKET
    )
    assert scan_code == code == 1, (scan_error, error)
    index_kinds = {k for k, kind in KINDS_BY_NAME.items() if kind.index}
    assert not [v for v in scanned if v["kind"] in index_kinds]  # the planted table is settled
    # Content hashes are recomputed by the scan alone: the export finds no AUD-024 and SKIPs.
    scanned_content = [v for v in scanned if v["check"] == "AUD-024"]
    assert scanned_content and not [v for v in exported if v["check"] == "AUD-024"]
    assert findings(exported) == findings([v for v in scanned if v["check"] != "AUD-024"])
    assert len(exported) >= len(planted()) - 1
    assert report["source"] == "export" and scan_report["source"] == "scan"
    by_id = {c["id"]: c for c in report["checks"]}
    scan_by_id = {c["id"]: c for c in scan_report["checks"]}
    for check_id in ("AUD-016", "AUD-017"):
        assert by_id[check_id]["status"] == "SKIP"
        assert "export holds the table, not its index" in by_id[check_id]["detail"]
        assert scan_by_id[check_id]["status"] == "PASS"
    assert by_id["AUD-024"]["status"] == "SKIP", by_id["AUD-024"]
    assert "run the scan audit for AUD-024" in by_id["AUD-024"]["detail"]
    assert scan_by_id["AUD-024"]["status"] == "FAIL"
    skipped_on_export = ("AUD-016", "AUD-017", "AUD-024")
    same = [c for c in by_id if c.startswith("AUD-0") and c not in skipped_on_export]
    assert {c: by_id[c]["status"] for c in same} == {c: scan_by_id[c]["status"] for c in same}
    counts = by_id["AUD-020"]["evidence"]
    assert counts["source_detail"]["engine"] == "duckdb"
    assert counts["source_detail"]["data_files"] >= 1
    assert counts["log_items"] == scan_by_id["AUD-020"]["evidence"]["log_items"]
    assert (
        counts["reserved_per_service"] == scan_by_id["AUD-020"]["evidence"]["reserved_per_service"]
    )


def test_export_on_aws_needs_a_bucket_and_athena_its_settings(planted_table, tmp_path):
    stack, _ = planted_table
    data = json.loads(stack.read_text())
    del data["local_endpoint_url"]
    aws = tmp_path / "aws.json"
    aws.write_text(json.dumps(data))
    code, _, error = invoke("audit", "--stack", str(aws), "--from-export")
    assert code == 2 and "--export-bucket" in error
    code, _, error = invoke("audit", "--stack", str(stack), "--engine", "athena")
    assert code == 2 and "--from-export" in error
    code, _, error = invoke("audit", "--stack", str(stack), "--from-export", "--engine", "athena")
    assert code == 2 and "--athena-database" in error
    code, _, error = invoke("audit", "--stack", str(stack), "--engine", "spark")
    assert code == 2 and "duckdb" in error


class AthenaOnDuckDB:
    """A stub Athena client: DDL recorded, the view built in DuckDB, rule queries run as sent."""

    PAGE = 3  # rows per result page, so the runner has to page

    def __init__(self, s3, workdir: Path):
        self.s3 = s3
        self.workdir = workdir
        self.con = relation.connect(self.workdir)
        self.queries: list[str] = []
        self.results: dict[str, list[tuple]] = {}
        self.locations: list[str] = []
        self.polls = 0

    def start_query_execution(
        self, QueryString, QueryExecutionContext, ResultConfiguration, WorkGroup
    ):
        assert QueryExecutionContext == {"Database": "audit_db"}
        assert ResultConfiguration["OutputLocation"].startswith("s3://")
        self.queries.append(QueryString)
        query_id = f"q{len(self.queries)}"
        sql = QueryString.strip()
        if sql.startswith("CREATE EXTERNAL TABLE"):
            self.locations.append(re.search(r"LOCATION '([^']+)'", sql).group(1))
            self.results[query_id] = []
        elif sql.startswith("CREATE OR REPLACE VIEW"):
            view = re.search(r"VIEW (\S+) AS", sql).group(1)
            files = self._download(self.locations[-1])
            self.con.execute("CREATE SCHEMA IF NOT EXISTS audit_db")
            projection = export.DUCKDB_PROJECTION.format(
                files="[" + ", ".join(f"'{p}'" for p in files) + "]"
            )
            self.con.execute(f"CREATE OR REPLACE TABLE {view} AS {projection}")
            self.results[query_id] = []
        elif sql.startswith("DROP"):
            self.con.execute(sql.replace("DROP VIEW", "DROP TABLE"))
            self.results[query_id] = []
        else:
            self.results[query_id] = self.con.execute(sql).fetchall()
        return {"QueryExecutionId": query_id}

    def _download(self, location):
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        paths = []
        for n, obj in enumerate(listed):
            path = self.workdir / f"{n}.json.gz"
            self.s3.download_file(bucket, obj["Key"], str(path))
            paths.append(path)
        assert paths, f"nothing registered at {location}"
        return paths

    def get_query_execution(self, QueryExecutionId):
        self.polls += 1
        state = "RUNNING" if self.polls % 2 else "SUCCEEDED"
        return {
            "QueryExecution": {
                "Status": {"State": state},
                "Statistics": {"DataScannedInBytes": 1000},
            }
        }

    def get_paginator(self, name):
        assert name == "get_query_results"
        stub = self

        class Paginator:
            def paginate(self, QueryExecutionId):
                rows = stub.results[QueryExecutionId]
                cells = [{"Data": [{"VarCharValue": "header"}] * 7}] + [
                    {"Data": [{} if v is None else {"VarCharValue": str(v)} for v in row]}
                    for row in rows
                ]
                for start in range(0, len(cells), stub.PAGE):
                    yield {"ResultSet": {"Rows": cells[start : start + stub.PAGE]}}

        return Paginator()


def test_athena_path_gives_the_same_findings_as_duckdb(planted_table, endpoint, tmp_path):
    """Both engines over the same export layout: identical violations, key for key."""
    _, arns = planted_table
    ddb, s3 = client(endpoint, "dynamodb"), client(endpoint, "s3")

    def options(path):
        return AuditOptions(
            table_name="audit-export-planted",
            index_name="all-services-newest",
            segments=1,
            threads=2,
            rules=RuleSettings(shard_count=16, now=time.time()),
            violations_path=path,
        )

    # moto names its data directory by another id than the ExportArn's: give the stub
    # Athena the layout AWS writes by pointing the runner at the id moto used.
    def export_as_aws_lays_it_out(*args, **kwargs):
        location = export.export_table(*args, **kwargs)
        key = export.data_keys(s3, location)[0]
        moto_id = key.split("/AWSDynamoDB/")[1].split("/")[0]
        return export.ExportLocation(
            location.bucket,
            location.prefix,
            location.export_arn.rsplit("/", 1)[0] + "/" + moto_id,
            location.item_count,
            location.billed_bytes,
            location.seconds,
        )

    (tmp_path / "athena").mkdir()
    stub = AthenaOnDuckDB(s3, tmp_path / "athena")
    athena = AthenaRules(stub, "audit_db", "s3://results/", sleep=lambda _s: None)
    common = dict(
        table_arn=arns["table_arn"], bucket=BUCKET, prefix="t", export=export_as_aws_lays_it_out
    )
    on_athena = export.audit_export(
        ddb, s3, options(tmp_path / "a.jsonl"), engine="athena", athena=athena, **common
    )
    on_duckdb = export.audit_export(ddb, s3, options(tmp_path / "d.jsonl"), **common)
    from_athena = findings(read_violations(tmp_path / "a.jsonl"))
    assert from_athena == findings(read_violations(tmp_path / "d.jsonl"))
    assert on_athena.duplicate_log_ids == on_duckdb.duplicate_log_ids == 1
    relation_kinds = {f[1] for f in from_athena} & set(relation.RELATION_RULES)
    on_export = {k for k in relation.RELATION_RULES if not KINDS_BY_NAME[k].content}
    assert relation_kinds == on_export  # every shared rule the export can judge found its plant
    sent = "\n".join(stub.queries)
    for kind in relation.RELATION_RULES:
        assert f"'{kind}' AS kind" in sent
    assert stub.locations and stub.locations[0].startswith(f"s3://{BUCKET}/t/")
    assert stub.locations[0].endswith("/data/")
    assert sum(q.startswith("DROP") for q in stub.queries) == 2  # table and view dropped
    assert athena.scanned_bytes > 0


def test_failed_export_is_an_error_with_the_reason(planted_table, endpoint):
    _, arns = planted_table
    ddb = client(endpoint, "dynamodb")
    with pytest.raises(export.ExportError, match="S3NoSuchBucket"):
        export.export_table(
            ddb, arns["table_arn"], "no-such-bucket", "p", sleep=lambda _s: time.sleep(0.05)
        )
