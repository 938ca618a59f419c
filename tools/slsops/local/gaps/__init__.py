"""Moto's gaps the local stack closes: THE one place they live (see docs/local-stack.md).

Each gap is one module in this package exposing ``wrap(app) -> app``: a WSGI middleware that
sits in front of moto's server application and makes one behaviour match AWS. ``MIDDLEWARES``
lists them in the order they are applied by ``wrap_all``; the first entry is the innermost
wrapper (closest to moto), the last one sees each request first. To add a gap: write
``gaps/<name>.py`` with ``wrap``, append it here, add a subsection to docs/local-stack.md and a
test ``tests/test_gap_<name>.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from slsops.local.gaps import (
    apigw_deployment_snapshot,
    apigw_stage_settings,
    dynamodb_export_arn,
    dynamodb_threadsafe,
    faults,
    kms_key_state,
    pitr,
)

# The WSGI calling convention (PEP 3333): app(environ, start_response) -> iterable of bytes.
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Middleware = Callable[[WSGIApp], WSGIApp]

MIDDLEWARES: list[Middleware] = [
    apigw_deployment_snapshot.wrap,  # the emulator serves stages from these
    apigw_stage_settings.wrap,  # a redeploy to a stage keeps its settings, as on AWS
    dynamodb_export_arn.wrap,  # table exports named <table ARN>/export/<id>, as on AWS
    pitr.wrap,  # point-in-time restore replays a write journal; SSE carried over
    dynamodb_threadsafe.wrap,  # index query/scan vs concurrent writes gave 500s
    kms_key_state.wrap,  # a disabled or pending-deletion key makes table data calls fail
    faults.wrap,  # DynamoDB fault injection, off until a plan is posted (outermost)
]


def wrap_all(app: WSGIApp) -> WSGIApp:
    """Wrap moto's WSGI app with every gap middleware, in list order."""
    for middleware in MIDDLEWARES:
        app = middleware(app)
    return app
