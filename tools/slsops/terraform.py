"""Finding Terraform and the AWS provider, and the environment every terraform call runs with.

Shared by `nox -s infra`, the local stack and `slsops doctor`, so a missing binary or provider
mirror gives the same one-line answer everywhere.

* ``find_terraform()``: the binary (``SLSOPS_TERRAFORM`` or ``terraform`` on PATH).
* ``plugin_dir()``: a filesystem mirror holding ``registry.terraform.io/hashicorp/aws``
  (``SLSOPS_TF_PLUGIN_DIR``, else ``/opt/tf-plugins`` when it exists); ``None`` means
  ``terraform init`` downloads from the registry.
* ``terraform_env(data_dir)``: environment with our own (empty) CLI configuration, so the
  machine's dangling ``TF_CLI_CONFIG_FILE`` neither warns nor redirects provider installation,
  and with ``TF_DATA_DIR`` outside ``infra/`` so the source folder stays clean.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TERRAFORM_ENV = "SLSOPS_TERRAFORM"
PLUGIN_DIR_ENV = "SLSOPS_TF_PLUGIN_DIR"
DEFAULT_PLUGIN_DIRS = (Path("/opt/tf-plugins"),)
AWS_PROVIDER_SUBDIR = Path("registry.terraform.io/hashicorp/aws")
MINIMUM_VERSION = (1, 6)


class TerraformMissingError(RuntimeError):
    """Terraform or its provider cannot be found; the message is one line for the user."""


def find_terraform() -> Path:
    """The terraform binary, or TerraformMissingError naming what is needed."""
    configured = os.environ.get(TERRAFORM_ENV)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise TerraformMissingError(f"{TERRAFORM_ENV}={configured} is not an executable file")
    found = shutil.which("terraform")
    if not found:
        raise TerraformMissingError(
            "terraform not found: install Terraform >= 1.6 (https://developer.hashicorp.com/"
            f"terraform/install) or set {TERRAFORM_ENV} to its path"
        )
    return Path(found)


def _has_aws_provider(folder: Path) -> bool:
    return (folder / AWS_PROVIDER_SUBDIR).is_dir()


def plugin_dir() -> Path | None:
    """The provider mirror to init from offline, or None to use the registry.

    A mirror named by ``SLSOPS_TF_PLUGIN_DIR`` must hold the AWS provider (TerraformMissingError
    otherwise: the user asked for it, so silently going online would surprise them).
    """
    configured = os.environ.get(PLUGIN_DIR_ENV)
    if configured:
        folder = Path(configured)
        if not _has_aws_provider(folder):
            raise TerraformMissingError(
                f"{PLUGIN_DIR_ENV}={configured} has no {AWS_PROVIDER_SUBDIR} "
                "(a filesystem mirror of the hashicorp/aws provider)"
            )
        return folder
    for folder in DEFAULT_PLUGIN_DIRS:
        if _has_aws_provider(folder):
            return folder
    return None


def cli_config_file(data_dir: Path) -> Path:
    """An empty CLI configuration of our own (created on demand under ``data_dir``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "terraformrc"
    if not path.exists():
        path.write_text("# slsops: empty on purpose (no credentials, no mirrors)\n")
    return path


def terraform_env(data_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for terraform calls: own CLI config, TF_DATA_DIR, no prompts, no colour."""
    env = dict(os.environ if base is None else base)
    data_dir = data_dir.resolve()
    env["TF_CLI_CONFIG_FILE"] = str(cli_config_file(data_dir))
    env["TF_DATA_DIR"] = str(data_dir / "tfdata")
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_INPUT"] = "0"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def init_args(mirror: Path | None = None) -> list[str]:
    """Arguments after ``terraform init`` (offline from the mirror when there is one)."""
    args = ["-input=false", "-no-color", "-backend=false"]
    if mirror is not None:
        args.append(f"-plugin-dir={mirror}")
    return args


def copy_config(source: Path, dest: Path) -> Path:
    """Copy the ``*.tf`` files of ``source`` (not ``*_override.tf``) into a fresh ``dest``.

    Terraform writes ``.terraform.lock.hcl`` next to the configuration it initialises; working
    on a copy keeps ``infra/`` clean. Point ``lambda_zip_path`` and ``api_document_path`` at
    absolute paths when the copy is not a sibling of ``build/`` and ``service/``.
    """
    if dest.exists():
        for old in dest.glob("*.tf"):
            old.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.tf")):
        if not path.name.endswith("_override.tf"):
            shutil.copy2(path, dest / path.name)
    return dest


def describe() -> str:
    """One line for ``slsops doctor``: what will be used, or what is missing."""
    try:
        binary = find_terraform()
        mirror = plugin_dir()
    except TerraformMissingError as exc:
        return str(exc)
    source = f"provider mirror {mirror}" if mirror else "provider from registry.terraform.io"
    return f"terraform at {binary}, {source}"
