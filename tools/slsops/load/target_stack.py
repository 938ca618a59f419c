"""The stack a load run targets: the one given, on loopback when local, or one started for
the run and always stopped after it."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from slsops.deployment.stack import load_stack
from slsops.errors import PreflightError, UsageError

LOCAL_UP_TIMEOUT_S = 240
LOCAL_DOWN_TIMEOUT_S = 120


def _is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_loopback(stack_path: Path) -> str:
    """The stack's API URL; a local stack must be on loopback (UsageError otherwise)."""
    stack = load_stack(stack_path)
    if stack.is_local:
        for what, url in (("api_url", stack.api_url), ("local_endpoint_url", stack.endpoint_url)):
            if not _is_loopback(url):
                raise UsageError(f"local stack {stack_path}: {what} {url} is not on loopback")
    return stack.api_url


def _slsops(*args: str) -> list[str]:
    return [sys.executable, "-m", "slsops.cli", *args]


@contextmanager
def local_stack_if_needed(stack: Path | None) -> Iterator[Path]:
    """Yield ``stack``, or a local stack started for this run and always stopped after it."""
    if stack is not None:
        yield stack
        return
    folder = Path(tempfile.mkdtemp(prefix="slsops-load-"))
    path = folder / "local.json"
    print(f"load: starting a local stack ({path})", file=sys.stderr, flush=True)
    try:
        up = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            _slsops(
                "local",
                "up",
                "--detach",
                "--stack",
                str(path),
                "--aws-port",
                "0",
                "--api-port",
                "0",
            ),
            timeout=LOCAL_UP_TIMEOUT_S,
            check=False,
        )
        if up.returncode != 0:
            raise PreflightError(f"`slsops local up` failed with exit code {up.returncode}")
        yield path
    finally:
        if path.exists():
            print("load: stopping the local stack", file=sys.stderr, flush=True)
            subprocess.run(  # noqa: S603  our own CLI, argv list, no shell
                _slsops("local", "down", "--stack", str(path)),
                timeout=LOCAL_DOWN_TIMEOUT_S,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)
