"""HTTP plumbing shared by both handlers: request body, JSON answers, error mapping."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from log_service import canonical, limits
from log_service.errors import ApiError, PayloadTooLarge, Unavailable, ValidationError


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers or {},
    )


def request_json(event: Any) -> Any:
    """The request body as strict JSON; 400/413 with a message for anything else."""
    raw = event.get("body")
    if raw is None or raw == "":
        raise ValidationError("body", "is required (a JSON object)")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("body", "is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > limits.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is larger than {limits.MAX_BODY_BYTES} bytes")
    try:
        return canonical.loads_strict(data)
    except canonical.StrictJsonError as exc:
        raise ValidationError("body", str(exc)) from None


def register_error_handlers(app: APIGatewayRestResolver, logger: Any) -> None:
    """Map domain errors to ``{"error", "details"?}`` answers; never a 500 for bad input."""

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError):
        headers = {}
        if isinstance(exc, Unavailable):
            headers["Retry-After"] = str(exc.retry_after_seconds)
            logger.warning("answered 503 after retries", extra={"error": exc.message})
        else:
            logger.info("rejected request", extra={"status": exc.status, "error": exc.message})
        return json_response(exc.status, exc.body(), headers)
