"""Connection handling: pipelining, keep-alive on both sides, HTTP/1.0, bodiless responses,
Expect: 100-continue, and the idempotent retry on a stale upstream connection."""
import time

from clients import RawClient, proxy_error
from servers import Reply


def echo_path(delays=None):
    delays = delays or {}
    return lambda r: Reply(body=r.target.encode(), delay=delays.get(r.target, 0))


def test_pipelined_requests_answered_in_order(proxy, upstream):
    up = upstream("A", echo_path({"/slow": 0.3}))
    s = proxy(up)
    with RawClient(s.port) as c:
        c.send(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"
               b"POST /post HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
               b"GET /third HTTP/1.1\r\nHost: h\r\n\r\n")
        bodies = [c.read_response().body for _ in range(3)]
        assert bodies == [b"/slow", b"/post", b"/third"]
        assert c.is_open()
    reqs = up.snapshot()
    assert sorted(r.target for r in reqs) == ["/post", "/slow", "/third"]
    assert [r.body for r in reqs if r.target == "/post"] == [b"abc"]


def test_keepalive_both_sides(proxy, upstream):
    up = upstream("A", echo_path())
    s = proxy(up)
    with RawClient(s.port) as c:
        for i in range(5):
            c.send(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i)
            resp = c.read_response()
            assert resp.body == b"/%d" % i
            assert "close" not in resp.tokens("Connection")
        assert c.is_open()
    reqs = up.snapshot()
    assert [r.target for r in reqs] == [f"/{i}" for i in range(5)]
    assert len({r.conn_id for r in reqs}) == 1, "upstream connection not reused"
    assert up.connection_count() == 1


def test_upstream_connection_pooled_across_clients(proxy, upstream):
    up = upstream("A", echo_path())
    s = proxy(up)
    for i in range(3):
        with RawClient(s.port) as c:
            c.send(b"GET /%d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" % i)
            assert c.read_response().body == b"/%d" % i
            c.wait_closed(2)
    reqs = up.snapshot()
    assert len(reqs) == 3
    assert len({r.conn_id for r in reqs}) == 1, "idle upstream connection not kept for reuse"
    assert all(r.value("Connection") is None for r in reqs)


def test_upstream_closing_after_response_is_handled(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"once", close=True))
    s = proxy(up)
    with RawClient(s.port) as c:
        for _ in range(3):
            c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            assert c.read_response().body == b"once"
    assert len({r.conn_id for r in up.snapshot()}) == 3


def test_http10_client(proxy):
    s = proxy()
    with RawClient(s.port) as c:
        c.send(b"GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n")
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"A")
        c.wait_closed(2)     # no keep-alive for a plain HTTP/1.0 client
    [req] = s.upstreams[0].wait_requests(1)
    assert req.head.startswith(b"GET /old HTTP/1.0\r\n")
    assert req.values("Connection") == ["close"]
    others = [(k, v) for k, v in req.headers if k.lower() != "connection"]
    assert others == [("User-Agent", "ancient"), ("X-Forwarded-For", "127.0.0.1"),
                      ("X-Forwarded-Proto", "http"), ("X-Forwarded-Port", str(s.port))]


def test_http10_client_with_host_and_body(proxy):
    s = proxy()
    with RawClient(s.port) as c:
        c.send(b"POST /old HTTP/1.0\r\nHost: example.test\r\nContent-Length: 4\r\n\r\nbody")
        resp = c.read_response()
        assert resp.status == 200
        c.wait_closed(2)
    [req] = s.upstreams[0].wait_requests(1)
    assert req.head.startswith(b"POST /old HTTP/1.0\r\n")
    assert req.body == b"body"
    assert req.value("X-Forwarded-Host") == "example.test"
    assert req.values("Connection") == ["close"]


def test_head_204_304_have_no_body(proxy, upstream):
    def handler(r):
        if r.target == "/204":
            return Reply(204, "No Content", headers=[("X-Kind", "204")])
        if r.target == "/304":
            return Reply(304, "Not Modified", headers=[("ETag", '"v1"'), ("Content-Length", "1234")])
        return Reply(body=b"x" * 1234, headers=[("X-Kind", "full")])
    up = upstream("A", handler)
    s = proxy(up)
    with RawClient(s.port) as c:
        for method, path, status in [("HEAD", "/", 200), ("GET", "/204", 204),
                                     ("GET", "/304", 304), ("HEAD", "/x", 200)]:
            c.send(f"{method} {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
            resp = c.read_response(method)
            assert resp.status == status, (method, path)
            if method == "HEAD":
                assert resp.value("Content-Length") == "1234"
            # the next response must start right away: nothing was sent as a body
            c.send(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
            after = c.read_response()
            assert (after.status, len(after.body), after.value("X-Kind")) == (200, 1234, "full")
    assert [r.method for r in up.snapshot()][0] == "HEAD"


def test_expect_100_continue(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"got " + r.body))
    s = proxy(up)
    with RawClient(s.port, timeout=3) as c:
        c.send(b"PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
               b"Content-Length: 11\r\n\r\n")
        interim = c.read_response(keep_interim=True)   # waits: no body sent yet
        assert interim.status == 100
        c.send(b"hello world")
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"got hello world")
    [req] = up.snapshot()
    assert req.body == b"hello world"


def test_expect_100_continue_body_sent_anyway(proxy, upstream):
    """A client that does not wait for 100 must not deadlock either."""
    up = upstream("A", lambda r: Reply(body=b"got " + r.body))
    s = proxy(up)
    with RawClient(s.port, timeout=3) as c:
        c.send(b"PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi")
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"got hi")
        c.send(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().status == 200


def test_unknown_expectation_417(proxy):
    s = proxy()
    proxy_error(s.port, b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: foo\r\nContent-Length: 5\r\n\r\n", 417)
    time.sleep(0.1)
    assert s.upstreams[0].total_bytes() == 0


def _stale_pool(proxy, upstream):
    """sluice in front of an upstream that answers the first request of each connection and
    hangs up without a byte on a later one (a keep-alive connection the server closed
    meanwhile); one GET has left such a connection in sluice's pool.  (upstream, sluice)"""
    seen = set()

    def answer_first_only(r):
        if r.conn_id not in seen:
            seen.add(r.conn_id)
            return Reply(body=b"fresh")
        return Reply(drop=True)

    up = upstream("A", answer_first_only)
    s = proxy(up)
    with RawClient(s.port) as c:
        c.send(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().body == b"fresh"
    return up, s


def test_idempotent_request_retried_on_stale_connection(proxy, upstream):
    up, s = _stale_pool(proxy, upstream)
    with RawClient(s.port) as c:
        c.send(b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"fresh")
    reqs = up.snapshot()
    assert [r.target for r in reqs] == ["/1", "/2", "/2"]
    assert reqs[1].conn_id == reqs[0].conn_id and reqs[2].conn_id != reqs[0].conn_id


def test_non_idempotent_request_never_retried(proxy, upstream):
    up, s = _stale_pool(proxy, upstream)
    with RawClient(s.port) as c:
        c.send(b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
        resp = c.read_response()
    posts = [r for r in up.snapshot() if r.method == "POST"]
    assert len(posts) == 1, "a POST that reached the upstream was sent again"
    if posts[0].conn_id == up.snapshot()[0].conn_id:
        assert resp.status == 502          # went out on the stale connection: not retried
    else:
        assert resp.status == 200          # sluice chose a fresh connection for the POST
