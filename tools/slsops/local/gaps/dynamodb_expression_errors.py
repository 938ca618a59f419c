"""Gap: a condition or filter expression moto cannot compile answers HTTP 500, not 400.

moto 5.2.5 compiles ``ConditionExpression`` and ``FilterExpression`` with
``moto.dynamodb.comparisons.ConditionExpressionParser.parse`` (in its request handlers and
again in its models), which raises a bare ``ValueError`` for a
syntax error (``attribute_exists(``, ``pk =``) and a ``KeyError`` for a ``#name`` or ``:value``
the request does not define: the caller got HTTP 500, which botocore retries as a server
fault. DynamoDB answers these with 400 ``ValidationException`` ("Invalid ConditionExpression:
Syntax error; ..." / "An expression attribute value used in expression is not defined").
Its update-expression validator (``moto.dynamodb.parsing.validators.Validator.validate``) looks a
``#name`` up before checking it is defined (``OverlappingPathsValidator``): ``KeyError``, 500,
where DynamoDB answers "Invalid UpdateExpression: An expression attribute name used in the
document path is not defined". Both are wrapped to turn those errors into moto's own
``MockValidationException`` / ``ExpressionAttribute*NotDefined``; ``wrap`` installs them once
and returns the app.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.exceptions import (
    ExpressionAttributeNameNotDefined,
    ExpressionAttributeValueNotDefined,
    MockValidationException,
)

from slsops.local.moto_patch import MethodPatch


def parse(self: Any) -> Any:
    """moto's parse; its crashes on the caller's expression become ValidationException."""
    try:
        return PATCH.original("parse")(self)
    except MockValidationException:
        raise
    except KeyError as exc:
        (token,) = exc.args or ("?",)
        kind = "name" if str(token).startswith("#") else "value"
        raise MockValidationException(
            f"Invalid expression: An expression attribute {kind} used in expression is not "
            f"defined; attribute {kind}: {token}"
        ) from None
    except (ValueError, IndexError, TypeError, AttributeError) as exc:
        raise MockValidationException(f"Invalid expression: Syntax error; {exc}") from None


def validate(self: Any) -> Any:
    """moto's update-expression validation; a lookup of an undefined name or value becomes
    DynamoDB's ValidationException for it."""
    try:
        return UPDATE_PATCH.original("validate")(self)
    except KeyError as exc:
        (token,) = exc.args or ("?",)
        if str(token).startswith(":"):
            raise ExpressionAttributeValueNotDefined(str(token)) from None
        raise ExpressionAttributeNameNotDefined(str(token)) from None


PATCH = MethodPatch("moto.dynamodb.comparisons:ConditionExpressionParser", {"parse": parse})
UPDATE_PATCH = MethodPatch("moto.dynamodb.parsing.validators:Validator", {"validate": validate})


def install() -> None:
    PATCH.install()
    UPDATE_PATCH.install()


def wrap(app: Any) -> Any:
    install()
    return app
