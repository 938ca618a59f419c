"""The toolkit works as the local stack's operator, who holds exactly the published policies.

The local stack's embedded AWS authorises every call (``slsops.local.authz``), and its operator
user has the policies of ``tools/slsops/policies/operator-*.json`` and nothing else. So running
``slsops verify``, ``roles``, ``audit`` and ``drill`` here proves those policies suffice, and a
permission taken away shows as an AccessDenied naming the action. (The PITR drill needs the
same policy statements plus RestoreTableToPointInTime on the source; it waits out the local
stack's restorable-time lag of about 5 minutes, so it runs in ``nox -s suite``, not here.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slsops.deployment.stack import Stack
from slsops.local.operator import OPERATOR_USER, published_policies

SLSOPS = [sys.executable, "-m", "slsops.cli"]


def admin_iam(stack: Stack):
    assert stack.get("local_admin_credentials"), "the local stack names no administrator"
    return stack.client("iam", session=stack.admin_session)


def run(stack: Stack, tmp_path: Path, *command: str) -> tuple[int, dict]:
    report = tmp_path / f"{'-'.join(command)}.json"
    done = subprocess.run(  # noqa: S603 - our own CLI
        [
            *SLSOPS,
            *command,
            "--stack",
            str(stack.path),
            "--format",
            "json",
            "--output",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert report.is_file(), done.stderr[-2000:]
    return done.returncode, json.loads(report.read_text(encoding="utf-8"))


def not_passing(report: dict) -> list[str]:
    return [
        f"{c['id']} {c['status']}: {c['detail'][:400]}"
        for c in report["checks"]
        if c["status"] in ("FAIL", "ERROR")
    ]


@pytest.mark.stack
def test_the_local_operator_holds_exactly_the_published_policies(local_stack: Stack) -> None:
    iam = admin_iam(local_stack)
    assert iam.list_user_policies(UserName=OPERATOR_USER)["PolicyNames"] == []
    attached = iam.list_attached_user_policies(UserName=OPERATOR_USER)["AttachedPolicies"]
    published = published_policies()
    assert sorted(p["PolicyName"] for p in attached) == sorted(published)
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)
        held = document["PolicyVersion"]["Document"]
        held = json.loads(held) if isinstance(held, str) else held
        assert held == published[policy["PolicyName"]], policy["PolicyName"]
    assert iam.list_groups_for_user(UserName=OPERATOR_USER)["Groups"] == []


@pytest.mark.stack
@pytest.mark.parametrize(
    "command",
    [
        ("verify",),
        ("roles",),
        ("audit",),
        ("audit", "--from-export"),
        ("drill", "--mode", "backup"),
    ],
    ids=["verify", "roles", "audit", "audit-from-export", "drill-backup"],
)
def test_the_toolkit_runs_on_the_published_policies(
    local_stack: Stack, tmp_path: Path, command: tuple[str, ...]
) -> None:
    code, report = run(local_stack, tmp_path, *command)
    assert not_passing(report) == []
    assert code == 0


@pytest.mark.stack
def test_a_missing_permission_is_an_access_denied_naming_the_action(
    local_stack: Stack, tmp_path: Path
) -> None:
    """Take iam:GetRole out of every published policy holding it; ROLE-030 names it."""
    iam = admin_iam(local_stack)
    attached = iam.list_attached_user_policies(UserName=OPERATOR_USER)["AttachedPolicies"]
    published = published_policies()
    changed: list[tuple[str, str, str]] = []  # (policy arn, original version, narrowed version)
    try:
        for policy in attached:
            document = published[policy["PolicyName"]]
            kept = [s for s in document["Statement"] if "iam:GetRole" not in json.dumps(s)]
            if len(kept) == len(document["Statement"]):
                continue
            arn = policy["PolicyArn"]
            original = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            narrowed = iam.create_policy_version(
                PolicyArn=arn,
                PolicyDocument=json.dumps({**document, "Statement": kept}),
                SetAsDefault=True,
            )["PolicyVersion"]["VersionId"]
            changed.append((arn, original, narrowed))
        assert changed
        code, report = run(local_stack, tmp_path, "roles", "--only", "ROLE-030")
    finally:
        for arn, original, narrowed in changed:
            iam.set_default_policy_version(PolicyArn=arn, VersionId=original)
            iam.delete_policy_version(PolicyArn=arn, VersionId=narrowed)
    assert code == 1
    [check] = report["checks"]
    assert check["status"] == "ERROR"
    assert "AccessDenied" in check["detail"] and "iam:GetRole" in check["detail"]
