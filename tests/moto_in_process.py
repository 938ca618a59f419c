"""A DynamoDB client for moto running in this process (inside ``moto.mock_aws``)."""

from __future__ import annotations

from typing import Any

import boto3


def dynamodb_client() -> Any:
    """Any credentials do: in-process moto checks none (the local stack's layer is not here)."""
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
