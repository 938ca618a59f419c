"""Preflight: before any check runs, make sure the target answers and we have credentials.

One quick ``sts:GetCallerIdentity`` with short timeouts and no retries: an unreachable endpoint
or missing credentials end the command with exit 3 and one line, instead of every check
reporting the same ERROR after its retries.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from slsops.deployment.stack import Stack, boto_config
from slsops.errors import PreflightError

PREFLIGHT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})


def caller_identity(stack: Stack, *, in_deployment_account: bool = True) -> dict[str, Any]:
    """The operator's identity on the target, or PreflightError (exit 3).

    The commands that read the deployment's resources by name (verify, roles, audit, drill,
    seed) need credentials of the stack file's account: in another account (a wrong
    AWS_PROFILE) a deployment with the same names would be checked and its verdict recorded as
    this one's. The load generator only signs API calls with assumed roles, so it may run from
    a trusted account (``in_deployment_account=False``).
    """
    boto_config()  # a bad AWS_MAX_ATTEMPTS is a usage error (exit 2) before anything is sent
    where = stack.endpoint_url or f"AWS ({stack.region})"
    try:
        sts = stack.session.client("sts", endpoint_url=stack.endpoint_url, config=PREFLIGHT_CONFIG)
        answer = sts.get_caller_identity()
    except (NoCredentialsError, PartialCredentialsError):
        raise PreflightError(
            f"no AWS credentials for {where} (set AWS_PROFILE or the standard variables)"
        ) from None
    except NoRegionError:
        raise PreflightError("no AWS region: set AWS_REGION or the stack's region output") from None
    except EndpointConnectionError:
        raise PreflightError(f"cannot reach {where}; is the stack up?") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise PreflightError(f"sts:GetCallerIdentity on {where} failed: {code}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot reach {where}: {type(exc).__name__}") from None
    expected = str(stack.get("account_id") or "")
    if in_deployment_account and expected and answer.get("Account") != expected:
        raise PreflightError(
            f"the credentials are of account {answer.get('Account')}, the stack file's "
            f"deployment is in {expected} (check AWS_PROFILE and the stack file)"
        )
    return {k: answer.get(k) for k in ("Account", "Arn", "UserId")}
