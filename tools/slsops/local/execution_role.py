"""Credentials of a function's execution role, minted in the embedded AWS (moto, in process).

On AWS, Lambda assumes the function's execution role and puts the session's keys in the
runtime's environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``),
with the function name as session name. The local stack does the same through moto's STS
backend, so the function calls the embedded AWS as its role: a permission the role lacks fails
locally as it would on AWS once the embedded AWS enforces IAM for role sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SESSION_SECONDS = 3600


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime  # aware UTC

    def environment(self) -> dict[str, str]:
        """The variables Lambda's runtime sets for the execution role's session."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class ExecutionRoleError(Exception):
    """The function has no execution role the embedded AWS can assume."""


def mint(role_arn: str, function_name: str, region: str) -> RoleCredentials:
    """Assume ``role_arn`` for the function in moto's STS backend of the role's account."""
    from moto.sts.models import sts_backends

    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        raise ExecutionRoleError(f"not a role ARN: {role_arn!r}")
    backend = sts_backends[parts[4]][parts[1] or "aws"]
    session = backend.assume_role(
        region_name=region,
        role_session_name=function_name[:64],
        role_arn=role_arn,
        policy=None,
        duration=SESSION_SECONDS,
        external_id=None,
    )
    expiration = session.expiration
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    return RoleCredentials(
        session.access_key_id, session.secret_access_key, session.session_token, expiration
    )
