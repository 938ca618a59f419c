"""Realistic log entries sent through the real API, as a client would send them.

Used by ``slsops local seed`` (and the suite) to give the checks, the audit and the load tests
data to read: entries of ``services`` services with a plausible mix of levels, log types,
messages and metadata, timestamps spread over the last day. It assumes the ingest role with its
external id and POSTs signed batches of up to 100 entries; each entry carries its own log_id,
so a batch retried after a 503 or a 207 cannot store anything twice.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slsops.deployment.stack import Stack
from slsops.errors import SlsopsError

MAX_BATCH = 100
MAX_ATTEMPTS = 5
SERVICE_WORDS = (
    "auth",
    "billing",
    "checkout",
    "catalog",
    "search",
    "notifications",
    "payments",
    "inventory",
    "shipping",
    "profile",
    "gateway",
    "reports",
)
LEVEL_WEIGHTS = (("DEBUG", 15), ("INFO", 60), ("WARN", 17), ("ERROR", 8))
LOG_TYPES = ("application", "access", "audit", "security")
MESSAGES = {
    "DEBUG": (
        "cache lookup for key {key}",
        "retrying call to {peer} (attempt {n})",
        "loaded {n} rows from {peer}",
    ),
    "INFO": (
        "request {method} /{path} completed in {ms} ms",
        "user {user} signed in",
        "order {key} created",
        "job {key} finished: {n} items",
    ),
    "WARN": (
        "slow response from {peer}: {ms} ms",
        "quota at {n}% for tenant {user}",
        "deprecated parameter used by client {user}",
    ),
    "ERROR": (
        "call to {peer} failed: timeout after {ms} ms",
        "payment {key} declined: {code}",
        "unhandled exception in handler {path}",
    ),
}


@dataclass
class SeedResult:
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def service_names(count: int) -> list[str]:
    names = [f"{word}-service" for word in SERVICE_WORDS]
    return [
        names[i % len(names)] + (f"-{i // len(names)}" if i >= len(names) else "")
        for i in range(count)
    ]


def make_entries(count: int, services: int, seed: int | None = None) -> list[dict[str, Any]]:
    """``count`` entries over ``services`` services, newest within the last hour."""
    rng = random.Random(seed)  # noqa: S311  test data, not crypto
    names = service_names(services)
    now = datetime.now(UTC)
    levels = [level for level, _ in LEVEL_WEIGHTS]
    weights = [weight for _, weight in LEVEL_WEIGHTS]
    entries = []
    for _ in range(count):
        level = rng.choices(levels, weights)[0]
        template = rng.choice(MESSAGES[level])
        moment = now - timedelta(seconds=rng.uniform(0, 86_400))
        entries.append(
            {
                "log_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "service_name": rng.choice(names),
                "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{moment.microsecond // 1000:03d}Z",
                "level": level,
                "log_type": rng.choice(LOG_TYPES),
                "message": template.format(
                    key=f"k{rng.randrange(10**6)}",
                    peer=rng.choice(names),
                    n=rng.randrange(1, 100),
                    method=rng.choice(("GET", "POST", "PUT")),
                    path=rng.choice(("cart", "orders")),
                    ms=rng.randrange(5, 5000),
                    user=f"u{rng.randrange(10**4)}",
                    code=rng.choice(("insufficient_funds", "card_expired")),
                ),
                "metadata": {
                    "host": f"ip-10-0-{rng.randrange(255)}-{rng.randrange(255)}",
                    "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "latency_ms": rng.randrange(1, 2000),
                },
            }
        )
    return entries


def batches(entries: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(entries), size):
        yield entries[start : start + size]


def _send_batch(client: Any, batch: list[dict[str, Any]], result: SeedResult) -> int:
    """POST one batch, retrying throttling and partial writes; returns entries settled."""
    pending = batch
    for attempt in range(MAX_ATTEMPTS):
        response = client.post_logs({"logs": pending})
        if response.status_code in (201, 207):
            results = response.json().get("results", [])
            not_stored = [pending[r["index"]] for r in results if r.get("status") == "not_stored"]
            result.stored += sum(1 for r in results if r.get("status") == "stored")
            result.duplicates += sum(1 for r in results if r.get("status") == "duplicate")
            if not not_stored:
                return len(batch)
            pending = not_stored
        elif response.status_code in (429, 502, 503):
            pass
        else:
            result.failed += len(pending)
            result.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
            return len(batch)
        delay = float(response.headers.get("Retry-After") or 0) or 0.2 * 2**attempt
        time.sleep(min(delay, 5.0))
    result.failed += len(pending)
    result.errors.append(f"{len(pending)} entries not stored after {MAX_ATTEMPTS} attempts")
    return len(batch)


def seed(
    stack: Stack,
    count: int,
    services: int,
    batch_size: int = MAX_BATCH,
    concurrency: int = 2,
    progress: Callable[[int], None] | None = None,
    credentials: Any = None,
) -> SeedResult:
    """Send ``count`` entries through the API as the ingest role (assumed unless given)."""
    from slsops.deployment.api_client import LogApiClient, assume_role

    if not 1 <= batch_size <= MAX_BATCH:
        raise SlsopsError(f"batch size must be 1..{MAX_BATCH}")
    if credentials is None:
        credentials = assume_role(stack, "ingest", session_name="slsops-seed")
    entries = make_entries(count, services)
    result = SeedResult(sent=count)
    started = time.monotonic()
    chunks = list(batches(entries, batch_size))
    lock = threading.Lock()
    stop = threading.Event()  # set on Ctrl-C: workers finish their batch and return

    def work(chunk_list: list[list[dict[str, Any]]]) -> None:
        with LogApiClient(stack, credentials) as client:
            for chunk in chunk_list:
                if stop.is_set():
                    return
                partial = SeedResult()
                settled = _send_batch(client, chunk, partial)
                with lock:
                    result.stored += partial.stored
                    result.duplicates += partial.duplicates
                    result.failed += partial.failed
                    result.errors.extend(partial.errors)
                if progress:
                    progress(settled)

    workers = max(1, min(concurrency, len(chunks)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(work, chunks[i::workers]) for i in range(workers)]
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C or a worker's error: stop sending, then re-raise
            stop.set()
            raise
    result.seconds = time.monotonic() - started
    return result
