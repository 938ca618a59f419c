"""The client roles: who may assume them (trust), which routes and table actions each gets.

A role's API routes are not listed here: they derive from :data:`METHODS` (each route names the
roles that may call it), so the routes are written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from slsops.contract.api import routes_for

DYNAMODB_PROBE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateTable",
    "dynamodb:DeleteTable",
)
"""The DynamoDB actions ``slsops roles``/``verify`` probe on each client role (allow or deny)."""


@dataclass(frozen=True)
class TrustContract:
    """What every client role's trust policy must say.

    Only ``sts:AssumeRole`` for the configured principal ARNs (IAM users or roles, never ``*``,
    never a service such as ``lambda.amazonaws.com``), with the condition
    ``StringEquals sts:ExternalId = <the role's external id>``.
    """

    action: str = "sts:AssumeRole"
    external_id_condition_operator: str = "StringEquals"
    external_id_condition_key: str = "sts:ExternalId"
    forbidden_principals: tuple[str, ...] = ("*", "lambda.amazonaws.com")
    external_id_min_length: int = 16
    max_session_duration_s: int = 3600


TRUST = TrustContract()


@dataclass(frozen=True)
class ClientRoleContract:
    """One client role (the principals trusted to assume it are a Terraform variable).

    ``dynamodb_actions``: direct table access (on the table and its index); everything in
    :data:`DYNAMODB_PROBE_ACTIONS` not listed here must be denied.
    """

    key: str
    name_middle: str
    dynamodb_actions: tuple[str, ...] = ()

    @property
    def api_methods(self) -> tuple[tuple[str, str], ...]:
        """``(HTTP method, path)`` pairs its ``execute-api:Invoke`` policy allows (this API and
        stage only), from the routes in :data:`METHODS`."""
        return routes_for(self.key)

    def allows_dynamodb(self, action: str) -> bool:
        """Whether the contract expects ``action`` to be allowed for this role."""
        return action in self.dynamodb_actions

    def allows_api(self, http_method: str, path: str) -> bool:
        return (http_method.upper(), path) in self.api_methods


CLIENT_ROLES: dict[str, ClientRoleContract] = {
    "ingest": ClientRoleContract("ingest", "ingest"),
    "read": ClientRoleContract("read", "read"),
    "full": ClientRoleContract(
        "full",
        "full-access",
        dynamodb_actions=("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"),
    ),
}

ROLE_NAMES: tuple[str, ...] = tuple(CLIENT_ROLES)
"""Every client role key, in :data:`CLIENT_ROLES` order (what ``--role`` options accept)."""
