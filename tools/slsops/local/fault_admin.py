"""Client of the fault-injection admin path of the embedded AWS (``gaps/faults.py``).

Used by ``slsops local faults``, the reliability tests and ``nox -s reliability``. Only a
local stack has the admin path; the endpoint is the stack file's ``local_endpoint_url``.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from slsops.deployment.stack import Stack
from slsops.errors import PreflightError, UsageError
from slsops.local.gaps.faults import ADMIN_PATH

TIMEOUT = (3.05, 10.0)


def endpoint_of(stack: Stack) -> str:
    """The embedded AWS of a local stack; exit 2 for a stack on AWS."""
    if not stack.is_local or not stack.endpoint_url:
        raise UsageError(
            f"stack file {stack.path} is not a local stack: fault injection exists only in "
            "the local stack's embedded AWS"
        )
    return str(stack.endpoint_url).rstrip("/")


def _call(endpoint: str, method: str, plan: dict[str, Any] | None = None) -> dict[str, Any]:
    url = endpoint.rstrip("/") + ADMIN_PATH
    try:
        response = requests.request(
            method,
            url,
            data=None if plan is None else json.dumps(plan).encode(),
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise PreflightError(f"embedded AWS at {endpoint} is unreachable: {exc}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {"message": response.text[:200]}
    if response.status_code == 400:
        raise UsageError(f"fault plan refused: {answer.get('message', 'bad plan')}")
    if response.status_code == 404:
        raise UsageError(f"{endpoint} has no fault-injection admin path (not a local stack?)")
    if response.status_code != 200:
        raise PreflightError(f"fault admin answered HTTP {response.status_code}: {answer}")
    return answer


def set_plan(endpoint: str, plan: dict[str, Any]) -> dict[str, Any]:
    """Replace the active plan (counters start again from zero); returns the new state."""
    return _call(endpoint, "POST", plan)


def show(endpoint: str) -> dict[str, Any]:
    """The active plan and its counters."""
    return _call(endpoint, "GET")


def clear(endpoint: str) -> dict[str, Any]:
    """Switch faults off; returns the new (empty) state, with the plan as it was in ``cleared``."""
    return _call(endpoint, "DELETE")
