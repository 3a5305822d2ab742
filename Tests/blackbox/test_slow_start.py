"""SPEC §7 `server ... slow_start=D`: a server that comes up ramps its effective weight linearly
from near 0 to its weight over D.

Beside a full-weight server (round-robin, both weight 1), a server with `slow_start=4s` comes up
(added by a reload, enabled through the runtime control after a disable, or back up after
failed active health checks); two clients send requests on fresh connections for ~5.5 s, and
the upstreams note the arrival time of each.  Over time windows after the server came up, its
share of what reached the upstreams must be small at first (weight ~t/4: ~10% over the first
second), grow, and be about half after the ramp.  The bounds leave room for a loaded machine:
each window holds at least 40 requests, and shares are compared with generous margins.
"""
import threading
import time

import pytest

from clients import RawClient, get
from conftest import http_config
from messages import request_head
from ports import free_port
from processes import wait_children, wait_until
from servers import Reply, Switch
from stats_endpoint import server as stats_server
from stats_endpoint import stats, stats_block, wait_reloads

RAMP = 4.0
# (start, end) relative to the moment the server came up, and the bounds of its share there.
# Expected share at t: (t/4) / (1 + t/4): ~0.11 averaged over [0, 1], 0.33 at 2 s, 0.5 after 4 s.
WINDOWS = [((0.0, 1.0), 0.0, 0.22), ((1.5, 2.5), 0.18, 0.45), ((4.3, 5.3), 0.38, 0.62)]
LOAD_SECONDS = 5.5


class Arrivals:
    """A handler for RecordingUpstream noting (monotonic time, name) of each /load request."""

    def __init__(self, name: str, inner=None):
        self.name = name
        self.inner = inner
        self.lock = threading.Lock()
        self.times: list = []

    def __call__(self, req):
        if req.target.startswith("/load"):
            with self.lock:
                self.times.append(time.monotonic())
        if self.inner is not None:
            return self.inner(req)
        return Reply(body=self.name.encode())

    def between(self, t0: float, t1: float) -> int:
        with self.lock:
            return sum(1 for t in self.times if t0 <= t < t1)


def admin_block(port: int) -> str:
    return stats_block(port).replace("}\n", "    admin on;\n}\n")


def conf(port, sp, servers, **kw):
    return http_config(port, servers, workers=1, main_extra=admin_block(sp), **kw)


def start(sluice, servers, **kw):
    port, sp = free_port(), free_port()
    s = sluice(conf(port, sp, servers, **kw), ports=[port, sp])
    s.stats_port = sp
    s.make = lambda addrs, **k: conf(port, sp, addrs, **{**kw, **k})
    return s


class Load:
    """Two clients doing GET /load on a fresh connection per request until stopped; every
    answer must be 200."""

    def __init__(self, port: int, clients: int = 2):
        self.port = port
        self.errors: list = []
        self.count = 0
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]
        for t in self.threads:
            t.start()

    def run(self, i):
        n = 0
        while not self.stop_flag.is_set():
            try:
                r = get(self.port, f"/load/{i}/{n}")
                if r.status != 200:
                    self.errors.append(f"status {r.status} {r.body[:80]!r}")
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.errors.append(repr(e))
            n += 1
            self.count += 1

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(10)


def check_ramp(full: Arrivals, ramping: Arrivals, t0: float) -> list:
    """The ramping server's share per window after t0 (the moment it came up)."""
    shares = []
    for (start, end), low, high in WINDOWS:
        r = ramping.between(t0 + start, t0 + end)
        f = full.between(t0 + start, t0 + end)
        assert r + f >= 40, f"only {r + f} requests in [{start}, {end}] s: too few to measure"
        shares.append((start, end, r / (r + f), r, f, low, high))
    report = ", ".join(f"[{a}-{b}s] {sh:.2f} ({r}/{r + f})" for a, b, sh, r, f, _, _ in shares)
    for a, b, share, r, f, low, high in shares:
        assert low <= share <= high, f"slow-start share in [{a}, {b}] s is {share:.2f}, " \
                                     f"expected {low}..{high}; all windows: {report}"
    assert shares[0][2] < shares[1][2] < shares[2][2], f"the share must grow: {report}"
    return shares


def run_load_from(s, t0: float) -> None:
    load = Load(s.port)
    try:
        wait_until(lambda: time.monotonic() >= t0 + LOAD_SECONDS, LOAD_SECONDS + 2, interval=0.1,
                   what="the load period")
    finally:
        load.stop()
    assert not load.errors, load.errors[:5]


@pytest.mark.deadline(30)
def test_server_added_by_reload_ramps_up(sluice, upstream):
    full, ramping = Arrivals("full"), Arrivals("new")
    a, b = upstream("full", full), upstream("new", ramping)
    s = start(sluice, [a.addr])
    kids = wait_children(s.pid, 1)
    assert get(s.port, "/warm").body == b"full"
    t0 = time.monotonic()
    s.reload(s.make([a.addr, f"{b.addr} slow_start=4s"]))
    load = Load(s.port)
    try:
        wait_reloads(s.stats_port, 1)
        wait_children(s.pid, 1, timeout=3, exclude=kids)
        wait_until(lambda: time.monotonic() >= t0 + LOAD_SECONDS, LOAD_SECONDS + 2, interval=0.1,
                   what="the load period")
    finally:
        load.stop()
    assert not load.errors, load.errors[:5]
    check_ramp(full, ramping, t0)


@pytest.mark.deadline(30)
def test_server_enabled_through_the_runtime_control_ramps_up(sluice, upstream):
    full, ramping = Arrivals("full"), Arrivals("slow")
    a, b = upstream("full", full), upstream("slow", ramping)
    s = start(sluice, [a.addr, f"{b.addr} slow_start=4s"])

    def post(body):
        with RawClient(s.stats_port) as c:
            c.send(request_head("POST", f"/servers/app/{b.addr}/state", "stats", body=body, close=True))
            r = c.read_response()
        assert r.status == 200, (r.status, r.body)

    post(b"disable")
    for i in range(6):
        assert get(s.port, f"/off/{i}").body == b"full"
    assert ramping.between(0, time.monotonic() + 1) == 0
    t0 = time.monotonic()
    post(b"enable")
    run_load_from(s, t0)
    check_ramp(full, ramping, t0)
    assert stats_server(stats(s.stats_port), "app", b.addr)["state"] == "up"


@pytest.mark.deadline(30)
def test_server_back_up_after_health_checks_ramps_up(sluice, upstream):
    switch = Switch(b"slow")
    full, ramping = Arrivals("full"), Arrivals("slow", inner=switch)
    a, b = upstream("full", full), upstream("slow", ramping)
    hc = "    health_check path=/healthz interval=100ms timeout=2s rise=1 fall=2;"
    s = start(sluice, [a.addr, f"{b.addr} slow_start=4s"], backend_extra=hc)
    switch.set(503)
    wait_until(lambda: stats_server(stats(s.stats_port), "app", b.addr)["state"] == "down", 3,
               interval=0.02, what="the slow-start server down")
    t_switch = switch.set(200)
    # It comes up at the first good check after the switch (within one interval).
    wait_until(lambda: switch.checks_since(t_switch), 2, interval=0.005, what="a good check")
    t0 = switch.checks_since(t_switch)[0][0]
    run_load_from(s, t0)
    check_ramp(full, ramping, t0)
