"""Shared fixtures: ONE local stack for the whole pytest session (one terraform apply).

``local_stack`` runs ``slsops local up --detach`` on free ports with a stack file in a
temporary folder, yields the loaded ``Stack`` and, at the end of the session, stops it and
asserts that no process (runner or Lambda worker) and no port is left behind. The stack runs in
a process of its own: many tests use moto's in-process ``mock_aws``, whose reset would wipe a
stack living in the pytest process.

Under pytest-xdist (``nox -s tests`` runs ``-n 4 --dist loadfile`` on 2 cores) each worker is a
pytest session of its own, so each starts and stops its own stack on its own free ports, in its own
temporary folder; the teardown checks hold per worker.

``SLSOPS_TEST_STACK=<stack file>`` reuses a stack that is already running (quick local
iterations, with ``-n 0``: one process); it is then neither started nor stopped here.
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
# The longest files, which need nothing of a worker's stack but its start-up cache entry: they
# start first, so pytest-xdist (which hands out files in collection order) does not leave
# them for last. The other files keep their order.
STARTED_FIRST = ("test_startup_cache.py", "test_startup_cache_fallback.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in STARTED_FIRST)  # a stable sort


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


XDIST_WORKER_ENV = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker ("gw0", ...)


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets (any state, IPv4 and IPv6) whose local port is ``port``."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    found.discard("0")  # TIME_WAIT: no owner, and no obstacle to a bind with SO_REUSEADDR
    return found


def _socket_holders(inodes: set[str]) -> set[int]:
    """Processes holding any of these sockets (Linux /proc)."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    holders: set[int] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (proc / "fd").iterdir()):
                holders.add(int(proc.name))
        except OSError:
            continue
    return holders


def _xdist_worker_of(pid: int) -> str | None:
    """The pytest-xdist worker a process was started from (its environment or an ancestor's)."""
    for _ in range(64):  # bounded walk up the parents
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            parent = int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[1])
        except (OSError, IndexError, ValueError):
            return None
        for entry in environ:
            if entry.startswith(XDIST_WORKER_ENV.encode() + b"="):
                return entry.split(b"=", 1)[1].decode()
        if parent <= 1:
            return None
        pid = parent
    return None


def _taken_by_another_worker(port: int) -> bool:
    """Whether every socket on ``port`` belongs to another pytest-xdist worker's processes.

    A freed port goes back to the kernel's ephemeral range, where another worker's client
    connection or server may get it at once: that is not a port this stack left behind. Any
    socket whose holder is this worker's, or cannot be told, still counts as left behind.
    """
    mine = os.environ.get(XDIST_WORKER_ENV)
    if not mine:
        return False
    holders = _socket_holders(_socket_inodes(port))
    owners = {_xdist_worker_of(pid) for pid in holders}
    return bool(holders) and None not in owners and mine not in owners


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The session's local stack (started on first use)."""
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        # Tests break and repair the stack: two pytest-xdist workers on one stack would collide.
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        assert workers <= 1, f"{REUSE_ENV} is one stack for one process: run pytest with -n 0"
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
        busy = [
            p for p in (aws_port, api_port) if not _port_free(p) and not _taken_by_another_worker(p)
        ]
        assert not busy, f"ports still bound after the local stack stopped: {busy}"


@pytest.fixture(scope="session")
def operator_session(local_stack: Stack):
    """boto3 session of the local operator (the principal the client roles trust)."""
    return local_stack.session
