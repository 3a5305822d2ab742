"""The servers under test and the upstream: their configuration files and their processes.

``Server`` starts a program from argv with its log in the temp dir, pinned to given CPUs from
the moment it starts (so that its worker processes inherit the mask), and stops it with its
process tree.  ``upstream_server``, ``sluice_proxy``, ``haproxy_proxy`` and ``nginx_proxy``
write a configuration and return the Server that runs it: every proxy has one worker / thread
(sluice: as many as asked), keeps upstream keep-alive connections, adds X-Forwarded-For, and
optionally terminates TLS on a second listener with the certificate of ``make_certificate``.
``Listeners`` names a proxy's optional extra listeners, all in the same process: a frontend
that hashes X-User-Id over the upstream's four ports (sluice also one that round-robins over
them), and HTTP/2 over TLS (ALPN h2,http/1.1) and in clear text (prior knowledge).
``nginx_reuseport`` is the two-worker nginx of the per-worker split.
"""
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

from common import (BIG_SIZE, HASH_HEADER, HOST, UPSTREAM_POOL, SMALL_BODY, TLS12_CIPHERS, TLS13_SUITES, TLS_GROUPS,
                    BenchError, exe, raise_nofile)
from processes import process_tree, proc_stat, tree_cpu_seconds, tree_rss_bytes


class Server:
    """A process started from argv with logs in the temp dir, stopped by pid (and its tree).
    `cpus`: the CPU set it (and every process it forks) runs on; `env`: variables added to
    its environment."""

    def __init__(self, name, argv, tmp, port, cwd=None, cpus=None, env=None):
        self.name, self.argv, self.tmp, self.port = name, argv, tmp, port
        self.log_path = os.path.join(tmp, "%s.log" % name)
        self.cwd = cwd or tmp
        self.cpus = cpus
        self.env = dict(os.environ, **env) if env else None
        self.proc = None
        self.known_pids = set()

    def _child_setup(self):
        # runs in the child between fork and exec: own session (no terminal signals), fd limit
        # raised, pinned (the mask is inherited by the workers it forks)
        os.setsid()
        raise_nofile()
        if self.cpus:
            os.sched_setaffinity(0, self.cpus)

    def start(self, timeout=5.0):
        logf = open(self.log_path, "ab")
        self.known_pids = set()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                         cwd=self.cwd, env=self.env, preexec_fn=self._child_setup)
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
            st = proc_stat(pid)
            if st is not None and st[1] in self.known_pids | {1}:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


# --------------------------------------------------------------------------- configurations

def nginx_user_line():
    # As root the workers would switch to an unprivileged user that cannot read the temp dir.
    if os.geteuid() == 0:
        return "user %s;" % pwd.getpwuid(0).pw_name
    return ""


def nginx_config(tmp, name, nofile, http_body, workers=1):
    """Write <tmp>/<name>/nginx.conf: one worker (or `workers`) in the foreground, files in that
    directory, no access log, long-lived client keep-alive, then `http_body` inside `http { }`.
    Returns (the directory, the configuration file)."""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    temps = "\n".join("    %s_temp_path %s/%s;" % (k, d, k) for k in
                      ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""%(user)s
daemon off;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
worker_rlimit_nofile %(nofile)d;
events { worker_connections 20000; }
worker_processes %(workers)d;
http {
    access_log off;
%(temps)s
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
%(body)s}
""" % dict(user=nginx_user_line(), d=d, nofile=nofile, temps=temps, body=http_body, workers=workers))
    return d, conf


def upstream_server(tmp, port, nofile, cpus=None, extra_ports=()):
    """The upstream nginx: `/` (16 bytes), `/xff` (the X-Forwarded-For it got), `/big` (100
    MiB), on `port` and on each of `extra_ports` (the same server: the hashing rows' backends
    list port and extra_ports as four servers)."""
    # One worker: the upstream needs well under a core at the proxies' rates (direct traffic
    # reaches about twice their rate on one worker), and a second worker would only add one more
    # runnable process competing with wrk and the proxy for the 2 cores.
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    big = os.path.join(www, "big")
    with open(big, "wb") as f:
        chunk = bytes(range(256)) * 4096  # 1 MiB
        for _ in range(BIG_SIZE // len(chunk)):
            f.write(chunk)
    d, conf = nginx_config(tmp, "upstream", nofile, """    sendfile on;
    tcp_nopush on;
    server {
        listen %(host)s:%(port)d backlog=4096;
%(extra)s        location = / { default_type text/plain; return 200 "%(body)s"; }
        location = /xff { default_type text/plain; return 200 "$http_x_forwarded_for"; }
        location = /big { root %(www)s; default_type application/octet-stream; }
    }
""" % dict(host=HOST, port=port, body=SMALL_BODY.decode(), www=www,
           extra="".join("        listen %s:%d backlog=4096;\n" % (HOST, p) for p in extra_ports)))
    return Server("upstream-nginx", [exe("nginx"), "-p", d, "-c", conf], tmp, port, cpus=cpus)


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


@dataclass
class Listeners:
    """A proxy's optional extra listeners (None: not configured), in the same process as its
    plain (and TLS) HTTP/1.1 listener."""
    hash: Optional[int] = None       # a frontend whose backend hashes X-User-Id over `servers`
    rr: Optional[int] = None         # sluice only: the same servers, round-robin (hashing's baseline)
    servers: tuple = ()              # the upstream's ports the two backends above list
    h2_tls: Optional[int] = None     # TLS with ALPN h2,http/1.1 (sluice: its TLS listener offers h2 already)
    h2c: Optional[int] = None        # clear-text HTTP/2 with prior knowledge (sluice: its plain listener)


def nginx_version():
    """(major, minor, patch) of the installed nginx, (0, 0, 0) if unknown."""
    try:
        r = subprocess.run([exe("nginx"), "-v"], capture_output=True, text=True, timeout=5)
        m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", r.stdout + r.stderr)
        return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)
    except (OSError, subprocess.TimeoutExpired):
        return (0, 0, 0)


NGINX_LOCATION = """        location / {
            proxy_pass http://%s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
"""


def nginx_tls_lines(cert):
    return """        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers %(ciphers)s;
        ssl_conf_command Ciphersuites %(suites)s;
        ssl_ecdh_curve %(groups)s;
        ssl_prefer_server_ciphers off;
        ssl_session_tickets on;
""" % dict(cert=cert["cert"], key=cert["key"], ciphers=TLS12_CIPHERS, suites=TLS13_SUITES, groups=TLS_GROUPS)


def nginx_upstream(name, ports, method=""):
    servers = "".join("        server %s:%d;\n" % (HOST, p) for p in ports)
    return """    upstream %(name)s {
%(method)s%(servers)s        keepalive %(pool)d;
        keepalive_requests 1000000000;
        keepalive_timeout 300s;
    }
""" % dict(name=name, method=("        %s;\n" % method) if method else "", servers=servers, pool=UPSTREAM_POOL)


def nginx_proxy(tmp, port, up_port, nofile, tls_port=None, cert=None, cpus=None, extra=None):
    extra = extra or Listeners()
    tls = ""
    if tls_port:
        tls = "        listen %s:%d ssl backlog=4096;\n" % (HOST, tls_port) + nginx_tls_lines(cert)
    body = nginx_upstream("up", [up_port]) + """    server {
        listen %(host)s:%(port)d backlog=4096;
%(tls)s%(location)s    }
""" % dict(host=HOST, port=port, tls=tls, location=NGINX_LOCATION % "up")
    if extra.hash:
        body += nginx_upstream("hashed", extra.servers, "hash $http_%s consistent" % HASH_HEADER.lower().replace("-", "_"))
        body += """    server {
        listen %s:%d backlog=4096;
%s    }
""" % (HOST, extra.hash, NGINX_LOCATION % "hashed")
    if extra.h2_tls or extra.h2c:
        # HTTP/2 listeners in a server of their own, so that the HTTP/1.1 TLS listener above keeps
        # offering http/1.1 only.  nginx >= 1.25.1 has `http2 on;`; before, `listen ... http2`.
        new_style = nginx_version() >= (1, 25, 1)
        flag = "" if new_style else " http2"
        lines = ""
        if extra.h2_tls and cert is not None:
            lines += "        listen %s:%d ssl%s backlog=4096;\n" % (HOST, extra.h2_tls, flag)
        if extra.h2c:
            lines += "        listen %s:%d%s backlog=4096;\n" % (HOST, extra.h2c, flag)
        if new_style:
            lines += "        http2 on;\n"
        if extra.h2_tls and cert is not None:
            lines += nginx_tls_lines(cert)
        body += "    server {\n%s%s    }\n" % (lines, NGINX_LOCATION % "up")
    d, conf = nginx_config(tmp, "nginx", nofile, body)
    # master + 1 worker; CPU and RSS are summed over both
    return Server("nginx", [exe("nginx"), "-p", d, "-c", conf], tmp, port, cpus=cpus)


def nginx_reuseport(tmp, port, up_port, nofile, workers=2, cpus=None):
    """nginx with `workers` workers and `listen ... reuseport` (one SO_REUSEPORT socket per
    worker), for the per-worker split; each request's worker pid goes to <dir>/pids.log
    (buffered, flushed every second).  Returns (Server, the log's path)."""
    d = os.path.join(tmp, "nginx-reuseport")
    log = os.path.join(d, "pids.log")
    body = """    log_format pidonly $pid;
%(upstream)s    server {
        listen %(host)s:%(port)d reuseport backlog=4096;
        access_log %(log)s pidonly buffer=64k flush=1s;
%(location)s    }
""" % dict(upstream=nginx_upstream("up", [up_port]), host=HOST, port=port, log=log,
           location=NGINX_LOCATION % "up")
    d, conf = nginx_config(tmp, "nginx-reuseport", nofile, body, workers=workers)
    return Server("nginx-reuseport", [exe("nginx"), "-p", d, "-c", conf], tmp, port, cpus=cpus), log


def haproxy_maxconn(nofile):
    # HAProxy refuses to start when it cannot get 2 fds per connection (+ a few): without
    # CAP_SYS_RESOURCE the hard RLIMIT_NOFILE caps maxconn below 20000.
    return max(1000, min(20000, (nofile - 100) // 2))


def haproxy_proxy(tmp, port, up_port, nofile, tls_port=None, cert=None, cpus=None, extra=None):
    extra = extra or Listeners()
    d = os.path.join(tmp, "haproxy")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "haproxy.cfg")
    binds = ""
    if tls_port:
        binds += "    bind %s:%d ssl crt %s alpn http/1.1\n" % (HOST, tls_port, cert["pem"])
    if extra.h2_tls and cert is not None:
        binds += "    bind %s:%d ssl crt %s alpn h2,http/1.1\n" % (HOST, extra.h2_tls, cert["pem"])
    if extra.h2c:
        binds += "    bind %s:%d proto h2\n" % (HOST, extra.h2c)
    hashing = ""
    if extra.hash:
        hashing = """
frontend bench_hash
    bind %s:%d
    default_backend hashed

backend hashed
    balance hdr(%s)
    hash-type consistent
%s""" % (HOST, extra.hash, HASH_HEADER,
         "".join("    server s%d %s:%d\n" % (i + 1, HOST, p) for i, p in enumerate(extra.servers)))
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
%(binds)s    default_backend up

backend up
    server s1 %(host)s:%(up)d
%(hashing)s""" % dict(d=d, host=HOST, port=port, up=up_port, maxconn=haproxy_maxconn(nofile), ciphers=TLS12_CIPHERS,
                      suites=TLS13_SUITES, groups=TLS_GROUPS, binds=binds, hashing=hashing))
    # -db: foreground, no daemon, one process (not master-worker)
    return Server("haproxy", [exe("haproxy"), "-db", "-f", conf], tmp, port, cpus=cpus)


def sluice_proxy(tmp, port, up_port, binary, tls_port=None, cert=None, workers="1", cpus=None,
                 name="sluice", env=None, extra=None, stats_port=None):
    """sluice in front of the upstream.  HTTP/2 needs no listener of its own: `http2 on` (the
    default) offers h2 by ALPN on the TLS listener and takes prior knowledge on the plain one.
    `stats_port`: a stats listener (GET /stats) on the master."""
    extra = extra or Listeners()
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "sluice.conf")
    text = """workers %(workers)s;
error_log stderr warn;
backend up { server %(host)s:%(up)d; keepalive %(pool)d; }
frontend bench { listen %(host)s:%(port)d; %(tls)sbackend up; }
""" % dict(host=HOST, port=port, up=up_port, workers=workers, pool=UPSTREAM_POOL,
           tls="listen %s:%d tls; certificate %s %s; " % (HOST, tls_port, cert["cert"], cert["key"]) if tls_port else "")
    if extra.hash or extra.rr:
        servers = " ".join("server %s:%d;" % (HOST, p) for p in extra.servers)
        text += """backend rr4 { balance round_robin; %(servers)s keepalive %(pool)d; }
backend hashed { balance hash; hash_key header %(header)s; %(servers)s keepalive %(pool)d; }
""" % dict(servers=servers, header=HASH_HEADER, pool=UPSTREAM_POOL)
        if extra.rr:
            text += "frontend bench_rr { listen %s:%d; backend rr4; }\n" % (HOST, extra.rr)
        if extra.hash:
            text += "frontend bench_hash { listen %s:%d; backend hashed; }\n" % (HOST, extra.hash)
    if stats_port:
        text += "stats { listen %s:%d; allow 127.0.0.0/8; }\n" % (HOST, stats_port)
    with open(conf, "w") as f:
        f.write(text)
    return Server(name, [binary, "-c", conf], tmp, port, cpus=cpus, env=env)
