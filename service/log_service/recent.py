"""GET /logs/recent: from query parameters to a response body (no AWS, no HTTP)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from log_service import keys, limits, paging
from log_service.errors import Unavailable, ValidationError
from log_service.model import parse_client_timestamp, parse_level
from log_service.reader import LogReader, RecentQuery
from log_service.retry import is_retryable

PARAMETERS = ("service_name", "level", "since", "until", "limit", "next_token")
MAX_PARAMETER_CHARS = 2048
# A presigned (query-string) SigV4 request carries its signature as X-Amz-* parameters, which
# the gateway verified and passes on: they are not the caller's parameters.
SIGNATURE_PARAMETER_PREFIX = "x-amz-"


def _single_values(multi: dict[str, list[str]] | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, given in (multi or {}).items():
        if name.lower().startswith(SIGNATURE_PARAMETER_PREFIX):
            continue
        if name not in PARAMETERS:
            raise ValidationError(name, f"unknown parameter; use {', '.join(PARAMETERS)}")
        if len(given) != 1:
            raise ValidationError(name, "may be given only once")
        if len(given[0]) > MAX_PARAMETER_CHARS:
            raise ValidationError(name, f"is longer than {MAX_PARAMETER_CHARS} characters")
        values[name] = given[0]
    return values


def _is_whole_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` is also true of "²", which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _limit(text: str | None) -> int:
    if text is None:
        return limits.DEFAULT_LIMIT
    if not _is_whole_number(text) or not limits.MIN_LIMIT <= int(text) <= limits.MAX_LIMIT:
        raise ValidationError(
            "limit", f"must be an integer from {limits.MIN_LIMIT} to {limits.MAX_LIMIT}"
        )
    return int(text)


def _time_bound(text: str | None, name: str) -> str | None:
    if text is None:
        return None
    value: Any = int(text) if _is_whole_number(text) else text
    return keys.format_timestamp(parse_client_timestamp(value, name))


def parse_query(multi: dict[str, list[str]] | None) -> RecentQuery:
    values = _single_values(multi)
    service = values.get("service_name")
    if service is not None and not keys.SERVICE_NAME_PATTERN.match(service):
        raise ValidationError("service_name", "is not a valid service name")
    levels: tuple[str, ...] = ()
    if "level" in values:
        levels = tuple(sorted({parse_level(part) for part in values["level"].split(",")}))
    since = _time_bound(values.get("since"), "since")
    until = _time_bound(values.get("until"), "until")
    if since and until and since > until:
        raise ValidationError("since", "must not be after until")
    limit = _limit(values.get("limit"))
    query = RecentQuery(service, levels, since, until, limit)
    token = values.get("next_token")
    if token is not None:
        cursor = paging.decode(token, _binding(query))
        query = RecentQuery(service, levels, since, until, limit, cursor)
    return query


def _binding(query: RecentQuery) -> dict[str, Any]:
    return {
        "service_name": query.service_name,
        "levels": list(query.levels),
        "since": query.since,
        "until": query.until,
        "limit": query.limit,
    }


def handle_get(multi: dict[str, list[str]] | None, reader: LogReader) -> dict[str, Any]:
    query = parse_query(multi)
    try:
        page = reader.recent(query)
    except (ClientError, BotoCoreError) as error:
        # botocore already retried; answer a retryable 503, never a wrong or partial 200.
        if is_retryable(error):
            raise Unavailable("the log table is throttling or failing; retry later") from None
        raise
    token = paging.encode(page.next_cursor, _binding(query)) if page.next_cursor else None
    return {"logs": page.logs, "count": len(page.logs), "next_token": token}
