"""Is an entry the API answered ``stored`` really there, once, and unchanged?

Both questions are answered from the entry's own keys (its marker, the log item the marker
names, its service partition), never from a scan of the table, so what others write to the
table meanwhile does not count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from boto3.dynamodb.conditions import Attr, Key

from log_service import canonical, keys
from log_service.errors import ApiError
from log_service.model import parse_entry
from log_service.settings import Settings
from slsops.deployment import dynamo_pages

TIMEOUT = (3.05, 30.0)


def marker(table: Any, log_id: str) -> dict[str, Any] | None:
    """The idempotency marker of ``log_id`` (None when the entry was never written)."""
    return table.get_item(Key=keys.marker_key(log_id), ConsistentRead=True).get("Item")


def stored_once_problem(table: Any, log_id: str) -> str | None:
    """Why the entry ``log_id`` is not in ``table`` exactly once (None when it is).

    Its marker names the log item; the item must exist, and its service partition must hold
    no other item with that log_id (a duplicate under another timestamp). Only this entry's
    keys and partition are read, never the whole table.
    """
    found = marker(table, log_id)
    if found is None:
        return "answered stored, but no marker"
    service, sort_key = str(found["entry_service"]), str(found["entry_sk"])
    item_key = {keys.PARTITION_KEY: service, keys.SORT_KEY: sort_key}
    if table.get_item(Key=item_key, ConsistentRead=True).get("Item") is None:
        return f"its marker names {service} {sort_key}, which holds no log item"
    copies = sum(
        page["Count"]
        for page in dynamo_pages.pages(
            table.query,
            max_pages=1_000,
            KeyConditionExpression=Key(keys.PARTITION_KEY).eq(service),
            FilterExpression=Attr("log_id").eq(log_id),
            Select="COUNT",
            ConsistentRead=True,
        )
    )
    if copies != 1:
        return f"{copies} log items with this log_id in {service}"
    return None


def read_back_problem(
    http: requests.Session,
    api_url: str,
    auth: requests.auth.AuthBase,
    table: Any,
    settings: Settings,
    sent: Any,
    log_id: str,
) -> str | None:
    """GET the entry through the API by its service and timestamp and compare it with what
    the handler's own parser makes of ``sent``; why they differ (None when they agree)."""
    try:
        expected = parse_entry(sent, settings, datetime.now(UTC))
    except ApiError as exc:
        return f"the API stored an entry its own parser refuses: {exc.message}"
    found = marker(table, log_id)
    if found is None:
        return "no marker after a 201"
    timestamp = str(found["entry_sk"]).partition("#")[0]
    response = http.get(
        f"{api_url}/logs/recent",
        params={
            "service_name": found["entry_service"],
            "since": timestamp,
            "until": timestamp,
            "limit": "1000",
        },
        auth=auth,
        timeout=TIMEOUT,
    )
    if response.status_code != 200:
        return f"GET answered {response.status_code}: {response.text[:200]}"
    views = [v for v in response.json().get("logs", []) if v.get("log_id") == log_id]
    if len(views) != 1:
        return f"GET returned it {len(views)} times"
    view = views[0]
    metadata = (
        canonical.dumps_canonical(view["metadata"]) if view.get("metadata") is not None else None
    )
    got = (view["service_name"], view["level"], view["log_type"], view["message"], metadata)
    want = (
        expected.service_name,
        expected.level,
        expected.log_type,
        expected.message,
        expected.metadata_json,
    )
    if got != want:
        return f"read {got!r}, sent {want!r}"
    if expected.timestamp is not None and view["timestamp"] != expected.timestamp:
        return f"timestamp {view['timestamp']} != {expected.timestamp}"
    return None
