"""A small, strict raw-socket HTTP/1.1 client: the tests see every byte the proxy sends."""
from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field
from typing import Optional

STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ([^\r\n]*)$")


class ClosedEarly(AssertionError):
    pass


@dataclass
class Response:
    status: int
    reason: str
    version: str
    headers: list
    body: bytes
    head: bytes
    interim: list = field(default_factory=list)   # 1xx responses seen before this one

    def values(self, name: str) -> list:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def value(self, name: str) -> Optional[str]:
        v = self.values(name)
        assert len(v) <= 1, f"response header {name} appears {len(v)} times: {v}"
        return v[0] if v else None

    def tokens(self, name: str) -> list:
        return [t.strip().lower() for v in self.values(name) for t in v.split(",") if t.strip()]


class RawClient:
    def __init__(self, port: int, source: str = "127.0.0.1", host: str = "127.0.0.1",
                 timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.eof = False

    # ------------------------------------------------------------------ io
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            if not self._fill():
                raise ClosedEarly(f"connection closed; partial data {bytes(self.buf)[:200]!r}")

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ClosedEarly(f"connection closed after {len(self.buf)} of {n} body bytes")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    # ------------------------------------------------------------- parsing
    def read_head(self):
        start = self._line()
        m = STATUS_LINE.match(start)
        assert m, f"bad status line {start!r}"
        lines = [start]
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            lines.append(line)
            assert b"\r" not in line and b"\n" not in line, line
            name, sep, value = line.decode("latin-1").partition(":")
            assert sep and name and name == name.strip(), f"bad header line {line!r}"
            headers.append((name, value.strip(" \t")))
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        return int(m.group(1)), m.group(2).decode("latin-1"), start[:8].decode(), headers, head

    def read_response(self, method: str = "GET", keep_interim: bool = False) -> Response:
        """Read one final response (1xx interim responses are collected and skipped)."""
        interim = []
        while True:
            status, reason, version, headers, head = self.read_head()
            if 100 <= status < 200 and status != 101:
                interim.append(Response(status, reason, version, headers, b"", head))
                if keep_interim:
                    return interim[-1]
                continue
            break
        resp = Response(status, reason, version, headers, b"", head, interim)
        if method == "HEAD" or status in (204, 304) or status == 101:
            return resp
        te = resp.tokens("Transfer-Encoding")
        if te:
            assert te == ["chunked"], f"unexpected Transfer-Encoding {te}"
            assert not resp.values("Content-Length"), "both Content-Length and chunked"
            resp.body = self._read_chunked()
        elif resp.values("Content-Length"):
            cl = resp.value("Content-Length")
            assert cl.isdigit(), cl
            resp.body = self._exact(int(cl))
        else:
            while self._fill():
                pass
            resp.body = bytes(self.buf)
            self.buf.clear()
        return resp

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self._line()
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            body += self._exact(size)
            assert self._exact(2) == b"\r\n", "bad chunk terminator from proxy"
        while self._line():   # trailers
            pass
        return bytes(body)

    # --------------------------------------------------------------- state
    def wait_closed(self, timeout: float = 3.0) -> bytes:
        """Wait for EOF (or RST); returns bytes received meanwhile.  Fails on timeout."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.1)
        try:
            while time.monotonic() < deadline:
                try:
                    if not self._fill():
                        return bytes(self.buf)
                except socket.timeout:
                    continue
            raise AssertionError(f"connection still open after {timeout}s")
        finally:
            self.sock.settimeout(5.0)

    def is_open(self, wait: float = 0.2) -> bool:
        """True if nothing arrived and the peer has not closed within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
            return False if not data else True
        except socket.timeout:
            return True
        except ConnectionResetError:
            return False
        finally:
            self.sock.settimeout(5.0)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def get(port: int, path: str = "/", host: str = "example.test", headers: list = (),
        source: str = "127.0.0.1", method: str = "GET", body: bytes = b"") -> Response:
    """One request on a fresh connection with `Connection: close`."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    with RawClient(port, source=source) as c:
        c.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return c.read_response(method)


def simple_request(path: str = "/", host: str = "example.test", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


def assert_proxy_error(resp: Response, status) -> None:
    """An error sluice answers itself: given status, short text/plain body, Connection: close."""
    allowed = status if isinstance(status, tuple) else (status,)
    assert resp.status in allowed, f"expected {allowed}, got {resp.status} {resp.reason}: {resp.body[:200]!r}"
    assert (resp.value("Content-Type") or "").startswith("text/plain"), resp.headers
    assert 0 < len(resp.body) <= 1024, resp.body
    assert "close" in resp.tokens("Connection"), resp.headers


def proxy_error(port: int, data: bytes, status, source: str = "127.0.0.1",
                method: str = "GET") -> Response:
    """Send `data` on a fresh connection; expect sluice's own error answer and the close."""
    with RawClient(port, source=source) as c:
        c.send(data)
        resp = c.read_response(method)
        assert_proxy_error(resp, status)
        c.wait_closed(3)
    return resp


def xf_lines(peer: str, port: int, host=None, proto: str = "http") -> str:
    """The four X-Forwarded-* lines sluice appends for an untrusted peer."""
    s = f"X-Forwarded-For: {peer}\r\nX-Forwarded-Proto: {proto}\r\n"
    if host is not None:
        s += f"X-Forwarded-Host: {host}\r\n"
    return s + f"X-Forwarded-Port: {port}\r\n"
