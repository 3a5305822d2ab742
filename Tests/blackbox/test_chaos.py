"""Chaos: 20 s of mixed keep-alive, one-connection-per-request and HTTP/2 load while workers are
SIGKILLed, upstreams are killed and restarted (never both at once) and the configuration is
reloaded twice.  Afterwards every request either succeeded, or failed with a proxy-made
502/503 while a server was really gone, or lost its connection because the worker serving it
was killed at that moment, or (HTTP/2) was above the last stream a reload's GOAWAY named, so
never processed; no worker of an old generation is left; every gauge in /stats is back to its
true value.  Bounded: the load stops by itself after LOAD seconds."""
import os
import signal
import threading
import time

import pytest
from h2.connection import ConnectionState

from clients import RawClient
from conftest import http_config
from h2_clients import H2Client
from ports import free_port
from processes import children, wait_until
from servers import KillableUpstream
from stats_endpoint import stats, stats_block

LOAD = 20.0
MARGIN = 1.0       # seconds around an event within which its failures are accepted
PROXY_ERRORS = {502: b"bad gateway\n", 503: b"service unavailable\n"}


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.results = []          # (start, end, status or None, body or error text)

    def add(self, *result):
        with self.lock:
            self.results.append(result)


def connected(make, rec):
    """A new connection from `make`, or None (recorded as a failure) when connecting failed."""
    try:
        return make()
    except OSError as e:
        rec.add(time.monotonic(), time.monotonic(), None, f"connect: {e}")
        time.sleep(0.05)
        return None


def keepalive_client(port, until, rec):
    """Requests on one keep-alive connection; a new connection when it breaks."""
    while time.monotonic() < until:
        c = connected(lambda: RawClient(port), rec)
        if c is None:
            continue
        with c:
            while time.monotonic() < until:
                t0 = time.monotonic()
                try:
                    c.send(b"GET /ka HTTP/1.1\r\nHost: chaos\r\n\r\n")
                    r = c.read_response()
                except Exception as e:  # noqa: BLE001 - every failure is classified below
                    rec.add(t0, time.monotonic(), None, f"{type(e).__name__}: {e}")
                    break
                rec.add(t0, time.monotonic(), r.status, r.body)
                if r.status != 200 or any(k.lower() == "connection" and v == "close" for k, v in r.headers):
                    break


def close_client(port, until, rec):
    while time.monotonic() < until:
        t0 = time.monotonic()
        try:
            with RawClient(port) as c:
                c.send(b"GET /close HTTP/1.1\r\nHost: chaos\r\nConnection: close\r\n\r\n")
                r = c.read_response()
            rec.add(t0, time.monotonic(), r.status, r.body)
        except Exception as e:  # noqa: BLE001
            rec.add(t0, time.monotonic(), None, f"{type(e).__name__}: {e}")


def h2_client(port, until, rec):
    """HTTP/2 with prior knowledge, three streams at a time on one connection; a new connection
    when it breaks or after a GOAWAY."""
    while time.monotonic() < until:
        c = connected(lambda: H2Client(port), rec)
        if c is None:
            continue
        with c:
            while time.monotonic() < until and c.goaway is None and not c.closed:
                t0 = time.monotonic()
                sids, error = [], None
                try:
                    sids = [c.request("/h2", authority="chaos") for _ in range(3)]
                    c.wait(sids, timeout=10)
                except Exception as e:  # noqa: BLE001 - every failure is classified below
                    error = f"h2 {type(e).__name__}: {e}"
                t1 = time.monotonic()
                # Python's h2 closes its side on GOAWAY (the only way it reaches CLOSED here) and
                # rejects the frames of the streams the server still completes, sometimes before
                # reporting the GOAWAY (nghttp reads them: test_http2.py checks that).
                after_goaway = c.goaway is not None or c.conn.state_machine.state == ConnectionState.CLOSED
                for sid in sids:
                    r = c.responses[sid]
                    if r.ended:
                        rec.add(t0, t1, r.status, r.body)
                    elif c.goaway is not None and sid > c.goaway.last_stream_id:
                        rec.add(t0, t1, "refused", "above the GOAWAY's last stream")
                    elif after_goaway:
                        rec.add(t0, t1, "refused", "client stopped reading at GOAWAY")
                    else:
                        rec.add(t0, t1, None, error or f"stream reset {r.reset}")
                if error or not sids:
                    break


@pytest.mark.deadline(90)
def test_chaos(sluice, tmp_path):
    a = KillableUpstream("A", tmp_path, delay=0.005)
    b = KillableUpstream("B", tmp_path, delay=0.005)
    port, sport = free_port(), free_port()

    def config(generation):
        return http_config(port, [a.addr, b.addr], workers="2", read_timeout="3s", connect_timeout="500ms",
                           backend_extra=f"    health_check interval=300ms timeout=200ms rise=1 fall=1;\n"
                                         f"    keepalive {16 + generation};",
                           main_extra=stats_block(sport) + "drain_timeout 3s;\n")

    s = sluice(config(0), ports=[port, sport])
    try:
        rec = Recorder()
        t_start = time.monotonic()
        until = t_start + LOAD
        threads = [threading.Thread(target=keepalive_client, args=(port, until, rec), daemon=True) for _ in range(4)]
        threads += [threading.Thread(target=close_client, args=(port, until, rec), daemon=True) for _ in range(2)]
        h2rec = Recorder()
        threads += [threading.Thread(target=h2_client, args=(port, until, h2rec), daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        kills, gone, reloads = [], [], []       # worker kills; (from, to) upstream outages

        def at(offset):
            time.sleep(max(0.0, t_start + offset - time.monotonic()))

        def kill_a_worker():
            victim = children(s.proc.pid)[0]
            kills.append(time.monotonic())
            os.kill(victim, signal.SIGKILL)

        at(2); kill_a_worker()
        at(4); down = time.monotonic(); a.crash()
        at(7); a.start(); gone.append((down, time.monotonic()))
        at(8); reloads.append(time.monotonic()); s.reload(config(1))
        at(10); kill_a_worker()
        at(12); down = time.monotonic(); b.crash()
        at(14); reloads.append(time.monotonic()); s.reload(config(2))
        at(15); b.start(); gone.append((down, time.monotonic()))
        at(17); kill_a_worker()
        for t in threads:
            t.join(LOAD + 15)
            assert not t.is_alive(), "a client did not stop"

        results = rec.results + h2rec.results
        ok = [r for r in results if r[2] == 200]
        assert len(ok) > 1000, f"only {len(ok)} successful requests"
        h2_ok = sum(1 for r in h2rec.results if r[2] == 200)
        assert h2_ok > 300, f"only {h2_ok} successful HTTP/2 requests"
        assert {r[3] for r in ok} <= {b"A", b"B"}

        def near(t0, t1, moments):
            return any(t0 - MARGIN <= m <= t1 + MARGIN for m in moments)

        def during_outage(t0, t1):
            return any(t0 <= end + MARGIN and t1 >= start - MARGIN for start, end in gone)

        unexplained = []
        for t0, t1, status, what in results:
            if status == 200:
                continue
            if status in PROXY_ERRORS and what == PROXY_ERRORS[status] and during_outage(t0, t1):
                continue
            if status is None and near(t0, t1, kills):
                continue
            if status == "refused" and near(t0, t1, reloads):
                continue
            unexplained.append((round(t0 - t_start, 3), round(t1 - t_start, 3), status, what))
        assert not unexplained, f"{len(unexplained)} unexplained failures, first: {unexplained[:5]}"
        print(f"chaos: {len(ok)} requests answered 200 ({h2_ok} over HTTP/2), {len(results) - len(ok)} failures, "
              f"each explained by a killed worker, a server that was gone or a GOAWAY")

        # No worker of an old generation is left; the gauges are true again.
        def settled():
            st = stats(sport)
            workers = st["workers"]
            return (sorted(w["pid"] for w in workers) == children(s.proc.pid) and len(workers) == 2
                    and all(w["generation"] == st["generation"] for w in workers)
                    and st["frontends"][0]["connections_active"] == 0
                    and st["frontends"][0]["http2"]["connections_active"] == 0
                    and all(srv["active_requests"] == 0 for srv in st["backends"][0]["servers"])
                    and sum(w["connections_active"] for w in workers) == 0)
        wait_until(settled, 8, what="two workers of the last generation and every gauge at zero")
        st = stats(sport)
        assert st["generation"] == 3 and st["reloads"]["succeeded"] == 2
        assert sum(w["restarts"] for w in st["workers"]) + 0 <= 3
        assert sum(st["frontends"][0]["responses"].values()) == st["frontends"][0]["requests_total"]
    finally:
        a.stop()
        b.stop()
