"""SPEC §7 `balance hash`: consistent hashing that sluice instances agree on without talking.

`hash_key header NAME | uri | cookie NAME | source` over the servers' addresses and weights:
two sluice instances (one with two workers and a fresh connection per request, one with a
single worker and keep-alive) given the same server list send each of 200 keys to the same
upstream; removing one of N servers by reload moves only the keys that were on it, not one key
of the others among 5,000 (and the reloaded instance agrees with a fresh one started with
N-1; putting the server back restores the mapping); weights are respected; a request
without the key is still served; a server that active checks take down has its keys moved
elsewhere the same way in both instances, and they come back when it is up again; with
`hash_balance_factor` a hot key spreads once its server holds more than its share of the
requests in flight.

Placement is always read from what reached the upstreams (each request's key and the
X-Forwarded-Port of the instance that sent it), and checked against the response body.
"""
import math
import threading
from collections import Counter

import pytest

from clients import RawClient, get
from conftest import http_config
from messages import request_head
from ports import free_port
from processes import wait_children, wait_until
from servers import Reply, Switch
from stats_endpoint import server as stats_server
from stats_endpoint import stats, stats_block, wait_reloads

KEYS = [f"user-{i:03d}-{(i * 7919) % 1000:03d}" for i in range(200)]
MANY_KEYS = [f"session-{i:04d}" for i in range(5000)]

# (hash_key arguments, how a request carries the key)
KINDS = {
    "header": "header X-User-Id",
    "uri": "uri",
    "cookie": "cookie uid",
}


def key_request(kind: str, key: str, close: bool = False) -> bytes:
    """GET /item/KEY carrying KEY as `kind` says (the path holds it in every case, so that the
    upstream's record names the key)."""
    headers = []
    if kind == "header":
        headers = [("X-User-Id", key)]
    elif kind == "cookie":
        headers = [("Cookie", f"theme=dark; uid={key}; lang=en")]
    return request_head("GET", f"/item/{key}", "example.test", headers, close=close)


def hash_conf(port, stats_port, servers, kind="header", workers=1, backend_extra="", **kw):
    extra = f"    hash_key {KINDS[kind]};\n" + backend_extra
    return http_config(port, servers, balance="hash", workers=workers, backend_extra=extra,
                       main_extra=stats_block(stats_port), **kw)


def start(sluice, servers, kind="header", workers=1, **kw):
    port, sp = free_port(), free_port()
    s = sluice(hash_conf(port, sp, servers, kind, workers, **kw), ports=[port, sp])
    s.stats_port = sp
    s.make = lambda addrs, **k: hash_conf(port, sp, addrs, kind, workers, **{**kw, **k})
    s.kids = wait_children(s.pid, workers, timeout=3)
    return s


def send_keys(port: int, keys, kind: str = "header", keepalive: bool = True) -> dict:
    """Each key once (keep-alive on one connection, or a fresh connection per request);
    returns {key: response body}."""
    out = {}
    if keepalive:
        with RawClient(port) as c:
            for k in keys:
                c.send(key_request(kind, k))
                r = c.read_response()
                assert r.status == 200, (k, r.status, r.body)
                out[k] = r.body.decode()
    else:
        for k in keys:
            with RawClient(port) as c:
                c.send(key_request(kind, k, close=True))
                r = c.read_response()
                assert r.status == 200, (k, r.status, r.body)
                out[k] = r.body.decode()
    return out


def placement(ups, port: int) -> dict:
    """{key: upstream name} from the /item/KEY requests the upstreams received from the
    instance listening on `port`; a key seen at two upstreams is a failure."""
    out = {}
    for u in ups:
        for r in recent(u):
            if not r.target.startswith("/item/") or r.value("X-Forwarded-Port") != str(port):
                continue
            key = r.target[len("/item/"):]
            assert out.get(key, u.name) == u.name, f"key {key} reached {out[key]} and {u.name}"
            out[key] = u.name
    return out


def measure(ups, port, keys, kind="header", keepalive=True) -> dict:
    """Send every key once through `port`; the placement the upstreams saw (which must match
    the response bodies and hold every key)."""
    bodies = send_keys(port, keys, kind, keepalive)
    seen = placement(ups, port)
    assert set(seen) == set(keys), f"{len(set(keys) - set(seen))} keys never reached an upstream"
    assert seen == bodies, "response bodies disagree with what the upstreams received"
    return seen


def forget(ups):
    """From now on placement() and hot counts look only at requests arriving after this call
    (the upstreams keep recording: clearing their records under open connections is racy)."""
    for u in ups:
        u.since = len(u.snapshot())


def recent(u) -> list:
    return u.snapshot()[getattr(u, "since", 0):]


# ------------------------------------------------------------------------ agreement

@pytest.mark.deadline(40)
@pytest.mark.parametrize("kind", list(KINDS))
def test_two_instances_agree_on_200_keys(sluice, upstream, kind):
    ups = [upstream(n) for n in ("A", "B", "C", "D")]
    addrs = [u.addr for u in ups]
    one = start(sluice, addrs, kind, workers=2)
    two = start(sluice, addrs, kind, workers=1)
    first = measure(ups, one.port, KEYS, kind, keepalive=False)    # both workers, new connections
    second = measure(ups, two.port, KEYS, kind, keepalive=True)
    differ = [k for k in KEYS if first[k] != second[k]]
    assert not differ, f"{len(differ)} of 200 keys placed differently, e.g. " \
                       f"{[(k, first[k], second[k]) for k in differ[:5]]}"
    counts = Counter(first.values())
    assert set(counts) == {"A", "B", "C", "D"} and min(counts.values()) >= 25, \
        f"200 keys over 4 equal servers: {counts}"

    # The same key again, on either instance, lands where it did.
    forget(ups)
    again = measure(ups, one.port, KEYS[:50], kind, keepalive=True)
    assert again == {k: first[k] for k in KEYS[:50]}


@pytest.mark.deadline(30)
def test_source_hashing_agrees_across_instances(sluice, upstream):
    """hash_key source: the client's address is the key (clients bound to 127.0.1.1..60)."""
    ups = [upstream(n) for n in ("A", "B", "C")]
    addrs = [u.addr for u in ups]
    port1, port2, sp1, sp2 = free_port(), free_port(), free_port(), free_port()
    conf = lambda port, sp: http_config(port, addrs, balance="hash", workers=1,  # noqa: E731
                                        backend_extra="    hash_key source;",
                                        main_extra=stats_block(sp))
    sluice(conf(port1, sp1), ports=[port1, sp1])
    sluice(conf(port2, sp2), ports=[port2, sp2])
    sources = [f"127.0.1.{i}" for i in range(1, 61)]
    picks = {}
    for port in (port1, port2, port1):
        for src in sources:
            r = get(port, "/src", source=src)
            assert r.status == 200
            picks.setdefault(src, set()).add(r.body.decode())
    # what the upstreams saw: each source address (X-Forwarded-For) at exactly one upstream
    where = {}
    for u in ups:
        for r in u.snapshot():
            where.setdefault(r.value("X-Forwarded-For"), set()).add(u.name)
    assert set(where) == set(sources)
    split = {src: names for src, names in where.items() if len(names) != 1}
    assert not split, f"sources sent to several servers: {split}"
    assert all(picks[src] == where[src] for src in sources)
    assert len(Counter(next(iter(n)) for n in where.values())) >= 2, "60 sources all on one server"


# ------------------------------------------------------------------ minimal disruption

@pytest.mark.deadline(60)
def test_removing_one_server_moves_only_its_keys(sluice, upstream):
    """SPEC: removing one of N servers moves only the keys that were on it, not a few of the
    others (5,000 keys: a table that reshuffles even 0.1% of the keys of the servers that stay
    is caught)."""
    keys = MANY_KEYS
    ups = [upstream(n) for n in ("A", "B", "C", "D")]
    a, b, c, d = ups
    s = start(sluice, [u.addr for u in ups], workers=2)
    before = measure(ups, s.port, keys)
    on_c = [k for k in keys if before[k] == "C"]
    assert len(on_c) >= 0.15 * len(keys), Counter(before.values())

    kids = s.kids
    s.reload(s.make([a.addr, b.addr, d.addr]))
    st = wait_reloads(s.stats_port, 1)
    assert st["reloads"]["succeeded"] == 1, st["reloads"]
    wait_children(s.pid, 2, timeout=3, exclude=kids)
    forget(ups)
    after = measure(ups, s.port, keys)
    assert not recent(c), "the removed server still got requests"
    assert Counter(after[k] for k in on_c).keys() <= {"A", "B", "D"}
    assert len(set(after[k] for k in on_c)) == 3, \
        f"the removed server's {len(on_c)} keys should spread over the others: {Counter(after[k] for k in on_c)}"

    # A fresh instance started with the N-1 list agrees with the reloaded one.
    fresh = start(sluice, [a.addr, b.addr, d.addr], workers=1)
    forget(ups)
    assert measure(ups, fresh.port, keys) == after

    # Putting the server back restores the first mapping.
    kids = wait_children(s.pid, 2, timeout=3)
    s.reload(s.make([u.addr for u in ups]))
    wait_reloads(s.stats_port, 2)
    wait_children(s.pid, 2, timeout=3, exclude=kids)
    forget(ups)
    assert measure(ups, s.port, keys) == before

    # Last, the strict property itself.
    moved = [k for k in keys if before[k] != "C" and after[k] != before[k]]
    assert not moved, f"{len(moved)} of the {len(keys) - len(on_c)} keys that were not on the removed " \
                      f"server moved: {[(k, before[k], after[k]) for k in moved[:8]]}"


# -------------------------------------------------------------------------- weights

@pytest.mark.deadline(40)
def test_weights_are_respected(sluice, upstream):
    heavy, light1, light2 = upstream("H"), upstream("L1"), upstream("L2")
    ups = [heavy, light1, light2]
    s = start(sluice, [f"{heavy.addr} weight=3", light1.addr, light2.addr])
    keys = [f"k{i}" for i in range(1500)]
    seen = measure(ups, s.port, keys)
    counts = Counter(seen.values())
    expected = {"H": 900, "L1": 300, "L2": 300}
    for name, want in expected.items():
        assert abs(counts[name] - want) <= 0.2 * want, f"{name}: {counts[name]} keys, ~{want} expected ({counts})"
    ratio = counts["H"] / ((counts["L1"] + counts["L2"]) / 2)
    assert 2.4 <= ratio <= 3.75, f"weight 3 against weight 1: ratio {ratio:.2f} ({counts})"


# ---------------------------------------------------------------------- missing key

@pytest.mark.parametrize("kind", ["header", "cookie"])
def test_requests_without_the_key_are_served(sluice, upstream, kind):
    ups = [upstream(n) for n in ("A", "B", "C")]
    s = start(sluice, [u.addr for u in ups], kind)
    with RawClient(s.port) as c:
        for i in range(30):
            headers = [("Cookie", "theme=dark")] if kind == "cookie" and i % 2 else []
            c.send(request_head("GET", f"/nokey/{i}", "example.test", headers))
            r = c.read_response()
            assert r.status == 200, (i, r.status, r.body)
            assert r.body.decode() in ("A", "B", "C")
    got = sorted(int(r.target.rsplit("/", 1)[1]) for u in ups for r in u.snapshot())
    assert got == list(range(30)), "every key-less request reaches exactly one upstream"
    # the key-less requests did not break hashing for the others
    forget(ups)
    first = measure(ups, s.port, KEYS[:40], kind)
    forget(ups)
    assert measure(ups, s.port, KEYS[:40], kind) == first


# ------------------------------------------------------------------- down and back

def wait_state(s, addr, state, timeout=5.0):
    wait_until(lambda: stats_server(stats(s.stats_port), "app", addr)["state"] == state,
               timeout, interval=0.05, what=f"{addr} {state} in /stats of {s.config.name}")


@pytest.mark.deadline(40)
def test_down_server_keys_move_deterministically_and_come_back(sluice, upstream):
    switches = {n: Switch(n.encode()) for n in ("A", "B", "C")}
    ups = [upstream(n, switches[n]) for n in ("A", "B", "C")]
    a, b, c = ups
    hc = "    health_check path=/healthz interval=150ms timeout=2s rise=1 fall=2;"
    one = start(sluice, [u.addr for u in ups], workers=2, backend_extra=hc)
    two = start(sluice, [u.addr for u in ups], workers=1, backend_extra=hc)
    base1 = measure(ups, one.port, KEYS)
    base2 = measure(ups, two.port, KEYS)
    assert base1 == base2
    on_c = [k for k in KEYS if base1[k] == "C"]
    assert on_c, Counter(base1.values())

    switches["C"].set(503)
    wait_state(one, c.addr, "down")
    wait_state(two, c.addr, "down")
    forget(ups)
    traffic_c = switches["C"].traffic_count()
    down1 = measure(ups, one.port, KEYS, keepalive=False)
    down2 = measure(ups, two.port, KEYS)
    assert switches["C"].traffic_count() == traffic_c, "a server that is down got requests"
    assert down1 == down2, "the two instances moved the down server's keys differently: " + \
        str([(k, down1[k], down2[k]) for k in KEYS if down1[k] != down2[k]][:5])
    moved = [k for k in KEYS if base1[k] != "C" and down1[k] != base1[k]]
    assert not moved, f"keys of servers that stayed up moved: {moved[:5]}"
    assert all(down1[k] in ("A", "B") for k in on_c)

    # The same again: the fallback is stable, not a rotation.
    forget(ups)
    assert measure(ups, one.port, KEYS) == down1

    switches["C"].set(200)
    wait_state(one, c.addr, "up")
    wait_state(two, c.addr, "up")
    forget(ups)
    assert measure(ups, one.port, KEYS) == base1
    assert measure(ups, two.port, KEYS) == base1


# ------------------------------------------------------------------------ bounded loads

def hot_run(s, ups, held: threading.Event, n: int) -> Counter:
    """`n` requests with the same key, started one at a time (each waits until the previous
    one is held at an upstream), then released; {upstream name: hot requests it got}."""
    results, errors = [], []

    def one(i):
        try:
            r = get(s.port, f"/hot/{i}", headers=[("X-User-Id", "hot-key")])
            results.append((r.status, r.body))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    def hot_at_upstreams():
        return sum(1 for u in ups for r in recent(u) if r.target.startswith("/hot/"))

    threads = []
    try:
        for i in range(n):
            t = threading.Thread(target=one, args=(i,), daemon=True)
            t.start()
            threads.append(t)
            wait_until(lambda: hot_at_upstreams() == i + 1, 5, what=f"hot request {i} held at an upstream")
    finally:
        held.set()
        for t in threads:
            t.join(10)
    assert not errors, errors
    assert len(results) == n and all(st == 200 for st, _ in results), results
    return Counter(u.name for u in ups for r in recent(u) if r.target.startswith("/hot/"))


@pytest.mark.deadline(40)
def test_hash_balance_factor_spreads_a_hot_key(sluice, upstream):
    held = threading.Event()

    def handler(name):
        def h(req):
            if req.target.startswith("/hot/"):
                held.wait(10)
            return Reply(body=name.encode())
        return h

    ups = [upstream(n, handler(n)) for n in ("A", "B", "C")]
    addrs = [u.addr for u in ups]

    # Unbounded: every request with the key goes to its server, however loaded.
    plain = start(sluice, addrs, read_timeout="15s")
    home = get(plain.port, "/probe", headers=[("X-User-Id", "hot-key")]).body.decode()
    counts = hot_run(plain, ups, held, 9)
    assert counts == {home: 9}, counts

    # Bounded at 150% of the mean: 9 in flight over 3 servers, none above ceil(1.5 * 9 / 3).
    held.clear()
    forget(ups)
    bounded = start(sluice, addrs, read_timeout="15s", backend_extra="    hash_balance_factor 150;")
    assert get(bounded.port, "/probe", headers=[("X-User-Id", "hot-key")]).body.decode() == home, \
        "with nothing in flight the bounded table picks the key's own server"
    counts = hot_run(bounded, ups, held, 9)
    assert sum(counts.values()) == 9
    assert counts[home] >= 1, counts
    assert len(counts) >= 2, f"the hot key did not spread: {counts}"
    assert max(counts.values()) <= math.ceil(1.5 * 9 / 3), counts
