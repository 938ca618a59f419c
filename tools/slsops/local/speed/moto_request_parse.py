"""Speed: moto parses DynamoDB's string and number attribute values without walking their shape.

moto 5.2.5 parses every JSON request against its botocore input shape, and an
``AttributeValue`` is a structure of ten members (``S``, ``N``, ``B``, ``SS``, ...): for each
value of each item it visits all ten to find the one that is there. A PutItem of a log entry
is a few dozen such values, parsed twice on the local stack (by the authorisation layer, to
know the call, and by moto); under the load profile that walk was a tenth of the time the
server process held the GIL.

The parse of ``{"S": "x"}`` or ``{"N": "1"}`` is a new map holding the same single pair, so
that is built directly. Everything else (binary, which is base64-decoded; sets; booleans;
nulls; maps and lists, whose members come back here; malformed values) goes through moto's own
``_parse_structure``. ``tests/test_speed_moto_request_parse.py`` compares the two parsers.
"""

from __future__ import annotations

from typing import Any

from slsops.local.speed.attribute_patch import AttributePatch

_SCALAR_TAGS = ("S", "N")


def _is_attribute_value(shape: Any) -> bool:
    return shape.name == "AttributeValue" and shape.type_name == "structure"


def parse_structure(self: Any, shape: Any, value: Any) -> Any:
    """``BaseJSONParser._parse_structure``, direct for a string or number attribute value."""
    if type(value) is dict and len(value) == 1 and _is_attribute_value(shape):
        ((tag, inner),) = value.items()
        if tag in _SCALAR_TAGS and type(inner) is str and tag in shape.members:
            parsed = self.MAP_TYPE()
            parsed[tag] = inner
            return parsed
    return PATCH.original(self, shape, value)


PATCH = AttributePatch("moto.core.parse:BaseJSONParser", "_parse_structure", parse_structure)
install, uninstall = PATCH.install, PATCH.uninstall
