"""E2E-*: an end-to-end smoke test through the real API with the client roles (verify).

E2E-001 assumes the ingest role and POSTs one uniquely marked entry (``retention_days: 1``, so
TTL removes it within about a day); E2E-002 assumes the read role and polls
GET /logs/recent?service_name=... until the entry appears or the bounded wait ends. Both
latencies are in the evidence. The POST is done once and shared (a cached lookup), so the two
checks can run in any order, concurrently.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from log_service import keys
from slsops.contract.numbers import READ_BACK_INTERVAL_S, READ_BACK_TIMEOUT_S
from slsops.deployment.api_client import LogApiClient, assume_role
from slsops.deployment.verify_context import StackContext
from slsops.framework.model import Check, Outcome, Severity, check, failed, passed

CHECKS: list[Check] = []
DOC = "runbooks/deployment-verification-failed.md"

SMOKE_SERVICE_NAME = "slsops-smoke"


@dataclass(frozen=True)
class SmokeWrite:
    log_id: str
    status: int
    body: Any
    latency_ms: float
    identity: str | None


def smoke_entry(log_id: str) -> dict[str, Any]:
    return {
        "service_name": SMOKE_SERVICE_NAME,
        "log_id": log_id,
        "timestamp": keys.now_timestamp(),
        "level": "INFO",
        "log_type": "smoke",
        "message": f"slsops verify smoke entry {log_id}",
        "metadata": {"source": "slsops verify"},
        "retention_days": 1,
    }


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


def smoke_write(ctx: StackContext) -> SmokeWrite:
    """The one smoke POST of this run (assume ingest, POST, measure)."""

    def write() -> SmokeWrite:
        credentials = assume_role(
            ctx.stack, "ingest", session_name="slsops-verify-smoke", sts_client=ctx.client("sts")
        )
        log_id = f"smoke-{uuid.uuid4().hex}"
        with LogApiClient(ctx.stack, credentials) as api:
            started = time.perf_counter()
            response = api.post_logs(smoke_entry(log_id))
            latency = (time.perf_counter() - started) * 1000
        return SmokeWrite(
            log_id,
            response.status_code,
            _json(response),
            round(latency, 1),
            credentials.assumed_role_arn,
        )

    return ctx.cached(("e2e", "write"), write)


@check(
    CHECKS,
    "E2E-001",
    "Smoke: the ingest role writes an entry through POST /logs",
    Severity.CRITICAL,
    "See runbooks/deployment-verification-failed.md (E2E): check the ingest function's logs.",
    reads="sts:AssumeRole (ingest), POST /logs through the API",
    runs_on="both",
    doc=DOC,
)
def smoke_post(ctx: StackContext) -> Outcome:
    write = smoke_write(ctx)
    evidence = {
        "log_id": write.log_id,
        "status": write.status,
        "post_latency_ms": write.latency_ms,
        "identity": write.identity,
        "response": write.body,
    }
    echoed = write.body.get("log_id") if isinstance(write.body, dict) else None
    if write.status == 201 and echoed == write.log_id:
        return passed(f"201 in {write.latency_ms} ms", **evidence)
    return failed(f"POST /logs answered {write.status}, expected 201 with the log_id", **evidence)


@check(
    CHECKS,
    "E2E-002",
    "Smoke: the read role reads the entry back through GET /logs/recent",
    Severity.CRITICAL,
    "See runbooks/deployment-verification-failed.md (E2E): check the read function's logs.",
    reads="sts:AssumeRole (read), GET /logs/recent through the API",
    runs_on="both",
    doc=DOC,
)
def smoke_read_back(ctx: StackContext) -> Outcome:
    write = smoke_write(ctx)
    if write.status != 201:
        return failed(f"nothing to read back: the smoke POST answered {write.status}")
    credentials = assume_role(
        ctx.stack, "read", session_name="slsops-verify-smoke", sts_client=ctx.client("sts")
    )
    started = time.perf_counter()
    deadline = started + READ_BACK_TIMEOUT_S
    attempts, last_status, request_ms = 0, None, None
    with LogApiClient(ctx.stack, credentials) as api:
        while True:
            attempts += 1
            sent = time.perf_counter()
            response = api.get_recent(service_name=SMOKE_SERVICE_NAME, limit=100)
            request_ms = round((time.perf_counter() - sent) * 1000, 1)
            last_status = response.status_code
            body = _json(response)
            logs = body.get("logs", []) if isinstance(body, dict) else []
            if response.status_code == 200 and any(e.get("log_id") == write.log_id for e in logs):
                visible_ms = round((time.perf_counter() - started) * 1000, 1)
                return passed(
                    f"read back after {visible_ms} ms ({attempts} request(s))",
                    log_id=write.log_id,
                    post_latency_ms=write.latency_ms,
                    get_latency_ms=request_ms,
                    read_back_ms=visible_ms,
                    attempts=attempts,
                    identity=credentials.assumed_role_arn,
                )
            if response.status_code in (400, 401, 403, 404) or time.perf_counter() >= deadline:
                break
            time.sleep(READ_BACK_INTERVAL_S)
    reason = (
        f"GET /logs/recent answered {last_status}"
        if last_status != 200
        else f"not read back within {READ_BACK_TIMEOUT_S:.0f} s"
    )
    return failed(
        f"entry {write.log_id}: {reason}",
        log_id=write.log_id,
        attempts=attempts,
        last_status=last_status,
        get_latency_ms=request_ms,
        last_response=body if last_status != 200 else {"count": len(logs)},
    )
