"""Trust policies (resource-based, on roles): who may assume the role, with which conditions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slsops.iam.conditions import normalize_context
from slsops.iam.documents import (
    Context,
    Decision,
    Policies,
    PolicyDocument,
    PolicyError,
    as_list,
    load_policy,
    statement_id,
    statements,
)
from slsops.iam.identity import effect_of, evaluate, statement_applies

_DIRECT = "direct"  # the statement names this very principal (or everyone)
_ACCOUNT = "account"  # the statement names the principal's account (its root)
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT_ARN = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")
_SESSION_ARN = re.compile(r"^arn:[^:]+:sts::(\d{12}):assumed-role/([^/]+)/")
_ROLE_ARN = re.compile(r"^arn:[^:]+:iam::(\d{12}):role/(?:.*/)?([^/]+)$")


def _aws_principal_match(
    value: str, caller_arn: str, caller_account: str, principal_arn: str | None
) -> str | None:
    if value == "*":
        return _DIRECT
    if value in (caller_arn, principal_arn):
        return _DIRECT
    root = _ROOT_ARN.match(value)
    if (root and root.group(1) == caller_account) or (
        _ACCOUNT_ID.match(value) and value == caller_account
    ):
        return _ACCOUNT
    session = _SESSION_ARN.match(caller_arn)
    role = _ROLE_ARN.match(value)
    if session and role and session.groups() == role.groups():
        return _DIRECT  # a role named in a trust policy admits that role's sessions
    return None


def principal_match(
    principal: Any, caller_arn: str, caller_account: str, principal_arn: str | None = None
) -> str | None:
    """How a Principal element names the caller: "direct", "account" or None (not at all).

    ``caller_arn`` is the caller's ARN (a user ARN, an assumed-role session ARN, or a service
    principal name such as ``lambda.amazonaws.com`` for service callers); ``principal_arn`` is
    ``aws:PrincipalArn`` (the role ARN for a session).
    """
    if principal == "*":
        return _DIRECT
    if not isinstance(principal, Mapping):
        raise PolicyError('Principal must be "*" or an object')
    best: str | None = None
    for kind, values in principal.items():
        for value in as_list(values):
            if kind == "AWS":
                found = _aws_principal_match(str(value), caller_arn, caller_account, principal_arn)
            elif kind in ("Service", "Federated"):
                found = _DIRECT if value == caller_arn else None
            else:
                found = None
            if found == _DIRECT:
                return _DIRECT
            best = best or found
    return best


def _trust_statement_match(
    statement: Mapping[str, Any], caller_arn: str, caller_account: str, principal_arn: str | None
) -> str | None:
    if "Principal" in statement:
        return principal_match(statement["Principal"], caller_arn, caller_account, principal_arn)
    if "NotPrincipal" in statement:
        named = principal_match(
            statement["NotPrincipal"], caller_arn, caller_account, principal_arn
        )
        return None if named else _DIRECT
    raise PolicyError("a trust policy statement needs Principal or NotPrincipal")


def trust_allows(
    trust_policy: PolicyDocument,
    caller_arn: str,
    caller_account: str,
    context: Context | None = None,
    caller_policies: Policies = (),
    role_arn: str = "",
    action: str = "sts:AssumeRole",
) -> Decision:
    """Decide whether the caller may assume the role, as AWS combines trust and identity policy.

    - An explicit Deny in the trust policy or in the caller's identity policies denies.
    - The trust policy must admit the caller through an Allow statement whose conditions hold
      (``context`` carries ``sts:ExternalId`` and the like; ``aws:PrincipalArn`` and
      ``aws:PrincipalAccount`` default to the caller's).
    - Same account: a trust statement naming the caller itself (user ARN, role ARN or session
      ARN, or ``*``) is enough; one naming only the account (``123456789012`` or
      ``arn:aws:iam::123456789012:root``) also needs an identity policy allowing the action on
      the role. Another account: the identity policy must allow it in every case.
    """
    full_context = dict(context or {})
    full_context.setdefault("aws:PrincipalArn", caller_arn)
    full_context.setdefault("aws:PrincipalAccount", caller_account)
    normalized = normalize_context(full_context)
    principal_arn = (normalized.get("aws:principalarn") or [caller_arn])[0]

    document = load_policy(trust_policy)
    variables = document.get("Version") == "2012-10-17"
    denies: list[str] = []
    direct: list[str] = []
    via_account: list[str] = []
    for index, statement in enumerate(statements(document)):
        effect = effect_of(statement)
        match = _trust_statement_match(statement, caller_arn, caller_account, principal_arn)
        if match is None:
            continue
        if not statement_applies(statement, action, role_arn, normalized, variables):
            continue
        label = statement_id("trust", index, statement)
        if effect == "Deny":
            denies.append(label)
        else:
            (direct if match == _DIRECT else via_account).append(label)

    if denies:
        return Decision(False, "explicit deny in the role's trust policy", tuple(denies), True)
    identity = evaluate(caller_policies, action, role_arn, full_context)
    if identity.explicit_deny:
        return Decision(
            False, "explicit deny in the caller's identity policy", identity.matched, True
        )
    if not direct and not via_account:
        return Decision(False, "the role's trust policy does not admit this principal")
    role_account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    if direct and role_account == caller_account:
        return Decision(True, "the role's trust policy names the principal", tuple(direct))
    if identity.allowed:
        return Decision(
            True,
            "the role's trust policy admits the principal and its identity policy allows",
            tuple(direct + via_account) + identity.matched,
        )
    return Decision(
        False,
        "the role's trust policy admits the principal's account, but no identity policy "
        f"allows {action} on {role_arn}",
        tuple(direct + via_account),
    )
