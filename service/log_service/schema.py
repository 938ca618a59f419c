"""The API document (service/openapi.json) and its request schema, compiled once.

The same document drives API Gateway's request validator (Terraform reads it), this
handler's coarse check, the tests and the fuzzing session.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema

from log_service.errors import ValidationError

# In the Lambda zip the document sits beside the package modules; in the repository one
# level up (service/openapi.json).
_CANDIDATES = (
    Path(__file__).with_name("openapi.json"),
    Path(__file__).parent.parent / "openapi.json",
)


@cache
def openapi_document() -> dict[str, Any]:
    for path in _CANDIDATES:
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError("openapi.json not found beside log_service")


@cache
def _post_validator():
    schema = openapi_document()["components"]["schemas"]["PostLogsRequest"]
    return fastjsonschema.compile(schema)


def check_post_body(body: Any) -> None:
    """Coarse check of a POST /logs body against the document's schema (400 on failure)."""
    try:
        _post_validator()(body)
    except fastjsonschema.JsonSchemaException as exc:
        name = exc.name or "data"
        field = "body" if name == "data" else name.removeprefix("data.")
        message = exc.message.removeprefix(name).strip() or "is invalid"
        raise ValidationError(field, message) from None
