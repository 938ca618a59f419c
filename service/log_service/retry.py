"""Which DynamoDB failures are worth retrying, and the backoff between tries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def is_retryable(error: BaseException) -> bool:
    """Throttling, internal errors and lost connections: safe, because writes are idempotent.

    Lost connections are both kinds botocore has: no connection (``ConnectionError``) and one
    that broke mid-call (``HTTPClientError``: closed before the answer, e.g. a keep-alive
    connection the server had just closed as idle; read timeout; a broken response stream).
    """
    if isinstance(error, ConnectionError | HTTPClientError):
        return True
    if not isinstance(error, ClientError):
        return False
    return error.response.get("Error", {}).get("Code", "") in RETRYABLE_CODES


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter, bounded in attempts and total time."""

    attempts: int = 6
    base_s: float = 0.025
    cap_s: float = 0.8
    budget_s: float = 6.0
    sleep: Callable[[float], None] = time.sleep

    def delays(self):
        """Yield the pause before each retry; stops when attempts or budget run out."""
        spent = 0.0
        for attempt in range(1, self.attempts):
            delay = random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))  # noqa: S311  jitter, not crypto
            if spent + delay > self.budget_s:
                return
            spent += delay
            yield delay
