"""``slsops local up|down|status|seed``: the local stack on loopback (no AWS account needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from slsops.commands.common import help_epilog
from slsops.contract import numbers
from slsops.deployment.api_client import RoleAssumptionError, RoleCredentials, assume_role
from slsops.deployment.preflight import caller_identity
from slsops.deployment.stack import Stack, default_stack_path, load_stack
from slsops.errors import Interrupted, PreflightError, SlsopsError, UsageError
from slsops.local import process, stack_file
from slsops.options import StackOption

local_app = typer.Typer(
    help="The local stack: embedded AWS (moto) + API Gateway emulator running the real handlers.",
    no_args_is_help=True,
)

AwsPortOption = Annotated[
    int, typer.Option("--aws-port", help="Port of the embedded AWS on 127.0.0.1 (0: a free one)")
]
ApiPortOption = Annotated[
    int, typer.Option("--api-port", help="Port of the API emulator on 127.0.0.1 (0: a free one)")
]


def _stack_path(stack: Path | None) -> Path:
    return Path(stack) if stack else default_stack_path()


def _refuse_if_running(path: Path) -> None:
    """Exit 2 when ``path`` names a running local stack, or a file that is no local stack's
    stack file (an AWS deployment's, say: it is never deleted); a stale one is removed."""
    if _local_outputs(path) is None:
        return
    pid = process.recorded_pid(path)
    if pid is not None and process.is_stack_process(pid):
        raise UsageError(
            f"a local stack is already running (pid {pid}) for {path}; "
            "run `slsops local down` first or pass another --stack"
        )
    path.unlink(missing_ok=True)  # stale: its process is gone


def _check_port(port: int, flag: str) -> None:
    if not 0 <= port <= 65535:
        raise UsageError(f"{flag} must be 0..65535, not {port}")


@local_app.command(
    "up",
    epilog=help_epilog(
        [
            "slsops local up                   # foreground on 4566/4567 until Ctrl-C",
            "slsops local up --detach          # background; returns when ready",
            "slsops local up -d --aws-port 0 --api-port 0 --stack /tmp/s/local.json",
        ],
        [
            ("0", "ready (--detach) or stopped by Ctrl-C after running"),
            ("1", "the stack failed to start (the log is named)"),
            ("2", "bad options, a stack already running, or a missing prerequisite"),
            ("130", "interrupted during start-up; everything started is stopped"),
        ],
    ),
)
def up(
    stack: StackOption = None,
    aws_port: AwsPortOption = 4566,
    api_port: ApiPortOption = 4567,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; return when ready")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1,
            max=numbers.MAX_TIMEOUT_S,
            help="Seconds --detach waits for the stack to be ready (at most a day)",
        ),
    ] = process.DETACH_TIMEOUT_S,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Apply with Terraform, not from the start-up cache"),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=numbers.LOCAL_WORKERS_MAX,
            envvar=numbers.LOCAL_WORKERS_ENV,
            help="Execution environments (worker processes) per Lambda function",
        ),
    ] = numbers.LOCAL_WORKERS,
) -> None:
    """Start the local stack and write the stack file (foreground until Ctrl-C by default)."""
    from slsops.local import startup_cache
    from slsops.local.runner import StackOptions, run_foreground

    if no_cache:  # the detached runner inherits it
        os.environ[startup_cache.NO_CACHE_ENV] = "1"
    os.environ[numbers.LOCAL_WORKERS_ENV] = str(workers)  # the detached runner inherits it

    path = _stack_path(stack)
    _check_port(aws_port, "--aws-port")
    _check_port(api_port, "--api-port")
    _refuse_if_running(path)
    if detach:
        pid = process.start_detached(path, aws_port, api_port, timeout)
        outputs = stack_file.read_raw(path) or {}
        api_url = (outputs.get("api_url") or {}).get("value")
        typer.echo(f"local stack running (pid {pid}): API {api_url}, stack file {path}")
        return
    try:
        run_foreground(StackOptions(path.resolve(), aws_port, api_port))
    except KeyboardInterrupt:
        raise Interrupted("interrupted during start-up; everything started is stopped") from None


def _local_outputs(path: Path) -> dict | None:
    """The local stack file's outputs; None when there is none; exit 2 when it is not one."""
    if not path.exists():
        return None
    outputs = stack_file.read_raw(path)
    if outputs is None:
        raise UsageError(f"stack file {path} is not readable JSON (a local stack's stack file)")
    if "local_endpoint_url" not in outputs:
        raise UsageError(f"{path} describes an AWS deployment, not a local stack")
    return outputs


@local_app.command(
    "down",
    epilog=help_epilog(
        ["slsops local down", "slsops local down --stack results/suite/stack.json"],
        [
            ("0", "stopped, or already down"),
            ("2", "the stack file is malformed or names an AWS deployment"),
        ],
    ),
)
def down(stack: StackOption = None) -> None:
    """Stop the local stack named by the stack file and remove the file."""
    path = _stack_path(stack)
    if _local_outputs(path) is None:
        typer.echo(f"no local stack at {path}; nothing to stop")
        return
    pid = process.recorded_pid(path)
    if pid is not None and process.is_stack_process(pid):
        killed = process.stop_pid(pid)
        how = "killed after the stop timeout" if killed else "stopped"
        typer.echo(f"local stack (pid {pid}) {how}")
    else:
        typer.echo(f"local stack (pid {pid}) was not running; removed its stack file")
    path.unlink(missing_ok=True)


@local_app.command(
    "status",
    epilog=help_epilog(
        ["slsops local status", "slsops local status --json --stack .slsops/local.json"],
        [
            ("0", "up: the process runs and the embedded AWS answers"),
            ("1", "down or unreachable"),
            ("2", "the stack file is malformed or names an AWS deployment"),
        ],
    ),
)
def status(
    stack: StackOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Whether the local stack is up: pid, ports, resources."""
    import requests

    path = _stack_path(stack)
    outputs = _local_outputs(path) or {}
    values = {
        name: entry.get("value") for name, entry in outputs.items() if isinstance(entry, dict)
    }
    pid = process.recorded_pid(path) if outputs else None
    alive = pid is not None and process.is_stack_process(pid)
    reachable = False
    if alive and values.get("local_endpoint_url"):
        try:
            requests.get(f"{values['local_endpoint_url']}/moto-api/", timeout=2)
            reachable = True
        except requests.RequestException:
            reachable = False
    state_file = stack_file.workdir_for(path) / "terraform.tfstate"
    resources = None
    if state_file.is_file():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        if isinstance(state, dict) and isinstance(state.get("resources"), list):
            resources = len(state["resources"])
    report = {
        "state": "up" if alive and reachable else ("unreachable" if alive else "down"),
        "stack_file": str(path),
        "pid": pid,
        "endpoint_url": values.get("local_endpoint_url"),
        "api_url": values.get("api_url"),
        "resources": resources,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        from tabulate import tabulate

        typer.echo(
            tabulate([(k, "" if v is None else v) for k, v in report.items()], tablefmt="plain")
        )
    raise typer.Exit(0 if report["state"] == "up" else 1)


def _preflight_api(target: Stack) -> RoleCredentials:
    """Credentials, the ingest role and the API answer before anything is sent (else exit 3)."""
    import requests

    caller_identity(target)
    try:
        credentials = assume_role(target, "ingest", session_name="slsops-seed")
    except RoleAssumptionError as exc:
        raise PreflightError(str(exc)) from None
    try:
        requests.get(target.api_url, timeout=3)
    except requests.RequestException as exc:
        raise PreflightError(
            f"the API at {target.api_url} is unreachable ({type(exc).__name__}); is the stack up?"
        ) from None
    return credentials


@local_app.command(
    "seed",
    epilog=help_epilog(
        ["slsops local seed", "slsops local seed --count 20000 --services 16 --concurrency 4"],
        [
            ("0", "every entry stored"),
            ("1", "some entries were not stored"),
            ("2", "bad options or stack file"),
            ("3", "the API or the embedded AWS is unreachable, or the ingest role is refused"),
            ("130/143", "interrupted: sending stops after the batches in flight"),
        ],
    ),
)
def seed(
    stack: StackOption = None,
    count: Annotated[int, typer.Option("--count", "-n", help="Entries to send")] = 3000,
    services: Annotated[int, typer.Option("--services", "-k", help="Distinct services")] = 8,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Entries per POST")] = 100,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Parallel clients")] = 2,
) -> None:
    """Send realistic entries through the API (ingest role, signed batches)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from slsops.local import seed as seeding

    if not 1 <= count <= 200_000:
        raise UsageError("--count must be 1..200000 (moto slows down with table size)")
    if not 1 <= services <= 1000:
        raise UsageError("--services must be 1..1000")
    if not 1 <= batch_size <= seeding.MAX_BATCH:
        raise UsageError(f"--batch-size must be 1..{seeding.MAX_BATCH}")
    if not 1 <= concurrency <= 16:
        raise UsageError("--concurrency must be 1..16")
    target = load_stack(stack)
    credentials = _preflight_api(target)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
        console=None,
    ) as bar:
        task = bar.add_task("seeding", total=count)
        result = seeding.seed(
            target,
            count,
            services,
            batch_size,
            concurrency,
            progress=lambda n: bar.advance(task, n),
            credentials=credentials,
        )
    rate = result.sent / result.seconds if result.seconds else 0.0
    typer.echo(
        f"seeded {result.stored} new, {result.duplicates} duplicate, {result.failed} failed "
        f"of {result.sent} entries over {services} services in {result.seconds:.1f} s "
        f"({rate:.0f}/s)"
    )
    if result.failed:
        raise SlsopsError(f"{result.failed} entries were not stored: {result.errors[0]}")


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")
