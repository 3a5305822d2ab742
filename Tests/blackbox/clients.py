"""Clients: a strict raw-socket HTTP/1.1 client (the tests see every byte the proxy sends),
assertions on sluice's own error answers, and load generators: `wrk` reporting exact counts,
a one-connection-per-request loop, and keep-alive connections making an exact number of
requests.
"""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from messages import HeaderFields, request_head

STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ([^\r\n]*)$")


class ClosedEarly(AssertionError):
    pass


@dataclass
class Response(HeaderFields):
    status: int
    reason: str
    version: str
    headers: list
    body: bytes
    head: bytes
    interim: list = field(default_factory=list)   # 1xx responses seen before this one


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
    with RawClient(port, source=source) as c:
        c.send(request_head(method, path, host, headers, body, close=True))
        return c.read_response(method)


# ------------------------------------------------------------ sluice's own error answers

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


def assert_refused_before_upstream(s, raw: bytes, status) -> None:
    """`raw` on a fresh connection to sluice `s` (made by the `proxy` fixture): sluice's own
    error answer, the close, and not one byte at the upstream; then a control request proves
    the upstream was reachable all along, so "nothing arrived" means something."""
    up = s.upstreams[0]
    proxy_error(s.port, raw, status)
    time.sleep(0.1)
    assert up.total_bytes() == 0, f"upstream received {bytes(b''.join(up.received.values()))[:300]!r}"
    assert get(s.port, "/control").status == 200
    assert [r.target for r in up.snapshot()] == ["/control"]


# ------------------------------------------------------------------------------- load

WRK = shutil.which("wrk") or "/usr/bin/wrk"

# Prints one line "WRKJSON {...}" with exact counts (requests, 2xx, non-2xx, socket errors).
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"


class Wrk:
    """`wrk -tT -cC -dDs --timeout 4s -s wrk_report.lua [-H HEADER]... URL` in the background."""

    def __init__(self, url: str, threads: int = 2, connections: int = 20,
                 duration: int = 12, timeout: str = "4s", headers=()):
        self.duration = duration
        self.cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s",
                    "--timeout", timeout, "-s", str(WRK_SCRIPT)]
        for h in headers:
            self.cmd += ["-H", h]
        self.cmd.append(url)
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, stdin=subprocess.DEVNULL)
        self.stdout = ""
        self.stderr = ""

    def result(self, grace: float = 20.0) -> dict:
        """Wait for wrk to finish; the counts its done() printed, plus the raw output."""
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=self.duration + grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout, self.stderr = self.proc.communicate()
            raise AssertionError(f"wrk did not finish: {self.stdout}\n{self.stderr}")
        m = re.search(r"^WRKJSON (\{.*\})$", self.stdout, re.M)
        assert m, f"wrk printed no report (rc {self.proc.returncode}):\n{self.stdout}\n{self.stderr}"
        out = json.loads(m.group(1))
        out["text"] = self.stdout
        return out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class ClientLoop:
    """A thread doing `GET path` on a fresh connection per request (Connection: close)
    until stopped or `duration` elapsed; every failure (exception or status) is kept in
    `failures`, and refused connects also in `refused`."""

    def __init__(self, port: int, path: str = "/py", duration: float = 12.0,
                 source: str = "127.0.0.1", expect_status: int = 200):
        self.port = port
        self.path = path
        self.duration = duration
        self.source = source
        self.expect = expect_status
        self.ok = 0
        self.failures: list[str] = []
        self.refused: list[str] = []
        self.bodies: dict[bytes, int] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        end = time.monotonic() + self.duration
        while not self._stop.is_set() and time.monotonic() < end:
            t = time.monotonic()
            try:
                r = get(self.port, self.path, source=self.source)
                if r.status != self.expect:
                    self.failures.append(f"{time.monotonic():.3f}: status {r.status} {r.body[:100]!r}")
                else:
                    self.ok += 1
                    self.bodies[r.body] = self.bodies.get(r.body, 0) + 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                failure = (f"{time.monotonic():.3f}: {type(e).__name__}: {e} "
                           f"(after {time.monotonic() - t:.3f}s)")
                self.failures.append(failure)
                if isinstance(e, ConnectionRefusedError):
                    self.refused.append(failure)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "client loop did not stop"

    def join(self, timeout: Optional[float] = None) -> None:
        self.thread.join(timeout if timeout is not None else self.duration + 10)
        assert not self.thread.is_alive(), "client loop did not finish"


def keepalive_requests(port: int, total: int, connections: int = 8, path: str = "/") -> int:
    """`total` GET requests spread evenly over `connections` keep-alive connections, one at a
    time on each (one thread per connection); every answer must be 200.  Returns `total`."""
    per, extra = divmod(total, connections)
    request = f"GET {path} HTTP/1.1\r\nHost: example.test\r\n\r\n".encode()
    errors: list = []

    def run(n: int) -> None:
        try:
            with RawClient(port) as c:
                for _ in range(n):
                    c.send(request)
                    r = c.read_response()
                    assert r.status == 200, f"status {r.status} {r.body[:100]!r}"
        except Exception as e:  # noqa: BLE001 - reported by the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(per + (i < extra),)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError(f"{len(errors)} of {connections} connections failed: {errors[0]!r}")
    return total
