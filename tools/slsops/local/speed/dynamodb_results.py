"""Speed: moto's ``dynamo_to_dict`` (items into plain dicts before a response) by exact type.

Every DynamoDB response moto writes first passes its result through
``moto.dynamodb.models.utilities.dynamo_to_dict``, which asks each value in turn whether it is
a datetime, a ``DynamoType``, has ``to_json``, is a dict or a list. For a Scan page of a few
thousand items that was a fifth of moto's time (profiled under the audit benchmark). The same
conversion dispatches on the exact type here: strings, numbers, booleans, nulls, maps and lists
of ``DynamoType`` and plain dicts and lists are converted directly; anything else (binary,
sets, datetimes, objects with ``to_json``, subclasses) goes to moto's own function.
``tests/test_speed_dynamodb_results.py`` compares the two on random values.
"""

from __future__ import annotations

from typing import Any

from slsops.local.speed.attribute_patch import AttributePatch

_PLAIN = (str, int, float, bool, type(None))


def dynamo_to_dict(obj: Any) -> Any:
    """What moto's ``dynamo_to_dict(obj)`` returns, faster for the common shapes."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    original = PATCH.original

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind is DynamoType:
            tag, inner = value.type, value.value
            inner_kind = type(inner)
            if (tag == "S" or tag == "N") and inner_kind is str:
                return {tag: inner}
            if (tag == "BOOL" or tag == "NULL") and inner_kind is bool:
                return {tag: inner}
            if tag == "M" and inner_kind is dict:
                return {"M": {k: convert(v) for k, v in inner.items()}}
            if tag == "L" and inner_kind is list:
                return {"L": [convert(v) for v in inner]}
            return original(value)
        if kind is dict or kind is LimitedSizeDict:
            return {k: convert(v) for k, v in value.items()}
        if kind is list:
            return [convert(v) for v in value]
        if kind in _PLAIN:
            return value
        return original(value)

    return convert(obj)


# Where DynamoDB's responses look the name up (``DynamoResult.__init__``).
PATCH = AttributePatch("moto.dynamodb.responses", "dynamo_to_dict", dynamo_to_dict)
install, uninstall = PATCH.install, PATCH.uninstall
