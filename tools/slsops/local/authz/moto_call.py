"""Which AWS operation a request is, decided by moto's own routing and parsing.

The authorisation layer must judge the very call moto will execute: a second parser that
reads the body differently (letter case of the Content-Type, ``X-Amz-Target`` instead of
``Action``, a repeated parameter) would check one call and let moto run another. So this module
asks moto: its dispatcher picks the service (``DomainDispatcherApplication.get_application``),
the service's Flask URL map picks the response class, and that class's ``setup_class`` and
``_get_action`` parse a copy of the request exactly as moto is about to (botocore's protocol
parsers for the services with automated parameter parsing). Parameters are then read through
the same object (``_get_param``), so the check and the execution see one value.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import UnknownServiceError
from moto.core.request import Request, determine_request_protocol
from moto.core.utils import get_service_model
from werkzeug.exceptions import HTTPException

from slsops.local.authz import json_input
from slsops.local.authz.errors import Refusal

# moto's backend name -> botocore's service name (only where they differ).
_BOTOCORE_NAMES = {"awslambda": "lambda", "events": "events", "moto_api": ""}
# IAM action prefix where it differs from botocore's signing name.
_IAM_PREFIXES = {"monitoring": "cloudwatch", "execute-api": "execute-api"}
# Operation names whose IAM action is spelled differently.
_IAM_ACTION_NAMES = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeAsync": "lambda:InvokeAsync",
    "lambda:GetFunctionUrlConfig": "lambda:GetFunctionUrlConfig",
    # S3 authorises several operations under another action's name.
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:CreateMultipartUpload": "s3:PutObject",
    "s3:UploadPart": "s3:PutObject",
    "s3:CompleteMultipartUpload": "s3:PutObject",
    "s3:AbortMultipartUpload": "s3:AbortMultipartUpload",
    "s3:ListParts": "s3:ListMultipartUploadParts",
}


@dataclass
class MotoCall:
    """One request as moto parses it: service, operation, IAM action and its parameters."""

    service: str  # moto's backend name
    botocore_service: str
    protocol: str  # the protocol the client spoke: query | json | rest-json | ...
    query_compatible: bool  # a JSON service that names errors as its query protocol did
    operation: str  # e.g. AssumeRole
    iam_action: str  # e.g. sts:AssumeRole
    response: Any  # moto's response object after setup_class (for _get_param); None on input_error
    method: str
    path: str
    # A JSON-protocol body AWS refuses (not an object, a required member missing, a wrong type):
    # answered after authentication, never handed to moto (``json_input``).
    input_error: Refusal | None = None

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter exactly as moto's handler will read it."""
        try:
            value = self.response._get_param(name, default)
        except Exception:
            return default
        if value is None:
            value = default
        return value

    def uri_param(self, name: str) -> str | None:
        match = getattr(self.response, "uri_match", None) or {}
        value = match.get(name)
        return None if value is None else str(value)


class UnparsableRequest(ValueError):
    """moto could not route or parse the request (AWS answers 4xx for these)."""


def _response_class(app: Any, environ: dict[str, Any]) -> type | None:
    adapter = app.url_map.bind_to_environ(environ)
    try:
        endpoint, _args = adapter.match()
    except HTTPException:
        return None
    view = app.view_functions.get(endpoint)
    callback = getattr(view, "callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, type):
        return owner
    return type(owner) if owner is not None else None


def _protocol(botocore_service: str, content_type: str) -> str:
    """The protocol the client spoke (a service may accept several: CloudWatch JSON or CBOR)."""
    if not botocore_service:
        return ""
    try:
        model = get_service_model(botocore_service)
        return str(determine_request_protocol(model, content_type))
    except (UnknownServiceError, Exception):
        return ""


def _query_compatible(botocore_service: str) -> bool:
    try:
        return "awsQueryCompatible" in get_service_model(botocore_service).metadata
    except Exception:
        return False


def _iam_action(botocore_service: str, operation: str, method: str) -> str:
    if botocore_service == "apigateway":
        return f"apigateway:{method.upper()}"  # API Gateway's IAM actions are HTTP verbs
    try:
        model = get_service_model(botocore_service)
        prefix = model.signing_name or model.endpoint_prefix
    except Exception:
        prefix = botocore_service
    prefix = _IAM_PREFIXES.get(prefix, prefix)
    action = f"{prefix}:{operation}"
    return _IAM_ACTION_NAMES.get(action, action)


def parse(dispatcher: Any, environ: dict[str, Any], body: bytes) -> MotoCall:
    """Route and parse a copy of the request as moto will; UnparsableRequest when it cannot."""
    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    try:
        app = dispatcher.get_application(copy)
    except Exception as exc:  # moto's routing raises on what it cannot place (a scope's service
        # without its X-Amz-Target, a service it has no backend for): a 400, not a 500
        raise UnparsableRequest(f"no service for this request ({type(exc).__name__})") from None
    service = str(getattr(app, "service", ""))
    response_cls = _response_class(app, copy)
    if response_cls is None:
        raise UnparsableRequest(f"no {service} operation at this path")
    response = response_cls()
    request = Request(copy)
    botocore_service = _BOTOCORE_NAMES.get(service, service)
    if not botocore_service:
        botocore_service = getattr(response, "boto3_service_name", "") or service
    if getattr(response, "boto3_service_name", ""):
        botocore_service = response.boto3_service_name
    method = copy.get("REQUEST_METHOD", "GET")
    protocol = _protocol(botocore_service, copy.get("CONTENT_TYPE", ""))
    crash: Exception | None = None
    try:
        response.setup_class(request, request.url if False else None, None)
        operation = response._get_action() or ""
    except Exception as exc:
        if protocol != "json":
            raise UnparsableRequest(f"{type(exc).__name__}: {exc}") from None
        operation, response, crash = json_input.operation_from_target(copy), None, exc
    input_error = None
    if protocol == "json" and operation:
        input_error = _json_input_error(botocore_service, operation, response, body, crash)
    return MotoCall(
        service=service,
        botocore_service=botocore_service,
        protocol=protocol,
        query_compatible=_query_compatible(botocore_service),
        operation=operation,
        iam_action=_iam_action(botocore_service, operation, method) if operation else "",
        response=response,
        method=method,
        path=copy.get("PATH_INFO", "/"),
        input_error=input_error,
    )


def _json_input_error(
    botocore_service: str, operation: str, response: Any, body: bytes, crash: Exception | None
) -> Refusal | None:
    """What AWS answers a JSON-protocol call before running it: an operation the service does
    not have, or a body it refuses (the whole body judged when moto's parser crashed on it)."""
    model = operation_model(botocore_service, operation)
    if model is None:
        return Refusal(400, "UnknownOperationException", f"no operation {operation!r}")
    if crash is not None:
        failure = f"{type(crash).__name__} parsing the request"
        return json_input.after_failure(model, body, failure)
    return json_input.top_level(model, getattr(response, "params", None), body)


def operation_model(botocore_service: str, operation: str) -> Any | None:
    """botocore's model of the operation, or None when botocore has no such operation."""
    try:
        return get_service_model(botocore_service).operation_model(operation)
    except Exception:
        return None
