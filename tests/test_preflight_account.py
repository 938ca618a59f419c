"""Commands that read the deployment by name refuse credentials of another account (exit 3).

With a wrong AWS_PROFILE, a deployment of the same names in another account would be verified,
audited or drilled, and its verdict recorded under this stack file. The load generator only
signs with assumed roles, so it may run from a trusted account.
"""

from __future__ import annotations

import json

import pytest
from log_table_support import create_log_table, write_stack_file
from typer.testing import CliRunner

from slsops.cli import app
from slsops.deployment.preflight import caller_identity
from slsops.deployment.stack import load_stack
from slsops.errors import PreflightError
from slsops.local.aws_app import build_moto_app, serve_in_thread

OTHER_ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    with serve_in_thread(build_moto_app()) as endpoint:
        arns = create_log_table(endpoint, "preflight-logs")
        folder = tmp_path_factory.mktemp("stacks")
        right = write_stack_file(folder / "right.json", endpoint, "preflight-logs", arns)
        outputs = json.loads(right.read_text())
        outputs["account_id"]["value"] = OTHER_ACCOUNT
        wrong = folder / "wrong.json"
        wrong.write_text(json.dumps(outputs))
        yield right, wrong


@pytest.mark.parametrize("command", ["verify", "roles", "audit", "drill"])
def test_credentials_of_another_account_are_exit_3_before_any_check(stacks, command):
    _, wrong = stacks
    result = CliRunner().invoke(app, [command, "--stack", str(wrong)])
    assert isinstance(result.exception, PreflightError), result.output
    assert result.exception.exit_code == 3
    assert f"deployment is in {OTHER_ACCOUNT}" in str(result.exception)


def test_the_deployments_own_account_passes_and_the_load_generator_may_be_elsewhere(stacks):
    right, wrong = stacks
    assert caller_identity(load_stack(right))["Account"] != OTHER_ACCOUNT
    assert caller_identity(load_stack(wrong), in_deployment_account=False)["Account"]
