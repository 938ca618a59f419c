"""The local operator: an IAM user in the embedded AWS that the client roles trust.

On AWS the operator is whoever runs slsops with their own credentials; the roles trust the
principals in ``trusted_principal_arns``. The local stack creates one user before the apply,
names it in that variable, and hands its access key to the toolkit as ``local_credentials``.
Its policy allows what the toolkit does and little else: assume the three client roles, read
the deployment's configuration, and run the restore drill on the log table's copies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

OPERATOR_USER = "slsops-local-operator"
POLICY_NAME = "slsops-local-operator"


@dataclass(frozen=True)
class OperatorCredentials:
    arn: str
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"OperatorCredentials(arn={self.arn!r}, access_key_id={self.access_key_id!r})"


def operator_policy(account_id: str, name_prefix: str = "simple-log-service") -> dict[str, Any]:
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


def create_operator(moto_url: str, region: str) -> OperatorCredentials:
    """Create the user, its inline policy and an access key in the embedded AWS."""
    # moto's well-known bootstrap key (any key works before IAM users exist); not a secret.
    bootstrap = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    session = boto3.Session(region_name=region, **bootstrap)
    iam = session.client("iam", endpoint_url=moto_url)
    account_id = session.client("sts", endpoint_url=moto_url).get_caller_identity()["Account"]
    user = iam.create_user(UserName=OPERATOR_USER, Tags=[{"Key": "ManagedBy", "Value": "slsops"}])
    iam.put_user_policy(
        UserName=OPERATOR_USER,
        PolicyName=POLICY_NAME,
        PolicyDocument=json.dumps(operator_policy(account_id)),
    )
    key = iam.create_access_key(UserName=OPERATOR_USER)["AccessKey"]
    return OperatorCredentials(
        arn=user["User"]["Arn"],
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
    )
