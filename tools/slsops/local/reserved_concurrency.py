"""Reserved concurrency 0 throttles a function: the gateway refuses before the code runs.

moto stores ``PutFunctionConcurrency`` but never applies it, so "stop writes by setting the
ingest function's reserved concurrency to 0" (runbooks/restore-the-log-table.md) changed
nothing on the local stack. On AWS a function with reserved concurrency 0 is throttled on
every invocation: Lambda answers ``Invoke`` with 429 ``TooManyRequestsException`` (reason
``ReservedFunctionConcurrentInvocationLimitExceeded``), and a REST API's ``AWS_PROXY``
integration turns a throttled Lambda into ``500 {"message": "Internal server error"}``
(AWS knowledge center, "API Gateway internal server error": throttling issues).

Only the value 0 is emulated; a positive limit is not counted against in-flight requests.
"""

from __future__ import annotations

from slsops.local.gateway_http import GatewayAnswer
from slsops.local.lambda_workers import moto_function

__all__ = ["refuse_if_throttled", "reserved_concurrency"]


def reserved_concurrency(function_arn: str) -> int | None:
    """The function's reserved concurrency as moto stores it (None when unset or unknown)."""
    unqualified = ":".join(function_arn.split(":")[:7])  # the function's, not a version's
    value = getattr(moto_function(unqualified), "reserved_concurrency", None)
    if value is None or value == "":
        return None
    return int(value)


def refuse_if_throttled(function_arn: str) -> None:
    """Raise the gateway's answer to a throttled integration when the function may not run."""
    if reserved_concurrency(function_arn) == 0:
        raise GatewayAnswer(500, "Internal server error", "InternalServerErrorException")
