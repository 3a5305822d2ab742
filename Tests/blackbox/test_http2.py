"""HTTP/2 to clients: negotiation (ALPN h2, cleartext prior knowledge, `http2 off`), each stream
one HTTP/1.1 exchange upstream (asserted byte for byte there), bodies both ways under flow
control, streams independent of each other, GOAWAY on reload, stats and access log."""
import hashlib
import json
import os
import re
import subprocess
import threading
import time

import pytest

from clients import RawClient
from conftest import http_config
from h2_clients import H2Client
from ports import free_port
from processes import wait_until
from servers import Reply
from stats_endpoint import frontend as stats_frontend
from stats_endpoint import stats, stats_block


def lines(req):
    return req.head.decode("latin-1").split("\r\n")


def test_stream_reaches_the_upstream_as_http11(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"hello " + r.target.encode(),
                                       headers=[("Connection", "keep-alive, X-Hop"), ("Keep-Alive", "timeout=5"),
                                                ("X-Hop", "1"), ("X-App", "yes")]))
    s = proxy(up)
    with H2Client(s.port) as c:
        sid = c.request("/p/a?q=1", authority="app.test:8080",
                        headers=[("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2"), ("x-custom", "v")])
        r = c.response(sid)
    assert (r.status, r.body) == (200, b"hello /p/a?q=1")
    assert r.header("x-app") == "yes"
    for name in ("connection", "keep-alive", "x-hop", "transfer-encoding"):
        assert r.header(name) is None, f"connection-specific {name} reached the HTTP/2 client"
    [req] = up.wait_requests(1)
    head = lines(req)
    assert head[0] == "GET /p/a?q=1 HTTP/1.1"
    assert head[1] == "Host: app.test:8080", head
    assert req.values("cookie") == ["a=1; b=2"], "cookie crumbs joined with '; '"
    assert req.value("x-custom") == "v" and req.value("accept") == "*/*"
    assert req.value("X-Forwarded-For") == "127.0.0.1"
    assert req.value("X-Forwarded-Proto") == "http"
    assert req.value("X-Forwarded-Host") == "app.test:8080"
    assert req.values("Connection") == [] and req.values("Transfer-Encoding") == []
    assert req.body == b""


def test_curl_and_nghttp(proxy, upstream):
    s = proxy(upstream("A", lambda r: Reply(body=b"ok")))
    out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                          f"http://127.0.0.1:{s.port}/curl"], capture_output=True, text=True, timeout=10).stdout
    assert out == "2 200", out
    r = subprocess.run(["nghttp", "-n", "-s", f"http://127.0.0.1:{s.port}/nghttp"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "200" in r.stdout or r.returncode == 0, (r.stdout, r.stderr)
    plain = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                            f"http://127.0.0.1:{s.port}/h1"], capture_output=True, text=True, timeout=10).stdout
    assert plain == "1.1 200", "the same port still speaks HTTP/1.1"


def test_request_bodies_with_and_without_content_length(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=hashlib.sha256(r.body).hexdigest().encode()))
    s = proxy(up)
    data = os.urandom(300_000)
    with H2Client(s.port) as c:
        a = c.request("/cl", method="POST", headers=[("content-length", str(len(data)))], body=data)
        b = c.request("/chunked", method="POST", body=data, end=False)
        c.conn.send_headers(b, [("x-checksum", "abc")], end_stream=True)
        c.flush()
        bad = c.request("/framing-trailer", method="POST", body=b"xyz", end=False)
        c.conn.send_headers(bad, [("content-length", "9")], end_stream=True)
        c.flush()
        ra, rb, rbad = c.response(a), c.response(b), c.response(bad)
    digest = hashlib.sha256(data).hexdigest().encode()
    assert ra.body == digest and rb.body == digest
    assert rbad.reset == 1, "a framing field in trailers makes the request malformed (PROTOCOL_ERROR)"
    by_target = {r.target: r for r in up.wait_requests(2)}
    assert set(by_target) == {"/cl", "/chunked"}, "the malformed request reached the upstream"
    assert by_target["/cl"].value("Content-Length") == str(len(data))
    chunked = by_target["/chunked"]
    assert chunked.value("Transfer-Encoding") == "chunked" and chunked.values("Content-Length") == []
    assert ("x-checksum", "abc") in [(n.lower(), v) for n, v in chunked.trailers]


def test_response_trailers_and_chunked_bodies_reach_the_client(proxy, upstream):
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 42\r\n\r\n")
    s = proxy(upstream("A", lambda r: Reply(raw=raw)))
    with H2Client(s.port) as c:
        r = c.response(c.request("/t"))
    assert (r.status, r.body) == (200, b"hello world")
    assert ("x-sum", "42") in r.trailers
    assert r.header("transfer-encoding") is None


def test_100_concurrent_streams_on_one_connection(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=r.target.encode() * 3, delay=0.05))
    s = proxy(up, backend_extra="    keepalive 128;")
    with H2Client(s.port) as c:
        sids = [c.request(f"/s{i}") for i in range(100)]
        c.wait(sids, timeout=20)
        for i, sid in enumerate(sids):
            r = c.responses[sid]
            assert (r.status, r.body) == (200, f"/s{i}".encode() * 3), i
    assert sorted(r.target for r in up.requests) == sorted(f"/s{i}" for i in range(100))


@pytest.mark.deadline(60)
def test_20_mib_both_ways_with_a_small_client_window(proxy, upstream):
    size = 20 << 20
    payload = os.urandom(size)
    up = upstream("A", lambda r: Reply(body=payload if r.method == "GET" else hashlib.sha256(r.body).hexdigest().encode()))
    s = proxy(up, read_timeout="20s")
    with H2Client(s.port, window=16_384, timeout=20) as c:
        sid = c.request("/up", method="POST", headers=[("content-length", str(size))], body=payload)
        assert c.response(sid, timeout=40).body == hashlib.sha256(payload).hexdigest().encode()
        down = c.request("/down")
        r = c.response(down, timeout=40)
    assert len(r.body) == size and hashlib.sha256(r.body).digest() == hashlib.sha256(payload).digest()


def test_a_slow_upstream_stream_does_not_block_the_others(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"slow", delay=2.0) if r.target == "/slow" else Reply(body=b"fast"))
    s = proxy(up)
    with H2Client(s.port) as c:
        slow = c.request("/slow")
        t0 = time.monotonic()
        fast = [c.request(f"/f{i}") for i in range(10)]
        c.wait(fast, timeout=5)
        assert time.monotonic() - t0 < 1.0
        assert all(c.responses[f].body == b"fast" for f in fast)
        assert not c.responses[slow].ended
        assert c.response(slow).body == b"slow"


def test_an_upstream_failure_ends_only_its_stream(proxy, upstream, dead_port):
    bad = upstream("B", lambda r: Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"))
    s = proxy(bad)
    with H2Client(s.port) as c:
        broken = c.request("/broken")
        r = c.response(broken)
        assert r.status == 502 and r.body == b"bad gateway\n"
        again = c.response(c.request("/again"))
        assert again.status == 502, "the connection goes on after a stream's error"


def test_goaway_on_reload_lets_streams_in_flight_finish(sluice, upstream):
    up = upstream("A", lambda r: Reply(body=b"done", delay=1.5) if r.target == "/slow" else Reply(body=b"ok"))
    port, sport = free_port(), free_port()
    s = sluice(http_config(port, [up.addr], main_extra=stats_block(sport) + "drain_timeout 5s;\n"), ports=[port, sport])
    # nghttp (nghttp2's client) keeps reading a stream after GOAWAY, as RFC 9113 §6.8 wants.
    client = subprocess.Popen(["nghttp", "-v", f"http://127.0.0.1:{port}/slow"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    up.wait_requests(1)
    s.reload()
    out, _ = client.communicate(timeout=10)
    assert client.returncode == 0, out
    goaway = re.search(r"recv GOAWAY frame.*\n.*\(last_stream_id=(\d+), error_code=(\w+)", out)
    assert goaway, out
    assert goaway.group(2) == "NO_ERROR" and int(goaway.group(1)) == 13, goaway.group(0)
    assert re.search(r"recv DATA frame <length=4, flags=0x01, stream_id=13>", out), "the stream in flight completed"
    assert out.index("recv GOAWAY") < out.index("recv DATA frame <length=4"), "GOAWAY came first, then the response"


def test_http2_off(proxy, upstream):
    s = proxy(upstream("A"), frontend_extra="    http2 off;")
    with RawClient(s.port) as c:
        c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        r = c.read_response()
    assert r.status in (400, 505)


def test_stats_and_access_log_count_http2(sluice, upstream, tmp_path):
    up = upstream("A")
    port, sport = free_port(), free_port()
    log = tmp_path / "access.json"
    s = sluice(http_config(port, [up.addr], main_extra=stats_block(sport),
                           frontend_extra=f'    access_log "{log}" json;'), ports=[port, sport])
    with H2Client(port) as c:
        c.wait([c.request(f"/x{i}") for i in range(3)])
        st = stats_frontend(stats(sport), "web")
        assert st["http2"]["connections_active"] == 1
    with RawClient(port) as h1:
        h1.send(b"GET /h1 HTTP/1.1\r\nHost: h\r\n\r\n")
        h1.read_response()
    wait_until(lambda: stats_frontend(stats(sport), "web")["http2"]["connections_active"] == 0, 3, what="h2 closed")
    st = stats_frontend(stats(sport), "web")
    assert st["http2"]["connections_total"] == 1 and st["http2"]["streams_total"] == 3
    assert st["requests_by_protocol"] == {"HTTP/1.0": 0, "HTTP/1.1": 1, "HTTP/2.0": 3}
    metrics = subprocess.run(["curl", "-s", f"http://127.0.0.1:{sport}/metrics"], capture_output=True, text=True).stdout
    assert 'sluice_frontend_requests_by_protocol_total{frontend="web",protocol="HTTP/2.0"} 3' in metrics
    assert 'sluice_frontend_http2_streams_total{frontend="web"} 3' in metrics
    records = wait_until(lambda: (lambda ls: ls if len(ls) >= 4 else None)(
        log.read_text().splitlines() if log.exists() else []), 5, what="4 log lines")
    protocols = sorted(json.loads(x)["protocol"] for x in records)
    assert protocols == ["HTTP/1.1", "HTTP/2.0", "HTTP/2.0", "HTTP/2.0"]
    assert all(json.loads(x)["bytes"] > 0 for x in records)
