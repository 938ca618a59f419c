"""The recovery objectives and the numbers that judge them: the one place they live.

RTO 1 h and RPO 5 min come from the architecture document (Recovery Objectives). The
tolerances are the band between PASS and FAIL: a drill above the objective but within the
tolerance is a WARN (look at it before the next drill), above objective + tolerance a FAIL.
The PITR lag is how far DynamoDB's LatestRestorableDateTime trails the clock; AWS reports
about five minutes, and the local stack's emulation uses the same default.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Objectives:
    """Recovery objectives (seconds) and the tolerance band above each."""

    rto_s: float = 3600.0
    rpo_s: float = 300.0
    rto_tolerance_s: float = 300.0
    rpo_tolerance_s: float = 30.0


OBJECTIVES = Objectives()

# LatestRestorableDateTime trails now by this much on AWS, and by default on the local stack.
PITR_LAG_S = 300.0
# The local stack's PITR lag may be set shorter (tests and quick drills) with this variable.
PITR_LAG_ENV = "SLSOPS_LOCAL_PITR_LAG_SECONDS"
# A documented short lag for tests and CI stacks: drills then wait seconds, not minutes.
TEST_PITR_LAG_S = 1.0

# Entries ingested within this many seconds of the restore point are counted, not judged:
# ingested_at is stamped before the write lands, so one can fall on either side of the point.
DRILL_GUARD_S = 60.0
# The canaries sit this far on each side of the restore point (AWS restores to the second).
CANARY_GAP_S = 2.0
# How long a drill waits for the restore and for the restorable window to reach its point.
DRILL_TIMEOUT_S = 3600.0
