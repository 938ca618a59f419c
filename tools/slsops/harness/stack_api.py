"""The campaigns' ``ApiTarget`` over a stack: its signed HTTP API and its log table."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from log_service import keys
from slsops.deployment import dynamo_pages
from slsops.deployment.api_client import LogApiClient, assume_role
from slsops.deployment.stack import Stack
from slsops.harness import campaign


class StackApi:
    """``campaign.ApiTarget`` over a stack: ingest role for POST, read role for GET."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.ingest = assume_role(stack, "ingest", session_name="slsops-reliability-ingest")
        self.read_creds = assume_role(stack, "read", session_name="slsops-reliability-read")
        self.writer = LogApiClient(stack, self.ingest)
        self.reader = LogApiClient(stack, self.read_creds)
        self.table = stack.resource("dynamodb").Table(str(stack["table_name"]))

    @staticmethod
    def _answer(response: Any) -> campaign.Answer:
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text[:300]}
        return campaign.Answer(response.status_code, body, dict(response.headers))

    def post(self, body: dict[str, Any]) -> campaign.Answer:
        return self._answer(self.writer.post_logs(body))

    def post_as_new_client(self, body: dict[str, Any]) -> campaign.Answer:
        """A POST from a client of its own (for concurrent senders: one session per thread)."""
        with LogApiClient(self.stack, self.ingest) as client:
            return self._answer(client.post_logs(body))

    def get(self, params: dict[str, str]) -> campaign.Answer:
        return self._answer(self.reader.get_recent(**params))

    def log_items(self, service_name: str) -> list[dict[str, Any]]:
        """Every item of the service's partition (consistent reads)."""
        return list(
            dynamo_pages.items(
                self.table.query,
                KeyConditionExpression=Key(keys.PARTITION_KEY).eq(service_name),
                ConsistentRead=True,
            )
        )
