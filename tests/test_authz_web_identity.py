"""Web identity in the embedded AWS: only the intended repository and branch assume the deploy role.

The local stack's OIDC issuer (``slsops.local.oidc_issuer``) signs tokens with a key pair of its
own under GitHub's issuer URL; the authorisation layer verifies a token's signature, expiry and
audience against it and the account's OIDC provider, then evaluates the role's trust conditions
against the token's claims. The deploy role's trust policy is rendered from
``infra/github_oidc.tf`` itself, so a change there is what these tests exercise.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from slsops.local import oidc_issuer
from slsops.local.authz.layer import AuthorizationLayer
from slsops.local.aws_app import serve_in_thread
from slsops.local.gaps import wrap_all
from slsops.local.operator import create_admin

sys.path.insert(0, str(Path(__file__).parent))
from infra_hcl import load_infra

REGION = "us-east-1"
ACCOUNT = "123456789012"
REPOSITORY = "acme/simple-log-service"
ENVIRONMENT = "production"
HOST = "token.actions.githubusercontent.com"


def deploy_trust_policy(provider_arn: str) -> str:
    """infra/github_oidc.tf's github_trust document for the deploy role, as JSON."""
    document = load_infra().policy_document("github_trust")
    deploy_sub = re.search(r'deploy\s*=\s*"([^"]+)"', document["for_each"]).group(1)
    deploy_sub = deploy_sub.replace("${var.github_repository}", REPOSITORY).replace(
        "${var.github_environment}", ENVIRONMENT
    )
    statements = []
    for statement in document["statement"]:
        condition: dict = {}
        for entry in statement["condition"]:
            values = [deploy_sub if v == "${each.value}" else v for v in entry["values"]]
            condition.setdefault(entry["test"], {})[entry["variable"]] = values
        principal = statement["principals"][0]
        assert principal["identifiers"] == ["${local.github_oidc_provider_arn}"]
        statements.append(
            {
                "Sid": statement["sid"],
                "Effect": statement["effect"],
                "Action": statement["actions"],
                "Principal": {principal["type"]: provider_arn},
                "Condition": condition,
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def branch_trust_policy(provider_arn: str, branch: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": provider_arn},
                    "Condition": {
                        "StringEquals": {
                            f"{HOST}:aud": "sts.amazonaws.com",
                            f"{HOST}:sub": f"repo:{REPOSITORY}:ref:refs/heads/{branch}",
                        }
                    },
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def world():
    admin = create_admin().boto3_kwargs()
    issuer = oidc_issuer.register(oidc_issuer.LocalIssuer())
    app = AuthorizationLayer(wrap_all(DomainDispatcherApplication(create_backend_app)))
    with serve_in_thread(app) as url:
        iam = boto3.client("iam", endpoint_url=url, region_name=REGION, **admin)
        existing = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        provider = next((p["Arn"] for p in existing if p["Arn"].endswith(HOST)), None)
        if provider is None:
            provider = iam.create_open_id_connect_provider(
                Url=f"https://{HOST}",
                ClientIDList=["sts.amazonaws.com"],
                ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
            )["OpenIDConnectProviderArn"]
        suffix = uuid.uuid4().hex[:6]
        deploy = iam.create_role(
            RoleName=f"github-deploy-{suffix}",
            AssumeRolePolicyDocument=deploy_trust_policy(provider),
        )["Role"]["Arn"]
        main_only = iam.create_role(
            RoleName=f"github-main-{suffix}",
            AssumeRolePolicyDocument=branch_trust_policy(provider, "main"),
        )["Role"]["Arn"]
        yield {"url": url, "issuer": issuer, "deploy": deploy, "main_only": main_only}


def assume(world, role_arn: str, token: str):
    sts = boto3.client(  # AssumeRoleWithWebIdentity is unsigned: the token is the credential
        "sts",
        endpoint_url=world["url"],
        region_name=REGION,
        aws_access_key_id="unused",
        aws_secret_access_key="unused",
    )
    return sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="github-actions", WebIdentityToken=token
    )


def refused(world, role_arn: str, token: str) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        assume(world, role_arn, token)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_deploy_environment_of_the_repository_assumes_the_deploy_role(world):
    token = world["issuer"].issue(f"repo:{REPOSITORY}:environment:{ENVIRONMENT}")
    answer = assume(world, world["deploy"], token)
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    caller = boto3.client(
        "sts",
        endpoint_url=world["url"],
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).get_caller_identity()
    assert f"assumed-role/{world['deploy'].split('/')[-1]}/github-actions" in caller["Arn"]


@pytest.mark.parametrize(
    "subject",
    [
        f"repo:acme/other-repository:environment:{ENVIRONMENT}",
        f"repo:{REPOSITORY}-fork:environment:{ENVIRONMENT}",
        f"repo:{REPOSITORY}:environment:staging",
        f"repo:{REPOSITORY}:pull_request",
        f"repo:{REPOSITORY}:ref:refs/heads/main",
    ],
)
def test_other_repositories_environments_and_events_are_denied(world, subject):
    assert refused(world, world["deploy"], world["issuer"].issue(subject)) == ("AccessDenied", 403)


def test_only_the_main_branch_assumes_a_branch_bound_role(world):
    main = world["issuer"].issue(f"repo:{REPOSITORY}:ref:refs/heads/main")
    assert assume(world, world["main_only"], main)["Credentials"]["AccessKeyId"]
    for branch in ("feature/x", "main-2", "MAIN"):
        token = world["issuer"].issue(f"repo:{REPOSITORY}:ref:refs/heads/{branch}")
        assert refused(world, world["main_only"], token) == ("AccessDenied", 403)


def test_tokens_aws_would_not_accept_are_refused(world):
    subject = f"repo:{REPOSITORY}:environment:{ENVIRONMENT}"
    stranger = oidc_issuer.LocalIssuer()  # same issuer URL, a key the stack never trusted
    cases = {
        "another key": (stranger.issue(subject), ("InvalidIdentityToken", 400)),
        "junk": ("not-a-token", ("InvalidIdentityToken", 400)),
        "wrong audience": (
            world["issuer"].issue(subject, audience="someone-else"),
            ("InvalidIdentityToken", 400),
        ),
        "expired": (
            world["issuer"].issue(subject, lifetime_s=60, now=1_000_000_000),
            ("ExpiredTokenException", 400),
        ),
    }
    for name, (token, expected) in cases.items():
        assert refused(world, world["deploy"], token) == expected, name


def test_an_issuer_without_an_oidc_provider_in_the_account_is_refused(world):
    elsewhere = oidc_issuer.register(oidc_issuer.LocalIssuer(url="https://issuer.example.test"))
    token = elsewhere.issue(f"repo:{REPOSITORY}:environment:{ENVIRONMENT}")
    assert refused(world, world["deploy"], token) == ("InvalidIdentityToken", 400)
