"""SPEC §5 stats endpoint: `GET /stats` (JSON, exactly the documented keys and exact counts),
`GET /metrics` (Prometheus text format, parsed by prometheus_client), `GET /` (an HTML page,
rendered by headless chromium), the `allow` list, and counters that survive reloads and
killed workers."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from clients import RawClient, get
from conftest import http_config
from ports import DeadPort, free_port
from processes import run_cli, wait_children, wait_listening, wait_until
from servers import Reply
from stats_endpoint import backend, frontend, server, stats, stats_block, stats_get, wait_reloads

TOP_KEYS = {"version", "pid", "uptime_seconds", "generation", "reloads", "workers",
            "frontends", "backends", "discovery"}
RELOAD_KEYS = {"succeeded", "failed", "last_error"}
WORKER_KEYS = {"pid", "generation", "connections_active", "requests_total", "restarts"}
FRONTEND_KEYS = {"name", "connections_active", "connections_total", "requests_total",
                 "bytes_in", "bytes_out", "responses", "requests_by_protocol", "http2"}
BACKEND_KEYS = {"name", "balance", "servers"}
SERVER_KEYS = {"address", "weight", "backup", "state", "admin_state", "admin_changed", "active_requests",
               "requests_total", "failures_total", "responses", "response_time_seconds"}
CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx"}


def number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def start(sluice, servers, *, workers=2, allow=("127.0.0.0/8",), main_extra="", **kw):
    port, sp = free_port(), free_port()
    text = http_config(port, servers, workers=workers,
                       main_extra=stats_block(sp, allow) + main_extra, **kw)
    # Readiness: only the stats port is probed by connecting; the frontend is checked in
    # /proc/net/tcp so that its connection counters start at zero.
    s = sluice(text, ports=[sp])
    wait_listening(port)
    s.ports = [port, sp]
    s.stats_port = sp
    s.kids = wait_children(s.pid, workers, timeout=3)
    return s


def check_shape(st: dict) -> None:
    assert set(st) == TOP_KEYS, set(st) ^ TOP_KEYS
    assert isinstance(st["version"], str) and re.fullmatch(r"\d+\.\d+\.\d+", st["version"])
    assert count(st["pid"]) and count(st["generation"]) and st["generation"] >= 1
    assert number(st["uptime_seconds"]) and st["uptime_seconds"] >= 0
    assert set(st["reloads"]) == RELOAD_KEYS, st["reloads"]
    assert count(st["reloads"]["succeeded"]) and count(st["reloads"]["failed"])
    assert st["reloads"]["last_error"] is None or isinstance(st["reloads"]["last_error"], str)
    for w in st["workers"]:
        assert set(w) == WORKER_KEYS, w
        assert all(count(w[k]) for k in WORKER_KEYS), w
    for f in st["frontends"]:
        assert set(f) == FRONTEND_KEYS, f
        assert isinstance(f["name"], str)
        assert all(count(f[k]) for k in FRONTEND_KEYS - {"name", "responses", "requests_by_protocol", "http2"}), f
        assert set(f["responses"]) == CLASSES and all(count(v) for v in f["responses"].values())
        assert set(f["requests_by_protocol"]) == {"HTTP/1.0", "HTTP/1.1", "HTTP/2.0"}, f
        assert set(f["http2"]) == {"connections_active", "connections_total", "streams_total"}, f
        assert all(count(v) for v in [*f["requests_by_protocol"].values(), *f["http2"].values()]), f
    for b in st["backends"]:
        assert set(b) == BACKEND_KEYS, b
        assert b["balance"] in ("round_robin", "least_conn", "hash"), b
        for sv in b["servers"]:
            assert set(sv) == SERVER_KEYS, sv
            assert isinstance(sv["address"], str) and count(sv["weight"])
            assert isinstance(sv["backup"], bool)
            assert sv["state"] in ("up", "down", "draining"), sv
            assert sv["admin_state"] in ("enable", "drain", "disable"), sv
            assert sv["admin_changed"] is None or set(sv["admin_changed"]) == {"by", "at", "action"}, sv
            assert all(count(sv[k]) for k in ("active_requests", "requests_total", "failures_total"))
            assert set(sv["responses"]) == CLASSES and all(count(v) for v in sv["responses"].values())
            rt = sv["response_time_seconds"]
            assert set(rt) == {"p50", "p99"} and all(v is None or number(v) for v in rt.values()), rt


# ------------------------------------------------------------------------- /stats

def test_stats_document_shape(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, f"{b.addr} weight=3"], balance="least_conn")
    r = stats_get(s.stats_port)
    assert r.status == 200
    assert (r.value("Content-Type") or "").split(";")[0].strip() == "application/json", r.headers
    st = json.loads(r.body)
    check_shape(st)
    assert st["discovery"] == []
    version = run_cli("--version").stdout.split()[-1]
    assert st["version"] == version
    assert st["pid"] == s.pid
    assert st["generation"] == 1
    assert st["reloads"]["succeeded"] == 0 and st["reloads"]["failed"] == 0
    assert sorted(w["pid"] for w in st["workers"]) == s.kids
    assert all(w["generation"] == 1 and w["restarts"] == 0 for w in st["workers"])
    assert [f["name"] for f in st["frontends"]] == ["web"]
    bk = backend(st, "app")
    assert bk["balance"] == "least_conn"
    assert [(x["address"], x["weight"], x["backup"], x["state"]) for x in bk["servers"]] == \
        [(a.addr, 1, False, "up"), (b.addr, 3, False, "up")]
    time.sleep(0.3)
    later = stats(s.stats_port)
    assert later["uptime_seconds"] > st["uptime_seconds"]


def poll_stats(port, pred, timeout=3.0, what="stats"):
    return wait_until(lambda: (lambda st: st if pred(st) else None)(stats(port)), timeout,
                      interval=0.05, what=what)


def test_stats_count_requests_bytes_and_split(sluice, upstream):
    """40 GETs, one fresh connection each, weights 3:1, one worker: exact counters."""
    a = upstream("A", lambda r: Reply(body=b"A" * 10, delay=0.02))
    b = upstream("B", lambda r: Reply(body=b"B" * 20, delay=0.02))
    s = start(sluice, [f"{a.addr} weight=3", b.addr], workers=1)
    sent = received = 0
    for i in range(40):
        req = f"GET /n/{i} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n".encode()
        with RawClient(s.port) as c:
            c.send(req)
            resp = c.read_response()
            c.wait_closed(2)
        assert resp.status == 200
        sent += len(req)
        received += len(resp.head) + len(resp.body)
    st = poll_stats(s.stats_port, lambda st: frontend(st, "web")["requests_total"] >= 40
                    and frontend(st, "web")["connections_active"] == 0,
                    what="40 requests, no connection active")
    check_shape(st)
    fe = frontend(st, "web")
    assert fe["requests_total"] == 40
    assert fe["connections_total"] == 40
    assert fe["responses"] == {"1xx": 0, "2xx": 40, "3xx": 0, "4xx": 0, "5xx": 0}
    assert fe["bytes_in"] == sent, (fe["bytes_in"], sent)
    assert fe["bytes_out"] == received, (fe["bytes_out"], received)
    sa, sb = server(st, "app", a.addr), server(st, "app", b.addr)
    assert (sa["requests_total"], sb["requests_total"]) == (30, 10)
    assert (len(a.snapshot()), len(b.snapshot())) == (30, 10)
    assert sa["responses"]["2xx"] == 30 and sb["responses"]["2xx"] == 10
    for sv in (sa, sb):
        assert sv["failures_total"] == 0 and sv["active_requests"] == 0 and sv["state"] == "up"
        p50, p99 = sv["response_time_seconds"]["p50"], sv["response_time_seconds"]["p99"]
        # 20 ms each: in seconds (not ms), whatever the bucket interpolation
        assert 0.005 <= p50 <= p99 < 1.0, sv["response_time_seconds"]
    assert sum(w["requests_total"] for w in st["workers"]) >= 40


def test_stats_status_classes_and_failures(sluice, upstream):
    def by_path(req):
        code = int(req.target.split("/")[2]) if req.target.startswith("/s/") else 200
        return Reply(code, "X", body=b"x")
    a = upstream("A", by_path)
    dead = DeadPort()
    try:
        route = "    route path=/dead/ backend=dead;"
        extra_backend = (f"backend dead {{\n    server 127.0.0.1:{dead.port};\n"
                         "    retries 0;\n}\n")
        s = start(sluice, [a.addr], workers=2, frontend_extra=route, main_extra=extra_backend)
        for path, want in [("/", 200)] * 5 + [("/s/404", 404)] * 3 + [("/s/503", 503)] * 2 + \
                [("/s/301", 301)] + [("/dead/x", 502)]:
            r = get(s.port, path)
            assert r.status == want, (path, r.status)
        st = poll_stats(s.stats_port, lambda st: frontend(st, "web")["requests_total"] >= 12,
                        what="12 requests")
        fe = frontend(st, "web")
        assert fe["requests_total"] == 12
        assert fe["responses"] == {"1xx": 0, "2xx": 5, "3xx": 1, "4xx": 3, "5xx": 3}, fe
        sa = server(st, "app", a.addr)
        assert sa["requests_total"] == 11
        assert sa["responses"] == {"1xx": 0, "2xx": 5, "3xx": 1, "4xx": 3, "5xx": 2}, sa
        assert sa["failures_total"] == 0 and sa["state"] == "up", \
            "an answered 503 is not a failed attempt"
        sd = server(st, "dead", f"127.0.0.1:{dead.port}")
        assert sd["failures_total"] >= 1, sd
        assert sd["state"] == "down", "max_fails=1 (the default): one failure takes it down"
    finally:
        dead.close()


def test_stats_counters_survive_reload_and_killed_worker(sluice, upstream):
    a, b = upstream("A"), upstream("B")
    s = start(sluice, [a.addr, b.addr], workers=2)
    sp = s.stats_port
    snaps, stop = [], threading.Event()

    def watcher():                      # /stats every 50 ms during the whole test
        while not stop.is_set():
            try:
                snaps.append(stats(sp))
            except Exception as e:  # noqa: BLE001
                snaps.append(e)
            time.sleep(0.05)

    def total(st):
        return frontend(st, "web")["requests_total"]

    def burst(k):
        for i in range(20):
            assert get(s.port, f"/{k}/{i}").status == 200

    th = threading.Thread(target=watcher, daemon=True)
    th.start()
    try:
        burst("first")
        poll_stats(sp, lambda st: total(st) == 20, what="20 requests")
        s.reload()
        wait_reloads(sp, 1)
        time.sleep(0.3)                 # let the watcher sample the drain
        burst("after-reload")
        poll_stats(sp, lambda st: total(st) == 40, what="40 requests after the reload")
        victim = s.workers()[0]
        os.kill(victim, signal.SIGKILL)
        wait_children(s.pid, 2, timeout=1.5, exclude=[victim])
        time.sleep(0.3)
        st = stats(sp)
        assert total(st) == 40, "counters lost with a killed worker"
        burst("after-kill")
        st = poll_stats(sp, lambda st: total(st) == 60, what="60 requests after the kill")
    finally:
        stop.set()
        th.join(5)
    fe = frontend(st, "web")
    assert fe["responses"]["2xx"] == 60 and fe["connections_total"] == 60
    srv = backend(st, "app")["servers"]
    assert sum(x["requests_total"] for x in srv) == 60
    assert sum(x["requests_total"] for x in srv) == len(a.snapshot()) + len(b.snapshot())
    assert sum(w["restarts"] for w in st["workers"] if w["generation"] == st["generation"]) >= 1
    assert st["reloads"]["succeeded"] == 1

    errors = [x for x in snaps if isinstance(x, Exception)]
    assert not errors, f"/stats failed during the reload or the kill: {errors[:3]}"
    assert len(snaps) > 10

    def figures(st):
        fe = frontend(st, "web")
        out = {f"fe.{k}": fe[k] for k in ("connections_total", "requests_total", "bytes_in",
                                          "bytes_out")}
        out.update({f"fe.{k}": v for k, v in fe["responses"].items()})
        for x in backend(st, "app")["servers"]:
            for k in ("requests_total", "failures_total"):
                out[f"{x['address']}.{k}"] = x[k]
            out.update({f"{x['address']}.{k}": v for k, v in x["responses"].items()})
        out["reloads"] = st["reloads"]["succeeded"] + st["reloads"]["failed"]
        out["uptime"] = st["uptime_seconds"]
        return out

    prev = figures(snaps[0])
    for snap in snaps[1:]:
        cur = figures(snap)
        went_down = {k: (prev[k], cur[k]) for k in prev if cur.get(k, prev[k]) < prev[k]}
        assert not went_down, f"counters went down: {went_down}"
        prev = cur


# ------------------------------------------------------------------------- allow

def test_stats_allow_other_network_gets_403(sluice, upstream):
    s = start(sluice, [upstream("A").addr], allow=("10.0.0.0/8",), workers=1)
    for path in ("/stats", "/metrics", "/"):
        r = stats_get(s.stats_port, path)
        assert r.status == 403, (path, r.status)
    assert get(s.port, "/").status == 200, "the frontend is not affected by the stats allow list"


def test_stats_allow_is_per_address(sluice, upstream):
    s = start(sluice, [upstream("A").addr], allow=("10.0.0.0/8", "127.0.0.2/32"), workers=1)
    assert stats_get(s.stats_port, "/stats", source="127.0.0.2").status == 200
    assert stats_get(s.stats_port, "/stats", source="127.0.0.3").status == 403
    assert stats_get(s.stats_port, "/stats", source="127.0.0.1").status == 403


def test_stats_without_allow_serves_everyone(sluice, upstream):
    s = start(sluice, [upstream("A").addr], allow=(), workers=1)
    for src in ("127.0.0.1", "127.0.0.3"):
        assert stats_get(s.stats_port, "/stats", source=src).status == 200


# ------------------------------------------------------------------------ /metrics

def parse_metrics(text: str) -> list:
    from prometheus_client.parser import text_string_to_metric_families
    samples = []
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            samples.append((smp.name, dict(smp.labels), smp.value, fam.type))
    return samples


def test_metrics_prometheus_text(sluice, upstream):
    a = upstream("A", lambda r: Reply(body=b"A", delay=0.01))
    b = upstream("B", lambda r: Reply(body=b"B", delay=0.01))
    dead = DeadPort()
    try:
        route = "    route path=/dead/ backend=dead;"
        extra_backend = (f"backend dead {{\n    server 127.0.0.1:{dead.port};\n"
                         "    retries 0;\n}\n")
        s = start(sluice, [a.addr, b.addr], workers=1, frontend_extra=route,
                  main_extra=extra_backend)
        text = s.config.read_text()
        s.reload(text.replace("balance round_robin;", "blance round_robin;"))
        wait_reloads(s.stats_port, 1)
        for i in range(12):
            assert get(s.port, f"/m/{i}").status == 200
        assert get(s.port, "/dead/").status == 502
        poll_stats(s.stats_port, lambda st: frontend(st, "web")["requests_total"] >= 13,
                   what="13 requests")

        r = stats_get(s.stats_port, "/metrics")
        assert r.status == 200
        ctype = (r.value("Content-Type") or "").replace(" ", "")
        assert ctype.startswith("text/plain;version=0.0.4"), ctype
        samples = parse_metrics(r.body.decode())
        assert samples
        assert all(n.startswith("sluice_") for n, *_ in samples), \
            sorted({n for n, *_ in samples if not n.startswith("sluice_")})
        def find(name, **labels):
            return [(lb, v) for n, lb, v, _ in samples
                    if n == name and all(lb.get(k) == w for k, w in labels.items())]

        for up, n in ((a, 6), (b, 6)):
            got = find("sluice_backend_server_requests_total", backend="app", server=up.addr)
            assert [v for _, v in got] == [n], got
            assert [v for _, v in find("sluice_backend_server_up", backend="app",
                                       server=up.addr)] == [1], up.addr
        assert [v for _, v in find("sluice_backend_server_up", backend="dead",
                                   server=f"127.0.0.1:{dead.port}")] == [0]
        assert [v for _, v in find("sluice_reloads_total", result="failed")] == [1]

        # The histogram: per label set, buckets cumulative, +Inf == _count; the counts of
        # backend app add up to the 12 requests it served.
        series = {}
        for n, lb, v, typ in samples:
            if n.startswith("sluice_backend_response_seconds"):
                key = tuple(sorted((k, x) for k, x in lb.items() if k != "le"))
                part = n[len("sluice_backend_response_seconds"):]
                series.setdefault(key, {"buckets": [], "sum": None, "count": None, "type": typ})
                if part == "_bucket":
                    series[key]["buckets"].append((float(lb["le"]), v))
                elif part == "_sum":
                    series[key]["sum"] = v
                elif part == "_count":
                    series[key]["count"] = v
        assert series, "no sluice_backend_response_seconds histogram"
        app_count = app_sum = 0
        for key, h in series.items():
            assert h["type"] == "histogram", h["type"]
            assert h["count"] is not None and h["sum"] is not None and h["buckets"], (key, h)
            bs = sorted(h["buckets"])
            assert bs[-1][0] == float("inf") and bs[-1][1] == h["count"], (key, bs)
            assert all(x[1] <= y[1] for x, y in zip(bs, bs[1:])), f"buckets not cumulative {bs}"
            if dict(key).get("backend") == "app":
                app_count += h["count"]
                app_sum += h["sum"]
        assert app_count == 12, series
        assert 12 * 0.008 <= app_sum < 12 * 1.0, app_sum     # seconds
    finally:
        dead.close()


# ---------------------------------------------------------------------------- HTML

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path, *args, timeout=40):
    assert CHROMIUM, "chromium is not installed (apt-get install -y chromium)"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HOME"] = str(tmp_path)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--no-proxy-server", f"--user-data-dir={tmp_path / 'chromium'}",
           "--hide-scrollbars", *args]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"chromium {' '.join(args)} did not finish in {timeout}s") from e


@pytest.mark.deadline(150)
def test_html_page_renders_in_chromium(sluice, upstream, tmp_path):
    a, b = upstream("A"), upstream("B")
    dead = DeadPort()
    try:
        extra_backend = (f"backend spare {{\n    server 127.0.0.1:{dead.port};\n"
                         "    retries 0;\n}\n")
        s = start(sluice, [a.addr, b.addr], workers=1, main_extra=extra_backend,
                  frontend_extra="    route path=/spare/ backend=spare;")
        for i in range(6):
            get(s.port, f"/{i}")
        assert get(s.port, "/spare/").status == 502       # takes the spare server down
        poll_stats(s.stats_port,
                   lambda st: server(st, "spare", f"127.0.0.1:{dead.port}")["state"] == "down",
                   what="spare server down")

        r = stats_get(s.stats_port, "/")
        assert r.status == 200
        assert (r.value("Content-Type") or "").startswith("text/html"), r.headers
        html = r.body.decode("utf-8", "replace")
        assert re.search(r"<title>\s*sluice stats\s*</title>", html, re.I), html[:500]
        refresh = re.search(r"<meta[^>]+http-equiv=[\"']?refresh", html, re.I)
        script = re.search(r"<script", html, re.I)
        assert refresh or script, "the page does not refresh itself (no meta refresh, no script)"

        url = f"http://127.0.0.1:{s.stats_port}/"
        png = tmp_path / "stats.png"
        shot = chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,900", url)
        assert png.exists(), f"no screenshot: rc {shot.returncode}\n{shot.stderr[-2000:]!r}"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 10_000, f"screenshot looks empty ({png.stat().st_size} bytes)"

        # A small virtual-time budget lets a script fill the page, but stays below any
        # sensible refresh period (a meta refresh inside the budget would loop).
        dom = chromium(tmp_path, "--virtual-time-budget=500", "--dump-dom", url)
        text = dom.stdout.decode("utf-8", "replace")
        assert "</html>" in text.lower(), f"no DOM dumped: {dom.stderr[-2000:]!r}"
        for needle in ("web", "app", "spare", a.addr, b.addr, f"127.0.0.1:{dead.port}"):
            assert needle in text, f"{needle!r} not on the rendered page"
        assert re.search(r"\bup\b", text) and re.search(r"\bdown\b", text), \
            "server states up/down not on the rendered page"
    finally:
        dead.close()
