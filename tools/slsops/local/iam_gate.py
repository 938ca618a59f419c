"""The AWS_IAM gate of the API Gateway emulator: who signed the request, and may they invoke?

Authentication is SigV4 for service ``execute-api`` in the API's region
(``slsops.local.sigv4.authenticate``: canonical request rebuilt from the received SignedHeaders,
body hash, scope, time skew, the caller's secret from the embedded AWS). Authorization is
``execute-api:Invoke`` on the method ARN under the caller's actual identity policies
(``slsops.local.identity`` resolves the access key to its principal, ``slsops.iam.evaluator``
decides). The statuses and messages are API Gateway's.
"""

from __future__ import annotations

from dataclasses import dataclass

from slsops.local.proxy_event import CallerIdentity


@dataclass(frozen=True)
class RequestParts:
    """The request exactly as received (raw path and query: the signature covers them)."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class GateResult:
    allowed: bool
    status: int = 200
    message: str = ""
    error_type: str = ""
    identity: CallerIdentity | None = None


def _masked(arn: str) -> str:
    """API Gateway masks the account id in the denied resource ARN but its last four digits."""
    parts = arn.split(":")
    if len(parts) > 4 and len(parts[4]) == 12:
        parts[4] = "********" + parts[4][-4:]
    return ":".join(parts)


def check_iam(
    parts: RequestParts, *, region: str, method_arn: str, now: float, source_ip: str
) -> GateResult:
    """Authenticate then authorize one request to an AWS_IAM method."""
    from datetime import UTC, datetime

    from slsops.local import identity, sigv4

    auth = sigv4.authenticate(
        parts.method,
        parts.raw_path,
        parts.raw_query,
        parts.headers,
        parts.body,
        region,
        service="execute-api",
        now=now,
    )
    if not auth.ok or auth.principal is None:
        return GateResult(False, auth.status, auth.message, auth.error_type)
    principal = auth.principal
    moment = datetime.fromtimestamp(now, tz=UTC)
    context = principal.request_context(now=moment, source_ip=source_ip)
    decision = identity.authorize(principal, "execute-api:Invoke", method_arn, context)
    if not decision.allowed:
        refusal = sigv4.not_authorized(
            principal.arn, "execute-api:Invoke", _masked(method_arn), decision.explicit_deny
        )
        return GateResult(False, refusal.status, refusal.message, refusal.error_type)
    return GateResult(
        True,
        identity=CallerIdentity(
            account_id=principal.account_id,
            caller=principal.user_id,
            user=principal.user_id,
            user_arn=principal.arn,
            access_key=principal.access_key_id,
        ),
    )
