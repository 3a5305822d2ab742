"""X-Forwarded-* trust rules and hop-by-hop header removal (SPEC §3), byte for byte."""
import pytest

from clients import RawClient
from messages import xf_lines
from servers import Reply

SPOOF = (b"X-Forwarded-For: 6.6.6.6\r\n"
         b"Accept: */*\r\n"
         b"x-forwarded-for: 7.7.7.7, 8.8.8.8\r\n"
         b"X-Forwarded-Port: 1\r\n"
         b"X-Forwarded-Proto: https\r\n"
         b"X-FORWARDED-HOST: evil.example\r\n"
         b"X-Other: kept\r\n")


def forwarded(s, data: bytes, source: str = "127.0.0.1"):
    """Send `data` through sluice `s` on a fresh connection from `source`: (the response, the
    one request the upstream received)."""
    with RawClient(s.port, source=source) as c:
        c.send(data)
        resp = c.read_response()
    [req] = s.upstreams[0].wait_requests(1)
    return resp, req


def test_untrusted_peer_forwarded_headers_replaced(proxy):
    s = proxy()
    resp, req = forwarded(s, b"GET /a HTTP/1.1\r\nHost: example.test\r\n" + SPOOF + b"\r\n")
    assert resp.status == 200
    assert req.raw == (b"GET /a HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n"
                       b"X-Other: kept\r\n"
                       + xf_lines("127.0.0.1", s.port, "example.test").encode() + b"\r\n")


def test_untrusted_other_loopback_address(proxy):
    s = proxy()   # trusted_proxies 127.0.0.2/32: 127.0.0.3 is not trusted
    _, req = forwarded(s, b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
                       source="127.0.0.3")
    assert req.raw == b"GET / HTTP/1.1\r\nHost: h\r\n" + xf_lines("127.0.0.3", s.port, "h").encode() + b"\r\n"


def test_trusted_peer_values_kept_and_for_appended(proxy):
    s = proxy()
    resp, req = forwarded(s, b"GET /a HTTP/1.1\r\nHost: example.test\r\n" + SPOOF + b"\r\n",
                          source="127.0.0.2")
    assert resp.status == 200
    assert req.raw == (b"GET /a HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n"
                       b"X-Other: kept\r\n"
                       b"X-Forwarded-For: 6.6.6.6, 7.7.7.7, 8.8.8.8, 127.0.0.2\r\n"
                       b"X-Forwarded-Proto: https\r\n"
                       b"X-Forwarded-Host: evil.example\r\n"
                       b"X-Forwarded-Port: 1\r\n\r\n")


def test_trusted_peer_without_forwarded_headers(proxy):
    s = proxy()
    _, req = forwarded(s, b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n", source="127.0.0.2")
    assert req.raw == (b"GET / HTTP/1.1\r\nHost: example.test\r\n"
                       + xf_lines("127.0.0.2", s.port, "example.test").encode() + b"\r\n")


def test_trusted_peer_partial_forwarded_headers(proxy):
    s = proxy()
    _, req = forwarded(s, b"GET / HTTP/1.1\r\nX-Forwarded-Proto: https\r\nHost: example.test\r\n"
                       b"X-Forwarded-For: 192.0.2.1\r\n\r\n", source="127.0.0.2")
    assert req.raw == (b"GET / HTTP/1.1\r\nHost: example.test\r\n"
                       b"X-Forwarded-For: 192.0.2.1, 127.0.0.2\r\n"
                       b"X-Forwarded-Proto: https\r\n"
                       b"X-Forwarded-Host: example.test\r\n"
                       b"X-Forwarded-Port: %d\r\n\r\n" % s.port)


def test_trust_is_per_connection_on_keepalive(proxy):
    """Two requests from the trusted peer on one connection: both appended correctly,
    nothing carried over between requests."""
    s = proxy()
    with RawClient(s.port, source="127.0.0.2") as c:
        c.send(b"GET /1 HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
        c.read_response()
        c.send(b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        c.read_response()
    r1, r2 = s.upstreams[0].wait_requests(2)
    assert r1.value("X-Forwarded-For") == "10.0.0.1, 127.0.0.2"
    assert r2.value("X-Forwarded-For") == "127.0.0.2"


def test_hop_by_hop_request_headers_removed(proxy):
    s = proxy()
    _, req = forwarded(s, b"GET /h HTTP/1.1\r\n"
                       b"Host: example.test\r\n"
                       b"Connection: keep-alive, X-Secret\r\n"
                       b"X-Secret: s\r\n"
                       b"Keep-Alive: timeout=5\r\n"
                       b"X-Keep: 1\r\n"
                       b"Proxy-Connection: keep-alive\r\n"
                       b"TE: trailers\r\n"
                       b"Upgrade: foo/2\r\n"
                       b"connection: x-second-secret\r\n"
                       b"X-Second-Secret: t\r\n"
                       b"X-Also-Keep: 2\r\n\r\n")
    assert req.raw == (b"GET /h HTTP/1.1\r\nHost: example.test\r\nX-Keep: 1\r\nX-Also-Keep: 2\r\n"
                       + xf_lines("127.0.0.1", s.port, "example.test").encode() + b"\r\n")


# A Connection header naming fields sluice must keep (or rewrite itself) removes none of them.
# (id, request, head the upstream must get without the X-Forwarded-* lines, decoded body)
PROTECTED = [
    ("protected_headers",
     b"POST /p HTTP/1.1\r\nHost: example.test\r\n"
     b"Connection: X-Forwarded-For, Content-Length, Host, X-Forwarded-Proto\r\n"
     b"Content-Length: 5\r\n\r\nhello",
     b"POST /p HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n", b"hello"),
    ("transfer_encoding",
     b"POST /c HTTP/1.1\r\nHost: example.test\r\n"
     b"Connection: Transfer-Encoding, X-Forwarded-Host\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
     b"POST /c HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n", b"hello world"),
]


@pytest.mark.parametrize("name,raw,head,body", PROTECTED, ids=[c[0] for c in PROTECTED])
def test_connection_cannot_remove(proxy, name, raw, head, body):
    s = proxy()
    resp, req = forwarded(s, raw)
    assert resp.status == 200
    assert req.head == head + xf_lines("127.0.0.1", s.port, "example.test").encode() + b"\r\n"
    assert req.body == body


def test_hop_by_hop_response_headers_removed(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"ok", headers=[
        ("Connection", "X-Up-Secret"),
        ("X-Up-Secret", "1"),
        ("Keep-Alive", "timeout=5, max=100"),
        ("Proxy-Connection", "keep-alive"),
        ("Upgrade", "h2c"),
        ("X-Up-Keep", "1"),
        ("Content-Type", "text/plain")]))
    s = proxy(up)
    with RawClient(s.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"ok")
        names = {k.lower() for k, _ in resp.headers}
        for gone in ("x-up-secret", "keep-alive", "proxy-connection", "upgrade"):
            assert gone not in names, resp.headers
        assert set(resp.tokens("Connection")) <= {"keep-alive"}, resp.headers
        assert resp.value("X-Up-Keep") == "1"
        assert resp.value("Content-Type") == "text/plain"
        # the client connection is still usable afterwards
        c.send(b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().body == b"ok"
