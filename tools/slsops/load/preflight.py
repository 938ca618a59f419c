"""The gate's preflight, run before Locust starts: credentials, both client roles, the API.

Locust's own processes cannot stop a distributed run cleanly: a worker that fails in its init
dies, the master waits for workers and then judges an empty run (exit 1, "0.000% <= 0.000%").
So the orchestrator checks, once, in its own process, what every generator process needs:
the operator's credentials (sts:GetCallerIdentity), the ingest and read roles (sts:AssumeRole
with their external ids) and an HTTP answer from the API. Any failure is a PreflightError:
exit 3 and one line, whatever the number of Locust processes.
"""

from __future__ import annotations

import requests

from slsops import contract
from slsops.deployment import preflight
from slsops.deployment.api_client import RoleAssumptionError, assume_role
from slsops.deployment.stack import Stack
from slsops.errors import PreflightError

# The roles a load generator signs with: each route's own client role.
ROLES = tuple(m.client_role for m in contract.METHODS)
API_TIMEOUT = (3.05, 10.0)


def check(stack: Stack) -> None:
    """Raise PreflightError (exit 3) unless the generator could sign and reach the API."""
    preflight.caller_identity(stack, in_deployment_account=False)  # signs with assumed roles
    for role in ROLES:
        try:
            assume_role(stack, role, session_name=f"slsops-load-preflight-{role}")
        except RoleAssumptionError as exc:
            raise PreflightError(str(exc)) from None
    url = f"{stack.api_url}/logs/recent"
    try:
        # Unsigned: any HTTP answer (403 from the gateway) shows the API is there.
        requests.get(url, timeout=API_TIMEOUT)
    except requests.RequestException as exc:
        raise PreflightError(f"cannot reach the API at {url}: {type(exc).__name__}") from None
