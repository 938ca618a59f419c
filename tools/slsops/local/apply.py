"""Apply ``infra/`` to the embedded AWS with the real Terraform, from a copy under ``.slsops/``.

``infra/`` names no endpoints. The local apply copies its ``*.tf`` files into a work folder and
adds generated files there only:

- ``local_provider_override.tf``: every service endpoint -> the moto URL, the deployer's
  credentials (the embedded AWS authenticates every call), the ``skip_*`` flags
  (``skip_requesting_account_id`` stays false: the execute-api ARNs in the role policies need
  the account id);
- ``local_backend_override.tf``: a local backend whose state lives in the work folder;
- ``local.auto.tfvars.json``: the local values (trusted operator, fresh external ids, the zip)
  and the features moto cannot hold turned off (``LOCAL_FEATURE_FLAGS``).

Each ``slsops local up`` starts an empty moto, so the state is removed before the apply; the
``.terraform`` folder (providers from the mirror) is kept to make the next init quick.

Every file here that holds credentials or external ids (the provider override, the tfvars, the
state and its backup, terraform's logs) is mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slsops import contract
from slsops.contract.local_gaps import LOCAL_FEATURE_FLAGS
from slsops.errors import SlsopsError, UsageError

log = logging.getLogger(__name__)

# Endpoint keys of the aws provider 5.x for the services infra/ uses (and what it may add).
ENDPOINT_SERVICES = (
    "apigateway",
    "cloudwatch",
    "configservice",
    "dynamodb",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sns",
    "sqs",
    "ssm",
    "sts",
)

ADMIN_OUTPUT = "local_admin_credentials"
PRIVATE_MODE = 0o600
APPLY_TIMEOUT_S = 600
INIT_TIMEOUT_S = 300
OUTPUT_TIMEOUT_S = 120


class TerraformFailed(SlsopsError):
    """terraform init/apply/output failed; the message names the step and the first error."""


@dataclass(frozen=True)
class LocalInputs:
    """What the local apply feeds into the variables."""

    region: str
    operator_arn: str
    external_ids: dict[str, str]
    lambda_zip_path: Path
    deployer: Any = None  # credentials Terraform signs with (access_key_id, secret_access_key)
    github_repository: str = ""  # owner/name: creates infra's OIDC deploy role (github_oidc.tf)
    github_environment: str = "production"


def new_external_ids() -> dict[str, str]:
    """Unguessable external ids for the three client roles (fresh for each local stack)."""
    return {role: f"slsops-local-{role}-{secrets.token_hex(12)}" for role in contract.ROLE_NAMES}


def declared_variables(workdir: Path) -> set[str]:
    import re

    names: set[str] = set()
    for tf_file in workdir.glob("*.tf"):
        names.update(re.findall(r'^\s*variable\s+"([^"]+)"', tf_file.read_text(), re.M))
    return names


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (it holds a secret or an external id)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, PRIVATE_MODE)


def make_private(*paths: Path) -> None:
    """Terraform writes its state world-readable; the local stack's state holds external ids."""
    for path in paths:
        if path.exists():
            os.chmod(path, PRIVATE_MODE)


def admin_output(admin: Any) -> dict[str, Any]:
    """The stack-file output naming the local administrator (tests break the stack with it)."""
    return {
        "value": {
            "arn": admin.arn,
            "access_key_id": admin.access_key_id,
            "secret_access_key": admin.secret_access_key,
        },
        "type": [
            "object",
            {"arn": "string", "access_key_id": "string", "secret_access_key": "string"},
        ],
        "sensitive": True,
    }


def provider_override(
    moto_url: str,
    region: str,
    access_key: str,
    secret_key: str,
    web_identity: tuple[str, Path] | None = None,
) -> str:
    """The provider block; ``web_identity`` (role ARN, token file) signs in as that role instead."""
    endpoints = "\n".join(f'    {name:<14} = "{moto_url}"' for name in ENDPOINT_SERVICES)
    if web_identity is None:
        credentials = f'  access_key                  = "{access_key}"\n'
        credentials += f'  secret_key                  = "{secret_key}"\n'
    else:
        role_arn, token_file = web_identity
        credentials = (
            "  assume_role_with_web_identity {\n"
            f'    role_arn                = "{role_arn}"\n'
            '    session_name            = "slsops-local-deploy"\n'
            f'    web_identity_token_file = "{token_file.as_posix()}"\n'
            "  }\n"
        )
    return f"""# Generated by slsops local up: the local stack only. Do not copy into infra/.
provider "aws" {{
  region                      = "{region}"
{credentials}  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def backend_override(state_path: Path) -> str:
    return f"""# Generated by slsops local up: state of the local stack, next to its work folder.
terraform {{
  backend "local" {{
    path = "{state_path.as_posix()}"
  }}
}}
"""


def link_sibling_folders(infra_dir: Path, workdir: Path) -> None:
    """Make ``../service/openapi.json`` and the like resolve from the copy as from infra/."""
    import re

    wanted: set[str] = set()
    for tf_file in infra_dir.glob("*.tf"):
        wanted.update(re.findall(r"\.\./([A-Za-z0-9_.-]+)", tf_file.read_text()))
    for name in sorted(wanted):
        source = (infra_dir.parent / name).resolve()
        link = workdir / name
        if not source.exists() or name == "infra":
            continue
        if link.is_symlink() or link.exists():
            if link.is_symlink() and link.resolve() == source:
                continue
            link.unlink()
        link.symlink_to(source, target_is_directory=source.is_dir())


def prepare_workdir(infra_dir: Path, workdir: Path, moto_url: str, inputs: LocalInputs) -> Path:
    """Copy infra/*.tf into ``workdir/infra`` and write the local-only files; return that dir."""
    tf_dir = workdir / "infra"
    tf_dir.mkdir(parents=True, exist_ok=True)
    for stale in {*tf_dir.glob("*.tf"), *tf_dir.glob("*.json")}:
        stale.unlink(missing_ok=True)
    sources = sorted(infra_dir.glob("*.tf"))
    if not sources:
        raise UsageError(f"no Terraform files in {infra_dir}")
    for source in sources:
        if source.name.endswith("_override.tf"):
            continue  # a developer's own override must not leak into the local stack
        shutil.copy2(source, tf_dir / source.name)
    for extra in infra_dir.glob("*.json"):  # e.g. policy documents read with file()
        shutil.copy2(extra, tf_dir / extra.name)
    link_sibling_folders(infra_dir, workdir)
    state = workdir / "terraform.tfstate"
    for leftover in (state, workdir / "terraform.tfstate.backup"):
        leftover.unlink(missing_ok=True)
    keys = (
        (inputs.deployer.access_key_id, inputs.deployer.secret_access_key)
        if inputs.deployer is not None
        else ("test", "test")  # moto's well-known dummy keys (a stack without the layer)
    )
    write_private(
        tf_dir / "local_provider_override.tf", provider_override(moto_url, inputs.region, *keys)
    )
    (tf_dir / "local_backend_override.tf").write_text(backend_override(state.resolve()))
    declared = declared_variables(tf_dir)
    values: dict[str, Any] = {
        "region": inputs.region,
        "trusted_principal_arns": [inputs.operator_arn],
        "external_ids": inputs.external_ids,
        "lambda_zip_path": str(inputs.lambda_zip_path.resolve()),
        "api_document_path": str((infra_dir.parent / "service" / "openapi.json").resolve()),
        **LOCAL_FEATURE_FLAGS,
    }
    if inputs.github_repository:
        values["github_repository"] = inputs.github_repository
        values["github_environment"] = inputs.github_environment
    tfvars = {name: value for name, value in values.items() if name in declared}
    write_private(tf_dir / "local.auto.tfvars.json", json.dumps(tfvars, indent=2) + "\n")
    return tf_dir


def _first_error(text: str) -> str:
    lines = [line.strip(" │╷╵") for line in text.splitlines()]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            detail = " ".join(x for x in lines[index + 1 : index + 4] if x)
            return f"{line} {detail}".strip()[:600]
    tail = [line for line in lines if line]
    return (tail[-1] if tail else "no output")[:600]


def run_terraform(args: list[str], tf_dir: Path, timeout_s: float, step: str) -> str:
    """Run one terraform command in ``tf_dir``; stdout on success, TerraformFailed otherwise."""
    from slsops import terraform as tf

    cmd = [str(tf.find_terraform()), *args]
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603  terraform argv we build, no shell
            cmd,
            cwd=tf_dir,
            env=tf.terraform_env(tf_dir.parent / "terraform"),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TerraformFailed(f"terraform {step} did not finish within {timeout_s:.0f} s") from None
    make_private(
        tf_dir.parent / "terraform.tfstate",
        tf_dir.parent / "terraform.tfstate.backup",
        tf_dir / ".terraform" / "terraform.tfstate",
    )
    if done.returncode != 0:
        write_private(tf_dir.parent / f"terraform-{step}.log", done.stdout + done.stderr)
        raise TerraformFailed(
            f"terraform {step} failed: {_first_error(done.stderr or done.stdout)} "
            f"(full log: {tf_dir.parent / f'terraform-{step}.log'})"
        )
    log.debug("terraform %s took %.1f s", step, time.monotonic() - started)
    return done.stdout


def init(tf_dir: Path) -> None:
    from slsops import terraform as tf

    mirror = tf.plugin_dir()
    args = ["init", "-input=false", "-no-color", "-reconfigure"]
    if mirror is not None:
        args.append(f"-plugin-dir={mirror}")
    run_terraform(args, tf_dir, INIT_TIMEOUT_S, "init")


def apply(tf_dir: Path) -> None:
    run_terraform(
        ["apply", "-auto-approve", "-input=false", "-no-color"], tf_dir, APPLY_TIMEOUT_S, "apply"
    )


def outputs(tf_dir: Path) -> dict[str, Any]:
    text = run_terraform(["output", "-json", "-no-color"], tf_dir, OUTPUT_TIMEOUT_S, "output")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise TerraformFailed(f"terraform output -json printed no JSON: {exc}") from None
