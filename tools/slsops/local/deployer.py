"""Terraform applies as the delivery pipeline's deploy role, not as an all-powerful user.

On AWS the pipeline (GitHub Actions) assumes the deploy role of ``infra/github_oidc.tf`` with a
web-identity token and applies with exactly that role's policy. The local stack does the same,
which proves the deploy policy suffices for a full apply and a no-change plan:

1. **Bootstrap** (as the administrator, as an account owner creates the pipeline's role once):
   a targeted apply of the OIDC provider, the two GitHub roles and their policies.
2. **Token:** the local OIDC issuer (``slsops.local.oidc_issuer``, GitHub's issuer URL, a key
   pair of this process) signs a token whose ``sub`` is the deploy environment of the local
   repository name; it is written 0600 next to the configuration.
3. **Apply as the deployer:** the provider override switches from the administrator's keys to
   ``assume_role_with_web_identity``; the embedded AWS verifies the token, evaluates the deploy
   role's trust conditions and then authorises every call of the apply with the role's policy.

After the apply, ``deploy-role-usage.json`` shows what of the role's policy the apply used and
which statements it never needed. The token lives ``TOKEN_LIFETIME_S`` (later plans against
the stack, ``nox -s infra``, reuse it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slsops.errors import SlsopsError
from slsops.local import apply as tf_apply
from slsops.local import oidc_issuer

LOCAL_GITHUB_REPOSITORY = "slsops-local/simple-log-service"
GITHUB_ENVIRONMENT = "production"
TOKEN_FILE = "web-identity-token"  # noqa: S105 - a file name
TOKEN_LIFETIME_S = 24 * 3600
BOOTSTRAP_TARGETS = ("aws_iam_role_policy.github_deploy", "aws_iam_role_policy.github_read")
DEPLOY_ROLE_MARKER = "-github-deploy-"
USAGE_FILE = "deploy-role-usage.json"


def subject(
    repository: str = LOCAL_GITHUB_REPOSITORY, environment: str = GITHUB_ENVIRONMENT
) -> str:
    """The ``sub`` claim GitHub gives a job of ``environment`` (what the deploy role trusts)."""
    return f"repo:{repository}:environment:{environment}"


def bootstrap(tf_dir: Path) -> None:
    """Create the OIDC provider and the GitHub roles with the administrator's keys."""
    targets = [f"-target={target}" for target in BOOTSTRAP_TARGETS]
    tf_apply.run_terraform(
        ["apply", "-auto-approve", "-input=false", "-no-color", *targets],
        tf_dir,
        tf_apply.APPLY_TIMEOUT_S,
        "bootstrap",
    )


def deploy_role_arn(account_id: str = "123456789012") -> str:
    """The deploy role the bootstrap created, read from the embedded AWS of this process."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    for role in list(backend.roles.values()):
        if DEPLOY_ROLE_MARKER in role.name:
            return str(role.arn)
    raise SlsopsError("the bootstrap apply created no GitHub deploy role (infra/github_oidc.tf)")


def sign_in_as_deployer(tf_dir: Path, moto_url: str, region: str) -> str:
    """Write the token and point the provider at the deploy role; returns the role ARN."""
    issuer = oidc_issuer.issuer_for(oidc_issuer.GITHUB_ISSUER) or oidc_issuer.register(
        oidc_issuer.LocalIssuer()
    )
    token = tf_dir.parent / TOKEN_FILE
    tf_apply.write_private(token, issuer.issue(subject(), lifetime_s=TOKEN_LIFETIME_S))
    role_arn = deploy_role_arn()
    tf_apply.write_private(
        tf_dir / "local_provider_override.tf",
        tf_apply.provider_override(moto_url, region, "", "", web_identity=(role_arn, token)),
    )
    return role_arn


def apply_as_deployer(tf_dir: Path, moto_url: str, region: str, _admin: Any = None) -> str:
    """Bootstrap as the administrator, then the full apply as the deploy role (its ARN).

    Writes ``USAGE_FILE`` next to the configuration: which statements of the role's policies
    the apply used, with which actions, and which it never needed (what the role allows beyond
    a deployment).
    """
    bootstrap(tf_dir)
    role_arn = sign_in_as_deployer(tf_dir, moto_url, region)
    tf_apply.apply(tf_dir)
    usage = usage_report(role_arn)
    tf_apply.write_private(tf_dir.parent / USAGE_FILE, json.dumps(usage, indent=2) + "\n")
    return role_arn


def usage_report(role_arn: str, account_id: str = "123456789012") -> dict[str, Any]:
    """The deploy role's statements: the actions the embedded AWS allowed through each so far."""
    from moto.iam.models import iam_backends

    from slsops.iam.evaluator import as_list, load_policy, statements
    from slsops.local.authz.layer import USAGE

    role = next(
        (r for r in list(iam_backends[account_id]["aws"].roles.values()) if r.arn == role_arn),
        None,
    )
    if role is None:
        raise SlsopsError(f"deploy role {role_arn} is not in the embedded AWS")
    used: dict[str, set[str]] = {}
    for (principal, action, statement), _count in list(USAGE.items()):
        if principal == role_arn:
            used.setdefault(statement, set()).add(action)
    report: dict[str, Any] = {"role": role_arn, "statements": {}, "unused_statements": []}
    for name, text in sorted(role.policies.items()):
        for index, statement in enumerate(statements(load_policy(text))):
            sid = str(statement.get("Sid") or f"inline:{name}#{index}")
            entry = {
                "policy": name,
                "effect": statement.get("Effect"),
                "granted": sorted(map(str, as_list(statement.get("Action")))),
                "used": sorted(used.get(sid, ())),
            }
            report["statements"][sid] = entry
            if entry["effect"] == "Allow" and not entry["used"]:
                report["unused_statements"].append(sid)
    return report
