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

Errors are the JSON documents DynamoDB sends (``gaps.dynamodb_errors``). The plan, its
checks and its seeded draws are ``gaps.fault_plan``: the same sequence of calls meets the same
faults. This module is the middleware alone: the admin path and the call through the plan.

Control (loopback callers only) on the embedded AWS's own port, path ``ADMIN_PATH``:
``POST`` a plan ``{"seed": 7, "rules": [{"operation", "kind", "rate", "when", "delay_ms",
"table", "max"}]}`` (``table``: a name, or a prefix ending in ``*``; the plan replaces the
previous one and resets the counters), ``GET`` the plan and counters, ``DELETE`` to switch
faults off (answers the final counters). ``slsops local faults`` is the
command-line client (``slsops.local.fault_admin``).
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from slsops.local import wsgi_capture
from slsops.local.gaps.dynamodb_errors import ERRORS, error_response, json_headers
from slsops.local.gaps.fault_plan import MAX_DELAY_MS, WHENS, FaultPlan, FaultRule
from slsops.local.gaps.pitr_journal import TARGET_PREFIX

ADMIN_PATH = "/_slsops/faults"
MAX_ADMIN_BODY = 64 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


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
        request = wsgi_capture.json_body(environ)
        if not isinstance(request, dict):  # not a JSON object: moto answers it
            request = {}
        tables = _tables(request)
        fired = plan.draw(operation, tables)
        rule = plan.unprocessed_rule(tables) if operation == "BatchWriteItem" else None
        delays = {
            w: sum(r.delay_ms for r in fired if r.kind == "latency" and r.when == w) for w in WHENS
        }
        errors = [r for r in fired if r.kind in ERRORS]
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
        environ = wsgi_capture.with_body(environ, new_body)
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
        return status, json_headers(payload), payload

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
