"""The keep-alive race (the issue's item 4).

The upstream closes keep-alive connections idle for 1 s, on its own.  When sluice reuses a
pooled connection just as the upstream closes it, the request meets a closed connection before
any response byte.  SPEC §3: an idempotent request without a body is then retried once on a
fresh connection (no client-visible error); a non-idempotent one that reached the upstream is
never sent again.

The first tests make the race certain: a request arriving when its connection has been idle
for more than 0.7 s is taken as having crossed the upstream's close (read, then reset without
an answer).  The last one lets the race happen naturally under concurrent load.
"""
import random
import time

import pytest

from clients import RawClient
from conftest import factory
from servers import IdleClosingUpstream

IDLE = 1.0
WINDOW = 0.3
PAUSE = IDLE - WINDOW / 2          # lands every request inside the race window


@pytest.fixture
def idle_upstream():
    """idle_upstream(name="A", race_window=WINDOW) -> IdleClosingUpstream"""
    yield from factory(lambda name="A", race_window=WINDOW:
                       IdleClosingUpstream(name, idle_timeout=IDLE, race_window=race_window))


@pytest.fixture
def raced(proxy, idle_upstream):
    """(upstream, sluice): one upstream making the race certain, no passive health."""
    up = idle_upstream()
    return up, proxy(servers=[f"{up.addr} max_fails=0"])


def _request(c: RawClient, method: str, target: str, body: bytes = b"", extra: str = ""):
    head = f"{method} {target} HTTP/1.1\r\nHost: h\r\n{extra}"
    if body or method in ("POST", "PATCH"):
        head += f"Content-Length: {len(body)}\r\n"
    c.send(head.encode() + b"\r\n" + body)
    return c.read_response(method)


def _after_idle(c: RawClient, method: str, target: str, body: bytes = b""):
    """The request, after the pause that lands it in the race window."""
    time.sleep(PAUSE)
    return _request(c, method, target, body)


@pytest.mark.deadline(20)
def test_idempotent_requests_survive_the_race(raced):
    up, s = raced
    with RawClient(s.port) as c:
        assert _request(c, "GET", "/warm").status == 200
        for i, method in enumerate(["GET", "GET", "HEAD", "DELETE", "OPTIONS", "GET"]):
            resp = _after_idle(c, method, f"/i{i}")
            assert resp.status == 200, (method, resp.status, resp.body)
            if method != "HEAD":
                assert resp.body == b"A"
            seen = up.entries(f"/i{i}")
            # the race happened (the pooled connection was dropped under the request), and
            # the one retry went out on a fresh connection
            assert [e[3] for e in seen] == ["dropped", "answered"], seen
            assert seen[0][0] != seen[1][0]
    assert "close" not in (resp.value("Connection") or "")


@pytest.mark.deadline(20)
def test_non_idempotent_requests_never_replayed(raced):
    up, s = raced
    outcomes = []
    for i, method in enumerate(["POST", "PATCH", "POST"]):
        body = b"payload-%d" % i
        with RawClient(s.port) as c:
            assert _request(c, "GET", f"/warm{i}").status == 200
            resp = _after_idle(c, method, f"/n{i}", body)
        seen = up.entries(f"/n{i}")
        assert len(seen) == 1, f"{method} sent {len(seen)} times: {seen}"
        assert up.times_received(body) == 1, "the request body went out twice"
        if seen[0][3] == "dropped":
            assert resp.status == 502, resp.status     # it reached the upstream: not retried
        else:
            assert (resp.status, resp.body) == (200, b"A")
        outcomes.append(seen[0][3])
    assert "dropped" in outcomes, f"the race never happened: {outcomes}"


@pytest.mark.deadline(20)
def test_idempotent_request_with_body_not_retried(raced):
    """SPEC: only idempotent requests *without a body* are retried (a PUT carries one)."""
    up, s = raced
    with RawClient(s.port) as c:
        assert _request(c, "GET", "/warm").status == 200
        resp = _after_idle(c, "PUT", "/put", b"data")
    seen = up.entries("/put")
    assert len(seen) == 1 and up.times_received(b"data") == 1, seen
    assert resp.status == (502 if seen[0][3] == "dropped" else 200)


@pytest.mark.deadline(30)
def test_natural_race(proxy, idle_upstream):
    """No forced window.  Four upstreams, round-robin, one client every ~0.25 s: each pooled
    upstream connection is reused after ~1 s idle, right around the upstreams' own idle
    timeout, for 6 seconds.  Every GET succeeds; no POST reaches an upstream twice."""
    ups = [idle_upstream(n, race_window=0.0) for n in "ABCD"]
    s = proxy(servers=[f"{u.addr} max_fails=0" for u in ups])
    rnd = random.Random(7)
    errors, gets, posts = [], 0, []
    end = time.monotonic() + 6.0
    i = 0
    c = RawClient(s.port)
    try:
        while time.monotonic() < end:
            time.sleep(rnd.uniform(0.235, 0.265))
            i += 1
            if i % 5 == 0:
                body = b"post-%d" % i
                resp = _request(c, "POST", f"/p{i}", body)
                posts.append((body, resp.status))
                if resp.status != 200:
                    c.close()                            # a 502 closes the client connection
                    c = RawClient(s.port)
            else:
                resp = _request(c, "GET", f"/g{i}")
                if resp.status == 200 and resp.body in b"ABCD":
                    gets += 1
                else:
                    errors.append((f"/g{i}", resp.status, resp.body))
    finally:
        c.close()
    assert not errors, errors
    assert gets >= 15, gets
    for body, status in posts:
        assert sum(u.times_received(body) for u in ups) <= 1, f"{body!r} replayed"
    closes = sum(u.idle_closes for u in ups)
    assert closes > 0, "no upstream ever closed an idle connection: no race possible"
    print(f"GETs ok {gets}, POSTs {len(posts)} ({[st for _, st in posts].count(502)} x 502), "
          f"upstream idle closes {closes}")
