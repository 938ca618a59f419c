"""A function's settings come from its environment; a missing table name is an error."""

from __future__ import annotations

import pytest

from log_service.settings import MissingConfiguration, Settings


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_table_name_fails_instead_of_defaulting(monkeypatch, value) -> None:
    if value is None:
        monkeypatch.delenv("DYNAMODB_TABLE_NAME", raising=False)
    else:
        monkeypatch.setenv("DYNAMODB_TABLE_NAME", value)
    with pytest.raises(MissingConfiguration, match="DYNAMODB_TABLE_NAME is not set"):
        Settings.from_env()


def test_the_configured_table_name_is_used(monkeypatch) -> None:
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "acme-logs-staging")
    monkeypatch.setenv("SHARD_COUNT", "4")
    settings = Settings.from_env()
    assert (settings.table_name, settings.shard_count) == ("acme-logs-staging", 4)


def test_a_handler_without_its_table_refuses_the_first_request(monkeypatch) -> None:
    """The cold start's first use of the settings fails; nothing is written anywhere."""
    from service_support import FakeContext, proxy_event, reset_runtime

    from log_service import ingest_handler

    monkeypatch.delenv("DYNAMODB_TABLE_NAME", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reset_runtime()
    try:
        entry = {"service_name": "s", "level": "INFO", "message": "m"}
        event = proxy_event("POST", "/logs", body=entry)
        try:
            response = ingest_handler.handler(event, FakeContext())
        except MissingConfiguration:
            return
        assert response["statusCode"] >= 500, response
    finally:
        reset_runtime()
