"""Identity-based policies: does any statement allow the action on the resource, and none deny?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slsops.iam.conditions import conditions_hold, normalize_context, substitute
from slsops.iam.documents import (
    Context,
    Decision,
    Policies,
    PolicyError,
    as_list,
    labelled,
    statement_id,
    statements,
)
from slsops.iam.matching import action_matches, arn_matches


def _action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(action_matches(str(p), action) for p in as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(action_matches(str(p), action) for p in as_list(statement["NotAction"]))
    raise PolicyError("a statement needs Action or NotAction")


def _resource_applies(
    statement: Mapping[str, Any], resource: str, context: Mapping[str, list[str]], variables: bool
) -> bool:
    def any_matches(patterns: Any) -> bool:
        for pattern in as_list(patterns):
            resolved = substitute(str(pattern), context, variables)
            if resolved is not None and arn_matches(resolved, resource):
                return True
        return False

    if "Resource" in statement:
        return any_matches(statement["Resource"])
    if "NotResource" in statement:
        return not any_matches(statement["NotResource"])
    # Only resource-based policies (trust policies) may omit both: they apply to their resource.
    return True


def statement_applies(
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, list[str]],
    variables: bool,
) -> bool:
    return (
        _action_applies(statement, action)
        and _resource_applies(statement, resource, context, variables)
        and conditions_hold(statement.get("Condition"), context, variables)
    )


def effect_of(statement: Mapping[str, Any]) -> str:
    effect = str(statement.get("Effect", ""))
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Effect must be Allow or Deny, not {effect!r}")
    return effect


def evaluate(
    policies: Policies, action: str, resource: str, context: Context | None = None
) -> Decision:
    """Decide ``action`` on ``resource`` under identity-based ``policies`` (documents or JSON).

    ``policies`` is one document, a list of documents, or a mapping name -> document (the names
    label statements without a Sid in ``Decision.matched``).
    """
    normalized = normalize_context(context)
    allows: list[str] = []
    denies: list[str] = []
    for label, document in labelled(policies):
        variables = document.get("Version") == "2012-10-17"
        for index, statement in enumerate(statements(document)):
            effect = effect_of(statement)
            if statement_applies(statement, action, resource, normalized, variables):
                target = denies if effect == "Deny" else allows
                target.append(statement_id(label, index, statement))
    if denies:
        return Decision(False, f"explicit deny by {', '.join(denies)}", tuple(denies), True)
    if allows:
        return Decision(True, f"allowed by {', '.join(allows)}", tuple(allows))
    return Decision(False, f"implicit deny: no statement allows {action} on {resource}")
