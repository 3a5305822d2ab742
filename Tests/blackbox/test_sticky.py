"""SPEC §7 `sticky cookie NAME max_age=D secure httponly samesite=...`.

The first response of a client carries `Set-Cookie: NAME=<token>; Path=/; Max-Age; Secure;
HttpOnly; SameSite` where the token is an opaque, stable name of the server that answered (not
its address, the same in another sluice instance with the same servers); later requests
carrying it reach that server and get no new cookie; a cookie naming a server that an operator
disabled, or that stopped, or that sluice does not know, is replaced by one naming the server
that answered.  A draining server keeps its sticky clients (SPEC §7: "in-flight and sticky ones
finish") and takes no new ones.

The issue's test: a Flask app keeping sessions in memory per process (a dict of session id ->
data in each upstream process, the session id in a cookie of its own), two such processes
behind sluice: a user logs in, then 50 requests through `requests.Session` all see the session;
without `sticky` the same walk loses it half of the time.

Sticky over HTTP/2: `set-cookie` in the h2 response, and the cookie honoured when the client
splits its cookies into several `cookie` fields (RFC 9113 §8.2.3).
"""
import base64
import json
import subprocess
import sys
import threading
from collections import Counter

import pytest
import requests

from clients import RawClient
from conftest import http_config
from h2_clients import H2Client
from messages import request_head
from ports import free_port, port_accepts
from processes import wait_until
from servers import Reply
from stats_endpoint import server as stats_server
from stats_endpoint import stats, stats_block

STICKY = "    sticky cookie SRV max_age=1h secure httponly samesite=lax;"


def admin_block(port: int) -> str:
    return stats_block(port).replace("}\n", "    admin on;\n}\n")


def start(sluice, servers, *, sticky=STICKY, balance="round_robin", workers=2, **kw):
    port, sp = free_port(), free_port()
    extra = kw.pop("backend_extra", "")
    text = http_config(port, servers, balance=balance, workers=workers,
                       backend_extra=sticky + "\n" + extra, main_extra=admin_block(sp), **kw)
    s = sluice(text, ports=[port, sp])
    s.stats_port = sp
    return s


def admin(s, backend, address, what, body):
    """POST /servers/BACKEND/ADDRESS/WHAT on the stats listener; the decoded JSON reply."""
    with RawClient(s.stats_port) as c:
        c.send(request_head("POST", f"/servers/{backend}/{address}/{what}", f"127.0.0.1:{s.stats_port}",
                            body=body.encode(), close=True))
        r = c.read_response()
    assert r.status == 200, (r.status, r.body)
    return json.loads(r.body)


def sticky_cookies(resp) -> list:
    """The Set-Cookie values of `resp` that set SRV."""
    return [v for v in resp.values("Set-Cookie") if v.split("=", 1)[0].strip() == "SRV"]


def parse_set_cookie(value: str):
    """(name, value, {attribute lowercased: value or True})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), val.strip(), attrs


def request(port, path, cookie=None, c=None):
    headers = [("Cookie", cookie)] if cookie else []
    data = request_head("GET", path, "example.test", headers, close=c is None)
    if c is None:
        with RawClient(port) as fresh:
            fresh.send(data)
            return fresh.read_response()
    c.send(data)
    return c.read_response()


def token_for(s, ups, name):
    """New clients until one lands on upstream `name`; its token (from Set-Cookie)."""
    for i in range(20):
        r = request(s.port, f"/first/{name}/{i}")
        assert r.status == 200, (r.status, r.body)
        cookies = sticky_cookies(r)
        assert len(cookies) == 1, f"a client without the cookie gets exactly one: {r.headers}"
        if r.body.decode() == name:
            return parse_set_cookie(cookies[0])[1]
    raise AssertionError(f"no new client reached {name}")


def targets(u, prefix):
    return [r.target for r in u.snapshot() if r.target.startswith(prefix)]


# -------------------------------------------------------------------- the cookie itself

def test_first_response_sets_an_opaque_cookie_with_attributes(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr])
    seen = {}
    for i in range(6):
        r = request(s.port, f"/new/{i}")
        assert r.status == 200
        cookies = sticky_cookies(r)
        assert len(cookies) == 1, r.headers
        name, token, attrs = parse_set_cookie(cookies[0])
        assert name == "SRV" and token, cookies
        assert attrs.get("path") == "/", cookies
        assert attrs.get("max-age") == "3600", cookies
        assert attrs.get("secure") is True and attrs.get("httponly") is True, cookies
        assert str(attrs.get("samesite", "")).lower() == "lax", cookies
        seen.setdefault(r.body.decode(), set()).add(token)
    # what reached the upstreams: the six requests, each at the server its cookie names
    assert sorted(targets(a, "/new/") + targets(b, "/new/")) == sorted(f"/new/{i}" for i in range(6))
    assert set(seen) == {"A", "B"}, seen
    # one stable token per server, different servers different tokens
    assert all(len(t) == 1 for t in seen.values()), seen
    ta, tb = next(iter(seen["A"])), next(iter(seen["B"]))
    assert ta != tb
    # opaque: neither the address nor the port, in clear or in base64
    for up, token in ((a, ta), (b, tb)):
        assert up.addr not in token and str(up.port) not in token and "127" not in token, token
        for candidate in (token, token + "=", token + "=="):
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    raw = decode(candidate)
                except Exception:  # noqa: BLE001 - not base64 at all: fine
                    continue
                assert up.addr.encode() not in raw and str(up.port).encode() not in raw, (token, raw)


def test_cookie_routes_back_without_a_new_cookie(sluice, upstream):
    a = upstream("A", lambda r: Reply(body=b"A", headers=[("Set-Cookie", "app=1; Path=/")]))
    b = upstream("B")
    s = start(sluice, [a.addr, b.addr])
    ta, tb = token_for(s, [a, b], "A"), token_for(s, [a, b], "B")
    for name, token, up, other in (("A", ta, a, b), ("B", tb, b, a)):
        with RawClient(s.port) as c:
            for i in range(20):
                # the sticky cookie among others, in any position
                cookie = [f"SRV={token}", f"x=1; SRV={token}", f"SRV={token}; y=2"][i % 3]
                r = request(s.port, f"/stick/{name}/{i}", cookie, c=c)
                assert (r.status, r.body.decode()) == (200, name), (i, r.status, r.body)
                assert not sticky_cookies(r), f"a client with a valid cookie got a new one: {r.headers}"
                if name == "A":   # the upstream's own cookie passes untouched
                    assert r.values("Set-Cookie") == ["app=1; Path=/"], r.headers
        # fresh connections too (other workers)
        for i in range(20, 30):
            r = request(s.port, f"/stick/{name}/{i}", f"SRV={token}")
            assert r.body.decode() == name and not sticky_cookies(r)
        assert sorted(targets(up, f"/stick/{name}/")) == sorted(f"/stick/{name}/{i}" for i in range(30))
        assert not targets(other, f"/stick/{name}/")


def test_token_is_stable_across_instances_and_restarts(sluice, upstream):
    """Another instance (and a restarted one) with the same servers reads the same token."""
    a, b = upstream("A"), upstream("B")
    one = start(sluice, [a.addr, b.addr])
    ta = token_for(one, [a, b], "A")
    two = start(sluice, [b.addr, a.addr], workers=1)
    for i in range(10):
        r = request(two.port, f"/other/{i}", f"SRV={ta}")
        assert r.body == b"A" and not sticky_cookies(r), (r.body, r.headers)
    assert sorted(targets(a, "/other/")) == sorted(f"/other/{i}" for i in range(10))
    assert not targets(b, "/other/")


def test_unknown_token_is_replaced(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr])
    ta, tb = token_for(s, [a, b], "A"), token_for(s, [a, b], "B")
    for i, bogus in enumerate(["0000000000000000", "not-a-token", a.addr, ""]):
        r = request(s.port, f"/bogus/{i}", f"SRV={bogus}")
        assert r.status == 200
        cookies = sticky_cookies(r)
        assert len(cookies) == 1, (bogus, r.headers)
        assert parse_set_cookie(cookies[0])[1] == {"A": ta, "B": tb}[r.body.decode()]
    assert len(targets(a, "/bogus/") + targets(b, "/bogus/")) == 4


# -------------------------------------------------- the cookie's server out of service

def test_cookie_of_a_disabled_server_is_replaced(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr])
    ta, tb = token_for(s, [a, b], "A"), token_for(s, [a, b], "B")
    assert admin(s, "app", a.addr, "state", "disable")["admin_state"] == "disable"
    for i in range(10):
        r = request(s.port, f"/dis/{i}", f"SRV={ta}")
        assert (r.status, r.body) == (200, b"B"), (r.status, r.body)
        cookies = sticky_cookies(r)
        assert [parse_set_cookie(c)[1] for c in cookies] == [tb], r.headers
    assert not targets(a, "/dis/") and len(targets(b, "/dis/")) == 10
    # the replaced cookie sticks to B without a new Set-Cookie
    r = request(s.port, "/dis/new", f"SRV={tb}")
    assert r.body == b"B" and not sticky_cookies(r)
    # enabled again: A's cookie reaches A again
    admin(s, "app", a.addr, "state", "enable")
    for i in range(5):
        r = request(s.port, f"/back/{i}", f"SRV={ta}")
        assert r.body == b"A" and not sticky_cookies(r), (r.body, r.headers)
    assert len(targets(a, "/back/")) == 5


def test_cookie_of_a_stopped_server_is_replaced(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr])
    ta, tb = token_for(s, [a, b], "A"), token_for(s, [a, b], "B")
    assert request(s.port, "/before", f"SRV={ta}").body == b"A"
    a.stop()
    wait_until(lambda: not port_accepts(a.port), 2, what="A stopped")
    for i in range(10):
        r = request(s.port, f"/stopped/{i}", f"SRV={ta}")
        assert (r.status, r.body) == (200, b"B"), (i, r.status, r.body)
        cookies = sticky_cookies(r)
        assert [parse_set_cookie(c)[1] for c in cookies] == [tb], (i, r.headers)
    assert sorted(targets(b, "/stopped/")) == sorted(f"/stopped/{i}" for i in range(10))
    st = stats(s.stats_port)
    assert stats_server(st, "app", a.addr)["state"] == "down", st


def test_draining_server_keeps_its_sticky_clients_only(sluice, upstream):
    """SPEC §7: drain = no new requests, in-flight and sticky ones finish."""
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr])
    ta = token_for(s, [a, b], "A")
    admin(s, "app", a.addr, "state", "drain")
    for i in range(10):
        r = request(s.port, f"/fresh/{i}")           # new clients: never the draining server
        assert r.body == b"B", (i, r.body)
    for i in range(10):
        r = request(s.port, f"/sticky/{i}", f"SRV={ta}")
        assert r.status == 200
        assert r.body == b"A" and not sticky_cookies(r), (i, r.body, r.headers)
    assert not targets(a, "/fresh/") and len(targets(b, "/fresh/")) == 10
    assert len(targets(a, "/sticky/")) == 10


# ------------------------------------------------- Flask with in-memory sessions per process

SESSION_APP = r'''
"""A Flask app keeping its sessions in this process's memory (as Express's default store):
POST /login makes a session id (cookie `appsid`), GET /me needs it.  /_debug tells what this
process holds and served."""
import secrets
import sys
import threading

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

port, name = int(sys.argv[1]), sys.argv[2]
app = Flask(name)
SESSIONS = {}          # session id -> {"user": ..., "hits": ...}, in this process only
LOCK = threading.Lock()
SERVED = {"login": 0, "me_ok": 0, "me_401": 0}


@app.post("/login")
def login():
    user = request.form["user"]
    sid = secrets.token_hex(16)
    with LOCK:
        SESSIONS[sid] = {"user": user, "hits": 0}
        SERVED["login"] += 1
    resp = jsonify(server=name, user=user)
    resp.set_cookie("appsid", sid, httponly=True, path="/")
    return resp


@app.get("/me")
def me():
    with LOCK:
        s = SESSIONS.get(request.cookies.get("appsid", ""))
        if s is None:
            SERVED["me_401"] += 1
            return jsonify(server=name, user=None), 401
        s["hits"] += 1
        SERVED["me_ok"] += 1
        return jsonify(server=name, user=s["user"], hits=s["hits"])


@app.get("/_debug")
def debug():
    with LOCK:
        return jsonify(server=name, served=SERVED,
                       sessions={s["user"]: s["hits"] for s in SESSIONS.values()})


server = make_server("127.0.0.1", port, app, threaded=True)
print("ready", flush=True)
server.serve_forever()
'''


class SessionApp:
    """SESSION_APP in a process of its own on a free port."""

    def __init__(self, tmp_path, name):
        self.name = name
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        script = tmp_path / "session_app.py"
        script.write_text(SESSION_APP)
        self.proc = subprocess.Popen([sys.executable, str(script), str(self.port), name],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"session app {name}: {line!r} {self.proc.stderr.read()}"
        wait_until(lambda: port_accepts(self.port), 5, what=f"session app {name} listening")

    def debug(self) -> dict:
        """Asked directly, not through sluice."""
        return requests.get(f"http://{self.addr}/_debug", timeout=5).json()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def session_apps(tmp_path):
    apps = []

    def make(name):
        apps.append(SessionApp(tmp_path, name))
        return apps[-1]

    yield make
    for a in apps:
        a.stop()


def walk(port: int, user: str, n: int = 50):
    """Log `user` in through sluice, then `n` GET /me in a requests.Session; returns (the
    login's server, [(status, json) per /me], the session's cookies)."""
    with requests.Session() as http:
        http.trust_env = False            # no proxy from the environment
        r = http.post(f"http://127.0.0.1:{port}/login", data={"user": user}, timeout=5)
        assert r.status_code == 200, (r.status_code, r.text)
        login_server = r.json()["server"]
        out = []
        for _ in range(n):
            me = http.get(f"http://127.0.0.1:{port}/me", timeout=5)
            out.append((me.status_code, me.json()))
        return login_server, out, dict(http.cookies), r.headers


@pytest.mark.deadline(60)
def test_flask_in_memory_sessions_survive_50_requests(sluice, session_apps):
    one, two = session_apps("one"), session_apps("two")
    s = start(sluice, [one.addr, two.addr],
              sticky="    sticky cookie SRV max_age=1h httponly samesite=lax;")
    results = {}

    def user(name):
        results[name] = walk(s.port, name)

    # two users at once: each logs in on some server and keeps it
    threads = [threading.Thread(target=user, args=(n,)) for n in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    assert set(results) == {"alice", "bob"}, results.keys()
    for name, (login_server, out, cookies, headers) in results.items():
        assert "SRV" in cookies and "appsid" in cookies, (cookies, headers)
        bad = [(i, st, body) for i, (st, body) in enumerate(out)
               if st != 200 or body["user"] != name or body["server"] != login_server]
        assert not bad, f"{name} (logged in on {login_server}) lost the session: {bad[:5]}"
        assert [body["hits"] for _, body in out] == list(range(1, 51))
    # What the upstream processes hold and served, asked directly.
    dbg = {a.name: a.debug() for a in (one, two)}
    for name, (login_server, _, _, _) in results.items():
        assert dbg[login_server]["sessions"].get(name) == 50, dbg
        other = "two" if login_server == "one" else "one"
        assert name not in dbg[other]["sessions"], dbg
    assert sum(d["served"]["me_ok"] for d in dbg.values()) == 100, dbg
    assert sum(d["served"]["me_401"] for d in dbg.values()) == 0, dbg


@pytest.mark.deadline(30)
def test_flask_in_memory_sessions_need_stickiness(sluice, session_apps):
    """The control: the same walk through round-robin without `sticky` loses the session on the
    other process about half of the time (so the test above proves something)."""
    one, two = session_apps("one"), session_apps("two")
    s = start(sluice, [one.addr, two.addr], sticky="", workers=1)
    login_server, out, cookies, _ = walk(s.port, "carol", 20)
    assert "SRV" not in cookies
    statuses = Counter(st for st, _ in out)
    assert statuses[401] >= 5 and statuses[200] >= 5, statuses
    dbg = {a.name: a.debug() for a in (one, two)}
    assert sum(d["served"]["me_401"] for d in dbg.values()) == statuses[401], dbg


# ------------------------------------------------------------------------------- HTTP/2

def test_sticky_over_http2(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr], workers=1)
    tokens = {}
    with H2Client(s.port) as c:
        for i in range(4):
            r = c.response(c.request(f"/h2new/{i}"))
            assert r.status == 200
            cookies = [v for k, v in r.headers if k == "set-cookie" and v.startswith("SRV=")]
            assert len(cookies) == 1, r.headers
            name, token, attrs = parse_set_cookie(cookies[0])
            assert attrs.get("path") == "/" and attrs.get("max-age") == "3600" and attrs.get("httponly") is True
            tokens.setdefault(r.body.decode(), set()).add(token)
        assert set(tokens) == {"A", "B"} and all(len(t) == 1 for t in tokens.values()), tokens
        ta = next(iter(tokens["A"]))
        # the cookie in one field, and split in crumbs over several cookie fields
        for i in range(10):
            fields = [("cookie", f"SRV={ta}")] if i % 2 else [("cookie", "x=1"), ("cookie", f"SRV={ta}"),
                                                              ("cookie", "y=2")]
            r = c.response(c.request(f"/h2stick/{i}", headers=fields))
            assert (r.status, r.body) == (200, b"A"), (i, r.status, r.body)
            assert not [v for k, v in r.headers if k == "set-cookie"], r.headers
    assert sorted(targets(a, "/h2stick/")) == sorted(f"/h2stick/{i}" for i in range(10))
    assert not targets(b, "/h2stick/")
    # HTTP/1.1 and HTTP/2 clients share the token
    r = request(s.port, "/h1", f"SRV={ta}")
    assert r.body == b"A" and not sticky_cookies(r)
