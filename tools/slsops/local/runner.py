"""The local stack's process: start it, serve until a signal, stop; the detached child's main.

``python -m slsops.local.runner`` is what ``slsops local up --detach`` starts in the background
(``slsops.local.process``); ``slsops local up`` without --detach runs ``run_foreground`` in its
own process. The stack itself (start, stop) is ``slsops.local.lifecycle``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from slsops.errors import SlsopsError
from slsops.local import startup_cache
from slsops.local.lifecycle import DEFAULT_API_PORT, DEFAULT_AWS_PORT, LocalStack, StackOptions


def serve_until_signalled(stack: LocalStack) -> None:
    """Block until SIGINT or SIGTERM, then stop the stack (main thread only)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        print("slsops local: stopping ...", file=sys.stderr, flush=True)
        began = time.monotonic()
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print(
            f"slsops local: stopped in {time.monotonic() - began:.1f} s",
            file=sys.stderr,
            flush=True,
        )


def run_foreground(options: StackOptions) -> None:
    """``slsops local up`` without --detach (and the detached child's body)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    stack = LocalStack(options)
    stop_requested = threading.Event()

    def early_stop(signum: int, _frame: Any) -> None:
        stop_requested.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, early_stop)  # SIGTERM during start-up
    try:
        stack.start()
    except startup_cache.ReplayDiverged as exc:  # stopped; the entry is discarded
        print(f"slsops local: {exc}; starting again with Terraform", file=sys.stderr, flush=True)
        restart_without_cache(options)
    finally:
        signal.signal(signal.SIGTERM, previous)
    serve_until_signalled(stack)


def restart_without_cache(options: StackOptions) -> None:
    """Replace this process with a runner that applies (same pid: ``local up`` waits on it).

    moto's state lives in this process and a diverged replay left it half-built: a new
    process starts from an empty one. Our sockets close on exec; no worker has started yet.
    """
    os.environ[startup_cache.NO_CACHE_ENV] = "1"  # at most one restart
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "slsops.local.runner", "--stack", str(options.stack_path)]
    argv += ["--aws-port", str(options.aws_port), "--api-port", str(options.api_port)]
    os.execv(sys.executable, argv)  # noqa: S606  our runner module, argv list, no shell


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m slsops.local.runner", description=__doc__)
    parser.add_argument("--stack", type=Path, required=True)
    parser.add_argument("--aws-port", type=int, default=DEFAULT_AWS_PORT)
    parser.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    try:
        run_foreground(StackOptions(args.stack, args.aws_port, args.api_port))
    except SlsopsError as exc:
        print(f"slsops: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # one line, as every slsops error
        print(f"slsops: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    # Stopped cleanly: servers, workers and the stack file are gone. Exit now rather than let
    # the interpreter wait for idle keep-alive connection threads (`local down` waits on us).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
