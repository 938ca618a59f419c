"""Gap: DynamoDB on moto never uses a table's KMS key, so a key DynamoDB could not use is harmless.

On AWS, DynamoDB needs the table's customer managed key for every read and write, and uses it
on behalf of the caller: when the key is disabled or scheduled for deletion, or the caller may
not ``kms:Decrypt`` with it through DynamoDB (key policy, and IAM when the key policy delegates
to the account), data calls fail with a 400 ``AccessDeniedException`` whose message carries
KMS's own error (``DisabledException``, ``KMSInvalidStateException``, ``AccessDeniedException``).
moto never looks at the key. This middleware does, for the data-plane operations, on every
table the request names; control-plane calls (DescribeTable, UpdateTable...) pass, as on AWS.
The caller's permission is checked only for callers the embedded AWS knows (with the
authorisation layer on); PartiQL statements are not parsed: the project does not use them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from slsops.local import wsgi_capture

_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")
_DATA_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}
_KMS_ERRORS = {
    "Disabled": ("DisabledException", "{arn} is disabled."),
    "PendingDeletion": ("KMSInvalidStateException", "{arn} is pending deletion."),
    "PendingImport": ("KMSInvalidStateException", "{arn} is pending import."),
    "Unavailable": ("KMSInvalidStateException", "{arn} is unavailable."),
}


def table_names(operation: str, request: Any) -> set[str]:
    """Every table a data-plane request reads or writes."""
    if not isinstance(request, dict):
        return set()
    names = {request["TableName"]} if isinstance(request.get("TableName"), str) else set()
    if isinstance(request.get("RequestItems"), dict):
        names.update(request["RequestItems"])
    for item in request.get("TransactItems") or []:
        for action in item.values() if isinstance(item, dict) else []:
            if isinstance(action, dict) and isinstance(action.get("TableName"), str):
                names.add(action["TableName"])
    return names


_NOT_ALLOWED = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in this "
    "region, or you are not allowed to access."
)


def caller_may_use_key(key: Any, principal: Any, region: str) -> bool:
    """May ``principal`` have DynamoDB decrypt with ``key`` (key policy, then IAM if delegated)?"""
    from slsops.iam.evaluator import PolicyError, evaluate, principal_match
    from slsops.local import identity

    context = {
        **principal.request_context(),
        "kms:ViaService": f"dynamodb.{region}.amazonaws.com",
        "kms:CallerAccount": principal.account_id,
        "kms:ResourceAliases": sorted(getattr(key, "aliases", None) or []),
    }
    try:
        policy = json.loads(key.policy) if isinstance(key.policy, str) else dict(key.policy)
        named: dict[str, list[Any]] = {"direct": [], "account": []}
        for statement in policy.get("Statement", []):
            match = principal_match(
                statement.get("Principal", {}),
                principal.arn,
                principal.account_id,
                principal.principal_arn or principal.arn,
            )
            if match in named:
                named[match].append(statement)
    except (PolicyError, ValueError, TypeError, AttributeError):
        return False
    decide = {
        name: evaluate({"Statement": statements}, "kms:Decrypt", key.arn, context)
        for name, statements in named.items()
    }
    if any(decision.explicit_deny for decision in decide.values()):
        return False
    if decide["direct"].allowed:
        return True
    return (
        decide["account"].allowed
        and identity.authorize(principal, "kms:Decrypt", key.arn, context).allowed
    )


def _remembered_use(key: Any, principal: Any, region: str) -> bool:
    """``caller_may_use_key``, remembered for the authorisation layer's principals (whose
    objects are replaced on every IAM write) while the key's policy and aliases stay the same."""
    from slsops.local.authz import decision_cache

    policy = key.policy if isinstance(key.policy, str) else json.dumps(key.policy, sort_keys=True)
    aliases = tuple(sorted(getattr(key, "aliases", None) or []))
    return decision_cache.SHARED.decide(
        principal,
        ("kms-via-dynamodb", key.arn, region, aliases, policy),
        lambda: caller_may_use_key(key, principal, region),
        other_documents=(policy,),
    )


def key_refusal(
    account_id: str, region: str, table_name: str, caller: Callable[[], Any] = lambda: None
) -> str | None:
    """The DynamoDB error message when the table's KMS key cannot be used, else None.

    ``caller`` returns the signing principal (None when unknown); it is asked only for a table
    whose key is usable at all, so plain tables cost no identity lookup.
    """
    from moto.dynamodb.models import dynamodb_backends
    from moto.kms.models import kms_backends

    table = dynamodb_backends[account_id][region].tables.get(table_name)
    sse = getattr(table, "sse_specification", None) or {}
    key_id = sse.get("KMSMasterKeyId")
    if not sse.get("Enabled") or not key_id:
        return None
    kms = kms_backends[account_id][region]
    try:
        key = kms.keys[kms.any_id_to_key_id(key_id)]
    except (KeyError, TypeError):
        kms_error, detail = "NotFoundException", f"Key '{key_id}' does not exist"
    else:
        if key.key_state in _KMS_ERRORS:
            kms_error, template = _KMS_ERRORS[key.key_state]
            detail = template.format(arn=key.arn)
        elif (principal := caller()) is not None and not _remembered_use(key, principal, region):
            kms_error, detail = "AWSKMSException", _NOT_ALLOWED
        else:
            return None
    return (
        f"KMS key access denied error: com.amazonaws.services.kms.model.{kms_error}: {detail} "
        f"(Service: AWSKMS; Status Code: 400; Error Code: "
        f"{'AccessDeniedException' if kms_error == 'AWSKMSException' else kms_error})"
    )


def _caller(environ: dict[str, Any]) -> Any:
    """The signing principal: the one the authorisation layer authenticated, else (no layer in
    front, as in a gap's own tests) resolved from the access key; None when unknown."""
    from slsops.local import identity

    authenticated = environ.get(identity.CALLER_ENVIRON_KEY)
    if authenticated is not None:
        return authenticated
    match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    return identity.resolve(match.group(1)) if match else None


def _refusal(message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps(
        {"__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException", "message": message}
    ).encode()
    return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")], body


def wrap(app: Any) -> Any:
    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service, _, operation = target.partition(".")
        if not service.startswith("DynamoDB_") or operation not in _DATA_OPERATIONS:
            return app(environ, start_response)
        request = wsgi_capture.json_body(environ)
        if request is None:
            return app(environ, start_response)  # moto answers the malformed body
        account_id, region = wsgi_capture.moto_account_and_region(environ)
        caller = functools.cache(lambda: _caller(environ))  # looked up once, if at all
        for name in sorted(table_names(operation, request)):
            message = key_refusal(account_id, region, name, caller)
            if message is not None:
                return wsgi_capture.respond(start_response, *_refusal(message))
        return app(environ, start_response)

    return middleware
