"""What the checks of ``slsops verify`` and ``slsops roles`` share: clients and cached lookups.

Checks run concurrently (``checks.runner``) and several need the same description (the table,
a function's configuration, the stage ...). :class:`Lookups` runs each distinct AWS call once:
the first caller does the call, concurrent callers of the same key wait for its answer, later
callers get the cached answer (or the same exception, so every check that depends on a failed
call reports ERROR with the same cause).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from slsops import contract
from slsops.deployment.stack import Stack

T = TypeVar("T")


class Lookups:
    """A thread-safe memo of calls by key: each key's function runs at most once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future[Any]] = {}

    def get(self, key: Hashable, fetch: Callable[[], T]) -> T:
        with self._lock:
            existing = self._futures.get(key)
            owner = existing is None
            future: Future[Any] = Future() if existing is None else existing
            if owner:
                self._futures[key] = future
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()


def error_code(exc: BaseException) -> str | None:
    """AWS's error code of a botocore ClientError (None for anything else)."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


class StackContext:
    """The deployment under check: its stack outputs, AWS clients and cached lookups."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.lookups = Lookups()
        self._client_lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    # boto3 sessions are not thread-safe when creating clients; clients themselves are.
    def client(self, service: str) -> Any:
        with self._client_lock:
            if service not in self._clients:
                self._clients[service] = self.stack.client(service)
            return self._clients[service]

    def cached(self, key: Hashable, fetch: Callable[[], T]) -> T:
        return self.lookups.get(key, fetch)

    def call(self, service: str, operation: str, **params: Any) -> Any:
        """``client(service).<operation>(**params)``, run once per distinct arguments."""
        key = (service, operation, tuple(sorted((k, _freeze(v)) for k, v in params.items())))
        return self.cached(key, lambda: getattr(self.client(service), operation)(**params))

    @property
    def is_local(self) -> bool:
        return self.stack.is_local

    @property
    def names(self) -> contract.Names:
        return deployment_names(self.stack)


def _freeze(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _prefix_candidates(stack: Stack, environment: str) -> list[str]:
    """The ``name_prefix`` each name-bearing output implies (outputs named otherwise give none)."""
    patterns = {
        "table_name": ("", f"-logs-{environment}"),
        "ingest_function_name": ("", f"-{contract.FUNCTIONS['ingest'].name_middle}-{environment}"),
        "read_function_name": ("", f"-{contract.FUNCTIONS['read'].name_middle}-{environment}"),
        "dashboard_name": ("", f"-{environment}"),
        "kms_alias": ("alias/", f"-{environment}"),
    }
    found: list[str] = []
    for output, (head, tail) in patterns.items():
        value = str(stack.get(output) or "")
        if value.startswith(head) and value.endswith(tail) and len(value) > len(head + tail):
            found.append(value[len(head) : -len(tail)])
    return found


def deployment_names(stack: Stack) -> contract.Names:
    """The contract's names for this deployment's ``name_prefix`` and ``environment``.

    The stage is named after the environment. The prefix is the one most of the deployment's
    names agree on (table, functions, dashboard, key alias; ties go to the first of these), so
    one resource that is not named by the contract cannot vouch for its own name: the checks
    comparing names with these FAIL on it. A deployment whose names imply no prefix is compared
    with the default names.
    """
    environment = str(stack.get("stage_name") or contract.DEFAULT_ENVIRONMENT)
    candidates = _prefix_candidates(stack, environment)
    if not candidates:
        return contract.names(environment=environment)
    votes = Counter(candidates)
    prefix = max(candidates, key=lambda p: (votes[p], -candidates.index(p)))
    return contract.names(prefix, environment)
