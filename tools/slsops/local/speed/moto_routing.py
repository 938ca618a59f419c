"""Speed: route requests to moto's service apps without a global lock and a directory listing.

moto 5.2.5's ``DomainDispatcherApplication.get_application`` picks the service app for each
request under one lock, and on the way lists moto's package folder (``os.listdir`` plus an
``isdir`` per entry, about 150) and tries the service URL patterns one by one. Under load every
server thread queued on that lock: in a py-spy profile of the local stack being seeded it was the
largest single place threads stood (a third of the busy samples).

The patch keeps moto's routing decisions and only changes their cost: the list of moto's
modules is read once (it is the installed package's folder), a host's backend is remembered
after the first look-up, and the lock only guards creating a service app the first time.
"""

from __future__ import annotations

import threading
from typing import Any

_INSTALL_LOCK = threading.Lock()
_originals: dict[str, Any] = {}
_MAX_REMEMBERED_HOSTS = 4096


def _special_host(path_info: str) -> str | None:
    """moto's own first guess from the path (its API, the instance metadata endpoint)."""
    if path_info.startswith("/moto-api") or path_info == "/favicon.ico":
        return "moto_api"
    if path_info.startswith("/latest/meta-data/") or path_info.startswith("/latest/api/"):
        return "instance_metadata"
    return None


def _backend_for_host(dispatcher: Any, host: str | None) -> Any:
    """``dispatcher.get_backend_for_host(host)``, remembered per host (a pure function of it)."""
    if host is None:
        return None
    remembered = dispatcher.__dict__.setdefault("_slsops_backend_by_host", {})
    try:
        return remembered[host]
    except KeyError:
        pass
    backend = dispatcher.get_backend_for_host(host)
    if len(remembered) < _MAX_REMEMBERED_HOSTS:
        remembered[host] = backend
    return backend


def get_application(self: Any, environ: dict[str, Any]) -> Any:
    """moto's ``get_application``: the same decisions, the lock only around app creation."""
    from moto.moto_server.werkzeug_app import DEFAULT_SERVICE_REGION

    path_info = environ.get("PATH_INFO", "")
    if isinstance(path_info, bytes):
        path_info = path_info.decode("utf-8")
    backend = _backend_for_host(self, _special_host(path_info))
    if not backend:
        host = self.infer_service_region_host(environ, path_info)
        if host is None:
            service, region = DEFAULT_SERVICE_REGION
            host = f"{service}.{region}.amazonaws.com"
        backend = _backend_for_host(self, host)
    app = self.app_instances.get(backend)
    if app is None:
        with self.lock:
            app = self.app_instances.get(backend)
            if app is None:
                app = self.app_instances[backend] = self.create_app(backend)
    return app


def install() -> None:
    """Patch moto's dispatcher and remember moto's module list (idempotent)."""
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    with _INSTALL_LOCK:
        if _originals:
            return
        modules = tuple(backends.list_of_moto_modules())
        _originals["list_of_moto_modules"] = backends.list_of_moto_modules
        _originals["get_application"] = DomainDispatcherApplication.get_application
        backends.list_of_moto_modules = lambda: modules  # the installed package's folders
        DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]


def uninstall() -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    with _INSTALL_LOCK:
        if not _originals:
            return
        backends.list_of_moto_modules = _originals.pop("list_of_moto_modules")
        DomainDispatcherApplication.get_application = _originals.pop("get_application")  # type: ignore[method-assign]
