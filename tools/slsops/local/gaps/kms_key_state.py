"""Gap: a table encrypted with a disabled (or pending-deletion) KMS key stays usable on moto.

On AWS, DynamoDB needs the table's customer managed key for every read and write: when the key
is disabled or scheduled for deletion, data calls fail with a 400 ``AccessDeniedException``
whose message carries KMS's own error (``DisabledException`` / ``KMSInvalidStateException``).
moto never looks at the key. This middleware does, for the data-plane operations, on every
table the request names; control-plane calls (DescribeTable, UpdateTable...) pass, as on AWS.
PartiQL statements are not parsed: the project does not use them.
"""

from __future__ import annotations

import json
from typing import Any

from slsops.local import wsgi_capture

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


def key_refusal(account_id: str, region: str, table_name: str) -> str | None:
    """The DynamoDB error message when the table's KMS key cannot be used, else None."""
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
        if key.key_state not in _KMS_ERRORS:
            return None
        kms_error, template = _KMS_ERRORS[key.key_state]
        detail = template.format(arn=key.arn)
    return (
        f"KMS key access denied error: com.amazonaws.services.kms.model.{kms_error}: {detail} "
        f"(Service: AWSKMS; Status Code: 400; Error Code: {kms_error})"
    )


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
        try:
            request = json.loads(wsgi_capture.read_body(environ) or b"{}")
        except ValueError:
            return app(environ, start_response)  # moto answers the malformed body
        account_id, region = wsgi_capture.moto_account_and_region(environ)
        for name in sorted(table_names(operation, request)):
            message = key_refusal(account_id, region, name)
            if message is not None:
                return wsgi_capture.respond(start_response, *_refusal(message))
        return app(environ, start_response)

    return middleware
