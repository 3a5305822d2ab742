"""Limits and resource exhaustion (the issue's items 5 and 6).

* Request-head limits (414, 431) and `max_body_size` (413) at their exact boundaries.
* `max_connections` per worker: beyond it the worker stops accepting; the connection waits in
  the kernel backlog (it is not refused or reset) and is served once a slot frees up.
* Descriptor exhaustion (EMFILE, forced by lowering the worker's RLIMIT_NOFILE with
  prlimit): logged at most once per second, no CPU spinning, existing connections still
  served, and new ones accepted again as soon as descriptors free up.
* 10,000 concurrent idle keep-alive client connections held with bounded memory; the bytes
  per connection are measured from the workers' RSS and printed.
"""
import os
import re
import resource
import select
import socket
import time

import pytest

from clients import ClosedEarly, RawClient, get, proxy_error
from conftest import http_config
from messages import simple_request
from ports import free_port
from processes import cpu_seconds, rss_bytes, wait_children, wait_until, worker_of
from servers import FastUpstream
from stats_endpoint import frontend, stats, stats_block


# ---------------------------------------------------------------------------- head / body

def _head_of_size(n: int, path: str = "/") -> bytes:
    """A GET head of exactly n bytes (padding in one X-Pad header)."""
    base = f"GET {path} HTTP/1.1\r\nHost: h\r\nX-Pad: \r\n\r\n".encode()
    assert n >= len(base)
    return base.replace(b"X-Pad: ", b"X-Pad: " + b"p" * (n - len(base)))


def test_header_size_limit_exact_boundary(proxy):
    s = proxy(frontend_extra="    max_header_size 1k;")
    with RawClient(s.port) as c:
        c.send(_head_of_size(1024))
        assert c.read_response().status == 200
    proxy_error(s.port, _head_of_size(1025), 431)
    assert len(s.upstreams[0].snapshot()) == 1


def test_uri_limit_versus_header_limit(proxy):
    """414 when the request line alone does not fit, 431 when it does but the head does not."""
    s = proxy(frontend_extra="    max_header_size 1k;")
    proxy_error(s.port, simple_request("/" + "u" * 1100), 414)
    proxy_error(s.port, simple_request("/" + "u" * 900, extra="X-More: " + "m" * 200 + "\r\n"), 431)
    assert s.upstreams[0].snapshot() == []


def test_limits_apply_to_later_requests_on_a_connection(proxy):
    s = proxy(frontend_extra="    max_header_size 1k;\n    max_body_size 100;")
    up = s.upstreams[0]
    with RawClient(s.port) as c:
        c.send(simple_request("/ok"))
        assert c.read_response().status == 200
        c.send(b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n")
        resp = c.read_response()
        assert resp.status == 413 and "close" in resp.tokens("Connection")
        c.wait_closed(3)
    with RawClient(s.port) as c:
        c.send(simple_request("/ok2"))
        assert c.read_response().status == 200
        c.send(_head_of_size(2000))
        assert c.read_response().status == 431
        c.wait_closed(3)
    assert [r.target for r in up.snapshot()] == ["/ok", "/ok2"]


def test_chunked_body_limit_exact_boundary(proxy):
    """README: chunked bodies are measured with their framing.  A chunked body of exactly
    `max_body_size` wire bytes passes; one byte more is refused (413, or an abort once the
    head is out) and never delivered complete."""
    s = proxy(frontend_extra="    max_body_size 100;")
    up = s.upstreams[0]

    def body(n):                     # one chunk of n bytes: len = len("%x\r\n") + n + 2 + 5
        return b"%x\r\n" % n + b"c" * n + b"\r\n0\r\n\r\n"

    assert len(body(89)) == 100
    with RawClient(s.port) as c:
        c.send(b"POST /exact HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body(89))
        assert c.read_response().status == 200
    assert up.wait_requests(1)[0].body == b"c" * 89
    with RawClient(s.port) as c:
        c.send(b"POST /over HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body(90))
        try:
            assert c.read_response().status == 413
        except ClosedEarly:
            pass                         # the head may be out already: then an abort is the answer
    time.sleep(0.2)
    assert [r.target for r in up.snapshot()] == ["/exact"], "an over-long body was delivered"


# ------------------------------------------------------------------------ max_connections

def _answered_within(c: RawClient, seconds: float) -> bool:
    return bool(select.select([c.sock], [], [], seconds)[0])


@pytest.mark.deadline(20)
def test_max_connections_stops_accepting_and_resumes(sluice, upstream):
    up = upstream("A")
    port, sport = free_port(), free_port()
    s = sluice(http_config(port, [up.addr], workers="1", header_timeout="10s",
                           main_extra=stats_block(sport) + "max_connections 4;\n"), ports=[port, sport])
    held = []
    for i in range(4):
        c = RawClient(s.port)
        c.send(simple_request(f"/h{i}"))
        assert c.read_response().status == 200
        held.append(c)
    assert frontend(stats(sport), "web")["connections_active"] == 4
    waiting = RawClient(s.port)                  # the kernel completes the handshake ...
    waiting.send(simple_request("/waiting"))
    assert not _answered_within(waiting, 0.8), "a 5th connection was served (or refused)"
    assert waiting.is_open(0.05)                 # ... and it is neither refused nor reset
    assert frontend(stats(sport), "web")["connections_active"] == 4
    held.pop(0).close()                          # a slot frees up
    assert _answered_within(waiting, 1.0), "the waiting connection was not accepted"
    assert waiting.read_response().status == 200
    for c in held + [waiting]:
        c.close()
    assert "error" not in s.log().lower()


@pytest.mark.deadline(20)
def test_max_connections_is_per_worker(sluice, upstream):
    """2 workers x max_connections 3. Each worker accepts on its own socket (SO_REUSEPORT), where
    the kernel places a new connection by a hash of its address: clients are served until one
    lands on a worker that holds 3 already; that one waits, while the worker holds at most 3,
    and is served as soon as that worker's next connection closes."""
    up = upstream("A")
    port = free_port()
    s = sluice(http_config(port, [up.addr], workers="2", header_timeout="10s",
                           main_extra="max_connections 3;\n"))
    kids = wait_children(s.pid, 2)
    held, waiting = [], None
    for i in range(7):
        c = RawClient(s.port)
        c.send(simple_request(f"/h{i}"))
        if not _answered_within(c, 1.0):
            waiting = c
            break
        assert c.read_response().status == 200
        held.append(c)
    assert waiting is not None, "7 clients served at once by 2 workers of max_connections 3"
    assert 3 <= len(held) <= 6, len(held)
    by_worker = {k: [c for c in held if worker_of(c.sock, kids) == k] for k in kids}
    assert all(len(cs) <= 3 for cs in by_worker.values()), {k: len(cs) for k, cs in by_worker.items()}
    full = [cs for cs in by_worker.values() if len(cs) == 3]
    assert full, "a client waits although no worker is full"
    for cs in full:                 # the waiting client is in the queue of one of them
        cs.pop().close()
    assert _answered_within(waiting, 1.5), "the waiting client was not served when its worker had room"
    assert waiting.read_response().status == 200
    for c in held + [waiting]:
        c.close()


# --------------------------------------------------------------------------------- EMFILE

def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.deadline(30)
def test_descriptor_exhaustion_logged_rarely_no_spin_and_recovers(sluice, upstream):
    up = upstream("A")
    port = free_port()
    s = sluice(http_config(port, [up.addr], workers="1", header_timeout="30s"))
    [worker] = wait_children(s.pid, 1)
    warm = RawClient(s.port)                     # leaves one pooled upstream connection
    warm.send(simple_request("/warm"))
    assert warm.read_response().status == 200
    limit = _open_fds(worker) + 8
    resource.prlimit(worker, resource.RLIMIT_NOFILE, (limit, limit))
    log0 = s.log_size()
    clients = [RawClient(s.port) for _ in range(14)]    # ~7 accepted, the rest hit EMFILE
    wait_until(lambda: re.search(r"Too many open files", s.log()[log0:]), 3,
               what="the EMFILE log line")
    cpu0, t0 = cpu_seconds(worker), time.monotonic()
    time.sleep(3.0)
    cpu = cpu_seconds(worker) - cpu0
    elapsed = time.monotonic() - t0
    lines = [l for l in s.log()[log0:].splitlines() if "Too many open files" in l]
    print(f"\nEMFILE: {len(lines)} log lines and {cpu:.3f}s of worker CPU in {elapsed:.1f}s")
    assert "pausing accepts" in lines[0] and "error" in lines[0], lines[0]
    assert len(lines) <= elapsed + 2, f"{len(lines)} EMFILE lines in {elapsed:.1f}s:\n" + "\n".join(lines)
    assert cpu < 0.15 * elapsed, f"worker used {cpu:.2f}s of CPU in {elapsed:.1f}s at EMFILE"
    # still serving the connection it has, through the pooled upstream connection
    warm.send(simple_request("/during"))
    assert warm.read_response().status == 200
    # descriptors free up: every waiting client is accepted and served
    accepted = [c for c in clients if _is_accepted(c, s.port, worker)]
    waiting = [c for c in clients if c not in accepted]
    assert waiting, "no connection was left waiting: the limit did not bite"
    for c in accepted:
        c.close()
    for i, c in enumerate(waiting):
        c.send(simple_request(f"/after{i}"))
        assert _answered_within(c, 2.0), f"waiting client {i} not served after descriptors freed"
        assert c.read_response().status == 200
        c.close()
    warm.close()


def _is_accepted(c: RawClient, port: int, pid: int) -> bool:
    return worker_of(c.sock, [pid]) == pid


# ------------------------------------------------------------------- 10k idle connections

IDLE_CONNECTIONS = 10_000


def _raise_nofile(n: int):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        if hard < n:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {n}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
    return soft, hard


@pytest.mark.deadline(90)
def test_ten_thousand_idle_connections_bounded_memory(sluice):
    need = IDLE_CONNECTIONS + 1000
    old = _raise_nofile(need)
    app = FastUpstream("A")
    socks = []
    try:
        port, sport = free_port(), free_port()
        s = sluice(http_config(port, [app.addr], workers="2", header_timeout="60s",
                               frontend_extra="    timeout idle 120s;",
                               main_extra=stats_block(sport)), ports=[port, sport])
        workers = wait_children(s.pid, 2)
        # a few requests first, so that buffers and pools exist before the baseline
        for i in range(50):
            assert get(s.port, f"/warm{i}").status == 200
        time.sleep(0.3)
        rss0 = sum(rss_bytes(w) for w in workers)

        # connect all, then one request on each (in batches), leaving them idle keep-alive
        for i in range(IDLE_CONNECTIONS):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.connect(("127.0.0.1", port))
            socks.append(c)
        request = b"GET /idle HTTP/1.1\r\nHost: h\r\n\r\n"
        expect = len(app.response)
        batch = 250
        for start in range(0, len(socks), batch):
            part = socks[start:start + batch]
            for c in part:
                c.sendall(request)
            pending = {c.fileno(): [c, 0] for c in part}
            poller = select.poll()            # select() cannot take descriptors above 1023
            for fd in pending:
                poller.register(fd, select.POLLIN)
            deadline = time.monotonic() + 10
            while pending:
                assert time.monotonic() < deadline, f"{len(pending)} responses missing at {start}"
                for fd, _ in poller.poll(1000):
                    c = pending[fd][0]
                    data = c.recv(4096)
                    assert data, "an idle connection was closed while being set up"
                    pending[fd][1] += len(data)
                    if pending[fd][1] >= expect:
                        poller.unregister(fd)
                        del pending[fd]
        active = frontend(stats(sport), "web")["connections_active"]
        assert active == IDLE_CONNECTIONS, active
        time.sleep(0.5)
        rss1 = sum(rss_bytes(w) for w in workers)
        per_conn = (rss1 - rss0) / IDLE_CONNECTIONS
        print(f"\n{IDLE_CONNECTIONS} idle keep-alive connections: workers' RSS {rss0 / 2**20:.1f} MiB -> "
              f"{rss1 / 2**20:.1f} MiB, {per_conn:.0f} bytes per connection")
        assert per_conn < 16 * 1024, f"{per_conn:.0f} bytes per idle connection"
        # still serving: a new client, and a few of the idle ones
        t = time.monotonic()
        assert get(s.port, "/fresh").status == 200
        assert time.monotonic() - t < 0.5
        for c in socks[::2500]:
            c.sendall(request)
            c.settimeout(5)
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for c in socks:
            c.close()
        app.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, old)
