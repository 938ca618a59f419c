"""Speed: a DynamoDB call the authorisation layer parsed is answered without Flask.

moto's server hands every request to a Flask app per service: a request context, URL routing,
a werkzeug request and response object, flask-cors' after-request hook. For a DynamoDB call
whose parse the layer left in the environ (``speed.shared_parse``) none of that decides
anything: the route is always ``POST /`` to ``DynamoHandler.dispatch``. In process, with one
parse per call, Flask's part was about a quarter of the embedded AWS's time per call.

So such a call runs the parsed handler's action directly and writes the answer as moto's
``convert_to_flask_response`` and Flask would: moto's status and headers, Content-Length,
Flask's default Content-Type when moto sets none, and the ``Access-Control-Allow-Origin: *``
flask-cors adds to a request without an ``Origin`` header. A request with an ``Origin``
header, any other service, or a request that is not the one the layer parsed takes moto's
own path. ``tests/test_speed_dynamodb_direct.py`` compares whole answers of both paths.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from moto.dynamodb.responses import DynamoHandler
from werkzeug.http import HTTP_STATUS_CODES

from slsops.local import wsgi_capture
from slsops.local.speed import shared_parse
from slsops.local.speed.attribute_patch import AttributePatch

FLASK_DEFAULT_CONTENT_TYPE = "text/html; charset=utf-8"


def _direct_handler(environ: dict[str, Any]) -> Any | None:
    """The layer's parse when this request may skip Flask, else None."""
    prepared = environ.get(shared_parse.PREPARED_ENVIRON_KEY)
    if type(prepared) is not DynamoHandler:  # also None: no parse left by the layer
        return None
    if not shared_parse.PATCH.installed:  # one parse shared is what makes this path right
        return None
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != "/":
        return None
    if "HTTP_ORIGIN" in environ:  # flask-cors answers these by its options
        return None
    from moto.core.request import Request

    body = wsgi_capture.read_body(environ)  # read once, put back for moto's own path
    request = Request(environ)
    if not shared_parse.parsed_from(prepared, request, body):
        return None
    from moto.moto_api import recorder

    recorder._record_request(request)  # as convert_to_flask_response does (off by default)
    environ.pop(shared_parse.PREPARED_ENVIRON_KEY, None)
    return prepared


def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
    """``DomainDispatcherApplication.__call__``: direct for a parsed DynamoDB call."""
    handler = _direct_handler(environ)
    if handler is None:
        return PATCH.original(self, environ, start_response)
    try:
        status, headers, content = handler.call_action()
    except ClientError as exc:  # as convert_to_flask_response answers it
        status, headers, content = 400, {}, exc.response["Error"]["Message"]
    body = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    answer = [(str(name), str(value)) for name, value in headers.items()]
    present = {name.lower() for name, _ in answer}
    if "content-type" not in present:
        answer.append(("Content-Type", FLASK_DEFAULT_CONTENT_TYPE))
    if "content-length" not in present:
        answer.append(("Content-Length", str(len(body))))
    answer.append(("Access-Control-Allow-Origin", "*"))
    code = int(status)
    start_response(f"{code} {HTTP_STATUS_CODES.get(code, 'UNKNOWN').upper()}", answer)
    return [body]


DISPATCHER = "moto.moto_server.werkzeug_app:DomainDispatcherApplication"
PATCH = AttributePatch(DISPATCHER, "__call__", call)
install, uninstall = PATCH.install, PATCH.uninstall
