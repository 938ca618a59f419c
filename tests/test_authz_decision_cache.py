"""The remembered IAM decisions: reused for the same principal object and key only, never for a
decision that read a time condition, and made anew for a principal rebuilt after an IAM write."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from slsops.local.authz.decision_cache import DecisionCache, mentions_time


@dataclass(frozen=True)
class FakePrincipal:
    policies: dict[str, Any] = field(default_factory=dict)
    permissions_boundary: Any = None
    session_policies: Any = None


def statement(condition: dict | None = None) -> dict:
    found = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    return found | ({"Condition": condition} if condition else {})


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TIMED = {"DateLessThan": {"AWS:currenttime": "2030-01-01T00:00:00Z"}}  # keys: any letter case
UNTIMED = {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_the_same_principal_and_key_reuse_the_decision() -> None:
    cache, compute = DecisionCache(), Counting()
    principal = FakePrincipal({"inline:a": document(statement(UNTIMED))})
    answers = [cache.decide(principal, ("k",), compute) for _ in range(3)]
    assert answers == [1, 1, 1] and compute.calls == 1
    assert cache.decide(principal, ("other",), compute) == 2  # another key: decided anew


def test_a_principal_rebuilt_after_an_iam_write_is_decided_anew() -> None:
    cache, compute = DecisionCache(), Counting()
    policies = {"inline:a": document(statement())}
    first, rebuilt = FakePrincipal(policies), FakePrincipal(dict(policies))
    assert cache.decide(first, ("k",), compute) == 1
    assert cache.decide(rebuilt, ("k",), compute) == 2  # equal content, another object


def test_decisions_that_read_time_are_never_remembered() -> None:
    compute = Counting()
    cache = DecisionCache()
    timed_identity = FakePrincipal({"inline:a": document(statement(TIMED))})
    timed_boundary = FakePrincipal(permissions_boundary=document(statement(TIMED)))
    timed_session = FakePrincipal(session_policies={"inline": document(statement(TIMED))})
    for principal in (timed_identity, timed_boundary, timed_session):
        before = compute.calls
        cache.decide(principal, ("k",), compute)
        cache.decide(principal, ("k",), compute)
        assert compute.calls == before + 2
    plain = FakePrincipal()
    cache.decide(plain, ("k2",), compute, other_documents=(document(statement(TIMED)),))
    cache.decide(plain, ("k2",), compute, other_documents=(document(statement(TIMED)),))
    assert compute.calls == 8  # the key policy read time: not remembered either


def test_time_keys_are_found_in_any_operator_and_letter_case() -> None:
    assert mentions_time([document(statement(TIMED))])
    assert mentions_time(
        [{"Statement": [statement({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "300"}})]}]
    )
    assert mentions_time(["not a policy"])  # unreadable: assume the worst
    variable = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/${aws:EpochTime}",
    }
    assert mentions_time([document(variable)])  # a policy variable reads the time too
    assert not mentions_time([document(statement(UNTIMED)), None])


def test_a_full_cache_starts_over_instead_of_growing() -> None:
    cache, compute = DecisionCache(max_entries=3), Counting()
    principal = FakePrincipal()
    for index in range(10):
        cache.decide(principal, (index,), compute)
    assert len(cache._entries) <= 3
