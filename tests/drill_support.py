"""Helpers for the drill tests: the service's own ingest code as the canaries' write path.

The in-process moto of these tests has no API in front of it, so the canaries go through the
ingest handler's logic (``log_service.ingest.handle_post`` with the service's ``LogWriter``),
which is what the Lambda runs behind ``POST /logs``. The drill on a real deployment or on the
local stack uses the API itself (``slsops.drill.canary.ApiCanaryWriter``).
"""

from __future__ import annotations

from typing import Any

import boto3
from log_table_support import CREDENTIALS, REGION, SHARD_COUNT

from log_service.ingest import handle_post
from log_service.settings import Settings
from log_service.writer import LogWriter
from slsops.drill.canary import CanaryWriteFailed


class ServiceCanaryWriter:
    """Writes canaries with the ingest handler's code, straight to the table."""

    identity = "ingest handler code (in-process test)"

    def __init__(self, endpoint: str, table: str) -> None:
        client = boto3.resource(
            "dynamodb", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS
        ).meta.client
        self.writer = LogWriter(client, table, SHARD_COUNT)
        self.settings = Settings(table_name=table, shard_count=SHARD_COUNT)

    def write(self, entries: list[dict[str, Any]]) -> None:
        status, body = handle_post({"logs": entries}, self.writer, self.settings)
        if status != 201:
            raise CanaryWriteFailed(f"ingest answered {status}: {body}")
