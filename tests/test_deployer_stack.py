"""The local stack applied Terraform as the delivery pipeline's deploy role, and that role is
bounded: a no-change plan as the deployer, and what the deploy policy does not grant is denied.

The token the local OIDC issuer signed for the deploy environment is in the stack's work folder
(mode 0600, as every file there holding a secret or an external id).
"""

from __future__ import annotations

import json
import stat

import boto3
import pytest
from botocore.exceptions import ClientError

from slsops.deployment.stack import Stack
from slsops.local import deployer
from slsops.local.stack_file import workdir_for

pytestmark = [pytest.mark.stack]


def deploy_session(stack: Stack) -> boto3.Session:
    token = (workdir_for(stack.path) / deployer.TOKEN_FILE).read_text(encoding="utf-8")
    sts = boto3.client("sts", endpoint_url=stack.endpoint_url, region_name=stack.region)
    role = next(
        arn for arn in stack["trusted_principal_arns"] if deployer.DEPLOY_ROLE_MARKER in arn
    )
    credentials = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="test-deployer", WebIdentityToken=token
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=stack.region,
    )


def test_terraform_signs_in_as_the_deploy_role(local_stack: Stack) -> None:
    """The provider holds no key, only the web-identity sign-in; its no-change plan as this
    role is ``test_infra_plan.py``'s first plan (same folder), not run twice."""
    tf_dir = workdir_for(local_stack.path) / "infra"
    override = (tf_dir / "local_provider_override.tf").read_text(encoding="utf-8")
    assert "assume_role_with_web_identity" in override
    assert "access_key" not in override and "secret_key" not in override


def test_the_deploy_role_gets_no_more_than_its_policy(local_stack: Stack) -> None:
    session = deploy_session(local_stack)
    caller = local_stack.client("sts", session=session).get_caller_identity()["Arn"]
    assert deployer.DEPLOY_ROLE_MARKER in caller
    dynamodb = local_stack.client("dynamodb", session=session)
    dynamodb.describe_table(TableName=local_stack["table_name"])  # the plan reads it
    with pytest.raises(ClientError) as raised:  # but no table data
        dynamodb.scan(TableName=local_stack["table_name"], Limit=1)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    iam = local_stack.client("iam", session=session)
    own_role = caller.split("/")[1]
    with pytest.raises(ClientError) as raised:  # NeverChangeTheGitHubRoles
        iam.put_role_policy(
            RoleName=own_role,
            PolicyName="more",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert "explicit deny" in raised.value.response["Error"]["Message"]


def test_files_holding_secrets_are_private(local_stack: Stack) -> None:
    work = workdir_for(local_stack.path)
    private = [
        local_stack.path,
        work / deployer.TOKEN_FILE,
        work / "terraform.tfstate",
        work / "infra" / "local_provider_override.tf",
        work / "infra" / "local.auto.tfvars.json",
    ]
    modes = {str(path): stat.S_IMODE(path.stat().st_mode) for path in private}
    assert modes == {str(path): 0o600 for path in private}


def test_the_usage_report_shows_what_the_deploy_role_allows_beyond_the_apply(
    local_stack: Stack,
) -> None:
    usage = json.loads(
        (workdir_for(local_stack.path) / deployer.USAGE_FILE).read_text(encoding="utf-8")
    )
    statements = usage["statements"]
    assert "dynamodb:CreateTable" in statements["Table"]["used"]
    assert "lambda:CreateFunction" in statements["Functions"]["used"]
    # The apply never assumes the client roles: that grant is for the post-deploy gate.
    assert "AssumeClientRolesForThePostDeployGate" in usage["unused_statements"]
    assert "NeverChangeTheGitHubRoles" not in usage["unused_statements"]  # a Deny
    assert set(usage["unused_statements"]) < set(statements)
