"""The REST API: its routes (who may call each), its methods and its stage.

:data:`METHODS` is the one list of routes. The client roles' ``execute-api`` grants, the access
matrix, ``slsops roles``, the load preflight and the fuzzer's signers all derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodContract:
    """One API method (a route). ``function``: key in :data:`FUNCTIONS` behind it (Lambda proxy).

    ``roles``: the client roles whose ``execute-api:Invoke`` policy allows it (keys in
    :data:`CLIENT_ROLES`); ``client_role``: the least-privileged of them, the one a client of
    this route alone (a load generator, the fuzzer) signs with.
    ``validates_body`` / ``validates_parameters``: what its request validator checks (the POST
    body against the model built from ``service/openapi.json``; the GET query parameters, all
    declared optional in ``query_parameters``).
    """

    http_method: str
    path: str
    function: str
    roles: tuple[str, ...]
    client_role: str
    authorization: str = "AWS_IAM"
    integration_type: str = "AWS_PROXY"
    validates_body: bool = False
    validates_parameters: bool = False
    query_parameters: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``METHOD /path``, as reports name a route."""
        return f"{self.http_method} {self.path}"


METHODS: tuple[MethodContract, ...] = (
    MethodContract(
        "POST",
        "/logs",
        function="ingest",
        roles=("ingest", "full"),
        client_role="ingest",
        validates_body=True,
    ),
    MethodContract(
        "GET",
        "/logs/recent",
        function="read",
        roles=("read", "full"),
        client_role="read",
        validates_parameters=True,
        query_parameters=("service_name", "level", "since", "until", "limit", "next_token"),
    ),
)

ROUTES: tuple[tuple[str, str], ...] = tuple((m.http_method, m.path) for m in METHODS)
"""``(HTTP method, path)`` of every route, in :data:`METHODS` order."""

ROUTE_CLIENT_ROLES: dict[str, str] = {m.http_method: m.client_role for m in METHODS}
"""HTTP method -> the role a client of that route signs with (one route per method)."""


def routes_for(role: str) -> tuple[tuple[str, str], ...]:
    """``(HTTP method, path)`` pairs that ``role`` may call, in :data:`METHODS` order."""
    return tuple((m.http_method, m.path) for m in METHODS if role in m.roles)


@dataclass(frozen=True)
class StageContract:
    """The stage (named after the environment): method throttling, tracing, access logs.

    ``throttling_*`` apply to every method (``*/*`` method settings).
    """

    endpoint_type: str = "REGIONAL"
    throttling_rate_limit: float = 10000
    throttling_burst_limit: int = 5000
    xray_tracing: bool = True
    access_log_retention_days: int = 7
    metrics_enabled: bool = True


STAGE = StageContract()
