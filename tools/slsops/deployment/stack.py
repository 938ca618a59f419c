"""The stack file: ``terraform output -json`` of a deployment, or the local stack's copy of it.

Every command that touches a deployment reads one (``--stack``, ``SLSOPS_STACK``, default
``.slsops/local.json``) and builds its AWS clients from it: the local stack's endpoint and
credentials when the file names them, the standard boto3 chain (AWS_PROFILE, AWS_REGION)
otherwise.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from slsops.errors import UsageError

DEFAULT_STACK_PATH = Path(".slsops/local.json")
STACK_ENV = "SLSOPS_STACK"

REQUIRED_OUTPUTS = (
    "region",
    "account_id",
    "api_id",
    "stage_name",
    "api_url",
    "table_name",
    "table_arn",
    "index_name",
    "shard_count",
    "ttl_attribute",
    "kms_key_arn",
    "kms_alias",
    "ingest_function_name",
    "read_function_name",
    "roles",
    "trusted_principal_arns",
    "alarm_topic_arn",
    "alarm_names",
    "dashboard_name",
    "config_rules_enabled",
)

# Retries with backoff for what is safe to retry: 5 attempts, unless botocore's own
# AWS_MAX_ATTEMPTS says otherwise (an explicit Config would override the variable).
MAX_ATTEMPTS_ENV = "AWS_MAX_ATTEMPTS"
DEFAULT_MAX_ATTEMPTS = 5


def boto_config() -> Config:
    retries: dict[str, Any] = {"mode": "standard"}
    given = os.environ.get(MAX_ATTEMPTS_ENV, "").strip()
    if not given:
        retries["max_attempts"] = DEFAULT_MAX_ATTEMPTS
    elif not given.isdigit() or int(given) < 1:
        raise UsageError(f"{MAX_ATTEMPTS_ENV}={given!r}: expected a whole number of at least 1")
    return Config(retries=retries, max_pool_connections=32)


def default_stack_path() -> Path:
    return Path(os.environ.get(STACK_ENV) or DEFAULT_STACK_PATH)


@dataclass
class Stack:
    """The outputs of one deployment plus how to reach it."""

    path: Path
    outputs: dict[str, dict[str, Any]]

    def get(self, name: str, default: Any = None) -> Any:
        entry = self.outputs.get(name)
        return default if entry is None else entry.get("value", default)

    def __getitem__(self, name: str) -> Any:
        if name not in self.outputs:
            raise UsageError(f"stack file {self.path} has no output {name!r}")
        return self.outputs[name]["value"]

    @property
    def is_local(self) -> bool:
        return "local_endpoint_url" in self.outputs

    @property
    def endpoint_url(self) -> str | None:
        return self.get("local_endpoint_url")

    @property
    def region(self) -> str:
        return self.get("region") or os.environ.get("AWS_REGION") or "us-east-1"

    @property
    def api_url(self) -> str:
        return str(self["api_url"]).rstrip("/")

    def target(self) -> dict[str, Any]:
        return {
            "kind": "local" if self.is_local else "aws",
            "region": self.region,
            "account_id": self.get("account_id"),
            "api_url": self.get("api_url"),
        }

    @cached_property
    def session(self) -> boto3.Session:
        """Session of the operator: local credentials, or the standard boto3 chain."""
        if self.is_local:
            return self._keys_session(self.get("local_credentials") or {})
        return boto3.Session(region_name=self.region)

    @property
    def admin_session(self) -> boto3.Session:
        """The local stack's administrator, the account's owner (breaks and repairs, and what a
        person sets up by hand); the operator's session where the stack file names none."""
        admin = self.get("local_admin_credentials")
        return self._keys_session(admin) if admin else self.session

    def _keys_session(self, creds: dict[str, Any]) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=creds.get("access_key_id"),
            aws_secret_access_key=creds.get("secret_access_key"),
            region_name=self.region,
        )

    def client(self, service: str, session: boto3.Session | None = None) -> Any:
        """A boto3 client for ``service`` pointed at this deployment."""
        return (session or self.session).client(
            service, endpoint_url=self.endpoint_url, config=boto_config()
        )

    def resource(self, service: str, session: boto3.Session | None = None) -> Any:
        return (session or self.session).resource(
            service, endpoint_url=self.endpoint_url, config=boto_config()
        )


def load_stack(path: Path | None = None) -> Stack:
    """Read and check a stack file; UsageError (exit 2) with one line when it is unusable."""
    path = Path(path) if path else default_stack_path()
    if not path.is_file():
        raise UsageError(f"no stack file at {path}; run `slsops local up --detach` or pass --stack")
    try:
        outputs = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"stack file {path} is not readable JSON: {exc}") from None
    if not isinstance(outputs, dict) or not all(
        isinstance(v, dict) and "value" in v for v in outputs.values()
    ):
        raise UsageError(
            f"stack file {path} is not `terraform output -json` output "
            '({"name": {"value": ...}, ...})'
        )
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise UsageError(f"stack file {path} lacks outputs: {', '.join(missing)}")
    return Stack(path=path, outputs=outputs)
