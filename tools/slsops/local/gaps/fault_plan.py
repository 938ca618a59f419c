"""The fault plan: which DynamoDB calls meet which fault, drawn reproducibly from a seed.

A plan is what ``slsops local faults`` posts to the fault middleware (``gaps.faults``). It is
checked here, field by field, so a plan that cannot be applied is refused with a readable
reason before any call meets it; drawing is here too, so the same seed and the same sequence
of calls give the same faults.
"""

from __future__ import annotations

import functools
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("throttle", "throttling", "internal", "latency", "unprocessed")
WHENS = ("before", "after")
MAX_DELAY_MS = 5_000
MAX_RULES = 32


@functools.cache
def dynamodb_operations() -> frozenset[str]:
    """Operation names of DynamoDB's API (botocore's model), so a misspelt one is refused."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("dynamodb").operation_names)


class FaultPlanError(ValueError):
    """A fault plan that cannot be applied (the admin path answers 400 with this text)."""


@dataclass(frozen=True)
class FaultRule:
    """One kind of fault for one DynamoDB operation (``*``: every operation)."""

    operation: str
    kind: str
    rate: float
    when: str = "before"
    delay_ms: int = 0
    table: str | None = None
    max: int | None = None  # stop injecting this rule after so many faults

    @classmethod
    def from_json(cls, data: Any, position: int) -> FaultRule:
        where = f"rules[{position}]"
        if not isinstance(data, dict):
            raise FaultPlanError(f"{where} must be an object")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise FaultPlanError(f"{where}: unknown field(s) {', '.join(unknown)}")
        operation = data.get("operation", "*")
        if not isinstance(operation, str) or not (
            operation == "*" or operation in dynamodb_operations()
        ):
            raise FaultPlanError(
                f"{where}.operation {operation!r} is not a DynamoDB operation name (nor *)"
            )
        kind = data.get("kind")
        if kind not in KINDS:
            raise FaultPlanError(f"{where}.kind must be one of {', '.join(KINDS)}")
        rate = data.get("rate")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise FaultPlanError(f"{where}.rate must be a number from 0 to 1")
        when = data.get("when", "before")
        if when not in WHENS:
            raise FaultPlanError(f"{where}.when must be before or after")
        delay_ms = data.get("delay_ms", 0)
        if isinstance(delay_ms, bool) or not isinstance(delay_ms, int):
            raise FaultPlanError(f"{where}.delay_ms must be an integer")
        if not 0 <= delay_ms <= MAX_DELAY_MS:
            raise FaultPlanError(f"{where}.delay_ms must be from 0 to {MAX_DELAY_MS}")
        if kind == "latency" and delay_ms == 0:
            raise FaultPlanError(f"{where}: a latency rule needs delay_ms > 0")
        if kind == "unprocessed" and operation != "BatchWriteItem":
            raise FaultPlanError(f"{where}: unprocessed applies to BatchWriteItem only")
        table = data.get("table")
        if table is not None and not isinstance(table, str):
            raise FaultPlanError(f"{where}.table must be a table name")
        limit = data.get("max")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise FaultPlanError(f"{where}.max must be an integer")
        return cls(operation, kind, float(rate), when, delay_ms, table, limit)

    def matches(self, operation: str, tables: set[str]) -> bool:
        """Operation name or ``*``; ``table`` exact, or a prefix when it ends with ``*``."""
        if self.operation not in ("*", operation):
            return False
        if self.table is None:
            return True
        if self.table.endswith("*"):
            return any(t.startswith(self.table[:-1]) for t in tables)
        return self.table in tables


class FaultPlan:
    """The active rules, their random source and what they did (thread-safe)."""

    def __init__(self, seed: int = 0, rules: tuple[FaultRule, ...] = ()) -> None:
        self.seed = seed
        self.rules = rules
        self._random = random.Random(seed)  # noqa: S311  reproducible faults, not secrets
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.injected: dict[str, dict[str, int]] = {}
        self._fired: list[int] = [0] * len(rules)

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        if not isinstance(data, dict):
            raise FaultPlanError("the plan must be a JSON object with seed and rules")
        unknown = sorted(set(data) - {"seed", "rules"})
        if unknown:
            raise FaultPlanError(f"unknown field(s) {', '.join(unknown)}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise FaultPlanError("seed must be an integer")
        rules = data.get("rules", [])
        if not isinstance(rules, list) or len(rules) > MAX_RULES:
            raise FaultPlanError(f"rules must be a list of at most {MAX_RULES} rules")
        return cls(seed, tuple(FaultRule.from_json(r, i) for i, r in enumerate(rules)))

    @property
    def active(self) -> bool:
        return bool(self.rules)

    def draw(self, operation: str, tables: set[str]) -> list[FaultRule]:
        """The rules that fire for this call (every matching rule draws, fired or not)."""
        fired: list[FaultRule] = []
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            for index, rule in enumerate(self.rules):
                if rule.kind == "unprocessed" or not rule.matches(operation, tables):
                    continue
                hit = self._random.random() < rule.rate
                if hit and (rule.max is None or self._fired[index] < rule.max):
                    self._fired[index] += 1
                    fired.append(rule)
        return fired

    def unprocessed_rule(self, tables: set[str]) -> FaultRule | None:
        for rule in self.rules:
            if rule.kind == "unprocessed" and rule.matches("BatchWriteItem", tables):
                return rule
        return None

    def withhold(self, rule: FaultRule, count: int) -> list[bool]:
        """For each of ``count`` write requests: withhold it?"""
        index = self.rules.index(rule)
        with self._lock:
            flags = []
            for _ in range(count):
                hit = self._random.random() < rule.rate
                allowed = rule.max is None or self._fired[index] < rule.max
                flags.append(hit and allowed)
                if hit and allowed:
                    self._fired[index] += 1
            return flags

    def count(self, operation: str, label: str, n: int = 1) -> None:
        with self._lock:
            per_op = self.injected.setdefault(operation, {})
            per_op[label] = per_op.get(label, 0) + n

    def describe(self) -> dict[str, Any]:
        with self._lock:
            injected = {op: dict(labels) for op, labels in self.injected.items()}
            return {
                "enabled": self.active,
                "seed": self.seed,
                "rules": [_rule_json(r) for r in self.rules],
                "counters": {
                    "calls": dict(self.calls),
                    "injected": injected,
                    "total_injected": sum(sum(v.values()) for v in injected.values()),
                },
            }


def _rule_json(rule: FaultRule) -> dict[str, Any]:
    return {k: v for k, v in asdict(rule).items() if v is not None}
