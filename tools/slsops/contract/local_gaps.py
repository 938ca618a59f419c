"""What the local stack cannot hold, and the Terraform switches that turn it off there.

The two are one fact seen from both sides: each flag below turns off a feature moto lacks, and
the check that reads that feature is a local gap (SKIP on the local stack, with this reason).
"""

from __future__ import annotations

from typing import Any

# Features moto cannot hold or that only make sense on AWS: off for the local apply only.
# (Variables absent from infra/ are left out of the tfvars file.)
LOCAL_FEATURE_FLAGS: dict[str, Any] = {
    "enable_contributor_insights": False,  # moto has no contributor-insights API
    "enable_config_recorder": False,  # moto's Config rules work without one
}

LOCAL_GAPS: dict[str, str] = {
    "DDB-008": (
        "DynamoDB contributor insights: moto has no contributor-insights API, so the local "
        "apply turns enable_contributor_insights off"
    ),
    "CFG-002": (
        "AWS Config recorder and delivery channel: moto's Config rules work without one, and "
        "the local apply turns enable_config_recorder off (one recorder per account and region)"
    ),
}
"""Check id -> why the local stack cannot hold what it reads. A check registered with
``runs_on="aws"`` must have an entry; on a local target the runner reports it SKIP with this
reason (the only SKIP a deployment's kind may cause)."""
