"""The rules across items on Amazon Athena, over a table export registered as a table.

The export's data files are registered as an external table of one string column (each
line one ``{"Item": {...}}``; Athena reads gzip text as is), a view projects the item
relation from it (``ATHENA_PROJECTION``, the same columns as ``relation.COLUMNS``), and the
rule SQL of ``relation.RELATION_RULES`` runs unchanged over the view. Both objects are
dropped afterwards.

Tested only through a stub Athena client (tests/test_audit_export.py) that runs the rule
SQL in DuckDB: the Athena-dialect DDL and projection below have not run on AWS Athena in this
repository's tests.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from slsops.audit import relation
from slsops.audit.export import ExportError, ExportLocation

QUERY_POLL_SECONDS = 1.0
QUERY_TIMEOUT_SECONDS = 3600

TABLE_DDL = """
CREATE EXTERNAL TABLE {database}.{table} (line string)
ROW FORMAT DELIMITED LINES TERMINATED BY '\\n'
STORED AS TEXTFILE
LOCATION '{location}'
"""

ATHENA_PROJECTION = """
CREATE OR REPLACE VIEW {database}.{view} AS
SELECT json_extract_scalar(line, '$.Item.service_name.S') AS pk,
       json_extract_scalar(line, '$.Item.sk.S') AS sk,
       json_extract_scalar(line, '$.Item.log_id.S') AS log_id,
       starts_with(COALESCE(json_extract_scalar(line, '$.Item.service_name.S'), ''),
                   '#log_id#') AS is_marker,
       json_extract_scalar(line, '$.Item.entry_service.S') AS entry_service,
       json_extract_scalar(line, '$.Item.entry_sk.S') AS entry_sk,
       json_extract_scalar(line, '$.Item.ingested_at.S') AS ingested_at,
       TRY_CAST(json_extract_scalar(line, '$.Item.expires_at.N') AS DOUBLE) AS expires_at,
       CAST(NULL AS varchar) AS content_hash
FROM {database}.{table}
WHERE json_extract_scalar(line, '$.Item.service_name.S') IS NOT NULL
"""


@dataclass
class AthenaRules:
    """Runs the relation rules on Athena: database, workgroup and result location."""

    athena: Any
    database: str
    output_location: str
    workgroup: str = "primary"
    poll_seconds: float = QUERY_POLL_SECONDS
    timeout_seconds: float = QUERY_TIMEOUT_SECONDS
    sleep: Callable[[float], None] = time.sleep
    scanned_bytes: int = 0

    def query(self, sql: str) -> str:
        """Start ``sql`` and wait for it; the query execution id."""
        started = self.athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": self.database},
            ResultConfiguration={"OutputLocation": self.output_location},
            WorkGroup=self.workgroup,
        )
        query_id = started["QueryExecutionId"]
        for _ in range(int(self.timeout_seconds / max(self.poll_seconds, 0.01)) + 1):
            execution = self.athena.get_query_execution(QueryExecutionId=query_id)
            state = execution["QueryExecution"]["Status"]["State"]
            if state == "SUCCEEDED":
                statistics = execution["QueryExecution"].get("Statistics") or {}
                self.scanned_bytes += int(statistics.get("DataScannedInBytes") or 0)
                return query_id
            if state in ("FAILED", "CANCELLED"):
                reason = execution["QueryExecution"]["Status"].get("StateChangeReason", "")
                raise ExportError(f"Athena query {query_id} {state.lower()}: {reason}")
            self.sleep(self.poll_seconds)
        raise ExportError(f"Athena query {query_id} did not finish in {self.timeout_seconds} s")

    def rows(self, query_id: str) -> Iterator[tuple[Any, ...]]:
        """The result rows (header dropped), NULL as None, ``copies`` as int."""
        paginator = self.athena.get_paginator("get_query_results")
        header = True
        for page in paginator.paginate(QueryExecutionId=query_id):
            for row in page["ResultSet"]["Rows"]:
                if header:
                    header = False
                    continue
                values = [cell.get("VarCharValue") for cell in row["Data"]]
                copies = values[-1]
                yield (*values[:-1], int(copies) if copies is not None else None)

    def run_rules(
        self, location: ExportLocation, now: float, cutoff: str
    ) -> Iterator[tuple[Any, ...]]:
        """Register the export, project the relation, run every rule, then drop both."""
        suffix = secrets.token_hex(4)
        table, view = f"slsops_export_{suffix}", f"slsops_items_{suffix}"
        export_id = location.export_arn.rsplit("/", 1)[-1]
        data = f"s3://{location.bucket}/{location.prefix}/AWSDynamoDB/{export_id}/data/"
        names = {"database": self.database, "table": table, "view": view}
        self.query(TABLE_DDL.format(location=data, **names))
        try:
            self.query(ATHENA_PROJECTION.format(**names))
            try:
                for kind in relation.RELATION_RULES:
                    sql = relation.rule_sql(kind, now, cutoff, items=f"{self.database}.{view}")
                    yield from self.rows(self.query(sql))
            finally:
                self.query(f"DROP VIEW IF EXISTS {self.database}.{view}")
        finally:
            self.query(f"DROP TABLE IF EXISTS {self.database}.{table}")
