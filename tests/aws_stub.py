"""A stand-in for ``StackContext`` on an AWS target, to test the checks' AWS-only paths.

``AwsStub`` answers ``call(service, operation)`` from canned answers (or a function of the
call's parameters) and ``client(...)
.get_paginator(name).paginate(...)`` from canned pages, recording the parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from slsops.deployment.stack import REQUIRED_OUTPUTS, Stack
from slsops.deployment.verify_context import deployment_names


def stack_with(**values: Any) -> Stack:
    outputs = {name: {"value": None} for name in REQUIRED_OUTPUTS}
    outputs.update({k: {"value": v} for k, v in values.items()})
    return Stack(path=Path("stack.json"), outputs=outputs)


class Pages:
    def __init__(self, pages: list[dict]) -> None:
        self.pages = pages
        self.calls: list[dict] = []

    def paginate(self, **params: Any) -> list[dict]:
        self.calls.append(params)
        return self.pages


class StubClient:
    def __init__(self, paginators: dict[str, Pages]) -> None:
        self.paginators = paginators

    def get_paginator(self, name: str) -> Pages:
        return self.paginators[name]


class AwsStub:
    """A StackContext stand-in for an AWS target: canned answers per (service, operation)."""

    is_local = False

    def __init__(self, answers: dict, paginators: dict | None = None, **outputs: Any) -> None:
        self.stack = stack_with(**{"api_id": "a1", "stage_name": "prod", **outputs})
        self.names = deployment_names(self.stack)
        self.answers = answers
        self.paginators = paginators or {}

    def call(self, service: str, operation: str, **params: Any) -> Any:
        """The canned answer; a callable answer is called with the call's parameters."""
        answer = self.answers[(service, operation)]
        return answer(**params) if callable(answer) else answer

    def cached(self, key: Any, fetch: Callable[[], Any]) -> Any:
        return fetch()

    def client(self, service: str) -> StubClient:
        return StubClient(self.paginators)
