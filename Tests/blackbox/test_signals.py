"""SPEC §4 signals and §1 `sluice -s`: SIGTERM/SIGINT drain then exit 0, a second one or
SIGQUIT stops at once, SIGUSR1 reopens the log files, `-s reload|stop|quit|reopen` signal the
pid in `pid_file`."""
import os
import signal
import subprocess
import threading
import time

import pytest

from clients import RawClient, get
from conftest import http_config
from ports import free_port, port_accepts
from processes import run_cli, wait_children, wait_gone, wait_until
from servers import Reply
from stats_endpoint import stats, stats_block, wait_reloads

AT_ONCE = 1.0     # "stop at once": well under a second in practice; this is the bound


def start(sluice, up, *, workers=2, drain="10s", main_extra="", frontend_extra="", **kw):
    """sluice in front of `up`; s.port is the frontend's port, whatever else listens."""
    port = free_port()
    text = http_config(port, [up.addr], workers=workers, read_timeout="30s",
                       main_extra=f"drain_timeout {drain};\n" + main_extra,
                       frontend_extra=frontend_extra, **kw)
    s = sluice(text, ports=[port])
    s.kids = wait_children(s.pid, workers, timeout=3)
    return s


def slow_or_hang(req):
    if req.target == "/slow":
        return Reply(body=b"done", delay=1.0)
    if req.target == "/hang":
        return Reply(silent=True)
    return Reply(body=b"A")


def in_background(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e
        box["at"] = time.monotonic()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, box


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_finishes_the_request_in_flight(sluice, upstream, sig):
    up = upstream("A", slow_or_hang)
    s = start(sluice, up)
    th, box = in_background(lambda: get(s.port, "/slow"))
    wait_until(lambda: up.snapshot(), 2, what="/slow at the upstream")
    s.signal(sig)
    time.sleep(0.3)
    assert s.proc.poll() is None, "the master exited with a request in flight"
    th.join(5)
    assert "error" not in box, f"the request in flight failed: {box.get('error')!r}"
    r = box["value"]
    assert (r.status, r.body) == (200, b"done")
    assert s.wait_exit(3) == 0
    exited = time.monotonic()
    assert exited - box["at"] < 1.5, "the master did not exit soon after the drain"
    wait_gone(s.kids, 2)
    wait_until(lambda: not port_accepts(s.port), 2, what="listener closed after the stop")


def test_graceful_stop_with_nothing_in_flight_is_quick(sluice, upstream):
    s = start(sluice, upstream("A", slow_or_hang), drain="30s")
    with RawClient(s.port) as c:        # an idle keep-alive connection does not hold the stop
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().status == 200
        t = time.monotonic()
        s.signal(signal.SIGTERM)
        assert s.wait_exit(3) == 0
        assert time.monotonic() - t < 2.0
        c.wait_closed(1)
    wait_gone(s.kids, 1)


@pytest.mark.parametrize("first,second", [
    (signal.SIGTERM, signal.SIGTERM), (signal.SIGTERM, signal.SIGQUIT),
    (signal.SIGINT, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)],
    ids=["TERM-TERM", "TERM-QUIT", "INT-INT", "INT-TERM"])
def test_second_signal_stops_at_once(sluice, upstream, first, second):
    up = upstream("A", slow_or_hang)
    s = start(sluice, up, drain="30s")
    with RawClient(s.port) as c:
        c.send(b"GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_until(lambda: up.snapshot(), 2, what="/hang at the upstream")
        s.signal(first)
        time.sleep(0.5)
        assert s.proc.poll() is None, "graceful stop must wait for the request in flight"
        t = time.monotonic()
        s.signal(second)
        s.wait_exit(AT_ONCE + 1)
        assert time.monotonic() - t <= AT_ONCE, time.monotonic() - t
        wait_gone(s.kids, 1)
        c.wait_closed(1)


def test_sigquit_stops_at_once(sluice, upstream):
    up = upstream("A", slow_or_hang)
    s = start(sluice, up, drain="30s")
    with RawClient(s.port) as c:
        c.send(b"GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_until(lambda: up.snapshot(), 2, what="/hang at the upstream")
        t = time.monotonic()
        s.signal(signal.SIGQUIT)
        s.wait_exit(AT_ONCE + 1)
        assert time.monotonic() - t <= AT_ONCE
        wait_gone(s.kids, 1)
        c.wait_closed(1)


# ------------------------------------------------------------------------ SIGUSR1

def lines_of(path) -> list:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def wait_lines(path, n: int, timeout: float = 3.0) -> list:
    """Access-log lines are written in batches (up to ~1 s late): poll for them."""
    return wait_until(lambda: (lambda ls: ls if len(ls) >= n else None)(lines_of(path)),
                      timeout, interval=0.05, what=f"{n} lines in {path} (have {len(lines_of(path))})")


def reopen_and_check(s, log, send_signal):
    for i in range(5):
        assert get(s.port, f"/before/{i}").status == 200
    old = wait_lines(log, 5)
    rotated = log.with_name(log.name + ".1")
    os.rename(log, rotated)
    send_signal()
    try:       # the reopen may create the file at once, or at the first line written
        wait_until(log.exists, 1.0, what="reopened file")
    except AssertionError:
        pass
    time.sleep(0.3)
    for i in range(5):
        assert get(s.port, f"/after/{i}").status == 200
    new = wait_lines(log, 5)
    time.sleep(1.2)          # anything late would show now
    new = lines_of(log)
    assert lines_of(rotated) == old, "the rotated file changed after the reopen"
    # (with several workers, each writing its own batches, lines need not be in order)
    assert sorted(ln.split('"')[1] for ln in old) == [f"GET /before/{i} HTTP/1.1" for i in range(5)]
    assert sorted(ln.split('"')[1] for ln in new) == [f"GET /after/{i} HTTP/1.1" for i in range(5)], new


def test_sigusr1_reopens_access_log(sluice, upstream, tmp_path):
    log = tmp_path / "access.log"
    s = start(sluice, upstream("A"), frontend_extra=f'    access_log "{log}" combined;')
    reopen_and_check(s, log, lambda: s.signal(signal.SIGUSR1))
    assert s.proc.poll() is None


def test_sigusr1_reopens_error_log(sluice, upstream, tmp_path):
    err = tmp_path / "error.log"
    port = free_port()
    up = upstream("A")
    text = http_config(port, [up.addr], workers=2).replace(
        "error_log stderr info;", f'error_log "{err}" info;')
    s = sluice(text)
    wait_children(s.pid, 2, timeout=3)
    wait_until(lambda: err.exists() and err.stat().st_size > 0, 3, what="error log written")
    rotated = tmp_path / "error.log.1"
    os.rename(err, rotated)
    size = rotated.stat().st_size
    s.signal(signal.SIGUSR1)
    time.sleep(0.5)
    # Something the master logs: a reload with a bad file.
    bad = text.replace("balance round_robin;", "blance round_robin;")
    s.reload(bad)
    wait_until(lambda: "blance" in (err.read_text() if err.exists() else ""), 3,
               what="the reload error in the reopened error log")
    assert "blance" not in rotated.read_text()
    assert rotated.stat().st_size >= size


# ------------------------------------------------------------------------- sluice -s

def with_pid_file(sluice, upstream, tmp_path, frontend_extra="", workers=2, drain="10s"):
    pid_file = tmp_path / "sluice.pid"
    sp = free_port()
    up = upstream("A", slow_or_hang)
    s = start(sluice, up, workers=workers, drain=drain,
              main_extra=f'pid_file "{pid_file}";\n' + stats_block(sp),
              frontend_extra=frontend_extra)
    s.stats_port = sp
    s.up = up
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 2, what="pid_file")
    assert pid_file.read_text().strip() == str(s.pid), "pid_file must hold the master's pid"
    return s


def test_s_reload(sluice, upstream, tmp_path):
    s = with_pid_file(sluice, upstream, tmp_path)
    g0 = stats(s.stats_port)["generation"]
    r = run_cli("-s", "reload", "-c", str(s.config))
    assert r.returncode == 0, r.stderr
    st = wait_reloads(s.stats_port, 1)
    assert st["reloads"]["succeeded"] == 1 and st["generation"] == g0 + 1
    wait_children(s.pid, 2, timeout=3, exclude=s.kids)


def test_s_reopen(sluice, upstream, tmp_path):
    log = tmp_path / "access.log"
    s = with_pid_file(sluice, upstream, tmp_path,
                      frontend_extra=f'    access_log "{log}" combined;')

    def send():
        r = run_cli("-s", "reopen", "-c", str(s.config))
        assert r.returncode == 0, r.stderr
    reopen_and_check(s, log, send)


def test_s_stop(sluice, upstream, tmp_path):
    s = with_pid_file(sluice, upstream, tmp_path)
    th, box = in_background(lambda: get(s.port, "/slow"))
    wait_until(lambda: s.up.snapshot(), 2, what="/slow at the upstream")
    r = run_cli("-s", "stop", "-c", str(s.config))
    assert r.returncode == 0, r.stderr
    th.join(5)
    assert box.get("value") is not None and box["value"].status == 200, box
    assert s.wait_exit(3) == 0
    wait_gone(s.kids, 2)


def test_s_quit(sluice, upstream, tmp_path):
    s = with_pid_file(sluice, upstream, tmp_path, drain="30s")
    with RawClient(s.port) as c:
        c.send(b"GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_until(lambda: s.up.snapshot(), 2, what="/hang at the upstream")
        t = time.monotonic()
        r = run_cli("-s", "quit", "-c", str(s.config))
        assert r.returncode == 0, r.stderr
        s.wait_exit(AT_ONCE + 1)
        assert time.monotonic() - t <= AT_ONCE + 0.5     # includes starting the CLI
        wait_gone(s.kids, 1)


def test_s_without_pid_file_fails_with_a_message(tmp_path):
    f = tmp_path / "nopid.conf"
    f.write_text(http_config(free_port(), ["127.0.0.1:9"]))
    for cmd in ("reload", "stop", "quit", "reopen"):
        r = run_cli("-s", cmd, "-c", str(f))
        assert r.returncode == 1, (cmd, r.returncode, r.stderr)
        assert "pid_file" in r.stderr, (cmd, r.stderr)
        assert len(r.stderr.strip().splitlines()) <= 2, r.stderr


def test_s_with_missing_pid_file_fails_with_a_message(tmp_path):
    pid_file = tmp_path / "gone.pid"
    f = tmp_path / "stale.conf"
    f.write_text(http_config(free_port(), ["127.0.0.1:9"],
                             main_extra=f'pid_file "{pid_file}";\n'))
    for cmd in ("reload", "stop", "quit", "reopen"):
        r = run_cli("-s", cmd, "-c", str(f))
        assert r.returncode == 1, (cmd, r.returncode, r.stderr)
        assert str(pid_file) in r.stderr, (cmd, r.stderr)


def test_s_unknown_signal_name_fails(tmp_path):
    target = subprocess.Popen(["sleep", "30"])       # what the pid_file names
    try:
        pid_file = tmp_path / "x.pid"
        pid_file.write_text(f"{target.pid}\n")
        f = tmp_path / "x.conf"
        f.write_text(http_config(free_port(), ["127.0.0.1:9"],
                                 main_extra=f'pid_file "{pid_file}";\n'))
        r = run_cli("-s", "explode", "-c", str(f))
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "explode" in r.stderr
        assert target.poll() is None, "an unknown name must not signal anything"
    finally:
        target.kill()
        target.wait(5)
