"""Upstream servers and the sluice runner used by the black-box tests.

* ``RecordingUpstream``: a threaded raw-socket HTTP/1.1 server that records every
  request exactly as it arrived (head bytes, raw body bytes, decoded body, connection
  id) and answers according to a per-test ``handler`` returning a ``Reply``.  It can
  also act as a plain TCP echo server (``tcp=True``) and as a WebSocket echo server.
* ``WerkzeugUpstream``: a real WSGI app behind ``ProxyFix`` reporting what it believes
  the client address, scheme and host are.
* ``Sluice``: starts the binary with a config file and stops it again.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import random
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WzRequest, Response as WzResponse

import wsmini as ws

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SLUICE_BIN = os.environ.get("SLUICE_BIN", str(REPO / ".build" / "release" / "sluice"))


# --------------------------------------------------------------------------- ports

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
    the proxy binds it ("Address already in use"); ports below the range never are."""
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


class DeadPort:
    """A port reserved by a bound but *not listening* socket: connects get RST at once
    and no other test can start listening on it meanwhile."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


# ------------------------------------------------------------------ recorded requests

@dataclass
class Recorded:
    conn_id: int
    head: bytes                # request line + header lines + the blank line, verbatim
    raw_body: bytes            # body bytes as they came over the wire (chunked framing kept)
    body: bytes                # decoded body
    method: str
    target: str
    version: str
    headers: list              # [(name, value)] in arrival order, spelling kept
    trailers: list = field(default_factory=list)

    def values(self, name: str) -> list:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def value(self, name: str) -> Optional[str]:
        v = self.values(name)
        assert len(v) <= 1, f"{name} appears {len(v)} times: {v}"
        return v[0] if v else None

    @property
    def raw(self) -> bytes:
        return self.head + self.raw_body


@dataclass
class Reply:
    """What the upstream answers.  ``raw`` (bytes) is sent verbatim instead of building a
    response.  ``body`` may be bytes; it is sent with Content-Length unless ``chunked``
    or ``no_length`` (close-delimited, implies close)."""
    status: int = 200
    reason: str = "OK"
    headers: list = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False
    chunk_size: int = 65536
    no_length: bool = False
    delay: float = 0.0
    close: bool = False            # close the connection after the response
    announce_close: bool = True    # ... and say so with "Connection: close"
    silent: bool = False           # never answer; keep the connection open
    raw: Optional[bytes] = None
    drop: bool = False             # close the connection at once without answering
    websocket: bool = False        # answer 101 and run a WebSocket echo loop
    stall_after: int = 0           # send this many body bytes, then pause `stall` seconds
    stall: float = 0.0

    def __post_init__(self):
        if isinstance(self.body, str):
            self.body = self.body.encode()


class _ProtocolError(Exception):
    pass


class _Conn:
    """Buffered reader over a socket that also records every byte received."""

    def __init__(self, sock: socket.socket, sink: bytearray):
        self.sock = sock
        self.buf = bytearray()
        self.sink = sink

    def _fill(self) -> bool:
        data = self.sock.recv(262144)
        if not data:
            return False
        self.sink += data
        self.buf += data
        return True

    def read_until(self, marker: bytes, limit: int = 1 << 20) -> Optional[bytes]:
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[: i + len(marker)])
                del self.buf[: i + len(marker)]
                return out
            if len(self.buf) > limit:
                raise _ProtocolError("line too long")
            if not self._fill():
                if self.buf:
                    raise _ProtocolError("EOF inside a head")
                return None

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise _ProtocolError("EOF inside a body")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def parse_head(head: bytes):
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].decode("latin-1").split(" ")
    if len(parts) != 3:
        raise _ProtocolError(f"bad request line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise _ProtocolError(f"bad header line {line!r}")
        headers.append((name, value.strip(" \t")))
    return parts[0], parts[1], parts[2], headers


def read_chunked(conn: _Conn):
    """Returns (raw, decoded, trailers)."""
    raw = bytearray()
    body = bytearray()
    while True:
        line = conn.read_until(b"\r\n", limit=4096)
        if line is None:
            raise _ProtocolError("EOF in chunked body")
        raw += line
        size = int(line[:-2].split(b";")[0].strip(), 16)
        if size == 0:
            break
        data = conn.read_exact(size + 2)
        raw += data
        if data[-2:] != b"\r\n":
            raise _ProtocolError("bad chunk terminator")
        body += data[:-2]
    trailers = []
    while True:
        line = conn.read_until(b"\r\n", limit=65536)
        if line is None:
            raise _ProtocolError("EOF in trailers")
        raw += line
        if line == b"\r\n":
            break
        n, _, v = line[:-2].decode("latin-1").partition(":")
        trailers.append((n, v.strip()))
    return bytes(raw), bytes(body), trailers


def default_handler(name: bytes) -> Callable:
    def handler(req: Recorded) -> Reply:
        return Reply(body=name, headers=[("Content-Type", "text/plain")])
    return handler


class RecordingUpstream:
    """Threaded raw HTTP/1.1 (or raw TCP) server on 127.0.0.1:<random port>.

    handler(req: Recorded) -> Reply is called for every complete request.  The
    default answers 200 with the server's name as the body.  All received bytes are
    recorded per connection in ``received`` even if they never form a request.
    """

    def __init__(self, name: str = "up", handler: Optional[Callable] = None,
                 tcp: bool = False, banner: bytes = b"", host: str = "127.0.0.1"):
        self.name = name
        self.handler = handler or default_handler(name.encode())
        self.tcp = tcp
        self.banner = banner
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.received: dict[int, bytearray] = {}
        self.errors: list[str] = []
        self._next_conn = 0
        self._socks: list[socket.socket] = []
        self._stop = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(512)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.addr = f"{host}:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # -- inspection ------------------------------------------------------------
    def snapshot(self) -> list[Recorded]:
        with self.lock:
            return list(self.requests)

    def total_bytes(self) -> int:
        with self.lock:
            return sum(len(b) for b in self.received.values())

    def connection_count(self) -> int:
        with self.lock:
            return len(self.received)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.received.clear()

    def wait_requests(self, n: int, timeout: float = 3.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.01)
        return self.snapshot()

    # -- serving ----------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                cid = self._next_conn
                self._next_conn += 1
                self.received[cid] = bytearray()
                self._socks.append(sock)
            target = self._serve_tcp if self.tcp else self._serve_http
            threading.Thread(target=target, args=(sock, cid), daemon=True).start()

    def _serve_tcp(self, sock: socket.socket, cid: int) -> None:
        try:
            if self.banner:
                sock.sendall(self.banner)
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                with self.lock:
                    self.received[cid] += data
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            sock.close()

    def _serve_http(self, sock: socket.socket, cid: int) -> None:
        conn = _Conn(sock, _LockedSink(self, cid))
        try:
            while not self._stop.is_set():
                head = conn.read_until(b"\r\n\r\n")
                if head is None:
                    return
                method, target, version, headers = parse_head(head)
                hmap = {}
                for k, v in headers:
                    hmap.setdefault(k.lower(), []).append(v)
                if any(v.lower() == "100-continue" for v in hmap.get("expect", [])):
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                trailers = []
                if "transfer-encoding" in hmap:
                    raw_body, body, trailers = read_chunked(conn)
                elif "content-length" in hmap:
                    raw_body = body = conn.read_exact(int(hmap["content-length"][0]))
                else:
                    raw_body = body = b""
                req = Recorded(cid, head, raw_body, body, method, target, version,
                               headers, trailers)
                with self.lock:
                    self.requests.append(req)
                reply = self.handler(req)
                if not self._respond(sock, conn, req, reply, hmap):
                    return
        except (_ProtocolError, ValueError) as e:
            with self.lock:
                self.errors.append(f"conn {cid}: {e}")
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _respond(self, sock, conn, req: Recorded, reply: Reply, hmap) -> bool:
        """Send the reply; False when the connection must end."""
        if reply.delay:
            self._stop.wait(reply.delay)
        if reply.drop:
            return False
        if reply.silent:
            self._stop.wait(60)
            return False
        if reply.websocket:
            return self._websocket(sock, conn, req)
        if reply.raw is not None:
            sock.sendall(reply.raw)
            return not reply.close
        conn_tokens = ",".join(hmap.get("connection", [])).lower()
        client_close = "close" in conn_tokens or (
            req.version == "HTTP/1.0" and "keep-alive" not in conn_tokens)
        close = reply.close or client_close or reply.no_length
        head = [f"HTTP/1.1 {reply.status} {reply.reason}"]
        head += [f"{k}: {v}" for k, v in reply.headers]
        bodyless = req.method == "HEAD" or reply.status in (204, 304) or reply.status < 200
        names = {k.lower() for k, _ in reply.headers}
        if not bodyless or req.method == "HEAD":
            if reply.chunked and req.version == "HTTP/1.1":
                head.append("Transfer-Encoding: chunked")
            elif not reply.no_length and "content-length" not in names:
                head.append(f"Content-Length: {len(reply.body)}")
        if close and reply.announce_close and "connection" not in names:
            head.append("Connection: close")
        head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        chunked = reply.chunked and req.version == "HTTP/1.1"
        if not bodyless and not chunked and not reply.stall_after and len(reply.body) <= 65536:
            sock.sendall(head_bytes + reply.body)      # one write: no Nagle/delayed-ACK stall
            bodyless = True
        else:
            sock.sendall(head_bytes)
        if not bodyless:
            body = memoryview(reply.body)
            step = reply.chunk_size if chunked else 1 << 20
            sent = 0
            while sent < len(body):
                n = step
                if reply.stall_after and sent < reply.stall_after:
                    n = min(n, reply.stall_after - sent)
                piece = body[sent:sent + n]
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
                if reply.stall_after and sent == reply.stall_after:
                    self._stop.wait(reply.stall)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        if close:
            sock.shutdown(socket.SHUT_WR)
            return False
        return True

    def _websocket(self, sock, conn: _Conn, req: Recorded) -> bool:
        key = req.value("Sec-WebSocket-Key")
        upgrade = (req.value("Upgrade") or "").lower()
        conn_tokens = [t.strip().lower() for v in req.values("Connection") for t in v.split(",")]
        if not key or upgrade != "websocket" or "upgrade" not in conn_tokens:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 13\r\n"
                         b"Connection: close\r\n\r\nnot websocket")
            return False
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {ws.accept_key(key)}\r\n\r\n").encode())
        while True:
            try:
                opcode, payload, masked = ws.read_frame(conn.read_exact)
            except _ProtocolError:
                return False
            if not masked:  # RFC 6455: client frames must be masked
                sock.sendall(ws.frame(8, b"\x03\xea", mask=False))
                return False
            sock.sendall(ws.frame(opcode, payload, mask=False))
            if opcode == 8:
                return False

    def stop(self) -> None:
        self._stop.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


class _LockedSink:
    """bytearray-like sink appending into upstream.received[cid] under the lock."""

    def __init__(self, up: RecordingUpstream, cid: int):
        self.up = up
        self.cid = cid

    def __iadd__(self, data):
        with self.up.lock:
            self.up.received[self.cid] += data
        return self


# ---------------------------------------------------------------- Werkzeug + ProxyFix

def _whoami(environ, start_response):
    req = WzRequest(environ)
    body = req.get_data()
    payload = {
        "remote_addr": req.remote_addr,
        "scheme": req.scheme,
        "host": req.host,
        "path": req.path,
        "server_port": environ.get("SERVER_PORT"),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "x_forwarded_for": req.headers.get("X-Forwarded-For"),
    }
    return WzResponse(json.dumps(payload), mimetype="application/json")(environ, start_response)


class WerkzeugUpstream:
    """A WSGI app behind ProxyFix(x_for=1, x_proto=1, x_host=1, x_port=1)."""

    def __init__(self):
        app = ProxyFix(_whoami, x_for=1, x_proto=1, x_host=1, x_port=1)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.addr = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- sluice

def sluice_env() -> dict:
    env = dict(os.environ)
    env["SWIFT_BACKTRACE"] = "enable=no"
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    return env


def run_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run([SLUICE_BIN, *args], capture_output=True, text=True,
                          timeout=timeout, env=sluice_env())


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Sluice:
    """sluice -c CONFIG in the foreground, stderr captured to a file."""

    def __init__(self, config_text: str, workdir: Path, ports: list[int],
                 name: str = "sluice"):
        self.workdir = Path(workdir)
        self.config = self.workdir / f"{name}.conf"
        self.config.write_text(config_text)
        self.log_path = self.workdir / f"{name}.stderr"
        self.ports = ports
        if not os.path.exists(SLUICE_BIN):
            raise RuntimeError(f"sluice binary not found at {SLUICE_BIN} "
                               "(build it or set SLUICE_BIN)")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([SLUICE_BIN, "-c", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, env=sluice_env(),
                                     cwd=str(self.workdir), start_new_session=True)
        self.exited_early: Optional[int] = None
        self._wait_ready()

    @property
    def port(self) -> int:
        return self.ports[0]

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.ports)
        while pending:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(f"sluice exited with {rc} during startup:\n{self.log()}")
            if port_accepts(pending[0]):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sluice not accepting on {pending} after {timeout}s:\n"
                                   f"{self.log()}")
            time.sleep(0.02)

    # -- process model, signals, reload (additive helpers) ------------------------
    @property
    def pid(self) -> int:
        """The master's pid (the process the tests started)."""
        return self.proc.pid

    def signal(self, sig: int) -> None:
        """Send `sig` to the master."""
        os.kill(self.proc.pid, sig)

    def write_config(self, text: str) -> None:
        """Replace the configuration file (the next SIGHUP reads it)."""
        tmp = self.config.with_name(self.config.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config)

    def reload(self, text: Optional[str] = None) -> None:
        """Optionally rewrite the configuration, then SIGHUP the master."""
        if text is not None:
            self.write_config(text)
        self.signal(signal.SIGHUP)

    def workers(self) -> list:
        """Live child processes of the master, sorted."""
        from procs import children
        return children(self.proc.pid)

    def wait_log(self, pattern: str, timeout: float = 3.0, start: int = 0) -> str:
        """Wait for a line of the captured stderr/stdout (from byte `start` on) matching the
        regular expression `pattern`; returns the line."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log()[start:].splitlines():
                if rx.search(line):
                    return line
            if time.monotonic() >= deadline:
                raise AssertionError(f"no log line matching {pattern!r} within {timeout}s; "
                                     f"log:\n{self.log()[start:][-3000:]}")
            time.sleep(0.02)

    def log_size(self) -> int:
        return len(self.log())

    def wait_exit(self, timeout: float) -> int:
        """Wait for the master to exit by itself (marks it stopped by the test)."""
        self.stopped_by_test = True
        return self.proc.wait(timeout)

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL after 5 s.  Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # A worker process left behind would keep the port; kill our session's group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()
        return self.proc.returncode
