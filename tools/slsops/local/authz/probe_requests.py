"""The probe set's requests: its principals and resources, and how a probe is sent.

``World`` creates them with the administrator's keys; ``raw`` sends a SigV4-signed (or unsigned)
form POST exactly as given, ``sdk`` a boto3 call; both return an ``Outcome``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REGION = "us-east-1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
UNKNOWN = {"aws_access_key_id": "AKIAPROBEUNKNOWN0000", "aws_secret_access_key": "probe"}
EXTERNAL_ID = "probe-external-id-5b1e"
TIMEOUT_S = 30


@dataclass(frozen=True)
class Outcome:
    status: int
    credentials: bool  # the answer carries a secret access key


class World:
    """The principals and resources the probes use, created with the administrator's keys."""

    def __init__(self, endpoint: str, admin: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.admin = admin
        iam = self.client("iam", admin)
        suffix = uuid.uuid4().hex[:6]
        user = f"probe-user-{suffix}"
        iam.create_user(UserName=user)
        self.user_arn = iam.get_user(UserName=user)["User"]["Arn"]
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.user = {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
        self.table = f"probe-logs-{suffix}"
        self.client("dynamodb", admin).create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.full_name, self.read_name = f"probe-full-{suffix}", f"probe-read-{suffix}"
        self.full = self._role(iam, self.full_name, EXTERNAL_ID, ["dynamodb:*", "iam:GetRole"])
        self.read = self._role(iam, self.read_name, None, ["iam:GetRole"])
        self.only_get_role = iam.create_policy(
            PolicyName=f"probe-only-get-role-{suffix}",
            PolicyDocument=policy(["iam:GetRole"]),
        )["Policy"]["Arn"]

    def _role(self, iam: Any, name: str, external_id: str | None, actions: list[str]) -> str:
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": self.user_arn},
            "Action": "sts:AssumeRole",
        }
        if external_id:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="probe", PolicyDocument=policy(actions))
        return str(arn)

    def client(self, service: str, credentials: dict[str, str]) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            config=Config(parameter_validation=False, retries={"max_attempts": 1}),
            **credentials,
        )

    def session(self, role: str, **extra: Any) -> dict[str, str]:
        sts = self.client("sts", self.user)
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="probe", **extra)["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }


def policy(actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


def raw(
    endpoint: str,
    body: str,
    credentials: dict[str, str] | None,
    headers: dict[str, str] | None = None,
    service: str = "sts",
) -> Outcome:
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": FORM, **(headers or {})},
    )
    if credentials:
        keys = Credentials(
            credentials["aws_access_key_id"],
            credentials["aws_secret_access_key"],
            credentials.get("aws_session_token"),
        )
        SigV4Auth(keys, service, REGION).add_auth(request)
    try:
        answer = requests.post(
            request.url, data=request.body, headers=dict(request.headers.items()), timeout=TIMEOUT_S
        )
    except requests.RequestException:
        return Outcome(599, False)
    return Outcome(answer.status_code, "SecretAccessKey" in answer.text)


def sdk(call: Callable[[], Any]) -> Outcome:
    try:
        answer = call()
    except ClientError as error:
        return Outcome(int(error.response["ResponseMetadata"].get("HTTPStatusCode") or 400), False)
    return Outcome(200, "SecretAccessKey" in json.dumps(answer, default=str))


def assume(role: str, **extra: str) -> str:
    fields = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": role}
    fields.update({"RoleSessionName": "probe", **extra})
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())


def bad_content_length(endpoint: str, body: str) -> Outcome:
    prepared = requests.Request(
        "POST", endpoint + "/", data=body, headers={"Content-Type": FORM}
    ).prepare()
    prepared.headers["Content-Length"] = "abc"
    try:
        with requests.Session() as http:
            return Outcome(http.send(prepared, timeout=TIMEOUT_S).status_code, False)
    except requests.RequestException:
        return Outcome(599, False)
