"""Log entries that look like what real services send, so the load resembles production.

Services are chosen with a skewed weight (a few chatty services, a long tail), levels in the
proportions a healthy fleet shows (mostly INFO, a little WARN and ERROR), and metadata with the
fields people attach: request ids, latencies, HTTP status, versions, sometimes a nested object.

Every service name starts with ``loadtest-`` and every entry asks for ``retention_days = 1``, so
load-test data is easy to tell apart from real logs and expires a day later on a deployment.
Nothing here imports Locust; the generator and the benchmark share it.
"""

from __future__ import annotations

import json
import random
import time
import uuid

SERVICE_PREFIX = "loadtest-"
RETENTION_DAYS = 1

# (service, relative weight): a few services produce most of the volume.
SERVICES: tuple[tuple[str, int], ...] = (
    ("api-gateway", 30),
    ("checkout", 18),
    ("payments", 12),
    ("auth", 10),
    ("search", 9),
    ("inventory", 7),
    ("orders", 6),
    ("notifications", 4),
    ("recommendations", 2),
    ("billing-batch", 2),
)
SERVICE_NAMES: tuple[str, ...] = tuple(SERVICE_PREFIX + name for name, _ in SERVICES)
_SERVICE_WEIGHTS = tuple(weight for _, weight in SERVICES)

# Level proportions of a healthy fleet (percent).
LEVEL_WEIGHTS: dict[str, int] = {"DEBUG": 12, "INFO": 75, "WARN": 9, "ERROR": 4}

_MESSAGES: dict[str, tuple[str, ...]] = {
    "DEBUG": (
        "cache lookup key={key} hit={hit}",
        "retrying upstream call attempt={attempt}",
        "feature flag {flag} evaluated to {hit}",
    ),
    "INFO": (
        "{method} {route} completed status={status} in {latency_ms} ms",
        "order {order_id} accepted",
        "user {user_id} signed in",
        "published event {event} to queue",
    ),
    "WARN": (
        "slow upstream {upstream}: {latency_ms} ms",
        "rate limit near for client {user_id}: {attempt}/100",
        "deprecated field {flag} used by client",
    ),
    "ERROR": (
        "payment declined for order {order_id}: upstream returned {status}",
        "timeout after {latency_ms} ms calling {upstream}",
        "unhandled exception in {route}: KeyError('{key}')",
    ),
}
_ROUTES = ("/cart", "/checkout", "/orders/{id}", "/search", "/login", "/items/{id}")
_UPSTREAMS = ("postgres", "redis", "stripe", "s3", "inventory-svc")
_FLAGS = ("new_checkout", "legacy_tax", "dark_mode", "fast_search")
_EVENTS = ("OrderPlaced", "PaymentCaptured", "UserSignedUp", "StockReserved")
_REGIONS = ("us-east-1", "us-east-2", "eu-west-1")


POOL_SIZE = 512  # distinct message/metadata shapes per factory; ids and times are always new


def _uuid4(bits: int) -> str:
    """A version-4 UUID string from 128 random bits (cheaper than uuid.UUID for the hot path)."""
    return str(uuid.UUID(int=bits, version=4))


class LogFactory:
    """Makes log entries; one per simulated user, seeded so a run can be replayed.

    Messages and metadata are drawn from a pool rendered once per factory (real logs repeat
    their shapes too); every entry gets a new log_id, request_id and the current time. That
    keeps making an entry at a few microseconds, so the generator measures the service, not
    its own payload code.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        # Exactly the level proportions in the pool, so small runs show them too.
        total = sum(LEVEL_WEIGHTS.values())
        levels = [
            level
            for level, weight in LEVEL_WEIGHTS.items()
            for _ in range(round(POOL_SIZE * weight / total))
        ]
        self._pool = [self._render(level) for level in levels]
        self._second = -1
        self._second_text = ""

    def service(self) -> str:
        return self._rng.choices(SERVICE_NAMES, weights=_SERVICE_WEIGHTS)[0]

    def level(self) -> str:
        levels = tuple(LEVEL_WEIGHTS)
        return self._rng.choices(levels, weights=tuple(LEVEL_WEIGHTS.values()))[0]

    def _render(self, level: str) -> tuple[str, str, str, dict]:
        """One (service, level, message, metadata) shape."""
        rng = self._rng
        fields = {
            "key": f"user:{rng.randint(1, 99999)}",
            "hit": rng.choice(("true", "false")),
            "attempt": rng.randint(1, 5),
            "flag": rng.choice(_FLAGS),
            "method": rng.choice(("GET", "GET", "GET", "POST", "PUT")),
            "route": rng.choice(_ROUTES),
            "status": rng.choice((200, 200, 200, 201, 204, 400, 404, 502)),
            "latency_ms": int(rng.lognormvariate(3.5, 0.8)),
            "order_id": f"ord-{rng.randint(10**6, 10**7)}",
            "user_id": f"u-{rng.randint(1, 50000)}",
            "event": rng.choice(_EVENTS),
            "upstream": rng.choice(_UPSTREAMS),
        }
        message = rng.choice(_MESSAGES[level]).format(**fields)
        metadata: dict = {
            "region": rng.choice(_REGIONS),
            "version": f"2.{rng.randint(0, 14)}.{rng.randint(0, 9)}",
            "latency_ms": fields["latency_ms"],
        }
        if rng.random() < 0.3:
            metadata["http"] = {"method": fields["method"], "status": fields["status"]}
        if level == "ERROR":
            metadata["error"] = {"type": "UpstreamError", "retryable": rng.random() < 0.5}
        return self.service(), level, message, metadata

    def _now(self) -> str:
        """Current UTC time in the stored form (the second's text is rendered once)."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        return f"{self._second_text}{int((now - second) * 1000):03d}Z"

    def entry(self, service: str | None = None) -> dict:
        """One entry as a client sends it (the client picks log_id and timestamp)."""
        rng = self._rng
        pool_service, level, message, metadata = self._pool[int(rng.random() * len(self._pool))]
        return {
            "service_name": service or pool_service,
            "level": level,
            "message": message,
            "metadata": {"request_id": _uuid4(rng.getrandbits(128)), **metadata},
            "log_id": _uuid4(rng.getrandbits(128)),
            "timestamp": self._now(),
            "retention_days": RETENTION_DAYS,
        }

    def batch(self, size: int) -> dict:
        """A batch body: ``size`` entries from a mix of services."""
        return {"logs": [self.entry() for _ in range(size)]}

    def error_levels(self) -> str:
        """The level filter an on-call engineer uses most (comma-separated set)."""
        return self._rng.choice(("ERROR", "ERROR,WARN", "WARN"))

    def limit(self) -> int:
        return self._rng.choice((10, 20, 50, 100))


def body_bytes(document: dict) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
