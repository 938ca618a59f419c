"""The local stack's lifecycle: start every part, write the stack file; stop and release all.

Phases (each timed, progress on stderr): bind both loopback ports (so a taken port fails in
the first second, not after the apply), find Terraform and its provider, build the Lambda zip,
start the embedded AWS (moto, in this process, behind the gap fixes), create the local operator,
deploy ``infra/`` (``slsops.local.infra_deploy``: apply or replay a recorded apply), start the
API Gateway emulator, warm one worker per function, write the stack file. ``stop()`` releases
every worker, server and port and removes the stack file; ``slsops.local.runner`` serves between.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slsops.contract import numbers
from slsops.errors import SlsopsError, UsageError
from slsops.local import apply as tf_apply
from slsops.local import deployer, stack_file, startup_cache
from slsops.local.emulator import ApiGatewayEmulator, GatewayRequestHandler
from slsops.local.infra_deploy import deploy_infra
from slsops.local.lambda_workers import LambdaWorkers, function_spec_from_moto
from slsops.local.startup_phases import Phases

log = logging.getLogger("slsops.local")

DEFAULT_AWS_PORT = 4566
DEFAULT_API_PORT = 4567
ZIP_ENV = "SLSOPS_LAMBDA_ZIP"  # use a prebuilt zip instead of building one


def workers_from_environment() -> int:
    """``SLSOPS_LOCAL_WORKERS`` (1-16), else 2; UsageError for anything else."""
    name, most = numbers.LOCAL_WORKERS_ENV, numbers.LOCAL_WORKERS_MAX
    text = os.environ.get(name, "").strip()
    if not text:
        return numbers.LOCAL_WORKERS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= most:
        raise UsageError(f"{name}={text!r}: give a whole number from 1 to {most}")
    return int(text)


def repo_root() -> Path:
    """The checkout holding infra/ (the package lives in tools/slsops)."""
    return Path(__file__).resolve().parents[3]


@dataclass
class StackOptions:
    """What one ``slsops local up`` may vary: where its stack file goes, its ports, its region."""

    stack_path: Path
    aws_port: int = DEFAULT_AWS_PORT
    api_port: int = DEFAULT_API_PORT
    region: str = "us-east-1"
    infra_dir: Path = field(default_factory=lambda: repo_root() / "infra")
    workers_per_function: int = field(default_factory=workers_from_environment)
    use_cache: bool = True  # the start-up cache (slsops.local.startup_cache)


def _bind(port: int, app: Any, flag: str, request_handler: Any = None) -> Any:
    """A threaded WSGI server on 127.0.0.1:port (we bind: werkzeug would print and exit)."""
    import socket

    from werkzeug.serving import make_server

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no conflict
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise _cannot_listen(port, flag, exc) from None
    kwargs = {"request_handler": request_handler} if request_handler else {}
    try:
        return make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno(), **kwargs)
    finally:
        listener.close()  # the server holds its own duplicate of the socket


def _bind_embedded_aws(port: int, app: Any) -> Any:
    """The embedded AWS's keep-alive server on 127.0.0.1:port (``keepalive_server``)."""
    from slsops.local.gateway_http import READ_TIMEOUT_S
    from slsops.local.keepalive_server import KeepAliveServer

    try:
        return KeepAliveServer(app, port, READ_TIMEOUT_S)
    except OSError as exc:
        raise _cannot_listen(port, "--aws-port", exc) from None


def _cannot_listen(port: int, flag: str, exc: OSError) -> UsageError:
    if exc.errno == errno.EADDRINUSE:
        return UsageError(
            f"port {port} on 127.0.0.1 is in use; pass {flag} 0 to pick a free one "
            "or stop what holds it"
        )
    return UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")


def check_prerequisites() -> None:
    """Terraform and the provider (exit 2 with one line naming what is missing)."""
    from slsops import terraform as tf

    try:
        tf.find_terraform()
        tf.plugin_dir()
    except tf.TerraformMissingError as exc:
        raise UsageError(str(exc)) from None


def lambda_zip() -> Path:
    prebuilt = os.environ.get(ZIP_ENV)
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file():
            raise UsageError(f"{ZIP_ENV}={prebuilt} is not a file")
        return path
    try:
        from slsops.packaging import build_lambda_zip
    except ImportError as exc:
        raise UsageError(f"cannot build the Lambda zip: {exc}") from None
    try:
        return Path(build_lambda_zip())
    except SlsopsError:
        raise
    except Exception as exc:  # e.g. no index to fetch the zip's dependencies from
        raise SlsopsError(f"cannot build the Lambda zip: {exc}") from None


class LocalStack:
    """Everything one ``slsops local up`` runs; ``start()`` then ``stop()`` (idempotent)."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.workdir = stack_file.workdir_for(options.stack_path)
        self.phases = Phases()
        self.moto_server: Any = None
        self.recorder: Any = None
        self.api_server: Any = None
        self.workers: LambdaWorkers | None = None
        self.emulator: ApiGatewayEmulator | None = None
        self.moto_url = ""
        self.api_port = 0
        self.outputs: dict[str, Any] = {}
        self._threads: list[threading.Thread] = []
        self._serving: list[Any] = []
        self._stopped = False

    # ---------------------------------------------------------------- start
    def start(self) -> dict[str, Any]:
        """Bring the whole stack up and write the stack file; returns its outputs."""
        from slsops.local.aws_app import build_moto_app
        from slsops.local.operator import create_admin, create_operator

        options = self.options
        try:
            with self.phases.phase("binding ports"):
                self.workers = LambdaWorkers(
                    "", self.workdir / "logs", pool_size=options.workers_per_function
                )
                self.emulator = ApiGatewayEmulator(self.workers)
                self.api_server = _bind(
                    options.api_port, self.emulator, "--api-port", GatewayRequestHandler
                )
                moto_app = build_moto_app(enforce_iam=True)
                # Between the authorisation layer and moto: what the start-up cache records.
                self.recorder = startup_cache.RequestRecorder(moto_app.app)
                moto_app.app = self.recorder
                self.moto_server = _bind_embedded_aws(options.aws_port, moto_app)
                self.moto_url = f"http://127.0.0.1:{self.moto_server.port}"
                self.api_port = self.api_server.port
                self.workers.moto_url = self.moto_url
            with self.phases.phase("checking terraform"):
                check_prerequisites()
            with self.phases.phase("building the lambda zip"):
                zip_path = lambda_zip()
            with self.phases.phase(f"starting the embedded AWS on {self.moto_url}"):
                self._serve(self.moto_server, "moto-server")
            with self.phases.phase("creating the local operator"):
                admin = create_admin()
                operator = create_operator(self.moto_url, options.region, admin)
            with self.phases.phase("terraform init"):
                inputs = tf_apply.LocalInputs(
                    region=options.region,
                    operator_arn=operator.arn,
                    external_ids=tf_apply.new_external_ids(),
                    lambda_zip_path=zip_path,
                    deployer=admin,
                    github_repository=deployer.LOCAL_GITHUB_REPOSITORY,
                )
                tf_dir = tf_apply.prepare_workdir(
                    options.infra_dir, self.workdir, self.moto_url, inputs
                )
                tf_apply.init(tf_dir)
            tf_outputs = deploy_infra(
                tf_dir,
                inputs,
                zip_path,
                admin,
                moto_url=self.moto_url,
                region=options.region,
                workdir=self.workdir,
                recorder=self.recorder,
                phases=self.phases,
                use_cache=options.use_cache,
            )
            with self.phases.phase(f"starting the API emulator on port {self.api_port}"):
                self.emulator.serve_api(
                    tf_outputs["api_id"]["value"],
                    str(tf_outputs["account_id"]["value"]),
                    tf_outputs["region"]["value"],
                )
                self._serve(self.api_server, "api-emulator")
            with self.phases.phase("warming the functions"):
                self._warm(tf_outputs)
            self.outputs = stack_file.local_outputs(
                tf_outputs,
                moto_url=self.moto_url,
                api_port=self.api_port,
                access_key_id=operator.access_key_id,
                secret_access_key=operator.secret_access_key,
                pid=os.getpid(),
            )
            self.outputs[tf_apply.ADMIN_OUTPUT] = tf_apply.admin_output(admin)
            stack_file.write(options.stack_path, self.outputs)
        except BaseException:
            self.stop(remove_stack_file=False)
            raise
        print(
            f"slsops local: ready in {self.phases.total:.1f} s: "
            f"API {self.outputs['api_url']['value']}, embedded AWS {self.moto_url}, "
            f"stack file {options.stack_path}",
            file=sys.stderr,
            flush=True,
        )
        return self.outputs

    def _serve(self, server: Any, name: str) -> None:
        thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        self._serving.append(server)

    def _warm(self, tf_outputs: dict[str, Any]) -> None:
        """Start one environment per deployed integration now, so first requests are not cold."""
        if self.workers is None or self.emulator is None:
            raise SlsopsError("the local stack is not started")
        arns = self.emulator.integration_function_arns(tf_outputs["stage_name"]["value"])
        if not arns:
            raise SlsopsError("the deployed API has no Lambda proxy integration")
        for arn in arns:
            spec = function_spec_from_moto(arn)
            if spec is None:
                raise SlsopsError(f"function {arn} is not in the embedded AWS after the apply")
            self.workers.warm(spec)

    # ---------------------------------------------------------------- stop
    def stop(self, remove_stack_file: bool = True) -> None:
        """Stop the emulator, the workers and moto; remove the stack file if it is ours."""
        if self._stopped:
            return
        self._stopped = True
        began = time.monotonic()
        for server in (self.api_server, self.moto_server):
            if server is None:
                continue
            if server in self._serving:  # shutdown() blocks forever on a server never served
                with contextlib.suppress(Exception):
                    server.shutdown()
            with contextlib.suppress(Exception):
                server.server_close()
        if self.workers is not None:
            self.workers.close()
        for thread in self._threads:
            thread.join(timeout=10)
        log.info("stopped servers and workers in %.1f s", time.monotonic() - began)
        if remove_stack_file:
            current = stack_file.read_raw(self.options.stack_path) or {}
            if (current.get("local_pid") or {}).get("value") == os.getpid():
                self.options.stack_path.unlink(missing_ok=True)
