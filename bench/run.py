#!/usr/bin/env python3
"""sluice benchmark: sluice vs HAProxy vs nginx, same workloads, same upstream, one run.

    python3 bench/run.py                      # full run (about 135 s here), all proxies
    python3 bench/run.py --quick              # shorter run (about 50 s)
    python3 bench/run.py --proxies haproxy,nginx --no-direct

Every proxy runs one worker / thread in front of the same nginx upstream (one worker process,
16-byte response at /, a 100 MiB static file at /big), keeps upstream keep-alive connections and
adds X-Forwarded-For. Workloads, per proxy:

  keep-alive      wrk -t1 -c50 --latency, 16-byte responses: req/s, p50, p99, proxy CPU us/request
  conn-per-req    wrk -t1 -c50 -H "Connection: close": req/s, proxy CPU us/request
  100 MiB body    GET /big through the proxy, several times: GB/s (1e9 bytes per second)
  idle conns      N client connections that each made one keep-alive request and then idle:
                  growth of the proxy's RSS (all its processes) per connection, measured on a
                  freshly started proxy (JSON also has "idle_fresh": connections that sent nothing)
  TLS keep-alive  wrk -t1 -c50 over https to the proxy's TLS listener: req/s, p99, CPU us/request
  TLS handshakes  2 parallel `openssl s_time -new` (full handshakes, no resumption, no request):
                  handshakes/s, proxy CPU us/handshake.  (wrk -H "Connection: close" over https
                  is not used: wrk resumes the previous session on every reconnect.)

Every proxy terminates TLS with the same self-signed ECDSA P-256 certificate and the same policy
(TLS 1.2 + 1.3, Mozilla intermediate ciphers and groups, client cipher preference, session tickets
on, ALPN http/1.1); the TLS figures are a second table (no direct row: the upstream is plain HTTP).

All proxies run at once on their own ports; the wrk workloads run in rounds that rotate through
the targets, so slow drifts of a shared machine hit every proxy alike. On a 2-core VM the
req/s figures swing by +-30% between rounds (wrk, proxy and upstream share the cores and the
request rate is bound by wake-up latency more than by CPU); CPU us/request is the steadier
figure (+-10%): compare that first, and quote ratios.

CPU is utime+stime(+cutime+cstime) of the proxy's whole process tree (found through /proc/*/stat
ppid), sampled before and after each workload, divided by the requests wrk completed.

Results: one markdown table on stdout, each figure with its ratio to HAProxy's, and the raw
numbers in bench/results/last.json. The run stops starting workloads when it would overrun its
time budget (180 s by default) and marks them skipped.

Everything runs as the current user, on 127.0.0.1, from a temporary directory (configs, pid and
log files), removed afterwards unless --keep-tmp.
"""
import argparse
import json
import os
import platform
import pwd
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
SMALL_BODY = b"0123456789abcdef"
BIG_SIZE = 100 * 1024 * 1024
NOFILE_WANTED = 65536
NOFILE = None  # the limit actually reached (set in main); the proxies' limits are sized from it
HOST = "127.0.0.1"

PROFILES = {
    # seconds of wrk warm-up; keep-alive rounds x seconds; conn-per-request rounds x seconds;
    # 100 MiB downloads per target; idle connections per proxy; TLS keep-alive rounds x seconds;
    # TLS new-handshake rounds x seconds (with hs_clients parallel `openssl s_time -new`)
    "full":  dict(warmup=1, rounds=3, keepalive=4, close_rounds=2, close=3, downloads=3, idle=5000,
                  tls_rounds=2, tls_keepalive=3, hs_rounds=2, handshake=3, hs_clients=2),
    "quick": dict(warmup=1, rounds=1, keepalive=3, close_rounds=1, close=2, downloads=1, idle=2000,
                  tls_rounds=1, tls_keepalive=2, hs_rounds=1, handshake=2, hs_clients=2),
}

# TLS: one ECDSA P-256 certificate for all three proxies, and the same protocol policy for all:
# TLS 1.2 + 1.3, Mozilla "intermediate" ciphers and groups, client cipher preference, session
# tickets on, ALPN http/1.1 (sluice's built-in defaults, configured explicitly for the others).
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                 "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS_GROUPS = "X25519:prime256v1:secp384r1"
TLS_KEY = "ECDSA P-256"

ALL_PROXIES = ["sluice", "haproxy", "nginx"]


class BenchError(Exception):
    """A workload or a proxy start failed; the message goes into the proxy's row."""


T0 = time.monotonic()


def log(msg):
    sys.stderr.write("bench %5.1fs: %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# Tools: install when missing (as root), versions
# --------------------------------------------------------------------------------------------

def ensure_tools(proxies):
    needed = {"wrk": "wrk", "nginx": "nginx-light", "openssl": "openssl"}  # nginx is always the upstream
    if "haproxy" in proxies:
        needed["haproxy"] = "haproxy"
    missing = [pkg for exe, pkg in needed.items() if not shutil.which(exe) and not os.path.exists("/usr/sbin/" + exe)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit("bench: missing %s; install with: sudo apt-get install -y %s"
                         % (", ".join(missing), " ".join(missing)))
    log("installing %s (apt-get)" % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, timeout=300, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing, check=True, env=env,
                   timeout=600, stdout=subprocess.DEVNULL)


def exe(name):
    return shutil.which(name) or "/usr/sbin/" + name


def version_of(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        text = (r.stdout + r.stderr).strip().splitlines()
        return text[0] if text else "?"
    except Exception as e:  # noqa: BLE001 - informational only
        return "unavailable (%s)" % e


# --------------------------------------------------------------------------------------------
# /proc accounting
# --------------------------------------------------------------------------------------------

def _stat_fields(pid):
    with open("/proc/%d/stat" % pid, "rb") as f:
        data = f.read()
    # comm may contain spaces and parentheses: fields start after the last ')'
    return data[data.rindex(b")") + 2:].split()


def process_tree(root):
    """root and all its descendants, through the ppid of every /proc/*/stat."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_cpu_seconds(root):
    """utime+stime of every live process in the tree, plus cutime+cstime (reaped children)."""
    ticks = 0
    for pid in process_tree(root):
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        # fields after comm: [0]=state (3rd field) ... utime=14th -> [11], stime [12], cutime [13], cstime [14]
        ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks / CLK_TCK


def tree_rss_bytes(root):
    total = 0
    for pid in process_tree(root):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def raise_nofile():
    """Raise RLIMIT_NOFILE as far as allowed (root: to NOFILE_WANTED). Returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (NOFILE_WANTED, hard):
        if want == resource.RLIM_INFINITY:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _child_setup():
    # runs in the child between fork and exec: own session (no terminal signals), fd limit raised
    os.setsid()
    raise_nofile()


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------

def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((HOST, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Server:
    """A process started from argv with logs in the temp dir, stopped by pid (and its tree)."""

    def __init__(self, name, argv, tmp, port, cwd=None):
        self.name, self.argv, self.tmp, self.port = name, argv, tmp, port
        self.log_path = os.path.join(tmp, "%s.log" % name)
        self.cwd = cwd or tmp
        self.proc = None
        self.known_pids = set()

    def start(self, timeout=5.0):
        logf = open(self.log_path, "ab")
        self.known_pids = set()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                         cwd=self.cwd, preexec_fn=_child_setup)
        except OSError as e:
            raise BenchError("cannot start %s: %s" % (self.argv[0], e))
        finally:
            logf.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BenchError("%s exited at start (%s): %s" % (self.name, self.exit_text(), self.log_tail()))
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError("%s did not listen on %s:%d within %.0fs: %s"
                                 % (self.name, HOST, self.port, timeout, self.log_tail()))
            time.sleep(0.05)
        time.sleep(0.2)  # let workers finish starting (they accept on the master's socket)
        self.known_pids.update(process_tree(self.proc.pid))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=3):
        try:
            with open(self.log_path, "rb") as f:
                lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if l.strip()]
            return " | ".join(lines[-n:]) or "(no output)"
        except OSError:
            return "(no log)"

    def exit_text(self):
        rc = self.proc.returncode if self.proc is not None else None
        if rc is None:
            return "running"
        return "killed by signal %d" % -rc if rc < 0 else "exit status %d" % rc

    def died(self):
        return BenchError("%s died (%s): %s" % (self.name, self.exit_text(), self.log_tail()))

    def cpu(self):
        if not self.alive():
            raise self.died()
        return tree_cpu_seconds(self.pid)

    def rss(self):
        if not self.alive():
            raise self.died()
        return tree_rss_bytes(self.pid)

    def stop(self):
        if self.proc is None:
            return
        if self.alive():
            self.known_pids.update(process_tree(self.proc.pid))
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        # workers left behind by a master that did not stop them: by pid, only those we saw
        for pid in self.known_pids - {self.proc.pid}:
            try:
                if int(_stat_fields(pid)[1]) in self.known_pids | {1}:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass


def nginx_user_line():
    # As root the workers would switch to an unprivileged user that cannot read the temp dir.
    if os.geteuid() == 0:
        return "user %s;" % pwd.getpwuid(0).pw_name
    return ""


def nginx_common(tmp, name):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    return """%(user)s
daemon off;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
worker_rlimit_nofile %(nofile)d;
events { worker_connections 20000; }
""" % dict(user=nginx_user_line(), d=d, nofile=NOFILE), d


def nginx_temp_paths(d):
    return "\n".join("    %s_temp_path %s/%s;" % (k, d, k) for k in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def upstream_server(tmp, port):
    # One worker: the upstream needs well under a core at the proxies' rates (direct traffic
    # reaches about twice their rate on one worker), and a second worker would only add one more
    # runnable process competing with wrk and the proxy for the 2 cores.
    head, d = nginx_common(tmp, "upstream")
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    big = os.path.join(www, "big")
    with open(big, "wb") as f:
        chunk = bytes(range(256)) * 4096  # 1 MiB
        for _ in range(BIG_SIZE // len(chunk)):
            f.write(chunk)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(head + """worker_processes 1;
http {
    access_log off;
%(temps)s
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    sendfile on;
    tcp_nopush on;
    server {
        listen %(host)s:%(port)d backlog=4096;
        location = / { default_type text/plain; return 200 "%(body)s"; }
        location = /xff { default_type text/plain; return 200 "$http_x_forwarded_for"; }
        location = /big { root %(www)s; default_type application/octet-stream; }
    }
}
""" % dict(temps=nginx_temp_paths(d), host=HOST, port=port, body=SMALL_BODY.decode(), www=www))
    return Server("upstream-nginx", [exe("nginx"), "-p", d, "-c", conf], tmp, port)


def make_certificate(tmp):
    """One self-signed ECDSA P-256 certificate (bench.test, 127.0.0.1) for all proxies: PEM
    certificate, key, and both in one file (HAProxy's `crt`)."""
    d = os.path.join(tmp, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key, both = (os.path.join(d, n) for n in ("cert.pem", "key.pem", "both.pem"))
    try:
        r = subprocess.run([exe("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=bench.test",
                            "-addext", "subjectAltName=DNS:bench.test,IP:127.0.0.1"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError("openssl req: %s" % e)
    if r.returncode != 0:
        raise BenchError("openssl req failed: %s" % r.stderr.strip()[-200:])
    with open(both, "w") as f:
        f.write(open(cert).read() + open(key).read())
    return {"cert": cert, "key": key, "pem": both}


def nginx_proxy(tmp, port, up_port, tls_port=None, cert=None):
    head, d = nginx_common(tmp, "nginx")
    tls = ""
    if tls_port:
        tls = """        listen %(host)s:%(tls_port)d ssl backlog=4096;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers %(ciphers)s;
        ssl_conf_command Ciphersuites %(suites)s;
        ssl_ecdh_curve %(groups)s;
        ssl_prefer_server_ciphers off;
        ssl_session_tickets on;
""" % dict(host=HOST, tls_port=tls_port, cert=cert["cert"], key=cert["key"], ciphers=TLS12_CIPHERS,
           suites=TLS13_SUITES, groups=TLS_GROUPS)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(head + """worker_processes 1;
http {
    access_log off;
%(temps)s
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    upstream up {
        server %(host)s:%(up)d;
        keepalive 64;
        keepalive_requests 1000000000;
        keepalive_timeout 300s;
    }
    server {
        listen %(host)s:%(port)d backlog=4096;
%(tls)s        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
    }
}
""" % dict(temps=nginx_temp_paths(d), host=HOST, port=port, up=up_port, tls=tls))
    # master + 1 worker; CPU and RSS are summed over both
    return Server("nginx", [exe("nginx"), "-p", d, "-c", conf], tmp, port)


def haproxy_maxconn():
    # HAProxy refuses to start when it cannot get 2 fds per connection (+ a few): without
    # CAP_SYS_RESOURCE the hard RLIMIT_NOFILE caps maxconn below 20000.
    return max(1000, min(20000, (NOFILE - 100) // 2))


def haproxy_proxy(tmp, port, up_port, tls_port=None, cert=None):
    d = os.path.join(tmp, "haproxy")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write("""global
    nbthread 1
    maxconn %(maxconn)d
    pidfile %(d)s/haproxy.pid
    ssl-default-bind-ciphers %(ciphers)s
    ssl-default-bind-ciphersuites %(suites)s
    ssl-default-bind-curves %(groups)s
    ssl-default-bind-options ssl-min-ver TLSv1.2 prefer-client-ciphers

defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    option http-keep-alive
    option forwardfor
    http-reuse always

frontend bench
    bind %(host)s:%(port)d
%(tls)s    default_backend up

backend up
    server s1 %(host)s:%(up)d
""" % dict(d=d, host=HOST, port=port, up=up_port, maxconn=haproxy_maxconn(), ciphers=TLS12_CIPHERS,
           suites=TLS13_SUITES, groups=TLS_GROUPS,
           tls="    bind %s:%d ssl crt %s alpn http/1.1\n" % (HOST, tls_port, cert["pem"]) if tls_port else ""))
    # -db: foreground, no daemon, one process (not master-worker)
    return Server("haproxy", [exe("haproxy"), "-db", "-f", conf], tmp, port)


def sluice_proxy(tmp, port, up_port, binary, tls_port=None, cert=None, workers="1"):
    d = os.path.join(tmp, "sluice")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "sluice.conf")
    with open(conf, "w") as f:
        f.write("""workers %(workers)s;
error_log stderr warn;
backend up { server %(host)s:%(up)d; keepalive 64; }
frontend bench { listen %(host)s:%(port)d; %(tls)sbackend up; }
""" % dict(host=HOST, port=port, up=up_port, workers=workers,
           tls="listen %s:%d tls; certificate %s %s; " % (HOST, tls_port, cert["cert"], cert["key"]) if tls_port else ""))
    return Server("sluice", [binary, "-c", conf], tmp, port)


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------

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


def run_wrk(port, seconds, extra=(), latency=True, scheme="http"):
    argv = ["wrk", "-t1", "-c50", "-d%ds" % seconds, "--timeout", "2s"]
    if latency:
        argv.append("--latency")
    argv += list(extra) + ["%s://%s:%d/" % (scheme, HOST, port)]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 20)
    except subprocess.TimeoutExpired:
        raise BenchError("wrk did not finish within %ds" % (seconds + 20))
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = r.stdout
    if r.returncode != 0:
        raise BenchError("wrk failed (%d): %s" % (r.returncode, (r.stderr or out).strip()[-200:]))
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
    res["wrk_cpu_s"] = round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 3)
    return res


def wrk_workload(server, port, seconds, extra=(), latency=True, upstream=None, scheme="http"):
    """Run wrk; CPU of the measured server's tree (and of the upstream's) per completed request."""
    cpu0 = server.cpu()
    up0 = upstream.cpu() if upstream is not None else None
    w = run_wrk(port, seconds, extra, latency, scheme)
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


def idle_connections(server, port, count, send_request=True):
    """Open `count` connections, one keep-alive request each (or none), keep them idle; RSS growth per conn."""
    req = b"GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (HOST.encode(), port)
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
            "bytes_per_conn": (rss1 - rss0) / count, "closed": closed}


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------

class Budget:
    def __init__(self, seconds):
        self.start = time.monotonic()
        self.seconds = seconds

    def elapsed(self):
        return time.monotonic() - self.start

    def allows(self, needed):
        return self.elapsed() + needed <= self.seconds


class Target:
    """A row of the table: a proxy (server) or the upstream itself (direct, server None)."""

    def __init__(self, name, server, port, upstream, tls_port=None):
        self.name, self.server, self.port, self.upstream = name, server, port, upstream
        self.tls_port = tls_port  # the proxy's TLS listener (same process), None for direct
        self.row = {"errors": {}, "notes": [], "restarts": 0}
        self.direct = server is None
        self.ok = True  # False once it could not be started: no more workloads

    @property
    def measured(self):
        """Whose CPU the workloads measure: the proxy's, or the upstream's for the direct row."""
        return self.upstream if self.direct else self.server

    def error(self, key, msg):
        prev = self.row["errors"].get(key)
        self.row["errors"][key] = msg if prev is None else prev + "; " + msg
        log("[%s] %s: %s" % (self.name, key, msg))

    def start(self):
        if self.direct:
            return True
        try:
            self.server.start()
            return True
        except BenchError as e:
            self.error("start", str(e))
            self.ok = False
            return False

    def ensure_running(self, key):
        """Before a workload: restart a proxy that died during the previous one."""
        if self.direct or self.server.alive():
            return True
        self.error(key, "%s had died (%s: %s); restarted" % (self.name, self.server.exit_text(),
                                                                self.server.log_tail(2)))
        self.row["restarts"] += 1
        self.server.stop()
        try:
            self.server.start()
            return True
        except BenchError as e:
            self.error(key, "restart failed: %s" % e)
            self.ok = False
            return False


def guarded(target, key, fn):
    """Run one measurement; a failure is written into the target's row, never raised."""
    try:
        return fn()
    except BenchError as e:
        target.error(key, str(e))
    except OSError as e:
        target.error(key, "%s: %s" % (type(e).__name__, e))
    except Exception as e:  # noqa: BLE001 - one broken workload must not stop the run
        target.error(key, "%s: %s" % (type(e).__name__, e))
    return None


def rotated(items, r):
    """Round r starts at a different target, so no one always runs first (or last)."""
    if not items:
        return items
    r %= len(items)
    return items[r:] + items[:r]


def aggregate_wrk(runs):
    reqs = sum(w["requests"] for w in runs)
    secs = sum(w["requests"] / w["rps"] for w in runs)
    out = {
        "rps": reqs / secs,
        "requests": reqs,
        "cpu_s": sum(w["cpu_s"] for w in runs),
        "cpu_us_per_req": sum(w["cpu_s"] for w in runs) * 1e6 / reqs,
        "rounds": [{k: w.get(k) for k in ("rps", "requests", "cpu_us_per_req", "p50_ms", "p99_ms", "errors",
                                           "non2xx", "wrk_cpu_s", "upstream_cpu_us_per_req")} for w in runs],
    }
    for k in ("p50_ms", "p99_ms"):
        vals = sorted(w[k] for w in runs if w.get(k) is not None)
        if vals:
            mid = len(vals) // 2
            out[k] = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
    ups = [w["upstream_cpu_us_per_req"] * w["requests"] for w in runs if "upstream_cpu_us_per_req" in w]
    if len(ups) == len(runs):
        out["upstream_cpu_us_per_req"] = sum(ups) / reqs
    out["wrk_cpu_us_per_req"] = sum(w["wrk_cpu_s"] for w in runs) * 1e6 / reqs
    return out


def wrk_phase(targets, key, rounds, seconds, budget, extra=(), latency=True, warmup=0, tls=False):
    """`rounds` interleaved wrk runs per target; results aggregated into row[key].
    tls: against the proxies' TLS listeners (https URL)."""
    runs = {t.name: [] for t in targets}
    scheme = "https" if tls else "http"
    port_of = (lambda t: t.tls_port) if tls else (lambda t: t.port)
    if warmup:
        for t in targets:
            if t.ok and t.ensure_running(key) and budget.allows(warmup + 3):
                guarded(t, key, lambda: run_wrk(port_of(t), warmup, latency=False, scheme=scheme))  # warm up
    for r in range(rounds):
        for t in rotated(targets, r):
            if not t.ok or not t.ensure_running(key):
                continue
            if not budget.allows(seconds + 5):
                t.error(key, "round %d skipped: time budget" % (r + 1))
                continue
            w = guarded(t, key, lambda: wrk_workload(t.measured, port_of(t), seconds, extra, latency,
                                                      None if t.direct else t.upstream, scheme))
            if w is not None:
                w.pop("raw", None)
                runs[t.name].append(w)
                log("[%s] %s round %d: %.0f req/s, %.2f us CPU/req%s"
                    % (t.name, key, r + 1, w["rps"], w["cpu_us_per_req"],
                       ", p50 %.3f ms, p99 %.3f ms" % (w["p50_ms"], w["p99_ms"]) if latency else ""))
    for t in targets:
        if runs[t.name]:
            t.row[key] = aggregate_wrk(runs[t.name])


def big_phase(targets, downloads, budget):
    per = {t.name: [] for t in targets}
    for r in range(downloads):
        for t in rotated(targets, r):
            if not t.ok or not t.ensure_running("big"):
                continue
            if not budget.allows(5):
                t.error("big", "download %d skipped: time budget" % (r + 1))
                continue
            res = guarded(t, "big", lambda: big_download(t.port, 1))
            if res is not None:
                per[t.name].append(res)
    for t in targets:
        if per[t.name]:
            total_bytes = sum(x["bytes"] for x in per[t.name])
            total_time = sum(x["seconds"] for x in per[t.name])
            t.row["big"] = {"gbps": total_bytes / total_time / 1e9, "bytes": total_bytes,
                            "runs_gbps": [round(x["gbps"], 3) for x in per[t.name]]}
            log("[%s] 100 MiB body: %.2f GB/s %s" % (t.name, t.row["big"]["gbps"], t.row["big"]["runs_gbps"]))


def handshake_phase(targets, rounds, seconds, clients, budget):
    """New TLS handshakes: `rounds` interleaved s_time runs per target, aggregated in row["tls_handshake"]."""
    per = {t.name: [] for t in targets}
    for r in range(rounds):
        for t in rotated(targets, r):
            if not t.ok or not t.ensure_running("tls_handshake"):
                continue
            if not budget.allows(seconds + 5):
                t.error("tls_handshake", "round %d skipped: time budget" % (r + 1))
                continue
            res = guarded(t, "tls_handshake", lambda: s_time_workload(t.server, t.tls_port, seconds, clients))
            if res is not None:
                per[t.name].append(res)
                log("[%s] tls_handshake round %d: %.0f handshakes/s, %.1f us CPU/handshake"
                    % (t.name, r + 1, res["rate"], res["cpu_us_per_handshake"]))
    for t in targets:
        runs = per[t.name]
        if runs:
            n = sum(x["handshakes"] for x in runs)
            t.row["tls_handshake"] = {
                "rate": n / sum(x["seconds"] for x in runs), "handshakes": n,
                "cpu_us_per_handshake": sum(x["cpu_s"] for x in runs) * 1e6 / n,
                "rounds": [{k: round(x[k], 2) for k in ("rate", "cpu_us_per_handshake", "seconds")} for x in runs]}


def idle_phase(targets, count, budget):
    """Each idle measurement runs on a freshly started proxy: memory freed by the earlier workloads
    (allocator free lists, HAProxy's pools) would otherwise be reused and hide the per-connection
    cost. "idle" (table): one keep-alive request per connection; "idle_fresh" (JSON): none."""
    for t in targets:
        if t.direct or not t.ok:
            continue
        for key, send in (("idle", True), ("idle_fresh", False)):
            if not budget.allows(4 + count / 1500.0):
                t.error(key, "skipped: time budget")
                continue

            def measure():
                t.server.stop()
                t.server.start()
                http_get(t.port, "/")
                return idle_connections(t.server, t.port, count, send)

            res = guarded(t, key, measure)
            if res is not None:
                t.row[key] = res
                log("[%s] %s: %.0f bytes/conn over %d connections"
                    % (t.name, key, res["bytes_per_conn"], res["connections"]))
            if not t.server.alive() and not t.ensure_running(key):
                break


def run_all(targets, prof, budget):
    live = []
    for t in targets:
        if not t.start():
            continue
        try:
            note = sanity_check(t.port, check_xff=not t.direct)
            if note:
                t.row["notes"].append(note)
                log("[%s] warning: %s" % (t.name, note))
            live.append(t)
        except (BenchError, OSError) as e:
            t.error("start", "sanity check: %s" % e)
            t.ok = False
            if t.server is not None:
                t.server.stop()
    wrk_phase(live, "keepalive", prof["rounds"], prof["keepalive"], budget, warmup=prof["warmup"])
    wrk_phase(live, "close", prof["close_rounds"], prof["close"], budget,
              extra=("-H", "Connection: close"), latency=False)
    tls = []
    for t in live:
        if t.tls_port and t.ok and t.ensure_running("tls"):
            info = guarded(t, "tls", lambda: tls_sanity(t.tls_port))
            if info is not None:
                t.row["tls"] = info
                tls.append(t)
    wrk_phase(tls, "tls_keepalive", prof["tls_rounds"], prof["tls_keepalive"], budget,
              warmup=prof["warmup"], tls=True)
    handshake_phase(tls, prof["hs_rounds"], prof["handshake"], prof["hs_clients"], budget)
    big_phase(live, prof["downloads"], budget)
    idle_phase(live, prof["idle"], budget)
    for t in targets:
        if t.server is not None and t.server.proc is not None:
            if t.ok and not t.server.alive():
                t.error("exit", "%s exited during the run (%s): %s"
                        % (t.name, t.server.exit_text(), t.server.log_tail()))
            t.server.stop()


COLUMNS = [
    # header, getter, format, higher is better
    ("req/s", lambda r: r.get("keepalive", {}).get("rps"), "{:,.0f}"),
    ("CPU µs/req", lambda r: r.get("keepalive", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("p50 ms", lambda r: r.get("keepalive", {}).get("p50_ms"), "{:.3f}"),
    ("p99 ms", lambda r: r.get("keepalive", {}).get("p99_ms"), "{:.3f}"),
    ("conn/req req/s", lambda r: r.get("close", {}).get("rps"), "{:,.0f}"),
    ("conn/req CPU µs/req", lambda r: r.get("close", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("100 MiB GB/s", lambda r: r.get("big", {}).get("gbps"), "{:.2f}"),
    ("idle KiB/conn", lambda r: (r["idle"]["bytes_per_conn"] / 1024.0) if "idle" in r else None, "{:.2f}"),
]
COLUMN_KEYS = ["keepalive", "keepalive", "keepalive", "keepalive", "close", "close", "big", "idle"]

TLS_COLUMNS = [
    ("TLS req/s", lambda r: r.get("tls_keepalive", {}).get("rps"), "{:,.0f}"),
    ("TLS CPU µs/req", lambda r: r.get("tls_keepalive", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("TLS p99 ms", lambda r: r.get("tls_keepalive", {}).get("p99_ms"), "{:.3f}"),
    ("new handshakes/s", lambda r: r.get("tls_handshake", {}).get("rate"), "{:,.0f}"),
    ("CPU µs/handshake", lambda r: r.get("tls_handshake", {}).get("cpu_us_per_handshake"), "{:.1f}"),
]
TLS_COLUMN_KEYS = ["tls_keepalive", "tls_keepalive", "tls_keepalive", "tls_handshake", "tls_handshake"]


def render_table(order, results, columns=COLUMNS, column_keys=COLUMN_KEYS, start_keys=("start",)):
    ref = results.get("haproxy", {})
    columns = list(zip(columns, column_keys))
    header = ["proxy"] + [c[0] for c, _ in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for name in order:
        row = results.get(name)
        if row is None:
            continue
        label = "direct to upstream" if name == "direct" else name
        cells = [label]
        start_err = next((row["errors"][k] for k in start_keys if k in row["errors"]), None)
        for (title, get, fmt), key in columns:
            if start_err:
                cells.append("")
                continue
            v = get(row)
            if v is None:
                err = row["errors"].get(key)
                cells.append(("ERR: " + err[:60]) if err and not err.startswith("skipped") else
                             ("skipped" if err else ""))
                continue
            text = fmt.format(v)
            if name == "direct" and "CPU" in title:
                cells.append("(%s upstream)" % text)
                continue
            r = get(ref) if ref and not any(k in ref.get("errors", {}) for k in start_keys) else None
            if r:
                text += " (%.2fx)" % (v / r)
            cells.append(text)
        if start_err:
            cells[1] = "ERROR: " + start_err.replace("|", "/")[:200]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--proxies", default=",".join(ALL_PROXIES),
                    help="comma-separated subset of %s (default: all)" % ",".join(ALL_PROXIES))
    ap.add_argument("--no-direct", action="store_true", help="skip the direct-to-upstream reference row")
    ap.add_argument("--no-tls", action="store_true", help="skip the TLS workloads (second table)")
    ap.add_argument("--quick", action="store_true", help="shorter workloads (about 50 s in all)")
    ap.add_argument("--sluice-workers", default=os.environ.get("SLUICE_WORKERS", "1"),
                    help="sluice's `workers` setting: 1 (default, like the others' single thread) or auto")
    ap.add_argument("--sluice-bin", default=os.environ.get("SLUICE_BIN", str(REPO / ".build/release/sluice")))
    ap.add_argument("--json", default=str(REPO / "bench/results/last.json"), help="where to write raw results")
    ap.add_argument("--budget", type=float, default=180.0, help="seconds; workloads that would overrun are skipped")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (configs, logs)")
    args = ap.parse_args()

    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    unknown = [p for p in proxies if p not in ALL_PROXIES]
    if unknown:
        ap.error("unknown proxy %s (choose from %s)" % (", ".join(unknown), ",".join(ALL_PROXIES)))
    prof = dict(PROFILES["quick" if args.quick else "full"])

    ensure_tools(proxies)
    budget = Budget(args.budget)
    global NOFILE
    own_nofile = NOFILE = raise_nofile()
    if own_nofile < prof["idle"] + 100:
        log("RLIMIT_NOFILE is %d: idle connections reduced" % own_nofile)
        prof["idle"] = max(100, own_nofile - 100)

    tmp = tempfile.mkdtemp(prefix="sluice-bench-")
    up_port, *ports = free_ports(1 + 2 * len(ALL_PROXIES) + 1)
    port_of = dict(zip(ALL_PROXIES, ports))
    tls_port_of = dict(zip(ALL_PROXIES, ports[len(ALL_PROXIES):]))
    order = ([] if args.no_direct else ["direct"]) + proxies
    upstream = upstream_server(tmp, up_port)
    targets = []
    interrupted = False
    cert, tls_note = None, None
    if not args.no_tls:
        try:
            cert = make_certificate(tmp)
        except BenchError as e:
            tls_note = "TLS workloads skipped: %s" % e
            log(tls_note)
    if cert is None:
        tls_port_of = {}
    try:
        upstream.start()
        log("upstream nginx on %s:%d (pid %d), temp dir %s" % (HOST, up_port, upstream.pid, tmp))
        for name in order:
            if name == "direct":
                targets.append(Target("direct", None, up_port, upstream))
                continue
            if name == "sluice":
                if not os.access(args.sluice_bin, os.X_OK):
                    t = Target("sluice", None, 0, upstream)
                    t.direct, t.ok = False, False
                    t.error("start", "no executable at %s (swift build -c release)" % args.sluice_bin)
                    targets.append(t)
                    continue
                server = sluice_proxy(tmp, port_of["sluice"], up_port, args.sluice_bin,
                                      tls_port_of.get(name), cert, workers=args.sluice_workers)
            elif name == "haproxy":
                server = haproxy_proxy(tmp, port_of["haproxy"], up_port, tls_port_of.get(name), cert)
            else:
                server = nginx_proxy(tmp, port_of["nginx"], up_port, tls_port_of.get(name), cert)
            targets.append(Target(name, server, port_of[name], upstream, tls_port_of.get(name)))
        run_all([t for t in targets if t.ok], prof, budget)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted")
    except BenchError as e:
        log("upstream failed: %s" % e)
        return 1
    finally:
        for t in targets:
            if t.server is not None:
                t.server.stop()
        upstream.stop()
        if args.keep_tmp:
            log("temp dir kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results = {t.name: t.row for t in targets}

    total = budget.elapsed()
    table = render_table(order, results)
    print()
    print(table)
    print()
    print("Ratios are to HAProxy's figure (higher is better for req/s and GB/s, lower for the rest).")
    print("wrk -t1 -c50, rounds interleaved across proxies: keep-alive %dx%ds (after %ds warm-up), "
          "Connection: close %dx%ds; 100 MiB x%d; %d idle connections on a fresh proxy; "
          "CPU = proxy process tree (%d ticks/s) / requests; p50/p99 = median over rounds."
          % (prof["rounds"], prof["keepalive"], prof["warmup"], prof["close_rounds"], prof["close"],
             prof["downloads"], prof["idle"], CLK_TCK))
    tls_table = None
    if cert is not None:
        tls_order = [n for n in order if n != "direct"]
        tls_table = render_table(tls_order, results, TLS_COLUMNS, TLS_COLUMN_KEYS, start_keys=("start", "tls"))
        negotiated = sorted({"%s %s" % (results[n]["tls"]["version"], results[n]["tls"]["cipher"])
                             for n in tls_order if "tls" in results.get(n, {})})
        print()
        print("TLS termination (one %s certificate for all; negotiated: %s):" % (TLS_KEY, ", ".join(negotiated) or "-"))
        print()
        print(tls_table)
        print()
        print("TLS req/s: wrk -t1 -c50 keep-alive over https, %dx%ds (after %ds warm-up); new handshakes: %d parallel "
              "`openssl s_time -new` (full handshakes, no resumption, no request), %dx%ds; CPU = proxy process "
              "tree / requests or handshakes."
              % (prof["tls_rounds"], prof["tls_keepalive"], prof["warmup"], prof["hs_clients"], prof["hs_rounds"],
                 prof["handshake"]))
    elif tls_note:
        print(tls_note)
    for name in order:
        row = results.get(name, {})
        for key, err in row.get("errors", {}).items():
            print("- %s %s: %s" % (name, key, err))
        for note in row.get("notes", []):
            print("- %s note: %s" % (name, note))
    print("total time: %.1f s (budget %.0f s)" % (total, args.budget))

    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "profile": "quick" if args.quick else "full",
        "parameters": prof,
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "clk_tck": CLK_TCK,
                    "rlimit_nofile": NOFILE, "haproxy_maxconn": haproxy_maxconn()},
        "versions": {
            "haproxy": version_of([exe("haproxy"), "-v"]),
            "nginx": version_of([exe("nginx"), "-v"]),
            "wrk": version_of(["wrk", "--version"]),
            "openssl": version_of([exe("openssl"), "version"]),
            "sluice": version_of([args.sluice_bin, "--version"]) if os.access(args.sluice_bin, os.X_OK) else None,
        },
        "total_seconds": round(total, 1),
        "results": results,
        "table_markdown": table,
        "tls_table_markdown": tls_table,
        "tls": {"certificate": TLS_KEY, "ciphers_tls12": TLS12_CIPHERS, "suites_tls13": TLS13_SUITES,
                "groups": TLS_GROUPS} if cert is not None else None,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    print("raw results: %s" % os.path.relpath(args.json))
    if interrupted:
        return 130
    if total > args.budget:
        print("WARNING: the run took %.1f s, over its %.0f s budget" % (total, args.budget))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
