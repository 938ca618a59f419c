"""An IAM policy evaluator that decides as AWS does for the policies this project writes.

Why not moto's: ``moto.iam.access_control`` matches action names case-sensitively, treats ``?``
as a regular-expression character, ignores ``NotResource`` and all condition operators but
StringEquals, and has no trust-policy (resource-based) evaluation. The local stack needs a deny
wherever AWS denies, so this module implements the documented logic:

- explicit ``Deny`` wins, then an ``Allow``, else an implicit deny;
- ``Action``/``NotAction`` (case-insensitive) and ``Resource``/``NotResource`` (case-sensitive,
  each of the six ARN components matched separately) with ``*`` and ``?`` wildcards;
- ``Condition`` blocks: every operator AWS documents (String*, Numeric*, Date*, Bool,
  BinaryEquals, IpAddress, Arn*, Null) with the ``ForAnyValue:``/``ForAllValues:`` prefixes and
  the ``IfExists`` suffix; keys are case-insensitive, several values of one key are OR'ed,
  several keys and operators are AND'ed; a key missing from the request makes a positive
  operator false and a negated one (``StringNotEquals``...) true;
- policy variables (``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``) in Resource and
  condition values when the document says ``"Version": "2012-10-17"``;
- trust policies for ``sts:AssumeRole``: ``Principal``/``NotPrincipal`` (AWS, Service,
  Federated), combined with the caller's identity policies as AWS does (see ``trust_allows``).

Not modelled (the project does not use them): permission boundaries and session policies are
composed by the caller (``slsops.local.identity.authorize``), SCPs, and the escapes ``${*}``,
``${?}``, ``${$}``.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


# --------------------------------------------------------------------------- wildcards and ARNs


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` = any run of characters, ``?`` = exactly one; everything else literal."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True when ``value`` matches the IAM wildcard ``pattern`` as a whole."""
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive in IAM (``DynamoDB:getitem`` is ``dynamodb:GetItem``)."""
    return wildcard_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Match an ARN pattern as IAM does: each of the six ``:``-separated components separately.

    So ``*`` in the region component never swallows the account. The resource component (the
    sixth) may itself contain ``:``. A shorter pattern only matches when it ends in ``*`` (``*``
    itself, or a prefix such as ``arn:aws:execute-api:*``); it is then matched as a whole.
    """
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    if len(pattern_parts) < 6:
        return pattern.endswith("*") and wildcard_match(pattern, arn)
    arn_parts = arn.split(":", 5)
    if len(arn_parts) < 6:
        return False
    return all(wildcard_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


# --------------------------------------------------------------------------- documents


def as_list(value: Any) -> list[Any]:
    """IAM accepts a single value or a list almost everywhere."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def load_policy(document: PolicyDocument) -> dict[str, Any]:
    """Parse a policy given as a dict or a JSON string (moto stores strings)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
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


def _labelled(policies: Policies) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(policies, Mapping) and "Statement" not in policies:
        return [(str(name), load_policy(doc)) for name, doc in policies.items()]
    if isinstance(policies, Mapping | str):
        policies = [policies]
    return [(f"policy[{index}]", load_policy(doc)) for index, doc in enumerate(policies)]


def _statement_id(label: str, index: int, statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return str(sid) if sid else f"{label}#{index}"


# --------------------------------------------------------------------------- request context


def normalize_context(context: Context | None) -> dict[str, list[str]]:
    """Lower-case the keys and turn every value into a list of strings, as IAM compares them."""
    normalized: dict[str, list[str]] = {}
    for key, value in (context or {}).items():
        if value is None:
            continue
        normalized[key.lower()] = [_context_string(item) for item in as_list(value)]
    return normalized


def _context_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(text: str, context: Mapping[str, list[str]], enabled: bool) -> str | None:
    """Replace ``${key}`` / ``${key, 'default'}``; None when a key is missing without default."""
    if not enabled or "${" not in text:
        return text
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name, _, default = match.group(1).partition(",")
        values = context.get(name.strip().lower())
        if values and len(values) == 1:
            return values[0]
        default = default.strip()
        if len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1]
        missing = True
        return ""

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


# --------------------------------------------------------------------------- conditions


def _parse_date(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compare_numbers(check: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(request: str, policy: str) -> bool:
        try:
            return check(float(request), float(policy))
        except ValueError:
            return False

    return compare


def _compare_dates(check: Callable[[datetime, datetime], bool]) -> Callable[[str, str], bool]:
    def compare(request: str, policy: str) -> bool:
        try:
            return check(_parse_date(request), _parse_date(policy))
        except ValueError:
            return False

    return compare


def _ip_in(request: str, policy: str) -> bool:
    try:
        return ipaddress.ip_address(request) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _string_equals_ignore_case(request: str, policy: str) -> bool:
    return request.casefold() == policy.casefold()


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda request, policy: request == policy,
    "stringequalsignorecase": _string_equals_ignore_case,
    "stringlike": lambda request, policy: wildcard_match(policy, request),
    "numericequals": _compare_numbers(lambda a, b: a == b),
    "numericlessthan": _compare_numbers(lambda a, b: a < b),
    "numericlessthanequals": _compare_numbers(lambda a, b: a <= b),
    "numericgreaterthan": _compare_numbers(lambda a, b: a > b),
    "numericgreaterthanequals": _compare_numbers(lambda a, b: a >= b),
    "dateequals": _compare_dates(lambda a, b: a == b),
    "datelessthan": _compare_dates(lambda a, b: a < b),
    "datelessthanequals": _compare_dates(lambda a, b: a <= b),
    "dategreaterthan": _compare_dates(lambda a, b: a > b),
    "dategreaterthanequals": _compare_dates(lambda a, b: a >= b),
    "bool": lambda request, policy: request.lower() == policy.lower(),
    "binaryequals": lambda request, policy: request == policy,
    "ipaddress": _ip_in,
    "arnequals": lambda request, policy: arn_matches(policy, request),
    "arnlike": lambda request, policy: arn_matches(policy, request),
}
# Negated operators: a request value "matches" when it matches none of the policy values.
_NEGATED: dict[str, str] = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}


def _condition_holds(
    operator: str,
    key: str,
    policy_values: list[str],
    context: Mapping[str, list[str]],
    variables: bool,
) -> bool:
    set_operator, _, base = operator.rpartition(":")
    set_operator = set_operator.lower()
    base = base.lower()
    if_exists = base.endswith("ifexists") and base != "ifexists"
    if if_exists:
        base = base[: -len("ifexists")]
    request_values = context.get(key.lower()) or []

    if base == "null":
        wants_absent = any(str(value).lower() == "true" for value in policy_values)
        return not request_values if wants_absent else bool(request_values)

    negated = base in _NEGATED
    compare = _POSITIVE.get(_NEGATED.get(base, base))
    if compare is None or set_operator not in ("", "foranyvalue", "forallvalues"):
        raise PolicyError(f"unsupported condition operator {operator!r}")

    if not request_values:
        if if_exists or set_operator == "forallvalues":
            return True
        if set_operator == "foranyvalue":
            return False
        return negated

    resolved = [_substitute(_context_string(value), context, variables) for value in policy_values]
    usable = [value for value in resolved if value is not None]

    def value_matches(request_value: str) -> bool:
        hit = any(compare(request_value, policy_value) for policy_value in usable)
        return not hit if negated else hit

    if set_operator == "forallvalues":
        return all(value_matches(value) for value in request_values)
    if set_operator == "foranyvalue" or not negated:
        return any(value_matches(value) for value in request_values)
    # A negated operator on a multi-valued key without a set operator: no value may match.
    return all(value_matches(value) for value in request_values)


def conditions_hold(
    block: Mapping[str, Any] | None, context: Mapping[str, list[str]], variables: bool = True
) -> bool:
    """Every operator and every key in a Condition block must hold (AND); values are OR'ed."""
    for operator, keys in (block or {}).items():
        if not isinstance(keys, Mapping):
            raise PolicyError(f"condition {operator!r} must map keys to values")
        for key, values in keys.items():
            if not _condition_holds(operator, key, as_list(values), context, variables):
                return False
    return True


# --------------------------------------------------------------------------- statements


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
            resolved = _substitute(str(pattern), context, variables)
            if resolved is not None and arn_matches(resolved, resource):
                return True
        return False

    if "Resource" in statement:
        return any_matches(statement["Resource"])
    if "NotResource" in statement:
        return not any_matches(statement["NotResource"])
    # Only resource-based policies (trust policies) may omit both: they apply to their resource.
    return True


def _statement_applies(
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


def _effect(statement: Mapping[str, Any]) -> str:
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
    for label, document in _labelled(policies):
        variables = document.get("Version") == "2012-10-17"
        for index, statement in enumerate(statements(document)):
            effect = _effect(statement)
            if _statement_applies(statement, action, resource, normalized, variables):
                target = denies if effect == "Deny" else allows
                target.append(_statement_id(label, index, statement))
    if denies:
        return Decision(False, f"explicit deny by {', '.join(denies)}", tuple(denies), True)
    if allows:
        return Decision(True, f"allowed by {', '.join(allows)}", tuple(allows))
    return Decision(False, f"implicit deny: no statement allows {action} on {resource}")


# --------------------------------------------------------------------------- trust policies

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
        effect = _effect(statement)
        match = _trust_statement_match(statement, caller_arn, caller_account, principal_arn)
        if match is None:
            continue
        if not _statement_applies(statement, action, role_arn, normalized, variables):
            continue
        statement_id = _statement_id("trust", index, statement)
        if effect == "Deny":
            denies.append(statement_id)
        else:
            (direct if match == _DIRECT else via_account).append(statement_id)

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
