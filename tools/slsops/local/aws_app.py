"""The embedded AWS: moto's server WSGI app with the local stack's gap fixes around it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from slsops.local import speed
from slsops.local.gaps import wrap_all
from slsops.local.gateway_http import READ_TIMEOUT_S


def build_moto_app(enforce_iam: bool = False) -> Any:
    """Return moto's multi-service WSGI app (as ``moto_server`` builds it) wrapped with the gaps.

    ``enforce_iam`` puts the authorisation layer (``slsops.local.authz``) in front of everything,
    as AWS authenticates and authorises every call: the local stack runs with it; tests of a
    single gap may leave it off and sign with any key.
    """
    speed.install()
    if not enforce_iam:
        return wrap_all(DomainDispatcherApplication(create_backend_app))
    from slsops.local.authz.layer import AuthorizationLayer

    return AuthorizationLayer(wrap_all(DomainDispatcherApplication(_propagating_backend_app)))


def _propagating_backend_app(service: str) -> Any:
    """moto's Flask app of ``service``, letting a handler's exception reach the authorisation
    layer (which answers it in the service's protocol: 501 for an operation moto lacks) instead
    of Flask's HTML 500 page, which botocore retries five times."""
    app = create_backend_app(service)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    return app


class TimedRequestHandler(MotoRequestHandler):
    """Moto's handler with a read timeout on every connection, as the API emulator has: a
    client that stalls, or promises a longer body than it sends, is dropped, not served forever.
    """

    timeout = READ_TIMEOUT_S


class QuietRequestHandler(TimedRequestHandler):
    """Moto's handler without one log line per request (they drown test and CLI output)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextlib.contextmanager
def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, quiet: bool = True
) -> Iterator[str]:
    """Serve ``app`` on loopback in a daemon thread; yield its base URL; stop it on exit.

    Port 0 picks a free port. Uses moto's request handler so headers with underscores survive,
    as they do under ``moto_server``; ``quiet`` drops the per-request access log.
    """
    handler = QuietRequestHandler if quiet else TimedRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    try:
        bound_host, bound_port = server.server_address[:2]
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
