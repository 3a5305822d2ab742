"""Failover under load (the issue's item 3).

Two upstreams, each its own process; `wrk` and a one-connection-per-request client run for
20 seconds.  One upstream is killed (SIGKILL: the kernel closes its sockets, like a crash): only
requests in flight on it may fail, and there are at most as many failures as it held in
flight when it died (requests read and unanswered, connections with unread request bytes,
fresh connections on which a request is on its way).  Every later request succeeds on the
other one.  Restarted on the same port, active health checks bring it back and it takes
traffic again within rise x interval + 1 s.
"""
import time

import pytest

from clients import ClientLoop, Wrk
from conftest import http_config
from ports import free_port
from servers import KillableUpstream
from stats_endpoint import server as stats_server
from stats_endpoint import stats, stats_block

INTERVAL = 0.5
RISE = 2
LOAD_SECONDS = 20


def _config(port, sport, a, b, server_params=""):
    return http_config(
        port, [f"{a.addr}{server_params}", f"{b.addr}{server_params}"], workers="2",
        connect_timeout="1s", read_timeout="5s",
        backend_extra=f"    health_check path=/healthz interval={int(INTERVAL * 1000)}ms timeout=300ms "
                      f"rise={RISE} fall=2;",
        main_extra=stats_block(sport))


def _requests_to(sport, addr):
    return stats_server(stats(sport), "app", addr)["requests_total"]


def _run_failover(sluice, tmp_path, server_params="", load_seconds=LOAD_SECONDS, crash_at=4.0,
                  down_for=6.0):
    a = KillableUpstream("A", tmp_path, delay=0.02)
    b = KillableUpstream("B", tmp_path, delay=0.02)
    try:
        port, sport = free_port(), free_port()
        s = sluice(_config(port, sport, a, b, server_params), ports=[port, sport])
        wrk = Wrk(f"http://127.0.0.1:{port}/load", threads=2, connections=16,
                  duration=load_seconds, timeout="4s")
        loop = ClientLoop(port, "/loop", duration=load_seconds)
        t_start = time.monotonic()
        time.sleep(crash_at)
        assert _requests_to(sport, a.addr) > 50 and _requests_to(sport, b.addr) > 50

        # --- crash A under load
        held = a.crash()
        t_crash = time.monotonic()
        in_flight = held["inflight"] + held["unread"] + held["fresh"]
        s.wait_log(rf"server {a.addr} of backend app (is down|marked down)", timeout=3)

        # --- restart it on the same port while the load goes on
        time.sleep(max(0.0, t_crash + down_for - time.monotonic()))
        a.start()
        t_restart = time.monotonic()
        before = _requests_to(sport, a.addr)
        back_after = float("inf")             # unless it takes traffic before the load ends
        while time.monotonic() < t_start + load_seconds - 1:
            if _requests_to(sport, a.addr) > before:
                back_after = time.monotonic() - t_restart
                break
            time.sleep(0.05)

        res = wrk.result()
        loop.join()
        served_by_new_a = a.crash()["served"]
        return dict(res=res, loop=loop, in_flight=in_flight, held=held, back_after=back_after,
                    t_crash=t_crash, served_by_new_a=served_by_new_a, sluice=s)
    finally:
        wrk_proc = locals().get("wrk")
        if wrk_proc is not None:
            wrk_proc.kill()
        a.stop()
        b.stop()


def _assert_failover(r):
    res, loop = r["res"], r["loop"]
    failures = res["non2xx"] + res["read"] + res["write"] + res["timeout"] + len(loop.failures)
    report = (f"wrk {res['requests']} requests, non2xx {res['non2xx']}, errors read {res['read']} "
              f"write {res['write']} timeout {res['timeout']} connect {res['connect']}; loop ok "
              f"{loop.ok}, failures {loop.failures}; in flight on the killed upstream: {r['held']}")
    print(report)
    assert res["connect"] == 0, report
    assert res["requests"] > 1000 and loop.ok > 50, report
    assert failures <= r["in_flight"], report
    # failures, if any, were the requests in flight at the crash, not later ones
    for f in loop.failures:
        t = float(f.split(":")[0])
        assert r["t_crash"] - 0.5 <= t <= r["t_crash"] + 1.0, f
    assert r["back_after"] <= RISE * INTERVAL + 1.0, \
        f"restarted upstream took traffic again after {r['back_after']:.2f}s"
    assert r["served_by_new_a"] > 50, r["served_by_new_a"]


@pytest.mark.deadline(60)
def test_failover_under_load_health_checks_only(sluice, tmp_path):
    """Passive health off (max_fails=0): failover rests on connect retries and the active
    checks alone, and the checks alone bring the server back."""
    _assert_failover(_run_failover(sluice, tmp_path, " max_fails=0"))


@pytest.mark.deadline(40)
def test_failover_under_load_default_passive_health(sluice, tmp_path):
    """Default passive health (max_fails=1 fail_timeout=10s) on top of the active checks: the
    crash puts the server down passively too; the checks must still bring it back in time."""
    _assert_failover(_run_failover(sluice, tmp_path, "", load_seconds=12, crash_at=3.0,
                                   down_for=4.0))
