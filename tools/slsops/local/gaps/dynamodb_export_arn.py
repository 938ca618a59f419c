"""Table exports get AWS's ARN: ``<table ARN>/export/<id>``.

moto 5.2.5 names an export ``arn:...:table/<the table's whole ARN>/import/<id>``: a table ARN
inside a table ARN, under ``import``. IAM policies that grant ``dynamodb:DescribeExport`` on
``table/NAME/export/*`` (as operator-audit.json does, and as AWS documents) then never match,
so the audit's export path would be refused locally where AWS allows it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from moto.dynamodb.models import table_export

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# moto's own constructor, kept so a test can show the gap whether or not the fix is installed.
MOTO_INIT = table_export.TableExport.__init__


def aws_export_arn(table_arn: str, moto_arn: str) -> str:
    """The ARN AWS gives the export moto named ``moto_arn`` (its id is kept)."""
    export_id = moto_arn.rsplit("/", 1)[-1]
    return f"{table_arn}/export/{export_id}"


@functools.cache
def install() -> None:
    """Rename every export moto creates from now on (idempotent)."""

    @functools.wraps(MOTO_INIT)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        MOTO_INIT(self, *args, **kwargs)
        self.arn = aws_export_arn(self.table.table_arn, self.arn)

    table_export.TableExport.__init__ = init


def wrap(app: WSGIApp) -> WSGIApp:
    """No middleware of its own: the fix is to moto's model, installed with the stack."""
    install()
    return app
