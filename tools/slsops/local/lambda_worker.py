"""One Lambda function's runtime: a child process that imports the handler once and serves it.

Started by ``slsops.local.lambda_workers`` as ``python -m slsops.local.lambda_worker --fd N``
with the function's environment already set. The parent sends the code zip first, then one
invocation per message over a socket (``multiprocessing.connection`` framing):

    parent -> {"zip": bytes, "handler": "pkg.module.func", "timeout_s": 30, ...}
    child  -> {"ready": true} | {"ready": false, "error": "..."}
    parent -> {"event": {...}, "request_id": "...", "deadline": epoch_s}
    child  -> {"result": <handler return value>} | {"error": "Type: message"}

Stdlib only, so the function's modules are not shadowed by anything the toolkit imports. The
code directory goes first on ``sys.path``; the interpreter's site-packages follow it (the zip's
vendored packages win, the venv's fill in what the zip lacks).
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from multiprocessing.connection import Connection
from typing import Any


class LambdaContext:
    """The attributes and method of the context object the Python runtime passes."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("SLSOPS_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _load_handler(spec: dict[str, Any], code_dir: str) -> Any:
    with zipfile.ZipFile(io.BytesIO(spec["zip"])) as archive:
        archive.extractall(code_dir)
    os.environ["LAMBDA_TASK_ROOT"] = code_dir
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    module_name, _, func_name = spec["handler"].rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, func_name)


def serve(conn: Connection, code_dir: str) -> None:
    """Handshake, then answer invocations until the parent closes the socket."""
    spec = conn.recv()
    try:
        handler = _load_handler(spec, code_dir)
    except Exception as exc:  # Runtime.ImportModuleError on Lambda
        conn.send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    conn.send({"ready": True})
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        context = LambdaContext(message["request_id"], message["deadline"])
        try:
            result = handler(message["event"], context)
            conn.send({"result": result})
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            conn.send({"error": f"{type(exc).__name__}: {exc}"})
        sys.stdout.flush()
        sys.stderr.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--code-dir", help="an empty folder the parent made (and removes)")
    args = parser.parse_args()
    # SIGTERM from the parent unwinds normally, so the code folder is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    code_dir = args.code_dir or tempfile.mkdtemp(prefix="slsops-lambda-")
    try:
        serve(Connection(args.fd), code_dir)
    finally:
        shutil.rmtree(code_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
