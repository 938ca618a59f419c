"""Policy documents as IAM reads them: JSON text or objects, one statement or a list.

Also the two values every part of the evaluator shares: ``PolicyError`` (a document AWS would
not have stored) and ``Decision`` (an outcome and the statements that decided it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

PolicyDocument = Mapping[str, Any] | str
Policies = Iterable[PolicyDocument] | Mapping[str, PolicyDocument]
Context = Mapping[str, Any]


class PolicyError(ValueError):
    """A policy document this evaluator cannot read (AWS would have refused to store it)."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one evaluation and why: the statement ids that decided it."""

    allowed: bool
    reason: str
    matched: tuple[str, ...] = ()
    explicit_deny: bool = False


def as_list(value: Any) -> list[Any]:
    """IAM accepts a single value or a list almost everywhere."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def load_policy(document: PolicyDocument) -> dict[str, Any]:
    """Parse a policy given as a dict or as JSON text, URL-encoded or not (IAM's API answers
    documents URL-encoded; moto keeps the text it was given)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            try:
                document = json.loads(unquote(document))
            except json.JSONDecodeError:
                raise PolicyError(f"policy is not valid JSON: {error}") from error
    if not isinstance(document, Mapping):
        raise PolicyError("policy must be a JSON object")
    return dict(document)


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``Statement`` may be one object or a list of them."""
    found = as_list(document.get("Statement"))
    if not all(isinstance(statement, Mapping) for statement in found):
        raise PolicyError("every Statement must be a JSON object")
    return [dict(statement) for statement in found]


def labelled(policies: Policies) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(policies, Mapping) and "Statement" not in policies:
        return [(str(name), load_policy(doc)) for name, doc in policies.items()]
    if isinstance(policies, Mapping | str):
        policies = [policies]
    return [(f"policy[{index}]", load_policy(doc)) for index, doc in enumerate(policies)]


def statement_id(label: str, index: int, statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return str(sid) if sid else f"{label}#{index}"


# Condition keys that, required equal to the account, confine a statement to it whatever its
# principal (AWS's own default SNS topic policy: Principal * with AWS:SourceOwner).
ACCOUNT_CONDITION_KEYS = frozenset(
    {"aws:sourceaccount", "aws:sourceowner", "aws:principalaccount", "kms:calleraccount"}
)


def principals_beyond_account(document: Mapping[str, Any], account: str) -> list[str]:
    """``"<sid>: <principal>"`` for each AWS principal an Allow statement of a resource policy
    admits that is not of ``account``: ``*`` (anyone) or another account's id or ARN, unless a
    condition confines the statement to ``account``. Service principals are the callers' own
    business (their statements carry their own conditions)."""
    found: list[str] = []
    for n, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow" or confined_to_account(statement, account):
            continue
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, Mapping) else principal
        for who in as_list(aws):
            if not of_account(str(who), account):
                found.append(f"{statement.get('Sid') or n}: {who}")
    return found


def of_account(principal: str, account: str) -> bool:
    """Is ``principal`` the account id itself or an ARN in it? Never for an unknown (empty)
    account: ``":" + "" + ":"`` is in every IAM ARN (``arn:aws:iam::...``), which passed any
    principal as the account's own."""
    return bool(account) and (principal == account or f":{account}:" in principal)


def confined_to_account(statement: Mapping[str, Any], account: str) -> bool:
    """Does a StringEquals condition require one of ``ACCOUNT_CONDITION_KEYS`` to be exactly
    ``account`` (every listed value it)? Other operators (StringLike, IfExists) do not confine."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    equals = condition.get("StringEquals")
    if not isinstance(equals, Mapping):
        return False
    return any(
        str(key).lower() in ACCOUNT_CONDITION_KEYS
        and as_list(values)
        and all(str(v) == account for v in as_list(values))
        for key, values in equals.items()
    )
