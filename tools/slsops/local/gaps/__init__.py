"""Moto's gaps the local stack closes: THE one place they live (see docs/local-stack.md).

Each gap is one module in this package exposing ``wrap(app) -> app``: a WSGI middleware that
sits in front of moto's server application and makes one behaviour match AWS. ``MIDDLEWARES``
names them in the order they are applied by ``wrap_all``; the first entry is the innermost
wrapper (closest to moto), the last one sees each request first. To add a gap: write
``gaps/<name>.py`` with ``wrap``, append its name here, add a subsection to
docs/local-stack.md and a test ``tests/test_gap_<name>.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

# The WSGI calling convention (PEP 3333): app(environ, start_response) -> iterable of bytes.
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Middleware = Callable[[WSGIApp], WSGIApp]

# Module names, not modules: the gaps import moto (~1 s), and this package is also imported by
# clients that need none of it (the CLI's `slsops local faults` reads ``faults.ADMIN_PATH``).
MIDDLEWARES: tuple[str, ...] = (
    "apigw_deployment_snapshot",  # the emulator serves stages from these
    "apigw_stage_settings",  # a redeploy to a stage keeps its settings, as on AWS
    "dynamodb_export_arn",  # table exports named <table ARN>/export/<id>, as on AWS
    "pitr",  # point-in-time restore replays a write journal; SSE carried over
    "dynamodb_item_writes",  # writes to one item apply one at a time (a condition holds)
    "dynamodb_threadsafe",  # index query/scan vs concurrent writes gave 500s
    "dynamodb_stream_off",  # writes after a stream was turned off gave 500s
    "dynamodb_expression_errors",  # a bad condition/filter expression gave 500, not 400
    "kms_key_state",  # a disabled or pending-deletion key makes table data calls fail
    "faults",  # DynamoDB fault injection, off until a plan is posted (outermost)
)


def wrap_all(app: WSGIApp) -> WSGIApp:
    """Wrap moto's WSGI app with every gap middleware, in list order."""
    for name in MIDDLEWARES:
        middleware: Middleware = importlib.import_module(f"{__name__}.{name}").wrap
        app = middleware(app)
    return app
