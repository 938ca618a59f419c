"""Run deployed Lambda functions locally: worker processes per function, fed by the emulator.

moto cannot invoke a function without Docker, so the local stack runs the function's own code
(the zip moto holds) in child processes (``slsops.local.lambda_worker``), one small pool per
function so that environments and module names of two functions never mix. A worker is started
on first use, imports the handler once and then serves invocations one at a time, as a Lambda
execution environment does. When the function's code, handler or environment changes in the
embedded AWS, its old workers are retired and new ones start on the next call. Workers run
with the credentials of the function's execution role (``slsops.local.execution_role``); a
pool is replaced by fresh environments with a new session before that session expires.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from slsops.local import execution_role
from slsops.local.execution_role import RoleCredentials

log = logging.getLogger(__name__)

INIT_TIMEOUT_S = 30.0  # Lambda allows 10 s of init; a loaded 2-core CI box needs more slack
STOP_TIMEOUT_S = 5.0
CREDENTIALS_REFRESH_MARGIN = timedelta(minutes=10)  # new environments before the session ends


@dataclass(frozen=True)
class FunctionSpec:
    """What a worker needs to behave as the deployed function."""

    name: str
    arn: str
    handler: str
    code_zip: bytes = field(repr=False)
    code_sha256: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    role_arn: str = ""  # the execution role the function's code runs as

    @property
    def fingerprint(self) -> str:
        """Changes whenever a redeployment of the function would start new environments."""
        blob = json.dumps(
            [
                self.arn,
                self.handler,
                self.code_sha256,
                sorted(self.environment.items()),
                self.timeout_s,
                self.memory_mb,
                self.role_arn,
            ]
        )
        return hashlib.sha256(blob.encode()).hexdigest()


def moto_function(function_arn: str) -> Any | None:
    """The function (ARN, alias allowed) in moto's lambda backend in process; None if unknown."""
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    if len(parts) < 7:
        return None
    region, account_id = parts[3], parts[4]
    if account_id not in dict.keys(lambda_backends):
        return None
    try:
        return lambda_backends[account_id][region].get_function(function_arn)
    except Exception:
        return None


def function_spec_from_moto(function_arn: str) -> FunctionSpec | None:
    """Read a function (name or ARN, alias allowed) from moto's lambda backend in process."""
    fn = moto_function(function_arn)
    if fn is None:
        return None
    return FunctionSpec(
        name=fn.function_name,
        arn=function_arn,  # as invoked (alias kept): the context's invoked_function_arn
        handler=fn.handler,
        code_zip=fn.code_bytes,
        code_sha256=fn.code_sha_256,
        environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        timeout_s=int(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        role_arn=str(fn.role or ""),
    )


class InvocationError(Exception):
    """The function crashed, timed out or could not start (API Gateway answers 502)."""


class _Worker:
    """One child process and the parent's end of its socket."""

    def __init__(self, spec: FunctionSpec, env: dict[str, str], log_file: Path) -> None:
        parent_sock, child_sock = socket.socketpair()
        self.spec = spec
        # The parent makes and removes the code folder: a worker killed before it could clean
        # up (SIGKILL after the stop timeout) left a copy of the function in /tmp.
        self.code_dir = tempfile.mkdtemp(prefix="slsops-lambda-")
        try:
            with log_file.open("ab") as log_handle:
                self.process = subprocess.Popen(  # noqa: S603  our worker module, argv list
                    [
                        sys.executable,
                        "-m",
                        "slsops.local.lambda_worker",
                        "--fd",
                        str(child_sock.fileno()),
                        "--code-dir",
                        self.code_dir,
                    ],
                    pass_fds=(child_sock.fileno(),),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_handle,
                    stderr=log_handle,
                )
        except BaseException:
            shutil.rmtree(self.code_dir, ignore_errors=True)
            raise
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        self.conn.send({"zip": spec.code_zip, "handler": spec.handler})
        reply = self._receive(INIT_TIMEOUT_S)
        if not reply.get("ready"):
            self.stop()
            raise InvocationError(f"init failed: {reply.get('error')}")

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        try:
            if not self.conn.poll(timeout_s):
                self.stop()
                raise InvocationError(f"timed out after {timeout_s:.0f} s")
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            self.stop()
            raise InvocationError(f"worker exited ({exc.__class__.__name__})") from None

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        deadline = time.time() + self.spec.timeout_s
        try:
            self.conn.send({"event": event, "request_id": request_id, "deadline": deadline})
        except OSError as exc:
            self.stop()
            raise InvocationError(f"worker gone ({exc})") from None
        reply = self._receive(self.spec.timeout_s + 0.5)
        if "error" in reply:
            raise InvocationError(reply["error"])
        return reply.get("result")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        shutil.rmtree(self.code_dir, ignore_errors=True)


class _FunctionPool:
    """Up to ``size`` workers of one function version; callers wait for an idle one."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: dict[str, str],
        log_file: Path,
        size: int,
        credentials_expire: datetime | None = None,
    ):
        self.spec, self.env, self.log_file, self.size = spec, env, log_file, size
        self.credentials_expire = credentials_expire  # new environments before this
        self.idle: list[_Worker] = []
        self.count = 0
        self.retired = False
        self.cond = threading.Condition()

    def acquire(self, wait_s: float) -> _Worker:
        deadline = time.monotonic() + wait_s
        with self.cond:
            while True:
                while self.idle:
                    worker = self.idle.pop()
                    if worker.alive:
                        return worker
                    self.count -= 1
                if self.count < self.size:
                    self.count += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise InvocationError("no free execution environment")
                self.cond.wait(remaining)
        try:
            return _Worker(self.spec, self.env, self.log_file)
        except BaseException:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            raise

    def release(self, worker: _Worker) -> None:
        with self.cond:
            if worker.alive and not self.retired:
                self.idle.append(worker)
            else:
                self.count -= 1
                worker.stop()
            self.cond.notify()

    def retire(self) -> None:
        with self.cond:
            self.retired = True
            idle, self.idle = self.idle, []
            self.count -= len(idle)
        for worker in idle:
            worker.stop()


class LambdaWorkers:
    """All local execution environments of one local stack."""

    def __init__(
        self,
        moto_url: str,
        log_dir: Path,
        pool_size: int = 2,
        refresh_margin: timedelta = CREDENTIALS_REFRESH_MARGIN,
    ) -> None:
        self.moto_url = moto_url
        self.refresh_margin = refresh_margin
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pool_size = pool_size
        self._pools: dict[str, _FunctionPool] = {}  # function ARN -> current version's pool
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def environment(self, spec: FunctionSpec, credentials: RoleCredentials) -> dict[str, str]:
        """The process environment of a worker, as Lambda's runtime sets it (plus the endpoint)."""
        region = spec.arn.split(":")[3]
        env = {
            key: os.environ[key] for key in ("PATH", "LANG", "TMPDIR", "HOME") if key in os.environ
        }
        env.update(spec.environment)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{spec.code_sha256[:12]}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "_HANDLER": spec.handler,
                "SLSOPS_FUNCTION_ARN": spec.arn,
                "PYTHONUNBUFFERED": "1",
                **credentials.environment(),
            }
        )
        return env

    def _pool_for(self, spec: FunctionSpec) -> _FunctionPool:
        with self._lock:
            if self._closed:
                raise InvocationError("local stack is stopping")
            pool = self._pools.get(spec.arn)
            fresh_until = datetime.now(UTC) + self.refresh_margin
            if (
                pool is not None
                and pool.spec.fingerprint == spec.fingerprint
                and pool.credentials_expire is not None
                and pool.credentials_expire > fresh_until
            ):
                return pool
            if pool is not None:
                pool.retire()  # code changed, or the role's session is about to expire
            try:
                credentials = execution_role.mint(spec.role_arn, spec.name, spec.arn.split(":")[3])
            except execution_role.ExecutionRoleError as exc:
                raise InvocationError(f"cannot assume the execution role: {exc}") from None
            log_file = self.log_dir / f"{spec.name}.log"
            pool = _FunctionPool(
                spec,
                self.environment(spec, credentials),
                log_file,
                self.pool_size,
                credentials.expiration,
            )
            self._pools[spec.arn] = pool
            return pool

    def invoke(self, spec: FunctionSpec, event: dict[str, Any], request_id: str) -> Any:
        """Run one invocation; InvocationError on crash, timeout or failed init."""
        pool = self._pool_for(spec)
        worker = pool.acquire(wait_s=spec.timeout_s + INIT_TIMEOUT_S)
        with self._lock:
            self._busy.add(worker)
        try:
            return worker.invoke(event, request_id)
        finally:
            with self._lock:
                self._busy.discard(worker)
            pool.release(worker)

    def warm(self, spec: FunctionSpec) -> None:
        """Start one environment ahead of the first request (cold starts off the clock)."""
        pool = self._pool_for(spec)
        pool.release(pool.acquire(wait_s=INIT_TIMEOUT_S))

    def pids(self) -> list[int]:
        with self._lock:
            workers = [w for p in self._pools.values() for w in p.idle] + list(self._busy)
        return [w.process.pid for w in workers if w.alive]

    def close(self) -> None:
        """Stop every worker (idle and busy); later invocations fail fast."""
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
            busy = list(self._busy)
        for pool in pools:
            pool.retire()
        for worker in busy:
            worker.stop()
