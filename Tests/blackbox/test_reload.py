"""SPEC §4 SIGHUP reload: an invalid file is logged (FILE:LINE:COL), counted and changes
nothing; a valid one starts a new generation of workers while the old ones finish what is in
flight, answer `Connection: close`, close idle keep-alive connections and exit within
`drain_timeout`; listeners that stay are never closed, new ones open.  The last test is the
reload-under-load check: wrk + a one-connection-per-request client through 11 reloads."""
import re
import socket
import time

import pytest

from clients import ClientLoop, RawClient, Wrk, get
from conftest import http_config
from ports import free_port, port_accepts
from processes import alive, listening_inodes, wait_children, wait_gone, wait_until
from servers import FastUpstream, Reply
from stats_endpoint import backend, current_workers, frontend, stats, stats_block, wait_reloads

WORKERS = 2


def conf(port, stats_port, servers, *, workers=WORKERS, drain="5s", main_extra="", **kw):
    return http_config(port, servers, workers=workers,
                       main_extra=stats_block(stats_port) + f"drain_timeout {drain};\n" + main_extra,
                       **kw)


def with_typo(text: str):
    """The same configuration with `balance` misspelt: (text, line, column) of the error."""
    i = text.index("balance ")
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    return text[:i] + "blance " + text[i + len("balance "):], line, col


def start(sluice, upstream_addrs, **kw):
    port, sp = free_port(), free_port()
    text = conf(port, sp, upstream_addrs, **kw)
    s = sluice(text, ports=[port, sp])
    s.stats_port = sp
    s.make = lambda addrs, **k: conf(port, sp, addrs, **{**kw, **k})
    kids = wait_children(s.pid, kw.get("workers", WORKERS), timeout=3)
    return s, kids


def bodies(port: int, n: int, path: str = "/") -> list:
    out = []
    for i in range(n):
        r = get(port, f"{path}{i}")
        assert r.status == 200, (r.status, r.body)
        out.append(r.body)
    return out


def test_invalid_reload_is_logged_counted_and_changes_nothing(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s, kids = start(sluice, [a.addr])
    st0 = stats(s.stats_port)
    bad, line, col = with_typo(s.make([b.addr]))
    mark = s.log_size()
    s.reload(bad)
    st = wait_reloads(s.stats_port, 1)
    logged = s.wait_log(rf"{re.escape(str(s.config))}:{line}:{col}: .*blance", start=mark)
    assert st["reloads"]["succeeded"] == 0 and st["reloads"]["failed"] == 1, st["reloads"]
    err = st["reloads"]["last_error"]
    assert isinstance(err, str) and "blance" in err and f":{line}:{col}: " in err, (err, logged)
    assert st["generation"] == st0["generation"]
    time.sleep(0.5)
    assert s.workers() == kids, "an invalid reload must not touch the workers"
    assert set(bodies(s.port, 6)) == {b"A"}, "the running configuration must keep serving"
    assert not b.snapshot()

    # A second, different error replaces last_error; the count goes on.
    text = s.make([b.addr]).replace(f"server {b.addr};", f"server {b.addr} weight=zero;")
    s.reload(text)
    st = wait_reloads(s.stats_port, 2)
    assert st["reloads"]["failed"] == 2 and st["reloads"]["succeeded"] == 0
    assert "blance" not in st["reloads"]["last_error"], st["reloads"]
    assert s.workers() == kids


def test_valid_reload_starts_a_new_generation(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s, kids = start(sluice, [a.addr])
    g0 = stats(s.stats_port)["generation"]
    assert set(bodies(s.port, 4)) == {b"A"}
    s.reload(s.make([b.addr]))
    st = wait_reloads(s.stats_port, 1)
    assert st["reloads"]["succeeded"] == 1 and st["reloads"]["failed"] == 0, st["reloads"]
    assert st["generation"] == g0 + 1

    # Idle old workers leave at once; the new generation is exactly `workers` children.
    def settled():
        st = stats(s.stats_port)
        cur = current_workers(st)
        return cur if len(cur) == WORKERS and s.workers() == cur else None
    new = wait_until(settled, 3, what="only the new generation's workers left")
    assert not set(new) & set(kids)
    wait_gone(kids, 1)
    assert set(bodies(s.port, 6)) == {b"B"}
    st = stats(s.stats_port)
    assert all(w["generation"] == st["generation"] for w in st["workers"] if w["pid"] in new)


def test_reload_changes_the_worker_count(sluice, upstream):
    a = upstream("A")
    s, kids = start(sluice, [a.addr], workers=2)
    s.reload(s.make([a.addr], workers=3))
    wait_reloads(s.stats_port, 1)
    new = wait_children(s.pid, 3, timeout=3, exclude=kids)
    assert current_workers(stats(s.stats_port)) == new
    s.reload(s.make([a.addr], workers=1))
    wait_reloads(s.stats_port, 2)
    wait_children(s.pid, 1, timeout=3, exclude=new)
    assert set(bodies(s.port, 3)) == {b"A"}


def test_in_flight_request_finishes_on_the_old_worker_with_connection_close(sluice, upstream):
    def slow_a(req):
        if req.target == "/slow":
            return Reply(body=b"A-slow", delay=2.5)
        return Reply(body=b"A")
    a, b = upstream("A", slow_a), upstream("B")
    s, kids = start(sluice, [a.addr], drain="10s")
    with RawClient(s.port) as c:
        c.send(b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
        r1 = c.read_response()
        assert (r1.status, r1.body) == (200, b"A")
        assert "close" not in r1.tokens("Connection")
        c.send(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_until(lambda: len(a.snapshot()) >= 2, 2, what="/slow at the upstream")
        s.reload(s.make([b.addr]))
        wait_reloads(s.stats_port, 1, timeout=2)
        # The new generation serves new connections while the old worker still works.
        wait_until(lambda: get(s.port, "/during").body == b"B", 2, interval=0.05,
                   what="new connections served by the new configuration")
        assert any(alive(k) for k in kids), "the old worker left with a request in flight"
        r2 = c.read_response()
        assert (r2.status, r2.body) == (200, b"A-slow"), (r2.status, r2.body)
        assert "close" in r2.tokens("Connection"), \
            f"a draining worker must announce Connection: close: {r2.headers}"
        c.wait_closed(2)
    wait_gone(kids, 2)
    wait_children(s.pid, WORKERS, timeout=1, exclude=kids)


def test_idle_keep_alive_connections_are_closed_after_reload(sluice, upstream):
    a = upstream("A")
    s, kids = start(sluice, [a.addr], drain="30s")
    clients = [RawClient(s.port) for _ in range(4)]
    try:
        for c in clients:
            c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            r = c.read_response()
            assert r.status == 200 and "close" not in r.tokens("Connection")
        s.reload()
        wait_reloads(s.stats_port, 1, timeout=3)
        t = time.monotonic()
        for c in clients:
            left = max(0.1, 2.5 - (time.monotonic() - t))
            assert c.wait_closed(left) == b"", "an idle connection got bytes instead of a close"
        # drain_timeout is 30 s, but nothing is in flight: the old workers leave at once.
        wait_gone(kids, 2.5)
    finally:
        for c in clients:
            c.close()


def test_drain_timeout_bounds_the_old_workers(sluice, upstream):
    a = upstream("A", lambda r: Reply(silent=True) if r.target == "/hang" else Reply(body=b"A"))
    s, kids = start(sluice, [a.addr], drain="1s", read_timeout="30s")
    with RawClient(s.port) as c:
        c.send(b"GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_until(lambda: a.snapshot(), 2, what="/hang at the upstream")
        s.reload()
        wait_reloads(s.stats_port, 1, timeout=3)
        t = time.monotonic()
        assert get(s.port, "/x").body == b"A"
        time.sleep(0.5)
        assert any(alive(k) for k in kids), "the old worker must wait for its request (drain)"
        wait_gone(kids, 2.5)
        elapsed = time.monotonic() - t
        assert elapsed < 2.5, elapsed
        c.wait_closed(2)          # whatever it was told, the hanging client is not kept
    wait_children(s.pid, WORKERS, timeout=1, exclude=kids)


def test_reload_opens_new_listeners_and_keeps_existing_ones(sluice, upstream):
    a = upstream("A")
    s, kids = start(sluice, [a.addr])
    p2 = free_port()        # the probe below uses many ephemeral ports
    before = listening_inodes(s.port)
    assert len(before) == WORKERS, "one SO_REUSEPORT socket per worker position"
    probe = ClientLoop(s.port, "/probe", duration=60)
    try:
        time.sleep(0.2)
        s.reload(s.make([a.addr], frontend_extra=f"    listen 127.0.0.1:{p2};"))
        wait_reloads(s.stats_port, 1, timeout=3)
        wait_until(lambda: port_accepts(p2), 2, what=f"new listener on {p2}")
        assert get(p2, "/new").body == b"A"
        wait_gone(kids, 3)
        time.sleep(0.3)
    finally:
        probe.stop()
    assert not probe.refused, f"connection refused during the reload: {probe.refused[:3]}"
    assert not probe.failures, f"requests failed during the reload: {probe.failures[:3]}"
    assert probe.ok > 5
    assert listening_inodes(s.port) == before, "the listener that stayed was closed and reopened: queues lost"


def test_reload_that_cannot_listen_fails_and_keeps_serving(sluice, upstream):
    """A new `listen` on a port that is taken: the reload fails, is counted, and the
    running configuration keeps serving with its workers."""
    a = upstream("A")
    s, kids = start(sluice, [a.addr])
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    p2 = busy.getsockname()[1]
    try:
        mark = s.log_size()
        s.reload(s.make([a.addr], frontend_extra=f"    listen 127.0.0.1:{p2};"))
        st = wait_reloads(s.stats_port, 1, timeout=3)
        assert st["reloads"]["failed"] == 1 and st["reloads"]["succeeded"] == 0, st["reloads"]
        s.wait_log(str(p2), start=mark)
        time.sleep(0.3)
        assert s.workers() == kids
        assert set(bodies(s.port, 4)) == {b"A"}
    finally:
        busy.close()


def test_reload_adds_a_server_that_then_gets_its_share(sluice, upstream):
    a, b, c = upstream("A"), upstream("B"), upstream("C")
    s, kids = start(sluice, [a.addr, b.addr], workers=1)
    bodies(s.port, 4)
    s.reload(s.make([a.addr, b.addr, c.addr], workers=1))
    wait_reloads(s.stats_port, 1)
    wait_children(s.pid, 1, timeout=3, exclude=kids)
    got = bodies(s.port, 30)
    assert {x: got.count(x) for x in set(got)} == {b"A": 10, b"B": 10, b"C": 10}, got
    addrs = [x["address"] for x in backend(stats(s.stats_port), "app")["servers"]]
    assert sorted(addrs) == sorted([a.addr, b.addr, c.addr])


@pytest.mark.deadline(90)
def test_reload_under_load(sluice, tmp_path):
    """wrk (20 keep-alive connections) and a one-connection-per-request client for 12 s;
    meanwhile 11 SIGHUPs ~0.9 s apart: 9 rewrite a valid configuration, one adds a third
    server, one is invalid (and the next valid one restores).  Nothing may fail."""
    ups = [FastUpstream(n) for n in ("A", "B", "C")]
    a, b, c = ups
    try:
        port, sp = free_port(), free_port()

        def text(servers):
            return http_config(port, [u.addr for u in servers], workers=2, read_timeout="5s",
                               main_extra=stats_block(sp) + "drain_timeout 5s;\n")

        two, three = text([a, b]), text([a, b, c])
        bad, line, col = with_typo(three)
        s = sluice(two, ports=[port, sp])
        wait_children(s.pid, 2, timeout=3)
        g0 = stats(sp)["generation"]

        wrk = Wrk(f"http://127.0.0.1:{port}/wrk", threads=2, connections=20,
                  duration=12)
        py = ClientLoop(port, "/py", duration=12)
        try:
            time.sleep(0.7)
            plan = [two, two, three, three, bad, three, three, three, three, three, three]
            t0 = time.monotonic()
            c_before_add = None
            for i, conf_text in enumerate(plan):
                if conf_text is three and c_before_add is None:
                    c_before_add = c.requests()
                s.reload(conf_text)
                wait_reloads(sp, i + 1, timeout=5)
                time.sleep(max(0.0, t0 + (i + 1) * 0.9 - time.monotonic()))
            assert time.monotonic() - t0 < 11.5, "the reloads did not fit in the load window"
            res = wrk.result()
            py.join()
        finally:
            wrk.kill()
            py.stop()

        print(f"wrk {res['requests']} responses, one-shot client {py.ok} ok / "
              f"{len(py.failures)} failed, upstreams A={a.requests()} B={b.requests()} "
              f"C={c.requests()}")
        errors = {k: res[k] for k in ("connect", "read", "write", "timeout", "status", "non2xx")}
        assert errors == dict.fromkeys(errors, 0), f"wrk saw errors {errors}:\n{res['text']}"
        assert res["requests"] > 200 and res["ok2xx"] == res["requests"], res
        assert not py.failures, f"{len(py.failures)} one-shot requests failed: {py.failures[:5]}"
        assert py.ok > 20, py.ok
        assert c_before_add == 0, "server C got traffic before it was configured"
        assert c.requests() > 0, "the added server received nothing"
        assert a.requests() > 0 and b.requests() > 0
        served = a.requests() + b.requests() + c.requests()
        assert served >= res["requests"] + py.ok
        assert not any(u.errors for u in ups), [u.errors for u in ups]

        s.wait_log(rf"{re.escape(str(s.config))}:{line}:{col}: .*blance")
        st = stats(sp)
        assert st["reloads"]["succeeded"] >= 9 and st["reloads"]["failed"] >= 1, st["reloads"]
        assert (st["reloads"]["succeeded"], st["reloads"]["failed"]) == (10, 1), st["reloads"]
        assert st["generation"] == g0 + 10
        assert frontend(st, "web")["requests_total"] >= res["requests"] + py.ok

        # Drain over: only the current generation is left, `workers` of them.
        def settled():
            st = stats(sp)
            cur = current_workers(st)
            return cur if len(cur) == 2 and s.workers() == cur else None
        wait_until(settled, 8, interval=0.1,
                   what=f"only the current generation's 2 workers (children {s.workers()})")
        assert s.proc.poll() is None
    finally:
        for u in ups:
            u.stop()
