"""SPEC §7 runtime control on the stats listener (`stats { listen; allow; admin on; }`).

`POST /servers/BACKEND/ADDRESS/state` with `drain` (no new requests; in-flight ones finish),
`disable` (down) or `enable`, and `POST /servers/BACKEND/ADDRESS/weight` with `N`, answered in
JSON, without a reload: checked by what reaches the upstreams, by /stats (`state`, `weight`,
`admin_state`, `admin_changed` with by/at/action), /metrics
(`sluice_backend_server_admin_state{...,state=...}`, `sluice_backend_server_weight`) and the
HTML page.  A change survives a SIGKILLed worker (the replacement honours it) and a SIGHUP
reload that keeps the server's address.  Refusals: 403 without `admin on` and from a peer
outside `allow`, 404 for an unknown backend, server or control, 405 for other methods, 400 with
a message for bad bodies; none of them changes anything.  An IPv6 server is named by its
percent-encoded address.
"""
import json
import os
import re
import signal
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clients import RawClient, assert_proxy_error, get
from conftest import http_config
from messages import request_head
from ports import free_port
from processes import wait_children, wait_until
from servers import Reply
from stats_endpoint import metrics_samples, stats, stats_get
from stats_endpoint import server as stats_server


def stats_conf(port: int, allow=("127.0.0.0/8",), admin=True) -> str:
    lines = [f"    listen 127.0.0.1:{port};"] + [f"    allow {a};" for a in allow]
    if admin:
        lines.append("    admin on;")
    return "stats {\n" + "\n".join(lines) + "\n}\n"


def conf(port, sp, servers, *, allow=("127.0.0.0/8",), admin=True, **kw):
    return http_config(port, servers, main_extra=stats_conf(sp, allow, admin) + "drain_timeout 5s;\n", **kw)


def start(sluice, servers, *, workers=2, allow=("127.0.0.0/8",), admin=True, **kw):
    port, sp = free_port(), free_port()
    text = conf(port, sp, servers, allow=allow, admin=admin, workers=workers, **kw)
    s = sluice(text, ports=[port, sp])
    s.stats_port = sp
    s.text = text
    s.kids = wait_children(s.pid, workers, timeout=3)
    return s


def control(s, path: str, body: bytes = b"", method: str = "POST", source: str = "127.0.0.1"):
    """One request on the stats listener; the response."""
    with RawClient(s.stats_port, source=source) as c:
        c.send(request_head(method, path, f"127.0.0.1:{s.stats_port}", body=body, close=True))
        return c.read_response(method)


def json_reply(r) -> dict:
    assert (r.value("Content-Type") or "").split(";")[0].strip() == "application/json", r.headers
    return json.loads(r.body)


def post(s, address: str, what: str, body: str, backend: str = "app") -> dict:
    """A control request that must succeed: its JSON reply."""
    r = control(s, f"/servers/{backend}/{address}/{what}", body.encode())
    assert r.status == 200, (r.status, r.body)
    doc = json_reply(r)
    assert isinstance(doc, dict), doc
    return doc


def srv(s, address: str) -> dict:
    return stats_server(stats(s.stats_port), "app", address)


def metric(s, name: str, **labels) -> float:
    text = stats_get(s.stats_port, "/metrics").body.decode()
    vals = [v for n, lab, v in metrics_samples(text)
            if n == name and all(lab.get(k) == v2 for k, v2 in labels.items())]
    assert len(vals) == 1, f"{name}{labels}: {vals}"
    return vals[0]


def html_row(s, address: str) -> str:
    """The HTML page's table row of server `address`."""
    page = stats_get(s.stats_port, "/").body.decode()
    i = page.find(address)
    assert i >= 0, f"{address} not on the HTML page"
    start = page.rfind("<tr", 0, i)
    end = page.find("</tr>", i)
    assert start >= 0 and end > i, page[i - 200:i + 500]
    return page[start:end]


def spread(s, n: int, prefix: str, keepalive: bool = False) -> Counter:
    """`n` GETs (fresh connections, or one keep-alive connection); {body: count}, all 200."""
    out = Counter()
    if keepalive:
        with RawClient(s.port) as c:
            for i in range(n):
                c.send(request_head("GET", f"{prefix}{i}", "example.test"))
                r = c.read_response()
                assert r.status == 200, (i, r.status, r.body)
                out[r.body.decode()] += 1
    else:
        for i in range(n):
            r = get(s.port, f"{prefix}{i}")
            assert r.status == 200, (i, r.status, r.body)
            out[r.body.decode()] += 1
    return out


def arrived(u, prefix: str) -> int:
    return sum(1 for r in u.snapshot() if r.target.startswith(prefix))


# ----------------------------------------------------------------------------- drain

@pytest.mark.deadline(30)
def test_drain_stops_new_requests_and_lets_in_flight_ones_finish(sluice, upstream):
    a = upstream("A", lambda r: Reply(body=b"A-slow", delay=2.0) if r.target.startswith("/slow") else Reply(body=b"A"))
    b = upstream("B")
    s = start(sluice, [a.addr, b.addr], read_timeout="10s")

    # One request held at A.
    results = []
    threads = []
    for i in range(6):
        t = threading.Thread(target=lambda i=i: results.append(get(s.port, f"/slow/{i}")), daemon=True)
        t.start()
        threads.append(t)
        wait_until(lambda: arrived(a, "/slow/") + len(results) >= i + 1, 3, what=f"/slow/{i} somewhere")
        if arrived(a, "/slow/"):
            break
    assert arrived(a, "/slow/") == 1, "no request could be held at A"
    wait_until(lambda: srv(s, a.addr)["active_requests"] == 1, 2, what="A's request in flight in /stats")

    before = time.time()
    doc = post(s, a.addr, "state", "drain")
    after = time.time()
    assert doc.get("admin_state") == "drain", doc
    sv = srv(s, a.addr)
    assert sv["state"] == "draining" and sv["admin_state"] == "drain", sv
    ch = sv["admin_changed"]
    assert isinstance(ch, dict) and ch.get("by") == "127.0.0.1" and ch.get("action") == "drain", ch
    assert before - 1 <= ch["at"] <= after + 1, (ch, before, after)

    # New requests, fresh or keep-alive, all go to B while A still works on its request.
    assert spread(s, 20, "/new/") == {"B": 20}
    assert spread(s, 10, "/ka/", keepalive=True) == {"B": 10}
    assert arrived(a, "/new/") == 0 and arrived(a, "/ka/") == 0
    assert arrived(b, "/new/") == 20 and arrived(b, "/ka/") == 10

    # The in-flight request finishes normally at A.
    for t in threads:
        t.join(5)
    slow_a = [r for r in results if r.body == b"A-slow"]
    assert len(slow_a) == 1 and slow_a[0].status == 200, [(r.status, r.body) for r in results]
    assert all(r.status == 200 for r in results)
    sv = srv(s, a.addr)
    assert sv["state"] == "draining" and sv["active_requests"] == 0, sv
    assert spread(s, 6, "/later/") == {"B": 6}

    # enable: A takes requests again
    assert post(s, a.addr, "state", "enable")["admin_state"] == "enable"
    assert srv(s, a.addr)["state"] == "up"
    assert spread(s, 10, "/again/", keepalive=True)["A"] >= 3
    assert arrived(a, "/again/") >= 3


# --------------------------------------------------------------------- disable / enable

def test_disable_takes_a_server_down_and_enable_brings_it_back(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr])
    assert set(spread(s, 10, "/warm/")) == {"A", "B"}

    doc = post(s, a.addr, "state", "disable")
    assert doc.get("admin_state") == "disable", doc
    sv = srv(s, a.addr)
    assert sv["state"] == "down" and sv["admin_state"] == "disable", sv
    assert sv["admin_changed"]["action"] == "disable" and sv["admin_changed"]["by"] == "127.0.0.1", sv
    assert metric(s, "sluice_backend_server_up", backend="app", server=a.addr) == 0
    assert spread(s, 20, "/off/") == {"B": 20}
    assert arrived(a, "/off/") == 0 and arrived(b, "/off/") == 20

    # Both disabled: 503 at once, nothing reaches an upstream.
    post(s, b.addr, "state", "disable")
    r = get(s.port, "/none")
    assert_proxy_error(r, 503)
    assert arrived(a, "/none") == 0 and arrived(b, "/none") == 0

    post(s, b.addr, "state", "enable")
    doc = post(s, a.addr, "state", "enable")
    assert doc.get("admin_state") == "enable", doc
    sv = srv(s, a.addr)
    assert sv["state"] == "up" and sv["admin_state"] == "enable", sv
    assert sv["admin_changed"]["action"] == "enable", sv
    assert metric(s, "sluice_backend_server_up", backend="app", server=a.addr) == 1
    counts = spread(s, 20, "/on/", keepalive=True)
    assert counts == {"A": 10, "B": 10}, counts
    assert arrived(a, "/on/") == 10


# ------------------------------------------------------------------------------ weight

def test_weight_changes_the_distribution(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr], workers=1)
    assert spread(s, 20, "/w1/", keepalive=True) == {"A": 10, "B": 10}

    doc = post(s, a.addr, "weight", "3")
    assert doc.get("weight") == 3, doc
    sv = srv(s, a.addr)
    assert sv["weight"] == 3 and sv["admin_changed"]["action"].startswith("weight"), sv
    assert srv(s, b.addr)["weight"] == 1
    assert metric(s, "sluice_backend_server_weight", backend="app", server=a.addr) == 3
    counts = spread(s, 80, "/w3/", keepalive=True)
    assert 57 <= counts["A"] <= 63 and counts["A"] + counts["B"] == 80, counts
    assert arrived(a, "/w3/") == counts["A"] and arrived(b, "/w3/") == counts["B"]

    post(s, a.addr, "weight", "1")
    post(s, b.addr, "weight", "4")
    assert metric(s, "sluice_backend_server_weight", backend="app", server=b.addr) == 4
    counts = spread(s, 100, "/w4/", keepalive=True)
    assert 17 <= counts["A"] <= 23, counts
    assert arrived(b, "/w4/") == counts["B"]


# ------------------------------------------------------ surviving workers and reloads

@pytest.mark.deadline(40)
def test_changes_survive_a_killed_worker_and_a_reload(sluice, upstream):
    a, b, c = upstream("A"), upstream("B"), upstream("C")
    s = start(sluice, [a.addr, b.addr, c.addr], workers=2)
    post(s, a.addr, "state", "disable")
    post(s, b.addr, "state", "drain")
    post(s, c.addr, "weight", "7")

    def check(tag):
        sa, sb, sc = srv(s, a.addr), srv(s, b.addr), srv(s, c.addr)
        assert (sa["state"], sa["admin_state"]) == ("down", "disable"), (tag, sa)
        assert (sb["state"], sb["admin_state"]) == ("draining", "drain"), (tag, sb)
        assert sc["weight"] == 7 and sc["admin_state"] == "enable", (tag, sc)
        assert sa["admin_changed"]["action"] == "disable" and sb["admin_changed"]["action"] == "drain", tag

    check("before")
    assert spread(s, 10, "/before/") == {"C": 10}

    # SIGKILL one worker: its replacement reads the same shared state.
    victim = s.kids[0]
    os.kill(victim, signal.SIGKILL)
    kids = wait_children(s.pid, 2, timeout=2, exclude=[victim])
    new = sorted(set(kids) - set(s.kids))
    assert len(new) == 1, (s.kids, kids)

    def replacement_served():
        spread(s, 10, f"/kill-{time.monotonic_ns()}/")
        workers = {w["pid"]: w["requests_total"] for w in stats(s.stats_port)["workers"]}
        return workers.get(new[0], 0) >= 5
    wait_until(replacement_served, 10, interval=0, what="the replacement worker serving requests")
    assert arrived(a, "/kill-") == 0 and arrived(b, "/kill-") == 0, "a disabled/drained server got requests"
    assert arrived(c, "/kill-") >= 10
    check("after the kill")

    # SIGHUP with the same servers: the new generation keeps the operator's changes.
    s.reload(s.text)
    wait_until(lambda: stats(s.stats_port)["reloads"]["succeeded"] == 1, 5, what="the reload")
    wait_children(s.pid, 2, timeout=5, exclude=kids)
    check("after the reload")
    assert spread(s, 20, "/reloaded/") == {"C": 20}
    assert arrived(a, "/reloaded/") == 0 and arrived(b, "/reloaded/") == 0
    assert metric(s, "sluice_backend_server_weight", backend="app", server=c.addr) == 7

    # and they can still be undone
    post(s, a.addr, "state", "enable")
    post(s, b.addr, "state", "enable")
    assert set(spread(s, 30, "/undone/", keepalive=True)) == {"A", "B", "C"}


# -------------------------------------------------------------- /metrics and HTML page

def test_visible_in_metrics_and_html(sluice, upstream):
    a, b, c = upstream("A"), upstream("B"), upstream("C")
    s = start(sluice, [a.addr, b.addr, c.addr], workers=1)
    for st in ("enable", "drain", "disable"):
        assert metric(s, "sluice_backend_server_admin_state", backend="app", server=a.addr, state=st) == \
            (1 if st == "enable" else 0)
    post(s, a.addr, "state", "drain")
    post(s, b.addr, "state", "disable")
    post(s, c.addr, "weight", "5")
    expect = {a.addr: "drain", b.addr: "disable", c.addr: "enable"}
    for addr, want in expect.items():
        for st in ("enable", "drain", "disable"):
            v = metric(s, "sluice_backend_server_admin_state", backend="app", server=addr, state=st)
            assert v == (1 if st == want else 0), (addr, st, v)
    assert metric(s, "sluice_backend_server_weight", backend="app", server=c.addr) == 5
    assert metric(s, "sluice_backend_server_weight", backend="app", server=a.addr) == 1
    assert metric(s, "sluice_backend_server_up", backend="app", server=a.addr) == 0
    assert metric(s, "sluice_backend_server_up", backend="app", server=b.addr) == 0
    assert metric(s, "sluice_backend_server_up", backend="app", server=c.addr) == 1

    row_a, row_b, row_c = html_row(s, a.addr), html_row(s, b.addr), html_row(s, c.addr)
    assert "draining" in row_a and "drain" in row_a and "127.0.0.1" in row_a, row_a
    assert "down" in row_b and "disable" in row_b and "127.0.0.1" in row_b, row_b
    assert re.search(r">\s*5\s*<", row_c), row_c
    assert spread(s, 10, "/m/") == {"C": 10}
    assert arrived(c, "/m/") == 10


# ---------------------------------------------------------------------------- refusals

def assert_unchanged(s, ups, tag=""):
    for u in ups:
        sv = srv(s, u.addr)
        assert (sv["state"], sv["admin_state"], sv["weight"], sv["admin_changed"]) == \
            ("up", "enable", 1, None), (tag, sv)


def test_403_without_admin_on(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr], admin=False)
    for what, body in (("state", b"drain"), ("state", b"disable"), ("weight", b"5")):
        r = control(s, f"/servers/app/{a.addr}/{what}", body)
        assert r.status == 403, (what, r.status, r.body)
    r = control(s, "/servers/app/127.0.0.1:1/state", b"drain")       # unknown server: still 403
    assert r.status == 403, (r.status, r.body)
    assert_unchanged(s, [a, b])
    assert spread(s, 10, "/x/", keepalive=True) == {"A": 5, "B": 5}
    assert arrived(a, "/x/") == 5


def test_403_from_a_peer_outside_allow(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr], allow=("10.0.0.0/8", "127.0.0.3/32"))
    for what, body in (("state", b"drain"), ("state", b"disable"), ("weight", b"5")):
        r = control(s, f"/servers/app/{a.addr}/{what}", body, source="127.0.0.1")
        assert r.status == 403, (what, r.status, r.body)
    assert control(s, "/stats", method="GET", source="127.0.0.1").status == 403
    # the allowed peer sees nothing changed, and may change things itself
    r = control(s, "/stats", method="GET", source="127.0.0.3")
    assert r.status == 200
    for u in (a, b):
        sv = stats_server(json.loads(r.body), "app", u.addr)
        assert (sv["state"], sv["admin_state"], sv["admin_changed"]) == ("up", "enable", None), sv
    assert spread(s, 10, "/x/", keepalive=True) == {"A": 5, "B": 5}
    r = control(s, f"/servers/app/{a.addr}/state", b"disable", source="127.0.0.3")
    assert r.status == 200, (r.status, r.body)
    r = control(s, "/stats", method="GET", source="127.0.0.3")
    sv = stats_server(json.loads(r.body), "app", a.addr)
    assert sv["admin_state"] == "disable" and sv["admin_changed"]["by"] == "127.0.0.3", sv
    assert spread(s, 6, "/y/") == {"B": 6}
    assert (arrived(a, "/x/"), arrived(b, "/x/")) == (5, 5)
    assert (arrived(a, "/y/"), arrived(b, "/y/")) == (0, 6)


def test_404_405_and_400(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr], workers=1)

    not_found = [
        (f"/servers/nope/{a.addr}/state", b"drain"),        # unknown backend
        ("/servers/app/127.0.0.1:1/state", b"drain"),       # unknown server
        (f"/servers/app/{a.addr}/colour", b"drain"),        # unknown control
        (f"/servers/app/{a.addr}", b"drain"),               # too short
    ]
    for path, body in not_found:
        r = control(s, path, body)
        assert r.status == 404, (path, r.status, r.body)
        assert json_reply(r), (path, r.body)

    for method in ("GET", "PUT", "DELETE"):
        for what, body in (("state", b"drain"), ("weight", b"3")):
            r = control(s, f"/servers/app/{a.addr}/{what}", body if method != "GET" else b"", method=method)
            assert r.status == 405, (method, what, r.status, r.body)

    bad = [("state", b""), ("state", b"drained"), ("state", b"up"), ("state", b"drain now"),
           ("weight", b""), ("weight", b"abc"), ("weight", b"-1"), ("weight", b"2.5"),
           ("weight", b"99999999999999999999999")]
    for what, body in bad:
        r = control(s, f"/servers/app/{a.addr}/{what}", body)
        assert r.status == 400, (what, body, r.status, r.body)
        doc = json_reply(r)
        message = " ".join(str(v) for v in doc.values()) if isinstance(doc, dict) else str(doc)
        assert len(message.strip()) >= 5, (what, body, doc)

    assert_unchanged(s, [a, b], "after the refusals")
    assert spread(s, 10, "/x/", keepalive=True) == {"A": 5, "B": 5}
    assert arrived(a, "/x/") == 5 and arrived(b, "/x/") == 5


# -------------------------------------------------------------------------- IPv6 server

class V6Upstream:
    """A small HTTP/1.1 server on [::1] answering 200 `V6` and counting requests."""

    def __init__(self):
        counts = self.paths = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                counts.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"V6")

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6
            daemon_threads = True

        self.server = Server(("::1", 0), Handler)
        self.port = self.server.server_address[1]
        self.addr = f"[::1]:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_ipv6_server_named_percent_encoded(sluice, upstream):
    v6 = V6Upstream()
    try:
        b = upstream("B")
        s = start(sluice, [v6.addr, b.addr], workers=1)
        assert set(spread(s, 10, "/pre/", keepalive=True)) == {"V6", "B"}
        encoded = f"%5B%3A%3A1%5D%3A{v6.port}"
        r = control(s, f"/servers/app/{encoded}/state", b"disable")
        assert r.status == 200, (r.status, r.body)
        sv = srv(s, v6.addr)
        assert sv["state"] == "down" and sv["admin_state"] == "disable", sv
        n = len(v6.paths)
        assert spread(s, 10, "/v6off/") == {"B": 10}
        assert len(v6.paths) == n
        r = control(s, f"/servers/app/{encoded}/state", b"enable")
        assert r.status == 200
        assert "V6" in spread(s, 10, "/v6on/", keepalive=True)
        assert any(p.startswith("/v6on/") for p in v6.paths)
    finally:
        v6.stop()
