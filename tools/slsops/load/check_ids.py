"""Every LOAD- check id, written out (grep finds each one): one per request kind and
percentile, then the run-wide ones."""

from __future__ import annotations

LATENCY_CHECK_IDS: dict[tuple[str, str], str] = {
    ("ingest_single", "P50"): "LOAD-INGEST-SINGLE-P50",
    ("ingest_single", "P95"): "LOAD-INGEST-SINGLE-P95",
    ("ingest_single", "P99"): "LOAD-INGEST-SINGLE-P99",
    ("ingest_batch", "P50"): "LOAD-INGEST-BATCH-P50",
    ("ingest_batch", "P95"): "LOAD-INGEST-BATCH-P95",
    ("ingest_batch", "P99"): "LOAD-INGEST-BATCH-P99",
    ("read_newest", "P50"): "LOAD-READ-NEWEST-P50",
    ("read_newest", "P95"): "LOAD-READ-NEWEST-P95",
    ("read_newest", "P99"): "LOAD-READ-NEWEST-P99",
    ("read_service", "P50"): "LOAD-READ-SERVICE-P50",
    ("read_service", "P95"): "LOAD-READ-SERVICE-P95",
    ("read_service", "P99"): "LOAD-READ-SERVICE-P99",
}
INGEST_RATE_ID = "LOAD-INGEST-RATE"
READ_RATE_ID = "LOAD-READ-RATE"
BURST_ID = "LOAD-BURST"
ERROR_RATIO_ID = "LOAD-ERROR-RATIO"
WINDOW_ID = "LOAD-WINDOW"
