"""WebSocket upgrade through the proxy and `mode tcp` frontends."""
import os
import socket
import time

import websocket as ws
from clients import RawClient
from ports import free_port
from servers import Reply


def test_websocket_echo_through_tunnel(proxy, upstream):
    up = upstream("A", lambda r: Reply(websocket=True) if r.target == "/ws" else Reply(body=b"plain"))
    s = proxy(up)
    key = ws.new_key()
    with RawClient(s.port) as c:
        c.send(("GET /ws HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\n"
                "Sec-WebSocket-Version: 13\r\nOrigin: http://example.test\r\n\r\n").encode())
        resp = c.read_response()
        assert resp.status == 101, (resp.status, resp.body)
        assert resp.value("Sec-WebSocket-Accept") == ws.accept_key(key)
        assert (resp.value("Upgrade") or "").lower() == "websocket"
        assert "upgrade" in resp.tokens("Connection")
        c.send(ws.frame(1, "héllo".encode()))
        assert ws.read_frame(c._exact) == (1, "héllo".encode(), False)
        big = os.urandom(200_000)
        c.send(ws.frame(2, big))
        assert ws.read_frame(c._exact) == (2, big, False)
        c.send(ws.frame(8, b"\x03\xe8"))
        assert ws.read_frame(c._exact)[0] == 8
        c.wait_closed(3)
    [req] = up.snapshot()
    assert req.value("Upgrade") == "websocket"
    assert req.value("Sec-WebSocket-Key") == key
    assert req.value("Sec-WebSocket-Version") == "13"
    assert any("upgrade" in v.lower() for v in req.values("Connection"))
    assert req.value("X-Forwarded-For") == "127.0.0.1"


def test_failed_upgrade_stays_http(proxy, upstream):
    """An upstream that refuses the upgrade answers normally; no tunnel is made."""
    up = upstream("A", lambda r: Reply(403, "Forbidden", body=b"no ws"))
    s = proxy(up)
    with RawClient(s.port) as c:
        c.send(("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {ws.new_key()}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = c.read_response()
        assert (resp.status, resp.body) == (403, b"no ws")
        c.send(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().status == 403
    assert [r.target for r in up.snapshot()] == ["/ws", "/next"]


def tcp_config(port: int, upstream_addr: str) -> str:
    return f"""
workers 1;
error_log stderr info;
backend raw {{
    server {upstream_addr};
    timeout connect 1s;
}}
frontend t {{
    mode tcp;
    listen 127.0.0.1:{port};
    backend raw;
}}
"""


def test_tcp_mode_forwards_raw_bytes_both_ways(sluice, upstream):
    up = upstream("T", tcp=True, banner=b"220 raw banner\r\n")
    port = free_port()
    sluice(tcp_config(port, up.addr))
    payload = (b"GET / HTTP/1.1\r\nHost: not parsed\r\n\r\n" + b"\x00\xff\r\n\x01" * 1000
               + os.urandom(1 << 20))
    with RawClient(port) as c:
        assert c._exact(16) == b"220 raw banner\r\n"     # server speaks first
        c.send(payload)
        assert c._exact(len(payload)) == payload           # echoed back unchanged
        c.sock.shutdown(socket.SHUT_WR)                    # half-close reaches the upstream
        assert c.wait_closed(3) == b""
    time.sleep(0.1)
    data = [bytes(b) for b in up.received.values() if b]
    assert data == [payload], "upstream did not receive exactly the client's bytes"


def test_tcp_mode_dead_upstream_closes_client(sluice, dead_port):
    port = free_port()
    sluice(tcp_config(port, f"127.0.0.1:{dead_port()}"))
    with RawClient(port) as c:
        c.send(b"hello")
        assert c.wait_closed(3) == b""    # no HTTP error page in tcp mode
