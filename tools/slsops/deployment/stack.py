"""The stack file: ``terraform output -json`` of a deployment, or the local stack's copy of it.

Every command that touches a deployment reads one (``--stack``, ``SLSOPS_STACK``, default
``.slsops/local.json``) and builds its AWS clients from it: the local stack's endpoint and
credentials when the file names them, the standard boto3 chain (AWS_PROFILE, AWS_REGION)
otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from slsops.deployment.aws_sessions import new_session
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

# What each output must hold, checked at load so a wrong type is one line naming the output
# (exit 2), not a check's ERROR or a traceback deep in a command.
STRING_OUTPUTS = frozenset(
    {
        "region",
        "account_id",
        "api_id",
        "stage_name",
        "table_name",
        "index_name",
        "ttl_attribute",
        "kms_alias",
        "ingest_function_name",
        "read_function_name",
        "dashboard_name",
    }
)
"""Outputs that are a non-empty string."""
ARN_OUTPUTS = frozenset({"table_arn", "kms_key_arn", "alarm_topic_arn"})
"""Outputs that are an ARN (a string starting ``arn:``)."""
URL_OUTPUTS = frozenset({"api_url", "local_endpoint_url"})
"""Outputs that are an http(s) URL with a host."""
CREDENTIAL_OUTPUTS = frozenset({"local_credentials", "local_admin_credentials"})
"""Local-only outputs: ``{"access_key_id": str, "secret_access_key": str}``."""

# Retries with backoff for what is safe to retry: 5 attempts, unless botocore's own
# AWS_MAX_ATTEMPTS says otherwise (an explicit Config would override the variable).
MAX_ATTEMPTS_ENV = "AWS_MAX_ATTEMPTS"
DEFAULT_MAX_ATTEMPTS = 5


def boto_config() -> Config:
    retries: dict[str, Any] = {"mode": "standard"}
    given = os.environ.get(MAX_ATTEMPTS_ENV, "").strip()
    if not given:
        retries["max_attempts"] = DEFAULT_MAX_ATTEMPTS
    elif not (given.isascii() and given.isdigit()) or int(given) < 1:
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
        return new_session(region_name=self.region)

    @property
    def admin_session(self) -> boto3.Session:
        """The local stack's administrator, the account's owner (breaks and repairs, and what a
        person sets up by hand); the operator's session where the stack file names none."""
        admin = self.get("local_admin_credentials")
        return self._keys_session(admin) if admin else self.session

    def _keys_session(self, creds: dict[str, Any]) -> boto3.Session:
        return new_session(
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
    if path.is_dir():
        raise UsageError(f"stack file {path} is a directory; give the JSON file in it")
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
    for name, entry in outputs.items():
        problem = output_problem(name, entry["value"])
        if problem:
            raise UsageError(f"stack file {path}: output {name!r} {problem}")
    return Stack(path=path, outputs=outputs)


def _shown(value: Any) -> str:
    """A short, one-line picture of a wrong value: its JSON type and (for a scalar) itself."""
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value),
        "null" if value is None else f"a JSON {'object' if isinstance(value, dict) else 'array'}",
    )
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 60):
        return f"{kind} ({json.dumps(value)})"
    return kind


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_arn(value: Any) -> bool:
    return _is_text(value) and value.startswith("arn:")


def _is_url(value: Any) -> bool:
    if not _is_text(value) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_count(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _role_problem(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"is {_shown(value)}; expected an object of role name -> {{arn, external_id}}"
    for role, entry in value.items():
        if not _is_text(role):
            return "has an empty role name; expected role name -> {arn, external_id}"
        if not isinstance(entry, dict):
            return f"role {role!r} is {_shown(entry)}; expected an object {{arn, external_id}}"
        if not _is_arn(entry.get("arn")):
            return f"role {role!r} has arn {_shown(entry.get('arn'))}; expected an ARN string"
        external_id = entry.get("external_id")
        if external_id is not None and not isinstance(external_id, str):
            return f"role {role!r} has external_id {_shown(external_id)}; expected a string"
    return None


def _list_problem(value: Any, each: Callable[[Any], bool], what: str) -> str | None:
    if not isinstance(value, list):
        return f"is {_shown(value)}; expected a list of {what}"
    for index, item in enumerate(value):
        if not each(item):
            return f"item {index} is {_shown(item)}; expected a list of {what}"
    return None


def output_problem(name: str, value: Any) -> str | None:
    """What is wrong with output ``name``'s value (``None``: fine, or not an output we read)."""
    expected: str | None = None
    if name in STRING_OUTPUTS and not _is_text(value):
        expected = "a non-empty string"
    elif name in ARN_OUTPUTS and not _is_arn(value):
        expected = "an ARN string (arn:...)"
    elif name in URL_OUTPUTS and not _is_url(value):
        expected = "an http(s) URL with a host"
    elif name == "shard_count" and not _is_count(value, 1):
        expected = "a whole number of at least 1"
    elif name == "config_rules_enabled" and not isinstance(value, bool):
        expected = "true or false"
    elif name in ("local_pid", "local_api_port") and not _is_count(value, 0):
        expected = "a whole number"
    elif name == "roles":
        return _role_problem(value)
    elif name == "trusted_principal_arns":
        return _list_problem(value, _is_arn, "ARN strings")
    elif name == "alarm_names":
        return _list_problem(value, _is_text, "non-empty strings")
    elif name in CREDENTIAL_OUTPUTS:
        keys = ("access_key_id", "secret_access_key")
        if not isinstance(value, dict) or not all(_is_text(value.get(k)) for k in keys):
            return "is not an object with a non-empty access_key_id and secret_access_key"
    if expected is None:
        return None
    return f"is {_shown(value)}; expected {expected}"
