"""``slsops doctor``: is everything in place to run the toolkit and the local stack?

One row per prerequisite: Python, Terraform and its AWS provider (mirror, or the registry,
which is not contacted), the packages the toolkit imports, then the stack file and what it
points at (AWS credentials for an AWS deployment; the endpoints of a local stack). Exit 0 when
nothing required is missing, 2 when something is (WARN rows do not fail).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from slsops.commands.common import help_epilog
from slsops.deployment.stack import default_stack_path
from slsops.errors import EXIT_USAGE
from slsops.options import StackOption

OK, WARN, MISSING = "OK", "WARN", "MISSING"
PACKAGES = (
    "boto3",
    "botocore",
    "moto",
    "aws_lambda_powertools",
    "fastjsonschema",
    "typer",
    "rich",
    "tabulate",
    "requests",
    "requests_aws4auth",
    "werkzeug",
)


@dataclass
class Row:
    item: str
    status: str
    detail: str


def _python() -> Row:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Row("python", OK if ok else MISSING, f"{version} (needs >= 3.11)")


def _terraform() -> list[Row]:
    from slsops import terraform as tf

    try:
        binary = tf.find_terraform()
    except tf.TerraformMissingError as exc:
        return [Row("terraform", MISSING, str(exc))]
    try:
        done = subprocess.run(  # noqa: S603  terraform binary found on PATH, argv list
            [str(binary), "version", "-json"],
            capture_output=True,
            text=True,
            timeout=30,
            env=tf.terraform_env(default_stack_path().parent / "doctor"),
            check=False,
        )
        version = json.loads(done.stdout).get("terraform_version", "?")
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return [Row("terraform", MISSING, f"{binary} does not run: {exc}")]
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    status = OK if parts >= tf.MINIMUM_VERSION else MISSING
    rows = [Row("terraform", status, f"{version} at {binary} (needs >= 1.6)")]
    try:
        mirror = tf.plugin_dir()
    except tf.TerraformMissingError as exc:
        rows.append(Row("aws provider", MISSING, str(exc)))
    else:
        if mirror is not None:
            rows.append(Row("aws provider", OK, f"filesystem mirror {mirror}"))
        else:
            rows.append(
                Row(
                    "aws provider",
                    WARN,
                    "no local mirror: terraform init will download hashicorp/aws from "
                    "registry.terraform.io (not checked; set SLSOPS_TF_PLUGIN_DIR)",
                )
            )
    return rows


def _packages() -> list[Row]:
    rows = []
    for name in PACKAGES:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            rows.append(Row(f"package {name}", MISSING, f"not importable: {exc}"))
            continue
        rows.append(Row(f"package {name}", OK, str(getattr(module, "__version__", ""))))
    return rows


def _stack(stack_path: object) -> list[Row]:
    import requests

    from slsops.deployment.stack import load_stack
    from slsops.errors import UsageError

    path = Path(stack_path or default_stack_path())  # type: ignore[arg-type]
    try:
        stack = load_stack(path)
    except UsageError as exc:
        # No stack yet at the default place is normal; a named or malformed one is an error.
        named_or_malformed = stack_path is not None or path.exists()
        return [Row("stack file", MISSING if named_or_malformed else WARN, str(exc))]
    rows = [Row("stack file", OK, f"{path} ({'local' if stack.is_local else 'aws'})")]
    if stack.is_local:
        for name, url in (
            ("embedded AWS", f"{stack.endpoint_url}/moto-api/"),
            ("API emulator", f"{stack.api_url}/"),
        ):
            try:
                requests.get(url, timeout=3)
                rows.append(Row(name, OK, f"reachable at {url}"))
            except requests.RequestException as exc:
                rows.append(
                    Row(
                        name,
                        MISSING,
                        f"unreachable ({type(exc).__name__}); `slsops local up --detach`",
                    )
                )
        return rows
    credentials = stack.session.get_credentials()
    if credentials is None:
        rows.append(
            Row(
                "aws credentials",
                MISSING,
                "none found (AWS_PROFILE, environment, SSO, instance role)",
            )
        )
        return rows
    rows.append(Row("aws credentials", OK, f"from {credentials.method}"))
    try:
        who = stack.client("sts").get_caller_identity()
        rows.append(Row("aws endpoint", OK, f"{stack.region}: {who.get('Arn')}"))
    except Exception as exc:
        rows.append(Row("aws endpoint", MISSING, f"sts:GetCallerIdentity failed: {exc}"))
    return rows


def doctor(
    stack: StackOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows")] = False,
) -> None:
    """Check the prerequisites (exit 0 all fine, 2 something required is missing)."""
    rows = [_python(), *_terraform(), *_packages(), *_stack(stack)]
    if as_json:
        typer.echo(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        from tabulate import tabulate

        typer.echo(
            tabulate(
                [(r.item, r.status, r.detail) for r in rows],
                headers=("prerequisite", "status", "detail"),
            )
        )
    missing = [r.item for r in rows if r.status == MISSING]
    if missing:
        print(f"slsops doctor: missing: {', '.join(missing)}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE)


def register(app: typer.Typer) -> None:
    app.command(
        "doctor",
        epilog=help_epilog(
            ["slsops doctor", "slsops doctor --json --stack stack.json"],
            [
                ("0", "everything required is in place (WARN rows are advice)"),
                ("2", "something required is missing, or --stack names a bad stack file"),
            ],
        ),
    )(doctor)
