"""The local stack's identities: an administrator (bootstrap) and the operator.

On AWS the operator is whoever runs slsops with their own credentials, holding the
least-privilege policies the project publishes (``tools/slsops/policies/operator-*.json``); the
client roles trust the principals in ``trusted_principal_arns``. The local stack creates the
same: one IAM user with exactly those policies (attached as customer-managed policies, as an
account would), named in that variable and handed to the toolkit as ``local_credentials``. So
every ``slsops`` command is proven to work with the published policies, and a missing permission
shows as AccessDenied naming the action.

``SLSOPS_LOCAL_OPERATOR_POLICY=broad`` widens the operator with the broad read-and-drill policy
below (experiments only; the default is ``published``).

The administrator stands for the account's owner: created in-process in moto's IAM (no request
can create the first identity when every request must be signed by a known one), used to create
the operator and by the tests to break and repair the deployment.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

from slsops.deployment.aws_sessions import new_session
from slsops.errors import UsageError

OPERATOR_USER = "slsops-local-operator"
ADMIN_USER = "slsops-local-admin"
POLICY_NAME = "slsops-local-operator"
WIDEN_ENV = "SLSOPS_LOCAL_OPERATOR_POLICY"
PUBLISHED = "published"
BROAD = "broad"
ACCOUNT_ID = "123456789012"  # moto's default account
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "AccountOwner", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class OperatorCredentials:
    arn: str
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"OperatorCredentials(arn={self.arn!r}, access_key_id={self.access_key_id!r})"

    def boto3_kwargs(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }


def published_policies() -> dict[str, dict[str, Any]]:
    """The published operator policies, ``operator-<command>`` -> document."""
    folder = resources.files("slsops") / "policies"
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("operator-") and entry.name.endswith(".json"):
            found[entry.name[: -len(".json")]] = json.loads(entry.read_text(encoding="utf-8"))
    return found


def operator_mode() -> str:
    mode = os.environ.get(WIDEN_ENV, PUBLISHED).strip().lower() or PUBLISHED
    if mode not in (PUBLISHED, BROAD):
        raise UsageError(f"{WIDEN_ENV} must be {PUBLISHED!r} or {BROAD!r}, not {mode!r}")
    return mode


def create_admin(account_id: str = ACCOUNT_ID) -> OperatorCredentials:
    """The account owner's stand-in, created directly in moto's IAM of this process."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    user = backend.users.get(ADMIN_USER) or backend.create_user(
        region_name="us-east-1",
        user_name=ADMIN_USER,
        tags=[{"Key": "ManagedBy", "Value": "slsops"}],
    )
    backend.put_user_policy(ADMIN_USER, "account-owner", json.dumps(ADMIN_POLICY))
    active = [key for key in user.access_keys if key.status == "Active"]
    key = active[0] if active else backend.create_access_key(ADMIN_USER)
    return OperatorCredentials(user.arn, key.access_key_id, key.secret_access_key)


def broad_operator_policy(
    account_id: str, name_prefix: str = "simple-log-service"
) -> dict[str, Any]:
    """The operator policy before the published ones: broad reads and the drill (experiments)."""
    roles = f"arn:aws:iam::{account_id}:role/{name_prefix}-*"
    tables = f"arn:aws:dynamodb:*:{account_id}:table/{name_prefix}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeClientRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": roles,
            },
            {
                "Sid": "ReadDeployment",
                "Effect": "Allow",
                "Action": [
                    "sts:GetCallerIdentity",
                    "apigateway:GET",
                    "lambda:Get*",
                    "lambda:List*",
                    "dynamodb:Describe*",
                    "dynamodb:List*",
                    "kms:Describe*",
                    "kms:Get*",
                    "kms:List*",
                    "iam:Get*",
                    "iam:List*",
                    "iam:SimulatePrincipalPolicy",
                    "cloudwatch:Describe*",
                    "cloudwatch:Get*",
                    "cloudwatch:List*",
                    "logs:Describe*",
                    "logs:FilterLogEvents",
                    "logs:GetLogEvents",
                    "sns:Get*",
                    "sns:List*",
                    "config:Describe*",
                    "config:Get*",
                    "config:List*",
                    "tag:GetResources",
                ],
                "Resource": "*",
            },
            {
                "Sid": "AuditReadsTable",
                "Effect": "Allow",
                "Action": ["dynamodb:Query", "dynamodb:Scan", "dynamodb:GetItem"],
                "Resource": [tables, f"{tables}/index/*"],
            },
            {
                "Sid": "RestoreDrill",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:RestoreTableToPointInTime",
                    "dynamodb:CreateBackup",
                    "dynamodb:RestoreTableFromBackup",
                    "dynamodb:DeleteBackup",
                    "dynamodb:DeleteTable",
                    "dynamodb:PutItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:TagResource",
                ],
                "Resource": [tables, f"{tables}/backup/*", f"{tables}/index/*"],
            },
        ],
    }


def create_operator(
    moto_url: str, region: str, admin: OperatorCredentials, mode: str | None = None
) -> OperatorCredentials:
    """Create the operator user with the published policies (and the broad one if widened)."""
    session = new_session(region_name=region, **admin.boto3_kwargs())
    iam = session.client("iam", endpoint_url=moto_url)
    account_id = session.client("sts", endpoint_url=moto_url).get_caller_identity()["Account"]
    user = iam.create_user(UserName=OPERATOR_USER, Tags=[{"Key": "ManagedBy", "Value": "slsops"}])
    documents = published_policies()
    if (mode or operator_mode()) == BROAD:
        documents[POLICY_NAME + "-broad"] = broad_operator_policy(account_id)
    for name, document in documents.items():
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"][
            "Arn"
        ]
        iam.attach_user_policy(UserName=OPERATOR_USER, PolicyArn=arn)
    key = iam.create_access_key(UserName=OPERATOR_USER)["AccessKey"]
    return OperatorCredentials(
        arn=user["User"]["Arn"],
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
    )
