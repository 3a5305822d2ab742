"""Idle HTTP/2 connections sleep: 250 ms without a stream, the engine (nghttp2's session, about
25 KB) is given up for a few hundred bytes of state, and rebuilt when the client sends again.
Clients (Python's h2, which indexes its headers in HPACK, and nghttp) must not be able to tell:
compression, flow-control windows, stream ids and GOAWAY stay as they were."""
import hashlib
import os
import re
import subprocess
import time

from conftest import http_config
from h2_clients import H2Client
from ports import free_port
from processes import alive
from servers import Reply

IDLE = 0.8  # seconds: well past the 250 ms after which a connection sleeps, and the 100 ms sweep


def idle(clients, seconds=IDLE):
    """Lets the connections idle while the clients keep reading, as browsers do (they acknowledge
    the server's SETTINGS asking them to empty their HPACK table)."""
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        for c in clients:
            c.pump(0.01)


def echo(r):
    return Reply(body=f"{r.target} {r.value('x-user')}".encode())


def test_idle_connections_give_their_engine_back_and_wake_up(proxy, upstream):
    up = upstream("A", echo)
    s = proxy(up)
    [worker] = s.workers()
    # One HTTP/2 connection first: the pages of the HTTP/2 code are resident before the baseline.
    with H2Client(s.port) as c:
        c.response(c.request("/warm-up"))
    base = anon_rss_bytes(worker)
    n = 150
    clients = [H2Client(s.port) for _ in range(n)]
    try:
        for i, c in enumerate(clients):
            r = c.response(c.request("/first", headers=[("x-user", f"user-{i}"), ("user-agent", "sleep-test/1.0")]))
            assert (r.status, r.body) == (200, f"/first user-{i}".encode())
        idle(clients)
        # Awake, each connection holds nghttp2's session (26 KB per connection measured here);
        # asleep, about 1.4 KB of heap, plus heap left fragmented because these clients read only
        # now, so that all 150 engines are let go at once (about 5 KB per connection measured).
        per_connection = (anon_rss_bytes(worker) - base) / n
        assert per_connection < 12_000, f"{per_connection:.0f} bytes per idle HTTP/2 connection"

        # Woken by the next request: the HPACK state, stream ids and windows are where the client
        # left them, through several sleeps.
        for rnd in range(2):
            for i, c in enumerate(clients):
                r = c.response(c.request(f"/again{rnd}", headers=[("x-user", f"user-{i}"), ("user-agent", "sleep-test/1.0")]))
                assert (r.status, r.body) == (200, f"/again{rnd} user-{i}".encode()), (rnd, i)
                assert c.goaway is None
            idle(clients)
    finally:
        for c in clients:
            c.close()
    reqs = [r for r in up.wait_requests(3 * n + 1) if r.target != "/warm-up"]
    assert sorted(r.value("x-user") for r in reqs if r.target == "/again1") == sorted(f"user-{i}" for i in range(n))
    assert all(r.value("user-agent") == "sleep-test/1.0" for r in reqs)
    assert alive(worker), "the worker survived"


def anon_rss_bytes(pid):
    """Resident anonymous memory (heap, mappings): not the pages of the binary's code."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no RssAnon for {pid}")


def test_bodies_both_ways_after_waking(proxy, upstream):
    big = os.urandom(3_000_000)
    up = upstream("A", lambda r: Reply(body=big) if r.target == "/big" else
                  Reply(body=hashlib.sha256(r.body).hexdigest().encode()))
    s = proxy(up)
    with H2Client(s.port) as c:
        # A first response spends part of the client's connection window (Python's h2 returns it
        # only once half is spent), and a small upload leaves credit to return before sleeping.
        r = c.response(c.request("/small", method="POST", body=b"x" * 20_000))
        assert r.body == hashlib.sha256(b"x" * 20_000).hexdigest().encode()
        idle([c])
        data = os.urandom(2_000_000)
        up_sid = c.request("/upload", method="POST", body=data)
        down_sid = c.request("/big")
        c.wait([up_sid, down_sid], timeout=30)
        assert c.responses[up_sid].body == hashlib.sha256(data).hexdigest().encode()
        assert c.responses[down_sid].body == big
        assert c.goaway is None


def test_stream_ids_stay_used_and_goaway_names_the_last_stream_after_waking(sluice, upstream):
    up = upstream("A")
    port = free_port()
    s = sluice(http_config(port, [up.addr], main_extra="drain_timeout 5s;\n"), ports=[port])
    with H2Client(port) as c:
        for _ in range(3):
            c.response(c.request("/x"))
        idle([c])
        # Reload while the connection sleeps: it is woken to say GOAWAY, naming stream 5.
        s.reload()
        goaway = c.wait_goaway(timeout=5)
        assert (int(goaway.error_code), goaway.last_stream_id) == (0, 5)
        c.wait_closed(timeout=5)


def test_h2load_requests_spaced_past_the_sleep(proxy, upstream):
    """h2load (nghttp2's client, which validates every frame and indexes its headers) on one
    connection with 1.5 requests a second: each request after the first wakes the connection."""
    up = upstream("A")
    s = proxy(up)
    out = subprocess.run(["h2load", "-n", "4", "-c", "1", "--rps", "1.5", "-H", "x-user: h2load",
                          f"http://127.0.0.1:{s.port}/spaced"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"requests: 4 total, 4 started, 4 done, 4 succeeded, 0 failed", out.stdout), out.stdout
    reqs = up.wait_requests(4)
    assert [r.value("x-user") for r in reqs] == ["h2load"] * 4
