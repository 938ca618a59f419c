"""One source for the rules: every rule the API enforces has an audit counterpart.

The API refuses input through ``log_service.rules.reject(RULE, ...)``; the audit declares in
``slsops.audit.rules.STORED_RULES`` where it evaluates each rule on a stored item, under a
kind that has a check id. These tests fail when the API gains a rule the audit does not
evaluate, when the API refuses input without naming a rule, and when a rule's audit kind has
no check.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from boto3.dynamodb.types import TypeSerializer
from log_table_support import SHARD_COUNT, log_item

from log_service import model, rules
from log_service.errors import ValidationError
from log_service.settings import Settings
from slsops.audit import rules as audit_rules
from slsops.audit.kinds import KINDS_BY_NAME
from slsops.checks.audit import CHECKS

ROOT = Path(__file__).resolve().parents[1]
API_MODULES = [ROOT / "service" / "log_service" / "model.py"]


def rules_without_audit(
    registry: dict[str, rules.Rule], stored: dict[str, str], kinds: dict[str, object]
) -> list[str]:
    """Rules with no audit counterpart: no kind, a kind without check, or not evaluated."""
    missing = []
    for name, rule in registry.items():
        if rule.request_only:
            continue
        if rule.audit_kind not in kinds or name not in stored:
            missing.append(name)
    return missing


def rules_the_api_uses() -> set[str]:
    """Rule constants passed to ``rules.reject`` in the API's validation code."""
    used = set()
    for path in API_MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "reject"
            ):
                first = node.args[0]
                if isinstance(first, ast.Attribute):
                    used.add(getattr(rules, first.attr))
    # Rules chosen by the shared helpers the API calls (``problem[0]``).
    return used | {
        rules.TEXT_NUL,
        rules.TEXT_UNICODE,
        rules.TEXT_LENGTH,
        rules.METADATA_OBJECT,
        rules.METADATA_DEPTH,
    }


def test_every_api_rule_has_an_audit_counterpart():
    assert rules_without_audit(rules.RULES, audit_rules.STORED_RULES, KINDS_BY_NAME) == []
    check_ids = {c.id for c in CHECKS}
    for rule in rules.RULES.values():
        if rule.audit_kind:
            assert KINDS_BY_NAME[rule.audit_kind].check_id in check_ids


def test_a_rule_added_without_audit_counterpart_is_caught():
    """The check above is not vacuous: a new rule or an unknown kind makes it fail."""
    added = {**rules.RULES, "message_uppercase": rules.Rule("message_uppercase", "bad_text")}
    assert rules_without_audit(added, audit_rules.STORED_RULES, KINDS_BY_NAME) == [
        "message_uppercase"
    ]
    wrong_kind = {**rules.RULES, rules.TEXT_NUL: rules.Rule(rules.TEXT_NUL, "no_such_kind")}
    assert rules_without_audit(wrong_kind, audit_rules.STORED_RULES, KINDS_BY_NAME) == [
        rules.TEXT_NUL
    ]
    with pytest.raises(ValueError):
        rules._rule("neither", None)  # a rule must name its kind or why it has none


def test_the_api_refuses_only_through_named_rules():
    """model.py raises no bare ValidationError: every refusal names a registered rule."""
    for path in API_MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bare = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "ValidationError"
        ]
        assert bare == [], f"{path.name}: ValidationError without a rule at lines {bare}"
    assert rules_the_api_uses() <= set(rules.RULES)
    # Every rule with an audit kind is one the API really applies.
    assert {n for n, r in rules.RULES.items() if r.audit_kind} <= rules_the_api_uses()


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ({"service_name": "s", "level": "INFO", "message": ""}, rules.MESSAGE_BLANK),
        ({"service_name": "s", "level": "INFO", "message": "  "}, rules.MESSAGE_BLANK),
        ({"service_name": "s", "level": "INFO", "message": "a\x00b"}, rules.TEXT_NUL),
        (
            {"service_name": "s", "level": "INFO", "message": "m", "log_type": ""},
            rules.LOG_TYPE_BLANK,
        ),
        (
            {"service_name": "s", "level": "INFO", "message": "m", "metadata": [1, 2]},
            rules.METADATA_OBJECT,
        ),
        ({"service_name": "s", "level": "INFO", "mesage": "typo"}, rules.UNKNOWN_FIELDS),
        ({"service_name": "s!", "level": "INFO", "message": "m"}, rules.SERVICE_NAME_FORM),
    ],
)
def test_api_and_audit_refuse_the_same_input(entry, rule):
    """The API names the rule; the same value stored is caught by that rule's audit kind."""
    with pytest.raises(ValidationError) as refused:
        model.parse_entry(entry, Settings(table_name="t"))
    assert refused.value.rule == rule
    item, _ = log_item()
    stored = {**item, **{k: v for k, v in entry.items() if k != "metadata"}}
    if "metadata" in entry:
        stored["metadata"] = str(entry["metadata"]).replace(" ", "")
    wire = {k: TypeSerializer().serialize(v) for k, v in stored.items()}
    settings = audit_rules.RuleSettings(shard_count=SHARD_COUNT, now=datetime.now(UTC).timestamp())
    kinds = {v.kind for v in audit_rules.check_item(wire, settings)}
    assert rules.RULES[rule].audit_kind in kinds


def strict_only(text):
    """The metadata verdict through the strict parser alone (the reference)."""
    from log_service import canonical

    try:
        value = canonical.loads_strict(text)
    except canonical.StrictJsonError:
        return "not strict"
    if rules.metadata_value_problem(value):
        return "not an object or too deep"
    return None if canonical.dumps_canonical(value) == text else "not canonical"


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1}',
        '{"a":1,"a":2}',
        '{"a":1, "b":2}',
        '{"b":1,"a":2}',
        "[1,2]",
        "null",
        '"text"',
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":1e999}',
        '{"a":1.0}',
        '{"a":1E5}',
        '{"a":' + "9" * 1001 + "}",
        '{"a":"' + "9" * 1001 + '"}',
        '{"a":"\\u00e9"}',
        '{"a":"é"}',
        '{"a":"\\ud800"}',
        '{"a":' + "[" * 20 + "]" * 20 + "}",
        "{}",
        "{",
    ],
)
def test_metadata_fast_path_agrees_with_the_strict_parser(text):
    assert (audit_rules._metadata_problem(text) is None) == (strict_only(text) is None)
