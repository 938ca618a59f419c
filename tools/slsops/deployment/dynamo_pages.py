"""Every page of a DynamoDB Query or Scan: the ``LastEvaluatedKey`` loop, written once.

It takes the read call itself (a ``boto3`` Table resource's ``query``/``scan``, whose paginators
do not exist, or a client's), so the harnesses and the audit share one loop, bounded in pages so
a bug cannot spin forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

MAX_PAGES = 10_000


def pages(
    read: Callable[..., dict[str, Any]], max_pages: int = MAX_PAGES, **request: Any
) -> Iterator[dict[str, Any]]:
    """Each page ``read(**request)`` answers (``table.query`` or ``table.scan``), following
    ``LastEvaluatedKey``; stops after ``max_pages`` pages."""
    start = None
    for _ in range(max_pages):
        page = read(**request, **({"ExclusiveStartKey": start} if start else {}))
        yield page
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def items(
    read: Callable[..., dict[str, Any]], max_pages: int = MAX_PAGES, **request: Any
) -> Iterator[dict[str, Any]]:
    """Each item of every page (see :func:`pages`)."""
    for page in pages(read, max_pages, **request):
        yield from page.get("Items", [])
