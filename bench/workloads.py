"""The workloads, each measured against one proxy (or the upstream itself): wrk keep-alive and
Connection: close runs with the proxy's CPU per request (also with a varying X-User-Id for the
hashing rows), h2load over HTTP/2 (TLS and clear text), the 100 MiB download, openssl s_time
full handshakes, idle connections' memory (HTTP/1.1 and HTTP/2), and sluice's heap allocations
per request; plus the sanity checks run before them.  A failure raises BenchError with the
reason.
"""
import os
import re
import resource
import socket
import ssl
import struct
import subprocess
import time

import malloc_counter
from clients import keepalive_requests
from common import BIG_SIZE, HASH_HEADER, HASH_USERS, HOST, SMALL_BODY, BenchError, exe
from processes import children
from proxies import sluice_proxy

def read_response(sock, buf=None):
    """Read one response with a Content-Length body (or up to EOF); return (status, head, body_len, first_bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise BenchError("connection closed before the response head (got %r)" % data[:80])
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise BenchError("bad status line %r" % lines[0][:80])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    first = rest[:64]
    got = len(rest)
    if buf is None:
        buf = bytearray(1 << 20)
    view = memoryview(buf)
    if length is not None and not chunked:
        while got < length:
            n = sock.recv_into(view)
            if n == 0:
                raise BenchError("body truncated at %d of %d bytes" % (got, length))
            if len(first) < 64:
                first += bytes(view[:64 - len(first)])
            got += n
        return status, head, got, first
    if chunked and rest.endswith(b"0\r\n\r\n"):
        return status, head, got, first
    # chunked (counts framing bytes too) or close-delimited: read to EOF / last chunk
    tail = rest[-5:]
    while True:
        n = sock.recv_into(view)
        if n == 0:
            break
        got += n
        tail = (tail + bytes(view[max(0, n - 5):n]))[-5:]
        if chunked and tail == b"0\r\n\r\n":
            break
    return status, head, got, first


def http_get(port, path, timeout=5.0):
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (path.encode(), HOST.encode(), port))
        status, head, n, first = read_response(s)
        return status, first


def sanity_check(port, check_xff=True):
    """The proxy answers / with the upstream's body and adds X-Forwarded-For: 127.0.0.1."""
    status, body = http_get(port, "/")
    if status != 200 or body != SMALL_BODY:
        raise BenchError("GET / answered %d %r, expected 200 %r" % (status, body[:40], SMALL_BODY))
    if not check_xff:
        return None
    status, body = http_get(port, "/xff")
    if status != 200 or body.strip() != HOST.encode():
        return "X-Forwarded-For seen by the upstream: %r (expected %r)" % (body[:60], HOST)
    return None


def parse_duration_ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * factor
    return float(text)


def run_client(argv, seconds):
    """Runs a load generator (wrk, h2load) for its `seconds`: its completed process and the CPU
    seconds it used; BenchError when it hangs or fails."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 20)
    except subprocess.TimeoutExpired:
        raise BenchError("%s did not finish within %ds" % (argv[0], seconds + 20))
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise BenchError("%s failed (%d): %s" % (argv[0], r.returncode, (r.stderr or r.stdout).strip()[-200:]))
    return r, round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 3)


def run_wrk(port, seconds, shape, extra=(), latency=True, scheme="http"):
    """wrk with `shape` = (threads, connections) for `seconds`: its figures, parsed."""
    argv = ["wrk", "-t%d" % shape[0], "-c%d" % shape[1], "-d%ds" % seconds, "--timeout", "2s"]
    if latency:
        argv.append("--latency")
    argv += list(extra) + ["%s://%s:%d/" % (scheme, HOST, port)]
    r, client_cpu = run_client(argv, seconds)
    out = r.stdout
    res = {"requests": None, "rps": None, "p50_ms": None, "p99_ms": None, "errors": 0, "non2xx": 0}
    in_dist = False
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("Latency Distribution"):
            in_dist = True
            continue
        if in_dist:
            parts = s.split()
            if len(parts) == 2 and parts[0].endswith("%"):
                if parts[0] == "50%":
                    res["p50_ms"] = parse_duration_ms(parts[1])
                elif parts[0] == "99%":
                    res["p99_ms"] = parse_duration_ms(parts[1])
                continue
            in_dist = False
        if " requests in " in s:
            res["requests"] = int(s.split()[0])
        elif s.startswith("Requests/sec:"):
            res["rps"] = float(s.split()[1])
        elif s.startswith("Socket errors:"):
            # Socket errors: connect 0, read 0, write 0, timeout 0
            res["errors"] = sum(int(x.strip(", ")) for x in s.split()[3::2])
        elif s.startswith("Non-2xx or 3xx responses:"):
            res["non2xx"] = int(s.split()[-1])
    if not res["requests"] or res["rps"] is None:
        raise BenchError("could not parse wrk output: %s" % out.strip()[-200:])
    res["raw"] = out
    res["wrk_cpu_s"] = client_cpu
    return res


def wrk_workload(server, port, seconds, shape, extra=(), latency=True, upstream=None, scheme="http"):
    """Run wrk; CPU of the measured server's tree (and of the upstream's) per completed request."""
    cpu0 = server.cpu()
    up0 = upstream.cpu() if upstream is not None else None
    w = run_wrk(port, seconds, shape, extra, latency, scheme)
    cpu1 = server.cpu()
    up1 = upstream.cpu() if upstream is not None else None
    w["cpu_s"] = cpu1 - cpu0
    w["cpu_us_per_req"] = (cpu1 - cpu0) * 1e6 / w["requests"]
    if upstream is not None:
        w["upstream_cpu_us_per_req"] = (up1 - up0) * 1e6 / w["requests"]
    bad = w["errors"] + w["non2xx"]
    if bad > max(10, w["requests"] // 1000):
        raise BenchError("%d socket errors and %d non-2xx/3xx responses out of %d requests"
                         % (w["errors"], w["non2xx"], w["requests"]))
    return w


def big_download(port, times):
    buf = bytearray(1 << 20)
    total_bytes, total_time, runs = 0, 0.0, []
    for _ in range(times):
        with socket.create_connection((HOST, port), timeout=10) as s:
            t0 = time.perf_counter()
            s.sendall(b"GET /big HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (HOST.encode(), port))
            status, head, n, first = read_response(s, buf)
            dt = time.perf_counter() - t0
        if status != 200 or n < BIG_SIZE:
            raise BenchError("GET /big answered %d with %d bytes (expected %d)" % (status, n, BIG_SIZE))
        runs.append(n / dt / 1e9)
        total_bytes += n
        total_time += dt
    return {"gbps": total_bytes / total_time / 1e9, "runs_gbps": runs, "bytes": total_bytes, "seconds": total_time}


def tls_sanity(port):
    """GET / over TLS (no verification: the certificate is self-signed) answers the upstream's
    body; returns what was negotiated."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    with socket.create_connection((HOST, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="bench.test") as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            info = {"version": s.version(), "cipher": s.cipher()[0], "alpn": s.selected_alpn_protocol()}
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or body != SMALL_BODY:
        raise BenchError("GET / over TLS answered %r ... %r" % (head[:40], body[:40]))
    return info


def s_time_workload(server, port, seconds, clients):
    """`clients` parallel `openssl s_time -new` for `seconds`: full handshakes (no session
    resumption, no request), counted over the wall time of the run; the proxy's CPU per handshake."""
    argv = [exe("openssl"), "s_time", "-connect", "%s:%d" % (HOST, port), "-new", "-time", str(seconds)]
    cpu0 = server.cpu()
    t0 = time.perf_counter()
    procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(clients)]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=seconds + 20)[0].decode(errors="replace"))
    except subprocess.TimeoutExpired:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        raise BenchError("openssl s_time did not finish within %ds" % (seconds + 20))
    wall = time.perf_counter() - t0
    cpu1 = server.cpu()
    total = 0
    for p, out in zip(procs, outs):
        m = re.search(r"^(\d+) connections in [\d.]+s;", out, re.M)
        if p.returncode != 0 or not m:
            raise BenchError("openssl s_time failed (%s): %s" % (p.returncode, out.strip()[-200:]))
        total += int(m.group(1))
    if total == 0:
        raise BenchError("openssl s_time made no connection")
    return {"handshakes": total, "seconds": wall, "rate": total / wall, "cpu_s": cpu1 - cpu0,
            "cpu_us_per_handshake": (cpu1 - cpu0) * 1e6 / total}


def idle_connections(server, port, count, send_request=True, h2=False):
    """Open `count` connections, one keep-alive request each (or none), keep them idle; RSS growth per conn.
    h2: the request is HTTP/2 with prior knowledge (clear text), the connection stays open after it."""
    req = b"GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (HOST.encode(), port)
    h2_req = h2_prior_knowledge_request("%s:%d" % (HOST, port))
    buf = bytearray(65536)
    socks = []
    rss0 = server.rss()
    try:
        for i in range(count):
            try:
                s = socket.create_connection((HOST, port), timeout=5)
                socks.append(s)
                if not send_request:
                    continue
                if h2:
                    h2_one_request(s, h2_req)
                    continue
                s.sendall(req)
                status, head, n, first = read_response(s, buf)
            except (OSError, BenchError) as e:
                raise BenchError("idle connection %d of %d: %s" % (i + 1, count, e))
            if status != 200:
                raise BenchError("idle connection %d: status %d" % (i + 1, status))
        time.sleep(1.0)
        rss1 = server.rss()
        # all still open? (a proxy that closed them would look cheap)
        closed = 0
        for s in socks:
            s.setblocking(False)
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        if closed > count // 100:
            raise BenchError("%d of %d idle connections were closed by the proxy" % (closed, count))
    finally:
        for s in socks:
            s.close()
    return {"connections": count, "sent_request": send_request, "rss_before": rss0, "rss_after": rss1,
            "bytes_per_conn": (rss1 - rss0) / count, "closed": closed, "protocol": "h2c" if h2 else "HTTP/1.1"}


# --------------------------------------------------------------------------------------------
# HTTP/2: raw frames for the idle connections, h2load for the load

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def h2_prior_knowledge_request(authority):
    """Preface, empty SETTINGS, and GET / on stream 1 (HPACK: :method GET, :scheme http, :path /
    from the static table, :authority as a literal without indexing)."""
    a = authority.encode()
    block = b"\x82\x86\x84\x01" + bytes([len(a)]) + a
    return H2_PREFACE + h2_frame(4, 0, 0) + h2_frame(1, 0x5, 1, block)  # END_STREAM | END_HEADERS


def h2_one_request(sock, request):
    """Send `request` (h2_prior_knowledge_request) and read frames until stream 1 ends,
    acknowledging the server's SETTINGS; the connection then stays open, idle."""
    sock.sendall(request)
    buf = b""
    status_ok = None
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise BenchError("HTTP/2: connection closed before the response")
        buf += chunk
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            kind, flags = buf[3], buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload, buf = buf[9:9 + length], buf[9 + length:]
            if kind == 4 and not flags & 1:
                sock.sendall(h2_frame(4, 1, 0))           # SETTINGS ACK
            elif kind == 7:
                raise BenchError("HTTP/2: GOAWAY %r" % payload[:40])
            elif kind == 3 and sid == 1:
                raise BenchError("HTTP/2: RST_STREAM on the request")
            elif kind in (0, 1) and sid == 1:
                if kind == 1 and status_ok is None:
                    # :status 200 is static-table entry 8 (0x88); every proxy here sends it indexed
                    status_ok = payload[:1] == b"\x88" or b"200" in payload
                if flags & 1:                             # END_STREAM
                    if not status_ok:
                        raise BenchError("HTTP/2: response without :status 200 (%r)" % payload[:40])
                    return


def run_h2load(url, seconds, clients, streams, threads, log_path):
    """h2load for `seconds` with `clients` connections x `streams` concurrent streams: its figures,
    parsed; p50/p99 from its per-request log."""
    argv = ["h2load", "-t%d" % threads, "-c%d" % clients, "-m%d" % streams, "-D", "%ds" % seconds,
            "--log-file", log_path, url]
    r, client_cpu = run_client(argv, seconds)
    out = r.stdout
    res = {"requests": None, "rps": None, "p50_ms": None, "p99_ms": None, "errors": 0, "non2xx": 0, "protocol": None}
    for line in out.splitlines():
        s = line.strip()
        m = re.match(r"finished in ([\d.]+)s, ([\d.]+) req/s", s)
        if m:
            res["rps"] = float(m.group(2))
        m = re.match(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                     r"(\d+) errored, (\d+) timeout", s)
        if m:
            res["requests"] = int(m.group(4))
            res["errors"] = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
        m = re.match(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", s)
        if m:
            res["non2xx"] = int(m.group(3)) + int(m.group(4))
        if s.startswith("Application protocol:"):
            res["protocol"] = s.split(":", 1)[1].strip()
    if not res["requests"] or res["rps"] is None:
        raise BenchError("could not parse h2load output: %s" % (out + r.stderr).strip()[-200:])
    if res["protocol"] not in ("h2", "h2c"):
        raise BenchError("h2load negotiated %r, not HTTP/2" % res["protocol"])
    times = []
    try:
        with open(log_path) as f:
            for line in f:
                parts = line.split("\t")
                if len(parts) >= 3:
                    times.append(int(parts[2]))
        os.unlink(log_path)
    except (OSError, ValueError):
        pass
    if times:
        times.sort()
        res["p50_ms"] = times[len(times) // 2] / 1000.0
        res["p99_ms"] = times[min(len(times) - 1, int(len(times) * 0.99))] / 1000.0
    res["raw"] = out
    res["wrk_cpu_s"] = client_cpu  # the client's CPU
    return res


def h2load_workload(server, url, seconds, clients, streams, threads, log_path, upstream=None):
    """Run h2load; CPU of the proxy's tree (and of the upstream's) per completed request."""
    cpu0 = server.cpu()
    up0 = upstream.cpu() if upstream is not None else None
    w = run_h2load(url, seconds, clients, streams, threads, log_path)
    cpu1 = server.cpu()
    w["cpu_s"] = cpu1 - cpu0
    w["cpu_us_per_req"] = (cpu1 - cpu0) * 1e6 / w["requests"]
    if upstream is not None:
        w["upstream_cpu_us_per_req"] = (upstream.cpu() - up0) * 1e6 / w["requests"]
    bad = w["errors"] + w["non2xx"]
    if bad > max(10, w["requests"] // 1000):
        raise BenchError("%d failed/errored/timed-out and %d 4xx/5xx out of %d requests"
                         % (w["errors"], w["non2xx"], w["requests"]))
    return w


def user_id_script(tmp):
    """A wrk script sending a different X-User-Id on each request (HASH_USERS values, cycled;
    the requests are built once in init(), so wrk does no Lua work per request beyond picking one)."""
    path = os.path.join(tmp, "user_id.lua")
    with open(path, "w") as f:
        f.write("""-- sluice bench: a varying %(header)s (%(n)d users, cycled)
local reqs = {}
local i = 0
function init(args)
  for k = 1, %(n)d do
    reqs[k] = wrk.format(nil, nil, {["%(header)s"] = "user-" .. k})
  end
end
function request()
  i = i %% %(n)d + 1
  return reqs[i]
end
""" % dict(header=HASH_HEADER, n=HASH_USERS))
    return path


# --------------------------------------------------------------------------------------------
# Orchestration


class MallocProbe:
    """sluice's heap allocations per request: a sluice with one worker (the benchmark's
    configuration otherwise) under LD_PRELOAD of tools/malloc_count.c, started once per
    request count; `requests` keep-alive requests on 8 connections, then SIGTERM, after which
    the worker writes its count at exit.  The difference between two counts over the
    difference of the request counts is what one more request allocates."""

    def __init__(self, tmp, binary, up_port, port, cpus=None):
        self.tmp, self.binary, self.up_port, self.port, self.cpus = tmp, binary, up_port, port, cpus
        self.lib = malloc_counter.build(tmp)

    def worker_mallocs(self, requests):
        prefix = malloc_counter.fresh_prefix(self.tmp, "mallocs-%d" % requests)
        server = sluice_proxy(self.tmp, self.port, self.up_port, self.binary, workers="1", cpus=self.cpus,
                              name="sluice-mallocs", env=malloc_counter.environment(self.lib, prefix))
        server.start()
        try:
            workers = children(server.pid)
            if len(workers) != 1:
                raise BenchError("expected one sluice worker, found %s" % workers)
            keepalive_requests(self.port, requests, connections=8)
        finally:
            server.stop()
        if server.proc.returncode != 0:
            raise BenchError("sluice (allocation count) exited with %s" % server.exit_text())
        return malloc_counter.count_of(prefix, workers[0])

    def measure(self, small, large):
        m_small = self.worker_mallocs(small)
        m_large = self.worker_mallocs(large)
        return {"per_request": malloc_counter.per_request(m_small, small, m_large, large),
                "requests": [small, large], "worker_mallocs": [m_small, m_large]}
