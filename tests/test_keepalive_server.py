"""The embedded AWS's HTTP server: connections stay open, stalled clients are dropped, and the
request reaches the app as werkzeug's server handed it (underscored headers, RAW_URI)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from slsops.local import keepalive_server
from slsops.local.keepalive_server import KeepAliveServer, PortInUse

READ_TIMEOUT_S = 1.0


def echo_app(environ, start_response):
    """Answers what the server handed over: headers, raw URI, body, and which connection."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {
        "raw_uri": environ.get("RAW_URI"),
        "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
        "body": body.decode(),
        "peer": environ.get("REMOTE_PORT"),
    }
    payload = json.dumps(seen).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response("200 OK", headers)
    return [payload]


@contextmanager
def serving(app=echo_app) -> Iterator[KeepAliveServer]:
    with keepalive_server.serving(app, READ_TIMEOUT_S, threads=4) as server:
        yield server
    assert not [t for t in threading.enumerate() if t.name == "keepalive-server"]


def test_two_requests_share_one_connection() -> None:
    with serving() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        answers = []
        for body in ("first", "second"):
            conn.request("POST", "/a%2Fb?x=1", body=body)
            response = conn.getresponse()
            assert response.status == 200
            assert (response.getheader("Connection") or "").lower() != "close"
            answers.append(json.loads(response.read()))
        conn.close()
    assert [a["body"] for a in answers] == ["first", "second"]
    assert answers[0]["peer"] == answers[1]["peer"]  # the same TCP connection both times


def test_many_idle_connections_all_stay_open() -> None:
    """More idle connections than cheroot keeps by default (10), as four Lambda workers' pools
    hold under load: every one is still kept alive and reused for the next call."""
    clients = 24
    with serving() as server:
        conns = [
            http.client.HTTPConnection("127.0.0.1", server.port, timeout=5) for _ in range(clients)
        ]
        peers: list[list[int]] = [[] for _ in conns]
        for _ in range(2):
            for conn, seen in zip(conns, peers, strict=True):
                conn.request("POST", "/", body="x")
                response = conn.getresponse()
                assert (response.getheader("Connection") or "").lower() != "close"
                seen.append(json.loads(response.read())["peer"])
        for conn in conns:
            conn.close()
    assert all(first == second for first, second in peers)


def test_raw_uri_and_underscored_headers_reach_the_app() -> None:
    with serving() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/bucket/a%2Fb?list-type=2", headers={"x_amz_meta_note": "kept"})
        seen = json.loads(conn.getresponse().read())
        conn.close()
    assert seen["raw_uri"] == "/bucket/a%2Fb?list-type=2"
    assert seen["headers"].get("HTTP_X_AMZ_META_NOTE") == "kept"


def test_a_client_that_stalls_is_dropped_after_the_read_timeout() -> None:
    with serving() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-this")
        sock.settimeout(READ_TIMEOUT_S * 10)
        began = time.monotonic()
        received = b""
        while chunk := sock.recv(4096):  # ends when the server closes the connection
            received += chunk
        waited = time.monotonic() - began
    assert waited < READ_TIMEOUT_S * 10
    assert b"200 OK" not in received  # the app never saw a request with a short body


def test_a_second_server_on_a_taken_port_says_so() -> None:
    with serving() as server, pytest.raises(PortInUse):
        KeepAliveServer(echo_app, server.port, READ_TIMEOUT_S)


def test_a_server_closed_without_serving_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    server = KeepAliveServer(echo_app, 0, READ_TIMEOUT_S, threads=3)
    server.server_close()  # a start-up that failed after binding
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left == []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", server.port))  # the port is free again


def test_the_port_is_free_after_shutdown_while_a_client_keeps_its_connection() -> None:
    with serving() as server:
        port = server.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/")
        conn.getresponse().read()  # the connection stays open on the client's side
    try:
        with socket.socket() as probe:  # as `local down`'s callers check, with SO_REUSEADDR
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
    finally:
        conn.close()


def _writes_to_the_wire(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write the server makes to a connection, in order."""
    from cheroot.makefile import StreamWriter

    writes: list[bytes] = []
    original = StreamWriter.write

    def record(self, val, *args, **kwargs):
        writes.append(bytes(val))
        return original(self, val, *args, **kwargs)

    monkeypatch.setattr(StreamWriter, "write", record)
    return writes


def chunked_app(environ, start_response):
    """A body in three pieces and no Content-Length (cheroot alone would send four writes)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"one ", b"", b"two ", b"three"]


@pytest.mark.parametrize("app", [echo_app, chunked_app], ids=["content-length", "pieces"])
def test_headers_and_body_leave_in_one_write(monkeypatch: pytest.MonkeyPatch, app) -> None:
    """Terraform's provider closed connections that showed headers without their body, then
    retried creates that had succeeded (409 already exists): the body must not trail."""
    writes = _writes_to_the_wire(monkeypatch)
    with serving(app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        bodies = []
        for _ in range(2):  # and the connection stays usable
            conn.request("POST", "/", body="x")
            response = conn.getresponse()
            assert response.status == 200
            bodies.append(response.read())
        conn.close()
    responses = [w for w in writes if w.startswith(b"HTTP/1.1 ")]
    assert len(responses) == 2, writes
    for wire, body in zip(responses, bodies, strict=True):
        head, _, sent_body = wire.partition(b"\r\n\r\n")
        assert sent_body == body and body, wire
        assert f"Content-Length: {len(body)}".lower().encode() in head.lower()
    assert len(writes) == 2, writes  # nothing else: no trailing body, no chunk framing


def body_on_204_app(environ, start_response):
    """moto's API Gateway answers some deletes 204 with a JSON body."""
    if environ["REQUEST_METHOD"] == "DELETE":
        body = b'{"deleted": true}'
        start_response("204 No Content", [("Content-Length", str(len(body)))])
        return [body]
    return echo_app(environ, start_response)


def test_a_204_sends_no_body_so_the_next_answer_on_the_connection_is_whole() -> None:
    with serving(body_on_204_app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("DELETE", "/thing")
        first = conn.getresponse()
        assert (first.status, first.read()) == (204, b"")
        assert first.getheader("Content-Length") is None
        conn.request("POST", "/next", body="after")
        second = conn.getresponse()
        assert second.status == 200
        assert json.loads(second.read())["body"] == "after"
        conn.close()


def test_head_gets_the_length_without_the_body() -> None:
    with serving() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("HEAD", "/")
        head = conn.getresponse()
        assert head.status == 200 and int(head.getheader("Content-Length")) > 0
        assert head.read() == b""
        conn.request("POST", "/", body="then")
        assert json.loads(conn.getresponse().read())["body"] == "then"
        conn.close()


def wrong_length_app(environ, start_response):
    start_response("200 OK", [("Content-Length", "100")])
    return [b"short"]


def test_a_body_that_disagrees_with_its_content_length_is_a_500_not_a_hang() -> None:
    with serving(wrong_length_app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 500
        response.read()
        conn.close()


def legacy_write_app(environ, start_response):
    """PEP 3333's write() callable: part of the body before the iterable."""
    write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    write(b"abc")
    return [b"def"]


def test_an_app_that_writes_through_start_response_still_gets_its_whole_body() -> None:
    with serving(legacy_write_app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        for _ in range(2):
            conn.request("GET", "/")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"abcdef")
        conn.close()
