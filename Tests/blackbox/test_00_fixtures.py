"""Self-tests of the harness (no sluice involved): the upstreams, the raw client and the
WebSocket helpers must be right before they can judge the proxy."""
import hashlib
import json
import socket
import time

import pytest
import requests

import websocket as ws
from clients import RawClient, get
from ports import port_accepts
from servers import Reply


def test_upstream_records_exact_bytes_and_keeps_alive(upstream):
    up = upstream("A")
    with RawClient(up.port) as c:
        r1 = b"GET /x?y=1 HTTP/1.1\r\nHost: h\r\nx-CaSe: V\r\n\r\n"
        r2 = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        c.send(r1 + r2)                 # pipelined
        assert c.read_response().body == b"A"
        assert c.read_response().body == b"A"
    reqs = up.wait_requests(2)
    assert [r.raw for r in reqs] == [r1, r2]
    assert reqs[0].conn_id == reqs[1].conn_id
    assert reqs[0].headers == [("Host", "h"), ("x-CaSe", "V")]
    assert reqs[1].body == b"hello"


def test_upstream_chunked_request_and_response(upstream):
    data = bytes(range(256)) * 1000
    up = upstream("A", lambda r: Reply(body=data, chunked=True, chunk_size=1000))
    with RawClient(up.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n")
        resp = c.read_response()
    assert resp.value("Transfer-Encoding") == "chunked"
    assert resp.body == data
    req = up.wait_requests(1)[0]
    assert req.body == b"abcde"
    assert req.trailers == [("X-T", "1")]
    assert req.raw_body == b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n"


def test_upstream_head_204_304_and_close(upstream):
    def handler(r):
        if r.target == "/204":
            return Reply(204, "No Content")
        if r.target == "/304":
            return Reply(304, "Not Modified", headers=[("Content-Length", "1234")])
        if r.target == "/close":
            return Reply(body=b"bye", no_length=True)
        return Reply(body=b"x" * 1234)
    up = upstream("A", handler)
    with RawClient(up.port) as c:
        c.send(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /204 HTTP/1.1\r\nHost: h\r\n\r\n"
               b"GET /304 HTTP/1.1\r\nHost: h\r\n\r\nGET /close HTTP/1.1\r\nHost: h\r\n\r\n")
        h = c.read_response("HEAD")
        assert (h.status, h.value("Content-Length"), h.body) == (200, "1234", b"")
        assert c.read_response().status == 204
        assert c.read_response().status == 304
        last = c.read_response()
        assert (last.status, last.body, last.values("Content-Length")) == (200, b"bye", [])


def test_upstream_expect_continue_silent_and_delay(upstream):
    def handler(r):
        if r.target == "/silent":
            return Reply(silent=True)
        return Reply(body=b"late", delay=0.3)
    up = upstream("A", handler)
    with RawClient(up.port) as c:
        c.send(b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        interim = c.read_response(keep_interim=True)
        assert interim.status == 100
        t = time.monotonic()
        c.send(b"ok")
        assert c.read_response().body == b"late"
        assert time.monotonic() - t >= 0.29
    with RawClient(up.port, timeout=0.5) as c:
        c.send(b"GET /silent HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(socket.timeout):
            c.read_response()


def test_upstream_websocket_echo(upstream):
    up = upstream("A", lambda r: Reply(websocket=True))
    key = ws.new_key()
    with RawClient(up.port) as c:
        c.send(("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = c.read_response()
        assert resp.status == 101
        assert resp.value("Sec-WebSocket-Accept") == ws.accept_key(key)
        c.send(ws.frame(1, b"hello"))
        assert ws.read_frame(c._exact) == (1, b"hello", False)
        big = bytes(70000)
        c.send(ws.frame(2, big))
        assert ws.read_frame(c._exact) == (2, big, False)


def test_accept_key_rfc6455_example():
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_upstream_websocket_requires_connection_upgrade(upstream):
    up = upstream("A", lambda r: Reply(websocket=True))
    with RawClient(up.port) as c:
        c.send(f"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: "
               f"{ws.new_key()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        assert c.read_response().status == 400


def test_tcp_echo_upstream(upstream):
    up = upstream("T", tcp=True, banner=b"BANNER\r\n")
    with RawClient(up.port) as c:
        assert c._exact(8) == b"BANNER\r\n"
        c.send(b"\x00\xffraw")
        assert c._exact(5) == b"\x00\xffraw"
    time.sleep(0.05)
    assert list(up.received.values()) == [bytearray(b"\x00\xffraw")]


def test_werkzeug_proxyfix(werkzeug_app):
    r = requests.get(f"http://127.0.0.1:{werkzeug_app.port}/who", timeout=5,
                     headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
                              "X-Forwarded-Host": "app.example", "X-Forwarded-Port": "8443"})
    info = r.json()
    assert info["remote_addr"] == "203.0.113.9"
    assert info["scheme"] == "https"
    assert info["host"] == "app.example:8443"
    direct = get(werkzeug_app.port, "/who")
    assert json.loads(direct.body)["remote_addr"] == "127.0.0.1"


def test_dead_port_refuses(dead_port):
    p = dead_port()
    t = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", p), timeout=2)
    assert time.monotonic() - t < 1
    assert not port_accepts(p)


def test_source_address_binding(upstream):
    up = upstream("A")
    with RawClient(up.port, source="127.0.0.2") as c:
        assert c.sock.getsockname()[0] == "127.0.0.2"
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().body == b"A"


def test_raw_client_detects_close(upstream):
    up = upstream("A", lambda r: Reply(body=b"x", close=True))
    with RawClient(up.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().value("Connection") == "close"
        assert c.wait_closed(2) == b""


def test_large_body_hash_roundtrip(upstream):
    data = hashlib.sha256(b"seed").digest() * (1 << 16)     # 2 MiB
    up = upstream("A", lambda r: Reply(body=hashlib.sha256(r.body).hexdigest().encode()))
    r = requests.post(f"http://127.0.0.1:{up.port}/", data=iter([data[:1000], data[1000:]]),
                      timeout=10)
    assert r.text == hashlib.sha256(data).hexdigest()
    assert up.snapshot()[0].value("Transfer-Encoding") == "chunked"
