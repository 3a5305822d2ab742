"""Slow and hostile clients (the issue's item 5): `slowhttptest` (Debian package
`slowhttptest`) in slow-headers, slow-body and slow-read modes against sluice.

The attackers must be cut off by `timeout header` (slow headers), by the client going quiet
for `timeout idle` while sending its body (slow body) and by `timeout send` (slow read),
while a normal client measured during the attack is answered with normal latency.  The
backend's `timeout read` is long (30 s) so that it cannot be what cuts anybody.

The probe client goes to its own upstream (`route path=/probe`), so that what is measured is
sluice, not the Python upstream producing the large responses.
"""
import random
import shutil
import socket
import statistics
import subprocess
import threading
import time

import pytest

from clients import RawClient, get
from ports import free_port
from processes import wait_until
from servers import Reply
from stats_endpoint import frontend, stats, stats_block

SLOWHTTPTEST = shutil.which("slowhttptest")
pytestmark = pytest.mark.skipif(SLOWHTTPTEST is None,
                                reason="slowhttptest not installed (apt-get install slowhttptest)")

ATTACKERS = 150
RATE = 150              # connections per second: all attackers are in within 1 s
TIMEOUT = 2.0           # timeout header / idle / send
BIG = b"z" * (256 * 1024)
HUGE = bytes(range(256)) * (8 * 4096)          # 8 MB: more than the socket buffers hold


def _config(port, sport, app, probe, read_timeout="30s"):
    return f"""workers 2;
error_log stderr info;
{stats_block(sport)}backend app {{
    server {app.addr} max_fails=0;
    timeout read {read_timeout};
}}
backend probe {{
    server {probe.addr};
}}
frontend web {{
    listen 127.0.0.1:{port};
    route path=/probe backend=probe;
    backend app;
    timeout header {TIMEOUT:g}s;
    timeout idle {TIMEOUT:g}s;
    timeout send {TIMEOUT:g}s;
}}
"""


class Probe:
    """A normal client: GET /probe on a fresh connection every 100 ms; latencies recorded."""

    def __init__(self, port):
        self.port = port
        self.samples = []            # (start time, latency or None, status or error)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                r = get(self.port, "/probe")
                self.samples.append((t, time.monotonic() - t, r.status))
            except Exception as e:  # noqa: BLE001 - a failed probe is a finding
                self.samples.append((t, None, repr(e)))
            self._stop.wait(0.1)

    def between(self, t0, t1):
        return [s for s in self.samples if t0 <= s[0] < t1]

    def stop(self):
        self._stop.set()
        self.thread.join(5)


@pytest.fixture
def slow_setup(sluice, upstream):
    def make(read_timeout="30s"):
        app = upstream("app", lambda r: Reply(body=BIG) if r.target.startswith("/big")
                       else Reply(body=HUGE) if r.target == "/huge" else Reply(body=b"app"))
        probe = upstream("probe", lambda r: Reply(body=b"probe"))
        port, sport = free_port(), free_port()
        s = sluice(_config(port, sport, app, probe, read_timeout), ports=[port, sport])
        s.stats_port = sport
        s.app = app
        return s
    return make


def _active(s) -> int:
    return frontend(stats(s.stats_port), "web")["connections_active"]


def _attack(s, tmp_path, mode_args, seconds):
    cmd = [SLOWHTTPTEST, "-c", str(ATTACKERS), "-r", str(RATE), "-l", str(seconds), "-p", "3",
           "-g", "-o", str(tmp_path / "slow")] + mode_args
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)


def _run(s, tmp_path, mode_args, *, cut_within, seconds=20):
    """Run the attack with a probe; returns (peak attackers held, attackers still held
    `cut_within` s after the last one connected, probe samples before and during)."""
    probe = Probe(s.port)
    time.sleep(1.0)                                            # baseline
    t0 = time.monotonic()
    proc = _attack(s, tmp_path, mode_args, seconds)
    try:
        peak = wait_until(lambda: (lambda n: n if n >= ATTACKERS * 0.9 else None)(_active(s)), 3,
                          interval=0.05, what="the attackers connected")
        ramp_end = t0 + ATTACKERS / RATE
        time.sleep(max(0.0, ramp_end + cut_within - time.monotonic()))
        left = _active(s)
        t1 = time.monotonic()
        if proc.poll() is None:           # it ends by itself once every connection is cut
            proc.kill()
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        probe.stop()
    return dict(peak=peak, left=left, before=probe.between(t0 - 1.0, t0),
                during=probe.between(t0, t1), out=out)


def _assert_normal_latency(r):
    before = [s[1] for s in r["before"] if s[1] is not None]
    during = r["during"]
    bad = [s for s in during if s[1] is None or s[2] != 200]
    assert not bad, f"probe failures during the attack: {bad[:5]}"
    lat = sorted(s[1] for s in during)
    assert len(lat) >= 20, lat
    base = statistics.median(before)
    p50, p95 = statistics.median(lat), lat[int(len(lat) * 0.95) - 1]
    print(f"probe latency: baseline p50 {base * 1000:.1f} ms; during the attack p50 "
          f"{p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
    assert p50 <= max(10 * base, 0.025), (base, p50)
    assert p95 <= 0.25, (base, p95, lat[-10:])


@pytest.mark.deadline(30)
def test_slow_headers_cut_by_header_timeout(slow_setup, tmp_path):
    """Slowloris: a header line every second; the whole head must arrive within 2 s."""
    s = slow_setup()
    url = f"http://127.0.0.1:{s.port}/"
    r = _run(s, tmp_path, ["-H", "-i", "1", "-u", url], cut_within=TIMEOUT + 1.5)
    assert r["left"] <= 2, f"{r['left']} of {r['peak']} slow-header connections still open"
    _assert_normal_latency(r)
    st = frontend(stats(s.stats_port), "web")
    assert st["responses"]["4xx"] >= ATTACKERS * 0.9, st          # 408 each
    # only slowhttptest's own availability probes (complete GET / heads) may reach the app;
    # an attacker's request would carry its random follow-up header lines
    for r in s.app.snapshot():
        extra = [k for k, _ in r.headers if k.startswith("X-") and not k.startswith("X-Forwarded-")]
        assert not extra, f"a slow-header request reached the upstream: {r.head[:300]!r}"


@pytest.mark.deadline(30)
def test_slow_body_cut_when_client_goes_quiet(slow_setup, tmp_path):
    """R-U-Dead-Yet: a complete POST head, then a few body bytes every 3 s; a client that
    sends nothing for `timeout idle` (2 s) is cut.  slowhttptest sends its body chunks on its
    own 3 s schedule, so an attacker's last byte may come up to one interval after the ramp:
    the window is `timeout idle` + that interval (without the body timeout they would be held
    for `timeout read`, 30 s).  The exact per-connection bound is the next test."""
    s = slow_setup()
    url = f"http://127.0.0.1:{s.port}/"
    r = _run(s, tmp_path, ["-B", "-i", "3", "-s", "65536", "-u", url], cut_within=TIMEOUT + 3 + 1.5)
    _assert_normal_latency(r)
    assert r["left"] <= 2, f"{r['left']} of {r['peak']} slow-body connections still open"


@pytest.mark.deadline(30)
def test_slow_body_gets_408_timeout_idle_after_its_last_byte(slow_setup):
    """150 clients each send a POST head and one body byte, a second byte at a random moment
    within 1.5 s, then nothing: each gets 408 between `timeout idle` and `timeout idle` + 0.5 s
    after its last byte, and the upstream is not blamed (it stays up)."""
    s = slow_setup()
    results, lock = [], threading.Lock()

    def one():
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65536\r\n\r\nx")
            time.sleep(random.uniform(0, 1.5))
            c.sendall(b"y")
            last = time.monotonic()
            data = b""
            try:
                while not data.endswith(b"\n"):
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            with lock:
                results.append((time.monotonic() - last, data[:12]))

    threads = [threading.Thread(target=one) for _ in range(150)]
    for t in threads:
        t.start()
        time.sleep(1 / 150)
    for t in threads:
        t.join(15)
    assert len(results) == 150
    assert {status for _, status in results} == {b"HTTP/1.1 408"}, {status for _, status in results}
    gaps = sorted(gap for gap, _ in results)
    assert TIMEOUT - 0.05 <= gaps[0] and gaps[-1] <= TIMEOUT + 0.5, (gaps[0], gaps[-1])
    assert get(s.port, "/after").status == 200, "a slow client must not take the upstream down"


@pytest.mark.deadline(30)
def test_slow_read_cut_by_send_timeout(slow_setup, tmp_path):
    """Slow read: 4 pipelined GETs of 256 KB each, a 10-20 byte receive window and 32 bytes
    read per second.  The connection makes no progress for `timeout send` and is cut."""
    s = slow_setup()
    url = f"http://127.0.0.1:{s.port}/big"
    r = _run(s, tmp_path, ["-X", "-k", "4", "-n", "1", "-w", "10", "-y", "20", "-z", "32", "-u", url],
             cut_within=TIMEOUT + 2.5)
    assert r["left"] <= 2, f"{r['left']} of {r['peak']} slow-read connections still open"
    _assert_normal_latency(r)


@pytest.mark.deadline(20)
def test_send_timeout_only_counts_time_without_progress(slow_setup):
    """A client that reads slowly but steadily (1 MB every 0.4 s) is not cut, although the
    8 MB response takes longer than `timeout send` to go through."""
    s = slow_setup()
    with RawClient(s.port, timeout=10) as c:
        c.send(b"GET /huge HTTP/1.1\r\nHost: h\r\n\r\n")
        got = bytearray()
        t = time.monotonic()
        eof = False
        while not eof:
            time.sleep(0.4)
            chunk = bytearray()
            c.sock.settimeout(0.05)
            try:
                while len(chunk) < (1 << 20):
                    data = c.sock.recv((1 << 20) - len(chunk))
                    if not data:     # the idle timeout may close it once all is written
                        eof = True
                        break
                    chunk += data
            except socket.timeout:
                pass
            got += chunk
            head = got.find(b"\r\n\r\n")
            if head >= 0 and len(got) - head - 4 >= len(HUGE):
                break
        took = time.monotonic() - t
    assert head >= 0 and len(got) - head - 4 == len(HUGE), \
        f"cut after {took:.1f}s with {len(got)} bytes"
    assert took > TIMEOUT + 0.5, f"the response took only {took:.1f}s: too fast to tell"
    assert bytes(got[head + 4:]) == HUGE

@pytest.mark.deadline(20)
def test_stalled_body_does_not_take_the_upstream_down(sluice, upstream):
    up = upstream("A")
    port = free_port()
    s = sluice(f"""workers 1;
error_log stderr info;
backend app {{
    server {up.addr};
    timeout read 1s;
}}
frontend web {{
    listen 127.0.0.1:{port};
    backend app;
}}
""")
    with RawClient(s.port) as c:
        c.send(b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nonly-a-little")
        c.wait_closed(4)                     # whatever cuts it (408, 504 or a plain close)
    resp = get(s.port, "/other")
    assert (resp.status, resp.body) == (200, b"A"), \
        f"another client got {resp.status} after one client stalled its body"
    assert "marked down" not in s.log()
