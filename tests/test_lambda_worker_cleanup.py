"""A Lambda worker leaves no copy of the function behind, however it ends.

Each execution environment unpacks the function's zip into a folder of its own, which the
worker removed as it exited. Test runs had left ~150 copies in /tmp: a killed worker cannot
clean up, and even a normal stop raced (the parent closed the socket and sent SIGTERM at once;
the SIGTERM's exit landed in the middle of the worker's own removal). The parent now makes the
folder and removes it once the process is gone.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import tempfile
import threading
import time
import zipfile

import pytest

from slsops.local import lambda_workers
from slsops.local.lambda_workers import FunctionSpec, InvocationError, _Worker

# Ignores SIGTERM, as a handler stuck in native code would: only SIGKILL ends it.
STUBBORN = """
import signal
import time
signal.signal(signal.SIGTERM, signal.SIG_IGN)

def handler(event, context):
    if event.get("hang"):
        time.sleep(60)
    return {"statusCode": 200, "body": "ok"}
"""


def spec_of(source: str) -> FunctionSpec:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fn.py", source)
    return FunctionSpec(
        name="fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        handler="fn.handler",
        code_zip=buffer.getvalue(),
        code_sha256="x",
        environment={},
        timeout_s=5,
        memory_mb=128,
    )


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Temporary folders of this process and of its workers go to ``tmp_path``."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(lambda_workers, "STOP_TIMEOUT_S", 0.5)
    return tmp_path


def worker_env(scratch) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "TMPDIR": str(scratch)}


def _invoke_quietly(worker: _Worker, event: dict) -> None:
    with contextlib.suppress(InvocationError):
        worker.invoke(event, "hang")


def copies(scratch) -> list[str]:
    return sorted(p.name for p in scratch.glob("slsops-lambda-*"))


def test_a_worker_killed_outright_leaves_no_copy(scratch):
    worker = _Worker(spec_of(STUBBORN), worker_env(scratch), scratch / "fn.log")
    assert worker.invoke({}, "r1") == {"statusCode": 200, "body": "ok"}
    assert len(copies(scratch)) == 1
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)
    worker.stop()
    assert copies(scratch) == []


def test_a_busy_worker_that_ignores_sigterm_is_killed_and_leaves_no_copy(scratch):
    worker = _Worker(spec_of(STUBBORN), worker_env(scratch), scratch / "fn.log")
    hanging = threading.Thread(target=_invoke_quietly, args=(worker, {"hang": True}))
    hanging.start()
    time.sleep(0.3)  # the invocation is in the handler's sleep
    worker.stop()  # SIGTERM ignored: SIGKILL after the stop timeout
    hanging.join(10)
    assert worker.process.returncode == -signal.SIGKILL
    assert copies(scratch) == []


def test_a_worker_that_stops_normally_leaves_no_copy(scratch):
    plain = "def handler(event, context):\n    return 1\n"
    worker = _Worker(spec_of(plain), worker_env(scratch), scratch / "fn.log")
    assert worker.invoke({}, "r1") == 1
    worker.stop()
    assert worker.process.returncode == 0
    assert copies(scratch) == []
