"""The release gate against deliberately wrong services: does the verdict catch each one?

tests/test_load_run.py runs the gate against the right service (the local stack) and against
targets nothing meets; nothing there shows that the gate's listeners (loadtests/gate.py) and
the content checks the user classes call (loadtests/content.py) turn a WRONG answer into a
FAILed check. Here each case runs the real entry point (``python -m slsops.load.run``, Locust in
a subprocess, the verdict at its exit) for a few seconds against a small HTTP service on
loopback that is wrong in one way, and asserts the verdict FAILs the check that must catch it,
naming the problem. A control case runs the same service answering right and must PASS: it
shows the double is right where it is not meant to be wrong, so every other case fails for the
one reason it was built for.

What the run needs besides the API is real: the stack file (terraform output shape, on
loopback), moto in a thread for STS (the preflight's GetCallerIdentity and AssumeRole of both
client roles, the generator's RefreshableCredentials) with the ingest and read roles created
with their external-id trust. Moto here does not enforce the trust policy (no authorisation
layer); a wrong external id stopping the run is tested against the local stack.

``WrongService`` is a test double of the API Gateway + Lambda service, not the service: it
keeps entries in memory and answers in the shapes of service/log_service/ (a single POST's
``message`` and ``log_id``, a batch's ``results``, a read's ``logs``/``count``/``next_token``,
newest first, filters, key-based pages). It does NOT verify SigV4 signatures: it only refuses
a request without one (403, as the gateway refuses the preflight's unsigned probe), which
shows the generator signed with the assumed roles' session credentials.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import stack_outputs

from slsops.local.aws_app import build_moto_app, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
KEYS = {"access_key_id": "AKIASTUBOPERATOR0001", "secret_access_key": "stub-operator-secret"}
STAGE = "prod"
# One run: 6 users of the five classes at 2 tasks/s, no warm-up (measured from the moment
# every user started, 1 s in), 5 s measured: ~6 s of Locust, ~60 requests.
PROFILE = "stub"
TARGETS = f"""
[profiles.{PROFILE}]
description = "The gate's checks against a service double on loopback (tests only)."
p50_ms = 250
p99_ms = 2000
ingest_logs_per_s = 5
read_queries_per_s = 2
max_error_ratio = 0.0

[profiles.{PROFILE}.run]
classes = ["SingleIngestUser", "BatchIngestUser", "NewestReadUser", "ServiceReadUser", "OnCallUser"]
users = 6
spawn_rate = 6
run_time = "5s"
warmup_s = 0
task_rate = 2
batch_size = 10
read_pages = 2
processes = 0
"""
RUN_TIMEOUT_S = 90
# Case "empty reads": longer than the newest read's grace (content.NEWEST_READ_GRACE_S, 5 s),
# so empty newest reads after entries were acknowledged are due before the end.
EMPTY_READS_RUN_TIME = "8s"
# Case "stops halfway": the service hangs this long after the first signed request.
HANG_AFTER_S = 2.5
# Case "some hang": these signed requests (by arrival) never get an answer; the others do.
HUNG_REQUESTS = {20, 21}
# Case "fast 500s": successes take this long (above the profile's P50 of 250 ms), the 500s none.
SLOW_SUCCESS_S = 0.4


# ---------------------------------------------------------------------- the service double
@dataclass
class WrongService:
    """The API's answers, right or wrong in one way (``behaviour``); entries kept in memory."""

    behaviour: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)  # ends hung requests
    signed: int = 0
    unsigned: int = 0
    first_signed: float | None = None

    def answer(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
        authorization = headers.get("Authorization") or ""
        if not authorization.startswith("AWS4-HMAC-SHA256 ") or not headers.get(
            "X-Amz-Security-Token"
        ):
            with self.lock:
                self.unsigned += 1
            return 403, {"message": "Missing Authentication Token"}
        with self.lock:
            self.signed += 1
            count = self.signed
            if self.first_signed is None:
                self.first_signed = time.monotonic()
            since_first = time.monotonic() - self.first_signed
        if self.behaviour == "stops_halfway" and since_first > HANG_AFTER_S:
            self.release.wait(RUN_TIMEOUT_S)  # no answer: the client waits until it gives up
            return 503, {"message": "gone"}
        if self.behaviour == "some_hang" and count in HUNG_REQUESTS:
            self.release.wait(RUN_TIMEOUT_S)  # no answer until the test ends
            return 503, {"message": "gone"}
        if self.behaviour == "fast_500s":
            if count % 5 < 3:  # 3 requests in 5 fail at once
                return 500, {"message": "Internal server error"}
            time.sleep(SLOW_SUCCESS_S)
        url = urlsplit(path)
        if method == "POST" and url.path == f"/{STAGE}/logs":
            document = json.loads(body)
            if isinstance(document, dict) and "logs" in document:
                return self._batch(document["logs"])
            return self._single(document)
        if method == "GET" and url.path == f"/{STAGE}/logs/recent":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            return 200, self._read(query)
        return 404, {"message": "Not Found"}

    def _store(self, entry: dict) -> None:
        keep = ("log_id", "service_name", "timestamp", "level", "message", "metadata")
        with self.lock:
            self.entries.append({k: entry[k] for k in keep if k in entry})

    def _single(self, entry: dict) -> tuple[int, Any]:
        self._store(entry)
        return 201, {"message": "Log entry stored", "log_id": entry["log_id"]}

    def _batch(self, logs: list[dict]) -> tuple[int, Any]:
        for entry in logs:
            self._store(entry)
        results = [
            {"index": i, "log_id": entry["log_id"], "status": "stored"}
            for i, entry in enumerate(logs)
        ]
        if self.behaviour == "batch_other_ids":  # stored, but the answer names other entries
            results = [r | {"log_id": str(uuid.uuid4())} for r in results]
        elif self.behaviour == "batch_fewer":  # the tail went nowhere and is not mentioned
            results = results[:-2]
        return 201, {"message": f"{len(results)} log entries stored", "results": results}

    def _read(self, query: dict[str, str]) -> dict[str, Any]:
        limit = int(query.get("limit", "50"))
        service = query.get("service_name")
        levels = set(query["level"].split(",")) if query.get("level") else None
        since = query.get("since")
        with self.lock:
            chosen = [
                e
                for e in self.entries
                if (
                    service is None
                    or self.behaviour == "other_service"  # the filter forgotten
                    or e["service_name"] == service
                )
                and (levels is None or e["level"] in levels)
                and (since is None or e["timestamp"] >= since)
            ]
        chosen.sort(key=lambda e: (e["timestamp"], e["log_id"]), reverse=True)
        if query.get("next_token"):
            after = tuple(json.loads(base64.urlsafe_b64decode(query["next_token"])))
            chosen = [e for e in chosen if (e["timestamp"], e["log_id"]) < after]
        page, more = chosen[:limit], len(chosen) > limit
        token = None
        if more:
            last = [page[-1]["timestamp"], page[-1]["log_id"]]
            token = base64.urlsafe_b64encode(json.dumps(last).encode()).decode()
        if self.behaviour == "empty_reads":
            page, token = [], None
        elif self.behaviour == "wrong_order":
            page = page[::-1]  # oldest first
        return {"logs": page, "count": len(page), "next_token": token}


def _handler(service: WrongService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the generator's client expects
        timeout = 30

        def log_message(self, *_args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, document = service.answer(method, self.path, body, self.headers)
            payload = json.dumps(document).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (the hung case)
                self.close_connection = True

    return Handler


@pytest.fixture
def serve_double() -> Iterator[Any]:
    """Start a WrongService on a free loopback port; yields ``start(behaviour) -> (service,
    api_url)``; every server started is stopped (hung requests released) at the end."""
    started: list[tuple[WrongService, ThreadingHTTPServer, threading.Thread]] = []

    def start(behaviour: str) -> tuple[WrongService, str]:
        service = WrongService(behaviour)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
        server.daemon_threads = True
        server.block_on_close = False
        thread = threading.Thread(target=server.serve_forever, name="wrong-api", daemon=True)
        thread.start()
        started.append((service, server, thread))
        host, port = server.server_address[:2]
        return service, f"http://{host}:{port}/{STAGE}"

    yield start
    for service, server, thread in started:
        service.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ---------------------------------------------------------------------- STS and the stack file
@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """Moto on loopback with the two client roles; yields (endpoint, stack file roles)."""
    with serve_in_thread(build_moto_app()) as url:
        iam = boto3.client(
            "iam",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=KEYS["access_key_id"],
            aws_secret_access_key=KEYS["secret_access_key"],
        )
        roles = {}
        for role in ("ingest", "read"):
            external_id = f"stub-{role}-{uuid.uuid4().hex[:12]}"
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                    }
                ],
            }
            arn = iam.create_role(
                RoleName=f"stub-log-{role}-client", AssumeRolePolicyDocument=json.dumps(trust)
            )["Role"]["Arn"]
            roles[role] = {"arn": arn, "external_id": external_id}
        yield url, roles


def write_stack(path: Path, endpoint: str, roles: dict, api_url: str) -> Path:
    """A stack file in ``terraform output -json`` shape: the double's API, moto's STS."""
    return stack_outputs.write_stack(
        path,
        region=REGION,
        account_id=ACCOUNT,
        stage_name=STAGE,
        api_url=api_url,
        shard_count=4,
        roles=roles,
        local_endpoint_url=endpoint,
        local_credentials=KEYS,
        local_pid=0,
    )


@dataclass
class GateRun:
    done: subprocess.CompletedProcess
    checks: dict[str, dict]
    measured: dict[str, Any]
    failures: list[dict[str, str]]  # Locust's failures CSV: Method, Name, Error, Occurrences

    @property
    def output(self) -> str:
        return self.done.stdout[-4000:] + self.done.stderr[-4000:]

    def status(self, check_id: str) -> str:
        return self.checks[check_id]["status"]

    def failed(self, check_id: str, problem: str) -> bool:
        """``check_id`` FAILed and its detail in the verdict names ``problem``."""
        check = self.checks[check_id]
        return check["status"] == "FAIL" and problem in check["detail"]

    def errors(self) -> str:
        return "\n".join(f"{f['Name']}: {f['Error']}" for f in self.failures)


def run_gate(tmp_path: Path, aws: tuple[str, dict], api_url: str, *args: str) -> GateRun:
    """``python -m slsops.load.run`` with the stub profile (``args`` added) against the double."""
    endpoint, roles = aws
    stack = write_stack(tmp_path / "stack.json", endpoint, roles, api_url)
    targets = tmp_path / "targets.toml"
    targets.write_text(TARGETS, encoding="utf-8")
    results = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(  # noqa: S603  our own module, argv list
        [
            sys.executable,
            "-m",
            "slsops.load.run",
            *("--profile", PROFILE, "--targets", str(targets)),
            *("--stack", str(stack), "--results", str(results)),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        cwd=ROOT,
        env=env,
    )
    verdict_path = results / "verdict.json"
    assert verdict_path.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    body = json.loads(verdict_path.read_text(encoding="utf-8"))
    failures_csv = results / "locust_failures.csv"
    with failures_csv.open(encoding="utf-8", newline="") as handle:
        failures = list(csv.DictReader(handle))
    return GateRun(
        done, {c["id"]: c for c in body["checks"]}, body["load"]["measurements"], failures
    )


# ---------------------------------------------------------------------- the cases
def test_the_right_service_passes(tmp_path: Path, aws: tuple, serve_double: Any) -> None:
    """The control: the double answering right PASSes every check, so each case below fails
    only for the one way it is wrong."""
    service, api_url = serve_double("right")
    run = run_gate(tmp_path, aws, api_url)
    assert run.done.returncode == 0, run.output
    assert all(c["status"] == "PASS" for c in run.checks.values()), run.output
    assert run.measured["total_failures"] == 0 and run.measured["task_errors"] == 0
    assert set(run.measured["kinds"]) == {
        "ingest_single",
        "ingest_batch",
        "read_newest",
        "read_service",
    }
    assert run.measured["entries_stored"] > 30
    # Every request was signed with session credentials; only the preflight's probe was not.
    assert service.signed > 30 and service.unsigned == 1
    assert "load: verdict PASS" in run.done.stderr


@pytest.mark.breaks("LOAD-ERROR-RATIO")
def test_empty_reads_after_acknowledged_entries_fail(
    tmp_path: Path, aws: tuple, serve_double: Any
) -> None:
    """Reads answer 200 with an empty list although entries were acknowledged."""
    _service, api_url = serve_double("empty_reads")
    run = run_gate(tmp_path, aws, api_url, "--run-time", EMPTY_READS_RUN_TIME)
    assert run.done.returncode == 1, run.output
    assert run.failed("LOAD-ERROR-RATIO", "empty page, although this run had"), run.output
    # Both reads are caught, each once its grace is over.
    names = {f["Name"] for f in run.failures if "empty page" in f["Error"]}
    assert names == {"/logs/recent (all services)", "/logs/recent (one service)"}, run.errors()
    assert run.status("LOAD-INGEST-RATE") == "PASS"  # ingest was right


@pytest.mark.breaks("LOAD-ERROR-RATIO")
@pytest.mark.parametrize(
    ("behaviour", "kind", "problem"),
    [
        ("wrong_order", "/logs/recent (all services)", "entries are not newest first"),
        ("other_service", "/logs/recent (one service)", "entry of service 'loadtest-"),
    ],
)
def test_wrong_read_answers_fail(
    tmp_path: Path, aws: tuple, serve_double: Any, behaviour: str, kind: str, problem: str
) -> None:
    """Reads answer entries oldest first, or entries of other services for ?service_name=."""
    _service, api_url = serve_double(behaviour)
    run = run_gate(tmp_path, aws, api_url)
    assert run.done.returncode == 1, run.output
    assert run.failed("LOAD-ERROR-RATIO", f"GET {kind}: {problem}"), run.output


@pytest.mark.breaks("LOAD-ERROR-RATIO")
@pytest.mark.parametrize(
    ("behaviour", "problem"),
    [
        ("batch_other_ids", "result 0 is not the entry sent at that index"),
        ("batch_fewer", "without 10 results"),
    ],
)
def test_wrong_batch_answers_fail(
    tmp_path: Path, aws: tuple, serve_double: Any, behaviour: str, problem: str
) -> None:
    """Batches answer 201 whose results name other log ids, or cover fewer entries."""
    _service, api_url = serve_double(behaviour)
    run = run_gate(tmp_path, aws, api_url)
    assert run.done.returncode == 1, run.output
    assert run.failed("LOAD-ERROR-RATIO", f"POST /logs (batch): 201: {problem}"), run.output
    batch = [f for f in run.failures if f["Name"] == "/logs (batch)"]
    assert batch and all(problem in f["Error"] for f in batch), run.errors()
    batches = run.measured["kinds"]["ingest_batch"]
    assert batches["failures"] == batches["requests"] > 0, batches
    # Entries the answer does not show stored are not counted: singles only (1 entry each).
    singles = run.measured["kinds"]["ingest_single"]
    assert run.measured["entries_stored"] == singles["requests"] - singles["failures"]


@pytest.mark.breaks("LOAD-ERROR-RATIO", "LOAD-INGEST-SINGLE-P50")
def test_fast_500s_fail_and_latency_is_judged_over_successes(
    tmp_path: Path, aws: tuple, serve_double: Any
) -> None:
    """3 requests in 5 answer 500 at once, the others after 400 ms: the error ratio fails,
    and the P50 is the successes' (~400 ms > 250 ms), not one the fast 500s pull down."""
    _service, api_url = serve_double("fast_500s")
    run = run_gate(tmp_path, aws, api_url)
    assert run.done.returncode == 1, run.output
    assert run.failed("LOAD-ERROR-RATIO", "status 500: "), run.output
    for kind, check_id in (
        ("ingest_single", "LOAD-INGEST-SINGLE-P50"),
        ("read_newest", "LOAD-READ-NEWEST-P50"),
    ):
        stats = run.measured["kinds"][kind]
        assert stats["failures"] > 0 and stats["successes_timed"] > 0, stats
        assert stats["p50_ms"] >= SLOW_SUCCESS_S * 1000 * 0.9, stats
        check = run.checks[check_id]
        assert check["status"] == "FAIL", check
        assert "successful requests" in check["detail"] and "failed excluded" in check["detail"]


@pytest.mark.breaks("LOAD-WINDOW")
def test_a_service_that_stops_answering_halfway_fails(
    tmp_path: Path, aws: tuple, serve_double: Any
) -> None:
    """2.5 s into the run the service stops answering (connections accepted, no answer): the
    hung requests are never recorded, so neither the error ratio nor latency sees them; the
    measured window does."""
    service, api_url = serve_double("stops_halfway")
    run = run_gate(tmp_path, aws, api_url)
    assert run.done.returncode == 1, run.output
    window = run.checks["LOAD-WINDOW"]
    assert window["status"] == "FAIL", run.output
    assert "early" in window["detail"], window
    assert service.signed > 10


@pytest.mark.breaks("LOAD-ERROR-RATIO")
def test_requests_that_never_get_an_answer_fail(
    tmp_path: Path, aws: tuple, serve_double: Any
) -> None:
    """Two requests hang (connection accepted, no answer) while the others are answered
    right: Locust records neither (their users are killed at the stop timeout, before the
    client's own timeout), so the gate counts them itself, as failures."""
    service, api_url = serve_double("some_hang")
    run = run_gate(tmp_path, aws, api_url)
    assert run.done.returncode == 1, run.output
    assert run.measured["unanswered"] == len(HUNG_REQUESTS), run.measured
    assert run.failed("LOAD-ERROR-RATIO", "2 requests got no answer"), run.output
    assert run.measured["total_failures"] == 0  # what Locust recorded was all right
    assert service.signed > max(HUNG_REQUESTS)
