"""boto3 sessions that share one loader of botocore's service models per process.

Each new boto3 session reads and parses every service model it makes a client for again
(JSON files, tens of milliseconds a client). A command makes several sessions (the operator,
the administrator, each role it assumes) and the tests run many commands in one process; with
the loader shared, each model is read once per process. Credentials, region, configuration
and clients stay each session's own: the loader holds only the models shipped with botocore
and boto3.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.session

_LOCK = threading.Lock()
_LOADER: list[Any] = []  # the shared loader, once made


def _shared_loader() -> Any:
    with _LOCK:
        if not _LOADER:
            _LOADER.append(botocore.session.Session().get_component("data_loader"))
        return _LOADER[0]


def new_session(**options: Any) -> boto3.Session:
    """``boto3.Session(**options)`` whose botocore session uses the shared model loader."""
    core = botocore.session.Session()
    loader = _shared_loader()
    core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core, **options)
    with _LOCK:  # each boto3 session appends its data folder to the loader's search path
        loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session
