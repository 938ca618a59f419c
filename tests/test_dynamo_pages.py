"""``slsops.deployment.dynamo_pages``: every page of a Table resource's Query or Scan, bounded."""

from __future__ import annotations

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from moto import mock_aws

from log_service import keys
from slsops.deployment import dynamo_pages


@pytest.fixture
def table():
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        resource.create_table(**keys.table_definition("pages-logs"))
        table = resource.Table("pages-logs")
        for n in range(7):
            table.put_item(
                Item={keys.PARTITION_KEY: "svc", keys.SORT_KEY: f"2026-01-01#{n}", "n": n}
            )
        table.put_item(Item={keys.PARTITION_KEY: "other", keys.SORT_KEY: "x", "n": 99})
        yield table


def test_items_follow_every_page_of_a_query(table):
    request = {"KeyConditionExpression": Key(keys.PARTITION_KEY).eq("svc"), "Limit": 2}
    pages = list(dynamo_pages.pages(table.query, **request))
    assert len(pages) >= 4  # 7 items, 2 a page
    found = [item["n"] for item in dynamo_pages.items(table.query, **request)]
    assert sorted(found) == list(range(7))


def test_items_of_a_scan_and_the_page_bound(table):
    assert len(list(dynamo_pages.items(table.scan, Limit=3))) == 8
    assert len(list(dynamo_pages.pages(table.scan, max_pages=2, Limit=3))) == 2
    assert len(list(dynamo_pages.items(table.scan, max_pages=1, Limit=3))) == 3
