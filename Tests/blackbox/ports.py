"""Loopback ports for the black-box tests and the benchmark: the one allocator, and ports that
refuse or hang connections.

* ``free_port``: a port for a listener that something else (sluice, a proxy, an upstream
  process) will open later.  It is taken from *below* the kernel's ephemeral range, so that no
  client connection can grab it as its local port in the meantime.
* ``DeadPort``: a bound, not listening socket: connects get RST at once.
* ``Blackhole``: a listener whose accept queue is full: connects hang (the only way to get a
  connect *timeout* on 127.0.0.0/8).
* ``port_accepts``: does something accept TCP connections on a port right now.

Servers that listen at once in this process (see servers.py) bind port 0 instead: the socket is
theirs from the bind on, so nothing can take the port between the choice and the listen.
"""
from __future__ import annotations

import random
import socket
import time


def _ephemeral_range() -> tuple:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except OSError:
        return 32768, 60999


_EPHEMERAL = _ephemeral_range()
_ports_given = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that nothing uses right now, taken from OUTSIDE the kernel's ephemeral range:
    a port from bind(0) can be grabbed as the local port of some client connection before
    the proxy binds it ("Address already in use"); ports below the range never are.  A port
    is handed out once per process, so two picks never collide."""
    low = 10000
    high = _EPHEMERAL[0] - 1 if _EPHEMERAL[0] > low + 1000 else 32767
    for _ in range(1000):
        port = random.randint(low, high)
        if port in _ports_given or (_EPHEMERAL[0] <= port <= _EPHEMERAL[1]):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError("no free port found")


def free_ports(n: int, host: str = "127.0.0.1") -> list:
    """`n` distinct ports from free_port."""
    return [free_port(host) for _ in range(n)]


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class DeadPort:
    """A port reserved by a bound but *not listening* socket: connects get RST at once
    and no other test can start listening on it meanwhile."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


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
