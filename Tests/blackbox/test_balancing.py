"""Server selection: smooth weighted round-robin, least_conn, backup servers, connect retries."""
import threading
from collections import Counter

from clients import RawClient, get
from servers import Reply


def assert_smooth_3_to_1(seq: list, a: bytes, b: bytes) -> None:
    counts = Counter(seq)
    assert counts == {a: 3 * len(seq) // 4, b: len(seq) // 4}, counts
    # smooth: every 4 consecutive picks hold exactly one b (a a b a a a b a ...)
    for i in range(len(seq) - 3):
        assert seq[i:i + 4].count(b) == 1, f"not interleaved at {i}: {seq[max(0, i - 4):i + 8]}"


def test_round_robin_weighted_keepalive(proxy, upstream):
    a, b = upstream("A"), upstream("B")
    s = proxy(servers=[f"{a.addr} weight=3", b.addr])
    seq = []
    with RawClient(s.port) as c:
        for i in range(400):
            c.send(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i)
            resp = c.read_response()
            assert resp.status == 200
            seq.append(resp.body)
    assert_smooth_3_to_1(seq, b"A", b"B")
    assert len(a.snapshot()) == 300 and len(b.snapshot()) == 100


def test_round_robin_weighted_new_connections(proxy, upstream):
    a, b = upstream("A"), upstream("B")
    s = proxy(servers=[b.addr, f"{a.addr} weight=3"])
    seq = [get(s.port, f"/{i}").body for i in range(400)]
    assert_smooth_3_to_1(seq, b"A", b"B")
    assert len(a.snapshot()) == 300 and len(b.snapshot()) == 100


def test_round_robin_equal_weights_alternate(proxy, upstream):
    ups = [upstream(n) for n in "ABC"]
    s = proxy(*ups)
    seq = [get(s.port, "/").body for _ in range(30)]
    assert Counter(seq) == {b"A": 10, b"B": 10, b"C": 10}
    for i in range(0, 30, 3):
        assert sorted(seq[i:i + 3]) == [b"A", b"B", b"C"], seq


def test_least_conn_avoids_slow_server(proxy, upstream):
    slow = upstream("slow", lambda r: Reply(body=b"slow", delay=0.3))
    fast = upstream("fast", lambda r: Reply(body=b"fast"))
    s = proxy(slow, fast, balance="least_conn")
    results, errors = [], []
    lock = threading.Lock()

    def client():
        try:
            with RawClient(s.port, timeout=5) as c:
                for _ in range(10):
                    c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
                    body = c.read_response().body
                    with lock:
                        results.append(body)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    counts = Counter(results)
    assert sum(counts.values()) == 80
    # round-robin would give the slow server 40; least_conn keeps it far below that
    assert counts[b"fast"] >= 64, counts
    assert len(slow.snapshot()) == counts[b"slow"]


def test_least_conn_sequential_ties_rotate(proxy, upstream):
    """With no concurrency every server has 0 in flight: ties are broken round-robin."""
    a, b = upstream("A"), upstream("B")
    s = proxy(a, b, balance="least_conn")
    seq = [get(s.port, "/").body for _ in range(20)]
    assert Counter(seq) == {b"A": 10, b"B": 10}, seq


def test_backup_not_used_while_primary_up(proxy, upstream):
    primary, backup = upstream("primary"), upstream("backup")
    s = proxy(servers=[primary.addr, f"{backup.addr} backup"])
    bodies = [get(s.port, "/").body for _ in range(10)]
    assert bodies == [b"primary"] * 10
    assert backup.total_bytes() == 0 and backup.connection_count() == 0


def test_backup_used_when_primary_down(proxy, upstream, dead_port):
    backup = upstream("backup")
    s = proxy(servers=[f"127.0.0.1:{dead_port()}", f"{backup.addr} backup"])
    for i in range(10):
        resp = get(s.port, f"/{i}")
        assert (resp.status, resp.body) == (200, b"backup"), i
    assert [r.target for r in backup.snapshot()] == [f"/{i}" for i in range(10)]


def test_connect_retry_onto_other_server(proxy, upstream, dead_port):
    alive = upstream("alive")
    s = proxy(servers=[f"127.0.0.1:{dead_port()}", alive.addr], backend_extra="    retries 1;")
    for i in range(20):
        resp = get(s.port, f"/{i}", method="POST", body=b"x")   # retried whatever the method
        assert (resp.status, resp.body) == (200, b"alive"), i
    assert len(alive.snapshot()) == 20
