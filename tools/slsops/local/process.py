"""Find, start and stop the background process of a detached local stack.

``slsops local up --detach`` starts ``python -m slsops.local.runner`` in a session of its own
and waits (bounded) until it has written the stack file; ``slsops local down`` sends SIGTERM to
the pid the stack file names, waits, and only then SIGKILLs. A pid is only signalled when its
command line shows it is a slsops local stack (pids are reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from slsops.errors import SlsopsError, UsageError
from slsops.local import stack_file

DETACH_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.25


def is_stack_process(pid: int) -> bool:
    """True when ``pid`` is alive and runs a slsops local stack.

    Never for a pid below 1: ``kill(0, ...)`` signals the caller's own process group.
    """
    if pid < 1:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the stack file
    return b"slsops" in cmdline


def recorded_pid(stack_path: Path) -> int | None:
    outputs = stack_file.read_raw(stack_path) or {}
    value = (outputs.get("local_pid") or {}).get("value")
    text = str(value)
    if not isinstance(value, int | float | str) or not (text.isascii() and text.isdigit()):
        return None
    return int(text) or None  # 0 is no process (and kill(0) is our own process group)


def start_detached(
    stack_path: Path, aws_port: int, api_port: int, timeout_s: float = DETACH_TIMEOUT_S
) -> int:
    """Start the runner in the background; return its pid once the stack file is written."""
    stack_path = stack_path.resolve()
    log_path = stack_file.workdir_for(stack_path) / "runner.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "slsops.local.runner",
        "--stack",
        str(stack_path),
        "--aws-port",
        str(aws_port),
        "--api-port",
        str(api_port),
    ]
    with log_path.open("w") as log:
        child = subprocess.Popen(  # noqa: S603  our runner module, argv list, no shell
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    shown = 0
    while time.monotonic() < deadline:
        shown = _echo_progress(log_path, shown)
        if recorded_pid(stack_path) == child.pid:
            return child.pid
        code = child.poll()
        if code is not None:
            raise _failure_from_log(log_path, code)
        time.sleep(POLL_S)
    stop_pid(child.pid)
    raise SlsopsError(
        f"the local stack was not ready within {timeout_s:.0f} s and was stopped (log: {log_path})"
    )


def _echo_progress(log_path: Path, shown: int) -> int:
    """Copy the runner's new progress lines to our stderr; returns how many lines were seen."""
    try:
        lines = log_path.read_text(errors="replace").split("\n")[:-1]  # complete lines only
    except OSError:
        return shown
    for line in lines[shown:]:
        if line.startswith("slsops local:"):
            print(line, file=sys.stderr, flush=True)
    return len(lines)


def _failure_from_log(log_path: Path, code: int) -> SlsopsError:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("slsops: ")]
    last = errors[-1] if errors else (lines[-1] if lines else f"exit code {code}")
    message = last.removeprefix("slsops: error: ").removeprefix("slsops: ")
    error = UsageError(message) if code == 2 else SlsopsError(f"{message} (log: {log_path})")
    return error


def stop_pid(pid: int, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """SIGTERM, wait up to ``timeout_s``, then SIGKILL; True when it had to be killed."""
    if pid < 1:  # kill(0) and killpg(0) would signal our own process group
        raise ValueError(f"not a process id: {pid}")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return False
        time.sleep(POLL_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the runner leads its session: workers go too
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # a zombie that is not our child still answers kill(0); /proc tells the truth
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
