"""Errors the handlers turn into HTTP answers ``{"error": ..., "details"?: [...]}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with an HTTP status, a message and optional per-field details."""

    status = 400

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(ApiError):
    """Client input that breaks a rule; ``field`` names where."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", [{"field": field, "message": message}])
        self.field = field


class PayloadTooLarge(ApiError):
    status = 413


class ConflictError(ApiError):
    """A log_id reused with different content."""

    status = 409


class Unavailable(ApiError):
    """DynamoDB throttled or failed after every retry: retryable, answered 503."""

    status = 503
    retry_after_seconds = 1
