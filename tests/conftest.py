"""Shared fixtures: ONE local stack for the whole pytest session (one terraform apply).

``local_stack`` starts ``slsops local up`` detached on free ports with a stack file in a
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
from collections.abc import Iterator
from pathlib import Path

import pytest

from slsops.stack import Stack, load_stack

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
    from slsops.local import process

    stack_path = tmp_path_factory.mktemp("local-stack") / "local.json"
    pid = process.start_detached(stack_path, 0, 0, START_TIMEOUT_S)
    stack = load_stack(stack_path)
    aws_port = int(stack.endpoint_url.rsplit(":", 1)[1])
    api_port = int(stack["local_api_port"])
    try:
        yield stack
    finally:
        workers = _children(pid)
        process.stop_pid(pid)
        leftovers = [p for p in {pid, *workers} if _alive(p)]
        assert not leftovers, f"processes left behind by the local stack: {leftovers}"
        assert not stack_path.exists(), "the stack file outlived the stack"
        busy = [p for p in (aws_port, api_port) if not _port_free(p)]
        assert not busy, f"ports still bound after the local stack stopped: {busy}"


@pytest.fixture(scope="session")
def operator_session(local_stack: Stack):
    """boto3 session of the local operator (the principal the client roles trust)."""
    return local_stack.session
