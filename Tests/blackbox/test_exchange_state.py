"""Per-request state belongs to one exchange and goes with it.  Regressions of the old shape,
where one session object was reset field by field: a `mode tcp` connection left its upstream
start time behind, and the next HTTP connection in the same slot crashed the worker when the
proxy answered a request itself; an HTTP/1.0 request left its protocol behind for the next
rejected request's log line."""
import json
import socket

from clients import RawClient
from ports import free_port
from processes import children, wait_until
from servers import Reply


def config(tcp_port, http_port, echo, app, log):
    return f"""\
workers 1;
error_log stderr info;
backend raw {{ server {echo}; }}
backend app {{ server {app}; }}
frontend t {{
    mode tcp;
    listen 127.0.0.1:{tcp_port};
    backend raw;
}}
frontend web {{
    listen 127.0.0.1:{http_port};
    backend app;
    access_log "{log}" json;
}}
"""


def exchange(port, raw):
    with RawClient(port) as c:
        c.send(raw)
        return c.read_response()


def logged(path, n):
    return wait_until(lambda: (lambda ls: ls if len(ls) >= n else None)(
        path.read_text().splitlines() if path.exists() else []), 5, what=f"{n} log lines")


def test_tcp_connection_then_rejected_request_keeps_the_worker(sluice, upstream, tmp_path):
    echo = upstream("T", tcp=True)
    app = upstream("A", lambda r: Reply(body=b"ok"))
    tcp_port, http_port = free_port(), free_port()
    log = tmp_path / "access.json"
    s = sluice(config(tcp_port, http_port, echo.addr, app.addr, log), ports=[tcp_port, http_port])
    workers = children(s.proc.pid)
    with socket.create_connection(("127.0.0.1", tcp_port), timeout=3) as t:
        t.sendall(b"ping")
        assert t.recv(4) == b"ping"
    bad = exchange(http_port, b"GET /bad?x=1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert bad.status == 400
    assert exchange(http_port, b"GET /good HTTP/1.1\r\nHost: h\r\n\r\n").status == 200
    assert children(s.proc.pid) == workers, "a worker died and was replaced"
    assert "killed by signal" not in s.log()
    rejected, good = [json.loads(x) for x in logged(log, 2)]
    assert (rejected["method"], rejected["target"], rejected["protocol"], rejected["status"]) == \
        ("GET", "/bad?x=1", "HTTP/1.1", 400)
    assert rejected["upstream"] is None and rejected["upstream_time"] is None
    assert (good["target"], good["status"], good["upstream"]) == ("/good", 200, app.addr)
    assert [r.target for r in app.requests] == ["/good"], "the rejected request reached the upstream"


def test_rejected_request_logs_its_own_protocol(sluice, upstream, tmp_path):
    echo = upstream("T", tcp=True)
    app = upstream("A", lambda r: Reply(body=b"ok"))
    tcp_port, http_port = free_port(), free_port()
    log = tmp_path / "access.json"
    sluice(config(tcp_port, http_port, echo.addr, app.addr, log), ports=[tcp_port, http_port])
    assert exchange(http_port, b"GET /old HTTP/1.0\r\n\r\n").status == 200
    assert exchange(http_port, b"GET /dup HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").status == 400
    assert exchange(http_port, b"BREW /pot HTTP/3.0\r\nHost: a\r\n\r\n").status == 505
    old, dup, brew = [json.loads(x) for x in logged(log, 3)]
    assert (old["protocol"], old["status"]) == ("HTTP/1.0", 200)
    assert (dup["method"], dup["target"], dup["protocol"], dup["status"]) == ("GET", "/dup", "HTTP/1.1", 400)
    assert (brew["method"], brew["target"], brew["protocol"], brew["status"]) == ("BREW", "/pot", "HTTP/3.0", 505)
