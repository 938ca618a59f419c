"""A JSON-protocol request's body judged as AWS's front door judges it: 400, never a crash.

moto trusts its input: a DynamoDB body that is not JSON, a JSON array, ``"RequestItems": []``, a
``PutRequest`` without its ``Item`` or a table name that is a number crashed moto's parser or
its handler, and the caller got HTTP 500 (an HTML page botocore cannot read, retried as a
server fault). AWS answers these with 400: ``SerializationException`` when the body or a value
has the wrong JSON type, ``ValidationException`` when a required member is missing or a value
breaks its length or range constraint.

Judging every body against its input shape costs as much as moto's own parse (a batch of 20
log items: ~0.6 ms with botocore's ``ParamValidator``), so the layer judges in two steps:
- every call: the body is a JSON object and the operation's top-level required members are
  there (``top_level``: a few lookups in the parse moto already made);
- only when moto failed on a call (its parse raised, or its handler did): the whole body with
  botocore's ``ParamValidator`` (``whole_body``), which names the member that is wrong. A body
  it finds right is moto's failure, answered as DynamoDB's JSON ``InternalServerError``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from botocore.validate import ParamValidator

from slsops.local.authz.errors import Refusal

NOT_A_NUMBER = "not a number"  # our report kind: an N value DynamoDB cannot read as a number
# botocore's report kinds -> AWS's error code. "unknown field" is not an error: AWS ignores a
# member its model does not have (a newer client's), as moto does.
_SERIALIZATION = frozenset(
    {"invalid type", "invalid type for document", "unable to encode to json"}
)
_VALIDATION = frozenset(
    {
        "missing required field",
        "invalid range",
        "invalid length",
        "empty input",
        "more than one input",
        NOT_A_NUMBER,
    }
)
SERIALIZATION = "SerializationException"
VALIDATION = "ValidationException"
INTERNAL = "InternalServerError"


# DynamoDB's structures that must set exactly one member (an AttributeValue is one of S, N, B,
# SS, ...; a WriteRequest a put or a delete): botocore's model does not mark them as unions,
# and an empty or unknown-tagged one crashed moto.
_UNIONS = frozenset({"AttributeValue", "WriteRequest", "TransactWriteItem"})
# Maps DynamoDB refuses empty ("ExpressionAttributeValues must not be empty").
_NON_EMPTY_MAPS = frozenset({"ExpressionAttributeNameMap", "ExpressionAttributeValueMap"})


class _Validator(ParamValidator):
    """botocore's validator, with DynamoDB's one-member structures judged as unions."""

    def _validate_structure(self, params: Any, shape: Any, errors: Any, name: str) -> None:
        super()._validate_structure(params, shape, errors, name)
        if shape.name in _UNIONS and isinstance(params, dict):
            set_members = [m for m in params if m in shape.members]
            if len(set_members) != 1:
                kind = "empty input" if not set_members else "more than one input"
                errors.report(name, kind, members=shape.members)

    def _validate_map(self, params: Any, shape: Any, errors: Any, name: str) -> None:
        super()._validate_map(params, shape, errors, name)
        if shape.name in _NON_EMPTY_MAPS and params == {}:
            errors.report(name, "invalid length", param=params, min_allowed=1)

    def _validate_string(self, param: Any, shape: Any, errors: Any, name: str) -> None:
        super()._validate_string(param, shape, errors, name)
        if not isinstance(param, str):
            return
        if shape.name == "NumberAttributeValue" and not _is_number(param):
            errors.report(name, NOT_A_NUMBER, param=param)
        elif shape.name == "AttributeName" and not param:
            errors.report(name, "invalid length", param=param, min_allowed=1)


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False


def operation_from_target(environ: dict[str, Any]) -> str:
    """The operation a JSON-protocol request names (``X-Amz-Target: DynamoDB_20120810.PutItem``)."""
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2]


def _body_object(body: bytes) -> dict[str, Any] | Refusal:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return Refusal(400, SERIALIZATION, "the request body is not valid JSON")
    if not isinstance(document, dict):
        kind = type(document).__name__
        return Refusal(400, SERIALIZATION, f"the request body is a JSON {kind}, not an object")
    return document


def _member_name(name: str) -> str:
    """AWS names members in its messages with a lower-case first letter (``tableName``)."""
    return name[:1].lower() + name[1:]


def _missing(names: list[str]) -> Refusal:
    count = len(names)
    errors = "; ".join(
        f"Value null at '{_member_name(n)}' failed to satisfy constraint: Member must not be null"
        for n in names
    )
    plural = "error" if count == 1 else "errors"
    return Refusal(400, VALIDATION, f"{count} validation {plural} detected: {errors}")


def top_level(operation_model: Any, parsed: Any, body: bytes) -> Refusal | None:
    """The cheap check of every call: a JSON object holding the required top-level members.

    ``parsed`` is moto's parse of the body (its ``params``): a body that is not JSON reaches it
    as an empty parse, so the body itself is read only when a required member is missing there
    (also when moto's handler parses the body itself and ``params`` holds none of it)."""
    shape = operation_model.input_shape
    required = list(getattr(shape, "required_members", None) or []) if shape else []
    missing = [name for name in required if not isinstance(parsed, dict) or name not in parsed]
    if not missing:
        return None
    document = _body_object(body)  # moto's parse may not hold it (a service it parses itself)
    if isinstance(document, Refusal):
        return document
    absent = [name for name in required if name not in document]
    return _missing(absent) if absent else None


def whole_body(operation_model: Any, body: bytes) -> Refusal | None:
    """Every member of the body against the operation's input shape (botocore's validator)."""
    document = _body_object(body)
    if isinstance(document, Refusal):
        return document
    shape = operation_model.input_shape
    if shape is None:
        return None
    report = _Validator().validate(document, shape)
    errors = [e for e in getattr(report, "_errors", []) if e[0] in _SERIALIZATION | _VALIDATION]
    if not errors:
        return None
    kind, name, details = errors[0]  # botocore's (reason, name, details)
    name = name.lstrip(".")  # botocore's path of a top-level member starts with a dot
    where = name or "the request"
    if kind in _SERIALIZATION:
        got = type(details.get("param")).__name__
        return Refusal(400, SERIALIZATION, f"{where} has the wrong JSON type ({got})")
    if kind == "missing required field":
        member = details.get("required_name", "")
        return _missing([f"{name}.{member}" if name else member])
    if kind == NOT_A_NUMBER:
        return Refusal(
            400,
            VALIDATION,
            f"The parameter cannot be converted to a numeric value: {details['param']} ({where})",
        )
    if kind in ("empty input", "more than one input"):
        return Refusal(
            400, VALIDATION, f"{where} must set exactly one of {', '.join(details['members'])}"
        )
    limit = details.get("min_allowed")
    what = "length" if kind == "invalid length" else "value"
    return Refusal(
        400,
        VALIDATION,
        f"1 validation error detected: the {what} at '{where}' failed to satisfy constraint: "
        f"Member must have {what} greater than or equal to {limit}",
    )


def after_failure(operation_model: Any, body: bytes, failure: str) -> Refusal:
    """What to answer when moto failed on a call: the caller's error if the body is wrong,
    else moto's own (500, in DynamoDB's JSON shape, so botocore reads and retries it)."""
    refusal = whole_body(operation_model, body)
    return refusal or Refusal(500, INTERNAL, f"the embedded AWS failed on this call ({failure})")
