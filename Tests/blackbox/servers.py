"""Upstream servers for the black-box tests.

All the bespoke ones share ``ServerBase``: a listening socket on a free loopback port, an
accept thread, one handler thread per connection, ``stop()``.  Each server only says what it
does with a connection (``handle``):

* ``RecordingUpstream``: raw-socket HTTP/1.1 server recording every request exactly as it
  arrived (head bytes, raw body bytes, decoded body, connection id) and answering according to
  a per-test ``handler`` returning a ``Reply``; also a TCP echo server (``tcp=True``) and a
  WebSocket echo server (``Reply(websocket=True)``).
* ``TLSUpstream``: the same behind TLS, recording SNI, ALPN offer and version per handshake.
* ``FastUpstream``: answers every request 200 with its name and only counts (keeps up with wrk).
* ``IdleClosingUpstream``: closes keep-alive connections idle for a while, as real servers do,
  and can make the keep-alive race deterministic.
* ``KillableUpstream``: the handle of ``killable_upstream.py``, an upstream in its own process
  that can be SIGKILLed and restarted on the same port.
* ``WerkzeugUpstream``: a real WSGI app behind ``ProxyFix`` (Werkzeug's own server).
* ``StallingUpstream``: reads nothing until released, then checks a chunked upload whole.

Handlers for ``RecordingUpstream``: the default (200 with the server's name) and ``Switch``
(a health endpoint whose answer the test flips).
"""
from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WzRequest, Response as WzResponse

import websocket as ws
from messages import HeaderFields
from ports import free_port, port_accepts

HERE = Path(__file__).resolve().parent


# ------------------------------------------------------------------------------ base

class ServerBase:
    """A TCP server on `host`:`port` (port 0: a free one, chosen by bind; the socket is ours
    from then on).  The accept thread sets TCP_NODELAY on every connection, numbers it (the
    connection id, from 0), records it, calls ``accepted(cid)`` under ``self.lock`` and runs
    ``handle(sock, cid)`` in a thread of its own; the socket is closed when ``handle`` returns
    or raises OSError.  ``stop()`` closes the listener and shuts every open connection down.

    The accept thread starts in ``__init__``: a subclass sets its own state first, then calls
    ``super().__init__`` (a fixed port may be connected to at once)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, backlog: int = 512):
        self.lock = threading.RLock()      # re-entrant: open_sockets() may be called under it
        self.stopped = threading.Event()
        self._open: dict[int, socket.socket] = {}
        self._next_conn = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(backlog)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.addr = f"{host}:{self.port}"
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # -- to specialise -----------------------------------------------------------
    def accepted(self, cid: int) -> None:
        """Called under self.lock for every new connection, before its handler starts."""

    def handle(self, sock: socket.socket, cid: int) -> None:
        raise NotImplementedError

    # -- machinery ---------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self.stopped.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                cid = self._next_conn
                self._next_conn += 1
                self._open[cid] = sock
                self.accepted(cid)
            threading.Thread(target=self._run, args=(sock, cid), daemon=True).start()

    def _run(self, sock: socket.socket, cid: int) -> None:
        try:
            self.handle(sock, cid)
        except OSError:
            pass
        finally:
            with self.lock:
                sock = self._open.pop(cid, sock)
            try:
                sock.close()
            except OSError:
                pass

    def replace_socket(self, cid: int, sock: socket.socket) -> None:
        """The connection `cid` now goes through `sock` (e.g. wrapped in TLS): stop() shuts
        that one down, and it is closed at the end."""
        with self.lock:
            self._open[cid] = sock

    def open_sockets(self) -> dict:
        """{connection id: socket} of the connections not finished yet."""
        with self.lock:
            return dict(self._open)

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.listener.close()
        except OSError:
            pass
        for s in self.open_sockets().values():
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


def content_length(head: bytes) -> int:
    """The Content-Length of a request head (0 when absent); for the lean servers that do not
    parse heads."""
    m = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", head.lower())
    return int(m.group(1)) if m else 0


def asks_close(head: bytes) -> bool:
    return re.search(rb"\r\nconnection:[^\r]*close", head.lower()) is not None


# ------------------------------------------------------------------ recorded requests

@dataclass
class Recorded(HeaderFields):
    conn_id: int
    head: bytes                # request line + header lines + the blank line, verbatim
    raw_body: bytes            # body bytes as they came over the wire (chunked framing kept)
    body: bytes                # decoded body
    method: str
    target: str
    version: str
    headers: list              # [(name, value)] in arrival order, spelling kept
    trailers: list = field(default_factory=list)

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

    def __init__(self, sock: socket.socket, sink):
        self.sock = sock
        self.buf = bytearray()
        self.sink = sink

    def _fill(self) -> bool:
        data = self.sock.recv(262144)
        if not data:
            return False
        self.sink(data)
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


# ------------------------------------------------------------------ recording upstream

class RecordingUpstream(ServerBase):
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
        self.requests: list[Recorded] = []
        self.received: dict[int, bytearray] = {}
        self.errors: list[str] = []
        super().__init__(host)

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
    def accepted(self, cid: int) -> None:
        self.received[cid] = bytearray()

    def _record(self, cid: int, data: bytes) -> None:
        with self.lock:
            self.received[cid] += data

    def handle(self, sock: socket.socket, cid: int) -> None:
        if self.tcp:
            self._serve_tcp(sock, cid)
        else:
            self._serve_http(sock, cid)

    def _serve_tcp(self, sock: socket.socket, cid: int) -> None:
        if self.banner:
            sock.sendall(self.banner)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            self._record(cid, data)
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    def _serve_http(self, sock: socket.socket, cid: int) -> None:
        conn = _Conn(sock, lambda data: self._record(cid, data))
        try:
            while not self.stopped.is_set():
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

    def _respond(self, sock, conn, req: Recorded, reply: Reply, hmap) -> bool:
        """Send the reply; False when the connection must end."""
        if reply.delay:
            self.stopped.wait(reply.delay)
        if reply.drop:
            return False
        if reply.silent:
            self.stopped.wait(60)
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
                    self.stopped.wait(reply.stall)
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


class TLSUpstream(RecordingUpstream):
    """RecordingUpstream behind TLS with `leaf`'s certificate (a pki.Leaf).  Records per
    handshake the SNI the client sent (None without one), the ALPN protocols offered and the
    version, and handshake failures in `tls_errors`."""

    def __init__(self, name: str, leaf, handler=None, **kw):
        self.tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls_ctx.load_cert_chain(str(leaf.cert), str(leaf.key))
        self.tls_ctx.set_alpn_protocols(["http/1.1"])
        self.tls_ctx.sni_callback = self._on_sni
        self.sni_seen: list = []
        self.handshakes: list = []      # (sni, version, alpn) of completed handshakes
        self.tls_errors: list = []
        self._sni_lock = threading.Lock()
        super().__init__(name, handler, **kw)

    def _on_sni(self, sslobj, server_name, ctx):
        if server_name is None:      # called without SNI too
            return None
        with self._sni_lock:
            self.sni_seen.append(server_name)
            sslobj._sluice_sni = server_name   # noqa: SLF001 - our own attribute
        return None

    def _serve_http(self, sock: socket.socket, cid: int) -> None:
        sock.settimeout(5)
        try:
            tls = self.tls_ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self._sni_lock:
                self.tls_errors.append(f"conn {cid}: {e}")
            return
        tls.settimeout(None)
        with self._sni_lock:
            self.handshakes.append((getattr(tls, "_sluice_sni", None), tls.version(),
                                    tls.selected_alpn_protocol()))
        self.replace_socket(cid, tls)
        super()._serve_http(tls, cid)


# -------------------------------------------------------------------- lean upstreams

class StallingUpstream(ServerBase):
    """Reads nothing from its connections (4 KiB receive buffers) until `release()`; then reads
    each chunked request to its end and answers 200 with "<SHA-256 hex> <length>" of the
    de-chunked body."""

    def __init__(self, host: str = "127.0.0.1"):
        self.released = threading.Event()
        super().__init__(host)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def release(self) -> None:
        self.released.set()

    def handle(self, sock: socket.socket, cid: int) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        while not self.released.wait(0.1):
            if self.stopped.is_set():
                return
        conn = _Conn(sock, lambda data: None)
        if conn.read_until(b"\r\n\r\n") is None:
            return
        _, body, _ = read_chunked(conn)
        reply = b"%s %d" % (hashlib.sha256(body).hexdigest().encode(), len(body))
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply))


class FastUpstream(ServerBase):
    """A threaded HTTP/1.1 server that answers every request `200` with its name as the
    body and only counts requests (no recording: it must keep up with wrk).  Requests may
    carry a Content-Length body; keep-alive is honoured, `Connection: close` too."""

    def __init__(self, name: str, host: str = "127.0.0.1"):
        self.name = name
        body = name.encode()
        self.response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                         % len(body)) + body
        self.count = 0
        self.errors: list[str] = []
        super().__init__(host, backlog=1024)

    def requests(self) -> int:
        with self.lock:
            return self.count

    def handle(self, sock: socket.socket, cid: int) -> None:
        buf = b""
        while True:
            i = buf.find(b"\r\n\r\n")
            if i < 0:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
                continue
            head, buf = buf[:i + 4], buf[i + 4:]
            need = content_length(head)
            if b"\r\ntransfer-encoding:" in head.lower():
                with self.lock:
                    self.errors.append("chunked request not supported by FastUpstream")
                return
            while len(buf) < need:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            buf = buf[need:]
            with self.lock:
                self.count += 1
            sock.sendall(self.response)
            if asks_close(head):
                sock.shutdown(socket.SHUT_WR)
                return


class IdleClosingUpstream(ServerBase):
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
        self.log: list = []
        self.received = bytearray()
        self.idle_closes = 0
        super().__init__(backlog=256)

    def entries(self, target: str) -> list:
        with self.lock:
            return [e for e in self.log if e[2] == target]

    def times_received(self, needle: bytes) -> int:
        with self.lock:
            return bytes(self.received).count(needle)

    def _recv(self, c: socket.socket) -> bytes:
        d = c.recv(65536)
        with self.lock:
            self.received += d
        return d

    def handle(self, c: socket.socket, cid: int) -> None:
        buf = b""
        idle_since = time.monotonic()
        while not self.stopped.is_set():
            i = buf.find(b"\r\n\r\n")
            if i < 0:
                left = idle_since + self.idle_timeout - time.monotonic()
                if not buf and (left <= 0 or not select.select([c], [], [], left)[0]):
                    with self.lock:
                        self.idle_closes += 1
                    return                            # idle timeout: close (FIN)
                d = self._recv(c)
                if not d:
                    return
                buf += d
                continue
            head = buf[:i + 4]
            need = i + 4 + content_length(head)
            while len(buf) < need:
                d = self._recv(c)
                if not d:
                    return
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


# ------------------------------------------------------------------ killable upstream

class KillableUpstream:
    """An HTTP/1.1 upstream in a separate process (killable_upstream.py) on a fixed port.
    Every request is answered 200 with `name` after `delay` seconds.  crash() makes it SIGKILL
    itself and returns what it held at that moment: `inflight` requests read and unanswered,
    `unread` connections with request bytes not read yet, and `fresh` connections (accepted or
    still in the accept queue) on which nothing was asked yet, i.e. a request is on its way;
    and `served`, the requests it answered."""

    PROGRAM = HERE / "killable_upstream.py"

    def __init__(self, name: str, workdir: Path, delay: float = 0.0, port: int = 0):
        self.name = name
        self.delay = delay
        self.workdir = Path(workdir)
        # outside the ephemeral range: nobody's client connection takes it while it is down
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        self.status_path = self.workdir / f"{self.name}.{time.monotonic_ns()}.json"
        self.proc = subprocess.Popen([sys.executable, str(self.PROGRAM), str(self.port), self.name,
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


class NginxUpstream:
    """nginx (one worker, in the foreground) answering `200 NAME` on every path: an upstream
    that keeps up with wrk and treats all connections alike, for tests that measure how sluice
    spreads load (a Python upstream's threads are served unevenly under the GIL)."""

    def __init__(self, name: str, workdir: Path):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        d = Path(workdir) / f"nginx-{name}"
        d.mkdir(parents=True, exist_ok=True)
        user = f"user {pwd.getpwuid(0).pw_name};" if os.geteuid() == 0 else ""
        temps = "".join(f"    {k}_temp_path {d}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (d / "nginx.conf").write_text(f"""{user}
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_processes 1;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temps}    keepalive_requests 1000000000;
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        location / {{ default_type text/plain; return 200 "{name}"; }}
    }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", str(d), "-c", str(d / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while not port_accepts(self.port):
            assert self.proc.poll() is None and time.monotonic() < deadline, \
                f"nginx did not start: {self.proc.stderr.read().decode(errors='replace')}"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
