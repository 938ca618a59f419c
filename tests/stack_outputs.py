"""A realistic stack file (``terraform output -json`` of a deployment) for tests that need one
without a stack: every output the loader requires, each of the type it checks.

``stack_outputs(api_url=..., local_endpoint_url=...)`` replaces or adds outputs by value;
``write_stack(path, ...)`` writes the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slsops.deployment.stack import REQUIRED_OUTPUTS

REGION = "us-east-1"
ACCOUNT = "123456789012"


def realistic_values() -> dict[str, Any]:
    """A value for every required output, as Terraform prints them for a deployment."""
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
    values: dict[str, Any] = {
        "region": REGION,
        "account_id": ACCOUNT,
        "api_id": "a1b2c3d4e5",
        "stage_name": "prod",
        "api_url": f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod",
        "table_name": "simple-log-service-prod-logs",
        "table_arn": arn.format("dynamodb", "table/simple-log-service-prod-logs"),
        "index_name": "all-services",
        "shard_count": 16,
        "ttl_attribute": "expires_at",
        "kms_key_arn": arn.format("kms", "key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
        "kms_alias": "alias/simple-log-service-prod",
        "ingest_function_name": "simple-log-service-prod-ingest",
        "read_function_name": "simple-log-service-prod-read",
        "roles": {
            key: {
                "arn": f"arn:aws:iam::{ACCOUNT}:role/simple-log-service-prod-{key}",
                "external_id": f"{key}-external-id-0123456789",
            }
            for key in ("ingest", "read", "full")
        },
        "trusted_principal_arns": [f"arn:aws:iam::{ACCOUNT}:user/operator"],
        "alarm_topic_arn": arn.format("sns", "simple-log-service-prod-alarms"),
        "alarm_names": [
            "simple-log-service-prod-ingest-error-rate",
            "simple-log-service-prod-read-error-rate",
            "simple-log-service-prod-dynamodb-throttles",
            "simple-log-service-prod-api-5xx",
        ],
        "dashboard_name": "simple-log-service-prod",
        "config_rules_enabled": False,
    }
    assert set(values) == set(REQUIRED_OUTPUTS), "keep this file in step with REQUIRED_OUTPUTS"
    return values


def stack_outputs(**values: Any) -> dict[str, dict[str, Any]]:
    """Every required output in Terraform's shape, ``values`` replacing or adding outputs."""
    merged = {**realistic_values(), **values}
    return {name: {"value": value, "sensitive": False} for name, value in merged.items()}


def write_stack(path: Path, **values: Any) -> Path:
    path.write_text(json.dumps(stack_outputs(**values)), encoding="utf-8")
    return path
