"""SPEC §8 discovery of servers through DNS: `resolver ADDR:PORT [valid=D];`,
`server NAME:PORT resolve;` (A and AAAA, re-resolved every TTL) and `discover srv NAME [max=N];`
(servers from SRV records: target addresses, port, weight; records of a less preferred priority
are backups).  A small DNS server (dns_server.py, over a zone file the test rewrites) answers on
loopback; the upstreams listen on 127.0.0.1, 127.0.0.2 and 127.0.0.3.

What every test checks at the upstreams: records added and removed take effect within the TTL
(1 s) plus a second, without a reload counted (`reloads.succeeded` stays 0, `generation` grows)
and without a failed request; a failed lookup (SERVFAIL, NXDOMAIN, no answer, no records) keeps
the last answer, is counted in /stats and /metrics and logged; counters and runtime control
state of a server that keeps its address survive, and so does its health; the master asks once
per TTL for every worker and backend; `valid=` overrides the TTL; a SIGHUP or a worker restart
keeps the discovered servers; `sluice -t` does not ask DNS."""
import json
import os
import re
import signal
import socket
import threading
import time

import pytest

from clients import ClientLoop, ClosedEarly, RawClient, get
from conftest import http_config
from dns_zone import DNSZone, QueryLog, a_records, same_port_upstreams, srv_records
from messages import request_head
from ports import free_port
from processes import run_cli, wait_children, wait_until
from servers import Switch
from stats_endpoint import backend, metrics_samples, stats, stats_block, stats_get

TTL = 1
WITHIN = TTL + 1.0          # SPEC/issue: a change takes effect within the TTL plus a second
HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
SRV_NAME = "_http._tcp.svc.test"


@pytest.fixture
def dns(tmp_path):
    """dns(zone) -> DNSZone serving `zone` (rewritten by zone.set)."""
    made = []

    def start(zone):
        z = DNSZone(tmp_path, zone)
        made.append(z)
        return z

    yield start
    for z in made:
        z.stop()


@pytest.fixture
def ups():
    """ups(hosts=HOSTS, names=None) -> RecordingUpstreams on those hosts sharing one port."""
    made = []

    def make(hosts=HOSTS, names=None, handler=None):
        group = same_port_upstreams(hosts, names, handler)
        made.extend(group)
        return group

    yield make
    for u in made:
        u.stop()


def admin_block(port: int) -> str:
    return stats_block(port).replace("}\n", "    admin on;\n}\n")


def conf(port, sp, zone, servers=(), *, discover=None, valid=None, admin=False, workers=1,
         backend_extra="", **kw):
    resolver = f"resolver {zone.resolver}" + (f" valid={valid}" if valid else "") + ";\n"
    stats_text = admin_block(sp) if admin else stats_block(sp)
    extra = (f"    discover {discover};\n" if discover else "") + backend_extra
    return http_config(port, list(servers), workers=workers, main_extra=resolver + stats_text,
                       backend_extra=extra, **kw)


def start(sluice, zone, servers=(), **kw):
    port, sp = free_port(), free_port()
    s = sluice(conf(port, sp, zone, servers, **kw), ports=[port, sp])
    s.stats_port = sp
    return s


def counts(upstreams) -> dict:
    return {u.name: len(u.snapshot()) for u in upstreams}


def send(port: int, n: int, path: str = "/") -> list:
    """`n` requests, one connection each; every answer must be 200.  Their bodies."""
    out = []
    for i in range(n):
        r = get(port, f"{path}{i}")
        assert r.status == 200, (i, r.status, r.body[:200])
        out.append(r.body)
    return out


def served_by(port: int, wanted, t0: float, within: float, path: str = "/w") -> float:
    """Requests (one connection each, all 200) until every upstream of `wanted` received one
    sent from now on; fails if that takes beyond `t0 + within`.  Returns the time it took
    since t0."""
    before = counts(wanted)
    i = 0
    while True:
        r = get(port, f"{path}{i}")
        assert r.status == 200, (i, r.status, r.body[:200])
        i += 1
        now = counts(wanted)
        if all(now[u.name] > before[u.name] for u in wanted):
            took = time.monotonic() - t0
            assert took <= within, f"the change took {took:.2f}s (> {within}s) to reach {now}"
            return took
        if time.monotonic() > t0 + within:
            raise AssertionError(f"{within}s after the DNS change, not every one of "
                                 f"{[u.name for u in wanted]} was served: {before} -> {now}")
        time.sleep(0.01)


def no_more_requests(port: int, gone, t0: float, within: float, others, path: str = "/after") -> None:
    """Keep sending until `t0 + within`, then 20 more requests: none of them may reach `gone`,
    and `others` share them."""
    i = 0
    while time.monotonic() < t0 + within:
        r = get(port, f"{path}-during{i}")
        assert r.status == 200, (i, r.status, r.body[:200])
        i += 1
        time.sleep(0.02)
    mark = counts(gone + others)
    send(port, 20, path)
    now = counts(gone + others)
    late = {u.name: now[u.name] - mark[u.name] for u in gone if now[u.name] != mark[u.name]}
    assert not late, f"{within}s after the DNS change removed them, {late} still got new requests"
    assert sum(now[u.name] - mark[u.name] for u in others) == 20, (mark, now)
    assert all(now[u.name] > mark[u.name] for u in others), (mark, now)


def discovery_entry(st: dict, name: str) -> dict:
    assert "discovery" in st, f"/stats has no discovery array: {sorted(st)}"
    found = [d for d in st["discovery"] if d["name"] == name]
    assert len(found) == 1, f"{name!r} in /stats discovery: {st['discovery']}"
    d = found[0]
    assert set(d) >= {"name", "servers", "failures_total", "last_error"}, d
    return d


def addresses(st: dict, name: str = "app") -> list:
    return sorted(s["address"] for s in backend(st, name)["servers"])


def no_reload_counted(st: dict, generation_before: int) -> None:
    assert st["reloads"]["succeeded"] == 0 and st["reloads"]["failed"] == 0, st["reloads"]
    assert st["generation"] > generation_before, \
        f"generation {st['generation']} after a DNS change (was {generation_before})"


def metric(sp: int, name: str, labels: dict):
    r = stats_get(sp, "/metrics")
    assert r.status == 200
    found = [v for n, l, v in metrics_samples(r.body.decode()) if n == name and l == labels]
    assert len(found) == 1, f"{name}{labels} in /metrics: " + "\n".join(
        line for line in r.body.decode().splitlines() if name in line)
    return found[0]


# ---------------------------------------------------------------------- server NAME:PORT resolve

@pytest.mark.deadline(30)
def test_resolve_adds_and_removes_addresses_without_a_reload(sluice, dns, ups):
    one, two, three = ups()
    zone = dns({"app.test": a_records("127.0.0.1", ttl=TTL)})
    s = start(sluice, zone, [f"app.test:{one.port} resolve"])
    name = f"app.test:{one.port} resolve"
    st0 = stats(s.stats_port)
    assert addresses(st0) == [one.addr]
    d = discovery_entry(st0, name)
    assert (d["servers"], d["failures_total"], d["last_error"]) == (1, 0, None), d
    assert set(send(s.port, 6)) == {b"127.0.0.1"}
    assert counts([one, two, three]) == {"127.0.0.1": 6, "127.0.0.2": 0, "127.0.0.3": 0}

    # A second address: within TTL + 1 s both get requests; no reload counted.
    t0 = zone.set({"app.test": a_records("127.0.0.1", "127.0.0.2", ttl=TTL)})
    served_by(s.port, [one, two], t0, WITHIN)
    st = stats(s.stats_port)
    no_reload_counted(st, st0["generation"])
    assert addresses(st) == sorted([one.addr, two.addr])
    assert discovery_entry(st, name)["servers"] == 2
    got = send(s.port, 20)
    assert sorted(set(got)) == [b"127.0.0.1", b"127.0.0.2"] and got.count(b"127.0.0.1") == 10, got
    assert metric(s.stats_port, "sluice_discovery_servers", {"name": name}) == 2
    page = stats_get(s.stats_port, "/").body.decode()
    assert name in page, "the HTML page does not show the discovery names"

    # One address goes: within TTL + 1 s it gets no more new requests.
    g1 = st["generation"]
    t0 = zone.set({"app.test": a_records("127.0.0.2", ttl=TTL)})
    no_more_requests(s.port, [one], t0, WITHIN, [two])
    st = stats(s.stats_port)
    no_reload_counted(st, g1)
    assert addresses(st) == [two.addr]
    assert discovery_entry(st, name)["servers"] == 1
    assert counts([three]) == {"127.0.0.3": 0}
    s.wait_log(r"DNS: .*app\.test.*(added|removed)")


@pytest.mark.deadline(30)
def test_resolve_replaces_every_address(sluice, dns, ups):
    """The answer changes completely: 127.0.0.1 and 127.0.0.2 -> 127.0.0.3."""
    one, two, three = ups()
    zone = dns({"app.test": a_records("127.0.0.1", "127.0.0.2", ttl=TTL)})
    s = start(sluice, zone, [f"app.test:{one.port} resolve"])
    assert set(send(s.port, 4)) == {b"127.0.0.1", b"127.0.0.2"}
    t0 = zone.set({"app.test": a_records("127.0.0.3", ttl=TTL)})
    served_by(s.port, [three], t0, WITHIN)
    no_more_requests(s.port, [one, two], t0, WITHIN, [three])
    assert addresses(stats(s.stats_port)) == [three.addr]


@pytest.mark.deadline(30)
def test_resolve_takes_a_and_aaaa_records(sluice, dns, ups):
    v4, v6 = ups(["127.0.0.1", "::1"], ["v4", "v6"])

    def entry(*aaaa):
        return {"A": [{"address": "127.0.0.1", "ttl": TTL}],
                "AAAA": [{"address": a, "ttl": TTL} for a in aaaa]}

    zone = dns({"app.test": entry("::1")})
    s = start(sluice, zone, [f"app.test:{v4.port} resolve"])
    assert addresses(stats(s.stats_port)) == sorted([v4.addr, f"[::1]:{v4.port}"])
    got = send(s.port, 10)
    assert sorted(got) == [b"v4"] * 5 + [b"v6"] * 5, got
    assert counts([v4, v6]) == {"v4": 5, "v6": 5}
    t0 = zone.set({"app.test": entry()})
    no_more_requests(s.port, [v6], t0, WITHIN, [v4])
    assert addresses(stats(s.stats_port)) == [v4.addr]


@pytest.mark.deadline(30)
def test_the_master_looks_names_up_once_per_ttl(sluice, dns, ups):
    """Four workers and the name in two backends: one A and one AAAA query per TTL (2 s here),
    made by the master for all of them, not one per worker or per backend."""
    one, two, _ = ups()
    zone = dns({"app.test": a_records("127.0.0.1", "127.0.0.2", ttl=2)})
    relay = QueryLog(zone.port)
    try:
        port, sp = free_port(), free_port()
        text = conf(port, sp, relay, [f"app.test:{one.port} resolve"], workers=4,
                    frontend_extra="    route path=/other/ backend=other;\n")
        text += f"backend other {{\n    server app.test:{one.port} resolve;\n}}\n"
        s = sluice(text, ports=[port, sp])
        s.stats_port = sp
        t0 = time.monotonic()
        deadline = t0 + 5.0
        i = 0
        while time.monotonic() < deadline:
            assert get(port, f"/{i}").status == 200 and get(port, f"/other/{i}").status == 200
            i += 1
            time.sleep(0.05)
        a, aaaa = relay.count("app.test", "A", since=t0), relay.count("app.test", "AAAA", since=t0)
        assert 1 <= a <= 4 and 1 <= aaaa <= 4, \
            f"{a} A and {aaaa} AAAA queries for app.test in 5 s with a TTL of 2 s (4 workers, 2 backends)"
        times = [t for t, n, k in relay.queries if n == "app.test" and k == "A"]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert gaps and min(gaps) >= 1.5, f"A queries {gaps} s apart with a TTL of 2 s"
        got = counts([one, two])
        assert sum(got.values()) == 2 * i and min(got.values()) > i // 2, (i, got)
        st = stats(sp)
        assert addresses(st, "app") == addresses(st, "other") == sorted([one.addr, two.addr])
        assert len(st["discovery"]) == 1, st["discovery"]
    finally:
        relay.stop()


# ---------------------------------------------------------------------------- discover srv

def srv_zone(*records, ttl=TTL, extra=None):
    zone = {SRV_NAME: srv_records(*records, ttl=ttl), "n1.test": a_records("127.0.0.1", ttl=ttl)}
    zone.update(extra or {})
    return zone


@pytest.mark.deadline(30)
def test_srv_adds_and_removes_servers(sluice, dns, upstream):
    a, b, c = upstream("A"), upstream("B"), upstream("C")
    zone = dns(srv_zone(("n1.test", a.port), ("n1.test", b.port)))
    s = start(sluice, zone, discover=f"srv {SRV_NAME}")
    name = f"srv {SRV_NAME}"
    st0 = stats(s.stats_port)
    assert addresses(st0) == sorted([a.addr, b.addr])
    assert all(not sv["backup"] and sv["weight"] == 1 for sv in backend(st0, "app")["servers"])
    d = discovery_entry(st0, name)
    assert (d["servers"], d["failures_total"], d["last_error"]) == (2, 0, None), d
    got = send(s.port, 10)
    assert sorted(got) == [b"A"] * 5 + [b"B"] * 5, got
    assert counts([a, b, c]) == {"A": 5, "B": 5, "C": 0}

    # A third record: within TTL + 1 s it gets requests; no reload counted.
    t0 = zone.set(srv_zone(("n1.test", a.port), ("n1.test", b.port), ("n1.test", c.port)))
    served_by(s.port, [c], t0, WITHIN)
    st = stats(s.stats_port)
    no_reload_counted(st, st0["generation"])
    assert addresses(st) == sorted([a.addr, b.addr, c.addr])
    assert discovery_entry(st, name)["servers"] == 3
    got = send(s.port, 30)
    assert {x: got.count(x) for x in set(got)} == {b"A": 10, b"B": 10, b"C": 10}, got

    # A record goes: within TTL + 1 s its server gets nothing new.
    t0 = zone.set(srv_zone(("n1.test", b.port), ("n1.test", c.port)))
    no_more_requests(s.port, [a], t0, WITHIN, [b, c])
    st = stats(s.stats_port)
    assert addresses(st) == sorted([b.addr, c.addr])
    assert discovery_entry(st, name)["servers"] == 2
    assert metric(s.stats_port, "sluice_discovery_servers", {"name": name}) == 2
    assert st["reloads"]["succeeded"] == 0


@pytest.mark.deadline(30)
def test_srv_weights_are_respected_and_follow_dns(sluice, dns, upstream):
    a, b = upstream("A"), upstream("B")
    zone = dns(srv_zone(("n1.test", a.port, 10), ("n1.test", b.port, 30)))
    s = start(sluice, zone, discover=f"srv {SRV_NAME}")
    weights = {sv["address"]: sv["weight"] for sv in backend(stats(s.stats_port), "app")["servers"]}
    assert weights == {a.addr: 10, b.addr: 30}, weights
    got = send(s.port, 80)
    share_a = got.count(b"A")
    assert 14 <= share_a <= 26 and got.count(b"B") == 80 - share_a, f"A got {share_a}/80 (expected ~20)"

    # The weights change: the servers stay, their shares follow.
    t0 = zone.set(srv_zone(("n1.test", a.port, 30), ("n1.test", b.port, 10)))
    while time.monotonic() < t0 + WITHIN:
        assert get(s.port, "/during").status == 200
        time.sleep(0.05)
    mark = counts([a, b])
    got = send(s.port, 80)
    share_a = got.count(b"A")
    assert 54 <= share_a <= 66, f"after the weights changed, A got {share_a}/80 (expected ~60)"
    assert {k: v - mark[k] for k, v in counts([a, b]).items()} == {"A": share_a, "B": 80 - share_a}
    weights = {sv["address"]: sv["weight"] for sv in backend(stats(s.stats_port), "app")["servers"]}
    assert weights == {a.addr: 30, b.addr: 10}, weights
    # Weights beyond 256 are clamped; 0 still serves (weight 1).
    t0 = zone.set(srv_zone(("n1.test", a.port, 1000), ("n1.test", b.port, 0)))
    wait_until(lambda: {sv["address"]: sv["weight"] for sv in backend(stats(s.stats_port), "app")["servers"]}
               == {a.addr: 256, b.addr: 1}, WITHIN + 0.5, interval=0.1,
               what="weights 1000 and 0 shown as 256 and 1")
    assert stats(s.stats_port)["reloads"]["succeeded"] == 0


@pytest.mark.deadline(30)
def test_srv_lower_priority_servers_are_backups(sluice, dns, upstream):
    """SRV priority: the records of the lowest priority value serve; the others are backups,
    used only when every primary server is down."""
    p1, p2, bk = upstream("P1"), upstream("P2"), upstream("BK")
    zone = dns(srv_zone(("n1.test", p1.port, 1, 0), ("n1.test", p2.port, 1, 0), ("n1.test", bk.port, 1, 10)))
    s = start(sluice, zone, discover=f"srv {SRV_NAME}")
    servers = {sv["address"]: sv["backup"] for sv in backend(stats(s.stats_port), "app")["servers"]}
    assert servers == {p1.addr: False, p2.addr: False, bk.addr: True}, servers
    got = send(s.port, 20)
    assert sorted(set(got)) == [b"P1", b"P2"], got
    assert counts([bk]) == {"BK": 0}

    # One primary down: the other primary takes everything, the backup still nothing.
    p1.stop()
    got = send(s.port, 20, "/one-down")
    assert set(got) == {b"P2"}, got
    assert counts([bk]) == {"BK": 0}, "a backup served while a primary server was up"

    # Every primary down: the backup serves.
    p2.stop()
    got = send(s.port, 10, "/all-down")
    assert set(got) == {b"BK"}, got
    assert [r.target for r in bk.snapshot()] == [f"/all-down{i}" for i in range(10)]


@pytest.mark.deadline(30)
def test_srv_max_keeps_the_preferred_servers(sluice, dns, upstream):
    """`max=2` of four records keeps two servers: those of the lowest priority value.  The
    answer carries no additional records here, so sluice asks for the targets' addresses."""
    a, b, c, d = upstream("A"), upstream("B"), upstream("C"), upstream("D")

    def zone_of(*records):
        return srv_zone(*records, extra={"n2.test": a_records("127.0.0.1", ttl=TTL),
                                         "_srv_additional": False})

    zone = dns(zone_of(("n1.test", a.port, 5, 0), ("n2.test", b.port, 5, 0),
                       ("n1.test", c.port, 5, 1), ("n2.test", d.port, 5, 2)))
    s = start(sluice, zone, discover=f"srv {SRV_NAME} max=2")
    name = f"srv {SRV_NAME} max=2"
    st = stats(s.stats_port)
    assert addresses(st) == sorted([a.addr, b.addr]), backend(st, "app")
    assert discovery_entry(st, name)["servers"] == 2
    got = send(s.port, 10)
    assert sorted(got) == [b"A"] * 5 + [b"B"] * 5, got

    # The answer grows: still two servers, the preferred ones.
    t0 = zone.set(zone_of(("n1.test", a.port, 5, 0), ("n2.test", b.port, 5, 0),
                          ("n1.test", c.port, 5, 1), ("n2.test", d.port, 5, 2),
                          ("n1.test", free_port(), 5, 3)))
    time.sleep(max(0.0, t0 + WITHIN - time.monotonic()))
    st = stats(s.stats_port)
    assert addresses(st) == sorted([a.addr, b.addr]), backend(st, "app")
    # A preferred record goes: the next one takes its place (as a backup of priority 1).
    t0 = zone.set(zone_of(("n2.test", b.port, 5, 0), ("n1.test", c.port, 5, 1), ("n2.test", d.port, 5, 2)))
    wait_until(lambda: addresses(stats(s.stats_port)) == sorted([b.addr, c.addr]), WITHIN, interval=0.1,
               what=f"servers {b.addr} and {c.addr} only")
    servers = {sv["address"]: sv["backup"] for sv in backend(stats(s.stats_port), "app")["servers"]}
    assert servers == {b.addr: False, c.addr: True}, servers
    no_more_requests(s.port, [a], t0, WITHIN, [b])
    assert counts([c, d]) == {"C": 0, "D": 0}
    assert discovery_entry(stats(s.stats_port), name)["servers"] == 2


@pytest.mark.deadline(30)
def test_srv_answer_too_large_for_udp(sluice, dns, upstream):
    """30 SRV records with long target names: the UDP answer is truncated and the resolver
    asks again over TCP; every record becomes a server and serves its share."""
    servers = [upstream(f"S{i}") for i in range(30)]
    target = "a-rather-long-target-name-to-fill-the-answer-{}.svc.test"
    zone = {target.format(i): a_records("127.0.0.1", ttl=TTL) for i in range(30)}
    zone[SRV_NAME] = srv_records(*[(target.format(i), u.port) for i, u in enumerate(servers)], ttl=TTL)
    s = start(sluice, dns(zone), discover=f"srv {SRV_NAME}")
    st = stats(s.stats_port)
    assert addresses(st) == sorted(u.addr for u in servers)
    assert discovery_entry(st, f"srv {SRV_NAME}")["servers"] == 30
    got = send(s.port, 60)
    assert counts(servers) == {u.name: 2 for u in servers}, counts(servers)
    assert sorted(got) == sorted(u.name.encode() for u in servers for _ in range(2))


# -------------------------------------------------------------------- no failed request

class KeepAliveLoop:
    """A thread sending GETs one after another on a keep-alive connection, reconnecting when
    a response says `Connection: close` or the connection was closed while idle.  A response
    other than 200, a broken response, or a connect/IO error is a failure.  A reused idle
    connection closed before the request got any byte back is the keep-alive race every HTTP
    client retries (RFC 9112 §9.3.1); it is retried once on a new connection and counted in
    `retried`."""

    def __init__(self, port: int, path: str = "/ka"):
        self.port = port
        self.path = path
        self.ok = 0
        self.retried = 0
        self.reconnects = 0
        self.failures: list = []
        self.bodies: dict = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _one(self, c: RawClient, i: int):
        c.send(request_head("GET", f"{self.path}{i}", "example.test"))
        return c.read_response()

    def _run(self) -> None:
        c, used, i = None, 0, 0
        while not self._stop.is_set():
            i += 1
            try:
                if c is None:
                    c, used = RawClient(self.port), 0
                try:
                    r = self._one(c, i)
                except (ClosedEarly, BrokenPipeError, ConnectionResetError):
                    if used == 0 or c.buf:
                        raise
                    self.retried += 1
                    c.close()
                    c, used = RawClient(self.port), 0
                    r = self._one(c, i)
                used += 1
                if r.status != 200:
                    self.failures.append(f"{time.monotonic():.3f}: status {r.status} {r.body[:100]!r}")
                else:
                    self.ok += 1
                    self.bodies[r.body] = self.bodies.get(r.body, 0) + 1
                if "close" in r.tokens("Connection"):
                    c.close()
                    c = None
                    self.reconnects += 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.failures.append(f"{time.monotonic():.3f}: request {i}: {type(e).__name__}: {e}")
                if c is not None:
                    c.close()
                c = None
        if c is not None:
            c.close()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "keep-alive loop did not stop"


@pytest.mark.deadline(40)
@pytest.mark.parametrize("kind", ["resolve", "srv"])
def test_no_failed_request_while_servers_come_and_go(sluice, dns, ups, kind):
    """A keep-alive client and a one-connection-per-request client run while DNS adds a
    server, removes one, then swaps them: every request answers 200, every server of the
    moment serves, a removed one stops getting requests.  `resolve`: A records of app.test;
    `srv`: SRV records to n1.test, n2.test, n3.test (127.0.0.1, .2, .3), all on one port."""
    one, two, three = ups()
    port = one.port

    def zone_of(*hosts):
        if kind == "resolve":
            return {"app.test": a_records(*hosts, ttl=TTL)}
        zone = {f"n{i}.test": a_records(h, ttl=TTL) for i, h in enumerate(HOSTS, 1)}
        zone[SRV_NAME] = srv_records(*[(f"n{HOSTS.index(h) + 1}.test", port) for h in hosts], ttl=TTL)
        return zone

    zone = dns(zone_of("127.0.0.1", "127.0.0.2"))
    if kind == "resolve":
        s = start(sluice, zone, [f"app.test:{port} resolve"], workers=2)
    else:
        s = start(sluice, zone, discover=f"srv {SRV_NAME}", workers=2)
    g0 = stats(s.stats_port)["generation"]
    ka = KeepAliveLoop(s.port)
    fresh = ClientLoop(s.port, "/fresh", duration=30)
    try:
        time.sleep(0.5)
        t0 = zone.set(zone_of("127.0.0.1", "127.0.0.2", "127.0.0.3"))
        wait_until(lambda: counts([three])["127.0.0.3"] > 0, WITHIN, interval=0.02,
                   what="127.0.0.3 serving after it was added")
        time.sleep(max(0.0, t0 + WITHIN - time.monotonic()) + 0.3)

        t0 = zone.set(zone_of("127.0.0.2", "127.0.0.3"))
        time.sleep(WITHIN + 0.2)
        mark_one = counts([one])["127.0.0.1"]
        time.sleep(0.8)
        assert counts([one])["127.0.0.1"] == mark_one, "127.0.0.1 still got requests after its removal"

        t0 = zone.set(zone_of("127.0.0.1", "127.0.0.3"))
        mark_one = counts([one])["127.0.0.1"]
        wait_until(lambda: counts([one])["127.0.0.1"] > mark_one, WITHIN, interval=0.02,
                   what="127.0.0.1 serving again after it came back")
        time.sleep(max(0.0, t0 + WITHIN - time.monotonic()) + 0.2)
        mark_two = counts([two])["127.0.0.2"]
        time.sleep(0.8)
        assert counts([two])["127.0.0.2"] == mark_two, "127.0.0.2 still got requests after its removal"
    finally:
        ka.stop()
        fresh.stop()
    print(f"keep-alive: {ka.ok} ok, {ka.retried} retried after an idle close, {ka.reconnects} "
          f"reconnects on Connection: close; one-shot: {fresh.ok} ok; upstreams {counts([one, two, three])}")
    assert not ka.failures, f"{len(ka.failures)} keep-alive requests failed: {ka.failures[:5]}"
    assert not fresh.failures, f"{len(fresh.failures)} one-shot requests failed: {fresh.failures[:5]}"
    assert ka.ok > 50 and fresh.ok > 50, (ka.ok, fresh.ok)
    for client in (ka, fresh):
        assert set(client.bodies) == {b"127.0.0.1", b"127.0.0.2", b"127.0.0.3"}, client.bodies
    assert sum(counts([one, two, three]).values()) == ka.ok + fresh.ok
    assert not any(u.errors for u in (one, two, three))
    st = stats(s.stats_port)
    no_reload_counted(st, g0)
    assert st["generation"] >= g0 + 3, st["generation"]


# ---------------------------------------------------------------------------------- failures

FAILURES = {"servfail": {"rcode": "SERVFAIL"}, "nxdomain": None, "drop": {"drop": True}, "nodata": {}}


@pytest.mark.deadline(45)
def test_failed_lookups_keep_the_last_answer_and_are_counted(sluice, dns, ups):
    """Four names, one per way of failing (SERVFAIL, NXDOMAIN, no answer at all, no records),
    and an SRV name answering SERVFAIL: each keeps serving its last answer while its failures
    are counted (/stats, /metrics) and logged; once DNS answers again, the new answers apply."""
    groups = {kind: ups(["127.0.0.1", "127.0.0.2"], [f"{kind}-1", f"{kind}-2"]) for kind in FAILURES}
    srv_a, srv_b = ups(["127.0.0.1"], ["srv-1"])[0], ups(["127.0.0.1"], ["srv-2"])[0]

    def good(second: bool) -> dict:
        zone = {f"{k}.test": a_records(*(["127.0.0.1", "127.0.0.2"] if second else ["127.0.0.1"]), ttl=TTL)
                for k in FAILURES}
        zone.update(srv_zone(("n1.test", srv_a.port), *([("n1.test", srv_b.port)] if second else [])))
        return zone

    zone = dns(good(False))
    names = {k: f"{k}.test:{g[0].port} resolve" for k, g in groups.items()}
    names["srv"] = f"srv {SRV_NAME}"
    servers = [f"{k}.test:{g[0].port} resolve" for k, g in groups.items()]
    s = start(sluice, zone, servers, discover=f"srv {SRV_NAME}")
    everyone = [g[0] for g in groups.values()] + [srv_a]
    st = stats(s.stats_port)
    assert addresses(st) == sorted(u.addr for u in everyone)
    for n in names.values():
        assert discovery_entry(st, n)["failures_total"] == 0
    send(s.port, 20)
    assert all(n > 0 for n in counts(everyone).values()), counts(everyone)

    failing = {f"{k}.test": v for k, v in FAILURES.items() if v is not None}
    failing[SRV_NAME] = {"rcode": "SERVFAIL"}
    failing["n1.test"] = a_records("127.0.0.1", ttl=TTL)
    mark = s.log_size()
    zone.set(failing)

    # The drop case needs the resolver's timeout (c-ares: a few seconds) before it counts.
    def all_failed():
        st = stats(s.stats_port)
        return st if all(discovery_entry(st, n)["failures_total"] >= 1 for n in names.values()) else None
    st = wait_until(all_failed, 10, interval=0.2, what="a failure counted for every name")
    for kind, n in names.items():
        d = discovery_entry(st, n)
        assert isinstance(d["last_error"], str) and d["last_error"], d
        assert d["servers"] == 1, d
        assert metric(s.stats_port, "sluice_discovery_failures_total", {"name": n}) >= 1
        pattern = re.escape(n.split(" resolve")[0] if kind != "srv" else SRV_NAME)
        s.wait_log(rf"warn.*DNS lookup of .*{pattern}.* failed", start=mark, timeout=1)
    assert addresses(st) == sorted(u.addr for u in everyone), "a failed lookup dropped servers"
    before = counts(everyone)
    send(s.port, 20, "/during-failures")
    after = counts(everyone)
    assert all(after[u.name] > before[u.name] for u in everyone), (before, after)
    assert st["reloads"]["succeeded"] == 0

    # The failures go on being counted while they last.
    first = {n: discovery_entry(st, n)["failures_total"] for n in names.values()}
    wait_until(lambda: all(discovery_entry(stats(s.stats_port), n)["failures_total"] > first[n]
                           for n in names.values() if not n.startswith("drop")),
               6, interval=0.2, what="more failures counted")

    # DNS answers again, with a second address for every name: the changes apply.
    seconds = [g[1] for g in groups.values()] + [srv_b]
    zone.set(good(True))

    def recovered():
        st = stats(s.stats_port)
        want = sorted(u.addr for u in everyone + seconds)
        return st if addresses(st) == want else None
    st = wait_until(recovered, 12, interval=0.2,
                    what="every name answered again with its second address")
    for n in names.values():
        assert discovery_entry(st, n)["servers"] == 2
    time.sleep(0.3)
    before = counts(seconds)
    send(s.port, 40, "/recovered")
    after = counts(seconds)
    assert all(after[u.name] > before[u.name] for u in seconds), (before, after)


# ------------------------------------------------------- counters and control state survive

def admin(s, backend_name, address, what, body):
    with RawClient(s.stats_port) as c:
        c.send(request_head("POST", f"/servers/{backend_name}/{address}/{what}",
                            f"127.0.0.1:{s.stats_port}", body=body.encode(), close=True))
        r = c.read_response()
    assert r.status == 200, (r.status, r.body)
    return json.loads(r.body)


def server_stats(sp: int, address: str) -> dict:
    found = [sv for sv in backend(stats(sp), "app")["servers"] if sv["address"] == address]
    assert len(found) == 1, (address, backend(stats(sp), "app"))
    return found[0]


@pytest.mark.deadline(30)
def test_counters_and_control_state_survive_a_dns_change(sluice, dns, ups):
    one, two, three = ups()
    zone = dns({"app.test": a_records("127.0.0.1", "127.0.0.2", ttl=TTL)})
    s = start(sluice, zone, [f"app.test:{one.port} resolve"], admin=True)
    send(s.port, 20)
    assert counts([one, two]) == {"127.0.0.1": 10, "127.0.0.2": 10}
    assert server_stats(s.stats_port, one.addr)["requests_total"] == 10
    assert server_stats(s.stats_port, two.addr)["requests_total"] == 10

    # Drain 127.0.0.2 through the runtime control: no new requests for it.
    admin(s, "app", two.addr, "state", "drain")
    assert set(send(s.port, 6, "/drained")) == {b"127.0.0.1"}

    # DNS adds 127.0.0.3: the servers that stay keep their counters and control state.
    g0 = stats(s.stats_port)["generation"]
    t0 = zone.set({"app.test": a_records("127.0.0.1", "127.0.0.2", "127.0.0.3", ttl=TTL)})
    served_by(s.port, [three], t0, WITHIN)
    st = stats(s.stats_port)
    no_reload_counted(st, g0)
    got = send(s.port, 20, "/after")
    assert sorted(set(got)) == [b"127.0.0.1", b"127.0.0.3"], \
        f"the drained server must stay drained across a DNS change: {got}"
    assert counts([two]) == {"127.0.0.2": 10}
    for u in (one, two, three):
        sv = server_stats(s.stats_port, u.addr)
        assert sv["requests_total"] == len(u.snapshot()), \
            f"{u.addr}: requests_total {sv['requests_total']} != {len(u.snapshot())} at the upstream"
    assert server_stats(s.stats_port, one.addr)["requests_total"] > 16
    sv = server_stats(s.stats_port, two.addr)
    assert sv["state"] == "draining" and "drain" in str(sv.get("admin_state")), sv
    assert server_stats(s.stats_port, three.addr)["state"] == "up"

    # Enabled again, it serves; its counter goes on from 10.
    admin(s, "app", two.addr, "state", "enable")
    send(s.port, 9, "/enabled")
    assert counts([two])["127.0.0.2"] == 13
    assert server_stats(s.stats_port, two.addr)["requests_total"] == 13


@pytest.mark.deadline(30)
def test_health_of_a_server_that_stays_survives_a_dns_change(sluice, dns, upstream):
    """Active checks mark a discovered server down; DNS then adds another server: the down one
    stays down in the new generation (no request reaches it, /stats never shows it up)."""
    ha, hb, hc = Switch(b"A"), Switch(b"B", status=503), Switch(b"C")
    a, b, c = upstream("A", ha), upstream("B", hb), upstream("C", hc)
    zone = dns(srv_zone(("n1.test", a.port), ("n1.test", b.port)))
    s = start(sluice, zone, discover=f"srv {SRV_NAME}",
              backend_extra="    health_check path=/healthz interval=500ms timeout=300ms rise=2 fall=1;\n")
    wait_until(lambda: server_stats(s.stats_port, b.addr)["state"] == "down", 3, interval=0.05,
               what=f"{b.addr} down after a failed check")
    assert set(send(s.port, 6)) == {b"A"}
    t0 = zone.set(srv_zone(("n1.test", a.port), ("n1.test", b.port), ("n1.test", c.port)))
    states = []
    i = 0
    while time.monotonic() < t0 + WITHIN + 0.5:
        r = get(s.port, f"/load{i}")
        assert r.status == 200 and r.body in (b"A", b"C"), (i, r.status, r.body)
        i += 1
        if i % 5 == 0:
            states.append(server_stats(s.stats_port, b.addr)["state"])
    assert hc.traffic_count() > 0, "the added server got nothing"
    assert hb.traffic_count() == 0, f"{b.addr} (down) got {hb.traffic_count()} requests after the DNS change"
    assert set(states) == {"down"}, f"the state of {b.addr} across the DNS change: {states}"
    assert stats(s.stats_port)["reloads"]["succeeded"] == 0


@pytest.mark.deadline(30)
def test_a_name_without_answer_at_start_is_added_when_it_resolves(sluice, dns, ups, upstream):
    """sluice starts while a `resolve` name is NXDOMAIN (the other servers serve); once the
    name resolves, its addresses get requests (within the retry delay after failures, at most
    5 s, plus a second)."""
    one, _, _ = ups()
    static = upstream("static")
    zone = dns({})
    s = start(sluice, zone, [static.addr, f"app.test:{one.port} resolve"])
    assert set(send(s.port, 4)) == {b"static"}
    assert addresses(stats(s.stats_port)) == [static.addr]
    d = discovery_entry(stats(s.stats_port), f"app.test:{one.port} resolve")
    assert d["servers"] == 0 and d["failures_total"] >= 1 and d["last_error"], d
    t0 = zone.set({"app.test": a_records("127.0.0.1", ttl=TTL)})
    served_by(s.port, [one, static], t0, 5 + 1.0)
    assert addresses(stats(s.stats_port)) == sorted([static.addr, one.addr])


# ---------------------------------------------------------------------- valid=, SIGHUP, -t

@pytest.mark.deadline(30)
def test_valid_overrides_the_ttl(sluice, dns, ups):
    one, two, _ = ups()
    zone = dns({"app.test": a_records("127.0.0.1", ttl=300)})
    s = start(sluice, zone, [f"app.test:{one.port} resolve"], valid="1s")
    assert set(send(s.port, 4)) == {b"127.0.0.1"}
    t0 = zone.set({"app.test": a_records("127.0.0.1", "127.0.0.2", ttl=300)})
    served_by(s.port, [one, two], t0, 1 + 1.0)
    t0 = zone.set({"app.test": a_records("127.0.0.2", ttl=300)})
    no_more_requests(s.port, [one], t0, 1 + 1.0, [two])
    assert stats(s.stats_port)["reloads"]["succeeded"] == 0


@pytest.mark.deadline(30)
def test_sighup_and_worker_restarts_keep_the_discovered_servers(sluice, dns, ups, upstream):
    """A reload with the same file: the names the system resolver does not know still give
    their DNS servers to the new generation, at once, with their counters; the names are
    still watched after it; a worker killed after a DNS change comes back with DNS's servers."""
    one, two, _ = ups()
    a, b = upstream("A"), upstream("B")
    zone = dns({"app.test": a_records("127.0.0.1", "127.0.0.2", ttl=TTL),
                **srv_zone(("n1.test", a.port), ("n1.test", b.port))})
    s = start(sluice, zone, [f"app.test:{one.port} resolve"], discover=f"srv {SRV_NAME}")
    everyone = [one, two, a, b]
    send(s.port, 8)
    assert counts(everyone) == {"127.0.0.1": 2, "127.0.0.2": 2, "A": 2, "B": 2}
    st0 = stats(s.stats_port)
    s.reload()
    wait_until(lambda: stats(s.stats_port)["reloads"]["succeeded"] == 1, 5, interval=0.05,
               what="the reload counted")
    got = send(s.port, 40, "/reloaded")
    assert all(got.count(x) >= 5 for x in (b"127.0.0.1", b"127.0.0.2", b"A", b"B")), got
    st = stats(s.stats_port)
    assert st["reloads"] == {"succeeded": 1, "failed": 0, "last_error": None}, st["reloads"]
    assert addresses(st) == addresses(st0)
    for u in everyone:
        assert server_stats(s.stats_port, u.addr)["requests_total"] == len(u.snapshot()) > 2
    assert discovery_entry(st, f"app.test:{one.port} resolve")["servers"] == 2
    assert discovery_entry(st, f"srv {SRV_NAME}")["servers"] == 2
    # Still watched after the reload.
    t0 = zone.set({"app.test": a_records("127.0.0.2", ttl=TTL),
                   **srv_zone(("n1.test", a.port), ("n1.test", b.port))})
    no_more_requests(s.port, [one], t0, WITHIN, [two, a, b])

    # A worker killed now is replaced by one serving what DNS gave, not the file's names.
    kids = s.workers()
    for k in kids:
        os.kill(k, signal.SIGKILL)
    wait_children(s.pid, 1, timeout=3, exclude=kids)
    mark = counts(everyone)
    got = send(s.port, 12, "/replaced")
    assert sorted(set(got)) == [b"127.0.0.2", b"A", b"B"], got
    assert counts([one])["127.0.0.1"] == mark["127.0.0.1"]


@pytest.mark.deadline(30)
def test_reload_adds_and_drops_watched_names(sluice, dns, ups, upstream):
    """A reload that adds a `resolve` name serves its addresses as soon as it is counted (the
    name is looked up before the new generation starts); one that drops every name stops
    watching them (the discovery list empties)."""
    one, two, three = ups()
    static = upstream("static")
    zone = dns({"app.test": a_records("127.0.0.1", ttl=TTL),
                "other.test": a_records("127.0.0.2", "127.0.0.3", ttl=TTL)})
    port, sp = free_port(), free_port()
    s = sluice(conf(port, sp, zone, [f"app.test:{one.port} resolve"]), ports=[port, sp])
    assert set(send(port, 4)) == {b"127.0.0.1"}
    s.reload(conf(port, sp, zone, [f"app.test:{one.port} resolve", f"other.test:{one.port} resolve"]))
    wait_until(lambda: stats(sp)["reloads"]["succeeded"] == 1, 5, interval=0.05, what="the reload counted")
    time.sleep(0.2)
    st = stats(sp)
    assert addresses(st) == sorted(u.addr for u in (one, two, three)), backend(st, "app")
    assert discovery_entry(st, f"other.test:{one.port} resolve")["servers"] == 2
    got = send(port, 30, "/added")
    assert {x: got.count(x) for x in set(got)} == {b"127.0.0.1": 10, b"127.0.0.2": 10, b"127.0.0.3": 10}, got

    s.reload(conf(port, sp, zone, [static.addr]))
    wait_until(lambda: stats(sp)["reloads"]["succeeded"] == 2, 5, interval=0.05, what="the reload counted")
    time.sleep(0.2)
    st = stats(sp)
    assert st.get("discovery") == [], st.get("discovery")
    assert addresses(st) == [static.addr]
    mark = counts([one, two, three])
    assert set(send(port, 6, "/static")) == {b"static"}
    assert counts([one, two, three]) == mark


def test_check_does_not_contact_dns(tmp_path):
    """`sluice -t` on a configuration with `resolve` and `discover` names that do not resolve:
    `configuration ok`, at once, and not one packet at the resolver."""
    for _ in range(20):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind(("127.0.0.1", free_port()))
            tcp.bind(("127.0.0.1", probe.getsockname()[1]))
            break
        except OSError:
            probe.close()
            tcp.close()
    tcp.listen(4)
    tcp.settimeout(0.1)
    probe.settimeout(0.3)
    try:
        port, sp = free_port(), free_port()
        text = http_config(port, ["nowhere.invalid:8080 resolve", "127.0.0.1:9 backup"],
                           main_extra=f"resolver 127.0.0.1:{probe.getsockname()[1]} valid=5s;\n"
                                      + stats_block(sp))
        text += ("backend svc {\n    discover srv _http._tcp.nowhere.invalid max=4;\n}\n")
        path = tmp_path / "discovery.conf"
        path.write_text(text)
        t = time.monotonic()
        r = run_cli("-t", "-c", str(path))
        took = time.monotonic() - t
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        assert "configuration ok" in r.stdout + r.stderr, (r.stdout, r.stderr)
        assert took < 2.0, f"sluice -t took {took:.2f}s"
        try:
            data = probe.recv(4096)
            raise AssertionError(f"sluice -t sent a DNS query: {data!r}")
        except socket.timeout:
            pass
        try:
            tcp.accept()
            raise AssertionError("sluice -t opened a TCP connection to the resolver")
        except socket.timeout:
            pass
    finally:
        probe.close()
        tcp.close()
