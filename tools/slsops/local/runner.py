"""The local stack's lifetime: start everything, write the stack file, serve, stop cleanly.

Phases (each timed, progress on stderr): bind both loopback ports (so a taken port fails in
the first second, not after the apply), find Terraform and its provider, build the Lambda zip,
start the embedded AWS (moto, in this process, behind the gap fixes), create the local operator,
apply ``infra/`` (as the delivery pipeline's deploy role, ``slsops.local.deployer``; or replay a
recorded apply, ``slsops.local.startup_cache``), start the API Gateway emulator, warm one
worker per function, write the stack file. Then serve until SIGINT/SIGTERM; on the way out
every worker, server and port is released and the stack file removed.

``python -m slsops.local.runner`` is what ``slsops local up --detach`` starts in the background.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slsops.errors import SlsopsError, UsageError
from slsops.local import apply as tf_apply
from slsops.local import deployer, stack_file, startup_cache
from slsops.local.authz import principals
from slsops.local.emulator import ApiGatewayEmulator, GatewayRequestHandler
from slsops.local.lambda_workers import LambdaWorkers, function_spec_from_moto

log = logging.getLogger("slsops.local")

DEFAULT_AWS_PORT = 4566
DEFAULT_API_PORT = 4567
ZIP_ENV = "SLSOPS_LAMBDA_ZIP"  # use a prebuilt zip instead of building one


def repo_root() -> Path:
    """The checkout holding infra/ (the package lives in tools/slsops)."""
    return Path(__file__).resolve().parents[3]


@dataclass
class StackOptions:
    stack_path: Path
    aws_port: int = DEFAULT_AWS_PORT
    api_port: int = DEFAULT_API_PORT
    region: str = "us-east-1"
    infra_dir: Path = field(default_factory=lambda: repo_root() / "infra")
    workers_per_function: int = 2
    use_cache: bool = True  # the start-up cache (slsops.local.startup_cache)


class Phases:
    """Times each start-up phase and reports it on stderr."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.durations: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        print(f"slsops local: {name} ...", file=sys.stderr, flush=True)
        yield
        self.durations[name] = time.monotonic() - began
        print(
            f"slsops local: {name} done in {self.durations[name]:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    @property
    def total(self) -> float:
        return time.monotonic() - self.started


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
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on 127.0.0.1 is in use; pass {flag} 0 to pick a free one "
                "or stop what holds it"
            ) from None
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    kwargs = {"request_handler": request_handler} if request_handler else {}
    try:
        return make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno(), **kwargs)
    finally:
        listener.close()  # the server holds its own duplicate of the socket


def check_prerequisites() -> None:
    """Terraform and the provider (exit 2 with one line naming what is missing)."""
    from slsops import terraform as tf

    try:
        tf.find_terraform()
        tf.plugin_dir()
    except tf.TerraformMissingError as exc:
        raise UsageError(str(exc)) from None


def sha256_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def tf_versions(tf_dir: Path) -> str:
    """Terraform's and the providers' versions (the lock file names the provider's hashes)."""
    from slsops import terraform as tf

    lock = tf_dir / ".terraform.lock.hcl"
    lock_text = lock.read_text(encoding="utf-8") if lock.is_file() else ""
    binary = Path(tf.find_terraform())
    stat = binary.stat()
    return f"{binary}|{stat.st_size}|{stat.st_mtime_ns}|{lock_text}"


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
        from slsops.local.aws_app import TimedRequestHandler, build_moto_app
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
                self.moto_server = _bind(
                    options.aws_port, moto_app, "--aws-port", TimedRequestHandler
                )
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
            tf_outputs = self._deploy(tf_dir, inputs, zip_path, admin)
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

    def _deploy(
        self, tf_dir: Path, inputs: tf_apply.LocalInputs, zip_path: Path, admin: Any
    ) -> dict[str, Any]:
        """Apply infra/ (recording it for the start-up cache) or replay a recorded apply."""
        options = self.options
        if not options.use_cache or startup_cache.disabled():
            with self.phases.phase("terraform apply (as the deploy role)"):
                deployer.apply_as_deployer(tf_dir, self.moto_url, options.region)
                return tf_apply.outputs(tf_dir)
        key = startup_cache.cache_key(
            tf_dir,
            inputs.external_ids,
            {"zip": sha256_of(zip_path), "terraform": tf_versions(tf_dir)},
        )
        cached = startup_cache.load(key)
        if cached is not None:
            with self.phases.phase(f"replaying the cached apply ({len(cached.entries)} requests)"):
                subs = cached.substitutions(inputs.external_ids, admin.access_key_id)
                try:
                    with startup_cache.seeded(region=options.region):
                        startup_cache.replay(self.recorder.app, cached.entries, subs)
                except startup_cache.ReplayDiverged:
                    startup_cache.discard(key)  # the next start-up applies and records again
                    raise
                finally:
                    principals.SHARED.invalidate()  # IAM and STS changed around the layer
                startup_cache.restore_state(cached, self.workdir / "terraform.tfstate", subs)
                deployer.sign_in_as_deployer(tf_dir, self.moto_url, options.region)
                usage = cached.folder / deployer.USAGE_FILE
                if usage.is_file():
                    tf_apply.write_private(self.workdir / deployer.USAGE_FILE, usage.read_text())
                return startup_cache.restored_outputs(cached, subs)
        with self.phases.phase("terraform apply (as the deploy role, recorded)"):
            with startup_cache.seeded(region=options.region):
                self.recorder.start()
                try:
                    deployer.apply_as_deployer(tf_dir, self.moto_url, options.region)
                finally:
                    entries = self.recorder.stop()
            principals.SHARED.invalidate()  # the apply's sessions are gone
            tf_outputs = tf_apply.outputs(tf_dir)
            if self.recorder.foreign_draws:
                log.warning(
                    "start-up cache not stored: moto drew ids outside the recorded requests "
                    "(a replay would create other ids), at:\n%s",
                    "\n---\n".join(self.recorder.foreign_draws),
                )
                return tf_outputs
            try:
                startup_cache.save(
                    key,
                    entries,
                    self.workdir / "terraform.tfstate",
                    tf_outputs,
                    inputs.external_ids,
                    admin.access_key_id,
                    extra_files=[self.workdir / deployer.USAGE_FILE],
                )
            except OSError as exc:  # e.g. another start-up stored the same key meanwhile
                log.warning("start-up cache not stored: %s", exc)
        return tf_outputs

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
