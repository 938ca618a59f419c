"""The toolkit's numbers: objectives, tolerances, waits and ages, each with why it is what it is.

RTO 1 h and RPO 5 min come from the architecture document (Recovery Objectives). The
tolerances are the band between PASS and FAIL: a drill above the objective but within the
tolerance is a WARN (look at it before the next drill), above objective + tolerance a FAIL.
The deployment's own defaults (retention, clock skew) come from ``log_service.limits``, which the
service reads too, so the toolkit and the handlers cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from log_service import limits


@dataclass(frozen=True)
class Objectives:
    """Recovery objectives (seconds) and the tolerance band above each."""

    rto_s: float = 3600.0
    rpo_s: float = 300.0
    rto_tolerance_s: float = 300.0
    rpo_tolerance_s: float = 30.0


OBJECTIVES = Objectives()

# --- the deployment's defaults (the Terraform variables' defaults match, tested) ---------------
# How long an entry is kept unless it asks for less: the service's default retention.
RETENTION_DAYS = limits.DEFAULT_RETENTION_DAYS
# How far a client's timestamp may lead the server's clock before ingest refuses the entry.
MAX_CLOCK_SKEW_SECONDS = limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS

# --- the local stack ---------------------------------------------------------------------------
# A connection that does not send its whole request within this time is dropped (a slow or
# lying Content-Length must never hold a server thread); tests set a shorter one.
LOCAL_READ_TIMEOUT_S = 20.0
LOCAL_READ_TIMEOUT_ENV = "SLSOPS_LOCAL_READ_TIMEOUT_SECONDS"
TEST_LOCAL_READ_TIMEOUT_S = 3.0
# Execution environments (Lambda worker processes) per function: `slsops local up --workers`,
# or this variable, which the detached runner inherits.
LOCAL_WORKERS = 2
LOCAL_WORKERS_MAX = 16
LOCAL_WORKERS_ENV = "SLSOPS_LOCAL_WORKERS"

# --- point-in-time recovery and drills --------------------------------------------------------
# LatestRestorableDateTime trails now by this much on AWS, and by default on the local stack.
PITR_LAG_S = 300.0
# The local stack's PITR lag may be set shorter (tests and quick drills) with this variable.
PITR_LAG_ENV = "SLSOPS_LOCAL_PITR_LAG_SECONDS"
# A documented short lag for tests and CI stacks: drills then wait seconds, not minutes.
TEST_PITR_LAG_S = 1.0
# Entries ingested within this many seconds of the restore point may be absent from the
# restore (counted, not judged: ingested_at is stamped before the write lands, so one can fall
# on either side of the point); restored, they must be identical.
DRILL_GUARD_S = 60.0
# The canaries sit this far on each side of the restore point (AWS restores to the second).
CANARY_GAP_S = 2.0
# How long a drill waits for the restore and for the restorable window to reach its point.
DRILL_TIMEOUT_S = 3600.0
MAX_TIMEOUT_S = 86400.0  # a --timeout above a day (or inf) is a typo, not a wait
# A recorded drill intent whose table or backup never appeared is forgotten after this long:
# the create call was cut short before AWS took it (AWS answers a create within seconds).
INTENT_EXPIRY_S = 900.0

# --- verify, roles, audit -----------------------------------------------------------------------
# How long verify's smoke test polls GET /logs/recent for the entry it wrote: the read path is
# a GSI, eventually consistent, usually behind by well under a second.
READ_BACK_TIMEOUT_S = 30.0
# Pause between those reads: often enough to be quick, seldom enough not to load the API.
READ_BACK_INTERVAL_S = 0.5
# A signature this old must be refused: API Gateway refuses an x-amz-date more than 5 minutes
# from its clock, so 15 minutes is clearly stale whatever the clocks' drift.
STALE_SIGNATURE_AGE = timedelta(minutes=15)
# The audit judges the index only for items older than this: a GSI trails its table by about
# a second on AWS, so a minute leaves no settled item unjudged by accident.
INDEX_SETTLE_SECONDS = 60
