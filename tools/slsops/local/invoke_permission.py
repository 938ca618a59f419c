"""May API Gateway invoke this function? The function's resource policy decides, as on AWS.

API Gateway calls ``lambda:InvokeFunction`` on the ARN in the integration URI (alias or version
qualifier included) as the service principal ``apigateway.amazonaws.com``, with
``aws:SourceArn`` = ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{path}``
and ``aws:SourceAccount``. Lambda keeps one resource policy per qualifier, so a permission
granted on the unqualified function does not let the gateway invoke an alias. The policy is read
from moto's Lambda backend in this process at request time; statements naming another
principal do not count; the project's IAM evaluator decides Allow/Deny with conditions.
"""

from __future__ import annotations

import json
from typing import Any

from slsops.iam.evaluator import PolicyError, evaluate, principal_match

GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
INVOKE = "lambda:InvokeFunction"


def _resource_policy(function_arn: str) -> dict[str, Any] | None:
    """The function's (or alias's) resource policy from moto, None when it has none."""
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    region, account_id = parts[3], parts[4]
    name, qualifier = parts[6], (parts[7] if len(parts) > 7 else None)
    try:
        wire = lambda_backends[account_id][region].get_policy(name, qualifier)
    except Exception:  # moto raises its own not-found errors when no statement exists
        return None
    policy = json.loads(wire)["Policy"]
    return json.loads(policy) if isinstance(policy, str) else policy


def gateway_may_invoke(function_arn: str, source_arn: str) -> tuple[bool, str]:
    """(allowed, why): does the resource policy let API Gateway invoke for ``source_arn``?"""
    policy = _resource_policy(function_arn)
    if policy is None:
        return False, f"{function_arn} has no resource policy"
    account_id = source_arn.split(":")[4]
    try:
        for_gateway = [
            statement
            for statement in policy.get("Statement", [])
            if "Principal" in statement
            and principal_match(statement["Principal"], GATEWAY_PRINCIPAL, account_id)
        ]
    except PolicyError as exc:
        return False, f"unreadable resource policy on {function_arn}: {exc}"
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": account_id}
    document = {"Version": policy.get("Version", "2012-10-17"), "Statement": for_gateway}
    decision = evaluate(document, INVOKE, function_arn, context)
    return decision.allowed, decision.reason
