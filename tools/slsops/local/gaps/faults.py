"""DynamoDB fault injection in the embedded AWS (off by default; the local stack only).

AWS throttles, fails and slows down now and then; moto never does, so the code paths that
handle it (retries with backoff, 503 with Retry-After, per-entry batch results, ERROR checks)
could not be exercised locally. This middleware sits in front of moto and, for a seeded
fraction of DynamoDB calls (``X-Amz-Target: DynamoDB_20120810.<Operation>``), answers:

* ``throttle``: 400 ``ProvisionedThroughputExceededException`` (what a table over capacity says);
* ``throttling``: 400 ``ThrottlingException`` (control-plane and on-demand rate limits);
* ``internal``: 500 ``InternalServerError``;
* ``latency``: the call is delayed by ``delay_ms`` (at most ``MAX_DELAY_MS``);
* ``unprocessed`` (BatchWriteItem only): each write request is withheld with probability
  ``rate``; the others are written and the withheld ones come back as ``UnprocessedItems``
  (all withheld: ``ProvisionedThroughputExceededException``, as DynamoDB does).

``when`` = ``before``: the call never reaches moto (nothing happened). ``after``: moto carries
the call out and its successful answer is replaced by the error, so the write took effect but
the caller is told it failed: the case that idempotent retries must survive.

Errors are the JSON documents DynamoDB sends (``__type`` + ``message``, CRC32 header), so
botocore raises the same ``ClientError`` as on AWS. Decisions come from one ``random.Random``
seeded by the plan, drawn in arrival order: the same sequence of calls meets the same faults.

Control (loopback callers only) on the embedded AWS's own port, path ``ADMIN_PATH``:
``POST`` a plan ``{"seed": 7, "rules": [{"operation", "kind", "rate", "when", "delay_ms",
"table", "max"}]}`` (``table``: a name, or a prefix ending in ``*``; the plan replaces the
previous one and resets the counters), ``GET`` the plan and counters, ``DELETE`` to switch
faults off (answers the final counters). ``slsops local faults`` is the
command-line client (``slsops.local.fault_admin``).
"""

from __future__ import annotations

import functools
import io
import ipaddress
import json
import random
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from slsops.local import wsgi_capture

ADMIN_PATH = "/_slsops/faults"
TARGET_PREFIX = "DynamoDB_20120810."
KINDS = ("throttle", "throttling", "internal", "latency", "unprocessed")


@functools.cache
def dynamodb_operations() -> frozenset[str]:
    """Operation names of DynamoDB's API (botocore's model), so a misspelt one is refused."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("dynamodb").operation_names)


WHENS = ("before", "after")
MAX_DELAY_MS = 5_000
MAX_RULES = 32
MAX_ADMIN_BODY = 64 * 1024

_DDB = "com.amazonaws.dynamodb.v20120810#"
# kind -> (HTTP status line, __type, message), as DynamoDB answers them.
_ERRORS = {
    "throttle": (
        "400 Bad Request",
        _DDB + "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    ),
    "throttling": (
        "400 Bad Request",
        "com.amazon.coral.availability#ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    "internal": ("500 Internal Server Error", _DDB + "InternalServerError", "Internal error"),
}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


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


def error_response(kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """DynamoDB's JSON error for ``kind`` (status line, headers, body)."""
    status, error_type, message = _ERRORS[kind]
    body = json.dumps({"__type": error_type, "message": message}).encode()
    return status, _json_headers(body), body


def _json_headers(body: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
        ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)),
    ]


def _is_loopback(environ: dict[str, Any]) -> bool:
    try:
        return ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _tables(request: Any) -> set[str]:
    if not isinstance(request, dict):
        return set()
    names = set()
    if isinstance(request.get("TableName"), str):
        names.add(request["TableName"])
    if isinstance(request.get("RequestItems"), dict):
        names.update(request["RequestItems"])
    for item in request.get("TransactItems") or []:
        if isinstance(item, dict):
            for action in item.values():
                if isinstance(action, dict) and isinstance(action.get("TableName"), str):
                    names.add(action["TableName"])
    return names


class FaultMiddleware:
    """The WSGI middleware: admin path, then DynamoDB calls through the active plan."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.plan = FaultPlan()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == ADMIN_PATH:
            return self._admin(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        plan = self.plan  # one plan per call, even if it is replaced meanwhile
        if not plan.active or not target.startswith(TARGET_PREFIX):
            return self.app(environ, start_response)
        operation = target[len(TARGET_PREFIX) :]
        body = wsgi_capture.read_body(environ)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        tables = _tables(request)
        fired = plan.draw(operation, tables)
        rule = plan.unprocessed_rule(tables) if operation == "BatchWriteItem" else None
        delays = {
            w: sum(r.delay_ms for r in fired if r.kind == "latency" and r.when == w) for w in WHENS
        }
        errors = [r for r in fired if r.kind in _ERRORS]
        for r in fired:
            if r.kind == "latency":
                plan.count(operation, f"latency/{r.when}")
        if delays["before"]:
            time.sleep(min(delays["before"], MAX_DELAY_MS) / 1000)
        error = errors[0] if errors else None
        if error is not None and error.when == "before":
            plan.count(operation, f"{error.kind}/before")
            return self._answer(start_response, *error_response(error.kind))
        if rule is not None:
            status, headers, payload = self._batch_with_unprocessed(environ, request, rule)
        else:
            status, headers, payload = self._call_moto(environ)
        if delays["after"]:
            time.sleep(min(delays["after"], MAX_DELAY_MS) / 1000)
        if error is not None and status.startswith("2"):
            plan.count(operation, f"{error.kind}/after")
            return self._answer(start_response, *error_response(error.kind))
        return self._answer(start_response, status, headers, payload)

    # ------------------------------------------------------------------ moto calls
    def _call_moto(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        return wsgi_capture.call(self.app, environ)

    def _batch_with_unprocessed(
        self, environ: dict[str, Any], request: dict[str, Any], rule: FaultRule
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """Write only some of a BatchWriteItem's requests; report the rest as unprocessed."""
        items = request.get("RequestItems") or {}
        flat = [(table, req) for table, reqs in items.items() for req in reqs]
        flags = self.plan.withhold(rule, len(flat))
        if not any(flags):
            return self._call_moto(environ)
        if all(flags):
            self.plan.count("BatchWriteItem", "unprocessed", len(flat))
            return error_response("throttle")
        kept: dict[str, list[Any]] = {}
        withheld: dict[str, list[Any]] = {}
        for (table, req), hold in zip(flat, flags, strict=True):
            (withheld if hold else kept).setdefault(table, []).append(req)
        new_body = json.dumps({**request, "RequestItems": kept}).encode()
        environ = dict(environ, CONTENT_LENGTH=str(len(new_body)))
        environ["wsgi.input"] = io.BytesIO(new_body)
        status, headers, payload = self._call_moto(environ)
        if not status.startswith("2"):
            return status, headers, payload
        answer = json.loads(payload or b"{}")
        unprocessed = answer.get("UnprocessedItems") or {}
        for table, reqs in withheld.items():
            unprocessed.setdefault(table, []).extend(reqs)
        answer["UnprocessedItems"] = unprocessed
        self.plan.count("BatchWriteItem", "unprocessed", sum(flags))
        payload = json.dumps(answer).encode()
        return status, _json_headers(payload), payload

    @staticmethod
    def _answer(
        start_response: Callable[..., Any], status: str, headers: list[tuple[str, str]], body: bytes
    ) -> list[bytes]:
        start_response(status, headers)
        return [body]

    # ------------------------------------------------------------------ admin
    def _admin(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if not _is_loopback(environ):
            return self._admin_json(start_response, "403 Forbidden", {"message": "loopback only"})
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET":
            return self._admin_json(start_response, "200 OK", self.plan.describe())
        if method == "DELETE":
            final = self.plan.describe()
            self.plan = FaultPlan()
            state = {**self.plan.describe(), "cleared": final}
            return self._admin_json(start_response, "200 OK", state)
        if method in ("POST", "PUT"):
            raw = wsgi_capture.read_body(environ, limit=MAX_ADMIN_BODY)
            try:
                plan = FaultPlan.from_json(json.loads(raw or b"{}"))
            except ValueError as exc:  # FaultPlanError and bad JSON
                return self._admin_json(start_response, "400 Bad Request", {"message": str(exc)})
            self.plan = plan
            return self._admin_json(start_response, "200 OK", plan.describe())
        return self._admin_json(
            start_response, "405 Method Not Allowed", {"message": "use GET, POST or DELETE"}
        )

    @staticmethod
    def _admin_json(start_response: Callable[..., Any], status: str, data: Any) -> list[bytes]:
        body = json.dumps(data, sort_keys=True).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]


def wrap(app: WSGIApp) -> WSGIApp:
    """The fault middleware around ``app`` (no faults until a plan is posted)."""
    return FaultMiddleware(app)
