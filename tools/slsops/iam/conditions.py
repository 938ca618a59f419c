"""Condition blocks: the request context, policy variables and every documented operator.

Keys are case-insensitive, several values of one key are OR'ed, several keys and operators are
AND'ed; ``ForAnyValue:``/``ForAllValues:`` prefixes and the ``IfExists`` suffix; a key missing
from the request makes a positive operator false and a negated one true.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from slsops.iam.documents import Context, PolicyError, as_list
from slsops.iam.matching import arn_matches, wildcard_match


def normalize_context(context: Context | None) -> dict[str, list[str]]:
    """Lower-case the keys and turn every value into a list of strings, as IAM compares them."""
    normalized: dict[str, list[str]] = {}
    for key, value in (context or {}).items():
        if value is None:
            continue
        normalized[key.lower()] = [context_string(item) for item in as_list(value)]
    return normalized


def context_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def substitute(text: str, context: Mapping[str, list[str]], enabled: bool) -> str | None:
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

    resolved = [substitute(context_string(value), context, variables) for value in policy_values]
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
