"""Access logs (SPEC §2 `access_log PATH|stdout|off combined|json`): the exact combined line
with upstream address and times, the JSON keys, and no line lost or doubled (200 requests ->
200 lines), also across SIGUSR1 reopens, a reload, and a graceful stop.  Lines are written in
batches, so every check polls for up to a few seconds."""
import datetime as dt
import json
import os
import re
import signal
import threading
import time

import pytest

from clients import RawClient, get
from conftest import http_config
from ports import free_port
from processes import wait_children, wait_until
from servers import Reply

QUOTED = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(
    r'^(?P<client>\S+) - - \[(?P<time>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] '
    + QUOTED.replace("(", "(?P<request>", 1) + r" (?P<status>\d{3}) (?P<bytes>\d+) "
    + QUOTED.replace("(", "(?P<referer>", 1) + " " + QUOTED.replace("(", "(?P<ua>", 1) + " "
    + QUOTED.replace("(", "(?P<upstream>", 1)
    + r" (?P<total>\d+\.\d+) (?P<uptime>\d+\.\d+|-)$")
JSON_KEYS = {"time", "frontend", "client", "method", "target", "protocol", "status", "bytes",
             "referer", "user_agent", "upstream", "request_time", "upstream_time"}


def lines_of(path) -> list:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def wait_lines(path, n: int, timeout: float = 4.0) -> list:
    return wait_until(lambda: (lambda ls: ls if len(ls) >= n else None)(lines_of(path)),
                      timeout, interval=0.05,
                      what=f"{n} lines in {path.name} (have {len(lines_of(path))})")


def settle(path, n: int) -> list:
    """Wait for n lines, then long enough for a late batch: exactly n, none extra."""
    wait_lines(path, n)
    time.sleep(1.2)
    got = lines_of(path)
    assert len(got) == n, f"{len(got)} lines instead of {n}"
    return got


def combined(line: str) -> dict:
    m = COMBINED.match(line)
    assert m, f"not a combined line with upstream and times: {line!r}"
    d = m.groupdict()
    when = dt.datetime.strptime(d["time"], "%d/%b/%Y:%H:%M:%S %z")
    assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 30, d["time"]
    return d


def start(sluice, up, fmt="combined", *, workers=1, log=None, frontend_extra="", **kw):
    port = free_port()
    target = "stdout" if log is None else f'"{log}"'
    s = sluice(http_config(port, [up.addr], workers=workers,
                           frontend_extra=f"    access_log {target} {fmt};\n" + frontend_extra,
                           **kw))
    s.kids = wait_children(s.pid, workers, timeout=3)
    return s


def exchange(port: int, raw: bytes, method: str = "GET", source: str = "127.0.0.1"):
    """Send one request on a fresh connection; (response, bytes the client received)."""
    with RawClient(port, source=source) as c:
        c.send(raw)
        r = c.read_response(method)
    return r, len(r.head) + len(r.body)


def handler(req):
    if req.target.startswith("/slow"):
        return Reply(body=b"slow", delay=0.3)
    return Reply(body=b"hello " + req.target.encode())


def test_combined_format_fields(sluice, upstream, tmp_path):
    up = upstream("A", handler)
    log = tmp_path / "access.log"
    s = start(sluice, up, log=log, frontend_extra="    max_body_size 16;")
    p = s.port
    cases = []          # (raw request, method, source, expected fields)
    cases.append((b"GET /x?a=1 HTTP/1.1\r\nHost: h\r\nReferer: http://ref.example/p?q=1\r\n"
                  b"User-Agent: test-agent/1.0 (x)\r\nConnection: close\r\n\r\n", "GET", "127.0.0.1",
                  dict(request="GET /x?a=1 HTTP/1.1", status="200", referer="http://ref.example/p?q=1",
                       ua="test-agent/1.0 (x)", upstream=up.addr, client="127.0.0.1")))
    cases.append((b"GET /plain HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "GET", "127.0.0.3",
                  dict(request="GET /plain HTTP/1.1", status="200", referer="-", ua="-",
                       upstream=up.addr, client="127.0.0.3")))
    cases.append((b"GET /slow HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "GET", "127.0.0.1",
                  dict(request="GET /slow HTTP/1.1", status="200", upstream=up.addr)))
    cases.append((b"GET /ten HTTP/1.0\r\nHost: h\r\n\r\n", "GET", "127.0.0.1",
                  dict(request="GET /ten HTTP/1.0", status="200", upstream=up.addr)))
    cases.append((b"HEAD /head HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "HEAD", "127.0.0.1",
                  dict(request="HEAD /head HTTP/1.1", status="200", upstream=up.addr)))
    cases.append((b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
                  + b"z" * 100, "POST", "127.0.0.1",
                  dict(request="POST /big HTTP/1.1", status="413", upstream="-")))
    got_bytes = []
    for raw, method, src, _ in cases:
        r, n = exchange(p, raw, method, src)
        got_bytes.append(n)
    lines = settle(log, len(cases))
    by_request = {}
    for ln in lines:
        d = combined(ln)
        by_request[d["request"]] = d
    for (raw, method, src, want), n in zip(cases, got_bytes):
        d = by_request.get(want["request"])
        assert d, f"no line for {want['request']!r} in {lines}"
        for k, v in want.items():
            assert d[k] == v, f"{want['request']}: {k} = {d[k]!r}, expected {v!r}"
        assert int(d["bytes"]) == n, f"{want['request']}: bytes {d['bytes']} != {n} sent"
        total = float(d["total"])
        assert 0 <= total < 5
        if d["upstream"] != "-":
            assert d["uptime"] != "-", d
            assert float(d["uptime"]) <= total + 0.002, d
    slow = by_request["GET /slow HTTP/1.1"]
    assert float(slow["total"]) >= 0.29 and float(slow["uptime"]) >= 0.29, slow
    assert float(by_request["GET /plain HTTP/1.1"]["total"]) < 0.29


def test_json_format(sluice, upstream, tmp_path):
    up = upstream("A", handler)
    web_log, api_log = tmp_path / "web.json", tmp_path / "api.json"
    port, api_port = free_port(), free_port()
    text = http_config(port, [up.addr], frontend_extra=f'    access_log "{web_log}" json;\n'
                       "    max_body_size 16;")
    text += (f"frontend api {{\n    listen 127.0.0.1:{api_port};\n    backend app;\n"
             f'    access_log "{api_log}" json;\n}}\n')
    sluice(text)
    r1, n1 = exchange(port, b"GET /j?x=1 HTTP/1.1\r\nHost: h\r\nReferer: http://r.example/\r\n"
                            b"User-Agent: ua-json \"q\"\r\nConnection: close\r\n\r\n")
    r2, n2 = exchange(port, b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n"
                            b"Connection: close\r\n\r\n" + b"y" * 50, "POST", "127.0.0.3")
    r3, n3 = exchange(api_port, b"GET /api HTTP/1.0\r\nHost: h\r\n\r\n")
    assert (r1.status, r2.status, r3.status) == (200, 413, 200)
    web = [json.loads(x) for x in settle(web_log, 2)]
    api = [json.loads(x) for x in settle(api_log, 1)]
    for rec in web + api:
        assert set(rec) == JSON_KEYS, set(rec) ^ JSON_KEYS
        assert isinstance(rec["time"], str) and rec["time"], rec
        assert isinstance(rec["status"], int) and isinstance(rec["bytes"], int), rec
        assert isinstance(rec["request_time"], (int, float)) and 0 <= rec["request_time"] < 5
    ok = next(x for x in web if x["target"] == "/j?x=1")
    assert {k: ok[k] for k in ("frontend", "client", "method", "target", "protocol", "status",
                               "bytes", "referer", "user_agent", "upstream")} == {
        "frontend": "web", "client": "127.0.0.1", "method": "GET", "target": "/j?x=1",
        "protocol": "HTTP/1.1", "status": 200, "bytes": n1, "referer": "http://r.example/",
        "user_agent": 'ua-json "q"', "upstream": up.addr}
    assert isinstance(ok["upstream_time"], (int, float)) and ok["upstream_time"] <= ok["request_time"] + 0.002
    big = next(x for x in web if x["target"] == "/big")
    assert (big["method"], big["status"], big["bytes"], big["client"]) == ("POST", 413, n2, "127.0.0.3")
    assert big["upstream"] in (None, "-"), big
    assert big["referer"] in (None, "-", "") and big["user_agent"] in (None, "-", ""), big
    (a,) = api
    assert (a["frontend"], a["target"], a["protocol"], a["bytes"]) == ("api", "/api", "HTTP/1.0", n3)


def test_stdout_target(sluice, upstream):
    up = upstream("A", handler)
    s = start(sluice, up)               # access_log stdout combined
    for i in range(3):
        assert get(s.port, f"/out/{i}").status == 200

    def found():
        return [ln for ln in s.log().splitlines() if COMBINED.match(ln)]
    got = wait_until(lambda: (lambda x: x if len(x) >= 3 else None)(found()), 4,
                     what="3 combined lines on stdout")
    assert [combined(x)["request"] for x in got] == [f"GET /out/{i} HTTP/1.1" for i in range(3)]


# ------------------------------------------------------------------------ no line lost

def load(port: int, prefix: str, per_thread: int, threads: int = 4) -> list:
    """threads in parallel, half on one keep-alive connection each, half one connection per
    request; returns the targets requested."""
    targets, errors = [], []
    lock = threading.Lock()

    def run(t):
        mine = [f"/{prefix}/{t}/{i}" for i in range(per_thread)]
        try:
            if t % 2 == 0:
                with RawClient(port) as c:
                    for tg in mine:
                        c.send(f"GET {tg} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
                        assert c.read_response().status == 200
            else:
                for tg in mine:
                    assert get(port, tg).status == 200
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        with lock:
            targets.extend(mine)

    ths = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(30)
    assert not errors, errors[:3]
    return targets


def targets_in(*paths) -> list:
    out = []
    for p in paths:
        for ln in lines_of(p):
            out.append(combined(ln)["request"].split(" ")[1])
    return out


def test_200_requests_200_lines(sluice, upstream, tmp_path):
    log = tmp_path / "access.log"
    s = start(sluice, upstream("A", handler), log=log, workers=2)
    sent = load(s.port, "r", 50)
    settle(log, 200)
    assert sorted(targets_in(log)) == sorted(sent)


@pytest.mark.deadline(45)
def test_no_line_lost_across_sigusr1_reopens(sluice, upstream, tmp_path):
    log = tmp_path / "access.log"
    s = start(sluice, upstream("A"), log=log, workers=2)
    sent, errors, stop = [], [], threading.Event()

    def client():
        i = 0
        while not stop.is_set():
            tg = f"/q/{i}"
            try:
                assert get(s.port, tg).status == 200
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
            sent.append(tg)
            i += 1

    th = threading.Thread(target=client, daemon=True)
    th.start()
    rotated = []
    try:
        for k in (1, 2, 3):
            time.sleep(0.6)
            rot = tmp_path / f"access.log.{k}"
            wait_until(log.exists, 3, what="the log file (re)created")
            os.rename(log, rot)
            rotated.append(rot)
            s.signal(signal.SIGUSR1)
        time.sleep(0.6)
    finally:
        stop.set()
        th.join(10)
    assert not errors, errors[:3]
    assert len(sent) > 50
    files = [log, *rotated]
    wait_until(lambda: len(targets_in(*files)) >= len(sent), 4, interval=0.1,
               what=f"{len(sent)} lines across {[f.name for f in files]}")
    time.sleep(1.2)
    got = targets_in(*files)
    assert sorted(got) == sorted(sent), (f"{len(got)} lines for {len(sent)} requests; missing "
                                         f"{sorted(set(sent) - set(got))[:5]}")
    assert lines_of(log), "nothing written to the file reopened last"


def test_no_line_lost_across_reload(sluice, upstream, tmp_path):
    log = tmp_path / "access.log"
    s = start(sluice, upstream("A"), log=log, workers=2)
    sent = load(s.port, "before", 25)
    s.reload()
    wait_children(s.pid, 2, timeout=3, exclude=s.kids)
    sent += load(s.port, "after", 25)
    settle(log, 200)
    assert sorted(targets_in(log)) == sorted(sent)


def test_no_line_lost_at_graceful_stop(sluice, upstream, tmp_path):
    log = tmp_path / "access.log"
    s = start(sluice, upstream("A"), log=log, workers=2)
    sent = load(s.port, "stop", 50)
    s.signal(signal.SIGTERM)          # at once: lines still in a batch must be written
    assert s.wait_exit(5) == 0
    got = lines_of(log)
    assert len(got) == 200, f"{len(got)} lines after a graceful stop, 200 requests were served"
    assert sorted(targets_in(log)) == sorted(sent)
