"""SPEC §2-3 server health.

Active checks (`health_check path= interval= timeout= rise= fall= [expect=]`): one check per
interval per server for the whole process group, down after `fall` failures and up after
`rise` successes, every transition logged and visible in /stats, /metrics and the HTML page; a
server that is down gets no client traffic.

Passive health (`max_fails` within `fail_timeout`, shared by all workers through shared
memory), backup servers, and 503 at once when nothing is left.
"""
import re
import time

import pytest

from clients import RawClient, assert_proxy_error, get
from conftest import http_config
from messages import simple_request
from ports import Blackhole, free_port
from processes import wait_children, wait_until, worker_of
from servers import Switch
from stats_endpoint import metrics_samples, stats, stats_block, stats_get
from stats_endpoint import server as stats_server


def hc(interval="300ms", timeout="250ms", rise=2, fall=2, extra=""):
    return (f"    health_check path=/healthz interval={interval} timeout={timeout} "
            f"rise={rise} fall={fall}{extra};")


def start(sluice, servers, *, workers="2", backend_extra="", main_extra="", **kw):
    port, sport = free_port(), free_port()
    cfg = http_config(port, servers, workers=workers, backend_extra=backend_extra,
                      main_extra=stats_block(sport) + main_extra, **kw)
    s = sluice(cfg, ports=[port, sport])
    s.stats_port = sport
    return s


def state(s, addr, backend="app"):
    return stats_server(stats(s.stats_port), backend, addr)["state"]


def bodies(s, n):
    return [get(s.port, f"/r{i}").body for i in range(n)]


def up_gauge(s, addr):
    text = stats_get(s.stats_port, "/metrics").body.decode()
    vals = [v for n, lab, v in metrics_samples(text)
            if n == "sluice_backend_server_up" and lab.get("server") == addr and lab.get("backend") == "app"]
    assert len(vals) == 1, vals
    return vals[0]


def html_state(s, addr):
    """The state badge in the HTML page's row of server `addr`."""
    page = stats_get(s.stats_port, "/").body.decode()
    i = page.find(addr)
    assert i >= 0, f"{addr} not on the HTML page"
    m = re.search(r'class="badge (\w+)"', page[i:])
    assert m, page[i:i + 500]
    return m.group(1)


def wait_checks(sw: Switch, n: int, since: float = 0.0, timeout: float = 5.0) -> list:
    return wait_until(lambda: (lambda c: c if len(c) >= n else None)(sw.checks_since(since)),
                      timeout, what=f"{n} health checks")


@pytest.mark.deadline(30)
def test_down_after_fall_failures_up_after_rise_successes(sluice, upstream):
    sa, sb = Switch(b"A"), Switch(b"B")
    a, b = upstream("A", sa), upstream("B", sb)
    s = start(sluice, [a.addr, b.addr], backend_extra=hc(rise=2, fall=3))
    wait_checks(sa, 2)
    assert state(s, a.addr) == "up" and b"A" in bodies(s, 6)

    # --- fall: down exactly at the 3rd failed check, logged, shown everywhere
    log0 = s.log_size()
    t0 = sa.set(503)
    line = s.wait_log(rf"server {re.escape(a.addr)} of backend app is down", timeout=5, start=log0)
    failed = [c for c in sa.checks_since(t0) if c[1] == 503]
    assert len(failed) == 3, f"down after {len(failed)} failed checks (fall=3): {line}"
    assert "status 503" in line and "3 failures" in line, line
    assert "warn" in line or "error" in line, line
    assert state(s, a.addr) == "down" and state(s, b.addr) == "up"
    assert up_gauge(s, a.addr) == 0 and up_gauge(s, b.addr) == 1
    assert html_state(s, a.addr) == "down" and html_state(s, b.addr) == "up"

    # --- a down server gets no client traffic (only the checks go on)
    traffic = sa.traffic_count()
    assert bodies(s, 20) == [b"B"] * 20
    assert sa.traffic_count() == traffic
    n = sa.check_count()
    wait_checks(sa, n + 1)                                # checks continue while down

    # --- rise: up exactly at the 2nd good check
    log1 = s.log_size()
    t1 = sa.set(200)
    line = s.wait_log(rf"server {re.escape(a.addr)} of backend app is up", timeout=5, start=log1)
    good = [c for c in sa.checks_since(t1) if c[1] == 200]
    assert len(good) == 2, f"up after {len(good)} good checks (rise=2): {line}"
    assert "2 successful health checks" in line, line
    assert state(s, a.addr) == "up" and up_gauge(s, a.addr) == 1 and html_state(s, a.addr) == "up"
    got = bodies(s, 20)               # both serve again (each worker has its own rotation)
    assert got.count(b"A") >= 5 and got.count(b"B") >= 5, got
    # exactly one transition each way in the whole log
    log = s.log()
    assert len(re.findall(rf"server {re.escape(a.addr)} of backend app is down", log)) == 1
    assert len(re.findall(rf"server {re.escape(a.addr)} of backend app is up", log)) == 1


@pytest.mark.deadline(20)
def test_one_check_per_interval_for_the_whole_process_group(sluice, upstream):
    """4 workers, interval 250 ms: about 8 checks in 2 s per server, not 4 times that."""
    sa, sb = Switch(b"A"), Switch(b"B")
    a, b = upstream("A", sa), upstream("B", sb)
    s = start(sluice, [a.addr, b.addr], workers="4", backend_extra=hc(interval="250ms"))
    wait_children(s.pid, 4)
    wait_checks(sa, 1)
    t0 = time.monotonic()
    time.sleep(2.0)
    na, nb = len(sa.checks_since(t0)), len(sb.checks_since(t0))
    assert 6 <= na <= 9 and 6 <= nb <= 9, (na, nb)
    for _, _, r in sa.checks[:3]:
        assert r.method == "GET" and r.target == "/healthz"
        assert r.value("Host") == a.addr
        assert "close" in (r.value("Connection") or "").lower()
    # each check on its own connection
    conns = [r.conn_id for _, _, r in sa.checks]
    assert len(set(conns)) == len(conns)


@pytest.mark.deadline(20)
def test_check_timeout_is_a_failure(sluice, upstream):
    sa = Switch(b"A")
    a, b = upstream("A", sa), upstream("B")
    s = start(sluice, [a.addr, b.addr], workers="1",
              backend_extra=hc(interval="200ms", timeout="200ms", fall=1, rise=1))
    wait_checks(sa, 1)
    sa.delay = 1.0
    line = s.wait_log(rf"server {re.escape(a.addr)} of backend app is down", timeout=3)
    assert "timed out" in line, line
    assert bodies(s, 6) == [b"B"] * 6
    sa.delay = 0.0
    s.wait_log(rf"server {re.escape(a.addr)} of backend app is up", timeout=4)


@pytest.mark.deadline(20)
def test_expect_range(sluice, upstream):
    """expect=200-299 makes a 302 a failure; the default range (200-399) takes it as good."""
    strict, lax = Switch(b"S", status=302), Switch(b"L", status=302)
    us, ul = upstream("S", strict), upstream("L", lax)
    port, sport = free_port(), free_port()
    cfg = f"""workers 1;
error_log stderr info;
{stats_block(sport)}backend app {{
    server {us.addr};
    health_check path=/healthz interval=200ms timeout=200ms rise=1 fall=1 expect=200-299;
}}
backend lax {{
    server {ul.addr};
    health_check path=/healthz interval=200ms timeout=200ms rise=1 fall=1;
}}
frontend web {{
    listen 127.0.0.1:{port};
    route path=/lax backend=lax;
    backend app;
}}
"""
    s = sluice(cfg, ports=[port, sport])
    s.stats_port = sport
    line = s.wait_log(rf"server {re.escape(us.addr)} of backend app is down", timeout=3)
    assert "status 302" in line, line
    wait_checks(lax, 3)
    assert "is down" not in "".join(l for l in s.log().splitlines() if ul.addr in l)
    assert stats_server(stats(sport), "lax", ul.addr)["state"] == "up"
    assert get(s.port, "/lax").body == b"L"
    assert_proxy_error(get(s.port, "/x"), 503)
    strict.set(204)
    s.wait_log(rf"server {re.escape(us.addr)} of backend app is up", timeout=3)
    assert get(s.port, "/x").body == b"S"


@pytest.mark.deadline(20)
def test_refused_connection_marks_down(sluice, upstream, dead_port):
    b = upstream("B")
    dead = f"127.0.0.1:{dead_port()}"
    s = start(sluice, [dead, b.addr], workers="1",
              backend_extra=hc(interval="200ms", fall=1) + "\n    retries 0;")
    line = s.wait_log(rf"server {re.escape(dead)} of backend app is down", timeout=3)
    assert "refused" in line.lower(), line
    # with retries 0, a request sent to the dead server would be a 502: none is
    assert bodies(s, 10) == [b"B"] * 10
    assert stats_server(stats(s.stats_port), "app", dead)["failures_total"] == 0


@pytest.mark.deadline(20)
def test_all_servers_failing_checks_503_at_once(sluice, upstream):
    """No server up: 503 at once, without waiting on any connect timeout, and the upstreams
    see no client request."""
    sa, sb = Switch(b"A", status=500), Switch(b"B", status=500)
    a, b = upstream("A", sa), upstream("B", sb)
    s = start(sluice, [a.addr, b.addr], connect_timeout="5s",
              backend_extra=hc(interval="200ms", fall=1))
    for u in (a, b):
        s.wait_log(rf"server {re.escape(u.addr)} of backend app is down", timeout=3)
    for i in range(10):
        t = time.monotonic()
        assert_proxy_error(get(s.port, f"/{i}"), 503)
        assert time.monotonic() - t < 0.3
    assert sa.traffic_count() == 0 and sb.traffic_count() == 0


@pytest.mark.deadline(25)
def test_backup_serves_while_primaries_fail_checks(sluice, upstream):
    sp, sk = Switch(b"primary"), Switch(b"backup")
    p, k = upstream("P", sp), upstream("K", sk)
    s = start(sluice, [p.addr, f"{k.addr} backup"], backend_extra=hc(interval="200ms", fall=1, rise=1))
    assert bodies(s, 5) == [b"primary"] * 5
    wait_checks(sk, 1)                              # backups are checked too
    sp.set(500)
    s.wait_log(rf"server {re.escape(p.addr)} of backend app is down", timeout=3)
    assert bodies(s, 5) == [b"backup"] * 5
    # the backup fails too: nothing left, 503 at once
    sk.set(500)
    s.wait_log(rf"server {re.escape(k.addr)} of backend app is down", timeout=3)
    t = time.monotonic()
    assert_proxy_error(get(s.port, "/"), 503)
    assert time.monotonic() - t < 0.3
    # the primary comes back: it serves again, the backup is left alone
    sp.set(200)
    s.wait_log(rf"server {re.escape(p.addr)} of backend app is up", timeout=3)
    sk.set(200)
    s.wait_log(rf"server {re.escape(k.addr)} of backend app is up", timeout=3)
    before = sk.traffic_count()
    assert bodies(s, 5) == [b"primary"] * 5
    assert sk.traffic_count() == before


# ------------------------------------------------------------------------- passive health

def _spread_connections(s, n_workers, per_worker=2, tries=60):
    """Keep-alive client connections such that every worker holds at least `per_worker` (the
    kernel spreads new connections over the workers' SO_REUSEPORT sockets by a hash of the
    client's port; the ones a full worker would get are closed); returns {pid: [RawClient]}."""
    pids = wait_children(s.pid, n_workers)
    held = {p: [] for p in pids}
    extra = []
    for _ in range(tries):
        c = RawClient(s.port)
        c.send(simple_request("/warm"))            # the worker has accepted it once it answers
        assert c.read_response().status == 200
        w = worker_of(c.sock, pids)
        if w is not None and len(held[w]) < per_worker:
            held[w].append(c)
        else:
            extra.append(c)
        if all(len(v) >= per_worker for v in held.values()):
            break
    for c in extra:
        c.close()
    assert all(len(v) >= per_worker for v in held.values()), \
        f"could not get connections on every worker: { {p: len(v) for p, v in held.items()} }"
    return held


@pytest.mark.deadline(25)
def test_passive_max_fails_shared_across_workers(sluice, upstream, dead_port):
    """max_fails=3 over 2 workers: the server is out after 3 failures *in all*; per-worker
    counting would let each worker fail 3 times.  It comes back after fail_timeout."""
    b = upstream("B")
    dead = f"127.0.0.1:{dead_port()}"
    s = start(sluice, [f"{dead} max_fails=3 fail_timeout=2s", b.addr])
    held = _spread_connections(s, 2)
    conns = [c for cs in zip(*held.values()) for c in cs]       # alternate workers
    t0 = time.monotonic()
    for i in range(24):                                           # every request is retried on B
        c = conns[i % len(conns)]
        c.send(simple_request(f"/p{i}"))
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"B"), i
    assert time.monotonic() - t0 < 1.5, "test too slow for fail_timeout=2s"
    srv = stats_server(stats(s.stats_port), "app", dead)
    assert srv["failures_total"] == 3, srv
    assert srv["state"] == "down", srv
    per_worker = {w["pid"]: w["requests_total"] for w in stats(s.stats_port)["workers"]}
    assert all(per_worker[p] >= 6 for p in held), per_worker
    assert len(re.findall(rf"server {re.escape(dead)} of backend app marked down", s.log())) == 1, s.log()
    # after fail_timeout it is tried again
    wait_until(lambda: stats_server(stats(s.stats_port), "app", dead)["state"] == "up", 3,
               what="the server back after fail_timeout")
    for i in range(4):
        c = conns[i % len(conns)]
        c.send(simple_request(f"/q{i}"))
        assert c.read_response().status == 200
    assert stats_server(stats(s.stats_port), "app", dead)["failures_total"] > 3
    for cs in held.values():
        for c in cs:
            c.close()


@pytest.mark.deadline(20)
def test_failures_further_apart_than_fail_timeout_do_not_add_up(sluice, upstream, dead_port):
    b = upstream("B")
    dead = f"127.0.0.1:{dead_port()}"
    s = start(sluice, [f"{dead} max_fails=2 fail_timeout=1s", b.addr], workers="1")

    def failures():
        return stats_server(stats(s.stats_port), "app", dead)["failures_total"]

    def one_more_failure():
        n = failures()
        for _ in range(4):
            assert get(s.port, "/").body == b"B"
            if failures() > n:
                return
        raise AssertionError("the dead server was not tried")

    one_more_failure()
    time.sleep(1.3)
    one_more_failure()                 # a new window: 1 failure in it
    assert "marked down" not in s.log()
    assert state(s, dead) == "up"
    one_more_failure()                 # 2 within 1 s
    s.wait_log(rf"server {re.escape(dead)} of backend app marked down for 1000 ms after 2 failure", 1)
    assert state(s, dead) == "down"


@pytest.mark.deadline(20)
def test_all_marked_down_still_tried_earliest_mark_first(sluice, upstream):
    """The primary's connects time out (1 s): the first request waits once and is served by
    the backup. Once the backup is gone too, every server carries a passive mark: a request is
    still tried on the one whose mark ends first (the primary: 1 s connect wait), then on the
    other, and gets 502; 503 is only for servers that active checks report down."""
    hole = Blackhole()
    k = upstream("K")
    try:
        s = start(sluice, [f"{hole.addr} max_fails=1 fail_timeout=10s",
                           f"{k.addr} backup max_fails=1 fail_timeout=10s"],
                  workers="1", connect_timeout="1s")
        t = time.monotonic()
        resp = get(s.port, "/first")
        assert (resp.status, resp.body) == (200, b"K")
        assert 0.9 <= time.monotonic() - t < 2.0
        s.wait_log(rf"server {re.escape(hole.addr)} of backend app marked down", 1)
        for i in range(5):
            t = time.monotonic()
            assert get(s.port, f"/{i}").body == b"K"
            assert time.monotonic() - t < 0.3
        k.stop()                                         # the backup goes away (connect refused)
        resp = get(s.port, "/gone")
        assert resp.status == 502, resp.status
        s.wait_log(rf"server {re.escape(k.addr)} of backend app marked down", 1)
        log_start = len(s.log())
        t = time.monotonic()
        assert_proxy_error(get(s.port, "/none"), 502)
        assert 0.9 <= time.monotonic() - t < 2.0, "the earliest mark (the primary) was tried first"
        tried = s.log()[log_start:]
        assert tried.index(f"connect to {hole.addr} timed out") < tried.index(f"connect to {k.addr} failed"), tried
    finally:
        hole.close()
