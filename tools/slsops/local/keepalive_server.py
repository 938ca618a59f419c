"""The embedded AWS's HTTP server: keep-alive connections served by a fixed pool of threads.

werkzeug's development server closes every connection after one answer (it always sends
``Connection: close``) and starts a thread per connection. Every DynamoDB call of a Lambda
worker then paid a new TCP connection and a new thread on both sides, about a third of the
server process's time under load (docs/local-stack.md, "Where the time goes"). cheroot,
CherryPy's pure-Python HTTP/1.1 server, keeps connections alive (botocore's pool reuses them),
parks idle ones in a selector instead of a thread, and hands requests to a fixed thread pool.

What the embedded AWS promised with werkzeug still holds here:

- a read timeout on every connection (a client that stalls is dropped, not served forever);
- header names with underscores reach the app (as ``moto_server``'s request handler keeps them);
- ``RAW_URI`` is set as werkzeug sets it (moto reads it to recover the undecoded path).

Each response leaves in one write (``_WholeResponseGateway``): status line, headers and body
together, never the headers first and the body a moment later.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from cheroot import wsgi

# Enough for the Lambda workers' connection pools and the toolkit's parallel scans at once;
# requests beyond it wait in the accept queue, they are not refused.
DEFAULT_THREADS = 32


def _with_raw_uri(app: Any) -> Any:
    def call(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return app(environ, start_response)

    return call


class _Collected:
    """Stands in for a connection's write file while one response is assembled."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)


NO_BODY_STATUSES = frozenset({204, 205, 304})  # and 1xx: RFC 9112 section 6.3


class _WholeResponseGateway(wsgi.Gateway_10):
    """Sends the status line, headers and body of a response in one write.

    cheroot sends the headers, then each body chunk, each with a send() of its own; between
    them the writing thread can wait milliseconds for the GIL behind moto's threads. Terraform's
    AWS provider then closed the connection on seeing headers without their body (loopback
    captures: FIN after the headers, RST when the body came; the SDK's error "decomposing
    response: ... use of closed network connection") and retried the call: a create that had
    succeeded was sent again and answered 409 "already exists" (docs/local-stack.md).

    The body is gathered whole (moto answers with one bytes object anyway) and gets a
    Content-Length when the app gave none; an app whose body disagrees with the length it
    declared gets a 500 instead of a connection the client can no longer parse. Responses that
    must not carry a body (HEAD, 1xx, 204, 205, 304) are sent without it: a body left on a
    kept-alive connection would be read as the start of the next response.
    """

    def respond(self) -> None:
        response = self.req.server.wsgi_app(self.env, self.start_response)
        try:
            chunks = [chunk for chunk in response if chunk]
        finally:
            if hasattr(response, "close"):
                response.close()
        if not all(isinstance(chunk, bytes) for chunk in chunks):
            raise ValueError("WSGI applications must yield bytes")
        if not self.started_response:
            raise RuntimeError("the WSGI application returned without calling start_response")
        if self.req.sent_headers:  # the app wrote through start_response's write(): streaming
            for chunk in chunks:
                self.write(chunk)
            return
        body = b"".join(chunks)
        status = int(self.req.status[:3])
        if status < 200 or status in NO_BODY_STATUSES:
            body = b""
            self.req.outheaders = [
                (k, v) for k, v in self.req.outheaders if k.lower() != b"content-length"
            ]
        elif self.req.method == b"HEAD":
            body = b""  # Content-Length, if any, is the GET's
        elif self.remaining_bytes_out is None:
            self.req.outheaders.append((b"Content-Length", str(len(body)).encode("ascii")))
        elif self.remaining_bytes_out != len(body):
            raise ValueError(
                f"the response declared Content-Length {self.remaining_bytes_out} "
                f"and has {len(body)} bytes"
            )
        wire, collected = self.req.conn.wfile, _Collected()
        self.req.conn.wfile = collected
        try:
            self.req.ensure_headers_sent()
            if body:
                self.req.write(body)
        finally:
            self.req.conn.wfile = wire
        wire.write(b"".join(collected.parts))


class _Server(wsgi.Server):
    """cheroot's server, with SO_REUSEADDR also on a port chosen by the system (port 0), and
    every idle connection kept alive.

    cheroot leaves SO_REUSEADDR off for port 0; the connections it accepts then lack it too,
    and one a client still holds open after we stop keeps the port unbindable for up to a
    minute. cheroot also keeps at most 10 idle connections and answers ``Connection: close``
    beyond them: the Lambda workers' pools hold more than that under load, and each closed
    one costs a new TCP connection on both sides for the next call.
    """

    keep_alive_conn_limit = None

    @classmethod
    def prepare_socket(cls, bind_addr: Any, *args: Any, **kwargs: Any) -> socket.socket:
        sock = super().prepare_socket(bind_addr, *args, **kwargs)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return sock


class PortInUse(OSError):
    """The port is held by another process (``errno`` is EADDRINUSE)."""


class KeepAliveServer:
    """A bound HTTP/1.1 server for one WSGI app on 127.0.0.1, with werkzeug's server methods.

    Binding happens here, so a taken port fails at construction; ``serve_forever`` blocks
    until ``shutdown``; ``server_close`` is there for callers written for werkzeug.
    """

    def __init__(
        self,
        app: Any,
        port: int,
        read_timeout_s: float,
        threads: int = DEFAULT_THREADS,
        host: str = "127.0.0.1",
    ) -> None:
        self._server = _Server(
            (host, port),
            _with_raw_uri(app),
            numthreads=threads,
            timeout=read_timeout_s,
            shutdown_timeout=5,
            request_queue_size=128,
        )
        self._server.server_name = host
        self._server.gateway = _WholeResponseGateway
        try:
            self._server.prepare()
        except OSError as exc:
            if f"[Errno {errno.EADDRINUSE}]" in str(exc) or exc.errno == errno.EADDRINUSE:
                raise PortInUse(errno.EADDRINUSE, f"port {port} is in use") from None
            raise
        self.host = host
        self.port = int(self._server.bind_addr[1])

    def serve_forever(self) -> None:
        self._server.serve()

    def shutdown(self) -> None:
        """Stop serving, close the socket and join the threads (idempotent)."""
        self._server.stop()

    def server_close(self) -> None:
        """The same as ``shutdown``: binding already started the thread pool, which must stop
        even when the server never served (a start-up that failed after binding)."""
        self._server.stop()


@contextlib.contextmanager
def serving(
    app: Any, read_timeout_s: float, threads: int = DEFAULT_THREADS
) -> Iterator[KeepAliveServer]:
    """``app`` served on a free loopback port from a daemon thread; stopped, threads joined, on
    exit (benchmarks and tests; the local stack serves through ``slsops.local.lifecycle``)."""
    server = KeepAliveServer(app, 0, read_timeout_s, threads=threads)
    thread = threading.Thread(target=server.serve_forever, name="keepalive-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)
