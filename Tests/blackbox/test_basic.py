"""Plain forwarding with real clients, the exact forwarded bytes, and routing."""
import json
import subprocess

import requests

from clients import RawClient, get
from messages import xf_lines
from ports import free_port
from servers import Reply


def test_curl_get(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"hello from A\n",
                                       headers=[("Content-Type", "text/plain"), ("X-Up", "1")]))
    s = proxy(up)
    out = subprocess.run(["curl", "-s", "-i", "--noproxy", "*", "--max-time", "5",
                          f"http://127.0.0.1:{s.port}/path/file.txt?q=1"],
                         capture_output=True, timeout=10)
    assert out.returncode == 0, out.stderr
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"\r\nX-Up: 1" in head
    assert body == b"hello from A\n"
    [req] = up.snapshot()
    assert (req.method, req.target, req.version) == ("GET", "/path/file.txt?q=1", "HTTP/1.1")
    assert req.value("Host") == f"127.0.0.1:{s.port}"
    assert req.value("User-Agent").startswith("curl/")


def test_requests_get_and_post(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"%s %s %s" % (r.method.encode(), r.target.encode(),
                                                           r.body)))
    s = proxy(up)
    with requests.Session() as sess:
        sess.trust_env = False
        r1 = sess.get(f"http://127.0.0.1:{s.port}/get?a=b", timeout=5)
        r2 = sess.post(f"http://127.0.0.1:{s.port}/post", json={"k": "v"}, timeout=5)
    assert (r1.status_code, r1.content) == (200, b"GET /get?a=b ")
    assert (r2.status_code, r2.content) == (200, b'POST /post {"k": "v"}')
    reqs = up.snapshot()
    assert [r.method for r in reqs] == ["GET", "POST"]
    assert reqs[1].value("Content-Type") == "application/json"
    assert reqs[1].value("Content-Length") == str(len(b'{"k": "v"}'))


def test_exact_upstream_bytes_simple_get(proxy):
    s = proxy()
    sent = (b"GET /exact/path?x=1&y=%20 HTTP/1.1\r\n"
            b"Host: example.test\r\n"
            b"user-agent: blackbox/1\r\n"
            b"x-CuStOm-NaMe: Some Value\r\n"
            b"Accept: */*\r\n"
            b"Cookie: a=1\r\n"
            b"Cookie: b=2\r\n"
            b"\r\n")
    with RawClient(s.port) as c:
        c.send(sent)
        resp = c.read_response()
    assert (resp.status, resp.body) == (200, b"A")
    [req] = s.upstreams[0].wait_requests(1)
    expected = sent[:-2] + xf_lines("127.0.0.1", s.port, "example.test").encode() + b"\r\n"
    assert req.raw == expected


def test_exact_upstream_bytes_post_with_body(proxy):
    s = proxy()
    body = b'{"hello": "world"}\r\n\x00\xff'
    sent = (b"POST /submit HTTP/1.1\r\nHost: example.test:8080\r\nContent-Type: x/y\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    with RawClient(s.port) as c:
        c.send(sent + body)
        assert c.read_response().status == 200
    [req] = s.upstreams[0].wait_requests(1)
    assert req.head == sent[:-2] + xf_lines("127.0.0.1", s.port, "example.test:8080").encode() + b"\r\n"
    assert req.raw_body == body


def test_response_passed_through_unchanged(proxy, upstream):
    up = upstream("A", lambda r: Reply(201, "Created Thing", body=b"made",
                                       headers=[("Location", "/things/1"),
                                                ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                                ("x-lower-case", "Kept")]))
    s = proxy(up)
    resp = get(s.port, "/things", method="POST", body=b"x")
    assert (resp.status, resp.reason, resp.body) == (201, "Created Thing", b"made")
    assert resp.values("Set-Cookie") == ["a=1", "b=2"]
    assert resp.value("Location") == "/things/1"
    assert ("x-lower-case", "Kept") in resp.headers


def test_routes_by_host_and_path(sluice, upstream):
    app, api, static = upstream("app"), upstream("api"), upstream("static")
    port = free_port()
    s = sluice(f"""
workers 1;
error_log stderr info;
backend app {{ server {app.addr}; timeout connect 1s; timeout read 3s; }}
backend api {{ server {api.addr}; timeout connect 1s; timeout read 3s; }}
backend static {{ server {static.addr}; timeout connect 1s; timeout read 3s; }}
frontend web {{
    listen 127.0.0.1:{port};
    route host=api.example backend=api;
    route path=/static/ backend=static;
    backend app;
}}
""")
    cases = [
        ("api.example", "/anything", b"api"),
        ("api.example", "/static/x.css", b"api"),      # first match wins
        ("www.example", "/static/x.css", b"static"),
        ("www.example", "/static/", b"static"),
        ("www.example", "/staticfoo", b"app"),          # a prefix of the path, not of the string
        ("www.example", "/static", b"app"),
        ("www.example", "/", b"app"),
        ("api.example.org", "/", b"app"),
    ]
    for host, path, who in cases:
        resp = get(s.port, path, host=host)
        assert (resp.status, resp.body) == (200, who), (host, path)
    assert [r.target for r in api.snapshot()] == ["/anything", "/static/x.css"]
    assert [r.target for r in static.snapshot()] == ["/static/x.css", "/static/"]
    assert len(app.snapshot()) == 4


def test_route_host_ignores_port_and_case(sluice, upstream):
    app, api = upstream("app"), upstream("api")
    port = free_port()
    s = sluice(f"""
workers 1;
error_log stderr info;
backend app {{ server {app.addr}; }}
backend api {{ server {api.addr}; }}
frontend web {{
    listen 127.0.0.1:{port};
    route host=api.example backend=api;
    backend app;
}}
""")
    assert get(s.port, "/", host=f"api.example:{port}").body == b"api"
    assert get(s.port, "/", host="API.Example").body == b"api"


def test_werkzeug_app_sees_real_client(proxy, werkzeug_app):
    s = proxy(servers=[werkzeug_app.addr])
    resp = get(s.port, "/who", host="app.example", source="127.0.0.3",
               headers=[("X-Forwarded-For", "198.51.100.66"), ("X-Forwarded-Proto", "https")])
    assert resp.status == 200
    info = json.loads(resp.body)
    assert info["remote_addr"] == "127.0.0.3"        # spoofed value discarded (untrusted)
    assert info["scheme"] == "http"
    assert info["host"] == f"app.example:{s.port}"
    assert info["x_forwarded_for"] == "127.0.0.3"


def test_werkzeug_behind_trusted_peer(proxy, werkzeug_app):
    s = proxy(servers=[werkzeug_app.addr])
    resp = get(s.port, "/who", host="app.example", source="127.0.0.2",
               headers=[("X-Forwarded-For", "198.51.100.66"), ("X-Forwarded-Proto", "https")])
    info = json.loads(resp.body)
    assert info["x_forwarded_for"] == "198.51.100.66, 127.0.0.2"
    assert info["remote_addr"] == "127.0.0.2"        # ProxyFix x_for=1 trusts one hop
    assert info["scheme"] == "https"                 # a trusted peer's proto is kept


def test_werkzeug_via_requests(proxy, werkzeug_app):
    s = proxy(servers=[werkzeug_app.addr])
    with requests.Session() as sess:
        sess.trust_env = False
        r = sess.post(f"http://127.0.0.1:{s.port}/who", data=b"abc", timeout=5)
    info = r.json()
    assert info["remote_addr"] == "127.0.0.1"
    assert info["scheme"] == "http"
    assert info["host"] == f"127.0.0.1:{s.port}"
    assert info["body_sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
