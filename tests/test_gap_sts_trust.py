"""AssumeRole against a real in-process moto server obeys role trust policies.

Moto alone hands out credentials to anyone for any role; behind the local stack's authorisation
layer (``slsops.local.authz``) it must refuse a wrong or missing external id, a principal outside
the trust, an unsigned or unknown-key call, and must keep granting what AWS grants.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from slsops.local import identity
from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.identity import ASSUMED_ROLE, USER
from slsops.local.operator import create_admin

REGION = "us-east-1"
ACCOUNT = "123456789012"
EXTERNAL_ID = "slsops-ext-3f9a"
ADMIN: dict[str, str] = {}  # the local administrator, created in-process per module
UNKNOWN = {"aws_access_key_id": "AKIAUNKNOWNKEY000000", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def endpoint():
    ADMIN.update(create_admin().boto3_kwargs())
    with serve_in_thread(build_moto_app(enforce_iam=True)) as url:
        yield url


def client(endpoint, service, **credentials):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, **(credentials or ADMIN)
    )


def trust(principal, condition=None) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def new_user(iam, name, policy=None, group_policy=None) -> dict:
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    if group_policy:
        iam.create_group(GroupName=f"{name}-group")
        iam.put_group_policy(
            GroupName=f"{name}-group", PolicyName="grp", PolicyDocument=json.dumps(group_policy)
        )
        iam.add_user_to_group(GroupName=f"{name}-group", UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "arn": iam.get_user(UserName=name)["User"]["Arn"],
        "credentials": {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        },
    }


@pytest.fixture(scope="module")
def world(endpoint):
    """Users alice (trusted by name), mallory (not trusted), bob (allowed by policy), carol."""
    iam = client(endpoint, "iam")
    suffix = uuid.uuid4().hex[:6]
    alice = new_user(iam, f"alice-{suffix}")
    mallory = new_user(iam, f"mallory-{suffix}")
    assume_any = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
    bob = new_user(iam, f"bob-{suffix}", policy=assume_any)
    dora = new_user(iam, f"dora-{suffix}", group_policy=assume_any)
    carol = new_user(iam, f"carol-{suffix}")
    ingest = iam.create_role(
        RoleName=f"ingest-{suffix}",
        AssumeRolePolicyDocument=trust(
            alice["arn"], {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
        ),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=f"ingest-{suffix}",
        PolicyName="invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
            }
        ),
    )
    account_role = iam.create_role(
        RoleName=f"account-{suffix}", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:root")
    )["Role"]["Arn"]
    chained = iam.create_role(RoleName=f"chained-{suffix}", AssumeRolePolicyDocument=trust(ingest))[
        "Role"
    ]["Arn"]
    return {
        "alice": alice,
        "mallory": mallory,
        "bob": bob,
        "carol": carol,
        "dora": dora,
        "ingest": ingest,
        "account_role": account_role,
        "chained": chained,
    }


def assume(endpoint, who, role_arn, **extra):
    sts = client(endpoint, "sts", **who["credentials"])
    return sts.assume_role(RoleArn=role_arn, RoleSessionName="test", **extra)["Credentials"]


def assert_denied(call, code="AccessDenied"):
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    assert error["Code"] == code, error
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return error["Message"]


def test_right_external_id_gets_credentials(endpoint, world):
    credentials = assume(endpoint, world["alice"], world["ingest"], ExternalId=EXTERNAL_ID)
    assert credentials["AccessKeyId"].startswith("ASIA")
    session = client(
        endpoint,
        "sts",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert session.get_caller_identity()["Arn"].endswith(
        f"assumed-role/{world['ingest'].split('/')[-1]}/test"
    )


def test_wrong_external_id_is_denied(endpoint, world):
    message = assert_denied(
        lambda: assume(endpoint, world["alice"], world["ingest"], ExternalId="guess")
    )
    assert message == (
        f"User: {world['alice']['arn']} is not authorized to perform: sts:AssumeRole on resource: "
        f"{world['ingest']}"
    )


def test_missing_external_id_is_denied(endpoint, world):
    assert_denied(lambda: assume(endpoint, world["alice"], world["ingest"]))


def test_principal_outside_the_trust_is_denied(endpoint, world):
    assert_denied(
        lambda: assume(endpoint, world["mallory"], world["ingest"], ExternalId=EXTERNAL_ID)
    )
    # ... even with an identity policy of its own that allows sts:AssumeRole everywhere.
    assert_denied(lambda: assume(endpoint, world["bob"], world["ingest"], ExternalId=EXTERNAL_ID))


def test_account_root_trust_admits_callers_whose_policy_allows(endpoint, world):
    assert assume(endpoint, world["bob"], world["account_role"])["AccessKeyId"]
    assert assume(endpoint, world["dora"], world["account_role"])["AccessKeyId"]  # via a group
    assert_denied(lambda: assume(endpoint, world["carol"], world["account_role"]))


def test_role_sessions_chain_into_a_role_that_trusts_their_role(endpoint, world):
    first = assume(endpoint, world["alice"], world["ingest"], ExternalId=EXTERNAL_ID)
    session = {
        "credentials": {
            "aws_access_key_id": first["AccessKeyId"],
            "aws_secret_access_key": first["SecretAccessKey"],
            "aws_session_token": first["SessionToken"],
        }
    }
    assert assume(endpoint, session, world["chained"])["AccessKeyId"]
    assert_denied(lambda: assume(endpoint, world["alice"], world["chained"]))


def test_a_role_that_does_not_exist_is_denied(endpoint, world):
    assert_denied(
        lambda: assume(endpoint, world["bob"], f"arn:aws:iam::{ACCOUNT}:role/no-such-role")
    )


def test_unknown_key_and_bad_signature_are_refused(endpoint, world):
    assert_denied(
        lambda: assume(endpoint, {"credentials": UNKNOWN}, world["account_role"]),
        "InvalidClientTokenId",
    )
    forged = {"credentials": {**world["bob"]["credentials"], "aws_secret_access_key": "x" * 40}}
    assert_denied(lambda: assume(endpoint, forged, world["account_role"]), "SignatureDoesNotMatch")


def test_unsigned_assume_role_is_refused(endpoint, world):
    response = requests.post(
        endpoint,
        data={
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": world["account_role"],
            "RoleSessionName": "x",
        },
        timeout=10,
    )
    assert response.status_code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in response.text


def test_other_calls_pass_through_untouched(endpoint):
    assert client(endpoint, "sts").get_caller_identity()["Account"] == ACCOUNT
    assert "Users" in client(endpoint, "iam").list_users()


def test_identity_resolves_users_and_sessions(endpoint, world):
    bob = identity.resolve(world["bob"]["credentials"]["aws_access_key_id"])
    assert bob.kind == USER and bob.arn == world["bob"]["arn"] and bob.session_token is None
    assert bob.secret_access_key == world["bob"]["credentials"]["aws_secret_access_key"]
    assert list(bob.policies) == ["inline:inline"]
    dora = identity.resolve(world["dora"]["credentials"]["aws_access_key_id"])
    assert list(dora.policies) == [f"group:{world['dora']['arn'].split('/')[-1]}-group/inline:grp"]

    credentials = assume(endpoint, world["alice"], world["ingest"], ExternalId=EXTERNAL_ID)
    session = identity.resolve(credentials["AccessKeyId"])
    assert session.kind == ASSUMED_ROLE
    assert session.principal_arn == world["ingest"]
    assert session.session_token == credentials["SessionToken"]
    assert session.expiration == credentials["Expiration"]
    assert identity.authorize(
        session, "execute-api:Invoke", "arn:aws:execute-api:us-east-1:1:a/p/GET/x"
    ).allowed
    assert not identity.authorize(session, "dynamodb:DeleteTable", "*").allowed
    assert identity.resolve("AKIADOESNOTEXIST0000") is None


def test_inactive_keys_do_not_resolve(endpoint):
    iam = client(endpoint, "iam")
    name = f"eve-{uuid.uuid4().hex[:6]}"
    user = new_user(iam, name)
    key_id = user["credentials"]["aws_access_key_id"]
    iam.update_access_key(UserName=name, AccessKeyId=key_id, Status="Inactive")
    assert identity.resolve(key_id) is None
