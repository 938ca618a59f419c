"""Speed: moto executes the request the authorisation layer already parsed, instead of parsing it
again.

The authorisation layer asks moto which call a request is (``authz.moto_call.parse``: moto's
response class and its ``setup_class``), so that the check and the execution cannot disagree;
then moto parsed the same request a second time to execute it. That second parse (routing the
URL, building the request, walking every attribute value of every item against its botocore
shape) was about a tenth of the embedded AWS's time under load.

The layer leaves its parsed response object in the WSGI environ (``PREPARED_ENVIRON_KEY``);
moto's ``BaseResponse._dispatch`` then runs that object's action. It is used once, and only when
it is of the handler's own class and was parsed from the very request moto is handed (method,
URL, headers and body compare equal); otherwise moto parses as before. So the check and the
execution now read one object, not two parses of one request.
"""

from __future__ import annotations

from typing import Any

from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY

from slsops.local.speed.attribute_patch import AttributePatch

PREPARED_ENVIRON_KEY = "slsops.moto_response"


def prepared_for(handler: Any, request: Any) -> Any | None:
    """The layer's parse of ``request`` if it fits ``handler``'s class, else None (used once)."""
    prepared = request.environ.pop(PREPARED_ENVIRON_KEY, None)
    if prepared is None or type(prepared) is not type(handler):
        return None
    return prepared if parsed_from(prepared, request) else None


def parsed_from(prepared: Any, request: Any, body: bytes | None = None) -> bool:
    """Was ``prepared`` parsed from this very request (method, URL, headers, body)?

    ``body``: the request's body when the caller read it already (else read through
    ``request``)."""
    return (
        prepared.method == request.method
        and prepared.uri == request.raw_url
        and prepared.raw_body == (request.get_data() if body is None else body)
        and _same_headers(prepared.headers, request)
    )


# The environ entries a request's headers are read from (WSGI), and moto's original spellings.
_HEADER_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH", PRESERVED_HEADER_NAMES_ENVIRON_KEY})


def _header_entries(environ: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in environ.items() if k.startswith("HTTP_") or k in _HEADER_KEYS}


def _same_headers(parsed_headers: Any, request: Any) -> bool:
    """Equal header entries in both environs: the same headers, without rebuilding their names
    (werkzeug titles every name on each walk; that was ~7% of the server's time under load)."""
    parsed_environ = getattr(parsed_headers, "environ", None)
    if parsed_environ is None:
        return dict(parsed_headers) == dict(request.headers)
    return _header_entries(parsed_environ) == _header_entries(request.environ)


def dispatch(self: Any, request: Any, full_url: str | None = None, headers: Any = None) -> Any:
    """``BaseResponse._dispatch``: the layer's parse when it is this request's, else moto's."""
    prepared = prepared_for(self, request)
    if prepared is not None:
        return prepared.call_action()
    return PATCH.original(self, request, full_url, headers)


PATCH = AttributePatch("moto.core.responses:BaseResponse", "_dispatch", dispatch)
install, uninstall = PATCH.install, PATCH.uninstall
