"""DNS for the discovery tests: `dns_server.py` run as a process over a zone file the test
rewrites, zone builders, and upstreams that share one port on several loopback addresses (what
`server NAME:PORT resolve` reaches: one port, one server per address).

* ``DNSZone``: starts ``dns_server.py`` on a free loopback port with a zone (a dict, see
  dns_server.py's docstring), ``set(zone)`` replaces it atomically (write + ``os.replace``, the
  server re-reads it on the next query) and returns the monotonic time of the change;
  ``resolver`` is the ``resolver`` directive's address; ``stop()``.
* ``QueryLog``: a UDP relay in front of it noting every query (name, type, time).
* ``a_records`` / ``srv_records``: zone entries (A records, SRV records with the targets' A
  records).
* ``UpstreamAt`` / ``same_port_upstreams``: RecordingUpstreams on HOST:PORT with a fixed port
  (IPv4 or IPv6), and a set of them on 127.0.0.1, 127.0.0.2, ::1 ... sharing one port.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ports import free_port
from servers import RecordingUpstream, ServerBase

HERE = Path(__file__).resolve().parent


class DNSZone:
    """dns_server.py over `workdir`/zone.json, on a free 127.0.0.1 port (UDP and TCP)."""

    def __init__(self, workdir: Path, zone: dict):
        self.workdir = Path(workdir)
        self.path = self.workdir / "zone.json"
        self.zone: dict = {}
        self.set(zone)
        self.log_path = self.workdir / "dns_server.stderr"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "dns_server.py"), str(self.path)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("dns_server listening 127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"dns_server.py did not start: {line!r} "
                               f"{self.log_path.read_text(errors='replace')}")
        self.port = int(line.rsplit(":", 1)[1])
        self.resolver = f"127.0.0.1:{self.port}"

    def set(self, zone: dict) -> float:
        """Replace the zone (atomically); returns time.monotonic() of the change."""
        tmp = self.path.with_name("zone.json.tmp")
        tmp.write_text(json.dumps(zone))
        os.replace(tmp, self.path)
        self.zone = zone
        return time.monotonic()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


def a_records(*addresses: str, ttl: int = 1) -> dict:
    """A zone entry with these A records."""
    return {"A": [{"address": a, "ttl": ttl} for a in addresses]}


def srv_records(*records, ttl: int = 1) -> dict:
    """A zone entry of SRV records, each (target, port[, weight[, priority]]) (weight 1 and
    priority 0 when left out)."""
    out = []
    for r in records:
        target, port, weight, priority = (*r, 1, 0)[:4] if len(r) == 2 else (*r, 0)[:4]
        out.append({"target": target, "port": port, "weight": weight, "priority": priority, "ttl": ttl})
    return {"SRV": out}


class _FixedPort(ServerBase):
    """ServerBase binding the port the subclass chose (self._fixed_port) instead of a free one;
    an IPv6 `host` (such as ::1) listens on IPv6 and its `addr` is "[host]:port"."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, backlog: int = 512):
        port = port or self._fixed_port
        if ":" not in host:
            super().__init__(host, port, backlog)
            return
        # ServerBase's own set-up, on an AF_INET6 socket.
        self.lock = threading.RLock()
        self.stopped = threading.Event()
        self._open = {}
        self._next_conn = 0
        self.listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(backlog)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.addr = f"[{host}]:{self.port}"
        threading.Thread(target=self._accept_loop, daemon=True).start()


class UpstreamAt(RecordingUpstream, _FixedPort):
    """A RecordingUpstream on `host`:`port` (IPv4 or IPv6 `host`)."""

    def __init__(self, name: str, host: str, port: int, handler=None):
        self._fixed_port = port
        super().__init__(name, handler, host=host)


def same_port_upstreams(hosts, names=None, handler=None) -> list:
    """RecordingUpstreams on each of `hosts` (loopback addresses), all on one port, named
    `names` (default the hosts).  Retries with another port when one host has it taken."""
    names = list(names or hosts)
    for _ in range(50):
        port = free_port()
        made = []
        try:
            for host, name in zip(hosts, names):
                made.append(UpstreamAt(name, host, port, handler))
            return made
        except OSError:
            for u in made:
                u.stop()
    raise RuntimeError(f"no port free on all of {hosts}")


class QueryLog:
    """A UDP relay in front of a DNS server that notes every query passing through:
    (monotonic time, name lowercased without the trailing dot, type "A" / "AAAA" / "SRV")."""

    def __init__(self, server_port: int):
        from dnslib import QTYPE, DNSRecord   # the DNS server needs dnslib anyway
        self._parse = lambda data: DNSRecord.parse(data).q
        self._qtype = QTYPE
        self.server = ("127.0.0.1", server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", free_port()))
        self.port = self.sock.getsockname()[1]
        self.resolver = f"127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.queries: list = []
        self._out: dict = {}           # client address -> socket towards the server
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        import select
        while not self._stop.is_set():
            socks = [self.sock] + list(self._out.values())
            try:
                ready, _, _ = select.select(socks, [], [], 0.1)
            except (OSError, ValueError):
                return
            for s in ready:
                try:
                    data, peer = s.recvfrom(65535)
                except OSError:
                    continue
                if s is self.sock:
                    try:
                        q = self._parse(data)
                        with self.lock:
                            self.queries.append((time.monotonic(), str(q.qname).lower().rstrip("."),
                                                 self._qtype[q.qtype]))
                    except Exception:  # noqa: BLE001 - forwarded as is all the same
                        pass
                    out = self._out.get(peer)
                    if out is None:
                        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        out.connect(self.server)
                        self._out[peer] = out
                    out.send(data)
                else:
                    client = next(c for c, o in self._out.items() if o is s)
                    self.sock.sendto(data, client)

    def count(self, name: str, qtype: str, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for t, n, k in self.queries if n == name and k == qtype and t >= since)

    def stop(self) -> None:
        self._stop.set()
        time.sleep(0.15)
        self.sock.close()
        for o in self._out.values():
            o.close()
