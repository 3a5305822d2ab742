"""Framing and trust normalised (what reaches the upstream and the client, byte for byte):
field names with `_`, `Forwarded`, canonical Content-Length and chunk sizes, trailers naming
framing or routing fields, 1xx/204 without framing fields, bytes after a complete response."""
import pytest

from clients import RawClient
from servers import Reply


def through(s, data: bytes, source: str = "127.0.0.1"):
    """(the response, the one request the upstream received)."""
    with RawClient(s.port, source=source) as c:
        c.send(data)
        resp = c.read_response()
    [req] = s.upstreams[0].wait_requests(1)
    return resp, req


def names(req):
    return [n for n, _ in req.headers]


def test_field_names_with_underscores_are_dropped(proxy):
    s = proxy()
    _, req = through(s, b"GET / HTTP/1.1\r\nHost: h\r\nX_Custom: 1\r\nX-Custom: 2\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n")
    assert "X_Custom" not in names(req) and "X_Forwarded_For" not in names(req)
    assert ("X-Custom", "2") in req.headers


def test_underscores_kept_when_allowed_except_fields_the_proxy_sets(proxy):
    s = proxy(frontend_extra="    underscores_in_headers on;")
    _, req = through(s, b"GET / HTTP/1.1\r\nHost: h\r\nX_Custom: 1\r\nX_Forwarded_For: 6.6.6.6\r\n"
                        b"Content_Length: 5\r\nTransfer_Encoding: chunked\r\n\r\n")
    assert ("X_Custom", "1") in req.headers
    for n in ("X_Forwarded_For", "Content_Length", "Transfer_Encoding"):
        assert n not in names(req), n
    assert req.value("X-Forwarded-For") == "127.0.0.1"


def test_forwarded_follows_the_trust_rule(proxy):
    s = proxy()
    _, req = through(s, b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=6.6.6.6;proto=https\r\n\r\n")
    assert "Forwarded" not in names(req), "an untrusted peer's Forwarded is discarded"
    s = proxy()
    _, req = through(s, b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=10.1.1.1\r\n\r\n", source="127.0.0.2")
    assert ("Forwarded", "for=10.1.1.1") in req.headers, "a trusted peer's is kept"


@pytest.mark.parametrize("value", [b"010", b"10, 10", b"0010"])
def test_content_length_goes_upstream_canonical(proxy, value):
    s = proxy()
    _, req = through(s, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + value + b"\r\n\r\n0123456789")
    assert [v for n, v in req.headers if n.lower() == "content-length"] == ["10"]
    assert req.raw_body == b"0123456789"


def test_chunk_sizes_go_upstream_canonical_and_framing_trailers_are_dropped(proxy):
    s = proxy()
    body = (b"0005;ext=\"x y\"\r\nhello\r\n000A\r\n0123456789\r\n00\r\n"
            b"X-Checksum: abc\r\nContent-Length: 15\r\nHost: evil\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")
    resp, req = through(s, b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert resp.status == 200
    assert req.raw_body == b"5\r\nhello\r\na\r\n0123456789\r\n0\r\nX-Checksum: abc\r\n\r\n"
    assert req.body == b"hello0123456789"


def test_response_chunks_reach_the_client_canonical(proxy, upstream):
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"0003;x=1\r\nabc\r\n0000\r\nTrailer-Ok: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
    s = proxy(upstream("A", lambda r: Reply(raw=raw)))
    with RawClient(s.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        c.read_head()
        wire = c._exact(len(b"3\r\nabc\r\n0\r\nTrailer-Ok: 1\r\n\r\n"))
    assert wire == b"3\r\nabc\r\n0\r\nTrailer-Ok: 1\r\n\r\n"


@pytest.mark.parametrize("status", [204, 103])
def test_1xx_and_204_lose_framing_fields(proxy, upstream, status):
    interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nContent-Length: 5\r\n\r\n"
    final204 = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n"
    raw = (interim + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") if status == 103 else final204
    s = proxy(upstream("A", lambda r: Reply(raw=raw)))
    with RawClient(s.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        resp = c.read_response()
        if status == 204:
            assert resp.status == 204 and resp.body == b""
            assert [n for n, _ in resp.headers if n.lower() in ("content-length", "transfer-encoding")] == []
            assert ("X-A", "1") in resp.headers
        else:
            (hint,) = resp.interim
            assert hint.status == 103
            assert [n for n, _ in hint.headers if n.lower() == "content-length"] == []
            assert (resp.status, resp.body) == (200, b"ok")
        c.send(b"GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().status in (200, 204), "the connection goes on"


def test_bytes_after_a_complete_response_never_reach_a_later_request(proxy, upstream):
    smuggled = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled!"
    up = upstream("A", lambda r: Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + smuggled)
                  if r.target == "/first" else Reply(body=b"second"))
    s = proxy(up)
    with RawClient(s.port) as c:
        c.send(b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().body == b"ok"
        c.send(b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().body == b"second"
    assert [r.target for r in up.requests] == ["/first", "/second"]
    assert len({r.conn_id for r in up.requests}) == 2, "the tainted upstream connection was not reused"
