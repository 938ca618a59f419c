"""A probe set for the embedded AWS's authorisation: what AWS refuses, and what it allows.

Each probe is one request with AWS's expected answer. A probe expecting a refusal that gets a
success (or credentials, or a 5xx) is a *let-through*; a probe expecting success that gets a
refusal is a *false deny*. ``run_probes`` sets up its own principals with the administrator's
credentials (a user the roles trust, a role with an external id, a read role, a table, a managed
policy), runs every probe against ``endpoint`` and returns the results; ``count`` sums them.

Used by ``tests/test_authz_probe.py`` (zero of either behind the layer) and runnable by hand:
``python -m slsops.local.authz.probe`` prints the counts for moto behind the layer.
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
REFUSE, ALLOW, CLIENT_ERROR = "refuse", "allow", "4xx"


@dataclass(frozen=True)
class Outcome:
    status: int
    credentials: bool  # the answer carries a secret access key


@dataclass(frozen=True)
class ProbeResult:
    name: str
    expected: str  # REFUSE | ALLOW | CLIENT_ERROR
    status: int
    credentials: bool

    @property
    def let_through(self) -> bool:
        if self.expected == ALLOW:
            return False
        # A 5xx is not AWS's answer either; credentials are a let-through whatever the status.
        return self.status >= 500 or self.credentials or self.status < 400

    @property
    def false_deny(self) -> bool:
        return self.expected == ALLOW and not 200 <= self.status < 300


def count(results: list[ProbeResult]) -> dict[str, int]:
    return {
        "probes": len(results),
        "let_through": sum(r.let_through for r in results),
        "false_deny": sum(r.false_deny for r in results),
    }


class _World:
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
            PolicyDocument=_policy(["iam:GetRole"]),
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
        iam.put_role_policy(RoleName=name, PolicyName="probe", PolicyDocument=_policy(actions))
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


def _policy(actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


def _raw(
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


def _sdk(call: Callable[[], Any]) -> Outcome:
    try:
        answer = call()
    except ClientError as error:
        return Outcome(int(error.response["ResponseMetadata"].get("HTTPStatusCode") or 400), False)
    return Outcome(200, "SecretAccessKey" in json.dumps(answer, default=str))


def _assume(role: str, **extra: str) -> str:
    fields = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": role}
    fields.update({"RoleSessionName": "probe", **extra})
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())


def _bad_content_length(endpoint: str, body: str) -> Outcome:
    prepared = requests.Request(
        "POST", endpoint + "/", data=body, headers={"Content-Type": FORM}
    ).prepare()
    prepared.headers["Content-Length"] = "abc"
    try:
        with requests.Session() as http:
            return Outcome(http.send(prepared, timeout=TIMEOUT_S).status_code, False)
    except requests.RequestException:
        return Outcome(599, False)


def probes(w: _World) -> list[tuple[str, str, Callable[[], Outcome]]]:
    """(name, expected, run) for every probe."""
    e, user = w.endpoint, w.user
    target = {"X-Amz-Target": "AWSSecurityTokenServiceV20110615.AssumeRole"}
    no_action = f"Version=2011-06-15&RoleArn={w.full}&RoleSessionName=probe"
    item = {"pk": {"S": "probe"}}

    def session_client(service: str, role: str, **extra: Any) -> Any:
        return w.client(service, w.session(role, **extra))

    managed = {"PolicyArns": [{"arn": w.only_get_role}], "ExternalId": EXTERNAL_ID}
    inline = {"Policy": _policy(["iam:GetRole"]), "ExternalId": EXTERNAL_ID}
    post_too = _policy(["execute-api:Invoke"])
    return [
        ("assume without external id", REFUSE, lambda: _raw(e, _assume(w.full), user)),
        (
            "assume, content type upper case",
            REFUSE,
            lambda: _raw(e, _assume(w.full), user, {"Content-Type": FORM.upper()}),
        ),
        ("assume with unknown key", REFUSE, lambda: _raw(e, _assume(w.full), UNKNOWN)),
        (
            "assume, unknown key, content type upper case",
            REFUSE,
            lambda: _raw(e, _assume(w.full), UNKNOWN, {"Content-Type": FORM.upper()}),
        ),
        ("assume via X-Amz-Target", REFUSE, lambda: _raw(e, no_action, user, target)),
        (
            "assume via X-Amz-Target, unknown key",
            REFUSE,
            lambda: _raw(e, no_action, UNKNOWN, target),
        ),
        (
            "duplicated Action (identity first)",
            REFUSE,
            lambda: _raw(e, "Action=GetCallerIdentity&" + _assume(w.full), UNKNOWN),
        ),
        (
            "duplicated Action (assume first)",
            REFUSE,
            lambda: _raw(e, _assume(w.full) + "&Action=GetCallerIdentity", user),
        ),
        (
            "duplicated RoleArn (trusted first)",
            REFUSE,
            lambda: _raw(e, _assume(w.read) + f"&RoleArn={w.full}", UNKNOWN),
        ),
        (
            "duplicated RoleArn (untrusted first)",
            REFUSE,
            lambda: _raw(e, _assume(w.full) + f"&RoleArn={w.read}", UNKNOWN),
        ),
        (
            "web identity, junk token, unsigned",
            REFUSE,
            lambda: _raw(
                e,
                "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=probe"
                f"&RoleArn={w.full}&WebIdentityToken=junk",
                None,
            ),
        ),
        (
            "SAML, junk assertion, unsigned",
            REFUSE,
            lambda: _raw(
                e,
                f"Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn={w.full}"
                "&PrincipalArn=arn:aws:iam::123456789012:saml-provider/x&SAMLAssertion=junk",
                None,
            ),
        ),
        ("assume unsigned", REFUSE, lambda: _raw(e, _assume(w.full, ExternalId=EXTERNAL_ID), None)),
        (
            "assume with a bad signature",
            REFUSE,
            lambda: _raw(
                e, _assume(w.full, ExternalId=EXTERNAL_ID), {**user, "aws_secret_access_key": "x"}
            ),
        ),
        (
            "managed session policy limits the session",
            REFUSE,
            lambda: _sdk(
                lambda: session_client("dynamodb", w.full, **managed).describe_table(
                    TableName=w.table
                )
            ),
        ),
        (
            "inline session policy limits the session",
            REFUSE,
            lambda: _sdk(
                lambda: session_client("dynamodb", w.full, **inline).describe_table(
                    TableName=w.table
                )
            ),
        ),
        (
            "DurationSeconds below 900",
            CLIENT_ERROR,
            lambda: _raw(e, _assume(w.read, DurationSeconds="100"), user),
        ),
        (
            "DurationSeconds above the role's maximum",
            CLIENT_ERROR,
            lambda: _raw(e, _assume(w.read, DurationSeconds="7200"), user),
        ),
        (
            "RoleSessionName with a space",
            CLIENT_ERROR,
            lambda: _raw(e, _assume(w.read, RoleSessionName="bad name"), user),
        ),
        (
            "session policy not JSON",
            CLIENT_ERROR,
            lambda: _raw(e, _assume(w.read, Policy="nope"), user),
        ),
        (
            "read role writes its own policy",
            REFUSE,
            lambda: _sdk(
                lambda: session_client("iam", w.read).put_role_policy(
                    RoleName=w.read_name, PolicyName="post", PolicyDocument=post_too
                )
            ),
        ),
        (
            "unknown key writes a role policy",
            REFUSE,
            lambda: _sdk(
                lambda: w.client("iam", UNKNOWN).put_role_policy(
                    RoleName=w.read_name, PolicyName="post", PolicyDocument=post_too
                )
            ),
        ),
        (
            "unknown key writes the table",
            REFUSE,
            lambda: _sdk(
                lambda: w.client("dynamodb", UNKNOWN).put_item(TableName=w.table, Item=item)
            ),
        ),
        (
            "unknown key scans the table",
            REFUSE,
            lambda: _sdk(lambda: w.client("dynamodb", UNKNOWN).scan(TableName=w.table)),
        ),
        (
            "read role writes the table",
            REFUSE,
            lambda: _sdk(
                lambda: session_client("dynamodb", w.read).put_item(TableName=w.table, Item=item)
            ),
        ),
        (
            "read role scans the table",
            REFUSE,
            lambda: _sdk(lambda: session_client("dynamodb", w.read).scan(TableName=w.table)),
        ),
        ("Content-Length abc", CLIENT_ERROR, lambda: _bad_content_length(e, _assume(w.read))),
        (
            "assume without RoleSessionName",
            CLIENT_ERROR,
            lambda: _raw(e, f"Action=AssumeRole&Version=2011-06-15&RoleArn={w.read}", user),
        ),
        (
            "assume as text/plain",
            CLIENT_ERROR,
            lambda: _raw(e, _assume(w.full), user, {"Content-Type": "text/plain"}),
        ),
        # What AWS allows: a refusal here is a false deny.
        (
            "assume with the external id",
            ALLOW,
            lambda: _raw(e, _assume(w.full, ExternalId=EXTERNAL_ID), user),
        ),
        ("assume a role without external id", ALLOW, lambda: _raw(e, _assume(w.read), user)),
        (
            "full session reads the table",
            ALLOW,
            lambda: _sdk(
                lambda: session_client("dynamodb", w.full, ExternalId=EXTERNAL_ID).describe_table(
                    TableName=w.table
                )
            ),
        ),
        (
            "full session writes the table",
            ALLOW,
            lambda: _sdk(
                lambda: session_client("dynamodb", w.full, ExternalId=EXTERNAL_ID).put_item(
                    TableName=w.table, Item=item
                )
            ),
        ),
        (
            "managed session policy allows what it names",
            ALLOW,
            lambda: _sdk(
                lambda: session_client("iam", w.full, **managed).get_role(RoleName=w.read_name)
            ),
        ),
        (
            "read session reads a role",
            ALLOW,
            lambda: _sdk(lambda: session_client("iam", w.read).get_role(RoleName=w.read_name)),
        ),
        (
            "caller identity needs no permission",
            ALLOW,
            lambda: _sdk(lambda: w.client("sts", user).get_caller_identity()),
        ),
        (
            "administrator lists tables",
            ALLOW,
            lambda: _sdk(lambda: w.client("dynamodb", w.admin).list_tables()),
        ),
    ]


def run_probes(endpoint: str, admin: dict[str, str]) -> list[ProbeResult]:
    world = _World(endpoint, admin)
    results = []
    for name, expected, probe in probes(world):
        try:
            outcome = probe()
        except ClientError as error:  # a refusal while setting a probe up (assume_role)
            outcome = Outcome(
                int(error.response["ResponseMetadata"].get("HTTPStatusCode") or 400), False
            )
        results.append(ProbeResult(name, expected, outcome.status, outcome.credentials))
    return results


def main() -> None:
    from slsops.local.aws_app import build_moto_app, serve_in_thread
    from slsops.local.operator import create_admin

    admin = create_admin().boto3_kwargs()
    with serve_in_thread(build_moto_app(enforce_iam=True)) as endpoint:
        results = run_probes(endpoint, admin)
    for result in results:
        flag = "LET-THROUGH" if result.let_through else "FALSE-DENY" if result.false_deny else "ok"
        print(f"{flag:12} {result.status} {result.expected:7} {result.name}")
    print(json.dumps(count(results)))


if __name__ == "__main__":
    main()
