"""Load for the process-model tests: a lean counting upstream, `wrk` with a Lua script that
reports exact counts as JSON, and a Python client doing one connection per request.
"""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

from rawhttp import get as raw_get

WRK = shutil.which("wrk") or "/usr/bin/wrk"

# Per-thread counters are read back in done() through thread:get(); `response` sees every
# status, so "non2xx" is exact (wrk's own errors.status only counts >= 400).
WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  ok2xx = 0
  non2xx = 0
end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok2xx = ok2xx + 1 else non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok2xx")
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "ok2xx": %d, "non2xx": %d, "duration_us": %d}\n',
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout, ok, bad,
    summary.duration))
end
"""


class Wrk:
    """`wrk -tT -cC -dDs --timeout 4s -s script URL` in the background."""

    def __init__(self, url: str, workdir: Path, threads: int = 2, connections: int = 20,
                 duration: int = 12, timeout: str = "4s"):
        self.script = Path(workdir) / "wrk_report.lua"
        self.script.write_text(WRK_SCRIPT)
        self.duration = duration
        self.cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s",
                    "--timeout", timeout, "-s", str(self.script), url]
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


class FastUpstream:
    """A threaded HTTP/1.1 server that answers every request `200` with its name as the
    body and only counts requests (no recording: it must keep up with wrk).  Requests may
    carry a Content-Length body; keep-alive is honoured, `Connection: close` too."""

    def __init__(self, name: str, host: str = "127.0.0.1"):
        self.name = name
        body = name.encode()
        self.response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                         % len(body)) + body
        self.lock = threading.Lock()
        self.count = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(1024)
        self.port = self.listener.getsockname()[1]
        self.addr = f"{host}:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def requests(self) -> int:
        with self.lock:
            return self.count

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        buf = b""
        try:
            while True:
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                    continue
                head, buf = buf[:i + 4], buf[i + 4:]
                lower = head.lower()
                m = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", lower)
                need = int(m.group(1)) if m else 0
                if b"\r\ntransfer-encoding:" in lower:
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
                if re.search(rb"\r\nconnection:[^\r]*close", lower):
                    sock.shutdown(socket.SHUT_WR)
                    return
        except OSError:
            pass
        finally:
            sock.close()

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


class ClientLoop:
    """A thread doing `GET path` on a fresh connection per request (Connection: close)
    until stopped or `duration` elapsed; every failure (exception or status) is kept."""

    def __init__(self, port: int, path: str = "/py", duration: float = 12.0,
                 source: str = "127.0.0.1", expect_status: int = 200):
        self.port = port
        self.path = path
        self.duration = duration
        self.source = source
        self.expect = expect_status
        self.ok = 0
        self.failures: list[str] = []
        self.bodies: dict[bytes, int] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        end = time.monotonic() + self.duration
        while not self._stop.is_set() and time.monotonic() < end:
            t = time.monotonic()
            try:
                r = raw_get(self.port, self.path, source=self.source)
                if r.status != self.expect:
                    self.failures.append(f"{time.monotonic():.3f}: status {r.status} {r.body[:100]!r}")
                else:
                    self.ok += 1
                    self.bodies[r.body] = self.bodies.get(r.body, 0) + 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.failures.append(f"{time.monotonic():.3f}: {type(e).__name__}: {e} "
                                     f"(after {time.monotonic() - t:.3f}s)")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "client loop did not stop"

    def join(self, timeout: Optional[float] = None) -> None:
        self.thread.join(timeout if timeout is not None else self.duration + 10)
        assert not self.thread.is_alive(), "client loop did not finish"
