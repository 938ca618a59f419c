"""Shared fixtures: ONE local stack for the whole pytest session (one terraform apply).

``local_stack`` runs ``slsops local up --detach`` on free ports with a stack file in a
temporary folder, yields the loaded ``Stack`` and, at the end of the session, stops it and
asserts that no process (runner or Lambda worker) and no port is left behind. The stack runs in
a process of its own: many tests use moto's in-process ``mock_aws``, whose reset would wipe a
stack living in the pytest process.

``SLSOPS_TEST_STACK=<stack file>`` reuses a stack that is already running (quick local
iterations); it is then neither started nor stopped here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from slsops.contract import numbers
from slsops.contract.numbers import PITR_LAG_ENV, TEST_PITR_LAG_S
from slsops.deployment.stack import Stack, load_stack

REUSE_ENV = "SLSOPS_TEST_STACK"
START_TIMEOUT_S = 600.0


def _children(pid: int) -> set[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(x) for x in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The session's local stack (started on first use)."""
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        yield load_stack(Path(reuse))
        return
    stack_path = tmp_path_factory.mktemp("local-stack") / "local.json"
    slsops = [sys.executable, "-m", "slsops.cli", "local"]
    up = subprocess.run(  # noqa: S603 - our own CLI
        [
            *slsops,
            "up",
            "--detach",
            "--aws-port",
            "0",
            "--api-port",
            "0",
            "--stack",
            str(stack_path),
            "--timeout",
            str(START_TIMEOUT_S),
        ],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S + 60,
        check=False,
        # The documented short PITR lag for tests: drills wait seconds for their point, not 5 min;
        # and a short read timeout, so the tests of a stalled client wait seconds, not 20 s.
        env={
            **os.environ,
            PITR_LAG_ENV: str(TEST_PITR_LAG_S),
            numbers.LOCAL_READ_TIMEOUT_ENV: str(numbers.TEST_LOCAL_READ_TIMEOUT_S),
        },
    )
    assert up.returncode == 0, f"slsops local up failed: {up.stderr[-2000:]}"
    stack = load_stack(stack_path)
    pid = int(stack["local_pid"])
    aws_port = int(stack.endpoint_url.rsplit(":", 1)[1])
    api_port = int(stack["local_api_port"])
    try:
        yield stack
    finally:
        workers = _children(pid)
        down = subprocess.run(  # noqa: S603 - our own CLI
            [*slsops, "down", "--stack", str(stack_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert down.returncode == 0, f"slsops local down failed: {down.stderr}"
        leftovers = [p for p in {pid, *workers} if _alive(p)]
        assert not leftovers, f"processes left behind by the local stack: {leftovers}"
        assert not stack_path.exists(), "the stack file outlived the stack"
        busy = [p for p in (aws_port, api_port) if not _port_free(p)]
        assert not busy, f"ports still bound after the local stack stopped: {busy}"


@pytest.fixture(scope="session")
def operator_session(local_stack: Stack):
    """boto3 session of the local operator (the principal the client roles trust)."""
    return local_stack.session
