"""Objects a warm Lambda keeps between invocations: settings, AWS clients, a thread pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache

import boto3
from botocore.config import Config

from log_service.reader import LogReader
from log_service.settings import Settings
from log_service.writer import LogWriter

# The handlers retry throttling themselves (with idempotent writes), so botocore does not.
_WRITE_CONFIG = Config(
    retries={"total_max_attempts": 1}, max_pool_connections=32, connect_timeout=2, read_timeout=5
)
_READ_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    max_pool_connections=32,
    connect_timeout=2,
    read_timeout=5,
)


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="dynamodb")


@cache
def writer() -> LogWriter:
    client = boto3.resource("dynamodb", config=_WRITE_CONFIG).meta.client
    s = settings()
    return LogWriter(client, s.table_name, s.shard_count, pool=pool())


@cache
def reader() -> LogReader:
    s = settings()
    table = boto3.resource("dynamodb", config=_READ_CONFIG).Table(s.table_name)
    return LogReader(table, s.index_name, s.shard_count, pool=pool())
