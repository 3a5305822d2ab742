"""Helpers for the health, failover, keep-alive-race, slow-client and limit tests.

* ``Switch``: an upstream handler whose health endpoint answers a status the test flips,
  recording every check (time, status) apart from client traffic.
* ``Blackhole``: a listening port whose accept queue is full, so that connects to it hang
  (the only way to get a connect *timeout* on 127.0.0.0/8).
* ``worker_of``: which worker process holds a given client connection (from /proc).
* ``metrics_samples``: the samples of a Prometheus text page.
* ``KillableUpstream``: an HTTP upstream in its own process that can be SIGKILLed (it reports
  how many requests it held in flight when it died) and restarted on the same port.
* ``rss_bytes`` / ``cpu_seconds``: /proc figures of a process.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from procs import socket_inodes_of
from upstreams import Recorded, Reply, free_port

HERE = Path(__file__).resolve().parent


class Switch:
    """handler(req) for RecordingUpstream: `health_path` answers `self.status` (after
    `self.delay` seconds); everything else answers 200 with `body`.  Checks are recorded in
    `self.checks` as (monotonic time, status answered, Recorded)."""

    def __init__(self, body: bytes, health_path: str = "/healthz", status: int = 200):
        self.body = body
        self.path = health_path
        self.status = status
        self.delay = 0.0
        self.lock = threading.Lock()
        self.checks: list = []
        self.traffic: list = []

    def __call__(self, req: Recorded) -> Reply:
        if req.target == self.path:
            status, delay = self.status, self.delay
            with self.lock:
                self.checks.append((time.monotonic(), status, req))
            return Reply(status=status, reason="Health", body=b"health", delay=delay)
        with self.lock:
            self.traffic.append(req)
        return Reply(body=self.body)

    def set(self, status: int) -> float:
        """Switch the answer; returns the time of the switch."""
        with self.lock:
            self.status = status
            return time.monotonic()

    def checks_since(self, t: float) -> list:
        with self.lock:
            return [c for c in self.checks if c[0] >= t]

    def check_count(self) -> int:
        with self.lock:
            return len(self.checks)

    def traffic_count(self) -> int:
        with self.lock:
            return len(self.traffic)


class Blackhole:
    """A port that never completes a connect: backlog 0 and the queue filled at once."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.fillers = []
        for _ in range(4):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(c)
        time.sleep(0.1)

    def close(self) -> None:
        for c in self.fillers:
            c.close()
        self.listener.close()


def _tcp_table():
    """[(local (ip,port), remote (ip,port), state, inode)] of IPv4 TCP sockets."""
    out = []
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        def addr(x):
            ip, port = x.split(":")
            return socket.inet_ntoa(bytes.fromhex(ip)[::-1]), int(port, 16)
        out.append((addr(f[1]), addr(f[2]), f[3], int(f[9])))
    return out


def worker_of(sock: socket.socket, pids) -> Optional[int]:
    """The pid among `pids` whose fd table holds the server side of the client socket."""
    mine = sock.getsockname()
    peer = sock.getpeername()
    inode = None
    for local, remote, _, ino in _tcp_table():
        if local == peer and remote == mine:
            inode = ino
            break
    if inode is None:
        return None
    for pid in pids:
        if inode in socket_inodes_of(pid):
            return pid
    return None


def established_to(port: int) -> int:
    """Server-side ESTABLISHED sockets on 127.0.0.1:port (state 01)."""
    return sum(1 for local, _, st, _ in _tcp_table() if local[1] == port and st == "01")


def metrics_samples(text: str) -> list:
    """[(name, {label: value}, float value)] of a Prometheus text page."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, f"bad metrics line {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def rss_bytes(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    data = open(f"/proc/{pid}/stat", "rb").read()
    rest = data[data.rfind(b")") + 2:].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(rest[11]) + int(rest[12])) / ticks


# ------------------------------------------------------------------ killable upstream

_UPSTREAM_PROGRAM = r'''
import fcntl, os, re, select, signal, socket, struct, sys, termios, threading, time
port, name, delay, status_path = int(sys.argv[1]), sys.argv[2].encode(), float(sys.argv[3]), sys.argv[4]
lock = threading.RLock()   # re-entrant: the signal handler may interrupt the main thread holding it
conns = {}                 # socket -> [bytes read but not yet a complete head, requests served, busy]
served = 0
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(1024)
resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(name), name)

def die(signum, frame):
    # Under the lock nothing is read or answered.  Count what is in flight, write it down and
    # die at once: the kernel closes every socket, as in a crash.
    lock.acquire()
    l.setblocking(False)
    while True:                       # connections waiting in the accept queue
        try:
            c, _ = l.accept()
        except OSError:
            break
        conns[c] = [0, 0, False]
    inflight = unread = fresh = 0
    for c, (buffered, n, busy) in list(conns.items()):
        try:
            q = struct.unpack("i", fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            q = 0
        if busy:
            inflight += 1             # a request read, its answer not sent
        elif q or buffered:
            unread += 1               # request bytes not read yet
        elif n == 0:
            fresh += 1                # connected, nothing asked yet: a request is on its way
    with open(status_path + ".tmp", "w") as out:
        out.write('{"inflight": %d, "unread": %d, "fresh": %d, "served": %d}'
                  % (inflight, unread, fresh, served))
    os.rename(status_path + ".tmp", status_path)
    os.kill(os.getpid(), signal.SIGKILL)

signal.signal(signal.SIGUSR1, die)

def serve(c):
    # The socket is non-blocking and read only under the lock: request bytes are either still
    # in the kernel (FIONREAD sees them) or read and counted; die() cannot miss them in between.
    global served
    c.setblocking(False)
    st = conns[c]
    buf = b""
    try:
        while True:
            with lock:
                i = buf.find(b"\r\n\r\n")
                if i >= 0:
                    st[2] = True
            if i < 0:
                select.select([c], [], [], 1.0)
                with lock:
                    try:
                        d = c.recv(65536)
                    except BlockingIOError:
                        continue
                    if not d:
                        return
                    buf += d
                    st[0] = len(buf)
                    i = buf.find(b"\r\n\r\n")
                    if i < 0:
                        continue
                    st[2] = True
            head, buf = buf[:i + 4], buf[i + 4:]
            if delay:
                time.sleep(delay)
            with lock:
                c.setblocking(True)
                c.sendall(resp)
                c.setblocking(False)
                served += 1
                st[0], st[1], st[2] = len(buf), st[1] + 1, False
            if re.search(rb"\r\nconnection:[^\r]*close", head.lower()):
                return
    except OSError:
        pass
    finally:
        with lock:
            conns.pop(c, None)
        c.close()

print("ready", flush=True)
while True:
    try:
        c, _ = l.accept()
    except BlockingIOError:
        time.sleep(1)
        continue
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with lock:
        conns[c] = [0, 0, False]
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'''


class KillableUpstream:
    """An HTTP/1.1 upstream in a separate process on a fixed port.  Every request is answered
    200 with `name` after `delay` seconds.  crash() makes it SIGKILL itself and returns what
    it held at that moment: `inflight` requests read and unanswered, `unread` connections
    with request bytes not read yet, and `fresh` connections (accepted or still in the accept
    queue) on which nothing was asked yet, i.e. a request is on its way."""

    def __init__(self, name: str, workdir: Path, delay: float = 0.0, port: int = 0):
        self.name = name
        self.delay = delay
        self.workdir = Path(workdir)
        # outside the ephemeral range: nobody's client connection takes it while it is down
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.program = self.workdir / "killable_upstream.py"
        self.program.write_text(_UPSTREAM_PROGRAM)
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        self.status_path = self.workdir / f"{self.name}.{time.monotonic_ns()}.json"
        self.proc = subprocess.Popen([sys.executable, str(self.program), str(self.port), self.name,
                                      str(self.delay), str(self.status_path)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", \
            f"upstream {self.name} did not start: {line!r} {self.proc.stderr.read()}"

    def crash(self, timeout: float = 5.0) -> dict:
        self.proc.send_signal(signal.SIGUSR1)
        self.proc.wait(timeout)
        return json.loads(self.status_path.read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# ------------------------------------------------------- upstream with its own idle timeout

class IdleClosingUpstream:
    """An HTTP/1.1 keep-alive upstream that closes connections idle for `idle_timeout` seconds,
    as real servers do.  With `race_window` > 0, a request arriving when its connection has
    been idle for more than `idle_timeout - race_window` is treated as having crossed the
    server's close on the wire: its bytes are read (and recorded), then the connection is
    reset without an answer.  That is the keep-alive race made deterministic.

    `log` holds (conn id, method, target, outcome) with outcome "answered" or "dropped";
    `idle_closes` counts connections closed by the idle timer."""

    def __init__(self, name: str, idle_timeout: float = 1.0, race_window: float = 0.0):
        self.name = name.encode()
        self.idle_timeout = idle_timeout
        self.race_window = race_window
        self.lock = threading.Lock()
        self.log: list = []
        self.received = bytearray()
        self.idle_closes = 0
        self._next = 0
        self._stop = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def entries(self, target: str) -> list:
        with self.lock:
            return [e for e in self.log if e[2] == target]

    def times_received(self, needle: bytes) -> int:
        with self.lock:
            return bytes(self.received).count(needle)

    def _accept(self):
        import select
        while not self._stop.is_set():
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                cid = self._next
                self._next += 1
            threading.Thread(target=self._serve, args=(c, cid, select), daemon=True).start()

    def _serve(self, c, cid, select):
        buf = b""
        idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    left = idle_since + self.idle_timeout - time.monotonic()
                    if not buf and (left <= 0 or not select.select([c], [], [], left)[0]):
                        with self.lock:
                            self.idle_closes += 1
                        return                            # idle timeout: close (FIN)
                    d = c.recv(65536)
                    if not d:
                        return
                    with self.lock:
                        self.received += d
                    buf += d
                    continue
                head = buf[:i + 4]
                m = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", head.lower())
                need = i + 4 + (int(m.group(1)) if m else 0)
                while len(buf) < need:
                    d = c.recv(65536)
                    if not d:
                        return
                    with self.lock:
                        self.received += d
                    buf += d
                method, target = head.split(b" ")[:2]
                buf = buf[need:]
                idle = time.monotonic() - idle_since
                raced = self.race_window and idle > self.idle_timeout - self.race_window
                with self.lock:
                    self.log.append((cid, method.decode(), target.decode(),
                                     "dropped" if raced else "answered"))
                if raced:                                 # our close crossed this request
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    return
                body = self.name
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                          % (len(body), b"" if method == b"HEAD" else body))
                idle_since = time.monotonic()
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self._stop.set()
        try:
            self.listener.close()
        except OSError:
            pass
