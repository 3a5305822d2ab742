#!/usr/bin/env python3
"""Demo upstream server for sluice.

    python3 tools/demo_upstream.py --port 9001 --name upstream-1

A threaded HTTP/1.1 keep-alive server that answers any method and path with
200 text/plain describing what it received:

    hello from upstream-1 (127.0.0.1:9001)
    method: GET
    path: /x
    x-forwarded-for: 127.0.0.1
    x-forwarded-proto: http

Any request body (Content-Length or chunked) is read and discarded.
GET /healthz answers "ok". Exits cleanly (status 0) on SIGINT/SIGTERM.
"""
import argparse
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BadBody(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-upstream"
    sys_version = ""

    def version_string(self):
        return self.server_version

    # -- body handling -----------------------------------------------------
    def _discard(self, n):
        while n > 0:
            chunk = self.rfile.read(min(n, 65536))
            if not chunk:
                raise BadBody("body truncated")
            n -= len(chunk)

    def _discard_chunked(self):
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise BadBody("bad chunk size line")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadBody("bad chunk size")
            if size == 0:
                # trailers, up to the empty line
                while True:
                    t = self.rfile.readline(8192)
                    if not t:
                        raise BadBody("truncated trailers")
                    if t in (b"\r\n", b"\n"):
                        return
            self._discard(size)
            crlf = self.rfile.readline(3)
            if crlf not in (b"\r\n", b"\n"):
                raise BadBody("missing CRLF after chunk")

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te and te.split(",")[-1].strip().lower() == "chunked":
            self._discard_chunked()
            return
        cl = self.headers.get("Content-Length")
        if cl is not None:
            cl = cl.strip()
            if not cl.isdigit():
                raise BadBody("bad Content-Length")
            self._discard(int(cl))

    # -- responses -----------------------------------------------------------
    def _respond(self, status, text):
        data = text.encode("utf-8", "replace")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        try:
            self._read_body()
        except BadBody as e:
            self.close_connection = True
            self._respond(400, "bad request body: %s\n" % e)
            return
        if self.path.split("?", 1)[0] == "/healthz":
            self._respond(200, "ok\n")
            return
        srv = self.server
        lines = [
            "hello from %s (%s:%d)" % (srv.demo_name, srv.server_address[0], srv.server_address[1]),
            "method: %s" % self.command,
            "path: %s" % self.path,
            "x-forwarded-for: %s" % self.headers.get("X-Forwarded-For", ""),
            "x-forwarded-proto: %s" % self.headers.get("X-Forwarded-Proto", ""),
        ]
        self._respond(200, "\n".join(lines) + "\n")

    def __getattr__(self, name):
        # Any method: do_GET, do_POST, do_PURGE, ...
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        if not self.server.demo_quiet:
            sys.stderr.write("%s %s - %s\n" % (self.server.demo_name, self.address_string(), fmt % args))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main():
    ap = argparse.ArgumentParser(description="demo upstream HTTP/1.1 server for sluice")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default=None)
    ap.add_argument("--quiet", action="store_true", help="no per-request log line")
    args = ap.parse_args()

    srv = Server((args.host, args.port), Handler)
    srv.demo_name = args.name or "upstream-%d" % args.port
    srv.demo_quiet = args.quiet

    def stop(signum, frame):
        # shutdown() blocks until serve_forever returns: call it from another thread
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    sys.stderr.write("%s listening on %s:%d\n" % (srv.demo_name, args.host, args.port))
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
