"""The stack file is checked when it is loaded: a wrong type is exit 2 with one line naming
the output and what it should hold, before any command builds a client or runs a check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stack_outputs import ACCOUNT, write_stack

from slsops.deployment.stack import load_stack
from slsops.errors import UsageError

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/simple-log-service-prod-read"


def test_a_realistic_stack_file_loads(tmp_path: Path) -> None:
    stack = load_stack(write_stack(tmp_path / "stack.json"))
    assert stack["shard_count"] == 16
    assert stack.api_url.endswith("/prod")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("table_name", "", "non-empty string"),
        ("table_name", 7, "non-empty string"),
        ("region", None, "non-empty string"),
        ("stage_name", ["prod"], "non-empty string"),
        ("ttl_attribute", {"name": "expires_at"}, "non-empty string"),
        ("table_arn", "simple-log-service-prod-logs", "ARN"),
        ("kms_key_arn", "", "ARN"),
        ("shard_count", True, "whole number of at least 1"),
        ("shard_count", 16.0, "whole number of at least 1"),
        ("shard_count", 2.5, "whole number of at least 1"),
        ("shard_count", "16", "whole number of at least 1"),
        ("shard_count", 0, "whole number of at least 1"),
        ("shard_count", -3, "whole number of at least 1"),
        ("api_url", "ftp://example.com/prod", "http(s) URL with a host"),
        ("api_url", "https:///prod", "http(s) URL with a host"),
        ("api_url", "example.com/prod", "http(s) URL with a host"),
        ("api_url", "http://127.0.0.1:port/prod", "http(s) URL with a host"),
        ("api_url", 4567, "http(s) URL with a host"),
        ("local_endpoint_url", "127.0.0.1:4566", "http(s) URL with a host"),
        ("config_rules_enabled", "false", "true or false"),
        ("roles", ["ingest", "read"], "role name -> {arn, external_id}"),
        ("roles", {"read": ROLE_ARN}, "role 'read'"),
        ("roles", {"read": {"external_id": "e" * 20}}, "expected an ARN"),
        ("roles", {"read": {"arn": 12}}, "expected an ARN"),
        ("roles", {"read": {"arn": ROLE_ARN, "external_id": 1234}}, "external_id"),
        ("roles", {"": {"arn": ROLE_ARN}}, "empty role name"),
        ("trusted_principal_arns", f"arn:aws:iam::{ACCOUNT}:user/op", "list of ARN strings"),
        ("trusted_principal_arns", ["operator"], "item 0"),
        ("alarm_names", [""], "non-empty strings"),
        ("local_credentials", {"access_key_id": "AKIA"}, "secret_access_key"),
        ("local_pid", "123", "whole number"),
    ],
)
def test_a_wrong_type_names_the_output_and_what_it_expects(
    tmp_path: Path, name: str, value: Any, expected: str
) -> None:
    path = write_stack(tmp_path / "stack.json", **{name: value})
    with pytest.raises(UsageError) as caught:
        load_stack(path)
    message = str(caught.value)
    assert f"output {name!r}" in message and expected in message
    assert "\n" not in message


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    """A directory was reported as 'no stack file at ...', as if nothing were there."""
    with pytest.raises(UsageError, match="is a directory"):
        load_stack(tmp_path)


def test_a_role_without_an_external_id_loads(tmp_path: Path) -> None:
    """External ids are optional in the loader (ROLE checks judge their length)."""
    path = write_stack(tmp_path / "stack.json", roles={"read": {"arn": ROLE_ARN}})
    assert load_stack(path)["roles"]["read"]["arn"] == ROLE_ARN


def test_the_secret_of_wrong_credentials_is_not_printed(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    creds = {"access_key_id": "", "secret_access_key": secret}
    path = write_stack(tmp_path / "stack.json", local_credentials=creds)
    with pytest.raises(UsageError, match="local_credentials") as caught:
        load_stack(path)
    assert secret not in str(caught.value)


def _slsops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "slsops.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ["verify", "roles", "audit", "drill"])
def test_the_cli_exits_2_with_one_line(tmp_path: Path, command: str) -> None:
    path = write_stack(tmp_path / "stack.json", shard_count="sixteen")
    done = _slsops(command, "--stack", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "'shard_count'" in lines[0] and "whole number" in lines[0]
    assert json.loads(path.read_text())["shard_count"]["value"] == "sixteen", "file untouched"


def test_doctor_names_the_wrong_output(tmp_path: Path) -> None:
    path = write_stack(tmp_path / "stack.json", api_url="not a url")
    done = _slsops("doctor", "--json", "--stack", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    rows = {row["item"]: row for row in json.loads(done.stdout)}
    assert rows["stack file"]["status"] == "MISSING"
    assert "'api_url'" in rows["stack file"]["detail"]
