"""The WSGI plumbing the gaps share: a body read and put back, parsed once, replaced whole."""

from __future__ import annotations

import io

from slsops.local import wsgi_capture


def environ_with(body: bytes) -> dict:
    return {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}


def test_the_body_is_parsed_once_and_still_there_for_moto():
    environ = environ_with(b'{"TableName": "logs"}')
    first = wsgi_capture.json_body(environ)
    assert first == {"TableName": "logs"}
    assert wsgi_capture.json_body(environ) is first  # the second gap gets the same parse
    assert environ["wsgi.input"].read() == b'{"TableName": "logs"}'  # moto reads it whole


def test_a_body_that_is_not_json_is_none_and_left_for_moto():
    environ = environ_with(b"{not json")
    assert wsgi_capture.json_body(environ) is None
    assert wsgi_capture.json_body(environ) is None
    assert environ["wsgi.input"].read() == b"{not json"
    assert wsgi_capture.json_body(environ_with(b"")) == {}


def test_another_body_drops_the_first_bodys_parse():
    """A gap that sends moto a changed body (the faults' withheld batch writes): the gaps
    after it parse the body moto gets, not the one the client sent."""
    environ = environ_with(b'{"RequestItems": {"logs": [1, 2]}}')
    wsgi_capture.json_body(environ)
    changed = wsgi_capture.with_body(environ, b'{"RequestItems": {"logs": [1]}}')
    assert wsgi_capture.json_body(changed) == {"RequestItems": {"logs": [1]}}
    assert changed["CONTENT_LENGTH"] == str(len(b'{"RequestItems": {"logs": [1]}}'))
    assert wsgi_capture.json_body(environ) == {"RequestItems": {"logs": [1, 2]}}
