"""One audit of the log table: read every item once, judge it, then the rules across items.

Two sources feed the same judgement: a parallel scan of the live table (``run_audit``) and
the files of a point-in-time export (``slsops.audit.export``). Both hand pages of items in
DynamoDB's wire form to ``ItemJudge``, which applies the per-item rules (``rules``), counts,
and writes the item relation; the rules across items then run as SQL over that relation
(``relation``). Only the scan can compare the table with its index (AUD-016/017): an export
holds the table alone.

The result (``AuditResult``) is what the AUD-* checks read; violations are streamed to the
``--violations`` file as they are found (``violation_log``), so the audit keeps only counts and
a few sample keys per kind in memory. This module runs the scan from end to end; the index
comparison is ``index_comparison``, the judging ``item_judge``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from slsops.audit import relation
from slsops.audit.index_comparison import scan_with_index
from slsops.audit.item_judge import ItemJudge, result_of
from slsops.audit.options import AuditOptions
from slsops.audit.result import AuditResult
from slsops.audit.violation_log import ViolationLog
from slsops.deployment.wire_items import wire_items


def run_audit(client: Any, options: AuditOptions) -> AuditResult:
    """Scan, judge, and run the cross-item checks; the violations file is complete on return."""
    log = ViolationLog(options.violations_path, options.kinds)
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="slsops-audit-") as workdir:
        judge = ItemJudge(options, log, Path(workdir), tally_shards=True)
        try:
            with wire_items(client):  # pages reach the judge in wire form, parsed by json alone
                stats, index = scan_with_index(client, options, judge, phases)
            clock = time.perf_counter()
            con = relation.connect(Path(workdir))
            try:
                relation.load_spool(con, judge.spool)  # type: ignore[arg-type]
                duplicates = judge.judge_rows(
                    relation.run_rules_duckdb(con, options.rules.now, judge.cutoff)
                )
                index["content_compared"] = relation.content_compared_duckdb(
                    con, options.rules.now, judge.cutoff
                )
            finally:
                con.close()
            phases["relation_s"] = time.perf_counter() - clock
        except BaseException:
            if judge.spool is not None:
                judge.spool.close()
            log.close(keep=False)
            raise
    log.close(keep=True)
    return result_of(judge, "scan", stats, duplicates, {"scan_s": stats.seconds, **phases}, **index)
