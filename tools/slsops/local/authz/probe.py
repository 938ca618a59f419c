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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from slsops.local.authz.probe_requests import (
    EXTERNAL_ID,
    FORM,
    UNKNOWN,
    Outcome,
    World,
    assume,
    bad_content_length,
    policy,
    raw,
    sdk,
)

REFUSE, ALLOW, CLIENT_ERROR = "refuse", "allow", "4xx"


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


def probes(w: World) -> list[tuple[str, str, Callable[[], Outcome]]]:
    """(name, expected, run) for every probe."""
    e, user = w.endpoint, w.user
    target = {"X-Amz-Target": "AWSSecurityTokenServiceV20110615.AssumeRole"}
    no_action = f"Version=2011-06-15&RoleArn={w.full}&RoleSessionName=probe"
    item = {"pk": {"S": "probe"}}

    def session_client(service: str, role: str, **extra: Any) -> Any:
        return w.client(service, w.session(role, **extra))

    managed = {"PolicyArns": [{"arn": w.only_get_role}], "ExternalId": EXTERNAL_ID}
    inline = {"Policy": policy(["iam:GetRole"]), "ExternalId": EXTERNAL_ID}
    post_too = policy(["execute-api:Invoke"])
    return [
        ("assume without external id", REFUSE, lambda: raw(e, assume(w.full), user)),
        (
            "assume, content type upper case",
            REFUSE,
            lambda: raw(e, assume(w.full), user, {"Content-Type": FORM.upper()}),
        ),
        ("assume with unknown key", REFUSE, lambda: raw(e, assume(w.full), UNKNOWN)),
        (
            "assume, unknown key, content type upper case",
            REFUSE,
            lambda: raw(e, assume(w.full), UNKNOWN, {"Content-Type": FORM.upper()}),
        ),
        ("assume via X-Amz-Target", REFUSE, lambda: raw(e, no_action, user, target)),
        (
            "assume via X-Amz-Target, unknown key",
            REFUSE,
            lambda: raw(e, no_action, UNKNOWN, target),
        ),
        (
            "duplicated Action (identity first)",
            REFUSE,
            lambda: raw(e, "Action=GetCallerIdentity&" + assume(w.full), UNKNOWN),
        ),
        (
            "duplicated Action (assume first)",
            REFUSE,
            lambda: raw(e, assume(w.full) + "&Action=GetCallerIdentity", user),
        ),
        (
            "duplicated RoleArn (trusted first)",
            REFUSE,
            lambda: raw(e, assume(w.read) + f"&RoleArn={w.full}", UNKNOWN),
        ),
        (
            "duplicated RoleArn (untrusted first)",
            REFUSE,
            lambda: raw(e, assume(w.full) + f"&RoleArn={w.read}", UNKNOWN),
        ),
        (
            "web identity, junk token, unsigned",
            REFUSE,
            lambda: raw(
                e,
                "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=probe"
                f"&RoleArn={w.full}&WebIdentityToken=junk",
                None,
            ),
        ),
        (
            "SAML, junk assertion, unsigned",
            REFUSE,
            lambda: raw(
                e,
                f"Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn={w.full}"
                "&PrincipalArn=arn:aws:iam::123456789012:saml-provider/x&SAMLAssertion=junk",
                None,
            ),
        ),
        ("assume unsigned", REFUSE, lambda: raw(e, assume(w.full, ExternalId=EXTERNAL_ID), None)),
        (
            "assume with a bad signature",
            REFUSE,
            lambda: raw(
                e, assume(w.full, ExternalId=EXTERNAL_ID), {**user, "aws_secret_access_key": "x"}
            ),
        ),
        (
            "managed session policy limits the session",
            REFUSE,
            lambda: sdk(
                lambda: session_client("dynamodb", w.full, **managed).describe_table(
                    TableName=w.table
                )
            ),
        ),
        (
            "inline session policy limits the session",
            REFUSE,
            lambda: sdk(
                lambda: session_client("dynamodb", w.full, **inline).describe_table(
                    TableName=w.table
                )
            ),
        ),
        (
            "DurationSeconds below 900",
            CLIENT_ERROR,
            lambda: raw(e, assume(w.read, DurationSeconds="100"), user),
        ),
        (
            "DurationSeconds above the role's maximum",
            CLIENT_ERROR,
            lambda: raw(e, assume(w.read, DurationSeconds="7200"), user),
        ),
        (
            "RoleSessionName with a space",
            CLIENT_ERROR,
            lambda: raw(e, assume(w.read, RoleSessionName="bad name"), user),
        ),
        (
            "session policy not JSON",
            CLIENT_ERROR,
            lambda: raw(e, assume(w.read, Policy="nope"), user),
        ),
        (
            "read role writes its own policy",
            REFUSE,
            lambda: sdk(
                lambda: session_client("iam", w.read).put_role_policy(
                    RoleName=w.read_name, PolicyName="post", PolicyDocument=post_too
                )
            ),
        ),
        (
            "unknown key writes a role policy",
            REFUSE,
            lambda: sdk(
                lambda: w.client("iam", UNKNOWN).put_role_policy(
                    RoleName=w.read_name, PolicyName="post", PolicyDocument=post_too
                )
            ),
        ),
        (
            "unknown key writes the table",
            REFUSE,
            lambda: sdk(
                lambda: w.client("dynamodb", UNKNOWN).put_item(TableName=w.table, Item=item)
            ),
        ),
        (
            "unknown key scans the table",
            REFUSE,
            lambda: sdk(lambda: w.client("dynamodb", UNKNOWN).scan(TableName=w.table)),
        ),
        (
            "read role writes the table",
            REFUSE,
            lambda: sdk(
                lambda: session_client("dynamodb", w.read).put_item(TableName=w.table, Item=item)
            ),
        ),
        (
            "read role scans the table",
            REFUSE,
            lambda: sdk(lambda: session_client("dynamodb", w.read).scan(TableName=w.table)),
        ),
        ("Content-Length abc", CLIENT_ERROR, lambda: bad_content_length(e, assume(w.read))),
        (
            "assume without RoleSessionName",
            CLIENT_ERROR,
            lambda: raw(e, f"Action=AssumeRole&Version=2011-06-15&RoleArn={w.read}", user),
        ),
        (
            "assume as text/plain",
            CLIENT_ERROR,
            lambda: raw(e, assume(w.full), user, {"Content-Type": "text/plain"}),
        ),
        # What AWS allows: a refusal here is a false deny.
        (
            "assume with the external id",
            ALLOW,
            lambda: raw(e, assume(w.full, ExternalId=EXTERNAL_ID), user),
        ),
        ("assume a role without external id", ALLOW, lambda: raw(e, assume(w.read), user)),
        (
            "full session reads the table",
            ALLOW,
            lambda: sdk(
                lambda: session_client("dynamodb", w.full, ExternalId=EXTERNAL_ID).describe_table(
                    TableName=w.table
                )
            ),
        ),
        (
            "full session writes the table",
            ALLOW,
            lambda: sdk(
                lambda: session_client("dynamodb", w.full, ExternalId=EXTERNAL_ID).put_item(
                    TableName=w.table, Item=item
                )
            ),
        ),
        (
            "managed session policy allows what it names",
            ALLOW,
            lambda: sdk(
                lambda: session_client("iam", w.full, **managed).get_role(RoleName=w.read_name)
            ),
        ),
        (
            "read session reads a role",
            ALLOW,
            lambda: sdk(lambda: session_client("iam", w.read).get_role(RoleName=w.read_name)),
        ),
        (
            "caller identity needs no permission",
            ALLOW,
            lambda: sdk(lambda: w.client("sts", user).get_caller_identity()),
        ),
        (
            "administrator lists tables",
            ALLOW,
            lambda: sdk(lambda: w.client("dynamodb", w.admin).list_tables()),
        ),
    ]


def run_probes(endpoint: str, admin: dict[str, str]) -> list[ProbeResult]:
    world = World(endpoint, admin)
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
