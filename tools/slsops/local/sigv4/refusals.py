"""API Gateway's answers to a request it does not authenticate or authorize.

The verifier reports each failure with the status, ``x-amzn-ErrorType`` and message API
Gateway sends, so a client meets the same refusal on the local stack as on AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slsops.local.identity import Principal

MISSING_TOKEN = "Missing Authentication Token"  # noqa: S105 - a message, not a secret
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105  a message
EXPIRED_TOKEN = "The security token included in the request is expired"  # noqa: S105  a message
INCOMPLETE_QUERY = (
    "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
    "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. "
    "Re-examine the query-string parameters."
)


@dataclass(frozen=True)
class AuthResult:
    """Authenticated (``ok`` with the principal) or API Gateway's refusal (status, type, message).

    ``detail`` carries the canonical request and string to sign on a mismatch, for logs only.
    """

    ok: bool
    status: int = 200
    message: str = ""
    principal: Principal | None = None
    error_type: str = ""
    detail: str = ""

    def body(self) -> bytes:
        """API Gateway's JSON error body."""
        return json.dumps({"message": self.message}).encode()


def refuse(error_type: str, message: str, status: int = 403, detail: str = "") -> AuthResult:
    return AuthResult(False, status, message, None, error_type, detail)


def not_authorized(
    principal_arn: str, action: str, resource_arn: str, explicit: bool = False
) -> AuthResult:
    """API Gateway's 403 when the signature is fine but no policy allows the call."""
    message = (
        f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource_arn}"
    )
    if explicit:
        message += " with an explicit deny"
    return refuse("AccessDeniedException", message)
