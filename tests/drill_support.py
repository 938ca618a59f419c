"""Fixtures and helpers of the drill tests; the service's own ingest code as the canaries' path.

The in-process moto of these tests has no API in front of it, so the canaries go through the
ingest handler's logic (``log_service.ingest.handle_post`` with the service's ``LogWriter``),
which is what the Lambda runs behind ``POST /logs``. The drill on a real deployment or on the
local stack uses the API itself (``slsops.drill.canary.ApiCanaryWriter``).
"""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from log_table_support import (
    CREDENTIALS,
    REGION,
    SHARD_COUNT,
    client,
    create_log_table,
    seed,
    write_stack_file,
)
from typer.testing import CliRunner

from log_service.ingest import handle_post
from log_service.settings import Settings
from log_service.writer import LogWriter
from slsops.cli import app
from slsops.commands import drill as drill_command
from slsops.contract import numbers
from slsops.drill import restore
from slsops.drill.canary import CanaryWriteFailed
from slsops.errors import SlsopsError
from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.gaps import pitr


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


LAG = numbers.TEST_PITR_LAG_S
GUARD = "0.5"
SOURCE_NUMBERS = itertools.count(1)


def moto_endpoint():
    """The body of a module's ``endpoint`` fixture: moto with the gaps, the short PITR lag."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(pitr.LAG_ENV, str(LAG))
        with serve_in_thread(build_moto_app()) as url:
            yield url


def seeded_source(endpoint, tmp_path, monkeypatch):
    """A seeded source table (30 entries), its stack file, canaries through the ingest code."""
    name = f"src-{next(SOURCE_NUMBERS)}"
    arns = create_log_table(endpoint, name)
    seed(endpoint, name, 30)
    monkeypatch.setattr(
        drill_command, "canary_writer", lambda _stack: ServiceCanaryWriter(endpoint, name)
    )
    monkeypatch.setattr(restore, "PHASE_HOOKS", [])
    monkeypatch.setattr(restore, "AFTER_RESTORE_HOOKS", [])
    return name, write_stack_file(tmp_path / "stack.json", endpoint, name, arns)


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, SlsopsError):
        return result.exception.exit_code, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def drill_tables(endpoint, name):
    names = client(endpoint, "dynamodb").list_tables()["TableNames"]
    return [t for t in names if t.startswith(f"{name}-drill-")]
