"""SPEC §4 process model: one master, `workers` worker processes (its direct children), the
master owns the listeners, a dead worker is replaced within 1 s and logged with how it ended."""
import os
import signal
import threading
import time

import pytest

from clients import ClientLoop, RawClient, Wrk, get
from conftest import http_config
from servers import NginxUpstream
from stats_endpoint import stats, stats_block
from ports import free_port
from processes import (alive, children, listening_inodes, socket_inodes_of, wait_children,
                       wait_gone, wait_until)

REPLACE_WITHIN = 1.0      # SPEC §4: a worker that dies is replaced within 1 second
SLACK = 0.25              # polling and scheduling on a loaded test machine


def start(sluice, upstream, workers, **kw):
    up = upstream("A")
    port = free_port()
    s = sluice(http_config(port, [up.addr], workers=workers, **kw), ports=[port])
    s.upstreams = [up]
    return s


def serve_ok(port: int, n: int = 10) -> None:
    for i in range(n):
        r = get(port, f"/ok/{i}")
        assert (r.status, r.body) == (200, b"A"), (r.status, r.body)


@pytest.mark.parametrize("n", [1, 3])
def test_workers_n_are_children_of_the_master(sluice, upstream, n):
    s = start(sluice, upstream, n)
    kids = wait_children(s.pid, n, timeout=3)
    assert s.pid not in kids
    serve_ok(s.port)
    time.sleep(0.3)
    assert s.workers() == kids, "worker set changed while serving plain requests"


def test_workers_auto_is_the_number_of_cpus_available(sluice, upstream):
    s = start(sluice, upstream, "auto")
    n = len(os.sched_getaffinity(0))
    wait_children(s.pid, n, timeout=3)
    serve_ok(s.port, 4)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs at least 2 CPUs")
def test_workers_auto_follows_the_cpu_affinity_mask(sluice, upstream):
    """`auto` counts the CPUs available to the process (sched_getaffinity), not all of them."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(old)})
    try:
        s = start(sluice, upstream, "auto")    # inherits the one-CPU mask
    finally:
        os.sched_setaffinity(0, old)
    wait_children(s.pid, 1, timeout=3)
    time.sleep(0.3)
    assert len(s.workers()) == 1
    serve_ok(s.port, 4)


def test_master_holds_one_listening_socket_per_worker(sluice, upstream):
    """The master opens one SO_REUSEPORT socket per worker position and keeps them all; each
    worker accepts on its own one (the kernel spreads connections over them evenly)."""
    s = start(sluice, upstream, 2)
    kids = wait_children(s.pid, 2, timeout=3)
    inodes = listening_inodes(s.port)
    assert len(inodes) == 2, f"expected two listening sockets on {s.port}, found {inodes}"
    assert inodes <= socket_inodes_of(s.pid), "the master does not hold every listening socket"
    held = [inodes & socket_inodes_of(k) for k in kids]
    assert all(len(h) == 1 for h in held) and held[0] != held[1], f"workers' sockets: {held}"


def killed_line(s, pid: int, start: int = 0) -> str:
    """The master's log line about worker `pid` ending by SIGKILL."""
    return s.wait_log(rf"(?<!\d){pid}(?!\d).*(signal 9\b|SIGKILL|\bKILL\b)"
                      rf"|(signal 9\b|SIGKILL|\bKILL\b).*(?<!\d){pid}(?!\d)", timeout=2, start=start)


def test_killed_worker_is_replaced_within_one_second_and_logged(sluice, upstream):
    s = start(sluice, upstream, 2)
    kids = wait_children(s.pid, 2, timeout=3)
    serve_ok(s.port, 4)
    victim = kids[0]
    mark = s.log_size()
    t = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    now = wait_children(s.pid, 2, timeout=REPLACE_WITHIN + SLACK, exclude=[victim])
    elapsed = time.monotonic() - t
    assert elapsed <= REPLACE_WITHIN + SLACK, elapsed
    assert kids[1] in now, "the other worker must not be touched"
    assert not alive(victim)
    killed_line(s, victim, mark)
    serve_ok(s.port, 10)


def test_all_workers_killed_at_once_are_all_replaced(sluice, upstream):
    s = start(sluice, upstream, 3)
    kids = wait_children(s.pid, 3, timeout=3)
    mark = s.log_size()
    t = time.monotonic()
    for k in kids:
        os.kill(k, signal.SIGKILL)
    wait_children(s.pid, 3, timeout=REPLACE_WITHIN + SLACK, exclude=kids)
    assert time.monotonic() - t <= REPLACE_WITHIN + SLACK
    for k in kids:
        killed_line(s, k, mark)
    serve_ok(s.port, 10)
    assert s.proc.poll() is None


def test_replacement_keeps_being_replaced(sluice, upstream):
    """Four kills in a row, each of the newest worker after it has served for over a second:
    each time a new one within 1 s.  (Workers dying younger than that may be restarted with
    a growing delay, as a crash-loop brake; that is not tested here.)"""
    s = start(sluice, upstream, 1)
    seen = set(wait_children(s.pid, 1, timeout=3))
    for _ in range(4):
        time.sleep(1.1)
        (victim,) = s.workers()
        t = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        (new,) = wait_children(s.pid, 1, timeout=REPLACE_WITHIN + SLACK, exclude=[victim])
        assert time.monotonic() - t <= REPLACE_WITHIN + SLACK
        assert new not in seen
        seen.add(new)
        serve_ok(s.port, 2)


def test_no_connection_refused_while_a_worker_dies(sluice, upstream):
    """The listener belongs to the master: killing a worker never closes it.  A client
    connecting in a loop meanwhile is never refused, and every request it makes on a fresh
    connection after the kill is answered."""
    s = start(sluice, upstream, 2)
    kids = wait_children(s.pid, 2, timeout=3)
    inodes = listening_inodes(s.port)
    # A connection accepted by the killed worker may be reset: a failure, not a refusal.
    probe = ClientLoop(s.port, "/probe", duration=60)
    time.sleep(0.3)
    os.kill(kids[0], signal.SIGKILL)
    wait_children(s.pid, 2, timeout=REPLACE_WITHIN + SLACK, exclude=[kids[0]])
    time.sleep(0.3)
    before = probe.ok
    time.sleep(0.5)
    probe.stop()
    assert not probe.refused, f"connections refused while a worker died: {probe.refused[:3]}"
    assert probe.ok > before, "nothing answered after the replacement"
    assert len(probe.failures) <= 2, \
        f"more than the killed worker's own connections failed: {probe.failures[:5]}"
    assert listening_inodes(s.port) == inodes, "the listening socket was replaced"


def test_sigterm_stops_master_and_all_workers(sluice, upstream):
    s = start(sluice, upstream, 3)
    kids = wait_children(s.pid, 3, timeout=3)
    s.signal(signal.SIGTERM)
    assert s.wait_exit(5) == 0
    wait_gone(kids, 2)
    assert not children(s.pid)
    wait_until(lambda: not listening_inodes(s.port), 2, what="listener closed")


def test_worker_count_stays_exact_while_serving(sluice, upstream):
    """Serving several hundred requests on many connections creates no extra processes."""
    s = start(sluice, upstream, 2)
    kids = wait_children(s.pid, 2, timeout=3)
    errors = []

    def client(k):
        try:
            with RawClient(s.port) as c:
                for i in range(50):
                    c.send(f"GET /{k}/{i} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
                    r = c.read_response()
                    if r.status != 200:
                        errors.append(r.status)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    ths = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(15)
    assert not errors, errors[:5]
    assert s.workers() == kids


@pytest.mark.deadline(60)
@pytest.mark.parametrize("connections, headers", [(1000, ()), (20, ("Connection: close",))],
                         ids=["keep-alive", "connection-per-request"])
def test_requests_spread_evenly_over_workers(sluice, tmp_path, connections, headers):
    """Under wrk, each of 2 workers takes its share of requests within 20% of the mean, with
    keep-alive connections (each stays on the worker that accepted it) and with one connection
    per request. EPOLLEXCLUSIVE on one shared socket gave 85/15 here; one SO_REUSEPORT socket
    per worker lets the kernel spread connections by a hash of the client's address and port.
    That hash splits C keep-alive connections binomially (standard deviation 1/sqrt(C) of a
    worker's mean count), and each worker's requests follow its connections: with 200 (7%), a CI
    run split 39/61. With 1000 the hash alone is 3.2% (20% is six deviations away); what is left
    is how the scheduler shares the CPUs (at most 11% in twenty runs)."""
    up = NginxUpstream("A", tmp_path)
    try:
        port, sport = free_port(), free_port()
        s = sluice(http_config(port, [up.addr], workers="2", main_extra=stats_block(sport)), ports=[port, sport])
        wait_children(s.pid, 2, timeout=3)
        result = Wrk(f"http://127.0.0.1:{port}/", threads=2, connections=connections, duration=5,
                     headers=headers).result()
        assert result["requests"] > 2000 and result["non2xx"] == 0 and result["connect"] + result["read"] == 0, result
        shares = sorted(w["requests_total"] for w in stats(sport)["workers"])
        mean = sum(shares) / 2
        print(f"per-worker requests ({'keep-alive' if not headers else 'connection per request'}): {shares}")
        assert len(shares) == 2 and all(abs(n - mean) <= 0.2 * mean for n in shares), shares
    finally:
        up.stop()
