"""KMS-*: the customer-managed key, its rotation, alias and key policy (``slsops verify``)."""

from __future__ import annotations

import json
from typing import Any

from slsops import contract
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared, problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check
from slsops.iam.documents import of_account, principals_beyond_account

CHECKS: list[Check] = []
MAX_ALIAS_PAGES = 50  # ListAliases pages of up to 50 aliases: bounded, and far above any account
DOC = "runbooks/deployment-verification-failed.md"


def _key_id(ctx: StackContext) -> str:
    return str(ctx.stack["kms_key_arn"])


def _metadata(ctx: StackContext) -> dict[str, Any]:
    return ctx.call("kms", "describe_key", KeyId=_key_id(ctx))["KeyMetadata"]


@check(
    CHECKS,
    "KMS-001",
    "Key is an enabled, symmetric, customer-managed key",
    Severity.CRITICAL,
    "Enable the key (aws kms enable-key) or cancel its deletion (aws kms cancel-key-deletion).",
    reads="kms:DescribeKey (KeyState, KeyManager, KeySpec, KeyUsage)",
    runs_on="both",
    doc=DOC,
)
def key_state(ctx: StackContext) -> Outcome:
    meta = _metadata(ctx)
    return compared(
        {
            "state": "Enabled",
            "manager": "CUSTOMER",
            "key_spec": contract.KMS.key_spec,
            "key_usage": contract.KMS.key_usage,
        },
        {
            "state": meta.get("KeyState"),
            "manager": meta.get("KeyManager"),
            "key_spec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
            "key_usage": meta.get("KeyUsage"),
        },
        f"key {meta.get('KeyId')} is enabled and customer-managed",
    )


@check(
    CHECKS,
    "KMS-002",
    "Automatic key rotation enabled",
    Severity.HIGH,
    "aws kms enable-key-rotation --key-id <kms_key_arn>",
    reads="kms:GetKeyRotationStatus",
    runs_on="both",
    doc=DOC,
)
def rotation(ctx: StackContext) -> Outcome:
    answer = ctx.call("kms", "get_key_rotation_status", KeyId=_key_id(ctx))
    return compared(
        {"rotation_enabled": contract.KMS.rotation_enabled},
        {"rotation_enabled": bool(answer.get("KeyRotationEnabled"))},
        "the key rotates automatically",
        rotation_period_days=answer.get("RotationPeriodInDays"),
    )


@check(
    CHECKS,
    "KMS-003",
    "Alias names the key",
    Severity.MEDIUM,
    "aws kms update-alias --alias-name <kms_alias> --target-key-id <kms_key_arn>",
    reads="kms:ListAliases (the account's aliases and the keys they name); the kms_key_arn output",
    runs_on="both",
    doc=DOC,
)
def alias(ctx: StackContext) -> Outcome:
    """Reads the account's aliases (ListAliases needs no access to the key), so a deleted or
    moved alias FAILs here even for an operator whose key access is granted through it."""
    key_id = _key_id(ctx).rsplit("/", 1)[-1]
    targets: dict[str, str | None] = {}
    marker: str | None = None
    for _ in range(MAX_ALIAS_PAGES):
        answer = ctx.call("kms", "list_aliases", **({"Marker": marker} if marker else {}))
        targets.update({a["AliasName"]: a.get("TargetKeyId") for a in answer.get("Aliases", [])})
        marker = answer.get("NextMarker") if answer.get("Truncated") else None
        if marker is None:
            break
    wanted = sorted({str(ctx.stack["kms_alias"]), ctx.names.kms_alias})
    problems = []
    for name in wanted:
        if name not in targets:
            problems.append(f"alias {name} does not exist")
        elif targets[name] != key_id:
            problems.append(f"alias {name} names key {targets[name]}, not {key_id}")
    return problems_outcome(
        problems,
        f"{', '.join(wanted)} names key {key_id}",
        aliases={name: targets.get(name) for name in wanted},
    )


@check(
    CHECKS,
    "KMS-004",
    "Key policy admits the CloudWatch service principals",
    Severity.MEDIUM,
    "Restore the key policy from infra/kms.tf (logs and cloudwatch service statements); apply.",
    reads="kms:GetKeyPolicy (default)",
    runs_on="both",
    doc=DOC,
)
def key_policy(ctx: StackContext) -> Outcome:
    answer = ctx.call("kms", "get_key_policy", KeyId=_key_id(ctx), PolicyName="default")
    policy = json.loads(answer["Policy"])
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    services: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal") or {}
        value = principal.get("Service", []) if isinstance(principal, dict) else []
        services.update([value] if isinstance(value, str) else value)
    wider = principals_beyond_account(policy, str(ctx.stack.get("account_id") or ""))
    wanted = [p.format(region=ctx.stack.region) for p in contract.KMS.service_principals]
    return problems_outcome(
        [f"no Allow statement for {p}" for p in wanted if p not in services]
        + [f"statement {w} is admitted, beyond this account" for w in wider],
        "the key policy admits " + ", ".join(wanted) + ", and no principal beyond this account",
        service_principals=sorted(services),
    )


@check(
    CHECKS,
    "KMS-005",
    "No grant on the key lets a principal beyond this account use it",
    Severity.CRITICAL,
    "Revoke the grant: aws kms revoke-grant --key-id <key ARN> --grant-id <id> (the grants "
    "AWS services make for themselves, e.g. dynamodb.<region>.amazonaws.com, stay).",
    reads="kms:ListGrants of the key",
    runs_on="both",
    doc=DOC,
)
def grants(ctx: StackContext) -> Outcome:
    """A grant lets its grantee use the key whatever the key policy says: one to another
    account opens the table's data past the key policy (KMS-004)."""
    account = str(ctx.stack.get("account_id") or "")
    pages = ctx.client("kms").get_paginator("list_grants").paginate(KeyId=_key_id(ctx))
    found = [grant for page in pages for grant in page.get("Grants", [])]
    beyond = [g for g in found if _beyond_account(str(g.get("GranteePrincipal") or ""), account)]
    return problems_outcome(
        [
            f"grant {g.get('GrantId')} lets {g.get('GranteePrincipal')} {g.get('Operations')}"
            for g in beyond
        ],
        f"{len(found)} grant(s) on the key, none to a principal beyond this account",
        grants=[
            {"grantee": g.get("GranteePrincipal"), "operations": g.get("Operations")} for g in found
        ],
    )


def _beyond_account(principal: str, account: str) -> bool:
    """An AWS service's own principal, or an ARN of this account, is not beyond it."""
    return not (principal.endswith(".amazonaws.com") or of_account(principal, account))
