"""The HTTP edge of the API Gateway emulator: limits, read timeout, body, the gateway's answers.

Every malformed request is a 4xx, never a 5xx or a hang:

- the request line and header values together may hold 10,240 bytes (API Gateway REST's
  documented quota), however many headers that is; beyond it: 431;
- every connection has a read timeout, so a client that stalls, or whose ``Content-Length``
  promises more than it sends, is answered 408 instead of holding a thread;
- a ``Content-Length`` that is not a non-negative integer is 400; one over 10 MB is 413.
"""

from __future__ import annotations

import email.parser
import http.client
import io
import json
import os
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from slsops.contract import numbers

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway REST payload quota
MAX_REQUEST_LINE_AND_HEADERS = 10240  # "Total combined size of request line and header values"
READ_TIMEOUT_S = float(
    os.environ.get(numbers.LOCAL_READ_TIMEOUT_ENV) or numbers.LOCAL_READ_TIMEOUT_S
)
_RAW_HEADER_CAP = 64 * 1024  # bytes of raw header lines read at most before refusing

REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    207: "Multi-Status",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class GatewayAnswer(Exception):
    """An answer of the gateway itself: ``{"message": ...}`` with API Gateway's status."""

    def __init__(self, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type

    def response(self) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", self.error_type)]
        return self.status, headers, json.dumps({"message": self.message}).encode()


def missing_token() -> GatewayAnswer:
    return GatewayAnswer(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def _bad_request(message: str = "Bad Request") -> GatewayAnswer:
    return GatewayAnswer(400, message, "BadRequestException")


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, checked against its ``Content-Length`` (or dechunked) and the quota."""
    stream = environ["wsgi.input"]
    raw_length = (environ.get("CONTENT_LENGTH") or "").strip()
    try:
        if not raw_length and environ.get("wsgi.input_terminated"):  # chunked, dechunked for us
            body = stream.read(MAX_PAYLOAD_BYTES + 1)
            if len(body) > MAX_PAYLOAD_BYTES:
                raise GatewayAnswer(413, "Request Too Long", "RequestTooLongException")
            return body
        if not raw_length:
            return b""
        if not (raw_length.isascii() and raw_length.isdigit()):  # not "²"
            raise _bad_request("Invalid Content-Length")
        length = int(raw_length)
        if length > MAX_PAYLOAD_BYTES:
            raise GatewayAnswer(413, "Request Too Long", "RequestTooLongException")
        body = stream.read(length) if length else b""
    except TimeoutError:
        raise GatewayAnswer(408, "Request Timeout", "RequestTimeoutException") from None
    except OSError:  # a broken chunked encoding, or the client hung up mid-body
        raise _bad_request() from None
    if len(body) != length:
        raise _bad_request("Request body shorter than its Content-Length")
    return body


def header_pairs(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Request headers as the client sent them (names as WSGI exposes them, title-cased)."""
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-").title(), value))
    if environ.get("CONTENT_TYPE"):
        pairs.append(("Content-Type", environ["CONTENT_TYPE"]))
    if environ.get("CONTENT_LENGTH"):
        pairs.append(("Content-Length", environ["CONTENT_LENGTH"]))
    return pairs


class _Prefixed(io.RawIOBase):
    """A reader that yields ``prefix`` first and then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: Any) -> None:
        self._prefix, self._stream = io.BytesIO(prefix), stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._prefix.read(len(buffer)) or self._stream.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class GatewayRequestHandler(WSGIRequestHandler):
    """werkzeug's handler with API Gateway's header quota and a read timeout on every socket.

    Python's ``http.server`` refuses more than 100 headers (431) whatever their size; API
    Gateway counts bytes instead, so the header block is read here, measured, and parsed
    without a count limit.
    """

    timeout = READ_TIMEOUT_S  # socketserver sets it on each accepted connection

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # one line per request drowns the stack's log

    def parse_request(self) -> bool:
        block, oversize = self._read_header_block()
        real_rfile = self.rfile
        self.rfile = io.BufferedReader(_Prefixed(b"\r\n", real_rfile))  # type: ignore[assignment]
        try:
            if not super().parse_request():  # the request line only: no headers follow
                return False
        finally:
            self.rfile = real_rfile
        self.headers = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(
            block.decode("iso-8859-1")
        )
        values = sum(len(value) for value in self.headers.values())
        if oversize or len(self.raw_requestline.rstrip(b"\r\n")) + values > (
            MAX_REQUEST_LINE_AND_HEADERS
        ):
            self._refuse(431, "HTTP header is larger than 10240 bytes.")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, version...): a 4xx in the gateway's shape.

        An unsupported HTTP version is malformed input here (400, not 505), and the answer
        always has a status line, even when the request line was too broken to name a version.
        """
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        status = 400 if code >= 500 else code
        self._refuse(status, message or REASONS.get(status, "Bad Request"))

    def _read_header_block(self) -> tuple[bytes, bool]:
        """Raw header lines up to the blank line; True when they ran past the cap (not read)."""
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_RAW_HEADER_CAP + 1)
            total += len(line)
            if total > _RAW_HEADER_CAP:
                return b"", True
            if line in (b"\r\n", b"\n", b""):
                return b"".join(lines), False
            lines.append(line)

    def _refuse(self, status: int, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        self.close_connection = True
        self.send_response(status, REASONS.get(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
